#pragma once
// The hardware run: elaborates SystemC modules from a hardware plan (hardware_plan.h: the
// retimed training graph, its static program, the modules to instantiate), trains the network
// with the task engine at the simulated moments, and collects every unit's raw counters. The
// report is made from them afterwards (hardware_report.h).
//
// Elaboration: one ProcessingElement and one SramBank per processor; a DelayBuffer on every
// data edge (activations, gradients, stored activations), depth from the graph; a Link per
// ordered pair of processors that exchange data; the weight-version unit the plan gives each
// layer (weight_unit.h); one shared Dram.
// Functional results follow the graph's dependencies, never the order of same-time events:
// every task instance waits for exactly the instances it depends on, and the task engine
// refuses any other order (workloads/reference/engine.h).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dataflow/schedule.h"
#include "dataflow/task_program.h"
#include "dataflow/training_graph.h"
#include "hw_models/common/memory_kind.h"
#include "reports/energy.h"
#include "sim/hardware/hardware_plan.h"
#include "sim/run/job.h"
#include "workloads/reference/trainer.h"

namespace lpsim::hardware {

struct RunOptions {
  bool math = true;  // false: timing only (--no-math), no Eigen work, no training curve
  std::function<void(std::int64_t, std::int64_t)> progress;  // (minibatches done, total)
  // Timeline: task instances of minibatches [trace_begin, trace_end) are recorded as
  // Chrome trace events (HardwareResult::trace) when trace_end > trace_begin.
  std::int64_t trace_begin = 0;
  std::int64_t trace_end = 0;
  // Polled at every task: when it returns true no further minibatch enters the pipeline
  // and the ones in flight drain (HardwareResult::interrupted).
  std::function<bool()> stop;
  // Checkpoints: after the loss of every checkpoint_every-th minibatch the whole training
  // state goes to checkpoint_dir (replacing the previous one atomically).
  std::int64_t checkpoint_every = 0;
  std::string checkpoint_dir;
  std::string config_hash;  // stored in the checkpoint, checked on resume
  // Resume: the timing model re-runs deterministically without math up to the checkpoint's
  // task instance, then the saved state is loaded and training continues from there.
  std::string resume_dir;
};

struct MemoryPeaks {  // bytes, per kind
  hw::ResidentBytes bytes{};
  std::uint64_t& operator[](hw::MemoryKind kind) { return bytes[static_cast<std::size_t>(kind)]; }
  std::uint64_t operator[](hw::MemoryKind kind) const {
    return bytes[static_cast<std::size_t>(kind)];
  }
  MemoryPeaks& operator+=(const MemoryPeaks& other);
  std::uint64_t total() const;
  core::Json to_json() const;  // every kind by name, and "total"
};

// A run's raw results: counters, measured figures and the training outcome. Derived figures
// (utilisation, throughput, energy) are made from them by the report (hardware_report.h).
struct HardwareResult {
  bool interrupted = false;
  std::int64_t minibatches = 0;  // that ran (fewer than planned when interrupted)
  std::uint64_t total_cycles = 0;
  double cycles_per_minibatch = 0.0;  // steady state
  // First minibatch of the periodic window measured; -1: none was found (the rate of
  // completed minibatches between 2·max_lag and n - 1 - 2·max_lag), or the run is too short
  // for one (total / minibatches).
  std::int64_t steady_state_from = -1;
  std::uint64_t task_instances = 0;
  std::vector<std::int64_t> measured_staleness;  // per unit: max over its updates
  std::vector<std::int64_t> min_staleness;       // per unit: min (the drain)
  std::vector<MemoryPeaks> stage_memory;         // measured, per processor
  std::vector<MemoryPeaks> stage_memory_analytic;
  std::vector<std::string> pe_names;
  std::vector<core::Json> processors;  // per PE: its raw counters
  std::uint64_t link_bytes = 0;
  core::Json units;                              // raw counters keyed by SystemC name
  std::vector<reports::PeActivity> pe_activity;  // per PE: the energy model's counts
  hw::ResidentBytes dram_bytes_by_kind{};        // moved by the run, by the resident kind accessed
  core::Json trace;                              // Chrome trace-event document (or null)
  // Training (math on):
  std::vector<reference::EpochResult> epochs;  // completed epochs
  double final_test_accuracy = 0.0;            // with the final, drained weights
  std::vector<reference::UnitParams> final_params;
  std::vector<reference::ReconstructionStats> reconstruction;
  std::vector<reference::SpikeStats> spikes;  // per network layer (math runs only)
};

HardwareResult run_hardware(const run::Job& job, const HardwarePlan& plan,
                            const RunOptions& options);

}  // namespace lpsim::hardware
