#pragma once
// The math of every hardware task, with every tensor the hardware holds.
//
// TaskEngine owns the weights, optimizer state, each layer's policy state (workloads/policies),
// stored activations and in-flight gradients of a pipelined training run, and performs one task at
// a time: F_u(n), the loss of n, Ba_u(m), Bw_u(m), U_u(m) (ARCHITECTURE.md §2-3). Two drivers call
// it: the sequential reference trainer (trainer.h) and the SystemC hardware model (sim/),
// each in its own order. Results do not depend on that order as long as every task's
// preconditions hold, and the engine checks them:
//   F_u(n)   needs weight version n of unit u: exactly the updates of gradients
//            0..n-1-d_u applied, and none later (core::InternalError otherwise);
//   Ba_u(m)  needs the complete gradient at unit u's output (all consumers done) and, unless
//            the policy keeps its own copy (stash), W^(m+d_u);
//   Bw_u(m)  needs the same gradient and the input activation F_u(m) stored;
//   U_u(m)   needs Bw_u(m) and must follow U_u(m-1).
// Gradient contributions from several consumers are summed in unit order, not arrival
// order, so the floating-point result is the same for every legal execution order.
// Unit u's tail (the backward of its parameter-free layers) runs inside its tail owner's
// Ba, or inside the loss task (workloads/models/units.h).

#include <cstdint>
#include <deque>
#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "workloads/models/network.h"
#include "workloads/models/units.h"
#include "workloads/ops/accumulate.h"
#include "workloads/ops/conv2d.h"
#include "workloads/ops/numerics.h"
#include "workloads/ops/tensor.h"
#include "workloads/policies/policy.h"
#include "workloads/reference/optimizer.h"

