// ARCHITECTURE.md §4c in the reference engine: a stage that recomputes its activations trains
// bit for bit as `keep` under sync and stash; under the other policies it follows the rule
// (rerun from the stage's inputs with the backward's weights W_b, weight and bias; Ba and Bw on
// the rerun's tensors) as an independent float64 computation of it does; and its state, saved
// with reruns held mid-beat, loads into a fresh engine that trains on to the same bits.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "workloads/data/sampler.h"
#include "workloads/data/synthetic.h"
#include "workloads/models/builtin.h"
#include "workloads/models/network.h"
#include "workloads/reference/engine.h"
#include "workloads/reference/trainer.h"

namespace lpsim::reference::recompute_test {
namespace {

// ---------------------------------------------------------------------------------------------
// Driving an engine in the reference trainer's order (trainer.cpp), one task at a time.

template <typename T>
using Batches = std::function<std::pair<ops::Mat<T>, std::vector<std::int32_t>>(std::int64_t)>;
template <typename T>
using Task = std::function<void(BasicTaskEngine<T>&)>;

int stages_of(const EngineSettings& es) {
  int k = 1;
  for (int s : es.stage_of_unit) k = std::max(k, s + 1);
  return k;
}

bool recomputes(const EngineSettings& es, int stage) {
  return !es.recompute_stage.empty() && es.recompute_stage[static_cast<std::size_t>(stage)];
}

std::int64_t beats(const EngineSettings& es, std::int64_t total) {
  return total + *std::max_element(es.delays.begin(), es.delays.end());
}

// Beat n of train_reference: F(n) of every unit, the last stage's rerun and the loss; then per
// unit in reverse order (a recomputing stage's rerun before its first backward task) Ba, Bw and
// U of minibatch n - d_u.
template <typename T>
std::vector<Task<T>> beat_tasks(const EngineSettings& es, std::int64_t n, std::int64_t total,
                                const Batches<T>& batches) {
  const int nu = static_cast<int>(es.delays.size());
  const int last = stages_of(es) - 1;
  std::vector<Task<T>> tasks;
  if (n < total) {
    tasks.push_back([n, &batches](BasicTaskEngine<T>& e) {
      auto [x, y] = batches(n);
      e.load(n, std::move(x), std::move(y));
    });
    for (int u = 0; u < nu; ++u)
      tasks.push_back([u, n](BasicTaskEngine<T>& e) { e.forward(u, n); });
    if (recomputes(es, last)) {
      tasks.push_back([last, n](BasicTaskEngine<T>& e) { e.recompute(last, n); });
    }
    tasks.push_back([n](BasicTaskEngine<T>& e) { e.loss(n); });
  }
  for (int u = nu - 1; u >= 0; --u) {
    const std::int64_t m = n - es.delays[u];
    if (m < 0 || m >= total) continue;
    const int st = es.stage_of_unit[u];
    const bool stage_begins = u == nu - 1 || es.stage_of_unit[u + 1] != st;
    if (st != last && stage_begins && recomputes(es, st)) {
      tasks.push_back([st, m](BasicTaskEngine<T>& e) { e.recompute(st, m); });
    }
    tasks.push_back([u, m](BasicTaskEngine<T>& e) {
      if (e.has_backward_activation(u)) e.backward_activation(u, m);
    });
    tasks.push_back([u, m](BasicTaskEngine<T>& e) { e.backward_weight(u, m); });
    tasks.push_back([u, m](BasicTaskEngine<T>& e) { e.update(u, m); });
  }
  return tasks;
}

template <typename T>
struct Trained {
  std::vector<BasicUnitParams<T>> params;
  std::vector<MinibatchResult> results;  // per minibatch
};

template <typename T>
Trained<T> train(const models::Network& net, const models::UnitGraph& units,
                 const EngineSettings& es, std::vector<BasicUnitParams<T>> init, std::int64_t total,
                 const Batches<T>& batches) {
  BasicTaskEngine<T> e(net, units, es, std::move(init));
  for (std::int64_t n = 0; n < beats(es, total); ++n) {
    for (const Task<T>& task : beat_tasks(es, n, total, batches)) task(e);
  }
  EXPECT_EQ(e.minibatches_in_flight(), 0u);
  return {e.parameters(), e.minibatch_results()};
}

template <typename M>
bool same_bits(const M& a, const M& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         (a.size() == 0 ||
          std::memcmp(a.data(), b.data(),
                      sizeof(typename M::Scalar) * static_cast<std::size_t>(a.size())) == 0);
}

// Weights, biases and batch-norm running statistics, bit for bit.
template <typename T>
::testing::AssertionResult same_parameters(const std::vector<BasicUnitParams<T>>& a,
                                           const std::vector<BasicUnitParams<T>>& b) {
  if (a.size() != b.size()) return ::testing::AssertionFailure() << "unit counts differ";
  for (std::size_t u = 0; u < a.size(); ++u) {
    if (!same_bits(a[u].weight, b[u].weight)) {
      return ::testing::AssertionFailure() << "unit " << u << ": weights differ";
    }
    if (!same_bits(a[u].bias, b[u].bias)) {
      return ::testing::AssertionFailure() << "unit " << u << ": biases differ";
    }
    if (!same_bits(a[u].running_mean, b[u].running_mean) ||
        !same_bits(a[u].running_var, b[u].running_var)) {
      return ::testing::AssertionFailure() << "unit " << u << ": running statistics differ";
    }
  }
  return ::testing::AssertionSuccess();
}

// ---------------------------------------------------------------------------------------------
// 1. Under sync and stash, W_b is the weight the forward used: recompute is keep, bit for bit.

struct Case {
  models::Network net;
  models::UnitGraph units;
  data::Dataset train, test;
};

Case make_case(models::Network net, const ops::Shape& shape, std::int64_t train_count) {
  data::SyntheticSpec spec;
  spec.sample_shape = shape;
  spec.num_classes = 10;
  spec.train_count = train_count;
  spec.test_count = 24;
  spec.seed = 5;
  Case c{std::move(net),
         {},
         data::make_synthetic(spec, data::Split::kTrain),
         data::make_synthetic(spec, data::Split::kTest)};
  c.units = models::group_units(c.net);
  return c;
}

// A residual CNN with batch norm, small enough for a unit test. Units: c1, bn1 (+ r1), c2,
// bn2 (+ sum, r2), c3 (+ r3, pool, flat), fc; the add reads r1 (bn1's unit) and bn2.
models::Network residual_cnn() {
  return models::parse_network(core::Json::parse(R"({"name": "recompute_resnet",
    "input": {"shape": [1, 14, 14]}, "layers": [
      {"name": "c1", "type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1,
       "bias": false},
      {"name": "bn1", "type": "batchnorm2d"},
      {"name": "r1", "type": "relu"},
      {"name": "c2", "type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1,
       "bias": false},
      {"name": "bn2", "type": "batchnorm2d"},
      {"name": "sum", "type": "add", "inputs": ["r1", "bn2"]},
      {"name": "r2", "type": "relu"},
      {"name": "c3", "type": "conv2d", "out_channels": 8, "kernel_size": 3, "stride": 2,
       "padding": 1},
      {"name": "r3", "type": "relu"},
      {"name": "pool", "type": "maxpool2d", "kernel_size": 2},
      {"name": "flat", "type": "flatten"},
      {"name": "fc", "type": "linear", "out_features": 10},
      {"name": "loss", "type": "softmax_cross_entropy"}]})"),
                               "recompute_resnet");
}

TrainerSettings trainer_settings(const char* policy, std::vector<int> stage_of_unit) {
  TrainerSettings s;
  s.policy = &policies::get(policy);
  s.num_stages = 1 + *std::max_element(stage_of_unit.begin(), stage_of_unit.end());
  s.stage_of_unit = std::move(stage_of_unit);
  s.batch_size = 8;
  s.epochs = 2;  // the first epoch's end evaluates a snapshot
  s.optimizer.lr = 0.02;
  s.optimizer.momentum = 0.9;
  s.optimizer.weight_decay = 1e-3;
  s.seed = 3;
  return s;
}

// The reference trainer with `recompute` against it with every stage keeping: final parameters,
// running statistics and epoch results; and the per-minibatch losses through the beat driver
// (checked to train as the trainer does).
void expect_recompute_is_keep(const Case& c, TrainerSettings s, const std::vector<bool>& recompute,
                              bool expect_equal = true) {
  std::string label = s.policy->name + ", stages {";
  for (int st : s.stage_of_unit) label += std::to_string(st);
  label += "}, recompute {";
  for (bool r : recompute) label += r ? "1" : "0";
  SCOPED_TRACE(label + "}");
  const auto init = initial_parameters(c.net, c.units, 11);
  s.recompute_stage.clear();
  const TrainingResult keep = train_reference(c.net, c.units, s, init, c.train, c.test);
  s.recompute_stage = recompute;
  const TrainingResult again = train_reference(c.net, c.units, s, init, c.train, c.test);
  if (!expect_equal) {
    EXPECT_FALSE(same_parameters(keep.final_params, again.final_params));
    return;
  }
  EXPECT_TRUE(same_parameters(keep.final_params, again.final_params));
  ASSERT_EQ(keep.epochs.size(), again.epochs.size());
  for (std::size_t e = 0; e < keep.epochs.size(); ++e) {
    EXPECT_EQ(keep.epochs[e].train_loss, again.epochs[e].train_loss) << e;
    EXPECT_EQ(keep.epochs[e].train_accuracy, again.epochs[e].train_accuracy) << e;
    EXPECT_EQ(keep.epochs[e].test_loss, again.epochs[e].test_loss) << e;
  }

  const data::BatchSampler sampler(c.train.size(), s.batch_size, s.shuffle, s.seed);
  const std::int64_t total = sampler.batches_per_epoch() * s.epochs;
  const Batches<float> batches = [&](std::int64_t n) {
    data::Batch b = data::gather(c.train, sampler.minibatch(n));
    return std::make_pair(std::move(b.images), std::move(b.labels));
  };
  const int nu = static_cast<int>(c.units.units.size());
  s.recompute_stage.clear();
  const Trained<float> keep_beats =
      train<float>(c.net, c.units, engine_settings(s, nu, sampler.batches_per_epoch(), total), init,
                   total, batches);
  s.recompute_stage = recompute;
  const Trained<float> again_beats =
      train<float>(c.net, c.units, engine_settings(s, nu, sampler.batches_per_epoch(), total), init,
                   total, batches);
  EXPECT_TRUE(same_parameters(again_beats.params, again.final_params));  // the trainer's order
  ASSERT_EQ(keep_beats.results.size(), static_cast<std::size_t>(total));
  ASSERT_EQ(again_beats.results.size(), static_cast<std::size_t>(total));
  std::int64_t first_other = -1;  // the first minibatch whose loss or accuracy differs
  for (std::int64_t n = total - 1; n >= 0; --n) {
    if (keep_beats.results[n].loss != again_beats.results[n].loss ||
        keep_beats.results[n].correct != again_beats.results[n].correct) {
      first_other = n;
    }
  }
  EXPECT_EQ(first_other, -1) << "per-minibatch losses differ";
}

TEST(RecomputeIdentity, Mlp3UnderSyncAndStashTrainsAsKeepBitForBit) {
  const Case c = make_case(models::builtin_model("mlp3"), {1, 28, 28}, 48);  // 2 x 6 minibatches
  expect_recompute_is_keep(c, trainer_settings("sync", {0, 0, 0}), {true});
  // fc1, fc2 (and relu1, which fc2's Ba runs) in stage 0; relu2 goes with fc3 and the loss.
  expect_recompute_is_keep(c, trainer_settings("stash", {0, 0, 1}), {true, true});
  expect_recompute_is_keep(c, trainer_settings("stash", {0, 0, 1}), {true, false});
  expect_recompute_is_keep(c, trainer_settings("stash", {0, 1, 2}), {true, true, true});
  expect_recompute_is_keep(c, trainer_settings("stash", {0, 1, 2}), {false, true, false});
  // The rerun really happens: under none its W^(m+d) gives other tensors than the forward's.
  expect_recompute_is_keep(c, trainer_settings("none", {0, 0, 1}), {true, false}, false);
}

TEST(RecomputeIdentity, ResidualCnnWithBatchNormUnderSyncAndStashTrainsAsKeepBitForBit) {
  const Case c = make_case(residual_cnn(), {1, 14, 14}, 48);
  ASSERT_EQ(c.units.units.size(), 6u);
  ASSERT_EQ(c.units.units[1].name, "bn1");
  ASSERT_EQ(c.units.units[3].name, "bn2");
  // Stages {c1, bn1}, {c2, bn2}, {c3, fc}: r1 (computed in stage 0, its backward in stage 1's
  // c2) feeds the add whose backward is stage 2's; each stage holds two units.
  const std::vector<int> three = {0, 0, 1, 1, 2, 2};
  expect_recompute_is_keep(c, trainer_settings("sync", {0, 0, 0, 0, 0, 0}), {true});
  expect_recompute_is_keep(c, trainer_settings("stash", three), {true, true, true});
  expect_recompute_is_keep(c, trainer_settings("stash", three), {true, false, true});
  expect_recompute_is_keep(c, trainer_settings("stash", three), {false, true, false});
  // {c2, bn2, c3}: stage 1 reruns r1 (from bn1's output, kept), c2, bn2, the add and r2, so
  // bn2's beta (W_b's bias) reaches c3's Bw.
  expect_recompute_is_keep(c, trainer_settings("stash", {0, 0, 1, 1, 1, 2}), {true, true, false});
  expect_recompute_is_keep(c, trainer_settings("stash", {0, 1, 2, 3, 4, 5}),
                           std::vector<bool>(6, true));
  expect_recompute_is_keep(c, trainer_settings("none", three), {true, true, true}, false);
}

// ---------------------------------------------------------------------------------------------
// 2. The rule under every pipelined policy, against a float64 computation written from
// ARCHITECTURE.md §2, §2b and §4c that uses neither the engine, nor the layer kernels, nor the
// policies: an MLP 12-10-8-6-4 with ReLU after every hidden layer.

using MatD = ops::Mat<double>;
using VecD = ops::Vec<double>;

constexpr std::int64_t kMinibatches = 10;
constexpr std::int64_t kBatch = 4;
constexpr int kClasses = 4;
constexpr double kLr = 0.05, kMomentum = 0.9, kDecay = 1e-3;

models::Network tiny_mlp() {
  return models::parse_network(core::Json::parse(R"({"name": "tiny_mlp",
    "input": {"shape": [12]}, "layers": [
      {"name": "fc1", "type": "linear", "out_features": 10}, {"name": "relu1", "type": "relu"},
      {"name": "fc2", "type": "linear", "out_features": 8}, {"name": "relu2", "type": "relu"},
      {"name": "fc3", "type": "linear", "out_features": 6}, {"name": "relu3", "type": "relu"},
      {"name": "fc4", "type": "linear", "out_features": 4},
      {"name": "loss", "type": "softmax_cross_entropy"}]})"),
                               "tiny_mlp");
}

