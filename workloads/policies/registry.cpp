#include <algorithm>

#include "workloads/policies/policy.h"

namespace lpsim::policies {

namespace {

std::vector<const Policy*>& table() {
  static std::vector<const Policy*> t;
  return t;
}

}  // namespace

bool register_policy(const Policy* policy) {
  auto& t = table();
  LPSIM_ASSERT(find(policy->name) == nullptr, "policy '" + policy->name + "' registered twice");
  t.push_back(policy);
  // "sync" (the unpipelined baseline) first, the rest by name: the order of --help, the schema.
  std::sort(t.begin(), t.end(), [](const Policy* a, const Policy* b) {
    if (a->pipelined != b->pipelined) return !a->pipelined;
    return a->name < b->name;
  });
  return true;
}

const std::vector<const Policy*>& all() { return table(); }

const char* forward_rule_name(ForwardRule rule) {
  switch (rule) {
    case ForwardRule::kCurrent:
      return "current";
    case ForwardRule::kMomentumPrediction:
      return "momentum_prediction";
    case ForwardRule::kEmaPrediction:
      return "ema_prediction";
  }
  return "?";
}

std::vector<std::string> names() {
  std::vector<std::string> out;
  for (const Policy* p : table()) out.push_back(p->name);
  return out;
}

const Policy* find(std::string_view name) {
  for (const Policy* p : table()) {
    if (p->name == name) return p;
  }
  return nullptr;
}

const Policy& get(std::string_view name) {
  const Policy* p = find(name);
  LPSIM_ASSERT(p != nullptr, "no weight-version policy '" + std::string(name) + "'");
  return *p;
}

}  // namespace lpsim::policies