namespace lpsim::reference {

// Test-set samples the trainers evaluate at a time (TaskEngine::evaluate).
inline constexpr std::int64_t kEvaluationBatch = 1000;
// The minibatch numbers (random streams) of precise BN's forwards: kPreciseBnStream - k. Training
// uses n >= 0 and test batches -1 - start (start < 2^40 samples).
inline constexpr std::int64_t kPreciseBnStream = -(std::int64_t{1} << 50);

// Trainable state of one unit. weight: linear [O, I], conv [O, C*kh*kw], batch norm gamma
// as [1, C]; bias [O] (kept at zero and never trained when the layer has none), batch norm
// beta [C]; running statistics for batch norm only. T is the scalar of training (float,
// ops::Scalar) or double (gradient checks).
template <typename T>
using BasicUnitParams = models::LayerParams<T>;
using UnitParams = BasicUnitParams<ops::Scalar>;

// PyTorch-default initialisation of every unit, from one seed (a stream per unit). Each draw
// is rounded to T, so the double values are not the float ones widened.
template <typename T = ops::Scalar>
std::vector<BasicUnitParams<T>> initial_parameters(const models::Network& network,
                                                   const models::UnitGraph& units,
                                                   std::uint64_t seed);

struct EngineSettings {
  // The weight-version policy (workloads/policies); required.
  const policies::Policy* policy = &policies::get("none");
  // ARCHITECTURE.md §2b: the update of a layer with d > 0 adds the d momentum steps its late
  // gradient missed (W -= lr·(mu^d·v + (sum_{k<d} mu^k)·q)); combines with every policy, under
  // sgd only.
  bool spike_compensation = false;
  std::vector<std::int64_t> delays;  // d_u per unit
  OptimizerSettings optimizer;
  std::int64_t batches_per_epoch = 1;
  std::int64_t total_minibatches = 1;
  // Keep each minibatch's forward weight and measure the consistency error (§2b) of the
  // backward's: ||W_bwd - W_fwd(m)|| / ||W^(m+d) - W^(m)||.
  bool reconstruction_diagnostic = false;
  // Evaluation snapshots: for each version V listed, keep W_u^(V) of every unit and the
  // batch-norm running statistics after F_u(V-1).
  std::vector<std::int64_t> snapshot_versions;
  // ARCHITECTURE.md §4c: the stage of every unit, and per stage whether it recomputes its
  // activations (empty: every stage keeps them). A recomputing stage drops its layers' saved
  // tensors and internal outputs after the forward; recompute(s, m) reruns the stage's forward
  // of m with the backward's weights W_b, which its Ba then uses.
  std::vector<int> stage_of_unit;
  std::vector<bool> recompute_stage;
  // ARCHITECTURE.md §2d: the formats the math runs under (all fp32: no rounding at all).
  ops::Numerics numerics;
  // Seeds the Poisson spike encoders: minibatch n's spikes come from a stream of (seed,
  // layer, n), so they do not depend on the order tasks run in.
  std::uint64_t seed = 0;
};

// Spikes in the output of a layer that makes a spike tensor (LIF, Poisson encoder, max
// pooling of spikes; ReLU and flatten pass their input's spikes on and are not counted)
// during training forwards.
struct SpikeStats {
  std::int64_t spikes = 0;    // outputs equal to 1
  std::int64_t elements = 0;  // outputs produced (neurons x time steps x samples)
  double rate() const {
    return elements > 0 ? static_cast<double>(spikes) / static_cast<double>(elements) : 0.0;
  }
};

struct MinibatchResult {
  double loss = 0.0;
  std::int64_t correct = 0;
  std::int64_t samples = 0;
};

struct ReconstructionStats {
  double error_sum = 0.0;     // sum of relative errors over the measured backward passes
  std::int64_t measured = 0;  // passes with ||W^(m+d) - W^(m)|| > 0
  double mean() const { return measured > 0 ? error_sum / static_cast<double>(measured) : 0.0; }
};

struct EvalResult {
  double loss = 0.0;
  double accuracy = 0.0;
  // Under precise BN (set_precise_bn): loss and accuracy are with the re-estimated batch-norm
  // statistics, and these with the running statistics the training forwards accumulated.
  bool precise_bn = false;
  double running_stats_loss = 0.0;
  double running_stats_accuracy = 0.0;
};

// The engine over the scalar type T (explicitly instantiated for float and double): the
// training run uses TaskEngine (float); whole-model gradient checks use
// BasicTaskEngine<double>, the same task code over the double kernels.
template <typename T>
class BasicTaskEngine {
 public:
  using Scalar = T;
  using Matrix = ops::Mat<T>;
  using Vector = ops::Vec<T>;
  using Params = BasicUnitParams<T>;

  BasicTaskEngine(const models::Network& network, const models::UnitGraph& units,
                  EngineSettings settings, std::vector<Params> params);
  ~BasicTaskEngine();
  BasicTaskEngine(const BasicTaskEngine&) = delete;
  BasicTaskEngine& operator=(const BasicTaskEngine&) = delete;

  // Minibatch n's input [B, C*H*W] and labels; runs the input's parameter-free layers.
  void load(std::int64_t n, Matrix images, std::vector<std::int32_t> labels);
  void forward(int unit, std::int64_t n);
  void loss(std::int64_t n);
  void backward_activation(int unit, std::int64_t m);
  // Ba in two parts (LayerPipe's inter-layer split): the matrix product with the policy's
  // weight, then the tails it owns; backward_activation runs both.
  void backward_activation_product(int unit, std::int64_t m);
  void backward_activation_tail(int unit, std::int64_t m);
  void backward_weight(int unit, std::int64_t m);
  void update(int unit, std::int64_t m);
  // §4c: the rerun of stage s's forward of minibatch m with each unit's backward weights W_b
  // (made here once and held until the unit's backward ends), no batch-norm running statistics
  // updated. Under recompute it must precede every backward task of the stage for m (and the
  // loss, in the last stage); every unit of the stage must hold W^(m+d) (after U(m-1)).
  void recompute(int stage, std::int64_t m);
  bool recomputes(int stage) const;
  // The stage whose backward reads `layer`'s tensors: its unit's, or for a layer attached to a
  // unit its tail owner's (the loss: the last stage); -1 for the input's pre-processing.
  int backward_stage_of_layer(int layer) const { return layer_stage_[layer]; }
  int num_stages() const { return num_stages_; }

