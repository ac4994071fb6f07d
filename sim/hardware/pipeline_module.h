#pragma once
// The top-level SystemC design of a hardware run (pipeline.h), private to sim/hardware. Its
// members are defined in four units:
//   pipeline.cpp             elaboration from the HardwarePlan, and run_hardware()
//   pipeline_tasks.cpp       the PE programs: firing a task instance (inputs, the layer's
//                            weight-version unit, DRAM, compute and math, outputs)
//   pipeline_collect.cpp     after sc_start: the raw result (cycles, memory, counters, training)
//   pipeline_checkpoint.cpp  checkpoints, and resuming from one

#include <cstdint>
#include <map>
#include <memory>
#include <systemc>
#include <utility>
#include <vector>

#include "hw_models/delay_buffer/delay_buffer.h"
#include "hw_models/link/link.h"
#include "hw_models/memory/memory.h"
#include "hw_models/pe/processing_element.h"
#include "sim/hardware/pipeline.h"
#include "sim/hardware/trace_recorder.h"
#include "sim/hardware/weight_unit.h"
#include "workloads/data/sampler.h"

namespace lpsim::hardware {

class Pipeline : public sc_core::sc_module, private WeightUnitHost {
 public:
  Pipeline(const sc_core::sc_module_name& name, const run::Job& job, const HardwarePlan& plan,
           const RunOptions& options, HardwareResult& result);
  // After sc_start: checks that every task ran and fills the result.
  void collect();

 private:
  // --- elaboration (pipeline.cpp)
  void prepare_firing();
  void elaborate();
  void prepare_training();

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
  // DRAM: this task's reads must have arrived; the next task's reads start now.
  void dram_before_compute(int node, bool consumes_inputs, std::int64_t m,
                           hw::ProcessingElement& pe, int p, std::pair<int, std::int64_t> next);
  // The DRAM reads of task (node, m) on PE p: waits for those not yet arrived.
  void await_dram_reads(int node, std::int64_t m, hw::ProcessingElement& pe, int p);
  void release_inputs(int node, dataflow::NodePart part, std::int64_t m, std::int64_t total,
                      hw::ProcessingElement& pe, int p);
  void send_outputs(int node, dataflow::NodePart part, std::int64_t m, hw::ProcessingElement& pe,
                    int p);
  // After a finished instance: its staleness (U), its minibatch's completion, progress and
  // checkpoints (the loss), and the signal to tasks waiting on it.
  void task_finished(const dataflow::Node& n, int node, bool finishes_node, std::int64_t m,
                     std::int64_t total, hw::ProcessingElement& pe, int p);
  void math(int node, dataflow::NodePart part, std::int64_t m);
  void load_minibatch(std::int64_t n);
  bool tracing(std::int64_t m) const { return m >= options_.trace_begin && m < options_.trace_end; }

  // --- WeightUnitHost: what a layer's weight-version unit may use at its hooks
  std::int64_t done(int node) const override { return done_[node]; }
  void stall_on(hw::ProcessingElement& pe, std::int64_t m, int unit,
                const sc_core::sc_module& module, const std::string& label, const char* category,
                const std::function<void()>& job) override;
  void trace_unit(std::int64_t m, int unit, const sc_core::sc_module& module,
                  const std::string& label, const char* category, std::uint64_t begin,
                  std::uint64_t end) override;

  // --- after the run (pipeline_collect.cpp)
  void check_drained() const;
  void measure_rate();
  void measure_memory();
  void collect_counters();
  void collect_activity();
  void collect_training();

  // --- checkpoints (pipeline_checkpoint.cpp)
  // Reads the resume point of options_.resume_dir (math_from_, resume_loaded_).
  void read_resume_point();
  // At the checkpoint's task instance: loads the saved training state.
  void resume_state();
  void save_checkpoint(std::int64_t minibatches);

  const run::Job& job_;
  const HardwarePlan& plan_;
  const dataflow::TrainingGraph& graph_;      // plan_.graph
  const dataflow::Program& program_;          // plan_.program
  const dataflow::ElaborationPlan& modules_;  // plan_.elaboration
  const RunOptions& options_;
  HardwareResult& r_;
  sc_core::sc_time period_;
  std::vector<std::unique_ptr<hw::ProcessingElement>> pes_;
  std::vector<std::unique_ptr<hw::SramBank>> srams_;
  // Per PE: the task whose DRAM reads were issued ahead (prefetch) and when they arrive.
  std::vector<std::pair<int, std::int64_t>> prefetched_for_;
  std::vector<std::uint64_t> prefetch_done_;
  std::unique_ptr<hw::Dram> dram_;
  std::vector<std::unique_ptr<hw::DelayBuffer>> buffers_;        // by edge (null: none)
  std::vector<std::unique_ptr<hw::DelayBuffer>> split_buffers_;  // Ba product -> tail, by node
  std::map<std::pair<int, int>, std::unique_ptr<hw::Link>> links_;
  std::vector<hw::Link*> link_of_;  // [from · processors + to] (null: none): the task path's
  std::vector<std::unique_ptr<WeightUnit>> weight_units_;  // per layer group (may be null)
  std::vector<std::int64_t> done_;
  std::vector<std::unique_ptr<sc_core::sc_event>> done_event_;
  std::vector<bool> done_awaited_;  // per node: a task on another processor may wait on it
  // [node][k % kSignalRing]: the cycle instance k of a node another processor orders itself
  // behind (modules_.sync_on_done) ended, for the link latency that signal takes.
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
