// pipeline.activations on the SystemC hardware (ARCHITECTURE.md §4c): a recomputing stage's
// rerun trains to the reference trainer's bits under every policy (and to keep's under stash),
// costs its forward's work on the PE, holds GPipe's activations, and an offloading stage keeps
// its activations in DRAM. One design per process: every case is its own test.

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "system_test_util.h"

namespace lpsim {
namespace {

namespace activation_memory {

// A residual network with batch norm whose stage boundaries cut a skip edge:
// {c1, bn1} {c2, bn2} {c3, fc}.
std::string residual_network() {
  const std::string path =
      ::testing::TempDir() + "/recompute_resnet_" + std::to_string(::getpid()) + ".json";
  std::ofstream(path)
      << R"({"name": "recompute_resnet", "input": {"shape": [1, 28, 28]}, "layers": [
    {"name": "c1", "type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1,
     "stride": 2, "bias": false},
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
    {"name": "loss", "type": "softmax_cross_entropy"}]})";
  return path;
}

run::Job residual_job(const std::string& policy, const std::string& activations) {
  return testing::synthetic_job(
      "mlp3", policy, "[2,2,2]", 1,
      {"/workload/network_file=" + residual_network(), "/pipeline/activations=" + activations});
}

}  // namespace activation_memory

class HardwareRecomputes : public ::testing::TestWithParam<const char*> {};

// The first and last stages recompute, the middle one keeps: the hardware's R tasks run the
// engine's reruns at the simulated moments, to the reference trainer's bits; under stash that
// is keep's training, under the other policies a different one (§4c).
TEST_P(HardwareRecomputes, TrainsToTheReferenceWeights) {
  const std::string policy = GetParam();
  run::Job job = activation_memory::residual_job(policy, "[\"recompute\",\"keep\",\"recompute\"]");
  ASSERT_EQ(job.trainer.recompute_stage, (std::vector<bool>{true, false, true}));
  const reference::TrainingResult ref = reference::train_reference(
      job.network, job.units, job.trainer, job.init, job.train, job.test);
  const auto [plan, hw] = testing::run_planned(job, hardware::RunOptions{});
  EXPECT_TRUE(testing::bit_equal(ref.final_params, hw.final_params));
  EXPECT_EQ(ref.epochs.back().train_loss, hw.epochs.back().train_loss);
  ASSERT_GE(plan.graph.recompute_node[0], 0);
  EXPECT_LT(plan.graph.recompute_node[1], 0);
  ASSERT_GE(plan.graph.recompute_node[2], 0);

  run::Job keep = activation_memory::residual_job(policy, "\"keep\"");
  const reference::TrainingResult kept = reference::train_reference(
      keep.network, keep.units, keep.trainer, keep.init, keep.train, keep.test);
  EXPECT_EQ(testing::bit_equal(kept.final_params, hw.final_params), policy == "stash")
      << "recompute under " << policy << " should " << (policy == "stash" ? "" : "not ")
      << "train as keep does";
}

INSTANTIATE_TEST_SUITE_P(Policies, HardwareRecomputes,
                         ::testing::Values("stash", "ema_grad", "ema_weight", "none"));

class ActivationChoice : public ::testing::TestWithParam<const char*> {};

