#include "hw_models/ema_unit/ema_unit.h"

#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "hw_models/common/clock.h"
#include "hw_models/pe/pe_timing.h"
#include "sim/core/errors.h"

namespace lpsim::hw {

const char* ema_kind_name(EmaKind kind) {
  switch (kind) {
    case EmaKind::kEmaGrad:
      return "ema_grad";
    case EmaKind::kEmaWeight:
      return "ema_weight";
  }
  return "?";
}

std::optional<EmaKind> try_parse_ema_kind(std::string_view text) {
  if (text == "ema_grad") {
    return EmaKind::kEmaGrad;
  }
  if (text == "ema_weight") {
    return EmaKind::kEmaWeight;
  }
  return std::nullopt;
}

EmaRecomputeUnit::EmaRecomputeUnit(const sc_core::sc_module_name& name,
                                   const EmaRecomputeUnitParams& params)
    : sc_core::sc_module(name), params_(params) {
  require_period(params_.period, this->name());
  LPSIM_ASSERT(params_.lanes >= 1, std::string(this->name()) + ": lanes must be >= 1");
  LPSIM_ASSERT(
      params_.bytes_per_element == 0 ||
          params_.elements <= std::numeric_limits<std::uint64_t>::max() / params_.bytes_per_element,
      std::string(this->name()) + ": tensor bytes overflow");
  stats_.peak_bytes = tensor_bytes();
  SC_THREAD(run_jobs);
}

std::uint64_t update_cycles(const EmaRecomputeUnitParams& params) {
  return vector_cycles(params.elements, params.lanes, 2);
}

std::uint64_t reconstruct_cycles(const EmaRecomputeUnitParams& params) {
  return params.kind == EmaKind::kEmaGrad ? vector_cycles(params.elements, params.lanes, 1) : 0;
}

std::uint64_t EmaRecomputeUnit::update_cycles() const { return hw::update_cycles(params_); }

std::uint64_t EmaRecomputeUnit::reconstruct_cycles() const {
  return hw::reconstruct_cycles(params_);
}

void EmaRecomputeUnit::update() {
  jobs_.push_back(Job::kUpdate);
  ++jobs_queued_;
  ++pending_updates_;
  job_queued_.notify();
}

void EmaRecomputeUnit::reconstruct() {
  const sc_core::sc_time start = sc_core::sc_time_stamp();
  const std::uint64_t id = jobs_queued_;
  jobs_.push_back(Job::kReconstruct);
  ++jobs_queued_;
  job_queued_.notify();
  while (jobs_finished_ <= id) {
    sc_core::wait(job_finished_);
  }
  stats_.caller_wait_cycles += cycles_since(start, params_.period) - reconstruct_cycles();
}

void EmaRecomputeUnit::run_jobs() {
  for (;;) {
    while (jobs_.empty()) {
      sc_core::wait(job_queued_);
    }
    const Job job = jobs_.front();
    const std::uint64_t cycles = job == Job::kUpdate ? update_cycles() : reconstruct_cycles();
    wait_cycles(cycles, params_.period);
    stats_.busy_cycles += cycles;
    if (job == Job::kUpdate) {
      ++stats_.updates;
      --pending_updates_;
      stats_.bytes_written += tensor_bytes();
      stats_.lane_ops += 2 * params_.elements;
    } else {
      ++stats_.reconstructions;
      if (params_.kind == EmaKind::kEmaGrad) stats_.lane_ops += params_.elements;
    }
    stats_.bytes_read += tensor_bytes();
    jobs_.pop_front();
    ++jobs_finished_;
    job_finished_.notify();
  }
}

nlohmann::json to_json(const EmaRecomputeUnitStats& stats) {
  return nlohmann::json{{"updates", stats.updates},
                        {"reconstructions", stats.reconstructions},
                        {"busy_cycles", stats.busy_cycles},
                        {"caller_wait_cycles", stats.caller_wait_cycles},
                        {"peak_bytes", stats.peak_bytes},
                        {"bytes_read", stats.bytes_read},
                        {"bytes_written", stats.bytes_written},
                        {"lane_ops", stats.lane_ops}};
}

}  // namespace lpsim::hw
