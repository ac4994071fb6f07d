#include "hw_models/common/memory_kind.h"

namespace lpsim::hw {

const char* memory_kind_name(MemoryKind kind) {
  switch (kind) {
    case MemoryKind::kWeights:
      return "weights";
    case MemoryKind::kOptimizer:
      return "optimizer";
    case MemoryKind::kStash:
      return "stash";
    case MemoryKind::kEma:
      return "ema";
    case MemoryKind::kActivations:
      return "activations";
    case MemoryKind::kGradients:
      return "gradients";
    case MemoryKind::kInFlight:
      return "in_flight";
  }
  return "?";
}

std::optional<MemoryKind> try_parse_memory_kind(std::string_view text) {
  for (const MemoryKind kind : kAllMemoryKinds) {
    if (text == memory_kind_name(kind)) {
      return kind;
    }
  }
  return std::nullopt;
}

}  // namespace lpsim::hw
