// AdamW (ARCHITECTURE.md §2c), the learning-rate warm-up and per-layer gradient clipping in the
// task engine, each against an independent float64 computation: a hand-written loop of
// torch.optim.AdamW's formula, and (where Debian's python3-torch is installed) torch itself.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "workloads/models/builtin.h"
#include "workloads/ops/rng.h"
#include "workloads/reference/engine.h"
#include "workloads/reference/optimizer.h"

namespace lpsim::reference {
namespace {

using DoubleEngine = BasicTaskEngine<double>;
using DoubleParams = BasicUnitParams<double>;
using DMat = ops::Mat<double>;

// mlp3 on 16 features and 4 classes: 16-256-128-4.
struct Tiny {
  models::Network net = models::builtin_model("mlp3", {1, 4, 4}, 4);
  models::UnitGraph units = models::group_units(net);
  int num_units() const { return static_cast<int>(units.units.size()); }
};

constexpr std::int64_t kBatch = 8;

DMat images(std::int64_t n) {
  ops::Rng rng(700 + static_cast<std::uint64_t>(n));
  DMat m(kBatch, 16);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = 2.0 * rng.uniform() - 1.0;
  return m;
}

std::vector<std::int32_t> labels(std::int64_t n) {
  std::vector<std::int32_t> out;
  for (std::int64_t b = 0; b < kBatch; ++b) out.push_back(static_cast<std::int32_t>((n + b) % 4));
  return out;
}

EngineSettings sync_settings(const Tiny& t, ops::OptimizerKind kind) {
  EngineSettings s;
  s.policy = &policies::get("sync");
  s.delays.assign(t.num_units(), 0);
  s.optimizer.kind = kind;
  s.optimizer.lr = 1e-3;
  s.optimizer.weight_decay = 0.05;
  s.batches_per_epoch = 100;
  s.total_minibatches = 100;
  return s;
}

std::vector<DoubleParams> initial(const Tiny& t) {
  return initial_parameters<double>(t.net, t.units, 3);
}

// One sync step of minibatch n: F, the loss, every Ba and Bw, then `before_update(u)` (the
// gradient is pending) and U, from the last unit to the first.
void step(DoubleEngine& e, std::int64_t n, const std::function<void(int)>& before_update) {
  e.load(n, images(n), labels(n));
  for (int u = 0; u < e.num_units(); ++u) e.forward(u, n);
  e.loss(n);
  for (int u = e.num_units() - 1; u >= 0; --u) {
    if (e.has_backward_activation(u)) e.backward_activation(u, n);
    e.backward_weight(u, n);
    before_update(u);
    e.update(u, n);
  }
}

// torch.optim.AdamW's single-tensor step (amsgrad off), element by element in double, on a
// parameter tensor kept apart from the engine's.
struct Adam64 {
  std::vector<double> w, m, s;
  std::int64_t t = 0;
};

Adam64 adam64_of(const double* w, Eigen::Index n) {
  Adam64 p;
  p.w.assign(w, w + n);
  p.m.assign(static_cast<std::size_t>(n), 0.0);
  p.s.assign(static_cast<std::size_t>(n), 0.0);
  return p;
}

void adam64_step(Adam64& p, const std::vector<double>& g, double lr, const OptimizerSettings& o) {
  p.t += 1;
  for (double& w : p.w) w *= 1.0 - lr * o.weight_decay;
  const double bc1 = 1.0 - std::pow(o.beta1, static_cast<double>(p.t));
  const double bc2 = 1.0 - std::pow(o.beta2, static_cast<double>(p.t));
  for (std::size_t i = 0; i < p.w.size(); ++i) {
    p.m[i] = o.beta1 * p.m[i] + (1.0 - o.beta1) * g[i];
    p.s[i] = o.beta2 * p.s[i] + (1.0 - o.beta2) * g[i] * g[i];
    const double denom = std::sqrt(p.s[i]) / std::sqrt(bc2) + o.eps;
    p.w[i] -= (lr / bc1) * (p.m[i] / denom);
  }
}

double max_difference(const Adam64& p, const double* w) {
  double worst = 0.0;
  for (std::size_t i = 0; i < p.w.size(); ++i) worst = std::max(worst, std::abs(p.w[i] - w[i]));
  return worst;
}

// §2c: with one stage, AdamW training in double equals a float64 loop of torch's formula fed the
// engine's gradients, within 1e-12; also with a warm-up and per-layer clipping, written out here
// as min(1, (m+1)/warmup) and min(1, clip/||g_layer||).
TEST(Adamw, OneStageTrainingEqualsAFloat64LoopOfTorchsFormula) {
  const Tiny t;
  struct Variant {
    const char* name;
    double clip;
    std::int64_t warmup;
  };
  for (const Variant v : {Variant{"plain", 0.0, 0}, Variant{"clip and warm-up", 0.05, 3}}) {
    SCOPED_TRACE(v.name);
    EngineSettings s = sync_settings(t, ops::OptimizerKind::kAdamw);
    s.optimizer.beta1 = 0.8;
    s.optimizer.beta2 = 0.99;
    s.optimizer.eps = 1e-6;
    s.optimizer.clip_norm = v.clip;
    s.optimizer.schedule.warmup_minibatches = v.warmup;
    const std::vector<DoubleParams> init = initial(t);
    DoubleEngine e(t.net, t.units, s, init);
    std::vector<Adam64> weight, bias;
    for (const DoubleParams& p : init) {
      weight.push_back(adam64_of(p.weight.data(), p.weight.size()));
      bias.push_back(adam64_of(p.bias.data(), p.bias.size()));
    }
    const std::int64_t steps = 8;
    std::int64_t clipped = 0;
    for (std::int64_t n = 0; n < steps; ++n) {
      step(e, n, [&](int u) {
        const auto& g = e.pending_gradient(u, n);
        std::vector<double> gw(g.first.data(), g.first.data() + g.first.size());
        std::vector<double> gb(g.second.data(), g.second.data() + g.second.size());
        if (v.clip > 0.0) {
          double sum = 0.0;
          for (double x : gw) sum += x * x;
          for (double x : gb) sum += x * x;
          const double scale = std::min(1.0, v.clip / std::sqrt(sum));
          clipped += scale < 1.0 ? 1 : 0;
          for (double& x : gw) x *= scale;
          for (double& x : gb) x *= scale;
        }
        const double lr =
            1e-3 * (v.warmup > 0
                        ? std::min(1.0, static_cast<double>(n + 1) / static_cast<double>(v.warmup))
                        : 1.0);
        adam64_step(weight[u], gw, lr, s.optimizer);
        adam64_step(bias[u], gb, lr, s.optimizer);
      });
    }
    if (v.clip > 0.0) {
      EXPECT_GT(clipped, 0);  // the clipping is exercised
    }
    double worst = 0.0, moved = 0.0;
    const std::vector<DoubleParams> p = e.parameters();
    for (int u = 0; u < t.num_units(); ++u) {
      worst = std::max(worst, max_difference(weight[u], p[u].weight.data()));
      worst = std::max(worst, max_difference(bias[u], p[u].bias.data()));
      moved = std::max(moved, (p[u].weight - init[u].weight).cwiseAbs().maxCoeff());
    }
    EXPECT_LE(worst, 1e-12);
    EXPECT_GT(moved, 1e-3);  // it trained: 8 steps of about lr each
    std::cout << "  AdamW (" << v.name << ") vs a float64 loop of torch's formula: max |ΔW| "
              << worst << "\n";
  }
}

// Decoupled weight decay: W·(1 − lr·λ) and an Adam step of the gradient alone, not Adam on
// g + λ·W. At the first update m̂ = g and ŝ = g², so the two differ by far more than round-off.
TEST(Adamw, WeightDecayIsDecoupledFromTheGradient) {
  const Tiny t;
  EngineSettings s = sync_settings(t, ops::OptimizerKind::kAdamw);
  s.optimizer.lr = 0.01;
  s.optimizer.weight_decay = 0.5;
  const std::vector<DoubleParams> init = initial(t);
  DoubleEngine e(t.net, t.units, s, init);
  std::vector<DMat> gradient(t.num_units());
  step(e, 0, [&](int u) { gradient[u] = e.pending_gradient(u, 0).first; });
  const double lr = 0.01, wd = 0.5, eps = 1e-8;
  double decoupled = 0.0, coupled = 0.0;
  const std::vector<DoubleParams> after = e.parameters();
  for (int u = 0; u < t.num_units(); ++u) {
    const DMat& w1 = after[u].weight;
    for (Eigen::Index i = 0; i < w1.size(); ++i) {
      const double w0 = init[u].weight.data()[i], g = gradient[u].data()[i];
      // bias corrections at t = 1: m̂ = g, √ŝ = |g|
      const double d = w0 * (1.0 - lr * wd) - lr * g / (std::abs(g) + eps);
      const double q = g + wd * w0;
      const double c = w0 - lr * q / (std::abs(q) + eps);
      decoupled = std::max(decoupled, std::abs(w1.data()[i] - d));
      coupled = std::max(coupled, std::abs(w1.data()[i] - c));
    }
  }
  EXPECT_LE(decoupled, 1e-15);
  EXPECT_GT(coupled, 1e-3);
}

// The warm-up scales the schedule's rate by min(1, (m+1)/warmup) for every kind.
TEST(LearningRate, WarmupScalesEveryScheduleLinearly) {
  OptimizerSettings o;
  o.lr = 0.1;
  EXPECT_EQ(learning_rate(o, 0, 10, 100), 0.1);  // no warm-up
  o.schedule.warmup_minibatches = 4;
  EXPECT_DOUBLE_EQ(learning_rate(o, 0, 10, 100), 0.025);
  EXPECT_DOUBLE_EQ(learning_rate(o, 1, 10, 100), 0.05);
  EXPECT_DOUBLE_EQ(learning_rate(o, 2, 10, 100), 0.075);
  EXPECT_EQ(learning_rate(o, 3, 10, 100), 0.1);
  EXPECT_EQ(learning_rate(o, 50, 10, 100), 0.1);
  o.schedule.kind = LrSchedule::Kind::kStep;  // 0.1 · 0.1^(epoch) from epoch 1 on
  o.schedule.warmup_minibatches = 20;
  EXPECT_DOUBLE_EQ(learning_rate(o, 4, 10, 100), 0.1 * 5.0 / 20.0);
  EXPECT_DOUBLE_EQ(learning_rate(o, 14, 10, 100), 0.1 * 0.1 * 15.0 / 20.0);
  EXPECT_DOUBLE_EQ(learning_rate(o, 25, 10, 100), 0.1 * 0.01);
  o.schedule.kind = LrSchedule::Kind::kCosine;  // min_lr 0: 0.05·(1 + cos(π·m/99))
  o.schedule.warmup_minibatches = 2;
  EXPECT_DOUBLE_EQ(learning_rate(o, 0, 10, 100), 0.5 * 0.1);
  EXPECT_DOUBLE_EQ(learning_rate(o, 1, 10, 100),
                   0.05 * (1.0 + std::cos(3.14159265358979323846 / 99.0)));
}

// Per-layer clipping under SGD: the first update is W0 − lr·g·min(1, clip/||g_l||), with
// ||g_l|| the norm of that layer's weight and bias gradient together: a layer above the
// clip is scaled to it, one below is not.
TEST(Clipping, ScalesEachLayersGradientByItsOwnNorm) {
  const Tiny t;
  const std::vector<DoubleParams> init = initial(t);
  EngineSettings s = sync_settings(t, ops::OptimizerKind::kSgd);
  s.optimizer.lr = 0.1;
  s.optimizer.momentum = 0.9;
  s.optimizer.weight_decay = 0.0;
  std::vector<double> norm(t.num_units());
  {
    DoubleEngine probe(t.net, t.units, s, init);
    step(probe, 0, [&](int u) {
      const auto& g = probe.pending_gradient(u, 0);
      norm[u] = std::sqrt(g.first.squaredNorm() + g.second.squaredNorm());
    });
  }
  const double lo = *std::min_element(norm.begin(), norm.end());
  const double hi = *std::max_element(norm.begin(), norm.end());
  ASSERT_LT(lo * 1.5, hi) << "the layers' norms must differ for this test";
  s.optimizer.clip_norm = std::sqrt(lo * hi);
  DoubleEngine e(t.net, t.units, s, init);
  std::vector<std::pair<DMat, ops::Vec<double>>> g(t.num_units());
  step(e, 0, [&](int u) { g[u] = e.pending_gradient(u, 0); });
  int clipped = 0, kept = 0;
  for (int u = 0; u < t.num_units(); ++u) {
    const double scale = std::min(1.0, s.optimizer.clip_norm / norm[u]);
    (scale < 1.0 ? clipped : kept) += 1;
    const DoubleParams p = e.parameters()[u];
    const DMat expect_w = init[u].weight - 0.1 * scale * g[u].first;
    const ops::Vec<double> expect_b = init[u].bias - 0.1 * scale * g[u].second;
    EXPECT_LE((p.weight - expect_w).cwiseAbs().maxCoeff(), 1e-15) << u;
    EXPECT_LE((p.bias - expect_b).cwiseAbs().maxCoeff(), 1e-15) << u;
  }
  EXPECT_GT(clipped, 0);
  EXPECT_GT(kept, 0);
}

// The same training with torch.optim.AdamW in float64 (Debian's python3-torch), when installed:
// tests/unit/workloads/reference/adamw_torch.py builds the same MLP from the same initial
// weights and minibatches.
TEST(Adamw, OneStageTrainingEqualsTorchOptimAdamwInFloat64) {
  // Debian's interpreter, as the other Python tests use (tests/reports/CMakeLists.txt).
  const std::string python =
      std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
  if (std::system((python + " -c 'import torch' > /dev/null 2>&1").c_str()) != 0) {
    GTEST_SKIP() << "python3-torch is not installed";
  }
  const Tiny t;
  EngineSettings s = sync_settings(t, ops::OptimizerKind::kAdamw);
  s.optimizer.beta1 = 0.85;
  s.optimizer.beta2 = 0.995;
  s.optimizer.eps = 1e-7;
  const std::int64_t steps = 10;
  const std::vector<DoubleParams> init = initial(t);
  const std::string dir = ::testing::TempDir() + "lpsim_adamw_torch_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  {
    std::ofstream out(dir + "/input.txt");
    out.precision(17);
    out << steps << " " << kBatch << " " << s.optimizer.lr << " " << s.optimizer.beta1 << " "
        << s.optimizer.beta2 << " " << s.optimizer.eps << " " << s.optimizer.weight_decay << "\n";
    out << t.num_units() << "\n";
    for (const DoubleParams& p : init) {
      out << p.weight.rows() << " " << p.weight.cols() << "\n";
      for (Eigen::Index i = 0; i < p.weight.size(); ++i) out << p.weight.data()[i] << "\n";
      for (Eigen::Index i = 0; i < p.bias.size(); ++i) out << p.bias[i] << "\n";
    }
    for (std::int64_t n = 0; n < steps; ++n) {
      const DMat x = images(n);
      for (Eigen::Index i = 0; i < x.size(); ++i) out << x.data()[i] << "\n";
      for (std::int32_t l : labels(n)) out << l << "\n";
    }
  }
  DoubleEngine e(t.net, t.units, s, init);
  for (std::int64_t n = 0; n < steps; ++n) step(e, n, [](int) {});
  const std::string script =
      std::string(LPSIM_SOURCE_DIR) + "/tests/unit/workloads/reference/adamw_torch.py";
  ASSERT_EQ(std::system((python + " " + script + " " + dir).c_str()), 0);
  std::ifstream in(dir + "/output.txt");
  double worst = 0.0;
  for (const DoubleParams& p : e.parameters()) {
    for (Eigen::Index i = 0; i < p.weight.size(); ++i) {
      double v = 0.0;
      ASSERT_TRUE(in >> v);
      worst = std::max(worst, std::abs(v - p.weight.data()[i]));
    }
    for (Eigen::Index i = 0; i < p.bias.size(); ++i) {
      double v = 0.0;
      ASSERT_TRUE(in >> v);
      worst = std::max(worst, std::abs(v - p.bias[i]));
    }
  }
  std::filesystem::remove_all(dir);
  EXPECT_LE(worst, 1e-12);
  std::cout << "  AdamW vs torch.optim.AdamW (float64), " << steps << " steps: max |ΔW| " << worst
            << "\n";
}

}  // namespace
}  // namespace lpsim::reference
