// Whole-model gradient checks in double: does the weight gradient the task engine's Bw tasks
// produce (F of every unit, the loss, then Ba/Bw in reverse unit order, every delay 0,
// policy sync) equal the derivative of the mean minibatch loss that its F tasks compute?
// And does the float engine take the same training step as the double one?
//
// The derivative is measured by central finite differences of MinibatchResult::loss along
// one parameter entry or one random unit direction, over the same minibatch (batch norm in
// training mode makes the loss a function of the whole batch). Seeds print as
// LPSIM_SEED=<n>; set LPSIM_SEED to replay. LPSIM_PRINT_GRADCHECK=1 prints every check.
//
// The estimate: with D_k = (f(kh) - f(-kh)) / (2kh), two fourth-order Richardson
// extrapolations R12 = (4 D_1 - D_2) / 3 and R13 = (9 D_1 - D_3) / 8 over the stencil
// -3h..3h. Where f is smooth on the stencil both equal f'(0) up to O(h^4) and round-off;
// ReLU and max pooling make f only piecewise smooth, and a stencil that straddles a kink
// (an activation crossing zero, an argmax changing) gives two estimates that disagree. Such
// a stencil is retried with h/10, then h/100, and a parameter whose stencils all disagree is
// reported and replaced by another draw: the decision uses forward evaluations only, never
// the engine's gradient, so it cannot hide a backward error.
//
// The bound: |engine - R12| <= 1e-6 * max(|engine|, |R12|, 1e-8) + 6 * s(R12), where s(R12)
// is the standard deviation of R12 caused by the loss's own double round-off: sigma, the
// round-off of one loss evaluation, measured on the problem before any check (the spread
// of f(dv) + f(-dv) over random full-model directions v with |dv| = 1e-9, where the
// curvature term is negligible), times the norm of R12's stencil weights (0.95 / h). That
// term is the resolution of the finite-difference oracle: sigma is about 3e-16 for mlp3,
// cnn3 and the batch-norm network (6 s(R12) = 2e-11 at h = 1e-4) and 8e-15 for resnet18
// (4e-9 at h = 1e-5, the largest step that mostly fits between its kinks); it dominates
// only for derivatives below 2e-5 and 4e-3 respectively, and is printed with each check.
// R12 ~ R13 is judged the same way (relative 1e-7 plus 6 standard deviations of R12 - R13).

#include <gtest/gtest.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "workloads/models/builtin.h"
#include "workloads/models/network.h"
#include "workloads/ops/rng.h"
#include "workloads/reference/engine.h"

namespace lpsim::reference {
namespace {

using DoubleEngine = BasicTaskEngine<double>;
using DoubleParams = BasicUnitParams<double>;
using DMat = ops::Mat<double>;
using DVec = ops::Vec<double>;

constexpr double kRelativeTolerance = 1e-6;
constexpr double kRelativeFloor = 1e-8;
// R12 and R13 must agree ten times more tightly than R12 and the engine.
constexpr double kConsistency = 1e-7;
// Round-off allowance in standard deviations of the estimate.
constexpr double kNoiseSigmas = 6.0;

double relative_error(double a, double b) {
  return std::abs(a - b) / std::max({std::abs(a), std::abs(b), kRelativeFloor});
}

// LPSIM_SEED or a fixed default, printed; `salt` gives each test its own stream.
ops::Rng rng_for_test(std::uint64_t salt) {
  const char* text = std::getenv("LPSIM_SEED");
  const std::uint64_t seed = text != nullptr ? std::strtoull(text, nullptr, 10) : 20240611u;
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::cout << "[ seed     ] " << info->test_suite_name() << "." << info->name()
            << " LPSIM_SEED=" << seed << "\n";
  ::testing::Test::RecordProperty("seed", std::to_string(seed));
  return ops::Rng(seed * 0x9E3779B97F4A7C15ull + salt);
}

bool print_checks() { return std::getenv("LPSIM_PRINT_GRADCHECK") != nullptr; }

EngineSettings sync_settings(int num_units) {
  EngineSettings s;
  s.policy = &policies::get("sync");
  s.delays.assign(num_units, 0);
  return s;
}

// One network, its double parameters and one minibatch.
struct Problem {
  models::Network net;
  models::UnitGraph units;
  std::vector<DoubleParams> params;
  DMat images;  // [B, C*H*W]
  std::vector<std::int32_t> labels;

