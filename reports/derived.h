#pragma once
// Derived figures of a hardware run, computed from raw counters only (the modules keep
// counters; ratios are made here, as gem5's formulas and Ramulator's derived stats are).

#include <cstdint>

#include "core/json_reader.h"

namespace lpsim::reports {

// 1e9 / (cycles_per_minibatch · period_ns): minibatches per second at the clock; infinite
// (written as null) when cycles_per_minibatch is 0.
double minibatches_per_second(double cycles_per_minibatch, double period_ns);

// busy / (processors · max(1, total_cycles)), a fraction.
double utilization(std::uint64_t busy_cycles, std::uint64_t processors, std::uint64_t total_cycles);

// One PE's row of the report: its raw counters `pe` (with busy_cycles and stall_cycles)
// plus its name, idle_cycles (total − busy − stall) and utilization (busy / total).
core::Json processor_row(core::Json pe, const std::string& name, std::uint64_t total_cycles);

}  // namespace lpsim::reports
