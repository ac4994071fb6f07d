// stash: the backward of minibatch m uses exactly the weight its forward used, kept in a queue
// of versions (PipeDream-style weight stashing): d·|W| per layer.
#include <deque>
#include <utility>

#include "workloads/policies/policy.h"

namespace lpsim::policies {
namespace {

template <typename T>
class Stash : public UnitPolicy<T> {
 public:
  using Matrix = typename UnitPolicy<T>::Matrix;
  using Vector = typename UnitPolicy<T>::Vector;
  Stash(const UnitSetup& setup, const UnitView<T>&)
      : setup_(setup), keep_(setup.has_backward), keep_bias_(setup.bias) {}

  // A version is stored in `stash` (§2d).
  void forwarded(std::int64_t n, const Matrix& used, const Vector& used_bias) override {
    if (!keep_) return;
    stash_.emplace_back(n, used);
    store_as(stash_.back().second, setup_.stash_format, setup_, setup_.stash_tensor, n);
    if (keep_bias_) {
      biases_.push_back(used_bias);
      store_as(biases_.back(), setup_.stash_format, setup_, setup_.stash_tensor + 1, n);
    }
  }
  bool reads_current_at_backward() const override { return false; }
  const Matrix& backward_weight(const UnitView<T>&, std::int64_t m, Matrix&) override {
    LPSIM_ASSERT(!stash_.empty() && stash_.front().first == m,
                 "stash does not hold the weight of minibatch " + std::to_string(m));
    return stash_.front().second;
  }
  const Vector& backward_bias(const UnitView<T>&, std::int64_t m, Vector&) override {
    LPSIM_ASSERT(keep_bias_ && !biases_.empty() && stash_.front().first == m,
                 "stash does not hold the bias of minibatch " + std::to_string(m));
    return biases_.front();
  }
  void backward_done(std::int64_t) override {
    stash_.pop_front();
    if (keep_bias_) biases_.pop_front();
  }
  void save(StateWriter& w) const override {
    w.i64(static_cast<std::int64_t>(stash_.size()));
    for (const auto& [v, m] : stash_) {
      w.i64(v);
      w.matrix(m);
    }
    for (const Vector& b : biases_) w.vector(b);
  }
  void load(StateReader& r) override {
    stash_.clear();
    const std::int64_t n = r.count(std::int64_t{1} << 20);
    for (std::int64_t i = 0; i < n; ++i) {
      const std::int64_t v = r.i64();
      stash_.emplace_back(v, Matrix());
      r.matrix(stash_.back().second);
    }
    biases_.assign(keep_bias_ ? stash_.size() : 0, Vector());
    for (Vector& b : biases_) r.vector(b);
  }

 private:
  UnitSetup setup_;
  bool keep_;
  bool keep_bias_;
  std::deque<std::pair<std::int64_t, Matrix>> stash_;  // (minibatch, weight its forward used)
  std::deque<Vector> biases_;                          // its bias, under recompute
};

Policy stash_policy() {
  Policy p;
  p.name = "stash";
  p.description = "backward with exactly W^(m), a queue of versions: d·|W| per layer";
  p.hardware.unit = "stash";
  p.hardware.stash = true;
  p.hardware.backward_reads_register = false;
  return p;
}

}  // namespace
LPSIM_REGISTER_POLICY(Stash, stash_policy)
}  // namespace lpsim::policies
