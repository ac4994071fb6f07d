#include "workloads/reference/engine.h"

#include <algorithm>
#include <cmath>

#include "core/errors.h"
#include "workloads/data/seed.h"
#include "workloads/ops/numerics_bulk.h"
#include "workloads/ops/ops.h"

namespace lpsim::reference {

using models::Layer;

namespace {

using data::mix_seed;

template <typename T>
double frobenius_distance(const ops::Mat<T>& a, const ops::Mat<T>& b) {
  return static_cast<double>((a - b).norm());
}

// Per-layer clipping: the layer's gradient (weight and bias together) scaled by
// min(1, clip / ||g||), the L2 norm summed in double.
template <typename T>
void clip_to_norm(double clip, ops::Mat<T>& gw, ops::Vec<T>& gb) {
  const double norm = std::sqrt(gw.template cast<double>().squaredNorm() +
                                gb.template cast<double>().squaredNorm());
  if (!(norm > clip)) return;
  const T scale = static_cast<T>(clip / norm);
  gw *= scale;
  gb *= scale;
}

// §2d: the stochastic-rounding stream of a tensor, by its class, layer (-1: the network's
// input) and part (weight 0, bias 1; a gradient contribution: its contributor + 2).
std::uint64_t tensor_id(ops::TensorClass c, int layer, int part) {
  return (static_cast<std::uint64_t>(c) << 40) | (static_cast<std::uint64_t>(layer + 1) << 12) |
         static_cast<std::uint64_t>(part + 1);
}

std::string where(const char* task, int unit, const models::UnitGraph& units, std::int64_t n) {
  return std::string(task) + "(" + (unit >= 0 ? units.units[unit].name : std::string("loss")) +
         ", minibatch " + std::to_string(n) + ")";
}

}  // namespace

template <typename T>
std::vector<BasicUnitParams<T>> initial_parameters(const models::Network& network,
                                                   const models::UnitGraph& units,
                                                   std::uint64_t seed) {
  std::vector<BasicUnitParams<T>> params(units.units.size());
  for (std::size_t u = 0; u < units.units.size(); ++u) {
    const Layer& l = network.layers[units.units[u].layer];
    ops::Rng rng(mix_seed(seed ^ mix_seed(0x1000 + u)));
    BasicUnitParams<T>& p = params[u];
    l.type->init(l, rng, p);
    if (!l.trains_bias()) p.bias.setZero();
  }
  return params;
}

template <typename T>
BasicTaskEngine<T>::BasicTaskEngine(const models::Network& network, const models::UnitGraph& units,
                                    EngineSettings settings, std::vector<Params> params)
    : network_(network), units_(units), settings_(std::move(settings)) {
  const int nu = num_units();
  LPSIM_ASSERT(static_cast<int>(settings_.delays.size()) == nu, "one delay per unit");
  LPSIM_ASSERT(static_cast<int>(params.size()) == nu, "one parameter set per unit");
  tails_owned_by_unit_.assign(nu, {});
  // §4c: stages, and which of them recompute.
  std::vector<int> stage_of_unit(nu, 0);
  if (!settings_.stage_of_unit.empty()) {
    LPSIM_ASSERT(static_cast<int>(settings_.stage_of_unit.size()) == nu, "one stage per unit");
    stage_of_unit = settings_.stage_of_unit;
  }
  for (int st : stage_of_unit) num_stages_ = std::max(num_stages_, st + 1);
  LPSIM_ASSERT(settings_.recompute_stage.empty() ||
                   static_cast<int>(settings_.recompute_stage.size()) == num_stages_,
               "one activation choice per stage");
  for (bool r : settings_.recompute_stage) recompute_any_ = recompute_any_ || r;
  int ba_count = 0;
  for (int u = 0; u < nu; ++u) {
    auto s = std::make_unique<UnitState>();
    s->layer = units.units[u].layer;
    s->stage = stage_of_unit[u];
    s->d = settings_.delays[u];
    LPSIM_ASSERT(s->d >= 0, "negative delay");
    LPSIM_ASSERT(settings_.policy != nullptr, "a weight-version policy");
    LPSIM_ASSERT(settings_.policy->pipelined || s->d == 0,
                 settings_.policy->name + " has no delays");
    s->p = std::move(params[u]);
    s->rule = &settings_.optimizer;
    round_master(*s);
    s->momentum_w = Matrix::Zero(s->p.weight.rows(), s->p.weight.cols());
    s->momentum_b = Vector::Zero(s->p.bias.size());
    switch (settings_.optimizer.kind) {
      case ops::OptimizerKind::kSgd:
        break;
      case ops::OptimizerKind::kAdamw:
        LPSIM_ASSERT(!settings_.spike_compensation, "spike compensation is sgd's");
        s->second_w = Matrix::Zero(s->p.weight.rows(), s->p.weight.cols());
        s->second_b = Vector::Zero(s->p.bias.size());
        break;
    }
    // Only a Ba that reads the weights needs a version of them (not an embedding's).
    const bool ba_reads_weights =
        has_backward_activation(u) && network.layers[s->layer].type->backward_reads_weights();
    // A recomputed forward reads the backward's version of every unit of its stage (§4c).
    const bool rerun = recomputes(s->stage);
    if (s->d > 0) {
      policies::UnitSetup setup{s->d, ba_reads_weights || rerun, rerun};
      setup.ema_format = settings_.numerics.of(ops::TensorClass::kEma);
      setup.stash_format = settings_.numerics.of(ops::TensorClass::kStash);
      setup.rounding = settings_.numerics.rounding;
      setup.seed = settings_.seed;
      setup.ema_tensor = tensor_id(ops::TensorClass::kEma, s->layer, 0);
      setup.stash_tensor = tensor_id(ops::TensorClass::kStash, s->layer, 0);
      s->policy = settings_.policy->make<T>(setup, s->view());
    }
    s->keep_diagnostic = s->d > 0 && ba_reads_weights && settings_.reconstruction_diagnostic;
    s->trains_bias = network.layers[s->layer].trains_bias();
    s->running_stats = network.layers[s->layer].params().running_stats;
    const bool is_bn = s->running_stats;
    for (std::int64_t v : settings_.snapshot_versions) {
      auto& snap = s->snapshots[v];
      if (v <= s->d) {
        snap.p.weight = s->p.weight;
        snap.p.bias = s->p.bias;
        snap.weights = true;
      }
      snap.stats = !is_bn;
    }
    const int owner = units.units[u].tail_owner;
    if (owner == models::kLossUnit) {
      tails_owned_by_loss_.push_back(u);
    } else {
      tails_owned_by_unit_[owner].push_back(u);
    }
    if (has_backward_activation(u)) ++ba_count;
    state_.push_back(std::move(s));
  }
  tasks_per_minibatch_ = 2 * nu + ba_count + 1;
  spikes_.assign(network.layers.size(), {});
  if (recompute_any_) plan_recompute();
}

// §4c: the layers each stage's backward reads (a unit's layer: its stage; a layer attached to
// a unit: its tail owner's, whose Ba runs its backward; the loss and what the loss's tails
// read: the last stage), which outputs no other stage reads (dropped after the forward under
// recompute), and the backward tasks of each stage per minibatch.
template <typename T>
void BasicTaskEngine<T>::plan_recompute() {
  const int nl = static_cast<int>(network_.layers.size());
  const int last = num_stages_ - 1;
  std::vector<int> stage_of_unit;
  for (const auto& s : state_) stage_of_unit.push_back(s->stage);
  layer_stage_ = models::backward_stage_of_layers(network_, units_, stage_of_unit, num_stages_);
  stage_layers_.assign(num_stages_, {});
  stage_units_.assign(num_stages_, {});
  stage_backward_tasks_.assign(num_stages_, 0);
  for (int u = 0; u < num_units(); ++u) {
    const int st = state_[u]->stage;
    stage_units_[st].push_back(u);
    stage_backward_tasks_[st] += 1 + (has_backward_activation(u) ? 2 : 0);  // Bw, Ba's two parts
  }
  stage_backward_tasks_[last] += 1;  // the loss
  forward_reads_.assign(nl, 0);
  read_by_other_stage_ = models::read_by_other_stage(network_, layer_stage_);
  for (int c = 0; c < nl; ++c) {
    if (c != network_.loss && layer_stage_[c] >= 0) stage_layers_[layer_stage_[c]].push_back(c);
    for (int in : network_.layers[c].inputs) {
      if (in != models::kNetworkInput) ++forward_reads_[in];
    }
  }
}

template <typename T>
bool BasicTaskEngine<T>::recomputes(int stage) const {
  return !settings_.recompute_stage.empty() && stage >= 0 &&
         settings_.recompute_stage.at(static_cast<std::size_t>(stage));
}

template <typename T>
template <typename M>
void BasicTaskEngine<T>::round_class(M& m, ops::TensorClass c, std::uint64_t tensor,
                                     std::int64_t n) const {
  const ops::Numerics& num = settings_.numerics;
  if (num.fp32(c) || m.size() == 0) return;
  ops::round_tensor(m.data(), m.size(), num.of(c), num.rounding,
                    {settings_.seed, tensor, static_cast<std::uint64_t>(n)});
}

template <typename T>
std::pair<const typename BasicTaskEngine<T>::Matrix*, const typename BasicTaskEngine<T>::Vector*>
BasicTaskEngine<T>::weights_read(const Matrix* w, const Vector* b, int layer, std::int64_t n,
                                 Matrix& wq, Vector& bq) const {
  if (settings_.numerics.fp32(ops::TensorClass::kWeights)) return {w, b};
  wq = *w;
  round_class(wq, ops::TensorClass::kWeights, tensor_id(ops::TensorClass::kWeights, layer, 0), n);
  bq = *b;
  round_class(bq, ops::TensorClass::kWeights, tensor_id(ops::TensorClass::kWeights, layer, 1), n);
  return {&wq, &bq};
}

// §2d: master weights and optimizer state are stored in `master` (fp32 or bf16, unscaled);
// the step count is the stream's minibatch.
template <typename T>
void BasicTaskEngine<T>::round_master(UnitState& s) const {
  constexpr ops::TensorClass kM = ops::TensorClass::kMaster;
  if (settings_.numerics.fp32(kM)) return;
  const std::int64_t step = s.updates;
  round_class(s.p.weight, kM, tensor_id(kM, s.layer, 0), step);
  round_class(s.p.bias, kM, tensor_id(kM, s.layer, 1), step);
  round_class(s.momentum_w, kM, tensor_id(kM, s.layer, 2), step);
  round_class(s.momentum_b, kM, tensor_id(kM, s.layer, 3), step);
  round_class(s.second_w, kM, tensor_id(kM, s.layer, 4), step);
  round_class(s.second_b, kM, tensor_id(kM, s.layer, 5), step);
}

template <typename T>
void BasicTaskEngine<T>::round_output(int layer, Context& ctx, Matrix* y) const {
  if (settings_.numerics.fp32(ops::TensorClass::kActivations)) return;
  round_class(y != nullptr ? *y : ctx.out[layer], ops::TensorClass::kActivations,
              tensor_id(ops::TensorClass::kActivations, layer, 0), ctx.n);
  // What the layer stores for its backward that is an activation (attention's P).
  auto& saved = ctx.saved[layer].tensors;
  for (int i : network_.layers[layer].type->saved_activations()) {
    if (i < static_cast<int>(saved.size())) {
      round_class(saved[i], ops::TensorClass::kActivations,
                  tensor_id(ops::TensorClass::kActivations, layer, 1 + i), ctx.n);
    }
  }
}

template <typename T>
const typename BasicTaskEngine<T>::Matrix& BasicTaskEngine<T>::backward_tensor(const Context& ctx,
                                                                               int layer,
                                                                               int stage) const {
  if (layer == models::kNetworkInput) return ctx.input;
  if (recompute_any_ && recomputes(stage) && layer_stage_[layer] == stage) {
    return ctx.rerun_out[layer];
  }
  return ctx.out[layer];
}

template <typename T>
void BasicTaskEngine<T>::forward_reads_done(int layer, Context& ctx) {
  if (!recompute_any_) return;
  for (int in : network_.layers[layer].inputs) {
    if (in == models::kNetworkInput) continue;
    if (--ctx.reads_left[in] == 0 && recomputes(layer_stage_[in]) && !read_by_other_stage_[in]) {
      ctx.out[in] = Matrix();  // recomputed before the stage's backward
    }
  }
}

template <typename T>
void BasicTaskEngine<T>::drop_saved_if_recomputed(int layer, Context& ctx) {
  if (recompute_any_ && recomputes(layer_stage_[layer])) ctx.saved[layer].clear();
}

template <typename T>
void BasicTaskEngine<T>::check_rerun(int stage, const Context& ctx, const char* task,
                                     int unit) const {
  if (!ctx.rerun[stage]) {
    throw core::InternalError(where(task, unit, units_, ctx.n) + " before stage " +
                              std::to_string(stage) + " recomputed its activations");
  }
}

template <typename T>
void BasicTaskEngine<T>::stage_task_done(int stage, Context& ctx) {
  if (!recomputes(stage) || --ctx.stage_left[stage] > 0) return;
  for (int l : stage_layers_[stage]) {
    ctx.rerun_out[l] = Matrix();
    ctx.saved[l].clear();
  }
  for (int u : stage_units_[stage]) ctx.backward_w[u] = Matrix();
}

template <typename T>
void BasicTaskEngine<T>::recompute(int stage, std::int64_t m) {
  const ops::ScopedAccumulateRule accumulator(accumulator_rule());
  LPSIM_ASSERT(recomputes(stage), "recompute() of a stage that keeps its activations");
  Context& ctx = context(m, "R", -1);
  if (ctx.rerun[stage]) {
    throw core::InternalError("R(stage " + std::to_string(stage) + ", minibatch " +
                              std::to_string(m) + ") ran twice");
  }
  // W_b, made once per unit and held until its backward ends (the bias for the rerun alone).
  std::vector<Vector> backward_b(units_.units.size());
  for (int u : stage_units_[stage]) {
    UnitState& s = *state_[u];
    if ((!s.policy || s.policy->reads_current_at_backward()) && s.updates != m) {
      throw core::InternalError(where("R", u, units_, m) +
                                " must see W^(m+d): " + std::to_string(m) +
                                " updates applied, found " + std::to_string(s.updates));
    }
    if (s.policy) {
      Matrix scratch;
      Vector scratch_b;
      ctx.backward_w[u] = s.policy->backward_weight(s.view(), m, scratch);
      backward_b[u] = s.policy->backward_bias(s.view(), m, scratch_b);
      s.policy->backward_done(m);
    } else {
      ctx.backward_w[u] = s.p.weight;
      backward_b[u] = s.p.bias;
    }
    // As read by the rerun and the Ba: in `weights` (§2d), rounded once.
    round_class(ctx.backward_w[u], ops::TensorClass::kWeights,
                tensor_id(ops::TensorClass::kWeights, s.layer, 0), m);
    round_class(backward_b[u], ops::TensorClass::kWeights,
                tensor_id(ops::TensorClass::kWeights, s.layer, 1), m);
  }
  // The stage's forward of m again, in network order, from the stage's inputs (as the forward
  // left them), into rerun_out.
  for (int l : stage_layers_[stage]) {
    const Layer& layer = network_.layers[l];
    models::ForwardArgs<T> args = forward_args(l, ctx, true, false);
    for (int in : layer.inputs) {
      args.x.push_back(&backward_tensor(ctx, in, stage));
      LPSIM_ASSERT(args.x.back()->rows() > 0, "rerun input of " + layer.name + " not held");
    }
    args.y = &ctx.rerun_out[l];
    Params none;
    Vector mean, var;  // the rerun's running-statistics updates are dropped
    if (layer.has_params()) {
      const int u = units_.unit_of_layer[l];
      const UnitState& s = *state_[u];
      args.weight = &ctx.backward_w[u];
      args.bias = &backward_b[u];
      mean = s.p.running_mean;
      var = s.p.running_var;
      args.updated_mean = &mean;
      args.updated_var = &var;
    } else {
      args.weight = &none.weight;
      args.bias = &none.bias;
      args.running_mean = &none.running_mean;
      args.running_var = &none.running_var;
    }
    args.ws = &conv_ws_;
    layer.type->forward(layer, args);
    round_output(l, ctx, &ctx.rerun_out[l]);
  }
  ctx.rerun[stage] = true;
  ctx.stage_left[stage] = stage_backward_tasks_[stage];
}

template <typename T>
BasicTaskEngine<T>::~BasicTaskEngine() = default;

template <typename T>
bool BasicTaskEngine<T>::has_backward_activation(int unit) const {
  const auto& in = units_.units[unit].inputs;
  return std::any_of(in.begin(), in.end(), [](int p) { return p != models::kInputUnit; });
}

template <typename T>
typename BasicTaskEngine<T>::Context& BasicTaskEngine<T>::context(std::int64_t n, const char* task,
                                                                  int unit) {
  auto it = contexts_.find(n);
  if (it == contexts_.end()) {
    throw core::InternalError(where(task, unit, units_, n) +
                              ": minibatch not loaded or already retired");
  }
  return *it->second;
}

template <typename T>
void BasicTaskEngine<T>::load(std::int64_t n, Matrix images, std::vector<std::int32_t> labels) {
  LPSIM_ASSERT(contexts_.count(n) == 0, "minibatch loaded twice");
  LPSIM_ASSERT(images.cols() == network_.input_shape.size(), "input width");
  LPSIM_ASSERT(
      static_cast<std::size_t>(images.rows() * network_.labels_per_sample) == labels.size(),
      "labels_per_sample labels per sample");
  auto ctx = std::make_unique<Context>();
  const std::size_t nl = network_.layers.size();
  ctx->n = n;
  ctx->labels = std::move(labels);
  ctx->input = std::move(images);
  ctx->out.resize(nl);
  ctx->grads.resize(nl);
  ctx->saved.resize(nl);
  ctx->delta.resize(units_.units.size());
  ctx->delta_ready.assign(units_.units.size(), false);
  ctx->product_done.assign(units_.units.size(), false);
  ctx->weight_done.assign(units_.units.size(), false);
  ctx->remaining = tasks_per_minibatch_;
  if (recompute_any_) {
    ctx->reads_left = forward_reads_;
    ctx->rerun.assign(num_stages_, false);
    ctx->stage_left.assign(num_stages_, 0);
    ctx->backward_w.resize(units_.units.size());
    ctx->rerun_out.resize(nl);
  }
  // §2d: the input as the hardware holds it (token ids are integers, never rounded).
  if (!network_.token_input) {
    round_class(ctx->input, ops::TensorClass::kActivations,
                tensor_id(ops::TensorClass::kActivations, -1, 0), n);
  }
  for (int l : units_.input_attached) {
    forward_layer(l, *ctx, Params{}, true);
    round_output(l, *ctx);
    count_spikes(l, *ctx);
    forward_reads_done(l, *ctx);
  }
  contexts_.emplace(n, std::move(ctx));
}

template <typename T>
void BasicTaskEngine<T>::count_spikes(int layer, const Context& ctx) {
  const Layer& l = network_.layers[layer];
  // ReLU and flatten of spikes are the same spikes: counted once, at their source.
  if (!l.out_binary || !l.type->counts_spikes()) return;
  spikes_[layer].spikes += ops::count_nonzero<T>(ctx.out[layer]);
  spikes_[layer].elements += ctx.out[layer].size();
}

namespace {

template <typename T>
const ops::Mat<T>& tensor_of(const std::vector<ops::Mat<T>>& out, const ops::Mat<T>& input,
                             int layer) {
  return layer == models::kNetworkInput ? input : out[layer];
}

}  // namespace

template <typename T>
models::ForwardArgs<T> BasicTaskEngine<T>::forward_args(int layer, Context& ctx, bool train,
                                                        bool inputs) const {
  const Layer& l = network_.layers[layer];
  models::ForwardArgs<T> args;
  if (inputs) {
    for (int in : l.inputs) {
      args.x.push_back(&tensor_of(ctx.out, ctx.input, in));
      LPSIM_ASSERT(args.x.back()->rows() > 0, "input of " + l.name + " not produced yet");
    }
  }
  args.y = &ctx.out[layer];
  args.saved = &ctx.saved[layer];
  args.train = train;
  // A stream per (seed, layer, minibatch); evaluation batches use negative n.
  args.stream = mix_seed(settings_.seed ^ mix_seed(0x2000 + static_cast<std::uint64_t>(layer)) ^
                         mix_seed(0x40000000 + static_cast<std::uint64_t>(ctx.n)));
  return args;
}

// Runs a parameter-free layer, or a parametrised one with `params` (evaluation). The
// training forward of parametrised layers is TaskEngine::forward.
template <typename T>
void BasicTaskEngine<T>::forward_layer(int layer, Context& ctx, const Params& params,
                                       bool train) const {
  const Layer& l = network_.layers[layer];
  models::ForwardArgs<T> args = forward_args(layer, ctx, train);
  args.weight = &params.weight;
  args.bias = &params.bias;
  args.running_mean = &params.running_mean;
  args.running_var = &params.running_var;
  l.type->forward(l, args);
}

template <typename T>
void BasicTaskEngine<T>::forward(int unit, std::int64_t n) {
  const ops::ScopedAccumulateRule accumulator(accumulator_rule());
  UnitState& s = *state_[unit];
  Context& ctx = context(n, "F", unit);
  const bool no_update_yet = s.updates == 0 && n <= s.d;
  if (!no_update_yet && n != s.updates + s.d) {
    throw core::InternalError(where("F", unit, units_, n) + " needs weight version " +
                              std::to_string(n) + " but the layer holds version " +
                              std::to_string(s.updates + s.d) +
                              " (the forward pass must never see another version)");
  }
  // The weights this forward uses: W^(n), or the policy's prediction (ARCHITECTURE.md §2b).
  const Matrix* weight = &s.p.weight;
  const Vector* bias = &s.p.bias;
  Matrix predicted_w;
  Vector predicted_b;
  if (s.policy) {
    const double lr = learning_rate(settings_.optimizer, std::max<std::int64_t>(0, n - s.d),
                                    settings_.batches_per_epoch, settings_.total_minibatches);
    if (s.policy->forward_weights(s.view(), n, lr, predicted_w, predicted_b)) {
      weight = &predicted_w;
      bias = &predicted_b;
    }
    s.policy->forwarded(n, *weight, *bias);
  }
  if (s.keep_diagnostic) {
    s.diagnostic.push_back({n, s.p.weight, weight == &s.p.weight ? Matrix() : predicted_w});
  }
  const Layer& l = network_.layers[s.layer];
  models::ForwardArgs<T> args = forward_args(s.layer, ctx, true);
  Matrix wq;
  Vector bq;
  std::tie(args.weight, args.bias) = weights_read(weight, bias, s.layer, n, wq, bq);
  args.updated_mean = &s.p.running_mean;
  args.updated_var = &s.p.running_var;
  args.ws = &conv_ws_;
  l.type->forward(l, args);
  round_output(s.layer, ctx);
  drop_saved_if_recomputed(s.layer, ctx);
  forward_reads_done(s.layer, ctx);
  if (s.running_stats) {
    auto snap = s.snapshots.find(n + 1);
    if (snap != s.snapshots.end()) {
      snap->second.p.running_mean = s.p.running_mean;
      snap->second.p.running_var = s.p.running_var;
      snap->second.stats = true;
    }
  }
  for (int a : units_.units[unit].attached) {
    forward_layer(a, ctx, Params{}, true);
    round_output(a, ctx);
    count_spikes(a, ctx);
    drop_saved_if_recomputed(a, ctx);
    forward_reads_done(a, ctx);
  }
  task_done(n);
}

template <typename T>
void BasicTaskEngine<T>::add_gradient(Context& ctx, int layer, int contributor, Matrix grad) {
  if (layer == models::kNetworkInput) return;
  // §2d: a gradient as sent and read.
  round_class(grad, ops::TensorClass::kActivationGradients,
              tensor_id(ops::TensorClass::kActivationGradients, layer, contributor + 2), ctx.n);
  ctx.grads[layer].emplace_back(contributor, std::move(grad));
}

template <typename T>
typename BasicTaskEngine<T>::Matrix BasicTaskEngine<T>::take_gradient(Context& ctx, int layer) {
  auto& parts = ctx.grads[layer];
  std::size_t expected = 0;
  for (const auto& c : network_.layers) {
    for (int in : c.inputs) expected += in == layer ? 1 : 0;
  }
  if (parts.size() != expected) {
    throw core::InternalError("gradient of layer " + network_.layers[layer].name +
                              " for minibatch " + std::to_string(ctx.n) + " used with " +
                              std::to_string(parts.size()) + " of its " + std::to_string(expected) +
                              " contributions");
  }
  std::stable_sort(parts.begin(), parts.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  Matrix sum = std::move(parts[0].second);
  for (std::size_t i = 1; i < parts.size(); ++i) sum += parts[i].second;
  parts.clear();
  return sum;
}

template <typename T>
void BasicTaskEngine<T>::run_tail(int unit, Context& ctx, int stage) {
  const auto& attached = units_.units[unit].attached;
  for (auto it = attached.rbegin(); it != attached.rend(); ++it) {
    const int a = *it;
    const Layer& l = network_.layers[a];
    const Matrix dy = take_gradient(ctx, a);
    models::BackwardArgs<T> args;
    args.dy = &dy;
    for (int in : l.inputs) args.x.push_back(&backward_tensor(ctx, in, stage));
    args.y = &backward_tensor(ctx, a, stage);
    args.saved = &ctx.saved[a];
    args.ws = &conv_ws_;
    l.type->backward_input(l, args);
    ctx.saved[a].clear();
    LPSIM_ASSERT(args.dx.size() == l.inputs.size(), "one gradient per input of " + l.name);
    for (std::size_t j = 0; j < l.inputs.size(); ++j) {
      add_gradient(ctx, l.inputs[j], a, std::move(args.dx[j]));
    }
  }
  ctx.delta[unit] = take_gradient(ctx, units_.units[unit].layer);
  ctx.delta_ready[unit] = true;
}

template <typename T>
void BasicTaskEngine<T>::loss(std::int64_t n) {
  Context& ctx = context(n, "Loss", -1);
  const int last = num_stages_ - 1;
  if (recomputes(last)) check_rerun(last, ctx, "Loss", -1);
  const Layer& l = network_.layers[network_.loss];
  const Matrix& logits = backward_tensor(ctx, l.inputs[0], last);
  LPSIM_ASSERT(logits.rows() > 0, "logits of minibatch " + std::to_string(n) + " not produced");
  Matrix probs, dlogits;
  MinibatchResult r;
  r.loss = static_cast<double>(ops::softmax_cross_entropy_forward(logits, ctx.labels, probs));
  r.correct = ops::count_correct(Matrix(logits), ctx.labels);
  r.samples = static_cast<std::int64_t>(ctx.labels.size());
  ops::softmax_cross_entropy_backward(probs, ctx.labels, dlogits);
  add_gradient(ctx, l.inputs[0], network_.loss, std::move(dlogits));
  for (int u : tails_owned_by_loss_) run_tail(u, ctx, last);
  if (static_cast<std::int64_t>(results_.size()) <= n) results_.resize(n + 1);
  results_[n] = r;
  forward_reads_done(network_.loss, ctx);
  stage_task_done(last, ctx);
  task_done(n);
}

template <typename T>
void BasicTaskEngine<T>::backward_activation(int unit, std::int64_t m) {
  backward_activation_product(unit, m);
  backward_activation_tail(unit, m);
}

template <typename T>
void BasicTaskEngine<T>::backward_activation_tail(int unit, std::int64_t m) {
  const ops::ScopedAccumulateRule accumulator(accumulator_rule());
  Context& ctx = context(m, "Ba.tail", unit);
  if (!ctx.product_done[unit]) {
    throw core::InternalError(where("Ba.tail", unit, units_, m) + " before its matrix product");
  }
  for (int p : tails_owned_by_unit_[unit]) run_tail(p, ctx, state_[unit]->stage);
  stage_task_done(state_[unit]->stage, ctx);
  task_done(m);
}

template <typename T>
void BasicTaskEngine<T>::backward_activation_product(int unit, std::int64_t m) {
  const ops::ScopedAccumulateRule accumulator(accumulator_rule());
  LPSIM_ASSERT(has_backward_activation(unit), "unit has no Ba task");
  UnitState& s = *state_[unit];
  Context& ctx = context(m, "Ba", unit);
  if (!ctx.delta_ready[unit]) {
    throw core::InternalError(where("Ba", unit, units_, m) +
                              " before its output gradient is complete");
  }
  const Layer& l = network_.layers[s.layer];
  // The weight this product uses (ARCHITECTURE.md §2): the policy's; none for a kind whose
  // Ba does not read its weights (an embedding's).
  const bool reads_weights = l.type->backward_reads_weights();
  // Under recompute (§4c) the rerun made W_b and checked the version.
  const bool rerun = recomputes(s.stage);
  if (rerun) check_rerun(s.stage, ctx, "Ba", unit);
  if (!rerun && reads_weights && (!s.policy || s.policy->reads_current_at_backward()) &&
      s.updates != m) {
    throw core::InternalError(where("Ba", unit, units_, m) +
                              " must see W^(m+d): " + std::to_string(m) +
                              " updates applied, found " + std::to_string(s.updates));
  }
  Matrix scratch;
  const Matrix* used = !reads_weights ? nullptr
                       : rerun        ? &ctx.backward_w[unit]
                       : s.policy     ? &s.policy->backward_weight(s.view(), m, scratch)
                                      : &s.p.weight;
  // §2d: read in `weights` (a stash version or an EMA reconstruction is rounded again; the
  // rerun's W_b already was).
  Matrix used_q;
  if (used != nullptr && !rerun && !settings_.numerics.fp32(ops::TensorClass::kWeights)) {
    used_q = *used;
    round_class(used_q, ops::TensorClass::kWeights,
                tensor_id(ops::TensorClass::kWeights, s.layer, 0), m);
    used = &used_q;
  }
  if (s.keep_diagnostic) {
    // Consistency error (§2b): ||W_bwd - W_fwd(m)|| / ||W^(m+d) - W^(m)||.
    LPSIM_ASSERT(!s.diagnostic.empty() && s.diagnostic.front().m == m,
                 "diagnostic queue out of step");
    const auto& f = s.diagnostic.front();
    const double span = frobenius_distance(s.p.weight, f.version);
    if (span > 0.0) {
      const Matrix& fwd = f.used.size() > 0 ? f.used : f.version;
      s.recon.error_sum += frobenius_distance(*used, fwd) / span;
      ++s.recon.measured;
    }
  }
  const int in = l.inputs[0];
  if (in != models::kNetworkInput) {
    models::BackwardArgs<T> args;
    args.dy = &ctx.delta[unit];
    args.x.push_back(&backward_tensor(ctx, in, s.stage));
    args.y = &backward_tensor(ctx, s.layer, s.stage);
    args.saved = &ctx.saved[s.layer];
    args.weight = used;
    args.ws = &conv_ws_;
    l.type->backward_input(l, args);
    add_gradient(ctx, in, s.layer, std::move(args.dx.at(0)));
  }
  if (s.policy && reads_weights && !rerun) s.policy->backward_done(m);
  if (s.keep_diagnostic) s.diagnostic.pop_front();
  ctx.product_done[unit] = true;
  release_backward(unit, ctx);
  stage_task_done(s.stage, ctx);
}

template <typename T>
void BasicTaskEngine<T>::backward_weight(int unit, std::int64_t m) {
  const ops::ScopedAccumulateRule accumulator(accumulator_rule());
  UnitState& s = *state_[unit];
  Context& ctx = context(m, "Bw", unit);
  if (!ctx.delta_ready[unit]) {
    throw core::InternalError(where("Bw", unit, units_, m) +
                              " before its output gradient is complete");
  }
  if (recomputes(s.stage)) check_rerun(s.stage, ctx, "Bw", unit);
  const Layer& l = network_.layers[s.layer];
  models::WeightGradArgs<T> args;
  args.dy = &ctx.delta[unit];
  args.x = &backward_tensor(ctx, l.inputs[0], s.stage);
  args.saved = &ctx.saved[s.layer];
  args.ws = &conv_ws_;
  l.type->backward_weights(l, args);
  Matrix gw = std::move(args.gw);
  Vector gb = std::move(args.gb);
  if (!s.trains_bias) gb.setZero();
  // §2d: the weight gradient as the update reads it.
  round_class(gw, ops::TensorClass::kWeightGradients,
              tensor_id(ops::TensorClass::kWeightGradients, s.layer, 0), m);
  round_class(gb, ops::TensorClass::kWeightGradients,
              tensor_id(ops::TensorClass::kWeightGradients, s.layer, 1), m);
  s.pending.emplace(m, std::make_pair(std::move(gw), std::move(gb)));
  ctx.weight_done[unit] = true;
  release_backward(unit, ctx);
  stage_task_done(s.stage, ctx);
  task_done(m);
}

template <typename T>
void BasicTaskEngine<T>::update(int unit, std::int64_t m) {
  UnitState& s = *state_[unit];
  if (m != s.updates) {
    throw core::InternalError(where("U", unit, units_, m) +
                              " out of order: " + std::to_string(s.updates) + " updates applied");
  }
  auto it = s.pending.find(m);
  if (it == s.pending.end()) {
    throw core::InternalError(where("U", unit, units_, m) + " before its weight gradient");
  }
  const OptimizerSettings& opt = settings_.optimizer;
  const double rate =
      learning_rate(opt, m, settings_.batches_per_epoch, settings_.total_minibatches);
  const bool keep_before = s.policy && s.policy->wants_parameters_before_update();
  Matrix before_w;
  Vector before_b;
  if (keep_before) {
    before_w = s.p.weight;
    before_b = s.p.bias;
  }
  const bool trains_bias = s.trains_bias;
  if (opt.clip_norm > 0.0) clip_to_norm(opt.clip_norm, it->second.first, it->second.second);
  switch (opt.kind) {
    case ops::OptimizerKind::kSgd:
      update_sgd(s, it->second, static_cast<T>(rate), trains_bias);
      break;
    case ops::OptimizerKind::kAdamw:
      // §2c: t is this update's number, the same for the layer's weight and bias.
      ops::adamw_update(opt, rate, s.updates + 1, it->second.first, s.p.weight, s.momentum_w,
                        s.second_w);
      if (trains_bias) {
        ops::adamw_update(opt, rate, s.updates + 1, it->second.second, s.p.bias, s.momentum_b,
                          s.second_b);
      }
      break;
  }
  s.pending.erase(it);
  ++s.updates;
  round_master(s);
  if (s.policy) {
    s.policy->updated(s.view(), keep_before ? &before_w : nullptr,
                      keep_before ? &before_b : nullptr);
  }
  auto snap = s.snapshots.find(s.updates + s.d);
  if (snap != s.snapshots.end()) {
    snap->second.p.weight = s.p.weight;
    snap->second.p.bias = s.p.bias;
    snap->second.weights = true;
  }
}

// §2, and §2b's spike compensation: the gradient g (weight, bias) at rate lr.
template <typename T>
void BasicTaskEngine<T>::update_sgd(UnitState& s, const std::pair<Matrix, Vector>& g, T lr,
                                    bool trains_bias) const {
  const OptimizerSettings& opt = settings_.optimizer;
  const T mu = static_cast<T>(opt.momentum);
  const T wd = static_cast<T>(opt.weight_decay);
  if (settings_.spike_compensation && s.d > 0) {
    // §2b: q = g + wd·W, v = mu·v + q, W -= lr·(a·v + b·q), a = mu^d, b = sum_{k<d} mu^k.
    const SpikeCoefficients c = spike_coefficients(opt.momentum, s.d);
    const T a = static_cast<T>(c.a), b = static_cast<T>(c.b);
    Matrix q = g.first + wd * s.p.weight;
    s.momentum_w = mu * s.momentum_w + q;
    s.p.weight -= lr * (a * s.momentum_w + b * q);
    if (trains_bias) {
      Vector qb = g.second + wd * s.p.bias;
      s.momentum_b = mu * s.momentum_b + qb;
      s.p.bias -= lr * (a * s.momentum_b + b * qb);
    }
  } else {
    s.momentum_w = mu * s.momentum_w + g.first + wd * s.p.weight;
    s.p.weight -= lr * s.momentum_w;
    if (trains_bias) {
      s.momentum_b = mu * s.momentum_b + g.second + wd * s.p.bias;
      s.p.bias -= lr * s.momentum_b;
    }
  }
}

// Once Ba's product (when the unit has one) and Bw have both read them, the unit's output
// gradient and its layer's saved tensors are dead: freed before the minibatch retires.
template <typename T>
void BasicTaskEngine<T>::release_backward(int unit, Context& ctx) {
  if (!ctx.weight_done[unit] || (has_backward_activation(unit) && !ctx.product_done[unit])) return;
  ctx.delta[unit] = Matrix();
  ctx.saved[units_.units[unit].layer].clear();
}

template <typename T>
void BasicTaskEngine<T>::task_done(std::int64_t n) {
  auto it = contexts_.find(n);
  if (--it->second->remaining == 0) contexts_.erase(it);
}

template <typename T>
std::vector<BasicUnitParams<T>> BasicTaskEngine<T>::parameters() const {
  std::vector<Params> out;
  for (const auto& s : state_) out.push_back(s->p);
  return out;
}

template <typename T>
std::int64_t BasicTaskEngine<T>::updates_applied(int unit) const {
  return state_[unit]->updates;
}

template <typename T>
const std::pair<typename BasicTaskEngine<T>::Matrix, typename BasicTaskEngine<T>::Vector>&
BasicTaskEngine<T>::pending_gradient(int unit, std::int64_t m) const {
  auto it = state_[unit]->pending.find(m);
  LPSIM_ASSERT(it != state_[unit]->pending.end(), "no pending gradient for that minibatch");
  return it->second;
}

template <typename T>
const ReconstructionStats& BasicTaskEngine<T>::reconstruction(int unit) const {
  return state_[unit]->recon;
}

template <typename T>
std::size_t BasicTaskEngine<T>::minibatches_in_flight() const {
  return contexts_.size();
}

template <typename T>
bool BasicTaskEngine<T>::snapshot_ready(std::int64_t version) const {
  for (const auto& s : state_) {
    auto it = s->snapshots.find(version);
    if (it == s->snapshots.end() || !it->second.weights || !it->second.stats) return false;
  }
  return true;
}

template <typename T>
EvalResult BasicTaskEngine<T>::evaluate(const Matrix& images,
                                        const std::vector<std::int32_t>& labels,
                                        std::optional<std::int64_t> version,
                                        std::int64_t batch) const {
  const ops::ScopedAccumulateRule accumulator(accumulator_rule());
  LPSIM_ASSERT(!version || snapshot_ready(*version), "evaluation snapshot not complete");
  LPSIM_ASSERT(batch >= 1, "batch >= 1");
  std::vector<const Params*> params(state_.size());
  for (std::size_t u = 0; u < state_.size(); ++u) {
    params[u] = version ? &state_[u]->snapshots.at(*version).p : &state_[u]->p;
  }
  const EvalResult running = score(images, labels, params, batch);
  if (precise_bn_minibatches_ == 0) return running;
  const std::vector<Params> precise = precise_bn_params(params);
  std::vector<const Params*> precise_ptrs(precise.size());
  for (std::size_t u = 0; u < precise.size(); ++u) precise_ptrs[u] = &precise[u];
  EvalResult r = score(images, labels, precise_ptrs, batch);
  r.precise_bn = true;
  r.running_stats_loss = running.loss;
  r.running_stats_accuracy = running.accuracy;
  return r;
}

template <typename T>
void BasicTaskEngine<T>::set_precise_bn(const Matrix* images, std::int64_t minibatches,
                                        std::int64_t batch) {
  LPSIM_ASSERT(minibatches == 0 ||
                   (images != nullptr && batch >= 1 && minibatches * batch <= images->rows()),
               "precise BN needs minibatches x batch <= the training samples");
  precise_bn_images_ = images;
  precise_bn_minibatches_ = minibatches;
  precise_bn_batch_ = batch;
}

template <typename T>
std::vector<typename BasicTaskEngine<T>::Params> BasicTaskEngine<T>::precise_bn_params(
    const std::vector<const Params*>& params) const {
  std::vector<Params> out(params.size());
  for (std::size_t u = 0; u < params.size(); ++u) out[u] = *params[u];
  // The mean of each batch statistic over the minibatches (in double): update_bn's
  // cumulative average (momentum=None).
  std::vector<std::pair<Eigen::VectorXd, Eigen::VectorXd>> sums(params.size());
  for (std::size_t u = 0; u < params.size(); ++u) {
    sums[u].first = Eigen::VectorXd::Zero(params[u]->running_mean.size());
    sums[u].second = Eigen::VectorXd::Zero(params[u]->running_var.size());
  }
  const std::int64_t b = precise_bn_batch_;
  for (std::int64_t k = 0; k < precise_bn_minibatches_; ++k) {
    std::vector<std::pair<Vector, Vector>> stats;
    evaluation_logits(precise_bn_images_->middleRows(k * b, b), kPreciseBnStream - k, params,
                      &stats);
    for (std::size_t u = 0; u < params.size(); ++u) {
      if (stats[u].first.size() == 0) continue;
      sums[u].first += stats[u].first.template cast<double>();
      sums[u].second += stats[u].second.template cast<double>();
    }
  }
  const auto k = static_cast<double>(precise_bn_minibatches_);
  for (std::size_t u = 0; u < params.size(); ++u) {
    if (out[u].running_mean.size() == 0) continue;
    out[u].running_mean = (sums[u].first / k).template cast<T>();
    out[u].running_var = (sums[u].second / k).template cast<T>();
  }
  return out;
}

template <typename T>
EvalResult BasicTaskEngine<T>::score(const Matrix& images, const std::vector<std::int32_t>& labels,
                                     const std::vector<const Params*>& params,
                                     std::int64_t batch) const {
  const std::int64_t total = images.rows();
  // A token model has a label per position: the loss and the accuracy are per token.
  const std::int64_t per = network_.labels_per_sample;
  LPSIM_ASSERT(static_cast<std::int64_t>(labels.size()) == total * per, "labels per sample");
  // `batch` rows of labels at a time (it bounds the memory, not the result).
  batch = std::max<std::int64_t>(1, batch / per);
  double loss_sum = 0.0;
  std::int64_t correct = 0;
  for (std::int64_t start = 0; start < total; start += batch) {
    const std::int64_t b = std::min(batch, total - start);
    const std::vector<std::int32_t> batch_labels(labels.begin() + start * per,
                                                 labels.begin() + (start + b) * per);
    // n = -1 - start: the Poisson encoders' evaluation streams.
    const Matrix logits = evaluation_logits(images.middleRows(start, b), -1 - start, params);
    Matrix probs;
    loss_sum +=
        static_cast<double>(ops::softmax_cross_entropy_forward(logits, batch_labels, probs)) *
        static_cast<double>(b * per);
    correct += ops::count_correct(logits, batch_labels);
  }
  EvalResult r;
  if (total > 0) {
    r.loss = loss_sum / static_cast<double>(total * per);
    r.accuracy = static_cast<double>(correct) / static_cast<double>(total * per);
  }
  return r;
}

template <typename T>
typename BasicTaskEngine<T>::Matrix BasicTaskEngine<T>::evaluation_logits(
    const Matrix& images, std::int64_t n, const std::vector<const Params*>& params,
    std::vector<std::pair<Vector, Vector>>* batch_stats) const {
  const bool train = batch_stats != nullptr;
  if (train) batch_stats->assign(params.size(), {});
  Context ctx;
  ctx.input = images;
  ctx.n = n;
  if (!network_.token_input) {
    round_class(ctx.input, ops::TensorClass::kActivations,
                tensor_id(ops::TensorClass::kActivations, -1, 0), n);
  }
  ctx.out.resize(network_.layers.size());
  ctx.saved.resize(network_.layers.size());
  const Params none;
  for (std::size_t i = 0; i < network_.layers.size(); ++i) {
    const int li = static_cast<int>(i);
    if (li == network_.loss) continue;
    const int u = units_.unit_of_layer[i];
    const Layer& l = network_.layers[i];
    const bool param = l.has_params();
    const Params* p = param ? params[u] : &none;
    Params q;
    if (param && !settings_.numerics.fp32(ops::TensorClass::kWeights)) {
      // §2d: inference reads the weights in `weights` too.
      q = *params[u];
      round_class(q.weight, ops::TensorClass::kWeights,
                  tensor_id(ops::TensorClass::kWeights, li, 0), n);
      round_class(q.bias, ops::TensorClass::kWeights, tensor_id(ops::TensorClass::kWeights, li, 1),
                  n);
      p = &q;
    }
    if (train && param && p->running_mean.size() > 0) {
      // The layer's batch statistics: running statistics updated from zero by one batch are
      // momentum x (the mean, the unbiased variance).
      Vector mean = Vector::Zero(p->running_mean.size());
      Vector var = Vector::Zero(p->running_var.size());
      models::ForwardArgs<T> args = forward_args(li, ctx, true);
      args.weight = &p->weight;
      args.bias = &p->bias;
      args.updated_mean = &mean;
      args.updated_var = &var;
      l.type->forward(l, args);
      const auto m = static_cast<T>(ops::kBatchNormMomentum);
      (*batch_stats)[u] = {mean / m, var / m};
    } else {
      forward_layer(li, ctx, *p, train);
    }
    round_output(li, ctx);
    // A training-mode forward's saved tensors: no backward reads them.
    if (train) ctx.saved[i] = {};
  }
  return tensor_of(ctx.out, ctx.input, network_.layers[network_.loss].inputs[0]);
}

template <typename T>
typename BasicTaskEngine<T>::Matrix BasicTaskEngine<T>::predict(const Matrix& images) const {
  const ops::ScopedAccumulateRule accumulator(accumulator_rule());
  LPSIM_ASSERT(images.cols() == network_.input_shape.size(), "input width");
  std::vector<const Params*> params(state_.size());
  for (std::size_t u = 0; u < state_.size(); ++u) params[u] = &state_[u]->p;
  return evaluation_logits(images, -1, params);
}

template std::vector<BasicUnitParams<float>> initial_parameters<float>(const models::Network&,
                                                                       const models::UnitGraph&,
                                                                       std::uint64_t);
template std::vector<BasicUnitParams<double>> initial_parameters<double>(const models::Network&,
                                                                         const models::UnitGraph&,
                                                                         std::uint64_t);

// Every member but save_state and load_state (engine_state.cpp instantiates those).
template class BasicTaskEngine<float>;
template class BasicTaskEngine<double>;

}  // namespace lpsim::reference
