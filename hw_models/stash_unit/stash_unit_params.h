#pragma once
// Parameters and statistics of a WeightStashUnit (stash_unit.h).

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <systemc>

namespace lpsim::hw {

struct WeightStashUnitParams {
  std::uint64_t versions = 0;           // capacity d_l: older weight versions still needed
  std::uint64_t bytes_per_version = 0;  // |W_l| · bytes per element
  std::uint64_t bytes_per_cycle = 1;    // bandwidth of the stash's SRAM port (>= 1)
  sc_core::sc_time period;              // one clock cycle (> 0)
};

// Cycles to move one version through the port, a store or a load (the unit's own cost model,
// which the scheduler's task costs use too): ceil(bytes_per_version / bytes_per_cycle).
std::uint64_t transfer_cycles(const WeightStashUnitParams& params);

struct WeightStashUnitStats {
  std::uint64_t stores = 0;
  std::uint64_t loads = 0;
  std::uint64_t reads = 0;          // reads that kept the version (read())
  std::uint64_t releases = 0;       // versions freed in place (release())
  std::uint64_t bytes_written = 0;  // stores · bytes_per_version
  std::uint64_t bytes_read = 0;     // (loads + reads) · bytes_per_version
  std::uint64_t peak_versions = 0;
  std::uint64_t peak_bytes = 0;         // peak_versions · bytes_per_version
  std::uint64_t busy_cycles = 0;        // port writing or reading
  std::uint64_t contention_cycles = 0;  // callers waiting for the port held by another call
};

nlohmann::json to_json(const WeightStashUnitStats& stats);

}  // namespace lpsim::hw