std::pair<MatD, std::vector<std::int32_t>> tiny_batch(std::int64_t n) {
  MatD x(kBatch, 12);
  std::vector<std::int32_t> y(kBatch);
  for (Eigen::Index i = 0; i < kBatch; ++i) {
    for (Eigen::Index j = 0; j < 12; ++j) {
      x(i, j) = std::sin(0.7 * static_cast<double>(n + 1) + 1.3 * static_cast<double>(i) +
                         0.37 * static_cast<double>(j * j));
    }
    y[static_cast<std::size_t>(i)] = static_cast<std::int32_t>((3 * n + 5 * i) % kClasses);
  }
  return {x, y};
}

struct PlainResult {
  std::vector<MatD> w;
  std::vector<VecD> b;
  std::vector<double> loss;  // per minibatch
};

// The float64 computation. Layer l: h_l = a_{l-1}·W_lᵀ + b_l (a_{-1} the input), a_l = relu(h_l)
// but the last; loss the batch mean of softmax cross-entropy. Stage s(l), d_l = 2·(K-1-s(l)).
// relu_l's backward runs in fc_{l+1}'s Ba, so it belongs to stage s(l+1). Beat n: the forward of
// n with W^(n) (lwp, ema_lwp: the prediction), the loss; then for l = L-1..0, m = n - d_l: at
// the first backward task of a stage (its top layer), W_b of each of its layers and, when the
// stage recomputes, the rerun of relu_{l-1} (when it belongs to the stage) and fc_l for its
// layers in order, with W_b, from what the context holds; Ba_l (delta_l·W_b, then relu_{l-1}'s
// mask), Bw_l, U_l: v = mu·v + g + wd·W, W -= lr·v for weights and biases.
class PlainMlp {
 public:
  PlainMlp(std::string policy, std::vector<int> stage, std::vector<bool> recompute,
           const std::vector<BasicUnitParams<double>>& init)
      : policy_(std::move(policy)), stage_(std::move(stage)), recompute_(std::move(recompute)) {
    const int k = 1 + *std::max_element(stage_.begin(), stage_.end());
    if (recompute_.empty()) recompute_.assign(static_cast<std::size_t>(k), false);
    for (std::size_t l = 0; l < init.size(); ++l) {
      Layer y;
      y.w = init[l].weight;
      y.b = init[l].bias;
      y.vw = MatD::Zero(y.w.rows(), y.w.cols());
      y.vb = VecD::Zero(y.b.size());
      y.d = 2 * (k - 1 - stage_[l]);
      // ema_grad, ema_lwp: ū = 0; ema_weight: W̄ = W^(0).
      const bool mean_of_weights = policy_ == "ema_weight";
      y.ew = mean_of_weights ? y.w : MatD::Zero(y.w.rows(), y.w.cols());
      y.eb = mean_of_weights ? y.b : VecD::Zero(y.b.size());
      layers_.push_back(y);
    }
  }

