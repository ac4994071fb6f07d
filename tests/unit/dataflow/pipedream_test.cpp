// PipeDream's partitioner against brute force over every contiguous partition, its profile
// against the graph's edges, and the 1F1B stage schedule against the stage program.

#include "dataflow/pipedream.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "dataflow/task_program.h"
#include "workloads/models/builtin.h"

namespace lpsim::dataflow {
namespace {

// Every partition with at most `max_stages` stages: the least objective and the fewest
// stages that reach it.
std::pair<std::uint64_t, int> brute_force(const PipeDreamProfile& p, int max_stages) {
  const int n = static_cast<int>(p.unit_cycles.size());
  std::uint64_t best = std::numeric_limits<std::uint64_t>::max();
  int fewest = 0;
  for (std::uint32_t cuts = 0; cuts < (1u << (n - 1)); ++cuts) {
    const int stages = 1 + __builtin_popcount(cuts);
    if (stages > max_stages) continue;
    // Evaluated here from scratch, not through pipedream_bottleneck.
    std::uint64_t worst = 0, stage = 0;
    for (int u = 0; u < n; ++u) {
      stage += p.unit_cycles[u];
      if (u == n - 1 || (cuts >> u & 1u)) {
        worst = std::max(worst, stage);
        stage = 0;
        if (u < n - 1) worst = std::max(worst, p.cut_cycles[u]);
      }
    }
    if (worst < best || (worst == best && stages < fewest)) {
      best = worst;
      fewest = stages;
    }
  }
  return {best, fewest};
}

TEST(PipeDreamPartition, IsTheOptimumOfEveryContiguousPartition) {
  std::mt19937_64 rng(17);
  for (int trial = 0; trial < 400; ++trial) {
    PipeDreamProfile p;
    const int n = 1 + static_cast<int>(rng() % 11);
    // Some profiles with expensive cuts, some with free ones, some with equal costs (ties).
    const std::uint64_t cut_scale = trial % 3 == 0 ? 0 : trial % 3 == 1 ? 50 : 400;
    for (int u = 0; u < n; ++u) {
      p.unit_cycles.push_back(trial % 7 == 0 ? 10 : 1 + rng() % 200);
      if (u > 0) p.cut_cycles.push_back(cut_scale == 0 ? 0 : rng() % cut_scale);
    }
    for (int stages = 1; stages <= n + 1; ++stages) {
      const PipeDreamPartition dp = pipedream_partition(p, stages);
      const auto [best, fewest] = brute_force(p, stages);
      ASSERT_EQ(dp.bottleneck, best) << "trial " << trial << ", P = " << stages;
      EXPECT_EQ(dp.num_stages, fewest) << "ties go to fewer stages";
      EXPECT_LE(dp.num_stages, stages);
      EXPECT_EQ(pipedream_bottleneck(p, dp.stage_of_unit), dp.bottleneck);
      EXPECT_EQ(dp.stage_of_unit.back() + 1, dp.num_stages);
    }
  }
}

TEST(PipeDreamPartition, HandCheckedCases) {
  // 5 | 5 | 10 with a dear first cut: 5 5 | 10 (bottleneck 10) in two stages, not three.
  const PipeDreamProfile dear{{5, 5, 10}, {100, 0}};
  PipeDreamPartition dp = pipedream_partition(dear, 3);
  EXPECT_EQ(dp.bottleneck, 10u);
  EXPECT_EQ(dp.stage_of_unit, (std::vector<int>{0, 0, 1}));
  // 4 | 4 with a cut of 4: two stages halve the period; with a cut of 8 they gain nothing.
  dp = pipedream_partition(PipeDreamProfile{{4, 4}, {4}}, 2);
  EXPECT_EQ(dp.num_stages, 2);
  EXPECT_EQ(dp.bottleneck, 4u);
  dp = pipedream_partition(PipeDreamProfile{{4, 4}, {8}}, 2);
  EXPECT_EQ(dp.num_stages, 1);
  EXPECT_EQ(dp.bottleneck, 8u);
  // More processors than units: one unit per stage at most, and no stage that gains nothing
  // (3 | 1 2 is already 3).
  dp = pipedream_partition(PipeDreamProfile{{3, 2, 3}, {0, 0}}, 16);
  EXPECT_EQ(dp.stage_of_unit, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(dp.bottleneck, 3u);
  dp = pipedream_partition(PipeDreamProfile{{3, 1, 2}, {0, 0}}, 16);
  EXPECT_EQ(dp.stage_of_unit, (std::vector<int>{0, 1, 1}));
  EXPECT_EQ(dp.bottleneck, 3u);
}

// A built-in network's per-layer graph with random node costs and its fused task graph.
struct Profiled {
  models::Network net;
  UnitGraph units;
  TrainingGraph graph;
  TaskGraph fused;
};

Profiled profiled(const std::string& model, const Partition* partition, std::uint64_t seed) {
  Profiled s{models::builtin_model(model, {3, 32, 32}, 10), {}, {}, {}};
  s.units = group_units(s.net);
  const Partition per_layer = make_partition(s.units, StageSpec{}, "test", "");
  s.graph = build_training_graph(s.net, s.units, partition != nullptr ? *partition : per_layer,
                                 policies::get("stash"), 4);
  std::mt19937_64 rng(seed);
  std::vector<std::uint64_t> cycles, tails;
  for (const auto& n : s.graph.nodes) {
    cycles.push_back(n.kind == NodeKind::kInput ? 0 : 1 + rng() % 1000);
    tails.push_back(0);
  }
  s.fused = build_task_graph(s.graph, cycles, tails, BackwardSplit::kFused);
  return s;
}

TEST(PipeDreamProfile, ChargesEveryTensorSpanningACutToItsDirection) {
  for (const std::string model : {"mlp6", "cnn3", "resnet18"}) {
    const Profiled s = profiled(model, nullptr, 3);
    const LinkCost link{7, 16};
    const PipeDreamProfile p = pipedream_profile(s.graph, s.fused, link);
    const int nu = static_cast<int>(s.graph.layers.size());
    ASSERT_EQ(static_cast<int>(p.unit_cycles.size()), nu);
    ASSERT_EQ(static_cast<int>(p.cut_cycles.size()), nu - 1);
    std::uint64_t total = 0;
    for (auto c : p.unit_cycles) total += c;
    EXPECT_EQ(total, s.fused.total_cycles()) << model;
    // From the graph's edges: activations forward, gradients back, the loss on the last unit.
    std::vector<std::uint64_t> fwd(nu - 1, 0), bwd(nu - 1, 0);
    const auto unit = [&](int node) {
      return node == s.graph.loss_node ? nu - 1 : s.graph.nodes[node].unit;
    };
    bool skips = false;
    for (const Edge& e : s.graph.edges) {
      if (e.src == s.graph.input_node) continue;
      if (e.kind != EdgeKind::kActivation && e.kind != EdgeKind::kGradient) continue;
      const int a = unit(e.src), b = unit(e.dst);
      if (a == b) continue;
      skips = skips || std::abs(a - b) > 1;
      const auto bytes = static_cast<std::uint64_t>(e.bytes_per_token);
      for (int i = std::min(a, b); i < std::max(a, b); ++i) {
        (a < b ? fwd : bwd)[i] += (bytes + 15) / 16;
      }
    }
    for (int i = 0; i + 1 < nu; ++i) {
      EXPECT_EQ(p.cut_cycles[i], std::max(fwd[i], bwd[i])) << model << " cut " << i;
      EXPECT_GT(p.cut_cycles[i], 0u) << model << ": every cut carries a tensor";
    }
    if (model == "resnet18") {
      EXPECT_TRUE(skips) << "the shortcuts span cuts";
    }
  }
}

TEST(StageSchedule, IsTheStageProgramWithItsPeriod) {
  for (const std::string model : {"mlp6", "cnn3", "resnet18"}) {
    for (int grouped = 0; grouped < 2; ++grouped) {
      const Profiled base = profiled(model, nullptr, 5);
      // Per layer, or PipeDream's own partition into 3 stages.
      const LinkCost link{4, 32};
      const PipeDreamPartition dp =
          pipedream_partition(pipedream_profile(base.graph, base.fused, link), 3);
      const Partition three{dp.num_stages, dp.stage_of_unit};
      const Profiled s = profiled(model, grouped ? &three : nullptr, 5);
      const Schedule sched = stage_schedule(s.graph, s.fused, link);
      ASSERT_EQ(sched.processors, s.graph.num_stages);
      const Program want = stage_program(s.graph);
      const Program got = program_of(s.graph, s.fused, sched);
      ASSERT_EQ(got.num_processors, want.num_processors);
      for (int p = 0; p < want.num_processors; ++p) {
        ASSERT_EQ(got.entries[p].size(), want.entries[p].size()) << model << " processor " << p;
        for (std::size_t i = 0; i < want.entries[p].size(); ++i) {
          EXPECT_EQ(got.entries[p][i].node, want.entries[p][i].node) << model << " " << p;
          EXPECT_EQ(got.entries[p][i].lag, want.entries[p][i].lag) << model << " " << p;
        }
      }
      EXPECT_EQ(got.processor_of_node, want.processor_of_node);
      // A stage runs all of its tasks once per beat: the period is at least the busiest.
      const std::uint64_t busiest =
          *std::max_element(sched.busy_cycles.begin(), sched.busy_cycles.end());
      EXPECT_EQ(sched.lower_bound, busiest);
      EXPECT_GE(sched.period, static_cast<double>(busiest));
    }
  }
}

}  // namespace
}  // namespace lpsim::dataflow
