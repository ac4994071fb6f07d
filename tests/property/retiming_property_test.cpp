// Retiming invariants over random DAGs and random contiguous partitions.
// Replay a failure with LPSIM_SEED=<seed printed in the failure message>.

#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <random>

#include "core/errors.h"
#include "dataflow/partition.h"
#include "dataflow/training_graph.h"

namespace lpsim::dataflow {
namespace {

std::uint64_t base_seed() {
  const char* env = std::getenv("LPSIM_SEED");
  return env != nullptr ? std::strtoull(env, nullptr, 10) : 20261123;
}

// A random network of `n` linear layers (width 8) on a flat input, with ReLUs, residual
// adds and layers that read from earlier layers (skip edges into parametrised layers).
core::Json random_network(std::mt19937_64& rng, int n) {
  auto coin = [&](int percent) { return static_cast<int>(rng() % 100) < percent; };
  core::Json layers = core::Json::array();
  std::vector<std::string> outputs = {"input"};  // tensors of width 8 available
  for (int i = 0; i < n; ++i) {
    const std::string name = "l" + std::to_string(i);
    std::string from = outputs.back();
    if (coin(30)) from = outputs[rng() % outputs.size()];
    layers.push_back({{"name", name}, {"type", "linear"}, {"out_features", 8}, {"inputs", {from}}});
    std::string out = name;
    if (coin(50)) {
      layers.push_back({{"name", name + "r"}, {"type", "relu"}, {"inputs", {out}}});
      out = name + "r";
    }
    if (outputs.size() > 1 && coin(35)) {
      const std::string other = outputs[1 + rng() % (outputs.size() - 1)];
      layers.push_back({{"name", name + "a"}, {"type", "add"}, {"inputs", {out, other}}});
      out = name + "a";
    }
    outputs.push_back(out);
  }
  layers.push_back(
      {{"name", "head"}, {"type", "linear"}, {"out_features", 3}, {"inputs", {outputs.back()}}});
  layers.push_back({{"name", "loss"}, {"type", "softmax_cross_entropy"}});
  // Every layer must reach the loss: feed unused outputs into the head through adds.
  return {{"name", "random"}, {"input", {{"shape", {8}}}}, {"layers", layers}};
}

// Drops layers that do not reach the loss by re-running the generator until it is valid.
models::Network valid_random_network(std::mt19937_64& rng, int n) {
  for (;;) {
    const core::Json doc = random_network(rng, n);
    try {
      return models::parse_network(doc, "random");
    } catch (const core::ConfigError&) {
      // A dead branch; draw again.
    }
  }
}

Partition random_partition(std::mt19937_64& rng, const UnitGraph& units) {
  const int n = static_cast<int>(units.units.size());
  StageSpec spec;
  spec.kind = StageSpec::Kind::kCounts;
  std::int64_t left = n;
  while (left > 0) {
    const std::int64_t c = 1 + static_cast<std::int64_t>(rng() % left);
    spec.counts.push_back(c);
    left -= c;
  }
  return make_partition(units, spec, "random", "");
}

// Every simple cycle, as lists of edge indices (small graphs only).
std::vector<std::vector<int>> simple_cycles(const TrainingGraph& g, std::size_t cap) {
  const int n = static_cast<int>(g.nodes.size());
  std::vector<std::vector<int>> out_edges(n);
  for (std::size_t i = 0; i < g.edges.size(); ++i)
    out_edges[g.edges[i].src].push_back(static_cast<int>(i));
  std::vector<std::vector<int>> cycles;
  std::vector<int> path;
  std::vector<bool> on_path(n, false);
  std::function<void(int, int)> dfs = [&](int start, int v) {
    if (cycles.size() >= cap) return;
    for (int ei : out_edges[v]) {
      const int w = g.edges[ei].dst;
      if (w < start) continue;
      if (w == start) {
        path.push_back(ei);
        cycles.push_back(path);
        path.pop_back();
      } else if (!on_path[w]) {
        on_path[w] = true;
        path.push_back(ei);
        dfs(start, w);
        path.pop_back();
        on_path[w] = false;
      }
    }
  };
  for (int s = 0; s < n; ++s) {
    on_path[s] = true;
    dfs(s, s);
    on_path[s] = false;
  }
  return cycles;
}

TEST(RetimingProperty, RandomDagsAndPartitionsKeepEveryInvariant) {
  const std::uint64_t seed0 = base_seed();
  std::size_t total_cycles = 0;
  for (int trial = 0; trial < 300; ++trial) {
    const std::uint64_t seed = seed0 + trial;
    SCOPED_TRACE("LPSIM_SEED=" + std::to_string(seed));
    std::mt19937_64 rng(seed);
    const models::Network net = valid_random_network(rng, 2 + static_cast<int>(rng() % 8));
    const UnitGraph units = group_units(net);
    const Partition part = random_partition(rng, units);
    const auto policy = rng() % 2 ? &policies::get("stash") : &policies::get("ema_grad");
    const TrainingGraph g = build_training_graph(net, units, part, *policy, 4);

    for (const auto& e : g.edges) {
      ASSERT_GE(e.delay, 0);
      const int from = g.nodes[e.src].stage, to = g.nodes[e.dst].stage;
      if (e.kind == EdgeKind::kActivation) {
        ASSERT_EQ(e.delay, to - from);
      }
      if (e.kind == EdgeKind::kGradient) {
        ASSERT_EQ(e.delay, from - to);
      }
    }
    for (const auto& l : g.layers) {
      ASSERT_EQ(l.stages_after, part.num_stages - 1 - part.stage_of_unit[l.unit]);
      ASSERT_EQ(l.delay, 2 * l.stages_after);
    }
    const auto cycles = simple_cycles(g, 50000);
    ASSERT_FALSE(cycles.empty());
    const std::vector<double> t = node_ops(g);
    double brute_bound = 0.0;
    for (const auto& c : cycles) {
      std::int64_t before = 0, after = 0;
      double time = 0.0;
      for (int ei : c) {
        before += g.edges[ei].initial_delay;
        after += g.edges[ei].delay;
        time += t[g.edges[ei].src];
      }
      ASSERT_EQ(after, before);
      ASSERT_GE(after, 1);
      brute_bound = std::max(brute_bound, time / static_cast<double>(after));
    }
    total_cycles += cycles.size();
    if (cycles.size() < 50000) {
      const CycleRatio bound = iteration_bound(t, g.arcs(), g.retimed_delays());
      ASSERT_NEAR(bound.ratio, brute_bound, 1e-9 * brute_bound);
    }
  }
  std::printf("checked %zu simple cycles\n", total_cycles);
}

}  // namespace
}  // namespace lpsim::dataflow