  int num_units() const { return static_cast<int>(units.units.size()); }
  const models::Layer& layer_of(int unit) const { return net.layers[units.units[unit].layer]; }
  // Trainable entries of a unit: the weight, then the bias when the layer has one (a conv
  // or linear layer without bias keeps a zero bias the engine never trains).
  Eigen::Index trainable(int unit) const {
    const models::Layer& l = layer_of(unit);
    const bool bias = l.trains_bias();
    return params[unit].weight.size() + (bias ? params[unit].bias.size() : 0);
  }
};

Problem make_problem(models::Network net, std::int64_t batch, ops::Rng& rng) {
  Problem p;
  p.net = std::move(net);
  p.units = models::group_units(p.net);
  p.params = initial_parameters<double>(p.net, p.units, rng.next_u64());
  p.images.resize(batch, p.net.input_shape.size());
  for (Eigen::Index i = 0; i < p.images.size(); ++i) {
    // A token model reads ids (its vocabulary is its classes).
    p.images.data()[i] =
        p.net.token_input
            ? static_cast<double>(rng.uniform_int(static_cast<std::uint64_t>(p.net.num_classes)))
            : rng.normal();
  }
  for (std::int64_t b = 0; b < batch * p.net.labels_per_sample; ++b) {
    p.labels.push_back(
        static_cast<std::int32_t>(rng.uniform_int(static_cast<std::uint64_t>(p.net.num_classes))));
  }
  return p;
}

// Entry i of a unit's trainable parameters (weight entries first, then bias).
double& entry(DoubleParams& p, Eigen::Index i) {
  return i < p.weight.size() ? p.weight.data()[i] : p.bias.data()[i - p.weight.size()];
}
double entry(const std::pair<DMat, DVec>& g, Eigen::Index i) {
  return i < g.first.size() ? g.first.data()[i] : g.second.data()[i - g.first.size()];
}

// The mean minibatch loss the engine's F and loss tasks compute at `params`.
double mean_loss(const Problem& p, std::vector<DoubleParams> params) {
  DoubleEngine e(p.net, p.units, sync_settings(p.num_units()), std::move(params));
  e.load(0, p.images, p.labels);
  for (int u = 0; u < e.num_units(); ++u) e.forward(u, 0);
  e.loss(0);
  return e.minibatch_results()[0].loss;
}

// Bw_u(0) of every unit after the full backward pass (stability.cpp's calling pattern).
std::vector<std::pair<DMat, DVec>> engine_gradient(const Problem& p) {
  DoubleEngine e(p.net, p.units, sync_settings(p.num_units()), p.params);
  e.load(0, p.images, p.labels);
  const int nu = e.num_units();
  for (int u = 0; u < nu; ++u) e.forward(u, 0);
  e.loss(0);
  for (int u = nu - 1; u >= 0; --u) {
    if (e.has_backward_activation(u)) e.backward_activation(u, 0);
    e.backward_weight(u, 0);
  }
  std::vector<std::pair<DMat, DVec>> g;
  for (int u = 0; u < nu; ++u) g.push_back(e.pending_gradient(u, 0));
  return g;
}

// A direction in parameter space: per unit, coefficients over its trainable entries (empty:
// the unit does not move).
using Direction = std::vector<std::vector<std::pair<Eigen::Index, double>>>;

std::vector<DoubleParams> moved(const Problem& p, const Direction& d, double t) {
  std::vector<DoubleParams> q = p.params;
  for (std::size_t u = 0; u < d.size(); ++u) {
    for (const auto& [i, c] : d[u]) entry(q[u], i) += t * c;
  }
  return q;
}

// Round-off of one loss evaluation: f(dv) + f(-dv) = 2 f(0) + d^2 v'Hv + noise, and with
// |dv| = 1e-9 the curvature term is below 1e-16 while the noise of two evaluations is not.
// The sample variance over random full-model directions v is 2 sigma^2.
double loss_round_off(const Problem& p, ops::Rng& rng) {
  constexpr int kSamples = 8;
  constexpr double kDelta = 1e-9;
  std::vector<double> sums;
  for (int k = 0; k < kSamples; ++k) {
    std::vector<DoubleParams> v = p.params;
    double norm2 = 0.0;
    for (int u = 0; u < p.num_units(); ++u) {
      v[u].weight.setZero();
      v[u].bias.setZero();
      for (Eigen::Index i = 0; i < p.trainable(u); ++i) {
        entry(v[u], i) = rng.uniform(-1.0, 1.0);
        norm2 += entry(v[u], i) * entry(v[u], i);
      }
    }
    double sum = 0.0;
    for (double sign : {1.0, -1.0}) {
      std::vector<DoubleParams> q = p.params;
      for (int u = 0; u < p.num_units(); ++u) {
        q[u].weight += (sign * kDelta / std::sqrt(norm2)) * v[u].weight;
        q[u].bias += (sign * kDelta / std::sqrt(norm2)) * v[u].bias;
      }
      sum += mean_loss(p, std::move(q));
    }
    sums.push_back(sum);
  }
  double mean = 0.0, var = 0.0;
  for (double x : sums) mean += x / kSamples;
  for (double x : sums) var += (x - mean) * (x - mean) / (kSamples - 1);
  return std::sqrt(var / 2.0);
}

// The stencil weights of R12 and R13 on f(kh) - f(-kh), k = 1..3, in units of 1/h.
constexpr double kR12[3] = {4.0 / 3.0 / 2.0, -1.0 / 3.0 / 4.0, 0.0};
constexpr double kR13[3] = {9.0 / 8.0 / 2.0, 0.0, -1.0 / 8.0 / 6.0};

// Standard deviation, in units of sigma / h, of sum_k w[k] (f(kh) - f(-kh)) when every
// evaluation carries independent round-off of standard deviation sigma.
double noise_gain(const double (&w)[3], const double (&minus)[3]) {
  double sum = 0.0;
  for (int k = 0; k < 3; ++k) sum += 2.0 * (w[k] - minus[k]) * (w[k] - minus[k]);
  return std::sqrt(sum);
}
constexpr double kZero[3] = {0.0, 0.0, 0.0};

struct Estimate {
  double derivative = 0.0;  // R12
  double step = 0.0;        // h
  double gap = 0.0;         // |R12 - R13|
  double noise = 0.0;       // standard deviation of R12 from round-off
};

// d/dt of the mean loss at params + t*d, t = 0, for a loss whose evaluations carry
// round-off `sigma`; nullopt when no stencil is smooth.
std::optional<Estimate> finite_difference(const Problem& p, const Direction& d, double first_step,
                                          double sigma) {
  for (double h = first_step; h >= first_step / 100.0 * 0.999; h /= 10.0) {
    double diff[3];  // f(kh) - f(-kh)
    for (int k = 1; k <= 3; ++k) {
      diff[k - 1] = mean_loss(p, moved(p, d, k * h)) - mean_loss(p, moved(p, d, -k * h));
    }
    double r12 = 0.0, r13 = 0.0;
    for (int k = 0; k < 3; ++k) {
      r12 += kR12[k] * diff[k] / h;
      r13 += kR13[k] * diff[k] / h;
    }
    const double gap = std::abs(r12 - r13);
    const double gap_noise = noise_gain(kR12, kR13) * sigma / h;
    const double allowed = kConsistency * std::max({std::abs(r12), std::abs(r13), kRelativeFloor}) +
                           kNoiseSigmas * gap_noise;
    if (gap <= allowed) return Estimate{r12, h, gap, noise_gain(kR12, kZero) * sigma / h};
  }
  return std::nullopt;
}

struct CheckPlan {
  int entries = 0;     // random single parameters
  int directions = 0;  // random directions, each over all parameters of one random unit
  double first_step = 1e-4;
};

// Compares the engine's gradient with finite differences along random entries and
// directions; every unit's gradient must also have its parameters' shape and be finite.
void check_model(const Problem& p, const CheckPlan& plan, ops::Rng& rng) {
  const auto g = engine_gradient(p);
  const int nu = p.num_units();
  ASSERT_EQ(static_cast<int>(g.size()), nu);
  for (int u = 0; u < nu; ++u) {
    ASSERT_EQ(g[u].first.rows(), p.params[u].weight.rows()) << p.layer_of(u).name;
    ASSERT_EQ(g[u].first.cols(), p.params[u].weight.cols()) << p.layer_of(u).name;
    ASSERT_EQ(g[u].second.size(), p.params[u].bias.size()) << p.layer_of(u).name;
    ASSERT_TRUE(g[u].first.allFinite() && g[u].second.allFinite()) << p.layer_of(u).name;
  }
  const double sigma = loss_round_off(p, rng);
  int checked = 0, skipped = 0;
  double worst = 0.0;
  const int wanted = plan.entries + plan.directions;
  while (checked < wanted) {
    ASSERT_LE(skipped, wanted) << "too many parameters at which the loss is not smooth";
    const bool is_entry = checked < plan.entries;
    const int u = static_cast<int>(rng.uniform_int(static_cast<std::uint64_t>(nu)));
    const Eigen::Index n = p.trainable(u);
    Direction d(nu);
    double engine = 0.0;
    std::string what = p.layer_of(u).name;
    if (is_entry) {
      const Eigen::Index i =
          static_cast<Eigen::Index>(rng.uniform_int(static_cast<std::uint64_t>(n)));
      d[u].emplace_back(i, 1.0);
      engine = entry(g[u], i);
      const Eigen::Index nw = p.params[u].weight.size();
      what +=
          i < nw ? ".weight[" + std::to_string(i) + "]" : ".bias[" + std::to_string(i - nw) + "]";
    } else {
      double norm2 = 0.0;
      for (Eigen::Index i = 0; i < n; ++i) {
        d[u].emplace_back(i, rng.normal());
        norm2 += d[u].back().second * d[u].back().second;
      }
      for (auto& [i, c] : d[u]) {
        c /= std::sqrt(norm2);
        engine += c * entry(g[u], i);
      }
      what += " along a random unit direction";
    }
    const std::optional<Estimate> fd = finite_difference(p, d, plan.first_step, sigma);
    if (!fd) {
      ++skipped;
      std::cout << "  not smooth at " << what << " down to step " << plan.first_step / 100.0
                << ": drawing another\n";
      continue;
    }
    ++checked;
    const double err = relative_error(engine, fd->derivative);
    const double bound = kRelativeTolerance * std::max({std::abs(engine), std::abs(fd->derivative),
                                                        kRelativeFloor}) +
                         kNoiseSigmas * fd->noise;
    // The error in units of the bound: the worst case the summary reports.
    worst = std::max(worst, std::abs(engine - fd->derivative) / bound);
    if (print_checks()) {
      std::printf("  %-46s engine % .12e fd % .12e h %.0e rel %.1e noise %.0e gap %.0e\n",
                  what.c_str(), engine, fd->derivative, fd->step, err, fd->noise, fd->gap);
    }
    EXPECT_LE(std::abs(engine - fd->derivative), bound)
        << what << ": engine " << engine << ", finite differences " << fd->derivative << " (step "
        << fd->step << ", relative error " << err << ", round-off " << fd->noise << ")";
  }
  std::cout << "  " << p.net.name << ": " << checked << " checks, worst error " << worst
            << " of its bound, loss round-off " << sigma << ", " << skipped
            << " non-smooth draws replaced\n";
}

// conv + batch norm + ReLU stem, a residual block whose skip edge crosses two units, an
// average pool with padding, a block with a parametrised shortcut (conv + batch norm on both
// sides of the add), global average pooling and a linear head.
constexpr const char* kResidualNetwork = R"({
  "name": "bn_residual", "input": {"shape": [2, 6, 6]},
  "layers": [
    {"name": "conv1", "type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1,
     "bias": false},
    {"name": "bn1", "type": "batchnorm2d"},
    {"name": "relu1", "type": "relu"},
    {"name": "conv2", "type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1,
     "bias": false},
    {"name": "bn2", "type": "batchnorm2d"},
    {"name": "relu2", "type": "relu"},
    {"name": "conv3", "type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1,
     "bias": false},
    {"name": "bn3", "type": "batchnorm2d"},
    {"name": "add1", "type": "add", "inputs": ["bn3", "relu1"]},
    {"name": "relu3", "type": "relu"},
    {"name": "pool", "type": "avgpool2d", "kernel_size": 3, "stride": 2, "padding": 1},
    {"name": "conv4", "type": "conv2d", "out_channels": 6, "kernel_size": 3, "padding": 1,
     "bias": false},
    {"name": "bn4", "type": "batchnorm2d"},
    {"name": "shortcut", "type": "conv2d", "out_channels": 6, "kernel_size": 1, "bias": false,
     "inputs": ["pool"]},
    {"name": "shortcut_bn", "type": "batchnorm2d"},
    {"name": "add2", "type": "add", "inputs": ["bn4", "shortcut_bn"]},
    {"name": "relu4", "type": "relu"},
    {"name": "gap", "type": "global_avgpool"},
    {"name": "fc", "type": "linear", "out_features": 5},
    {"name": "loss", "type": "softmax_cross_entropy"}]})";

