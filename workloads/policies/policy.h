#pragma once
// Weight-version policies (ARCHITECTURE.md sections 2 and 2b): the interface and the registry.
//
// A policy decides, for one layer with delay d > 0, which weights the forward pass F(n) and the
// backward pass Ba(m) use and what it keeps to produce them. One file per policy
// (policies/<name>.cpp) defines a UnitPolicy<T> and registers it with LPSIM_REGISTER_POLICY,
// giving its config name, a one-line description and its hardware work. Everything that lists
// policies (config validation, --help, the report schema's enum, the fuzz dictionary,
// parametrised tests) asks the registry.
//
// Contract of a UnitPolicy<T> (the task engine, workloads/reference/engine.h, drives it):
//   forward_weights(u, n, lr, w, b)  before F(n); u holds W^(n) (updates 0..n-1-d applied) and
//       the optimizer state after the latest of them. Returns false to use W^(n) itself, or true
//       with w, b filled (a prediction). lr is the rate of the layer's next update, U(n-d).
//   forwarded(n, used, used_bias)    after F(n) ran with these parameters (a stash keeps them).
//   backward_weight(u, m, scratch)   the weight Ba(m) multiplies by: u.weight, the policy's own
//       state, or `scratch` filled here. When reads_current_at_backward(), the engine checks
//       that u holds W^(m+d) (exactly m updates applied).
//   backward_bias(u, m, scratch)     the bias of the same version (a recomputed forward reads
//       it, ARCHITECTURE.md §4c; only asked of a policy made with UnitSetup::bias).
//   backward_done(m)                 after Ba(m) (under recompute: once W_b is made).
//   updated(u, before_w, before_b)   after each update of the layer; before_* are the
//       parameters before it when wants_parameters_before_update(), else null.
//   save / load                      the policy's whole state, for checkpoints.
// A layer with d = 0 gets no UnitPolicy: every policy is plain SGD there, bit for bit.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "workloads/ops/numerics.h"
#include "workloads/ops/numerics_bulk.h"
#include "workloads/ops/optimizer.h"
#include "workloads/ops/tensor.h"
#include "workloads/policies/state_io.h"

namespace lpsim::policies {

// What the policy's hardware does beside the PE of a layer with d > 0 (sim/hardware builds the
// units from it and charges it in the cost model, the memory plan and the SystemC run).
struct HardwareWork {
  // The weight-version unit beside the PE of a layer with d > 0, by its registered name
  // (sim/hardware/weight_unit.h: "stash", "vector"), or empty: none. The unit decides which
  // of those layers it serves, and reads the fields below.
  std::string unit;
  // Ba's operand is the weight its minibatch's forward used (a version kept from F to Ba:
  // the graph gets a stashed-weights edge instead of the update's weights).
  bool stash = false;
  // The vector unit's tensors: `tensors` of |W| elements (|W| + |b| when covers_bias).
  int tensors = 0;
  bool covers_bias = false;
  int update_lane_ops = 0;    // per element, after each update (asynchronous to the PE)
  int backward_lane_ops = 0;  // per element, before each Ba (the Ba waits for it)
  int forward_lane_ops = 0;   // per element, before each F (the F waits for it)
  // The same when the optimizer keeps two state tensors (adamw); -1: forward_lane_ops.
  int forward_lane_ops_adamw = -1;
  // What Ba reads for its operand besides (or instead of) the weight register.
  bool backward_reads_register = true;
  bool backward_reads_tensor = false;
  // The prediction reads the optimizer state (the momentum; m and s under adamw) besides the
  // weights.
  bool forward_reads_momentum = false;
};

// What a unit policy may read of its layer. The optimizer state is as the latest update left
// it (zero before the first): sgd's momentum v, or adamw's moments m (in momentum_*) and s.
template <typename T>
struct UnitView {
  const ops::Mat<T>& weight;
  const ops::Vec<T>& bias;
  const ops::Mat<T>& momentum_w;  // sgd: v; adamw: m
  const ops::Vec<T>& momentum_b;
  std::int64_t delay = 0;       // d > 0
  std::int64_t updates = 0;     // applied so far (adamw's t)
  const ops::Mat<T>& second_w;  // adamw: s (empty under sgd)
  const ops::Vec<T>& second_b;
  const ops::UpdateRule& optimizer;
};

struct UnitSetup {
  std::int64_t delay = 0;     // d > 0
  bool has_backward = false;  // a task reads the backward weight (a Ba, or a recomputed forward)
  bool bias = false;          // the backward version's bias is read too (recompute, §4c)
  // §2d: how the policy's own tensors are stored (`ema`: an EMA tensor; `stash`: a version),
  // and their stochastic-rounding streams (seed, and the tensor id of each kind's weight; its
  // bias is that id + 1).
  ops::NumberFormat ema_format = ops::NumberFormat::kFp32;
  ops::NumberFormat stash_format = ops::NumberFormat::kFp32;
  ops::Rounding rounding = ops::Rounding::kNearestEven;
  std::uint64_t seed = 0;
  std::uint64_t ema_tensor = 0;
  std::uint64_t stash_tensor = 0;
};

// §2d: a policy's own tensor as stored, in `format`: rounded in place; `tensor` names its
// stream and `step` (the updates so far, or the minibatch) the draw.
template <typename M>
void store_as(M& m, ops::NumberFormat format, const UnitSetup& s, std::uint64_t tensor,
              std::int64_t step) {
  if (format == ops::NumberFormat::kFp32 || m.size() == 0) return;
  ops::round_tensor(m.data(), m.size(), format, s.rounding,
                    {s.seed, tensor, static_cast<std::uint64_t>(step)});
}
// An EMA tensor (`part` 0: the weight's, 1: the bias's).
template <typename M>
void store_as_ema(M& m, const UnitSetup& s, std::uint64_t part, std::int64_t step) {
  store_as(m, s.ema_format, s, s.ema_tensor + part, step);
}

template <typename T>
class UnitPolicy {
 public:
  using Matrix = ops::Mat<T>;
  using Vector = ops::Vec<T>;
  virtual ~UnitPolicy() = default;