  PlainResult run() {
    const int nl = static_cast<int>(layers_.size());
    std::int64_t max_d = 0;
    for (const Layer& y : layers_) max_d = std::max(max_d, y.d);
    for (std::int64_t n = 0; n < kMinibatches + max_d; ++n) {
      if (n < kMinibatches) {
        forward(n);
        stage_begins(stage_[nl - 1], n);
        loss(n);
      }
      for (int l = nl - 1; l >= 0; --l) {
        const std::int64_t m = n - layers_[l].d;
        if (m < 0 || m >= kMinibatches) continue;
        if (l != nl - 1 && stage_[l + 1] != stage_[l]) stage_begins(stage_[l], m);
        backward(l, m);
        if (l == 0) contexts_.erase(m);
      }
    }
    PlainResult r;
    for (const Layer& y : layers_) {
      r.w.push_back(y.w);
      r.b.push_back(y.b);
    }
    r.loss = losses_;
    return r;
  }

 private:
  struct Layer {
    MatD w, vw, ew;  // weight, momentum, the policy's EMA (ū or W̄)
    VecD b, vb, eb;
    std::int64_t d = 0;
    std::int64_t updates = 0;
  };
  struct Context {
    MatD x;
    std::vector<std::int32_t> y;
    std::vector<MatD> h, a, delta, wf, wb;  // per layer; wf, bf: what the forward used
    std::vector<VecD> bf, bb;
  };

