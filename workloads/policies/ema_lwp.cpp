// ema_lwp: the ema_grad estimate turned forwards. The forward of minibatch n uses
// Ŵ = W^(n) − c·ū / (1 − (1−α)^t), t = max(0, n − d) the updates applied, c = min(d, t), ū the
// EMA of applied updates of ema_grad, for weights and biases alike; the backward uses the
// current W^(m+d). One tensor of |W| + |b| per layer.
#include "workloads/policies/ema.h"
#include "workloads/policies/policy.h"

namespace lpsim::policies {
namespace {

template <typename T>
class EmaLwp : public UnitPolicy<T> {
 public:
  using Matrix = typename UnitPolicy<T>::Matrix;
  using Vector = typename UnitPolicy<T>::Vector;
  EmaLwp(const UnitSetup& setup, const UnitView<T>& initial)
      : setup_(setup),
        d_(setup.delay),
        ema_w_(Matrix::Zero(initial.weight.rows(), initial.weight.cols())),
        ema_b_(Vector::Zero(initial.bias.size())) {}

  bool forward_weights(const UnitView<T>& u, std::int64_t, double, Matrix& w, Vector& b) override {
    if (u.updates == 0) return false;  // t = 0: nothing to extrapolate
    const T scale = static_cast<T>(ema_step_scale(d_, u.updates));
    w = u.weight - scale * ema_w_;
    b = u.bias - scale * ema_b_;
    return true;
  }
  bool wants_parameters_before_update() const override { return true; }
  void updated(const UnitView<T>& u, const Matrix* before_w, const Vector* before_b) override {
    ema_of_update(d_, *before_w, u.weight, ema_w_);
    ema_of_update(d_, *before_b, u.bias, ema_b_);
    store_as_ema(ema_w_, setup_, 0, u.updates);
    store_as_ema(ema_b_, setup_, 1, u.updates);
  }
  void save(StateWriter& w) const override {
    w.matrix(ema_w_);
    w.vector(ema_b_);
  }
  void load(StateReader& r) override {
    r.matrix(ema_w_);
    r.vector(ema_b_);
  }

 private:
  UnitSetup setup_;
  std::int64_t d_;
  Matrix ema_w_;  // ū of the weights
  Vector ema_b_;  // ū of the biases
};

Policy ema_lwp_policy() {
  Policy p;
  p.name = "ema_lwp";
  p.description =
      "forward with W^(n) − c·ū (the ema_grad estimate turned forwards), backward with "
      "W^(m+d): 1·(|W| + |b|)";
  p.forward = ForwardRule::kEmaPrediction;
  p.hardware.unit = "vector";
  p.hardware.tensors = 1;
  p.hardware.covers_bias = true;
  p.hardware.update_lane_ops = 2;   // ū ← (1−α)·ū + α·ΔW
  p.hardware.forward_lane_ops = 1;  // Ŵ = W − c·ū, streamed into the forward
  return p;
}

}  // namespace
LPSIM_REGISTER_POLICY(EmaLwp, ema_lwp_policy)
}  // namespace lpsim::policies