  bool has_backward_activation(int unit) const;
  int num_units() const { return static_cast<int>(units_.units.size()); }
  std::int64_t delay(int unit) const { return settings_.delays[unit]; }
  const EngineSettings& settings() const { return settings_; }

  // Per minibatch, in order of n (filled by loss()).
  const std::vector<MinibatchResult>& minibatch_results() const { return results_; }
  // Current parameters (after every update applied so far).
  std::vector<Params> parameters() const;
  std::int64_t updates_applied(int unit) const;
  // The weight gradient Bw_u(m) produced and U_u(m) has not consumed yet (weight, bias).
  const std::pair<Matrix, Vector>& pending_gradient(int unit, std::int64_t m) const;
  const ReconstructionStats& reconstruction(int unit) const;
  // Per network layer (zero for layers that do not spike).
  const std::vector<SpikeStats>& spike_stats() const { return spikes_; }
  // Minibatches whose context is still held (for checks: 0 after a full drain).
  std::size_t minibatches_in_flight() const;

  // The whole mutable state (parameters, optimizer, EMA, stashes, pending gradients,
  // snapshots, every minibatch in flight and the per-minibatch results) as bytes, and back.
  // load_state needs an engine built from the same network and settings; a stream from
  // anything else is refused (core::DataError naming `origin`).
  void save_state(std::ostream& out) const;
  void load_state(std::istream& in, const std::string& origin);

  // Precise BN (workload.precise_bn_minibatches, after Wu & Johnson 2021 and
  // torch.optim.swa_utils.update_bn): from now on evaluate() re-estimates every batch norm's
  // statistics with the weights it evaluates, as the mean over the first `minibatches` batches
  // of `batch` rows of `images` (the training set, in its stored order) of the batch statistics
  // a training-mode forward with those weights computes, and scores with them; it also scores
  // with the running statistics. `images` must outlive the engine; minibatches = 0: off.
  void set_precise_bn(const Matrix* images, std::int64_t minibatches, std::int64_t batch);

  bool snapshot_ready(std::int64_t version) const;
  // Test-set loss and accuracy with the snapshot of `version` (or, with nullopt, the
  // current parameters), batch norm in evaluation mode.
  // `batch` samples at a time (kEvaluationBatch in the trainers: it bounds the memory, not
  // the result).
  EvalResult evaluate(const Matrix& images, const std::vector<std::int32_t>& labels,
                      std::optional<std::int64_t> version, std::int64_t batch) const;
  // The logits of `images` [B, C*H*W] (the loss layer's input, [B, classes]) with the current
  // parameters, batch norm in evaluation mode: the forward pass evaluate() scores.
  Matrix predict(const Matrix& images) const;

 private:
  struct UnitState;  // these two: below the class
  struct Context;

  // The one list of the state's fields, for save_state and load_state (engine_state.cpp): Io
  // writes each field or reads it back; Self is BasicTaskEngine (load) or const (save).
  template <class Io, class Self>
  static void visit_state(Io& io, Self& self);

