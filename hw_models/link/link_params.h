#pragma once
// Parameters and statistics of a Link (link.h).

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <systemc>

namespace lpsim::hw {

struct LinkParams {
  std::uint64_t latency_cycles = 0;   // from the last byte leaving to the token arriving
  std::uint64_t bytes_per_cycle = 1;  // serialisation bandwidth (>= 1)
  sc_core::sc_time period;            // one clock cycle (> 0)
};

struct LinkStats {
  std::uint64_t transfers = 0;    // sends accepted
  std::uint64_t bytes = 0;        // bytes of the sends accepted
  std::uint64_t busy_cycles = 0;  // cycles the link spent serialising
  std::uint64_t peak_queue = 0;   // most transfers accepted but not fully serialised at once
};

nlohmann::json to_json(const LinkStats& stats);

}  // namespace lpsim::hw
