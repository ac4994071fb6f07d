#include "workloads/ops/accumulate.h"

namespace lpsim::ops {
namespace {

AccumulateRule& current() {
  static AccumulateRule rule;
  return rule;
}

}  // namespace

AccumulateRule accumulate_rule() { return current(); }

ScopedAccumulateRule::ScopedAccumulateRule(const AccumulateRule& rule) : previous_(current()) {
  current() = rule;
}

ScopedAccumulateRule::~ScopedAccumulateRule() { current() = previous_; }

}  // namespace lpsim::ops