// The other wiring cases: parameter-free layers on the network input (a max pool), one
// unit's output read by three consumers (two convs and a later add), an add of two
// branches followed by another add, max pooling with padding on odd sizes, a flatten, a
// linear layer read by two heads whose sum (an add in the last unit's tail, run by the
// loss task) is the logits.
constexpr const char* kBranchingNetwork = R"({
  "name": "branching", "input": {"shape": [3, 7, 7]},
  "layers": [
    {"name": "pool0", "type": "maxpool2d", "kernel_size": 2, "stride": 1},
    {"name": "conv_a", "type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
    {"name": "relu_a", "type": "relu"},
    {"name": "conv_b", "type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1,
     "bias": false, "inputs": ["relu_a"]},
    {"name": "bn_b", "type": "batchnorm2d"},
    {"name": "conv_c", "type": "conv2d", "out_channels": 4, "kernel_size": 1,
     "inputs": ["relu_a"]},
    {"name": "add_bc", "type": "add", "inputs": ["bn_b", "conv_c"]},
    {"name": "relu_bc", "type": "relu"},
    {"name": "add_skip", "type": "add", "inputs": ["relu_bc", "relu_a"]},
    {"name": "pool1", "type": "maxpool2d", "kernel_size": 3, "stride": 2, "padding": 1},
    {"name": "flatten", "type": "flatten"},
    {"name": "fc1", "type": "linear", "out_features": 8},
    {"name": "relu_f", "type": "relu"},
    {"name": "head1", "type": "linear", "out_features": 5, "inputs": ["relu_f"]},
    {"name": "head2", "type": "linear", "out_features": 5, "inputs": ["relu_f"]},
    {"name": "logits", "type": "add", "inputs": ["head1", "head2"]},
    {"name": "loss", "type": "softmax_cross_entropy"}]})";

