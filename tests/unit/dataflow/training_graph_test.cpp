// Delays, retiming and buffer depths of the training graph on the built-in models.

#include "dataflow/training_graph.h"

#include <gtest/gtest.h>

#include <map>

#include "workloads/models/builtin.h"

namespace lpsim::dataflow {
namespace {

struct Built {
  models::Network net;
  UnitGraph units;
  TrainingGraph graph;
};

Built build(const std::string& model, const StageSpec& spec,
            const policies::Policy* policy = &policies::get("none"),
            ops::Shape input = {1, 28, 28}) {
  Built b{models::builtin_model(model, input, 10), {}, {}};
  b.units = group_units(b.net);
  const Partition p = policy == &policies::get("sync") ? single_stage(b.units)
                                                       : make_partition(b.units, spec, "test", "");
  b.graph = build_training_graph(b.net, b.units, p, *policy, 32);
  return b;
}

StageSpec counts(std::vector<std::int64_t> c) {
  StageSpec s;
  s.kind = StageSpec::Kind::kCounts;
  s.counts = std::move(c);
  return s;
}

std::vector<std::int64_t> delays(const TrainingGraph& g) {
  std::vector<std::int64_t> d;
  for (const auto& l : g.layers) d.push_back(l.delay);
  return d;
}

TEST(LayerDelays, Mlp6PerLayerIsTwiceStagesAfter) {
  const Built b = build("mlp6", StageSpec{});
  EXPECT_EQ(delays(b.graph), (std::vector<std::int64_t>{10, 8, 6, 4, 2, 0}));
  for (const auto& l : b.graph.layers) {
    EXPECT_EQ(l.delay, 2 * l.stages_after);
    EXPECT_EQ(l.buffer_depth, l.delay + 1);
  }
}

TEST(LayerDelays, Mlp6ThreeStagesOfTwoShareDelays) {
  const Built b = build("mlp6", counts({2, 2, 2}));
  EXPECT_EQ(delays(b.graph), (std::vector<std::int64_t>{4, 4, 2, 2, 0, 0}));
}

TEST(LayerDelays, SyncHasNoDelayAnywhere) {
  const Built b = build("mlp6", StageSpec{}, &policies::get("sync"));
  EXPECT_EQ(b.graph.num_stages, 1);
  for (const auto& e : b.graph.edges) {
    const bool weight_register = e.kind == EdgeKind::kWeights;
    EXPECT_EQ(e.delay, weight_register ? 1 : 0)
        << b.graph.nodes[e.src].name << " -> " << b.graph.nodes[e.dst].name;
  }
}

TEST(Retiming, ForwardAndBackwardEdgesHoldOneDelayPerBoundary) {
  const Built b = build("mlp6", counts({1, 3, 2}));
  for (const auto& e : b.graph.edges) {
    const int from = b.graph.nodes[e.src].stage, to = b.graph.nodes[e.dst].stage;
    if (e.kind == EdgeKind::kActivation) {
      EXPECT_EQ(e.delay, to - from);
    }
    if (e.kind == EdgeKind::kGradient) {
      EXPECT_EQ(e.delay, from - to);
    }
    if (e.kind == EdgeKind::kStoredActivation) {
      EXPECT_EQ(e.delay, b.graph.layers[b.graph.nodes[e.src].unit].delay);
    }
    if (e.kind == EdgeKind::kWeights) {
      EXPECT_EQ(e.delay, 1);
    }
    if (e.kind == EdgeKind::kWeightGradient) {
      EXPECT_EQ(e.delay, 0);
    }
    EXPECT_EQ(e.delay,
              e.initial_delay + b.graph.nodes[e.dst].retiming - b.graph.nodes[e.src].retiming);
  }
}

TEST(Retiming, UpdateLoopCarriesTwoSPlusOneBeforeAndAfter) {
  const Built b = build("mlp6", StageSpec{});
  for (std::size_t u = 0; u < b.graph.layers.size(); ++u) {
    std::int64_t before = 0, after = 0;
    for (const auto& e : b.graph.edges) {
      const bool in_loop = (e.src == b.graph.forward_node[u] && e.dst == b.graph.bw_node[u]) ||
                           (e.src == b.graph.bw_node[u] && e.dst == b.graph.update_node[u]) ||
                           (e.src == b.graph.update_node[u] && e.dst == b.graph.forward_node[u]);
      if (!in_loop) continue;
      before += e.initial_delay;
      after += e.delay;
    }
    EXPECT_EQ(before, 2 * b.graph.layers[u].stages_after + 1);
    EXPECT_EQ(after, before);
  }
}

TEST(Retiming, StashKeepsTheForwardWeightForDLBeats) {
  const Built b = build("mlp3", StageSpec{}, &policies::get("stash"));
  int stash_edges = 0;
  for (const auto& e : b.graph.edges) {
    if (e.kind != EdgeKind::kStashedWeights) continue;
    ++stash_edges;
    EXPECT_EQ(e.delay, b.graph.layers[b.graph.nodes[e.src].unit].delay);
  }
  EXPECT_EQ(stash_edges, 2);  // fc2 and fc3; fc1 has no Ba
}

TEST(Resnet18, FourStagesShareDelaysAndSkipEdgesCountBoundaries) {
  const Built b = build("resnet18", counts({10, 10, 10, 11}), &policies::get("none"), {3, 32, 32});
  ASSERT_EQ(b.graph.layers.size(), 41u);  // 20 conv + 20 batch norm + fc
  std::map<int, std::int64_t> delay_of_stage;
  for (const auto& l : b.graph.layers) {
    auto [it, fresh] = delay_of_stage.emplace(l.stage, l.delay);
    EXPECT_EQ(it->second, l.delay) << l.name;
    EXPECT_EQ(l.delay, 2 * (3 - l.stage)) << l.name;
  }
  int skip_edges = 0, skips_crossing = 0;
  for (const auto& e : b.graph.edges) {
    if (e.kind != EdgeKind::kActivation && e.kind != EdgeKind::kGradient) continue;
    const Node& src = b.graph.nodes[e.src];
    const Node& dst = b.graph.nodes[e.dst];
    const int crossed = std::abs(dst.stage - src.stage);
    EXPECT_EQ(e.delay, crossed) << src.name << " -> " << dst.name;
    const bool skip = e.kind == EdgeKind::kActivation && src.unit >= 0 && dst.unit >= 0 &&
                      dst.unit != src.unit + 1;
    if (skip) {
      ++skip_edges;
      if (crossed > 0) ++skips_crossing;
    }
  }
  EXPECT_GE(skip_edges, 8);      // one shortcut per basic block (identity or downsample)
  EXPECT_GE(skips_crossing, 1);  // this partition cuts through at least one block
}

TEST(Resnet18, SkipEdgeCrossingTwoBoundariesGetsTwoDelays) {
  // Stage boundaries right inside layer1.0: conv1 | bn1 | rest, so the block's identity
  // shortcut from the stem (stage 0) into layer1.0's add (stage 2) crosses two.
  Built b{models::builtin_model("resnet18", {3, 32, 32}, 10), {}, {}};
  b.units = group_units(b.net);
  const int n = static_cast<int>(b.units.units.size());
  const Partition p = make_partition(b.units, counts({3, 1, n - 4}), "test", "");
  b.graph = build_training_graph(b.net, b.units, p, policies::get("none"), 8);
  bool found = false;
  for (const auto& e : b.graph.edges) {
    const Node& src = b.graph.nodes[e.src];
    const Node& dst = b.graph.nodes[e.dst];
    if (e.kind == EdgeKind::kActivation && src.name == "F:bn1" && dst.name == "F:layer1.0.bn2") {
      found = true;
      EXPECT_EQ(src.stage, 0);
      EXPECT_EQ(dst.stage, 2);
      EXPECT_EQ(e.delay, 2);
    }
  }
  EXPECT_TRUE(found);
}

TEST(IterationBound, SyncMlp3IsTheLongestUpdateLoop) {
  const Built b = build("mlp3", StageSpec{}, &policies::get("sync"));
  const std::vector<double> t = node_ops(b.graph);
  const CycleRatio bound = iteration_bound(t, b.graph.arcs(), b.graph.retimed_delays());
  // The loop through fc1: F1 F2 F3 Loss Ba3 Ba2 Bw1 U1 with one delay.
  const auto& g = b.graph;
  const double loop = t[g.forward_node[0]] + t[g.forward_node[1]] + t[g.forward_node[2]] +
                      t[g.loss_node] + t[g.ba_node[2]] + t[g.ba_node[1]] + t[g.bw_node[0]] +
                      t[g.update_node[0]];
  EXPECT_EQ(bound.delays, 1);
  EXPECT_DOUBLE_EQ(bound.ratio, loop);
}

TEST(IterationBound, PipeliningLowersTheBound) {
  const Built sync = build("mlp6", StageSpec{}, &policies::get("sync"));
  const Built piped = build("mlp6", StageSpec{});
  const double b_sync =
      iteration_bound(node_ops(sync.graph), sync.graph.arcs(), sync.graph.retimed_delays()).ratio;
  const double b_piped =
      iteration_bound(node_ops(piped.graph), piped.graph.arcs(), piped.graph.retimed_delays())
          .ratio;
  EXPECT_LT(b_piped, b_sync / 2);
}

TEST(Work, ConvForwardGemmMatchesLowering) {
  const Built b = build("cnn3", StageSpec{});
  const Node& f = b.graph.nodes[b.graph.forward_node[0]];  // conv1 + relu1 + pool1
  ASSERT_EQ(f.work.gemms.size(), 1u);
  EXPECT_EQ(f.work.gemms[0].m, 32 * 28 * 28);
  EXPECT_EQ(f.work.gemms[0].k, 1 * 3 * 3);
  EXPECT_EQ(f.work.gemms[0].n, 16);
  const Node& bw = b.graph.nodes[b.graph.bw_node[1]];  // conv2
  ASSERT_EQ(bw.work.gemms.size(), 1u);
  EXPECT_EQ(bw.work.gemms[0].m, 32);
  EXPECT_EQ(bw.work.gemms[0].n, 16 * 9);
  EXPECT_EQ(bw.work.gemms[0].k, 32 * 14 * 14);
}

}  // namespace
}  // namespace lpsim::dataflow
