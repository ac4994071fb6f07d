#include "hw_models/stash_unit/stash_unit.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>

#include "core/errors.h"
#include "hw_models/common/clock.h"
#include "hw_models/pe/pe_timing.h"

namespace lpsim::hw {

WeightStashUnit::WeightStashUnit(const sc_core::sc_module_name& name,
                                 const WeightStashUnitParams& params)
    : sc_core::sc_module(name), params_(params) {
  require_period(params_.period, this->name());
  LPSIM_ASSERT(params_.bytes_per_cycle >= 1,
               std::string(this->name()) + ": bytes_per_cycle must be >= 1");
}

std::uint64_t transfer_cycles(const WeightStashUnitParams& params) {
  return memory_cycles(params.bytes_per_version, params.bytes_per_cycle);
}

std::uint64_t WeightStashUnit::transfer_cycles() const { return hw::transfer_cycles(params_); }

void WeightStashUnit::store(std::int64_t version) {
  const ArbiterGuard port(port_);
  stats_.contention_cycles += time_to_cycles(port.waited(), params_.period);
  if (versions_.size() >= params_.versions) {
    throw core::InternalError(std::string(name()) + ": store(" + std::to_string(version) +
                              ") into a full stash of " + std::to_string(params_.versions) +
                              " versions (oldest " + std::to_string(versions_.front()) + ")");
  }
  if (!versions_.empty() && version <= versions_.back()) {
    throw core::InternalError(std::string(name()) + ": store(" + std::to_string(version) +
                              ") is not newer than the newest stored version " +
                              std::to_string(versions_.back()));
  }
  versions_.push_back(version);
  stats_.peak_versions = std::max<std::uint64_t>(stats_.peak_versions, versions_.size());
  stats_.peak_bytes = stats_.peak_versions * params_.bytes_per_version;
  const std::uint64_t cycles = transfer_cycles();
  wait_cycles(cycles, params_.period);
  ++stats_.stores;
  stats_.bytes_written += params_.bytes_per_version;
  stats_.busy_cycles += cycles;
}

void WeightStashUnit::load(std::int64_t version) { transfer_out(version, true); }

void WeightStashUnit::read(std::int64_t version) { transfer_out(version, false); }

void WeightStashUnit::release(std::int64_t version) {
  if (versions_.empty() || versions_.front() != version) {
    throw core::InternalError(
        std::string(name()) + ": release(" + std::to_string(version) +
        ") but the oldest stored version is " +
        (versions_.empty() ? std::string("none") : std::to_string(versions_.front())));
  }
  versions_.pop_front();
  ++stats_.releases;
}

void WeightStashUnit::transfer_out(std::int64_t version, bool release) {
  const ArbiterGuard port(port_);
  stats_.contention_cycles += time_to_cycles(port.waited(), params_.period);
  const char* verb = release ? "load" : "read";
  if (versions_.empty()) {
    throw core::InternalError(std::string(name()) + ": " + verb + "(" + std::to_string(version) +
                              ") from an empty stash");
  }
  if (versions_.front() != version) {
    throw core::InternalError(std::string(name()) + ": " + verb + "(" + std::to_string(version) +
                              ") but the oldest stored version is " +
                              std::to_string(versions_.front()));
  }
  const std::uint64_t cycles = transfer_cycles();
  wait_cycles(cycles, params_.period);
  if (release) {
    versions_.pop_front();
    ++stats_.loads;
  } else {
    ++stats_.reads;
  }
  stats_.bytes_read += params_.bytes_per_version;
  stats_.busy_cycles += cycles;
}

nlohmann::json to_json(const WeightStashUnitStats& stats) {
  return nlohmann::json{{"stores", stats.stores},
                        {"loads", stats.loads},
                        {"reads", stats.reads},
                        {"releases", stats.releases},
                        {"bytes_written", stats.bytes_written},
                        {"bytes_read", stats.bytes_read},
                        {"peak_versions", stats.peak_versions},
                        {"peak_bytes", stats.peak_bytes},
                        {"busy_cycles", stats.busy_cycles},
                        {"contention_cycles", stats.contention_cycles}};
}

}  // namespace lpsim::hw
