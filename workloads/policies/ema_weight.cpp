// ema_weight: the backward of minibatch m uses W̄, an EMA of the weights with β = d/(d+1) (mean
// lag d), starting at W^(0). One tensor of |W| per layer.
#include "workloads/policies/policy.h"

namespace lpsim::policies {
namespace {

template <typename T>
class EmaWeight : public UnitPolicy<T> {
 public:
  using Matrix = typename UnitPolicy<T>::Matrix;
  using Vector = typename UnitPolicy<T>::Vector;
  EmaWeight(const UnitSetup& setup, const UnitView<T>& initial)
      : setup_(setup), d_(setup.delay), ema_(initial.weight), bias_(setup.bias) {
    store_as_ema(ema_, setup_, 0, 0);
    if (bias_) {
      ema_b_ = initial.bias;
      store_as_ema(ema_b_, setup_, 1, 0);
    }
  }

  const Matrix& backward_weight(const UnitView<T>&, std::int64_t, Matrix&) override { return ema_; }
  // Under recompute (§4c) the bias follows the same EMA.
  const Vector& backward_bias(const UnitView<T>&, std::int64_t, Vector&) override {
    LPSIM_ASSERT(bias_, "ema_weight keeps no bias average");
    return ema_b_;
  }
  void updated(const UnitView<T>& u, const Matrix*, const Vector*) override {
    const T beta = static_cast<T>(static_cast<double>(d_) / static_cast<double>(d_ + 1));
    ema_ = beta * ema_ + (T(1) - beta) * u.weight;
    store_as_ema(ema_, setup_, 0, u.updates);
    if (bias_) {
      ema_b_ = beta * ema_b_ + (T(1) - beta) * u.bias;
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
  Matrix ema_;  // W̄
  bool bias_;
  Vector ema_b_;  // its bias, under recompute
};

Policy ema_weight_policy() {
  Policy p;
  p.name = "ema_weight";
  p.description = "backward with W̄, an EMA of the weights (β = d/(d+1)): 1·|W|";
  p.hardware.unit = "vector";
  p.hardware.tensors = 1;
  p.hardware.update_lane_ops = 2;  // W̄ ← β·W̄ + (1−β)·W
  p.hardware.backward_reads_register = false;
  p.hardware.backward_reads_tensor = true;  // W̄ is read as it is
  return p;
}

}  // namespace
LPSIM_REGISTER_POLICY(EmaWeight, ema_weight_policy)
}  // namespace lpsim::policies
