#pragma once
// What a memory holds, by kind (ARCHITECTURE.md sections 4b and 5): the one list the
// footprint accounting of the memories, the SRAM/DRAM placement and the PE's SRAM traffic
// (for energy by kind) share. Pure C++.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace lpsim::hw {

enum class MemoryKind {
  kWeights,      // "weights": the weight register W_l (biases included)
  kOptimizer,    // "optimizer": momentum and other optimizer state
  kStash,        // "stash": stashed weight versions
  kEma,          // "ema": EMA tensors
  kActivations,  // "activations": input activations held for Bw
  kGradients,    // "gradients": the Bw -> U weight-gradient register
  kInFlight,     // "in_flight": activations and activation gradients in transit
};
inline constexpr std::size_t kMemoryKinds = 7;

inline constexpr std::array<MemoryKind, kMemoryKinds> kAllMemoryKinds = {
    MemoryKind::kWeights,     MemoryKind::kOptimizer, MemoryKind::kStash,   MemoryKind::kEma,
    MemoryKind::kActivations, MemoryKind::kGradients, MemoryKind::kInFlight};

using ResidentBytes = std::array<std::uint64_t, kMemoryKinds>;  // bytes, indexed by MemoryKind

const char* memory_kind_name(MemoryKind kind);
std::optional<MemoryKind> try_parse_memory_kind(std::string_view text);

}  // namespace lpsim::hw
