// Cycles, staleness and memory of the hardware run against the formulas.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sim/hardware/pipeline.h"
#include "system_test_util.h"

namespace lpsim {
namespace {

hardware::MemoryPeaks sum_peaks(const std::vector<hardware::MemoryPeaks>& stages) {
  hardware::MemoryPeaks t;
  for (const auto& m : stages) t += m;
  return t;
}

TEST(HardwareMemory, StashGrowsAsSumOfDelayTimesWeights) {
  run::Job job = testing::synthetic_job("mlp6", "stash", "per_layer", 1);
  const auto [plan, hw] = testing::run_planned(job, hardware::RunOptions{});
  const hardware::MemoryPeaks measured = sum_peaks(hw.stage_memory);
  // fc2..fc5 have a Ba and delays 8, 6, 4, 2 (fc1 has no Ba; fc6 no delay).
  const std::uint64_t expected =
      4 * (8 * 256 * 256 + 6 * 256 * 256 + 4 * 256 * 256 + 2 * 128 * 256);
  EXPECT_EQ(measured[hw::MemoryKind::kStash], expected);
  EXPECT_EQ(sum_peaks(hw.stage_memory_analytic)[hw::MemoryKind::kStash], expected);
  EXPECT_EQ(measured[hw::MemoryKind::kEma], 0u);
  EXPECT_EQ(measured[hw::MemoryKind::kActivations],
            sum_peaks(hw.stage_memory_analytic)[hw::MemoryKind::kActivations]);
}

TEST(HardwareMemory, EmaCostsOneTensorPerDelayedLayer) {
  run::Job job = testing::synthetic_job("mlp6", "ema_grad", "per_layer", 1);
  const auto [plan, hw] = testing::run_planned(job, hardware::RunOptions{});
  const hardware::MemoryPeaks measured = sum_peaks(hw.stage_memory);
  const std::uint64_t expected = 4 * (3 * 256 * 256 + 128 * 256);
  EXPECT_EQ(measured[hw::MemoryKind::kEma], expected);
  EXPECT_EQ(sum_peaks(hw.stage_memory_analytic)[hw::MemoryKind::kEma], expected);
  EXPECT_EQ(measured[hw::MemoryKind::kStash], 0u);
  // Activations held for Bw: (2·S(l) + 1)·B·a_l per layer.
  const std::uint64_t b = 16;
  const std::uint64_t acts = 4 * b * (11 * 784 + 9 * 256 + 7 * 256 + 5 * 256 + 3 * 256 + 1 * 128);
  EXPECT_EQ(measured[hw::MemoryKind::kActivations], acts);
}

// Optimizer state per layer (ARCHITECTURE.md §5, §2c): |W| + |b| under sgd (the momentum), twice
// that under adamw (m and s), in the measured and analytic peaks and the memory plan; and U's
// vector work is the rule's: 2 lane operations per parameter under sgd, 12 under adamw.
// SystemC elaborates one design per process: one kind per test.
class OptimizerMemory : public ::testing::TestWithParam<std::string> {};

TEST_P(OptimizerMemory, StateIsOneTensorUnderSgdAndTwoUnderAdamw) {
  const bool adamw = GetParam() == "adamw";
  const std::uint64_t tensors = adamw ? 2 : 1;
  const std::int64_t lane_ops = adamw ? 12 : 2;
  // mlp3 per layer, one layer per processor: fc1 784·256 + 256, fc2 256·128 + 128, fc3 128·10 + 10.
  const std::vector<std::uint64_t> params = {784 * 256 + 256, 256 * 128 + 128, 128 * 10 + 10};
  run::Job job = testing::synthetic_job(
      "mlp3", "stash", "per_layer", 1,
      {"/workload/optimizer/kind=" + GetParam(), "/workload/optimizer/lr=0.001"});
  const auto [plan, hw] = testing::run_planned(job, hardware::RunOptions{});
  ASSERT_EQ(hw.stage_memory.size(), 3u);
  for (std::size_t u = 0; u < 3; ++u) {
    const int p = plan.program.processor_of_node[plan.graph.update_node[u]];
    const std::uint64_t expected = 4 * tensors * params[u];
    EXPECT_EQ(hw.stage_memory[p][hw::MemoryKind::kOptimizer], expected) << u;
    EXPECT_EQ(hw.stage_memory_analytic[p][hw::MemoryKind::kOptimizer], expected) << u;
    EXPECT_EQ(
        plan.memory.pe[p].resident_bytes[static_cast<std::size_t>(hw::MemoryKind::kOptimizer)],
        expected)
        << u;
    EXPECT_EQ(plan.graph.nodes[plan.graph.update_node[u]].work.vector_ops,
              lane_ops * static_cast<std::int64_t>(params[u]))
        << u;
  }
}

INSTANTIATE_TEST_SUITE_P(Kinds, OptimizerMemory, ::testing::Values("sgd", "adamw"));

TEST(HardwareTiming, SteadyStateIsSetByTheSlowestStage) {
  run::Job job = testing::synthetic_job("mlp6", "none", "per_layer", 3);
  hardware::RunOptions options;
  options.math = false;
  const auto [plan, hw] = testing::run_planned(job, options);
  std::vector<std::uint64_t> stage_cycles(plan.graph.num_stages, 0);
  std::uint64_t all = 0;
  for (std::size_t v = 0; v < plan.graph.nodes.size(); ++v) {
    stage_cycles[plan.graph.nodes[v].stage] += plan.costs[v].cycles;
    all += plan.costs[v].cycles;
  }
  const std::uint64_t slowest = *std::max_element(stage_cycles.begin(), stage_cycles.end());
  // fc1's stage (784 inputs) is the bottleneck and never waits: one beat per minibatch.
  ASSERT_GE(hw.steady_state_from, 0);
  EXPECT_DOUBLE_EQ(hw.cycles_per_minibatch, static_cast<double>(slowest));
  EXPECT_LT(hw.cycles_per_minibatch, static_cast<double>(all));
  EXPECT_GE(hw.total_cycles, static_cast<std::uint64_t>(hw.minibatches) * slowest);
}

TEST(HardwareTiming, OneStageRunsEveryTaskBackToBack) {
  run::Job job = testing::synthetic_job("mlp3", "sync", "per_layer", 1);
  hardware::RunOptions options;
  options.math = false;
  const auto [plan, hw] = testing::run_planned(job, options);
  std::uint64_t per_minibatch = 0;
  for (const auto& c : plan.costs) per_minibatch += c.cycles;
  EXPECT_EQ(hw.total_cycles, per_minibatch * static_cast<std::uint64_t>(hw.minibatches));
  EXPECT_EQ(hw.link_bytes, 0u);
}

}  // namespace
}  // namespace lpsim
