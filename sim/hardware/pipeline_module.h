#pragma once
// The top-level SystemC design of a hardware run (pipeline.h), private to sim/hardware. Its
// members are defined in four units:
//   pipeline.cpp             elaboration from the ElaborationPlan, and run_hardware()
//   pipeline_tasks.cpp       the PE programs: firing a task instance (inputs, the stash and
//                            EMA protocol, DRAM, compute and math, outputs)
//   pipeline_collect.cpp     after sc_start: the result (cycles, memory, counters, training)
//   pipeline_checkpoint.cpp  checkpoints, and resuming from one

#include <cstdint>
#include <map>
#include <memory>
#include <systemc>
#include <utility>
#include <vector>

#include "dataflow/elaboration_plan.h"
#include "hw_models/delay_buffer/delay_buffer.h"
#include "hw_models/ema_unit/ema_unit.h"
#include "hw_models/link/link.h"
#include "hw_models/memory/memory.h"
#include "hw_models/pe/processing_element.h"
#include "hw_models/stash_unit/stash_unit.h"
#include "sim/hardware/pipeline.h"
#include "sim/hardware/trace_recorder.h"
#include "workloads/data/sampler.h"

namespace lpsim::hardware {

class Pipeline : public sc_core::sc_module {
 public:
  Pipeline(const sc_core::sc_module_name& name, run::Job& job, const RunOptions& options,
           HardwareResult& result);
  // After sc_start: checks that every task ran and fills the result.
  void collect();

 private:
  // --- firing (pipeline_tasks.cpp)
  void program(int p, hw::ProcessingElement& pe);
  // `next` is the task this PE runs after it (node, minibatch), or node -1: its DRAM reads
  // are prefetched while this one computes.
  void run_task(const dataflow::ProgramEntry& entry, std::int64_t m, hw::ProcessingElement& pe,
                int p, std::pair<int, std::int64_t> next);
  // Data tokens in their buffers and ordering constraints (or, for the tail of a split Ba,
  // its product). `total`: the minibatches that run, as the task started.
  void wait_for_inputs(int node, dataflow::NodePart part, std::int64_t m, std::int64_t total,
                       hw::ProcessingElement& pe, int p);
  // F: the vector unit's prediction of the forward's weight (lwp, ema_lwp).
  void weight_unit_at_forward(const dataflow::Node& n, std::int64_t m, hw::ProcessingElement& pe);
  // The PE waits for one job of its layer's vector unit (a prediction or a reconstruction).
  void wait_on_vector_unit(const dataflow::Node& n, std::int64_t m, hw::ProcessingElement& pe,
                           void (hw::EmaRecomputeUnit::*job)(), const char* label);
  // Ba: the weight version from the stash (freed after use) or the EMA unit's reconstruction.
  void weight_unit_at_backward(const dataflow::Node& n, std::int64_t m, hw::ProcessingElement& pe);
  // U: the version it overwrites goes to the stash first; the EMA unit's update is queued.
  void weight_unit_at_update(const dataflow::Node& n, std::int64_t m, hw::ProcessingElement& pe);
  // DRAM: this task's reads must have arrived; the next task's reads start now.
  void dram_before_compute(int node, bool consumes_inputs, std::int64_t m,
                           hw::ProcessingElement& pe, int p, std::pair<int, std::int64_t> next);
  // The DRAM reads of task (node, m) on PE p: waits for those not yet arrived.
  void await_dram_reads(int node, std::int64_t m, hw::ProcessingElement& pe, int p);
  void release_inputs(int node, dataflow::NodePart part, std::int64_t m, std::int64_t total,
                      hw::ProcessingElement& pe, int p);
  void send_outputs(int node, dataflow::NodePart part, std::int64_t m, hw::ProcessingElement& pe,
                    int p);
  void math(int node, dataflow::NodePart part, std::int64_t m);
  void load_minibatch(std::int64_t n);
  bool tracing(std::int64_t m) const { return m >= options_.trace_begin && m < options_.trace_end; }

  // --- checkpoints (pipeline_checkpoint.cpp)
  // Reads the resume point of options_.resume_dir (math_from_, resume_loaded_).
  void read_resume_point();
  // At the checkpoint's task instance: loads the saved training state.
  void resume_state();
  void save_checkpoint(std::int64_t minibatches);

  run::Job& job_;
  const RunOptions& options_;
  HardwareResult& r_;
  sc_core::sc_time period_;
  dataflow::ElaborationPlan plan_;
  std::vector<std::unique_ptr<hw::ProcessingElement>> pes_;
  std::vector<std::unique_ptr<hw::SramBank>> srams_;
  // Per PE: the task whose DRAM reads were issued ahead (prefetch) and when they arrive.
  std::vector<std::pair<int, std::int64_t>> prefetched_for_;
  std::vector<std::uint64_t> prefetch_done_;
  std::unique_ptr<hw::Dram> dram_;
  std::map<int, std::unique_ptr<hw::DelayBuffer>> buffers_;        // by edge
  std::map<int, std::unique_ptr<hw::DelayBuffer>> split_buffers_;  // Ba product -> tail, by node
  std::map<int, std::uint64_t> split_bytes_;
  std::map<std::pair<int, int>, std::unique_ptr<hw::Link>> links_;
  std::vector<std::unique_ptr<hw::WeightStashUnit>> stash_;  // per unit (may be null)
  std::vector<std::unique_ptr<hw::EmaRecomputeUnit>> ema_;   // per unit (may be null)
  std::vector<std::int64_t> done_;
  std::vector<std::int64_t> started_;  // instances whose first part (or whole) has run
  std::vector<std::unique_ptr<sc_core::sc_event>> done_event_;
  // [node][k % kSignalRing]: the cycle instance k of a node another processor orders itself
  // behind (plan_.sync_on_done) ended, for the link latency that signal takes.
  static constexpr std::int64_t kSignalRing = 256;
  std::vector<std::vector<std::uint64_t>> signal_cycle_;
  std::unique_ptr<reference::TaskEngine> engine_;
  std::unique_ptr<data::BatchSampler> sampler_;
  std::int64_t loaded_ = 0;
  std::int64_t limit_ = 0;       // minibatches that enter the pipeline (stop lowers it)
  std::uint64_t math_from_ = 0;  // task instances that ran before math starts (resume)
  std::int64_t resume_loaded_ = 0;
  std::int64_t forwards_started_ = 0;      // minibatches whose forward has begun
  std::vector<std::uint64_t> loss_cycle_;  // completion cycle of Loss(n)
  // [p][n]: when the last task of minibatch n on processor p ended
  std::vector<std::vector<std::uint64_t>> done_cycle_;
  TraceRecorder trace_;
};

}  // namespace lpsim::hardware