  Context& context(std::int64_t n, const char* task, int unit);
  void add_gradient(Context& ctx, int layer, int contributor, Matrix grad);
  Matrix take_gradient(Context& ctx, int layer);
  // `stage`: the stage whose backward runs the tail (its owner's, or the last for the loss).
  void run_tail(int unit, Context& ctx, int stage);
  // The tensor the backward of `stage` reads as layer `layer`'s output (kNetworkInput: the
  // input): the rerun's when the stage recomputes and the layer is one of its own.
  const Matrix& backward_tensor(const Context& ctx, int layer, int stage) const;
  void task_done(std::int64_t n);
  void release_backward(int unit, Context& ctx);
  // §4c bookkeeping: after `layer`'s forward, its inputs' remaining forward reads; a recomputing
  // stage's tensor no other stage reads is dropped after its last one.
  void plan_recompute();
  // §2d: rounds `m` (a Matrix or Vector) in place to class c's format (nothing under fp32);
  // `tensor` and `n` name its stochastic-rounding stream with the class.
  template <typename M>
  void round_class(M& m, ops::TensorClass c, std::uint64_t tensor, std::int64_t n) const;
  // The weight and bias a task reads: `w`, `b` rounded to `weights` (or themselves under fp32).
  std::pair<const Matrix*, const Vector*> weights_read(const Matrix* w, const Vector* b, int layer,
                                                       std::int64_t n, Matrix& wq,
                                                       Vector& bq) const;
  void round_master(UnitState& s) const;
  // The accumulator every product of a task follows (§2d; ops/accumulate.h).
  ops::AccumulateRule accumulator_rule() const {
    return {settings_.numerics.of(ops::TensorClass::kAccumulate),
            settings_.numerics.accumulate_chunk};
  }
  // A layer's output as stored and sent (`activations`): ctx.out[layer], or `y`.
  void round_output(int layer, Context& ctx, Matrix* y = nullptr) const;
  void forward_reads_done(int layer, Context& ctx);
  void drop_saved_if_recomputed(int layer, Context& ctx);
  // Throws unless stage s has rerun minibatch m (a recomputing stage's backward task).
  void check_rerun(int stage, const Context& ctx, const char* task, int unit) const;
  // One backward task of stage s for ctx's minibatch ended: after the last one, the rerun's
  // tensors are freed.
  void stage_task_done(int stage, Context& ctx);
  // `inputs`: point x at the layer's inputs in ctx.out (false: the caller does).
  models::ForwardArgs<T> forward_args(int layer, Context& ctx, bool train,
                                      bool inputs = true) const;
  void forward_layer(int layer, Context& ctx, const Params& params, bool train) const;
  // The evaluation forward of one batch (ctx.n = n) with `params` per unit: the logits. With
  // `batch_stats` (precise BN), a training-mode forward instead: every unit with running
  // statistics gets its batch's mean and unbiased variance there (per unit; others empty).
  Matrix evaluation_logits(const Matrix& images, std::int64_t n,
                           const std::vector<const Params*>& params,
                           std::vector<std::pair<Vector, Vector>>* batch_stats = nullptr) const;
  // Test loss and accuracy of `params` (evaluate()'s scoring).
  EvalResult score(const Matrix& images, const std::vector<std::int32_t>& labels,
                   const std::vector<const Params*>& params, std::int64_t batch) const;
  // `params` with every running statistic re-estimated (set_precise_bn).
  std::vector<Params> precise_bn_params(const std::vector<const Params*>& params) const;
  void count_spikes(int layer, const Context& ctx);
  // update()'s rule under sgd (adamw's is ops::adamw_update).
  void update_sgd(UnitState& s, const std::pair<Matrix, Vector>& g, T lr, bool trains_bias) const;

