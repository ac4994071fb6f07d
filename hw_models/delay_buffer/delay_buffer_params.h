#pragma once
// Parameters and statistics of a DelayBuffer (delay_buffer.h).

#include <cstddef>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <systemc>
#include <vector>

namespace lpsim::hw {

struct DelayBufferParams {
  std::size_t depth_entries = 1;             // capacity in tokens (>= 1), from the dataflow graph
  std::uint64_t bytes_per_entry = 0;         // size of the tensor one token stands for
  std::vector<std::int64_t> initial_tokens;  // present at time 0 (an edge's delay), front first
  sc_core::sc_time period;                   // one clock cycle (> 0)
};

// Raw counters. Entries count reserved slots (a transfer in flight) as well as tokens.
struct DelayBufferStats {
  std::uint64_t pushes = 0;  // tokens that entered by push() or deliver()
  std::uint64_t pops = 0;
  std::uint64_t peak_entries = 0;   // most entries held at once (initial tokens included)
  std::uint64_t peak_bytes = 0;     // peak_entries · bytes_per_entry
  std::uint64_t stall_cycles = 0;   // producers blocked in push()/reserve() on a full buffer
  std::uint64_t bytes_written = 0;  // pushes · bytes_per_entry
};

nlohmann::json to_json(const DelayBufferStats& stats);

}  // namespace lpsim::hw
