// lwp: linear weight prediction (Kosson et al., MLSys 2021; SpecTrain 2018). The forward of
// minibatch n uses the weights its gradient will meet d updates later as the optimizer's
// latest step predicts them, for weights and biases alike: under sgd Ŵ = W^(n) − lr·d·v;
// under adamw (ARCHITECTURE.md §2c) Ŵ = W^(n) − lr·d·(m̂/(√ŝ + eps) + λ·W^(n)), m̂ and ŝ the
// moments bias-corrected with the latest update's t (ops::adamw_direction). Ŵ = W^(n) before
// the first update. The backward uses the current W^(m+d). No storage beyond the optimizer's.
#include "workloads/policies/policy.h"

namespace lpsim::policies {
namespace {

template <typename T>
class Lwp : public UnitPolicy<T> {
 public:
  using Matrix = typename UnitPolicy<T>::Matrix;
  using Vector = typename UnitPolicy<T>::Vector;
  Lwp(const UnitSetup& setup, const UnitView<T>&) : d_(setup.delay) {}

  bool forward_weights(const UnitView<T>& u, std::int64_t, double lr, Matrix& w,
                       Vector& b) override {
    if (u.updates == 0) return false;  // no step yet: Ŵ = W
    const T step = static_cast<T>(lr * static_cast<double>(d_));
    switch (u.optimizer.kind) {
      case ops::OptimizerKind::kSgd:
        w = u.weight - step * u.momentum_w;
        b = u.bias - step * u.momentum_b;
        break;
      case ops::OptimizerKind::kAdamw:
        w = u.weight -
            step * ops::adamw_direction(u.optimizer, u.updates, u.weight, u.momentum_w, u.second_w);
        b = u.bias -
            step * ops::adamw_direction(u.optimizer, u.updates, u.bias, u.momentum_b, u.second_b);
        break;
    }
    return true;
  }

 private:
  std::int64_t d_;
};

Policy lwp_policy() {
  Policy p;
  p.name = "lwp";
  p.description =
      "forward with the predicted W^(n) − lr·d·v (linear weight prediction; under adamw the "
      "latest AdamW step d times), backward with W^(m+d); no storage beyond the optimizer's";
  p.forward = ForwardRule::kMomentumPrediction;
  p.hardware.unit = "vector";
  p.hardware.covers_bias = true;
  p.hardware.forward_lane_ops = 1;  // Ŵ = W − (lr·d)·v, streamed into the forward
  // Ŵ = W − lr·d·(m̂/(√ŝ + eps) + λ·W): m̂ and ŝ (2), √, + eps, ÷, + λ·W (1 FMA), W − lr·d·x (1)
  p.hardware.forward_lane_ops_adamw = 7;
  p.hardware.forward_reads_momentum = true;
  return p;
}

}  // namespace
LPSIM_REGISTER_POLICY(Lwp, lwp_policy)
}  // namespace lpsim::policies