// The last unit's tail (batch norm, then ReLU and global average pooling) feeds the loss
// directly, after an average pool that drops the odd row and column.
constexpr const char* kTailIntoLossNetwork = R"({
  "name": "tail_into_loss", "input": {"shape": [2, 5, 5]},
  "layers": [
    {"name": "conv1", "type": "conv2d", "out_channels": 3, "kernel_size": 3, "padding": 1},
    {"name": "relu1", "type": "relu"},
    {"name": "pool", "type": "avgpool2d", "kernel_size": 2, "stride": 2},
    {"name": "conv2", "type": "conv2d", "out_channels": 4, "kernel_size": 2, "bias": false},
    {"name": "bn2", "type": "batchnorm2d"},
    {"name": "relu2", "type": "relu"},
    {"name": "gap", "type": "global_avgpool"},
    {"name": "loss", "type": "softmax_cross_entropy"}]})";

// Time steps (issue 8) on the differentiable layers: a direct encoder repeats each sample
// over T = 3 steps, so every layer after it runs on B*T rows (a conv, batch norm with
// statistics over all B*T*H*W positions, max pooling, a linear layer), and a leaky
// readout integrates and averages the steps into the logits. (LIF layers have surrogate
// gradients, which are checked against their smoothed forward in spiking_test.cpp.)
constexpr const char* kTimeNetwork = R"({
  "name": "time_steps", "input": {"shape": [2, 5, 5]},
  "layers": [
    {"name": "enc", "type": "spike_encode", "time_steps": 3},
    {"name": "conv1", "type": "conv2d", "out_channels": 3, "kernel_size": 3, "padding": 1,
     "bias": false},
    {"name": "bn1", "type": "batchnorm2d"},
    {"name": "relu1", "type": "relu"},
    {"name": "pool", "type": "maxpool2d", "kernel_size": 2, "stride": 2},
    {"name": "flatten", "type": "flatten"},
    {"name": "fc", "type": "linear", "out_features": 4},
    {"name": "out", "type": "leaky_readout", "alpha": 0.7},
    {"name": "loss", "type": "softmax_cross_entropy"}]})";

