// The plain plan the hardware elaboration instantiates (dataflow/elaboration_plan.h), checked
// against the graph and the program it comes from.
#include "dataflow/elaboration_plan.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "workloads/models/builtin.h"

namespace lpsim::dataflow {
namespace {

struct PlanInputs {
  models::Network net;
  UnitGraph units;
  TrainingGraph graph;
};

PlanInputs build_plan(const std::string& model, const policies::Policy* policy,
                      ops::Shape input = {1, 28, 28}) {
  PlanInputs b{models::builtin_model(model, input, 10), {}, {}};
  b.units = group_units(b.net);
  b.graph = build_training_graph(b.net, b.units, make_partition(b.units, StageSpec{}, "test", ""),
                                 *policy, 8);
  return b;
}

// The invariants every plan keeps, whatever the program.
void expect_consistent(const TrainingGraph& g, const Program& program,
                       const ElaborationPlan& plan) {
  const std::vector<std::vector<Dependency>> deps = node_dependencies(g);
  std::set<int> read;
  for (const auto& d : deps) {
    for (const auto& dep : d) {
      if (dep.edge >= 0) read.insert(dep.edge);
    }
  }
  ASSERT_EQ(plan.buffers.size(), read.size());
  std::set<std::pair<int, int>> links(plan.links.begin(), plan.links.end());
  EXPECT_EQ(links.size(), plan.links.size()) << "a link listed twice";
  std::set<std::pair<int, int>> needed;
  for (const BufferPlan& b : plan.buffers) {
    ASSERT_TRUE(read.count(b.edge)) << b.name;
    const Edge& e = g.edges[b.edge];
    EXPECT_GE(b.depth, e.buffer_depth) << b.name;
    EXPECT_EQ(b.bytes_per_entry, e.bytes_per_token) << b.name;
    EXPECT_EQ(b.producer, program.processor_of_node[e.src]) << b.name;
    EXPECT_EQ(b.consumer, program.processor_of_first_part[e.dst]) << b.name;
    EXPECT_EQ(b.name.find_first_of(".:"), std::string::npos) << b.name;
    if (b.producer != b.consumer) needed.insert({b.producer, b.consumer});
  }
  for (const BufferPlan& b : plan.split_buffers) {
    EXPECT_EQ(b.depth, 2);
    if (b.producer != b.consumer) needed.insert({b.producer, b.consumer});
  }
  EXPECT_EQ(links, needed);
  // Every data edge some node reads leaves its producer exactly once.
  std::multiset<int> sent;
  for (std::size_t v = 0; v < plan.out_edges.size(); ++v) {
    for (int e : plan.out_edges[v]) {
      EXPECT_EQ(g.edges[e].src, static_cast<int>(v));
      sent.insert(e);
    }
  }
  EXPECT_EQ(std::set<int>(sent.begin(), sent.end()), read);
  EXPECT_EQ(sent.size(), read.size());
  // Ba's lag behind U, per layer: none without a Ba; the program's own lags otherwise.
  ASSERT_EQ(plan.backward_lag.size(), g.layers.size());
  for (std::size_t u = 0; u < g.layers.size(); ++u) {
    if (g.ba_node[u] < 0) {
      EXPECT_EQ(plan.backward_lag[u], 0) << u;
    }
  }
}

TEST(ElaborationPlan, StageProgramUsesTheGraphsDepthsAndDelays) {
  for (const policies::Policy* policy : policies::all()) {
    if (!policy->pipelined) continue;  // one stage: nothing to pipeline
    const PlanInputs b = build_plan("cnn3", policy);
    const Program program = stage_program(b.graph);
    const ElaborationPlan plan = plan_elaboration(b.graph, program, nullptr, nullptr);
    SCOPED_TRACE(policy->name);
    expect_consistent(b.graph, program, plan);
    EXPECT_EQ(plan.processors, program.num_processors);
    EXPECT_TRUE(plan.split_buffers.empty());
    for (const BufferPlan& buf : plan.buffers) {
      EXPECT_EQ(buf.depth, b.graph.edges[buf.edge].buffer_depth) << buf.name;
    }
    // The stage program runs a layer's Ba before its U in the same beat: never later, so a
    // stash needs no versions beyond d.
    for (std::size_t u = 0; u < b.graph.layers.size(); ++u) {
      if (b.graph.ba_node[u] >= 0) {
        EXPECT_LE(plan.backward_lag[u], 0) << u;
      }
    }
    // Per-layer stages: consecutive stages exchange data, so there are links.
    EXPECT_FALSE(plan.links.empty());
  }
}

TEST(ElaborationPlan, ScheduledProgramsKeepTheInvariants) {
  const PlanInputs b = build_plan("resnet18", &policies::get("stash"), {3, 8, 8});
  std::mt19937_64 rng(7);
  std::vector<std::uint64_t> cycles, tails;
  for (const auto& n : b.graph.nodes) {
    const std::uint64_t c = n.kind == NodeKind::kInput ? 0 : 1 + rng() % 1000;
    cycles.push_back(c);
    tails.push_back(n.tail_work.vector_ops > 0 ? rng() % (c + 1) : 0);
  }
  const ScheduleSweep sweep = sweep_schedules(b.graph, cycles, tails, 4, LinkCost{10, 64});
  bool any_split = false;
  for (std::size_t mi = 0; mi < sweep.graphs.size(); ++mi) {
    for (int p = 1; p <= 4; ++p) {
      const Schedule& s = sweep.schedules[mi][p - 1];
      const Program program = program_of(b.graph, sweep.graphs[mi], s);
      const ElaborationPlan plan = plan_elaboration(b.graph, program, &sweep.graphs[mi], &s);
      SCOPED_TRACE("split " + std::to_string(mi) + ", P = " + std::to_string(p));
      expect_consistent(b.graph, program, plan);
      any_split = any_split || !plan.split_buffers.empty();
      if (p == 1) {
        EXPECT_TRUE(plan.links.empty());
      }
    }
  }
  EXPECT_TRUE(any_split) << "intra+inter splits some Ba into product and tail";
}

TEST(ElaborationPlan, ModuleNamesHaveNoDotsOrColons) {
  EXPECT_EQ(module_name("F:layer1.0.conv1"), "F_layer1_0_conv1");
  EXPECT_EQ(module_name("plain"), "plain");
}

}  // namespace
}  // namespace lpsim::dataflow