  static MatD linear(const MatD& in, const MatD& w, const VecD& b) {
    MatD h = in * w.transpose();
    h.rowwise() += b.transpose();
    return h;
  }
  static MatD relu(const MatD& h) { return h.cwiseMax(0.0); }
  // ema_grad's (and ema_lwp's) step: c / (1 - (1-α)^t), α = 2/(d+1), c = min(d, t).
  static double ema_scale(std::int64_t d, std::int64_t t) {
    const double alpha = 2.0 / static_cast<double>(d + 1);
    return static_cast<double>(std::min(d, t)) /
           (1.0 - std::pow(1.0 - alpha, static_cast<double>(t)));
  }

  void forward(std::int64_t n) {
    const int nl = static_cast<int>(layers_.size());
    Context& c = contexts_[n];
    std::tie(c.x, c.y) = tiny_batch(n);
    c.h.resize(nl);
    c.a.resize(nl);
    c.delta.resize(nl);
    c.wf.resize(nl);
    c.bf.resize(nl);
    c.wb.resize(nl);
    c.bb.resize(nl);
    for (int l = 0; l < nl; ++l) {
      const Layer& y = layers_[l];
      c.wf[l] = y.w;
      c.bf[l] = y.b;
      if (y.d > 0 && y.updates > 0 && policy_ == "lwp") {  // §2b: W^(n) - lr·d·v
        c.wf[l] = y.w - kLr * static_cast<double>(y.d) * y.vw;
        c.bf[l] = y.b - kLr * static_cast<double>(y.d) * y.vb;
      } else if (y.d > 0 && y.updates > 0 && policy_ == "ema_lwp") {  // W^(n) - c·ū/(1-(1-α)^t)
        c.wf[l] = y.w - ema_scale(y.d, y.updates) * y.ew;
        c.bf[l] = y.b - ema_scale(y.d, y.updates) * y.eb;
      }
      c.h[l] = linear(l == 0 ? c.x : c.a[l - 1], c.wf[l], c.bf[l]);
      if (l + 1 < nl) c.a[l] = relu(c.h[l]);
    }
  }

