#pragma once
// The weight-version policies of ARCHITECTURE.md section 2: which weight the backward
// pass of minibatch m multiplies by at layer l.

#include <string>
#include <vector>

namespace lpsim::models {

enum class WeightPolicy { kSync, kNone, kStash, kEmaGrad, kEmaWeight };

inline const std::vector<std::string>& weight_policy_names() {
  static const std::vector<std::string> names = {"sync", "none", "stash", "ema_grad",
                                                 "ema_weight"};
  return names;
}

inline const char* weight_policy_name(WeightPolicy p) {
  switch (p) {
    case WeightPolicy::kSync:
      return "sync";
    case WeightPolicy::kNone:
      return "none";
    case WeightPolicy::kStash:
      return "stash";
    case WeightPolicy::kEmaGrad:
      return "ema_grad";
    case WeightPolicy::kEmaWeight:
      return "ema_weight";
  }
  return "?";
}

// Returns false when `name` is not a policy.
inline bool parse_weight_policy(const std::string& name, WeightPolicy* out) {
  const auto& names = weight_policy_names();
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) {
      *out = static_cast<WeightPolicy>(i);
      return true;
    }
  }
  return false;
}

}  // namespace lpsim::models