// cnn3 in stages {conv1, conv2} {fc}, the first stage under `choice`, timing only.
TEST_P(ActivationChoice, CostsAndHoldsWhatSection4cDefines) {
  const std::string choice = GetParam();
  run::Job job = testing::synthetic_job("cnn3", "stash", "[2,1]", 1,
                                        {"/pipeline/activations=[\"" + choice + "\",\"keep\"]"});
  hardware::RunOptions options;
  options.math = false;
  const auto [plan, hw] = testing::run_planned(job, options);
  const dataflow::TrainingGraph& g = plan.graph;
  constexpr std::uint64_t kB = 4;
  const std::uint64_t batch = 16, minibatches = hw.minibatches;
  const models::Network& net = job.network;
  // What keep holds for Bw per minibatch on stage 0 (each unit's input and what its attached
  // layers' backward reads beyond it), and the stage's input (the network's input).
  std::uint64_t stored = 0;
  for (int u : {0, 1}) {
    const models::Unit& unit = job.units.units[u];
    stored += kB * batch * static_cast<std::uint64_t>(net.layers[unit.layer].in_elements());
    for (int a : unit.attached) {
      stored += kB * batch *
                static_cast<std::uint64_t>(net.layers[a].type->saved_elements(net.layers[a]));
    }
  }
  const std::uint64_t input = kB * batch * 28 * 28;
  const std::uint64_t d = 2;  // stage 0 of 2
  const std::uint64_t activations = hw.stage_memory[0][hw::MemoryKind::kActivations];
  const std::uint64_t dram_activations =
      hw.dram_bytes_by_kind[static_cast<std::size_t>(hw::MemoryKind::kActivations)];

  if (choice == "recompute") {
    const int r = g.recompute_node[0];
    ASSERT_GE(r, 0);
    // The rerun does the forward GEMMs of conv1 and conv2 (their element-wise layers are vector
    // work: conv1's ReLU and pooling, whose backward stage 0 runs; conv2's belong to fc's
    // stage).
    std::int64_t forward_macs = 0;
    for (int u : {0, 1}) forward_macs += g.nodes[g.forward_node[u]].work.macs();
    EXPECT_EQ(g.nodes[r].work.macs(), forward_macs);
    EXPECT_GT(plan.costs[r].cycles, 0u);
    // It runs once per minibatch (every node but the input does), on stage 0's PE, just
    // before that stage's backward.
    EXPECT_EQ(hw.task_instances, static_cast<std::uint64_t>(g.nodes.size() - 1) * minibatches);
    const auto& entries = plan.program.entries[0];
    const auto at =
        std::find_if(entries.begin(), entries.end(), [&](const auto& e) { return e.node == r; });
    ASSERT_NE(at, entries.end());
    EXPECT_EQ(at->lag, static_cast<std::int64_t>(d));
    EXPECT_EQ((at + 1)->node, g.ba_node[1]);
    // GPipe's activations: the stage input for 2S+1 minibatches, one minibatch's saved tensors.
    for (const dataflow::Edge& e : g.edges) {
      if (e.kind == dataflow::EdgeKind::kStageInput) {
        EXPECT_EQ(e.buffer_depth, static_cast<std::int64_t>(d + 1));
        EXPECT_EQ(static_cast<std::uint64_t>(e.bytes_per_token), input);
      }
    }
    EXPECT_EQ(activations, (d + 1) * input + stored);
    EXPECT_EQ(dram_activations, 0u);
  } else if (choice == "keep") {
    EXPECT_LT(g.recompute_node[0], 0);
    EXPECT_EQ(activations, (d + 1) * stored);
    EXPECT_EQ(dram_activations, 0u);
    EXPECT_EQ(hw.task_instances, static_cast<std::uint64_t>(g.nodes.size() - 1) * minibatches);
  } else {  // offload: keep's residents, in DRAM, written by F and read by Bw
    EXPECT_EQ(activations, (d + 1) * stored);
    const hw::Placement& pe0 = plan.memory.pe[0];
    EXPECT_EQ(pe0.dram_bytes[static_cast<std::size_t>(hw::MemoryKind::kActivations)],
              (d + 1) * stored);
    EXPECT_EQ(pe0.sram_bytes[static_cast<std::size_t>(hw::MemoryKind::kActivations)], 0u);
    EXPECT_EQ(dram_activations, 2 * stored * minibatches);
    EXPECT_EQ(plan.memory.pe[1].dram_bytes[static_cast<std::size_t>(hw::MemoryKind::kActivations)],
              0u);
  }
}

INSTANTIATE_TEST_SUITE_P(Choices, ActivationChoice,
                         ::testing::Values("keep", "recompute", "offload"));

}  // namespace
}  // namespace lpsim