  void loss(std::int64_t n) {
    Context& c = contexts_.at(n);
    const MatD& z = c.h.back();
    MatD dz(z.rows(), z.cols());
    double total = 0.0;
    for (Eigen::Index i = 0; i < z.rows(); ++i) {
      const double top = z.row(i).maxCoeff();
      const Eigen::RowVectorXd e = (z.row(i).array() - top).exp().matrix();
      const double sum = e.sum();
      const std::int32_t label = c.y[static_cast<std::size_t>(i)];
      total += std::log(sum) - (z(i, label) - top);
      dz.row(i) = e / sum;
      dz(i, label) -= 1.0;
    }
    dz /= static_cast<double>(z.rows());
    losses_.push_back(total / static_cast<double>(z.rows()));
    c.delta.back() = dz;
  }

  // W_b of each layer of stage s for minibatch m (§2, §4c), and the rerun when s recomputes.
  void stage_begins(int s, std::int64_t m) {
    const int nl = static_cast<int>(layers_.size());
    Context& c = contexts_.at(m);
    for (int l = 0; l < nl; ++l) {
      if (stage_[l] != s) continue;
      const Layer& y = layers_[l];
      c.wb[l] = y.w;  // none, lwp, ema_lwp, and every layer with d = 0: W^(m+d)
      c.bb[l] = y.b;
      if (y.d == 0) continue;
      if (policy_ == "stash") {
        c.wb[l] = c.wf[l];
        c.bb[l] = c.bf[l];
      } else if (policy_ == "ema_weight") {
        c.wb[l] = y.ew;
        c.bb[l] = y.eb;
      } else if (policy_ == "ema_grad" && y.updates > 0) {
        c.wb[l] = y.w + ema_scale(y.d, y.updates) * y.ew;
        c.bb[l] = y.b + ema_scale(y.d, y.updates) * y.eb;
      }
    }
    if (!recompute_[static_cast<std::size_t>(s)]) return;
    for (int l = 0; l < nl; ++l) {
      if (stage_[l] != s) continue;
      if (l > 0) c.a[l - 1] = relu(c.h[l - 1]);  // relu_{l-1}: fc_l's Ba runs its backward
      c.h[l] = linear(l == 0 ? c.x : c.a[l - 1], c.wb[l], c.bb[l]);
    }
  }