// A GPT block in miniature (ARCHITECTURE.md §3b): token and position embeddings, layer norms,
// causal attention over 2 heads, GELU, both residual adds, the head and a loss per position.
constexpr const char* kTinyGptNetwork = R"({
  "name": "tiny_gpt", "input": {"shape": [5], "dtype": "int64"},
  "layers": [
    {"name": "wte", "type": "embedding", "num_embeddings": 7, "embedding_dim": 8,
     "init_std": 0.5},
    {"name": "wpe", "type": "position_embedding", "context": 5, "embedding_dim": 8,
     "init_std": 0.5},
    {"name": "ln_1", "type": "layernorm"},
    {"name": "c_attn", "type": "linear", "out_features": 24, "init_std": 0.5},
    {"name": "attn", "type": "causal_self_attention", "heads": 2},
    {"name": "c_proj", "type": "linear", "out_features": 8, "init_std": 0.3},
    {"name": "add_1", "type": "add", "inputs": ["wpe", "c_proj"]},
    {"name": "ln_2", "type": "layernorm"},
    {"name": "c_fc", "type": "linear", "out_features": 16, "init_std": 0.5},
    {"name": "gelu", "type": "gelu"},
    {"name": "mlp_proj", "type": "linear", "out_features": 8, "init_std": 0.3},
    {"name": "add_2", "type": "add", "inputs": ["add_1", "mlp_proj"]},
    {"name": "ln_f", "type": "layernorm"},
    {"name": "lm_head", "type": "linear", "out_features": 7, "bias": false, "init_std": 0.5},
    {"name": "loss", "type": "softmax_cross_entropy"}]})";