  virtual bool forward_weights(const UnitView<T>& u, std::int64_t n, double lr, Matrix& w,
                               Vector& b) {
    (void)u, (void)n, (void)lr, (void)w, (void)b;
    return false;
  }
  virtual void forwarded(std::int64_t n, const Matrix& used, const Vector& used_bias) {
    (void)n, (void)used, (void)used_bias;
  }
  virtual bool reads_current_at_backward() const { return true; }
  virtual const Matrix& backward_weight(const UnitView<T>& u, std::int64_t m, Matrix& scratch) {
    (void)m, (void)scratch;
    return u.weight;
  }
  virtual const Vector& backward_bias(const UnitView<T>& u, std::int64_t m, Vector& scratch) {
    (void)m, (void)scratch;
    return u.bias;
  }
  virtual void backward_done(std::int64_t m) { (void)m; }
  virtual bool wants_parameters_before_update() const { return false; }
  virtual void updated(const UnitView<T>& u, const Matrix* before_w, const Vector* before_b) {
    (void)u, (void)before_w, (void)before_b;
  }
  virtual void save(StateWriter& w) const { (void)w; }
  virtual void load(StateReader& r) { (void)r; }
};

template <typename T>
using UnitPolicyFactory = std::unique_ptr<UnitPolicy<T>> (*)(const UnitSetup& setup,
                                                             const UnitView<T>& initial);

// The weight the forward of minibatch n uses, as the stability advisory models it
// (workloads/reference/stability.h): W^(n) itself, the momentum prediction W^(n) − lr·d·v
// (lwp), or the EMA prediction W^(n) − d·ū (ema_lwp, bias correction settled).
enum class ForwardRule { kCurrent, kMomentumPrediction, kEmaPrediction };
// "current", "momentum_prediction", "ema_prediction" (report.json's stability.forward_rule).
const char* forward_rule_name(ForwardRule rule);

struct Policy {
  std::string name;
  std::string description;  // one line: --help, README, report schema
  bool pipelined = true;    // false: one stage, every delay 0 (sync)
  HardwareWork hardware;
  ForwardRule forward = ForwardRule::kCurrent;
  UnitPolicyFactory<float> make_float = nullptr;
  UnitPolicyFactory<double> make_double = nullptr;

  template <typename T>
  std::unique_ptr<UnitPolicy<T>> make(const UnitSetup& setup, const UnitView<T>& initial) const;
};

template <>
inline std::unique_ptr<UnitPolicy<float>> Policy::make<float>(
    const UnitSetup& setup, const UnitView<float>& initial) const {
  return make_float(setup, initial);
}
template <>
inline std::unique_ptr<UnitPolicy<double>> Policy::make<double>(
    const UnitSetup& setup, const UnitView<double>& initial) const {
  return make_double(setup, initial);
}

// Every registered policy, in registration order of their names (sorted, "sync" first).
const std::vector<const Policy*>& all();
std::vector<std::string> names();
// nullptr when `name` is not a policy.
const Policy* find(std::string_view name);
// The policy called `name`; an core::InternalError when there is none (for built-in names).
const Policy& get(std::string_view name);

// Used by LPSIM_REGISTER_POLICY.
bool register_policy(const Policy* policy);

template <template <typename> class P, typename T>
std::unique_ptr<UnitPolicy<T>> make_unit(const UnitSetup& setup, const UnitView<T>& initial) {
  return std::make_unique<P<T>>(setup, initial);
}

}  // namespace lpsim::policies

// In a policy's .cpp, at namespace scope: registers the class template CLASS (constructible
// from (const UnitSetup&, const UnitView<T>&)) under NAME with a Policy built by INIT, a
// function returning Policy with name, description and hardware filled.
#define LPSIM_REGISTER_POLICY(CLASS, INIT)                                  \
  namespace {                                                               \
  const ::lpsim::policies::Policy& lpsim_policy_instance_##CLASS() {        \
    static const ::lpsim::policies::Policy p = [] {                         \
      ::lpsim::policies::Policy q = INIT();                                 \
      q.make_float = &::lpsim::policies::make_unit<CLASS, float>;           \
      q.make_double = &::lpsim::policies::make_unit<CLASS, double>;         \
      return q;                                                             \
    }();                                                                    \
    return p;                                                               \
  }                                                                         \
  [[maybe_unused]] const bool lpsim_policy_registered_##CLASS =             \
      ::lpsim::policies::register_policy(&lpsim_policy_instance_##CLASS()); \
  }