  void backward(int l, std::int64_t m) {
    Context& c = contexts_.at(m);
    const MatD& in = l == 0 ? c.x : c.a[l - 1];
    if (l > 0) {  // Ba with W_b, then relu_{l-1}'s mask
      const MatD da = c.delta[l] * c.wb[l];
      c.delta[l - 1] = (da.array() * (c.a[l - 1].array() > 0.0).cast<double>()).matrix();
    }
    const MatD gw = c.delta[l].transpose() * in;
    const VecD gb = c.delta[l].colwise().sum().transpose();
    Layer& y = layers_[l];
    const MatD before_w = y.w;
    const VecD before_b = y.b;
    y.vw = kMomentum * y.vw + gw + kDecay * y.w;
    y.w -= kLr * y.vw;
    y.vb = kMomentum * y.vb + gb + kDecay * y.b;
    y.b -= kLr * y.vb;
    ++y.updates;
    if (y.d == 0) return;
    if (policy_ == "ema_grad" || policy_ == "ema_lwp") {  // ū ← (1-α)·ū + α·(W^(k) - W^(k+1))
      const double alpha = 2.0 / static_cast<double>(y.d + 1);
      y.ew = (1.0 - alpha) * y.ew + alpha * (before_w - y.w);
      y.eb = (1.0 - alpha) * y.eb + alpha * (before_b - y.b);
    } else if (policy_ == "ema_weight") {  // W̄ ← β·W̄ + (1-β)·W, β = d/(d+1)
      const double beta = static_cast<double>(y.d) / static_cast<double>(y.d + 1);
      y.ew = beta * y.ew + (1.0 - beta) * y.w;
      y.eb = beta * y.eb + (1.0 - beta) * y.b;
    }
  }

