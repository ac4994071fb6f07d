#include "hw_models/memory/memory.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>

#include "core/errors.h"
#include "hw_models/common/clock.h"
#include "hw_models/pe/pe_timing.h"

namespace lpsim::hw {
namespace {

std::size_t index_of(MemoryKind kind) { return static_cast<std::size_t>(kind); }

MemoryKind kind_from_name(const char* kind, const char* owner) {
  const std::optional<MemoryKind> parsed =
      kind == nullptr ? std::nullopt : try_parse_memory_kind(kind);
  if (!parsed) {
    throw core::InternalError(std::string(owner) + ": unknown memory kind \"" +
                              (kind == nullptr ? "(null)" : kind) + "\"");
  }
  return *parsed;
}

}  // namespace

void FootprintTracker::allocate(std::uint64_t bytes, MemoryKind kind) {
  const std::size_t i = index_of(kind);
  footprint_.current_bytes[i] += bytes;
  footprint_.peak_bytes[i] = std::max(footprint_.peak_bytes[i], footprint_.current_bytes[i]);
  footprint_.total_current_bytes += bytes;
  footprint_.total_peak_bytes =
      std::max(footprint_.total_peak_bytes, footprint_.total_current_bytes);
  ++footprint_.allocations;
}

void FootprintTracker::release(std::uint64_t bytes, MemoryKind kind, const char* owner) {
  const std::size_t i = index_of(kind);
  if (bytes > footprint_.current_bytes[i]) {
    throw core::InternalError(std::string(owner) + ": release of " + std::to_string(bytes) +
                              " bytes of " + memory_kind_name(kind) + " but only " +
                              std::to_string(footprint_.current_bytes[i]) + " are allocated");
  }
  footprint_.current_bytes[i] -= bytes;
  footprint_.total_current_bytes -= bytes;
  ++footprint_.releases;
}

std::uint64_t FootprintTracker::over_capacity_bytes(std::uint64_t capacity,
                                                    bool zero_is_unbounded) const {
  if (zero_is_unbounded && capacity == 0) {
    return 0;
  }
  return footprint_.total_peak_bytes > capacity ? footprint_.total_peak_bytes - capacity : 0;
}

SramBank::SramBank(const sc_core::sc_module_name& name, const SramBankParams& params)
    : sc_core::sc_module(name), params_(params) {
  require_period(params_.period, this->name());
  LPSIM_ASSERT(params_.bytes_per_cycle >= 1,
               std::string(this->name()) + ": bytes_per_cycle must be >= 1");
}

void SramBank::refresh() {
  stats_.footprint = tracker_.footprint();
  stats_.over_capacity_bytes = tracker_.over_capacity_bytes(params_.capacity_bytes, false);
}

void SramBank::allocate(std::uint64_t bytes, MemoryKind kind) {
  tracker_.allocate(bytes, kind);
  refresh();
}

void SramBank::allocate(std::uint64_t bytes, const char* kind) {
  allocate(bytes, kind_from_name(kind, name()));
}

void SramBank::release(std::uint64_t bytes, MemoryKind kind) {
  tracker_.release(bytes, kind, name());
  refresh();
}

void SramBank::release(std::uint64_t bytes, const char* kind) {
  release(bytes, kind_from_name(kind, name()));
}

std::uint64_t SramBank::access_cycles(std::uint64_t bytes) {
  ++stats_.accesses;
  stats_.bytes_accessed += bytes;
  return memory_cycles(bytes, params_.bytes_per_cycle);
}

Dram::Dram(const sc_core::sc_module_name& name, const DramParams& params)
    : sc_core::sc_module(name), params_(params) {
  require_period(params_.period, this->name());
  LPSIM_ASSERT(params_.bytes_per_cycle >= 1,
               std::string(this->name()) + ": bytes_per_cycle must be >= 1");
  LPSIM_ASSERT(params_.channels >= 1, std::string(this->name()) + ": channels must be >= 1");
  channel_free_at_.assign(params_.channels, 0);
  stats_.channel_busy_cycles.assign(params_.channels, 0);
  stats_.channel_contention_cycles.assign(params_.channels, 0);
}

void Dram::refresh() {
  stats_.footprint = tracker_.footprint();
  stats_.over_capacity_bytes = tracker_.over_capacity_bytes(params_.capacity_bytes, true);
}

void Dram::allocate(std::uint64_t bytes, MemoryKind kind) {
  tracker_.allocate(bytes, kind);
  refresh();
}

void Dram::allocate(std::uint64_t bytes, const char* kind) {
  allocate(bytes, kind_from_name(kind, name()));
}

void Dram::release(std::uint64_t bytes, MemoryKind kind) {
  tracker_.release(bytes, kind, name());
  refresh();
}

void Dram::release(std::uint64_t bytes, const char* kind) {
  release(bytes, kind_from_name(kind, name()));
}

std::uint64_t Dram::reserve(std::uint64_t bytes, Direction direction) {
  const std::uint64_t now = time_to_cycles(sc_core::sc_time_stamp(), params_.period);
  std::size_t c = 0;
  for (std::size_t i = 1; i < channel_free_at_.size(); ++i) {
    if (channel_free_at_[i] < channel_free_at_[c]) c = i;
  }
  const std::uint64_t start = std::max(now, channel_free_at_[c]);
  const std::uint64_t cycles = memory_cycles(bytes, params_.bytes_per_cycle);
  channel_free_at_[c] = start + cycles;
  stats_.contention_cycles += start - now;
  stats_.channel_contention_cycles[c] += start - now;
  stats_.busy_cycles += cycles;
  stats_.channel_busy_cycles[c] += cycles;
  ++stats_.transfers;
  stats_.bytes_transferred += bytes;
  (direction == Direction::kRead ? stats_.bytes_read : stats_.bytes_written) += bytes;
  return start + params_.latency_cycles + cycles;
}

void Dram::transfer(std::uint64_t bytes) {
  const std::uint64_t done = reserve(bytes, Direction::kRead);
  const std::uint64_t now = time_to_cycles(sc_core::sc_time_stamp(), params_.period);
  wait_cycles(done - now, params_.period);
}

nlohmann::json to_json(const MemoryFootprint& footprint) {
  nlohmann::json current = nlohmann::json::object();
  nlohmann::json peak = nlohmann::json::object();
  for (const MemoryKind kind : kAllMemoryKinds) {
    current[memory_kind_name(kind)] = footprint.current_bytes[index_of(kind)];
    peak[memory_kind_name(kind)] = footprint.peak_bytes[index_of(kind)];
  }
  current["total"] = footprint.total_current_bytes;
  peak["total"] = footprint.total_peak_bytes;
  return nlohmann::json{{"current_bytes", current},
                        {"peak_bytes", peak},
                        {"allocations", footprint.allocations},
                        {"releases", footprint.releases}};
}

nlohmann::json to_json(const SramBankStats& stats) {
  nlohmann::json out = to_json(stats.footprint);
  out["over_capacity_bytes"] = stats.over_capacity_bytes;
  out["accesses"] = stats.accesses;
  out["bytes_accessed"] = stats.bytes_accessed;
  return out;
}

nlohmann::json to_json(const DramStats& stats) {
  nlohmann::json out = to_json(stats.footprint);
  out["over_capacity_bytes"] = stats.over_capacity_bytes;
  out["transfers"] = stats.transfers;
  out["bytes_transferred"] = stats.bytes_transferred;
  out["bytes_read"] = stats.bytes_read;
  out["bytes_written"] = stats.bytes_written;
  out["busy_cycles"] = stats.busy_cycles;
  out["contention_cycles"] = stats.contention_cycles;
  nlohmann::json channels = nlohmann::json::object();
  for (std::size_t c = 0; c < stats.channel_busy_cycles.size(); ++c) {
    channels["channel" + std::to_string(c)] = {
        {"busy_cycles", stats.channel_busy_cycles[c]},
        {"contention_cycles", stats.channel_contention_cycles[c]}};
  }
  out["channels"] = channels;
  return out;
}

}  // namespace lpsim::hw