TEST(ModelGradient, TinyGptMatchesFiniteDifferences) {
  ops::Rng rng = rng_for_test(9);
  Problem p = make_problem(
      models::parse_network(core::Json::parse(kTinyGptNetwork), "tiny_gpt.json"), 3, rng);
  // Layer norm starts at 1 and 0: move them off it, so their gradients are checked in general.
  for (int u = 0; u < p.num_units(); ++u) {
    if (p.layer_of(u).type_name() != "layernorm") continue;
    for (Eigen::Index i = 0; i < p.params[u].weight.size(); ++i) {
      p.params[u].weight.data()[i] += 0.3 * rng.normal();
      p.params[u].bias.data()[i] = 0.3 * rng.normal();
    }
  }
  check_model(p, {40, 4, 1e-4}, rng);
}

TEST(ModelGradient, Mlp3MatchesFiniteDifferences) {
  ops::Rng rng = rng_for_test(1);
  const Problem p = make_problem(models::builtin_model("mlp3"), 8, rng);
  check_model(p, {30, 3, 1e-4}, rng);
}

TEST(ModelGradient, Cnn3MatchesFiniteDifferences) {
  ops::Rng rng = rng_for_test(2);
  const Problem p = make_problem(models::builtin_model("cnn3", {1, 12, 12}), 4, rng);
  check_model(p, {30, 3, 1e-4}, rng);
}