  std::string policy_;
  std::vector<int> stage_;
  std::vector<bool> recompute_;
  std::vector<Layer> layers_;
  std::map<std::int64_t, Context> contexts_;
  std::vector<double> losses_;
};

// max |a - b| / max |b| over one tensor (0 for an empty or all-zero b with a == b).
template <typename M>
double relative_difference(const M& a, const M& b) {
  EXPECT_EQ(a.size(), b.size());
  if (a.size() != b.size() || a.size() == 0) return 0.0;
  const double scale = b.cwiseAbs().maxCoeff();
  const double diff = (a - b).cwiseAbs().maxCoeff();
  return scale > 0.0 ? diff / scale : diff;
}

double max_relative_difference(const std::vector<BasicUnitParams<double>>& engine,
                               const PlainResult& plain) {
  double worst = 0.0;
  for (std::size_t l = 0; l < engine.size(); ++l) {
    worst = std::max(worst, relative_difference(engine[l].weight, plain.w[l]));
    worst = std::max(worst, relative_difference(engine[l].bias, plain.b[l]));
  }
  return worst;
}

double max_loss_difference(const std::vector<MinibatchResult>& engine, const PlainResult& plain) {
  EXPECT_EQ(engine.size(), plain.loss.size());
  double worst = 0.0;
  for (std::size_t n = 0; n < std::min(engine.size(), plain.loss.size()); ++n) {
    worst = std::max(worst, std::abs(engine[n].loss - plain.loss[n]) / std::abs(plain.loss[n]));
  }
  return worst;
}

struct Partition {
  const char* name;
  std::vector<int> stage_of_unit;
  std::vector<bool> recompute;
};

class RecomputeRule : public ::testing::TestWithParam<const char*> {};

