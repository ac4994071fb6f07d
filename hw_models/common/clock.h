#pragma once
// The one place where clock cycles become simulated time and back.
//
// Contract: simulated time is counted in cycles of one clock whose length is `period` (set
// by the builder from the config's period_ns). A module spends n cycles with
// wait_cycles(n, period), i.e. wait(n · period); nothing runs a free clock. Conversions are
// exact integer arithmetic on SystemC's time resolution: a time that is not a whole number
// of periods, a zero period or a product that overflows is a broken invariant
// (LPSIM_ASSERT, which throws lpsim::core::InternalError).

#include <cstdint>
#include <string>
#include <systemc>

namespace lpsim::hw {

// n · period, exactly.
sc_core::sc_time cycles_to_time(std::uint64_t cycles, const sc_core::sc_time& period);

// time / period; `time` must be a whole number of periods.
std::uint64_t time_to_cycles(const sc_core::sc_time& time, const sc_core::sc_time& period);

// Cycles since `start` (a time in the past) at the current simulation time.
std::uint64_t cycles_since(const sc_core::sc_time& start, const sc_core::sc_time& period);

// Blocks the calling SC_THREAD for `cycles` cycles; 0 cycles returns at once (no delta).
void wait_cycles(std::uint64_t cycles, const sc_core::sc_time& period);

// Checks a Params period (> 0); `owner` names the module in the message.
void require_period(const sc_core::sc_time& period, const std::string& owner);

}  // namespace lpsim::hw
