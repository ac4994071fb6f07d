#pragma once
// VectorUnit: per layer, the vector unit of a weight-version policy (vector_unit_params.h):
// holds the policy's tensors (tensors · elements · bytes_per_element bytes) and its own
// vector lanes, working in parallel with the layer's PE. After each weight update it updates
// its tensors; before each backward pass it reconstructs the weight that pass needs; before
// each forward pass it predicts the weight that pass uses.
//
// Contract: one cycle issues one operation on up to `lanes` elements (vector_cycles in
// pe_timing.h), so an operation of k lane-ops per element takes vector_cycles(elements, lanes,
// k) cycles. The unit's own SC_THREAD works through one queue of jobs in call order, one job
// at a time. update() never blocks: it queues an update and returns (nothing at all when
// update_lane_ops is 0). reconstruct() and predict() queue their job and block the calling
// SC_THREAD until it is done: first while the jobs queued before it run (counted as
// caller_wait_cycles), then for its own cycles. So a reconstruction or prediction sees
// exactly the updates queued before the call, never a later one. The queue is unbounded:
// there is no back-pressure on update().
//
// Lazy use: when every caller of a unit is one SC_THREAD (a PE with lazy time), the queue
// needs no thread of its own: update_at(now), reconstruct_at(now) and predict_at(now) take
// the caller's own time in cycles (ProcessingElement::now_cycles, which may run ahead of
// simulated time), block nothing and return at once; the unit keeps the cycle its queue
// empties (idle_at). A job starts at max(now, idle_at) and ends its cycles later, which is
// when the threaded unit, called at that same time, would run it; reconstruct_at and
// predict_at return the cycle the job ends, where the caller resumes, and every counter
// ends the run as the threaded calls leave it (pending_updates() stays 0). One unit is used
// one way or the other, never both.

#include <cstdint>
#include <deque>
#include <systemc>

#include "hw_models/vector_unit/vector_unit_params.h"

namespace lpsim::hw {

class VectorUnit : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(VectorUnit);
  VectorUnit(const sc_core::sc_module_name& name, const VectorUnitParams& params);

  // Queues one EMA update; returns at once.
  void update();
  // Waits for the jobs queued so far, then reconstructs the backward's weight.
  void reconstruct();
  // Waits for the jobs queued so far, then predicts the forward's weight.
  void predict();
  // Lazy use (above): `now` is the caller's cycle, never earlier than its previous call's.
  void update_at(std::uint64_t now);
  // Return the cycle the reconstruction or prediction ends.
  std::uint64_t reconstruct_at(std::uint64_t now);
  std::uint64_t predict_at(std::uint64_t now);
  // Lazy use: the cycle every job queued so far has ended (0 before any).
  std::uint64_t idle_at() const { return idle_at_; }

  // Updates queued and not yet done (including one in progress).
  std::uint64_t pending_updates() const { return pending_updates_; }
  std::uint64_t update_cycles() const;
  std::uint64_t reconstruct_cycles() const;
  std::uint64_t predict_cycles() const;
  std::uint64_t tensor_bytes() const {
    return params_.tensors * params_.elements * params_.bytes_per_element;
  }
  const VectorUnitParams& params() const { return params_; }
  const VectorUnitStats& stats() const { return stats_; }

 private:
  enum class Job { kUpdate, kReconstruct, kPredict };

  void wait_for(Job job, std::uint64_t own_cycles);
  // Lazy use: queues `job` at cycle `now`; returns the cycle it ends.
  std::uint64_t run_at(Job job, std::uint64_t now);
  // The counters of a finished job.
  void count_finished(Job job, std::uint64_t cycles);
  std::uint64_t cycles_of(Job job) const;

  void run_jobs();  // SC_THREAD

  const VectorUnitParams params_;
  VectorUnitStats stats_;
  std::deque<Job> jobs_;             // queued, not finished; front is in progress
  std::uint64_t jobs_queued_ = 0;    // ever queued (a job's id is its position)
  std::uint64_t jobs_finished_ = 0;  // ever finished
  std::uint64_t pending_updates_ = 0;
  std::uint64_t idle_at_ = 0;  // lazy use: the cycle the last queued job ends
  bool lazy_ = false;          // used lazily (update_at, reconstruct_at, predict_at)
  sc_core::sc_event job_queued_;
  sc_core::sc_event job_finished_;
  // update_cycles(), reconstruct_cycles(), predict_cycles(), worked out once.
  std::uint64_t update_cycles_ = 0, reconstruct_cycles_ = 0, predict_cycles_ = 0;
};

}  // namespace lpsim::hw