// Each partition puts at least two linear layers in a stage with d > 0, so that the rerun feeds
// that stage's Ba masks and Bw inputs (a stage's top layer's rerun output goes only to the next
// stage, which already used the original).
TEST_P(RecomputeRule, MatchesAnIndependentFloat64Computation) {
  const std::string policy = GetParam();
  const models::Network net = tiny_mlp();
  const models::UnitGraph units = models::group_units(net);
  ASSERT_EQ(units.units.size(), 4u);
  const std::vector<BasicUnitParams<double>> init = initial_parameters<double>(net, units, 21);
  const Batches<double> batches = [](std::int64_t n) { return tiny_batch(n); };
  const std::vector<Partition> partitions = {
      {"{fc1 fc2 fc3} {fc4}", {0, 0, 0, 1}, {true, true}},
      {"{fc1 fc2} {fc3} {fc4}, stage 1 keeps", {0, 0, 1, 2}, {true, false, true}}};
  for (const Partition& p : partitions) {
    SCOPED_TRACE(policy + " " + p.name);
    TrainerSettings s;
    s.policy = &policies::get(policy);
    s.stage_of_unit = p.stage_of_unit;
    s.num_stages = static_cast<int>(p.recompute.size());
    s.optimizer.lr = kLr;
    s.optimizer.momentum = kMomentum;
    s.optimizer.weight_decay = kDecay;
    s.epochs = 1;
    const EngineSettings keep_settings = engine_settings(s, 4, kMinibatches, kMinibatches);
    s.recompute_stage = p.recompute;
    const EngineSettings rerun_settings = engine_settings(s, 4, kMinibatches, kMinibatches);

    const Trained<double> keep =
        train<double>(net, units, keep_settings, init, kMinibatches, batches);
    const Trained<double> rerun =
        train<double>(net, units, rerun_settings, init, kMinibatches, batches);
    const PlainResult plain_keep = PlainMlp(policy, p.stage_of_unit, {}, init).run();
    const PlainResult plain_rerun = PlainMlp(policy, p.stage_of_unit, p.recompute, init).run();

    // The float64 loop under keep (backward activations from the forward, Ba with W_b) is the
    // engine's keep: this validates the loop.
    const double keep_params = max_relative_difference(keep.params, plain_keep);
    const double keep_loss = max_loss_difference(keep.results, plain_keep);
    EXPECT_LT(keep_params, 1e-12);
    EXPECT_LT(keep_loss, 1e-12);
    const double rerun_params = max_relative_difference(rerun.params, plain_rerun);
    const double rerun_loss = max_loss_difference(rerun.results, plain_rerun);
    EXPECT_LT(rerun_params, 1e-12);
    EXPECT_LT(rerun_loss, 1e-12);
    // Under stash W_b is the forward's weight; under the others the rerun moves training (by
    // 3e-4 to 5e-2 here), so a silently ignored recompute fails.
    if (policy == "stash") {
      EXPECT_TRUE(same_parameters(keep.params, rerun.params));
    } else {
      PlainResult engine_keep;
      for (const auto& u : keep.params) {
        engine_keep.w.push_back(u.weight);
        engine_keep.b.push_back(u.bias);
      }
      EXPECT_GT(max_relative_difference(rerun.params, engine_keep), 1e-5);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(RecomputePolicies, RecomputeRule,
                         ::testing::Values("none", "stash", "lwp", "ema_lwp", "ema_grad",
                                           "ema_weight"),
                         [](const auto& test) { return std::string(test.param); });

// ---------------------------------------------------------------------------------------------
// 3. Checkpoints: a state saved at any point of a beat (the stages' reruns made and their
// tensors and W_b held, their backward half done) loads into a fresh engine, saves the same
// bytes, and trains on to the same bits.

TEST(RecomputeCheckpoint, StateSavedMidBeatLoadsAndTrainsToTheSameBits) {
  const Case c = make_case(residual_cnn(), {1, 14, 14}, 80);  // 10 minibatches
  const std::int64_t total = 10, cut_beat = 6;
  const data::BatchSampler sampler(c.train.size(), 8, true, 3);
  const Batches<float> batches = [&](std::int64_t n) {
    data::Batch b = data::gather(c.train, sampler.minibatch(n));
    return std::make_pair(std::move(b.images), std::move(b.labels));
  };
  for (const char* policy : {"stash", "ema_grad"}) {
    TrainerSettings s = trainer_settings(policy, {0, 0, 1, 1, 2, 2});
    s.recompute_stage = {true, false, true};
    s.epochs = 1;
    const EngineSettings es = engine_settings(s, 6, total, total);
    const std::vector<Task<float>> cut = beat_tasks(es, cut_beat, total, batches);
    // Beat 6 forwards 6 (stage 2 reruns it before the loss), runs stage 2's backward of 6,
    // stage 1's of 4 and stage 0's of 2 (a rerun first).
    ASSERT_GT(cut.size(), 12u);
    for (std::size_t k = 0; k <= cut.size(); ++k) {
      SCOPED_TRACE(std::string(policy) + ", saved after " + std::to_string(k) + " tasks of beat " +
                   std::to_string(cut_beat));
      TaskEngine a(c.net, c.units, es, initial_parameters(c.net, c.units, 11));
      for (std::int64_t n = 0; n < cut_beat; ++n) {
        for (const Task<float>& t : beat_tasks(es, n, total, batches)) t(a);
      }
      for (std::size_t i = 0; i < k; ++i) cut[i](a);
      ASSERT_GT(a.minibatches_in_flight(), 1u);
      std::stringstream saved;
      a.save_state(saved);
      TaskEngine b(c.net, c.units, es, initial_parameters(c.net, c.units, 12));
      b.load_state(saved, "state");
      std::stringstream again;
      b.save_state(again);
      EXPECT_TRUE(again.str() == saved.str()) << again.str().size() << " vs " << saved.str().size();
      for (std::size_t i = k; i < cut.size(); ++i) {
        cut[i](a);
        cut[i](b);
      }
      for (std::int64_t n = cut_beat + 1; n < beats(es, total); ++n) {
        for (const Task<float>& t : beat_tasks(es, n, total, batches)) {
          t(a);
          t(b);
        }
      }
      EXPECT_EQ(b.minibatches_in_flight(), 0u);
      EXPECT_TRUE(same_parameters(a.parameters(), b.parameters()));
      ASSERT_EQ(b.minibatch_results().size(), static_cast<std::size_t>(total));
      for (std::int64_t n = 0; n < total; ++n) {
        EXPECT_EQ(a.minibatch_results()[n].loss, b.minibatch_results()[n].loss) << n;
      }
    }
  }
}

}  // namespace
}  // namespace lpsim::reference::recompute_test