TEST(ModelGradient, BatchNormResidualNetworkMatchesFiniteDifferences) {
  ops::Rng rng = rng_for_test(3);
  const Problem p = make_problem(
      models::parse_network(core::Json::parse(kResidualNetwork), "bn_residual.json"), 4, rng);
  check_model(p, {40, 5, 1e-4}, rng);
}

TEST(ModelGradient, BranchingNetworkMatchesFiniteDifferences) {
  ops::Rng rng = rng_for_test(6);
  const Problem p = make_problem(
      models::parse_network(core::Json::parse(kBranchingNetwork), "branching.json"), 4, rng);
  check_model(p, {40, 5, 1e-4}, rng);
}

TEST(ModelGradient, TailIntoTheLossMatchesFiniteDifferences) {
  ops::Rng rng = rng_for_test(7);
  const Problem p = make_problem(
      models::parse_network(core::Json::parse(kTailIntoLossNetwork), "tail_into_loss.json"), 4,
      rng);
  check_model(p, {30, 4, 1e-4}, rng);
}

TEST(ModelGradient, TimeStepsAndLeakyReadoutMatchFiniteDifferences) {
  ops::Rng rng = rng_for_test(8);
  const Problem p = make_problem(
      models::parse_network(core::Json::parse(kTimeNetwork), "time_steps.json"), 4, rng);
  check_model(p, {30, 3, 1e-4}, rng);
}

TEST(ModelGradient, ResNet18MatchesFiniteDifferences) {
#if defined(__GLIBC__)
  // Every finite-difference evaluation builds an engine over 11M parameters (parameters and
  // momentum: two 89 MB sets of blocks up to 19 MB). Keep freed blocks in the heap instead
  // of returning them to the kernel at every free: otherwise three quarters of this test's
  // time goes to page faults.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
  ops::Rng rng = rng_for_test(4);
  const Problem p = make_problem(models::builtin_model("resnet18", {3, 8, 8}), 4, rng);
  // Many ReLUs sit within 1e-4 of their kink here: start at 1e-5.
  check_model(p, {20, 2, 1e-5}, rng);
}

