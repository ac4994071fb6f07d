#pragma once
// Parameters and statistics of the memories (memory.h): a per-PE SramBank and the shared
// Dram.

#include <array>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string_view>
#include <systemc>
#include <vector>

#include "hw_models/common/memory_kind.h"

namespace lpsim::hw {

// Allocation accounting of one memory. Each kind's peak is its own maximum over time; the
// total's peak is the maximum of the sum, so it can be less than the sum of kind peaks.
struct MemoryFootprint {
  std::array<std::uint64_t, kMemoryKinds> current_bytes{};  // indexed by MemoryKind
  std::array<std::uint64_t, kMemoryKinds> peak_bytes{};
  std::uint64_t total_current_bytes = 0;
  std::uint64_t total_peak_bytes = 0;
  std::uint64_t allocations = 0;
  std::uint64_t releases = 0;
};

struct SramBankParams {
  std::uint64_t capacity_bytes = 0;
  std::uint64_t bytes_per_cycle = 1;  // local bandwidth (>= 1)
  sc_core::sc_time period;            // one clock cycle (> 0)
};

struct SramBankStats {
  MemoryFootprint footprint;
  std::uint64_t over_capacity_bytes = 0;  // max(0, total_peak_bytes − capacity_bytes)
  std::uint64_t accesses = 0;             // access_cycles() calls
  std::uint64_t bytes_accessed = 0;
};

struct DramParams {
  std::uint64_t capacity_bytes = 0;   // 0: unbounded (over_capacity_bytes stays 0)
  std::uint64_t bytes_per_cycle = 1;  // bandwidth of each channel (>= 1)
  std::uint64_t channels = 1;         // independent channels shared by all callers (>= 1)
  std::uint64_t latency_cycles = 0;   // from a channel starting a transfer to its first byte
  sc_core::sc_time period;            // one clock cycle (> 0)
};

struct DramStats {
  MemoryFootprint footprint;
  std::uint64_t over_capacity_bytes = 0;  // max(0, total_peak_bytes − capacity_bytes)
  std::uint64_t transfers = 0;
  std::uint64_t bytes_transferred = 0;
  std::uint64_t bytes_read = 0;                    // reserve(.., kRead) and transfer()
  std::uint64_t bytes_written = 0;                 // reserve(.., kWrite)
  std::uint64_t busy_cycles = 0;                   // channels moving data (summed over channels)
  std::uint64_t contention_cycles = 0;             // requests waiting for a channel held by another
  std::vector<std::uint64_t> channel_busy_cycles;  // per channel
  std::vector<std::uint64_t> channel_contention_cycles;  // per channel
};

// {"current_bytes": {kind..., "total"}, "peak_bytes": {kind..., "total"}, "allocations",
//  "releases"}
nlohmann::json to_json(const MemoryFootprint& footprint);
// The footprint's keys, then the counters.
nlohmann::json to_json(const SramBankStats& stats);
nlohmann::json to_json(const DramStats& stats);

}  // namespace lpsim::hw
