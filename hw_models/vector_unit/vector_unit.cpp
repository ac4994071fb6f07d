#include "hw_models/vector_unit/vector_unit.h"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "core/errors.h"
#include "hw_models/common/clock.h"
#include "hw_models/pe/pe_timing.h"

namespace lpsim::hw {

VectorUnit::VectorUnit(const sc_core::sc_module_name& name, const VectorUnitParams& params)
    : sc_core::sc_module(name), params_(params) {
  require_period(params_.period, this->name());
  LPSIM_ASSERT(params_.lanes >= 1, std::string(this->name()) + ": lanes must be >= 1");
  LPSIM_ASSERT(params_.bytes_per_element == 0 || params_.tensors == 0 ||
                   params_.elements <= std::numeric_limits<std::uint64_t>::max() /
                                           params_.bytes_per_element / params_.tensors,
               std::string(this->name()) + ": tensor bytes overflow");
  stats_.peak_bytes = tensor_bytes();
  update_cycles_ = hw::update_cycles(params_);
  reconstruct_cycles_ = hw::reconstruct_cycles(params_);
  predict_cycles_ = hw::predict_cycles(params_);
  SC_THREAD(run_jobs);
}

namespace {

// An operation of `ops` lane-ops per element (0: nothing to compute, e.g. ū read as it is).
std::uint64_t op_cycles(const VectorUnitParams& params, std::uint64_t ops) {
  return ops == 0 ? 0 : vector_cycles(params.elements, params.lanes, ops);
}

}  // namespace

std::uint64_t update_cycles(const VectorUnitParams& params) {
  return op_cycles(params, params.update_lane_ops);
}

std::uint64_t reconstruct_cycles(const VectorUnitParams& params) {
  return op_cycles(params, params.backward_lane_ops);
}

std::uint64_t predict_cycles(const VectorUnitParams& params) {
  return op_cycles(params, params.forward_lane_ops);
}

std::uint64_t VectorUnit::update_cycles() const { return update_cycles_; }

std::uint64_t VectorUnit::reconstruct_cycles() const { return reconstruct_cycles_; }

std::uint64_t VectorUnit::predict_cycles() const { return predict_cycles_; }

std::uint64_t VectorUnit::cycles_of(Job job) const {
  switch (job) {
    case Job::kUpdate:
      return update_cycles();
    case Job::kReconstruct:
      return reconstruct_cycles();
    case Job::kPredict:
      return predict_cycles();
  }
  return 0;
}

void VectorUnit::update() {
  if (params_.update_lane_ops == 0) return;  // the policy keeps nothing up to date (lwp)
  LPSIM_ASSERT(!lazy_, std::string(name()) + ": update() on a unit used lazily");
  jobs_.push_back(Job::kUpdate);
  ++jobs_queued_;
  ++pending_updates_;
  job_queued_.notify();
}

void VectorUnit::reconstruct() { wait_for(Job::kReconstruct, reconstruct_cycles()); }

void VectorUnit::predict() { wait_for(Job::kPredict, predict_cycles()); }

void VectorUnit::wait_for(Job job, std::uint64_t own_cycles) {
  LPSIM_ASSERT(!lazy_, std::string(name()) + ": a wait on a unit used lazily");
  const sc_core::sc_time start = sc_core::sc_time_stamp();
  const std::uint64_t id = jobs_queued_;
  jobs_.push_back(job);
  ++jobs_queued_;
  job_queued_.notify();
  while (jobs_finished_ <= id) {
    sc_core::wait(job_finished_);
  }
  stats_.caller_wait_cycles += cycles_since(start, params_.period) - own_cycles;
}

void VectorUnit::count_finished(Job job, std::uint64_t cycles) {
  stats_.busy_cycles += cycles;
  switch (job) {
    case Job::kUpdate:
      ++stats_.updates;
      stats_.bytes_written += tensor_bytes();
      stats_.lane_ops += params_.update_lane_ops * params_.elements;
      break;
    case Job::kReconstruct:
      ++stats_.reconstructions;
      stats_.lane_ops += params_.backward_lane_ops * params_.elements;
      break;
    case Job::kPredict:
      ++stats_.predictions;
      stats_.lane_ops += params_.forward_lane_ops * params_.elements;
      break;
  }
  stats_.bytes_read += tensor_bytes();
}

void VectorUnit::run_jobs() {
  for (;;) {
    while (jobs_.empty()) {
      sc_core::wait(job_queued_);
    }
    const Job job = jobs_.front();
    const std::uint64_t cycles = cycles_of(job);
    wait_cycles(cycles, params_.period);
    count_finished(job, cycles);
    if (job == Job::kUpdate) --pending_updates_;
    jobs_.pop_front();
    ++jobs_finished_;
    job_finished_.notify();
  }
}

std::uint64_t VectorUnit::run_at(Job job, std::uint64_t now) {
  LPSIM_ASSERT(jobs_queued_ == 0, std::string(name()) + ": lazy use of a unit used with waits");
  lazy_ = true;
  const std::uint64_t cycles = cycles_of(job);
  idle_at_ = std::max(now, idle_at_) + cycles;
  count_finished(job, cycles);
  return idle_at_;
}

void VectorUnit::update_at(std::uint64_t now) {
  if (params_.update_lane_ops == 0) return;  // as update()
  run_at(Job::kUpdate, now);
}

std::uint64_t VectorUnit::reconstruct_at(std::uint64_t now) {
  const std::uint64_t done = run_at(Job::kReconstruct, now);
  stats_.caller_wait_cycles += done - now - reconstruct_cycles();
  return done;
}

std::uint64_t VectorUnit::predict_at(std::uint64_t now) {
  const std::uint64_t done = run_at(Job::kPredict, now);
  stats_.caller_wait_cycles += done - now - predict_cycles();
  return done;
}

nlohmann::json to_json(const VectorUnitStats& stats) {
  return nlohmann::json{{"updates", stats.updates},
                        {"reconstructions", stats.reconstructions},
                        {"predictions", stats.predictions},
                        {"busy_cycles", stats.busy_cycles},
                        {"caller_wait_cycles", stats.caller_wait_cycles},
                        {"peak_bytes", stats.peak_bytes},
                        {"bytes_read", stats.bytes_read},
                        {"bytes_written", stats.bytes_written},
                        {"lane_ops", stats.lane_ops}};
}

}  // namespace lpsim::hw
