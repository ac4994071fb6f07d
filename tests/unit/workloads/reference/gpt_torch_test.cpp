// A GPT decoder trained by lpsim's task engine in double, one stage (every delay 0), against
// PyTorch's own training of the same model (tests/unit/workloads/reference/gpt_torch.py:
// nanoGPT's modules, torch.optim.SGD and torch.optim.AdamW, float64), from the same initial
// weights and token windows. Skipped where Debian's python3-torch is not installed.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "workloads/models/network.h"
#include "workloads/ops/rng.h"
#include "workloads/reference/engine.h"

namespace lpsim::reference::gpt_torch_test {
namespace {

constexpr std::int64_t kVocab = 13, kContext = 6, kWidth = 8, kHeads = 2, kBlocks = 2;
constexpr std::int64_t kBatch = 3, kSteps = 6;

// gpt_tiny's layout (workloads/models/builtin.cpp) at a test's size.
core::Json tiny_gpt() {
  core::Json layers = core::Json::array();
  auto lin = [](const std::string& n, std::int64_t out, double init) {
    return core::Json{{"name", n}, {"type", "linear"}, {"out_features", out}, {"init_std", init}};
  };
  layers.push_back({{"name", "wte"},
                    {"type", "embedding"},
                    {"num_embeddings", kVocab},
                    {"embedding_dim", kWidth},
                    {"init_std", 0.3}});
  layers.push_back({{"name", "wpe"},
                    {"type", "position_embedding"},
                    {"context", kContext},
                    {"embedding_dim", kWidth},
                    {"init_std", 0.3}});
  std::string stream = "wpe";
  for (int i = 0; i < kBlocks; ++i) {
    const std::string h = "h." + std::to_string(i) + ".";
    layers.push_back({{"name", h + "ln_1"}, {"type", "layernorm"}, {"inputs", {stream}}});
    layers.push_back(lin(h + "attn.c_attn", 3 * kWidth, 0.3));
    layers.push_back(
        {{"name", h + "attn.attention"}, {"type", "causal_self_attention"}, {"heads", kHeads}});
    layers.push_back(lin(h + "attn.c_proj", kWidth, 0.2));
    layers.push_back(
        {{"name", h + "add_1"}, {"type", "add"}, {"inputs", {stream, h + "attn.c_proj"}}});
    layers.push_back({{"name", h + "ln_2"}, {"type", "layernorm"}});
    layers.push_back(lin(h + "mlp.c_fc", 4 * kWidth, 0.3));
    layers.push_back({{"name", h + "mlp.gelu"}, {"type", "gelu"}});
    layers.push_back(lin(h + "mlp.c_proj", kWidth, 0.2));
    layers.push_back(
        {{"name", h + "add_2"}, {"type", "add"}, {"inputs", {h + "add_1", h + "mlp.c_proj"}}});
    stream = h + "add_2";
  }
  layers.push_back({{"name", "ln_f"}, {"type", "layernorm"}, {"inputs", {stream}}});
  core::Json head = lin("lm_head", kVocab, 0.3);
  head["bias"] = false;
  layers.push_back(head);
  layers.push_back({{"name", "loss"}, {"type", "softmax_cross_entropy"}});
  return {{"name", "tiny_gpt"},
          {"input", {{"shape", {kContext}}, {"dtype", "int64"}}},
          {"layers", layers}};
}

struct Case {
  const char* name;
  ops::OptimizerKind kind;
  double lr;
};

class GptAgainstTorch : public ::testing::TestWithParam<Case> {};

TEST_P(GptAgainstTorch, OneStageTrainingEqualsTorchInFloat64) {
  const std::string python =
      std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
  if (std::system((python + " -c 'import torch' > /dev/null 2>&1").c_str()) != 0) {
    GTEST_SKIP() << "python3-torch is not installed";
  }
  const Case c = GetParam();
  const models::Network net = models::parse_network(tiny_gpt(), "tiny_gpt");
  const models::UnitGraph units = models::group_units(net);
  const int nu = static_cast<int>(units.units.size());
  ASSERT_EQ(nu, 2 + 6 * kBlocks + 2);
  EngineSettings s;
  s.policy = &policies::get("sync");
  s.delays.assign(nu, 0);
  s.optimizer.kind = c.kind;
  s.optimizer.lr = c.lr;
  s.optimizer.momentum = 0.9;
  s.optimizer.weight_decay = 0.01;
  s.optimizer.beta1 = 0.85;
  s.optimizer.beta2 = 0.99;
  s.optimizer.eps = 1e-7;
  const auto init = initial_parameters<double>(net, units, 5);
  ops::Rng rng(17);
  std::vector<std::vector<std::int64_t>> windows(kSteps);
  for (auto& w : windows) {
    for (std::int64_t i = 0; i < kBatch * (kContext + 1); ++i) {
      w.push_back(static_cast<std::int64_t>(rng.uniform_int(kVocab)));
    }
  }
  const std::string dir = ::testing::TempDir() + "lpsim_gpt_torch_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  {
    std::ofstream out(dir + "/input.txt");
    out.precision(17);
    out << kVocab << " " << kContext << " " << kWidth << " " << kHeads << " " << kBlocks << " "
        << kSteps << " " << kBatch << "\n"
        << (c.kind == ops::OptimizerKind::kSgd ? "sgd" : "adamw") << " " << s.optimizer.lr << " "
        << s.optimizer.momentum << " " << s.optimizer.weight_decay << " " << s.optimizer.beta1
        << " " << s.optimizer.beta2 << " " << s.optimizer.eps << "\n";
    for (int u = 0; u < nu; ++u) {
      const models::Layer& l = net.layers[units.units[u].layer];
      out << l.name << ".weight " << init[u].weight.size() << "\n";
      for (Eigen::Index i = 0; i < init[u].weight.size(); ++i)
        out << init[u].weight.data()[i] << "\n";
      if (l.trains_bias()) {
        out << l.name << ".bias " << init[u].bias.size() << "\n";
        for (Eigen::Index i = 0; i < init[u].bias.size(); ++i) out << init[u].bias[i] << "\n";
      }
    }
    out << "data\n";
    for (const auto& w : windows) {
      for (std::int64_t v : w) out << v << "\n";
    }
  }
  BasicTaskEngine<double> e(net, units, s, init);
  for (std::int64_t n = 0; n < kSteps; ++n) {
    ops::Mat<double> ids(kBatch, kContext);
    std::vector<std::int32_t> targets;
    for (std::int64_t b = 0; b < kBatch; ++b) {
      for (std::int64_t t = 0; t < kContext; ++t) {
        ids(b, t) = static_cast<double>(windows[n][b * (kContext + 1) + t]);
        targets.push_back(static_cast<std::int32_t>(windows[n][b * (kContext + 1) + t + 1]));
      }
    }
    e.load(n, ids, targets);
    for (int u = 0; u < nu; ++u) e.forward(u, n);
    e.loss(n);
    for (int u = nu - 1; u >= 0; --u) {
      if (e.has_backward_activation(u)) e.backward_activation(u, n);
      e.backward_weight(u, n);
      e.update(u, n);
    }
  }
  const std::string script =
      std::string(LPSIM_SOURCE_DIR) + "/tests/unit/workloads/reference/gpt_torch.py";
  ASSERT_EQ(std::system((python + " " + script + " " + dir).c_str()), 0);
  std::ifstream in(dir + "/output.txt");
  // The key bias (columns [C, 2C) of each c_attn bias) has a zero gradient in exact arithmetic:
  // a constant added to every key adds q·b to a whole row of scores, which the softmax ignores.
  // Both implementations therefore feed AdamW rounding noise (about 1e-17), which its
  // normalisation m/(√s + eps) scales up to about lr·noise/eps per step; those entries get that
  // bound, every other entry 1e-12.
  double worst = 0.0, worst_key_bias = 0.0, moved = 0.0;
  const auto final_params = e.parameters();
  for (int u = 0; u < nu; ++u) {
    const models::Layer& l = net.layers[units.units[u].layer];
    const bool attn_bias = l.name.find("c_attn") != std::string::npos;
    auto compare = [&](const double* p, const double* p0, Eigen::Index n, bool bias) {
      for (Eigen::Index i = 0; i < n; ++i) {
        double v = 0.0;
        ASSERT_TRUE(in >> v) << l.name;
        const bool key_bias = bias && attn_bias && i >= kWidth && i < 2 * kWidth;
        double& w = key_bias ? worst_key_bias : worst;
        w = std::max(w, std::abs(v - p[i]));
        moved = std::max(moved, std::abs(p[i] - p0[i]));
      }
    };
    compare(final_params[u].weight.data(), init[u].weight.data(), init[u].weight.size(), false);
    if (l.trains_bias()) {
      compare(final_params[u].bias.data(), init[u].bias.data(), init[u].bias.size(), true);
    }
  }
  EXPECT_GT(moved, 1e-3);  // it trained
  EXPECT_LE(worst, 1e-12);
  const double noise_bound = c.kind == ops::OptimizerKind::kAdamw
                                 ? static_cast<double>(kSteps) * c.lr * 1e-16 / s.optimizer.eps
                                 : 1e-12;
  EXPECT_LE(worst_key_bias, noise_bound);
  std::cout << "  " << c.name << ": lpsim vs torch (float64), " << kSteps << " steps: max |ΔW| "
            << worst << ", key biases " << worst_key_bias << " (bound " << noise_bound
            << "; largest move " << moved << ")\n";
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Optimizers, GptAgainstTorch,
                         ::testing::Values(Case{"sgd", ops::OptimizerKind::kSgd, 0.1},
                                           Case{"adamw", ops::OptimizerKind::kAdamw, 0.01}),
                         [](const auto& test) { return std::string(test.param.name); });

}  // namespace
}  // namespace lpsim::reference::gpt_torch_test