  const models::Network& network_;
  const models::UnitGraph& units_;
  EngineSettings settings_;
  std::vector<std::unique_ptr<UnitState>> state_;
  std::map<std::int64_t, std::unique_ptr<Context>> contexts_;
  std::vector<MinibatchResult> results_;
  std::vector<SpikeStats> spikes_;
  // Scratch of the convolution kernels, shared by every layer: a task's math runs to the end
  // before another starts (one workspace per layer held 0.5 GB for ResNet-18 at batch 32).
  ops::Conv2dWorkspace<T> conv_ws_;
  std::vector<std::vector<int>> tails_owned_by_unit_;  // units whose tail each unit runs
  std::vector<int> tails_owned_by_loss_;
  // set_precise_bn's images, minibatches and batch.
  const Matrix* precise_bn_images_ = nullptr;
  std::int64_t precise_bn_minibatches_ = 0;
  std::int64_t precise_bn_batch_ = 0;
  int tasks_per_minibatch_ = 0;
  // §4c (filled when a stage recomputes; see recompute()).
  bool recompute_any_ = false;
  int num_stages_ = 1;
  std::vector<int> layer_stage_;                // per layer: backward_stage_of_layer
  std::vector<std::vector<int>> stage_layers_;  // per stage: its layers, in network order
  std::vector<std::vector<int>> stage_units_;   // per stage: its units
  std::vector<int> forward_reads_;              // per layer: reads of its output in a forward
  std::vector<bool> read_by_other_stage_;       // per layer: an input of another stage
  std::vector<int> stage_backward_tasks_;       // per stage: backward tasks per minibatch
};

// The engine's private state, here so that engine.cpp (the tasks) and engine_state.cpp (its
// bytes) share one definition.
template <typename T>
struct BasicTaskEngine<T>::UnitState {
  int layer = -1;
  int stage = 0;
  std::int64_t d = 0;
  Params p;
  // Optimizer state per parameter tensor: sgd's momentum v, or adamw's first moment m; adamw's
  // second moment s (empty under sgd); t, adamw's step count, is `updates` (every tensor of a
  // layer is updated together).
  Matrix momentum_w;
  Vector momentum_b;
  Matrix second_w;
  Vector second_b;
  const ops::UpdateRule* rule = nullptr;  // the engine's settings_.optimizer
  // The layer's ParamLayout facts, read once (not per task).
  bool trains_bias = false;
  bool running_stats = false;
  std::int64_t updates = 0;
  std::map<std::int64_t, std::pair<Matrix, Vector>> pending;  // gradients by minibatch
  std::unique_ptr<policies::UnitPolicy<T>> policy;            // d > 0 only
  // The consistency diagnostic: per minibatch in flight, W^(m) and (when the policy predicted
  // it) the weight F(m) used instead.
  struct Forwarded {
    std::int64_t m = 0;
    Matrix version;
    Matrix used;  // empty: F(m) used W^(m)
  };
  bool keep_diagnostic = false;
  std::deque<Forwarded> diagnostic;
  ReconstructionStats recon;
  policies::UnitView<T> view() const {
    return {p.weight, p.bias, momentum_w, momentum_b, d, updates, second_w, second_b, *rule};
  }
  struct Snapshot {
    Params p;
    bool weights = false;
    bool stats = false;
  };
  std::map<std::int64_t, Snapshot> snapshots;
};

template <typename T>
struct BasicTaskEngine<T>::Context {
  std::int64_t n = 0;
  std::vector<std::int32_t> labels;
  Matrix input;
  std::vector<Matrix> out;                                 // per layer
  std::vector<std::vector<std::pair<int, Matrix>>> grads;  // per layer: (contributor, part)
  std::vector<Matrix> delta;                               // per unit: gradient at its layer
  std::vector<bool> delta_ready;
  std::vector<bool> product_done;            // per unit: Ba's matrix product ran
  std::vector<bool> weight_done;             // per unit: Bw ran
  std::vector<models::LayerSaved<T>> saved;  // per layer: what its backward reads
  int remaining = 0;
  // §4c, when a stage recomputes: forward reads of each layer's output still to come; per
  // stage, whether it reran this minibatch and its backward tasks still to run; per unit, the
  // backward weight W_b the rerun used, which its Ba multiplies by (held until the stage's
  // backward ends; the bias is read by the rerun alone).
  std::vector<int> reads_left;
  // Per layer: its output as a recomputing stage's rerun made it, which that stage's backward
  // reads (`out` keeps the forward's, which other stages may still read: on the hardware a
  // later stage's Bw can run while this stage reruns).
  std::vector<Matrix> rerun_out;
  std::vector<char> rerun;
  std::vector<int> stage_left;
  std::vector<Matrix> backward_w;
};

using TaskEngine = BasicTaskEngine<ops::Scalar>;

// Defined in engine.cpp and engine_state.cpp for these two scalars only.
extern template class BasicTaskEngine<float>;
extern template class BasicTaskEngine<double>;
extern template std::vector<BasicUnitParams<float>> initial_parameters<float>(
    const models::Network&, const models::UnitGraph&, std::uint64_t);
extern template std::vector<BasicUnitParams<double>> initial_parameters<double>(
    const models::Network&, const models::UnitGraph&, std::uint64_t);

}  // namespace lpsim::reference
