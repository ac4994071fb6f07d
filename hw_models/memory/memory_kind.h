#pragma once
// What a memory holds, by kind (ARCHITECTURE.md sections 4b and 5): the one list the
// footprint accounting of the memories and the SRAM/DRAM placement share. Pure C++.

#include <cstddef>
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

const char* memory_kind_name(MemoryKind kind);
std::optional<MemoryKind> try_parse_memory_kind(std::string_view text);

}  // namespace lpsim::hw
