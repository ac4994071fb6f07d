// ema_grad: the backward of minibatch m reconstructs W^(m) from the current weight and an EMA
// of the applied updates: Ŵ = W^(m+d) + c·ū / (1 − (1−α)^t). One tensor of |W| per layer.
#include "workloads/policies/ema.h"
#include "workloads/policies/policy.h"

namespace lpsim::policies {
namespace {

template <typename T>
class EmaGrad : public UnitPolicy<T> {
 public:
  using Matrix = typename UnitPolicy<T>::Matrix;
  using Vector = typename UnitPolicy<T>::Vector;
  EmaGrad(const UnitSetup& setup, const UnitView<T>& initial)
      : setup_(setup),
        d_(setup.delay),
        ema_(Matrix::Zero(initial.weight.rows(), initial.weight.cols())),
        bias_(setup.bias) {
    if (bias_) ema_b_ = Vector::Zero(initial.bias.size());
  }

  const Matrix& backward_weight(const UnitView<T>& u, std::int64_t, Matrix& scratch) override {
    if (u.updates == 0) return u.weight;
    scratch = u.weight + static_cast<T>(ema_step_scale(d_, u.updates)) * ema_;
    return scratch;
  }
  // Under recompute (§4c) the bias is reconstructed by the same rule.
  const Vector& backward_bias(const UnitView<T>& u, std::int64_t, Vector& scratch) override {
    LPSIM_ASSERT(bias_, "ema_grad keeps no bias average");
    if (u.updates == 0) return u.bias;
    scratch = u.bias + static_cast<T>(ema_step_scale(d_, u.updates)) * ema_b_;
    return scratch;
  }
  bool wants_parameters_before_update() const override { return true; }
  void updated(const UnitView<T>& u, const Matrix* before_w, const Vector* before_b) override {
    ema_of_update(d_, *before_w, u.weight, ema_);
    store_as_ema(ema_, setup_, 0, u.updates);
    if (bias_) {
      ema_of_update(d_, *before_b, u.bias, ema_b_);
      store_as_ema(ema_b_, setup_, 1, u.updates);
    }
  }
  void save(StateWriter& w) const override {
    w.matrix(ema_);
    if (bias_) w.vector(ema_b_);
  }
  void load(StateReader& r) override {
    r.matrix(ema_);
    if (bias_) r.vector(ema_b_);
  }

 private:
  UnitSetup setup_;
  std::int64_t d_;
  Matrix ema_;  // ū: EMA of W^(k) − W^(k+1)
  bool bias_;
  Vector ema_b_;  // its bias, under recompute
};

Policy ema_grad_policy() {
  Policy p;
  p.name = "ema_grad";
  p.description =
      "backward with W^(m+d) + c·ū, ū an EMA of the applied updates (bias-corrected): 1·|W|";
  p.hardware.unit = "vector";
  p.hardware.tensors = 1;
  p.hardware.update_lane_ops = 2;    // ū ← (1−α)·ū + α·ΔW
  p.hardware.backward_lane_ops = 1;  // W + c·ū
  p.hardware.backward_reads_tensor = true;
  return p;
}

}  // namespace
LPSIM_REGISTER_POLICY(EmaGrad, ema_grad_policy)
}  // namespace lpsim::policies
