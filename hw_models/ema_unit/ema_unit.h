#pragma once
// EmaRecomputeUnit: per layer, holds the EMA tensor ū (elements · bytes_per_element bytes)
// and its own vector lanes, working in parallel with the layer's PE. After each weight update
// it updates ū (ū ← β·ū + (1−β)·x: two lane-ops per element); before each backward pass it
// reconstructs the weight W̄ that pass needs (ema_grad: W̄ = W + c·ū, one lane-op per
// element; ema_weight: W̄ = ū, read directly).
//
// Contract: one cycle issues one operation on up to `lanes` elements (vector_cycles in
// pe_timing.h), so an update takes vector_cycles(elements, lanes, 2) cycles and a
// reconstruction vector_cycles(elements, lanes, 1) (ema_grad) or 0 (ema_weight). The unit's
// own SC_THREAD works through one queue of jobs in call order, one job at a time. update()
// never blocks: it queues an update and returns. reconstruct() queues a reconstruction and
// blocks the calling SC_THREAD until it is done: first while the jobs queued before it run
// (counted as caller_wait_cycles), then for the reconstruction cycles. So a reconstruction
// sees exactly the updates queued before the call, never a later one. The queue is
// unbounded: there is no back-pressure on update(). Each update reads and writes ū once;
// each reconstruction reads it once.

#include <cstdint>
#include <deque>
#include <systemc>

#include "hw_models/ema_unit/ema_unit_params.h"

namespace lpsim::hw {

class EmaRecomputeUnit : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(EmaRecomputeUnit);
  EmaRecomputeUnit(const sc_core::sc_module_name& name, const EmaRecomputeUnitParams& params);

  // Queues one EMA update; returns at once.
  void update();
  // Waits for the jobs queued so far, then reconstructs the weight.
  void reconstruct();

  // Updates queued and not yet done (including one in progress).
  std::uint64_t pending_updates() const { return pending_updates_; }
  std::uint64_t update_cycles() const;
  std::uint64_t reconstruct_cycles() const;
  std::uint64_t tensor_bytes() const { return params_.elements * params_.bytes_per_element; }
  const EmaRecomputeUnitParams& params() const { return params_; }
  const EmaRecomputeUnitStats& stats() const { return stats_; }

 private:
  enum class Job { kUpdate, kReconstruct };

  void run_jobs();  // SC_THREAD

  const EmaRecomputeUnitParams params_;
  EmaRecomputeUnitStats stats_;
  std::deque<Job> jobs_;             // queued, not finished; front is in progress
  std::uint64_t jobs_queued_ = 0;    // ever queued (a job's id is its position)
  std::uint64_t jobs_finished_ = 0;  // ever finished
  std::uint64_t pending_updates_ = 0;
  sc_core::sc_event job_queued_;
  sc_core::sc_event job_finished_;
};

}  // namespace lpsim::hw