// One sync training step of mlp3 (F, loss, Ba, Bw, U with weight decay; the momentum
// buffer starts at zero) from the same float parameters and inputs, in float and in double.
TEST(ModelGradient, FloatAndDoubleEnginesAgreeOnATrainingStep) {
  ops::Rng rng = rng_for_test(5);
  const models::Network net = models::builtin_model("mlp3");
  const models::UnitGraph units = models::group_units(net);
  const std::vector<UnitParams> init = initial_parameters(net, units, rng.next_u64());
  const std::int64_t batch = 16;
  ops::Matrix images(batch, net.input_shape.size());
  for (Eigen::Index i = 0; i < images.size(); ++i) {
    images.data()[i] = static_cast<float>(rng.uniform());
  }
  std::vector<std::int32_t> labels;
  for (std::int64_t b = 0; b < batch; ++b) {
    labels.push_back(
        static_cast<std::int32_t>(rng.uniform_int(static_cast<std::uint64_t>(net.num_classes))));
  }
  std::vector<DoubleParams> init_d;
  for (const UnitParams& q : init) {
    init_d.push_back({q.weight.cast<double>(), q.bias.cast<double>(), q.running_mean.cast<double>(),
                      q.running_var.cast<double>()});
  }
  EngineSettings s = sync_settings(static_cast<int>(units.units.size()));
  s.optimizer.lr = 0.05;
  s.optimizer.momentum = 0.9;
  s.optimizer.weight_decay = 1e-3;

  TaskEngine ef(net, units, s, init);
  DoubleEngine ed(net, units, s, init_d);
  ef.load(0, images, labels);
  ed.load(0, images.cast<double>(), labels);
  const int nu = ef.num_units();
  for (int u = 0; u < nu; ++u) {
    ef.forward(u, 0);
    ed.forward(u, 0);
  }
  ef.loss(0);
  ed.loss(0);
  const double loss_f = ef.minibatch_results()[0].loss;
  const double loss_d = ed.minibatch_results()[0].loss;
  EXPECT_LE(relative_error(loss_f, loss_d), 1e-6) << loss_f << " vs " << loss_d;
  EXPECT_EQ(ef.minibatch_results()[0].correct, ed.minibatch_results()[0].correct);
  for (int u = nu - 1; u >= 0; --u) {
    if (ef.has_backward_activation(u)) {
      ef.backward_activation(u, 0);
      ed.backward_activation(u, 0);
    }
    ef.backward_weight(u, 0);
    ed.backward_weight(u, 0);
  }
  // The gradients: float round-off in sums of up to 784 products, relative errors of a few
  // 1e-7 in norm.
  std::vector<std::pair<DMat, DVec>> gradient_f, gradient_d;
  double worst_gradient = 0.0;
  for (int u = 0; u < nu; ++u) {
    const auto& gf = ef.pending_gradient(u, 0);
    const auto& gd = ed.pending_gradient(u, 0);
    gradient_f.emplace_back(gf.first.cast<double>(), gf.second.cast<double>());
    gradient_d.push_back(gd);
    const double gw = (gradient_f[u].first - gd.first).norm() / gd.first.norm();
    const double gb = (gradient_f[u].second - gd.second).norm() / gd.second.norm();
    worst_gradient = std::max({worst_gradient, gw, gb});
    EXPECT_LE(gw, 1e-5) << units.units[u].name << ".weight gradient";
    EXPECT_LE(gb, 1e-5) << units.units[u].name << ".bias gradient";
  }
  for (int u = 0; u < nu; ++u) {
    ef.update(u, 0);
    ed.update(u, 0);
  }
  // The new parameters W1 = W0 - lr (g + wd W0), element by element: each engine's update
  // applied to its own gradient, computed here in double. The double engine's must match to
  // double precision; the float engine rounds wd W0, v = g + wd W0, lr itself, lr v and
  // W0 - lr v, each to a relative u = 2^-24 = FLT_EPSILON / 2: at most 4u |W0 - W1| + u |W0|
  // together; allow 6u (|W0| + |W0 - W1|). With the gradients above, the float step is the
  // double step to float precision.
  const std::vector<UnitParams> pf = ef.parameters();
  const std::vector<DoubleParams> pd = ed.parameters();
  const double lr = s.optimizer.lr;
  const double wd = s.optimizer.weight_decay;
  double worst_update = 0.0;
  auto check = [&](const std::string& what, const double* w0, const double* w1_d, const float* w1_f,
                   const double* g_f, const double* g_d, Eigen::Index n) {
    for (Eigen::Index i = 0; i < n; ++i) {
      const double expect_d = w0[i] - lr * (g_d[i] + wd * w0[i]);
      const double expect_f = w0[i] - lr * (g_f[i] + wd * w0[i]);
      const double scale = std::abs(w0[i]) + std::abs(w0[i] - expect_f);
      const double diff = std::abs(static_cast<double>(w1_f[i]) - expect_f);
      worst_update = std::max(worst_update, diff / (3.0 * FLT_EPSILON * scale));
      EXPECT_LE(diff, 3.0 * FLT_EPSILON * scale)
          << what << "[" << i << "]: float engine " << w1_f[i] << ", expected " << expect_f;
      EXPECT_LE(std::abs(w1_d[i] - expect_d), 8.0 * DBL_EPSILON * scale)
          << what << "[" << i << "]: double engine " << w1_d[i] << ", expected " << expect_d;
    }
  };
  for (int u = 0; u < nu; ++u) {
    const std::string name = units.units[u].name;
    check(name + ".weight", init_d[u].weight.data(), pd[u].weight.data(), pf[u].weight.data(),
          gradient_f[u].first.data(), gradient_d[u].first.data(), pd[u].weight.size());
    check(name + ".bias", init_d[u].bias.data(), pd[u].bias.data(), pf[u].bias.data(),
          gradient_f[u].second.data(), gradient_d[u].second.data(), pd[u].bias.size());
  }
  std::cout << "  float vs double: loss " << relative_error(loss_f, loss_d)
            << " relative, gradients up to " << worst_gradient
            << " relative (norm), float update up to " << worst_update << " of its bound\n";
}

}  // namespace
}  // namespace lpsim::reference
