#pragma once
// The optimizers' rules on one parameter tensor (ARCHITECTURE.md §2 and §2c): which rule, its
// constant hyper-parameters, and the AdamW kernels. The task engine (the update), the lwp
// policy (its prediction) and the cost model (the update's work and state) share them.
//
// AdamW is torch.optim.AdamW with one parameter group and amsgrad off, in torch's order of
// operations. With q the gradient, t the updates applied to the tensor (this one included),
// c1 = 1 − β1^t and c2 = 1 − β2^t:
//   m ← β1·m + (1−β1)·q;  s ← β2·s + (1−β2)·q·q;  W ← W·(1 − lr·λ);
//   W ← W − (lr/c1) · m / (√s/√c2 + eps)
// Shapes: W, m, s and q of one tensor alike (a weight [O, I] or a bias [O]).

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "workloads/ops/tensor.h"

namespace lpsim::ops {

enum class OptimizerKind { kSgd, kAdamw };

// Config names, in OptimizerKind's order.
inline const std::vector<std::string>& optimizer_kind_names() {
  static const std::vector<std::string> names = {"sgd", "adamw"};
  return names;
}

// What does not change during a run; the rate does (reference::learning_rate).
struct UpdateRule {
  OptimizerKind kind = OptimizerKind::kSgd;
  double momentum = 0.9;      // sgd
  double weight_decay = 0.0;  // λ: sgd adds λ·W to the gradient; adamw decays W (decoupled)
  double beta1 = 0.9;         // adamw
  double beta2 = 0.999;       // adamw
  double eps = 1e-8;          // adamw
};

// Tensors of |W| elements the optimizer keeps per parameter tensor: sgd the momentum v,
// adamw the moments m and s.
inline std::int64_t optimizer_state_tensors(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::kSgd:
      return 1;
    case OptimizerKind::kAdamw:
      return 2;
  }
  return 1;
}

// Lane operations per element of one update, one per operation of the rule:
// sgd 2 (v ← μ·v + q, W ← W − lr·v, each a fused multiply-add, q = g + λ·W folded in);
// adamw 12 (m: scale, add; s: square, scale, add; W·(1 − lr·λ); √s; ÷√c2; + eps; m ÷;
// × lr/c1; W −).
inline std::int64_t update_lane_ops(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::kSgd:
      return 2;
    case OptimizerKind::kAdamw:
      return 12;
  }
  return 2;
}

// Lane operations per element of per-layer gradient clipping: the sum of squares (one fused
// multiply-add) and the scaling.
inline constexpr std::int64_t kClipLaneOps = 2;

// One AdamW update of a tensor W with gradient q; t is the update's number (1 for the first).
// P: Mat<T> or Vec<T>. The scalars are formed in double, then used in T.
template <typename P>
void adamw_update(const UpdateRule& rule, double lr, std::int64_t t, const P& q, P& w, P& m, P& s) {
  using T = typename P::Scalar;
  const double c1 = 1.0 - std::pow(rule.beta1, static_cast<double>(t));
  const double c2 = 1.0 - std::pow(rule.beta2, static_cast<double>(t));
  const T b1 = static_cast<T>(rule.beta1), b2 = static_cast<T>(rule.beta2);
  const T one = T(1);
  m.array() = b1 * m.array() + (one - b1) * q.array();
  s.array() = b2 * s.array() + (one - b2) * q.array() * q.array();
  if (rule.weight_decay != 0.0) w *= static_cast<T>(1.0 - lr * rule.weight_decay);
  const T step = static_cast<T>(lr / c1);
  const T c2_sqrt = static_cast<T>(std::sqrt(c2));
  const T eps = static_cast<T>(rule.eps);
  w.array() -= step * (m.array() / (s.array().sqrt() / c2_sqrt + eps));
}

// The direction AdamW moved W in its latest update (the t-th), per unit of rate:
// m̂/(√ŝ + eps) + λ·W, with m̂ = m/(1−β1^t), ŝ = s/(1−β2^t) (the lwp prediction, §2c).
template <typename P>
P adamw_direction(const UpdateRule& rule, std::int64_t t, const P& w, const P& m, const P& s) {
  using T = typename P::Scalar;
  const T c1 = static_cast<T>(1.0 - std::pow(rule.beta1, static_cast<double>(t)));
  const T c2 = static_cast<T>(1.0 - std::pow(rule.beta2, static_cast<double>(t)));
  const T eps = static_cast<T>(rule.eps);
  P out(w.rows(), w.cols());
  out.array() = (m.array() / c1) / ((s.array() / c2).sqrt() + eps) +
                static_cast<T>(rule.weight_decay) * w.array();
  return out;
}

}  // namespace lpsim::ops
