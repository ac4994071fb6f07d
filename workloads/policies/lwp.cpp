// lwp: linear weight prediction (Kosson et al., MLSys 2021; SpecTrain 2018). The forward of
// minibatch n uses Ŵ = W^(n) − lr·d·v, the weights its gradient will meet d updates later as
// the momentum v predicts them, for weights and biases alike; the backward uses the current
// W^(m+d). No storage beyond the momentum.
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
    if (u.updates == 0) return false;  // v = 0: Ŵ = W
    const T step = static_cast<T>(lr * static_cast<double>(d_));
    w = u.weight - step * u.momentum_w;
    b = u.bias - step * u.momentum_b;
    return true;
  }

 private:
  std::int64_t d_;
};

Policy lwp_policy() {
  Policy p;
  p.name = "lwp";
  p.description =
      "forward with the predicted W^(n) − lr·d·v (linear weight prediction), backward with "
      "W^(m+d); no storage beyond the momentum";
  p.forward = ForwardRule::kMomentumPrediction;
  p.hardware.unit = "vector";
  p.hardware.covers_bias = true;
  p.hardware.forward_lane_ops = 1;  // Ŵ = W − (lr·d)·v, streamed into the forward
  p.hardware.forward_reads_momentum = true;
  return p;
}

}  // namespace
LPSIM_REGISTER_POLICY(Lwp, lwp_policy)
}  // namespace lpsim::policies
