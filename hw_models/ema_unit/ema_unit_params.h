#pragma once
// Parameters and statistics of an EmaRecomputeUnit (ema_unit.h).

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string_view>
#include <systemc>

namespace lpsim::hw {

// What the EMA tensor averages, and so what reconstructing a weight costs.
enum class EmaKind {
  kEmaGrad,    // "ema_grad": ū averages gradients; W̄ = W + c·ū, one lane-op per element
  kEmaWeight,  // "ema_weight": ū averages weights; W̄ = ū is read directly, no lane-ops
};

const char* ema_kind_name(EmaKind kind);  // "ema_grad", "ema_weight"
std::optional<EmaKind> try_parse_ema_kind(std::string_view text);

struct EmaRecomputeUnitParams {
  std::uint64_t elements = 0;           // |W_l|
  std::uint64_t bytes_per_element = 0;  // of the EMA tensor
  std::uint64_t lanes = 1;              // the unit's own vector lanes (>= 1)
  EmaKind kind = EmaKind::kEmaGrad;
  sc_core::sc_time period;  // one clock cycle (> 0)
};

// The unit's own cost model (the scheduler's task costs use it too). An update reads and
// writes every element of the EMA tensor: 2 lane-ops per element, ceil(elements / lanes) · 2
// cycles. A reconstruction is 1 lane-op per element for ema_grad (W + c·ū) and none for
// ema_weight (ū is read as it is).
std::uint64_t update_cycles(const EmaRecomputeUnitParams& params);
std::uint64_t reconstruct_cycles(const EmaRecomputeUnitParams& params);

// Bytes count traffic to and from the EMA tensor the unit holds.
struct EmaRecomputeUnitStats {
  std::uint64_t updates = 0;  // completed EMA updates
  std::uint64_t reconstructions = 0;
  std::uint64_t busy_cycles = 0;         // lanes updating or reconstructing
  std::uint64_t caller_wait_cycles = 0;  // reconstruct() callers waiting for queued updates
  std::uint64_t peak_bytes = 0;          // the EMA tensor: elements · bytes_per_element
  std::uint64_t bytes_read = 0;          // (updates + reconstructions) · tensor bytes
  std::uint64_t bytes_written = 0;       // updates · tensor bytes
  std::uint64_t lane_ops = 0;  // element operations: 2 per element and update, 1 per element
                               // and ema_grad reconstruction
};

nlohmann::json to_json(const EmaRecomputeUnitStats& stats);

}  // namespace lpsim::hw
