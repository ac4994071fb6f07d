// LayerPipe's baseline program (one processor per stage) and the dependencies every driver
// waits on (dataflow/task_program.h).

#include "dataflow/task_program.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "workloads/models/builtin.h"

namespace lpsim::dataflow {
namespace {

TrainingGraph mlp6_graph(const std::string& policy) {
  const models::Network net = models::builtin_model("mlp6", {1, 28, 28}, 10);
  const UnitGraph units = group_units(net);
  const Partition p = make_partition(units, StageSpec{}, "test", "");
  return build_training_graph(net, units, p, policies::get(policy), 16);
}

TEST(StageProgram, ForwardsInOrderThenEachUnitsBackwardAtItsDelay) {
  const TrainingGraph g = mlp6_graph("stash");
  const Program prog = stage_program(g);
  ASSERT_EQ(prog.num_processors, g.num_stages);
  std::int64_t max_delay = 0;
  for (const auto& l : g.layers) max_delay = std::max(max_delay, l.delay);
  EXPECT_EQ(prog.max_lag, max_delay);
  for (std::size_t u = 0; u < g.layers.size(); ++u) {
    const LayerTiming& l = g.layers[u];
    const auto& entries = prog.entries[static_cast<std::size_t>(l.stage)];
    // F at lag 0 first, then Ba (if any), Bw, U of the same unit at lag d_u, in that order.
    const auto at = [&](int node) {
      return std::find_if(entries.begin(), entries.end(),
                          [&](const ProgramEntry& e) { return e.node == node; });
    };
    const auto f = at(g.forward_node[u]);
    const auto bw = at(g.bw_node[u]);
    const auto up = at(g.update_node[u]);
    ASSERT_NE(f, entries.end()) << l.name;
    ASSERT_NE(bw, entries.end()) << l.name;
    ASSERT_NE(up, entries.end()) << l.name;
    EXPECT_EQ(f->lag, 0) << l.name;
    EXPECT_EQ(bw->lag, l.delay) << l.name;
    EXPECT_EQ(up->lag, l.delay) << l.name;
    EXPECT_LT(f, bw) << l.name;
    EXPECT_LT(bw, up) << l.name;
    if (g.ba_node[u] >= 0) {
      const auto ba = at(g.ba_node[u]);
      ASSERT_NE(ba, entries.end()) << l.name;
      EXPECT_EQ(ba->lag, l.delay) << l.name;
      EXPECT_LT(ba, bw) << l.name;
    }
    for (int node : {g.forward_node[u], g.bw_node[u], g.update_node[u]}) {
      EXPECT_EQ(prog.processor_of_node[static_cast<std::size_t>(node)], l.stage) << l.name;
    }
  }
  // Every node but the input runs somewhere, exactly once.
  std::size_t placed = 0;
  for (const auto& e : prog.entries) placed += e.size();
  EXPECT_EQ(placed, g.nodes.size() - 1);
  EXPECT_EQ(prog.processor_of_node[static_cast<std::size_t>(g.input_node)], -1);
}

TEST(NodeDependencies, DataEdgesAndTheWeightRegistersWriteAfterRead) {
  const TrainingGraph g = mlp6_graph("none");
  const auto deps = node_dependencies(g);
  ASSERT_EQ(deps.size(), g.nodes.size());
  // Every edge not from the input is one dependency of its destination, offset = its
  // initial delay; data edges carry their index, the weight register's none.
  for (std::size_t e = 0; e < g.edges.size(); ++e) {
    const Edge& edge = g.edges[e];
    if (edge.src == g.input_node) continue;
    const auto& in = deps[static_cast<std::size_t>(edge.dst)];
    const bool found = std::any_of(in.begin(), in.end(), [&](const Dependency& d) {
      return d.src == edge.src && d.offset == edge.initial_delay &&
             (d.edge == static_cast<int>(e) || d.edge == -1);
    });
    EXPECT_TRUE(found) << "edge " << e;
  }
  for (std::size_t u = 0; u < g.layers.size(); ++u) {
    const auto& in = deps[static_cast<std::size_t>(g.update_node[u])];
    // U_l(m) after F_l(m + d_l), which reads the W^(m+d_l) it overwrites.
    EXPECT_TRUE(std::any_of(in.begin(), in.end(), [&](const Dependency& d) {
      return d.src == g.forward_node[u] && d.offset == -g.layers[u].delay && d.edge == -1;
    })) << g.layers[u].name;
    if (g.ba_node[u] >= 0) {
      EXPECT_TRUE(std::any_of(in.begin(), in.end(), [&](const Dependency& d) {
        return d.src == g.ba_node[u] && d.offset == 0 && d.edge == -1;
      })) << g.layers[u].name;
    }
  }
}

}  // namespace
}  // namespace lpsim::dataflow
