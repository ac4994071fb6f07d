// The retimed training graph as JSON and as Graphviz DOT (dataflow/export.h), on mlp3 with
// one stage per layer under `stash` and on a two-node graph built by hand. The expected
// delays follow ARCHITECTURE.md §3 (d_l = 2·S(l), one delay per stage boundary on forward
// and backward edges, the update loop keeping 2·S(l) + 1); both outputs are parsed back.
#include "dataflow/export.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "workloads/models/builtin.h"
#include "workloads/policies/policy.h"

namespace lpsim::dataflow {
namespace {

// mlp3 (784-256-128-10), batch 4, stages per layer (fc1 | fc2 | fc3 + loss), `stash`.
struct ExportedMlp3 {
  models::Network net;
  UnitGraph units;
  TrainingGraph graph;
};

ExportedMlp3 exported_mlp3() {
  ExportedMlp3 b{models::builtin_model("mlp3"), {}, {}};
  b.units = group_units(b.net);
  b.graph = build_training_graph(b.net, b.units, make_partition(b.units, StageSpec{}, "test", ""),
                                 policies::get("stash"), 4);
  return b;
}

// Node v costs v: distinct costs, so a sum over the wrong nodes shows.
std::vector<double> export_index_costs(const TrainingGraph& g) {
  std::vector<double> cost;
  for (std::size_t v = 0; v < g.nodes.size(); ++v) cost.push_back(static_cast<double>(v));
  return cost;
}

// The nodes in build order (training_graph.cpp): In; per unit F, Ba (not for fc1, fed only
// by the input), Bw, U; then the loss.
const std::vector<std::string> kExportMlp3Nodes = {"In",     "F:fc1",  "Bw:fc1", "U:fc1", "F:fc2",
                                                   "Ba:fc2", "Bw:fc2", "U:fc2",  "F:fc3", "Ba:fc3",
                                                   "Bw:fc3", "U:fc3",  "Loss"};

// One edge as the hand derivation gives it: from, to, kind, retimed delay.
struct ExportEdge {
  std::string from, to, kind;
  std::int64_t delay;
};

// Stages: fc1 0, fc2 1, fc3 and the loss 2, so d = 4, 2, 0. Forward and gradient edges hold
// one delay per boundary crossed; F_l -> Bw_l holds d_l (the path F_l -> loss -> Bw_l has
// d_l boundaries and no other delay); Bw -> U holds 0, so U -> F holds the rest of the loop's
// 2·S + 1, i.e. 1; the stash edge F_l -> Ba_l holds the boundaries of F_l -> loss -> Ba_l,
// d_l. Order: the data edges by consumer, the loss's, then per unit its own.
const std::vector<ExportEdge> kExportMlp3Edges = {
    {"In", "F:fc1", "activation", 0},
    {"F:fc1", "F:fc2", "activation", 1},
    {"Ba:fc2", "Bw:fc1", "gradient", 1},
    {"F:fc2", "F:fc3", "activation", 1},
    {"Ba:fc3", "Ba:fc2", "gradient", 1},
    {"Ba:fc3", "Bw:fc2", "gradient", 1},
    {"F:fc3", "Loss", "activation", 0},
    {"Loss", "Ba:fc3", "gradient", 0},
    {"Loss", "Bw:fc3", "gradient", 0},
    {"F:fc1", "Bw:fc1", "stored_activation", 4},
    {"Bw:fc1", "U:fc1", "weight_gradient", 0},
    {"U:fc1", "F:fc1", "weights", 1},
    {"F:fc2", "Bw:fc2", "stored_activation", 2},
    {"Bw:fc2", "U:fc2", "weight_gradient", 0},
    {"U:fc2", "F:fc2", "weights", 1},
    {"F:fc2", "Ba:fc2", "stashed_weights", 2},
    {"F:fc3", "Bw:fc3", "stored_activation", 0},
    {"Bw:fc3", "U:fc3", "weight_gradient", 0},
    {"U:fc3", "F:fc3", "weights", 1},
    {"F:fc3", "Ba:fc3", "stashed_weights", 0},
};

TEST(GraphJson, Mlp3PerLayerStashHasTheDerivedLayersNodesAndEdges) {
  const ExportedMlp3 b = exported_mlp3();
  const core::Json j = graph_to_json(b.graph, export_index_costs(b.graph), "cycles");
  // What the JSON promises survives a text round trip.
  ASSERT_EQ(core::Json::parse(j.dump()), j);

  EXPECT_EQ(j.at("stages"), 3);
  EXPECT_EQ(j.at("batch_size"), 4);
  EXPECT_EQ(j.at("policy"), "stash");
  EXPECT_EQ(j.at("cost_unit"), "cycles");

  // Per layer: S = stages after it, delay 2·S, buffer d + 1, |W| + |b|.
  const core::Json& layers = j.at("layers");
  ASSERT_EQ(layers.size(), 3u);
  const std::vector<std::string> names = {"fc1", "fc2", "fc3"};
  const std::vector<std::int64_t> s = {2, 1, 0};
  const std::vector<std::int64_t> parameters = {784 * 256 + 256, 256 * 128 + 128, 128 * 10 + 10};
  for (std::size_t l = 0; l < 3; ++l) {
    SCOPED_TRACE(names[l]);
    EXPECT_EQ(layers[l].at("name"), names[l]);
    EXPECT_EQ(layers[l].at("stage"), l);
    EXPECT_EQ(layers[l].at("S"), s[l]);
    EXPECT_EQ(layers[l].at("delay"), 2 * s[l]);
    EXPECT_EQ(layers[l].at("buffer_depth"), 2 * s[l] + 1);
    EXPECT_EQ(layers[l].at("parameters"), parameters[l]);
  }

  const core::Json& nodes = j.at("nodes");
  ASSERT_EQ(nodes.size(), kExportMlp3Nodes.size());
  const std::vector<int> stage = {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2};
  for (std::size_t v = 0; v < nodes.size(); ++v) {
    SCOPED_TRACE(kExportMlp3Nodes[v]);
    EXPECT_EQ(nodes[v].at("id"), v);
    EXPECT_EQ(nodes[v].at("name"), kExportMlp3Nodes[v]);
    EXPECT_EQ(nodes[v].at("stage"), stage[v]);
    EXPECT_EQ(nodes[v].at("cost"), static_cast<double>(v));
  }
  EXPECT_EQ(nodes[0].at("kind"), "input");
  EXPECT_EQ(nodes[5].at("kind"), "backward_activation");
  EXPECT_EQ(nodes[10].at("kind"), "backward_weight");
  EXPECT_EQ(nodes[11].at("kind"), "update");
  EXPECT_EQ(nodes[12].at("kind"), "loss");
  // The input and the loss belong to no layer.
  EXPECT_TRUE(nodes[0].at("layer").is_null());
  EXPECT_TRUE(nodes[12].at("layer").is_null());
  EXPECT_EQ(nodes[6].at("layer"), "fc2");
  // F:fc1 is [4 x 784]·[784 x 256] (workloads/models/cost.h: M = B, K = in, N = out) plus
  // 4·256 bias adds and 4·256 ReLUs (relu1 is attached to fc1).
  const core::Json& f1 = nodes[1];
  EXPECT_EQ(f1.at("kind"), "forward");
  EXPECT_EQ(f1.at("layer"), "fc1");
  ASSERT_EQ(f1.at("gemms").size(), 1u);
  EXPECT_EQ(f1.at("gemms")[0], (core::Json{{"m", 4}, {"n", 256}, {"k", 784}}));
  EXPECT_EQ(f1.at("macs"), 4 * 784 * 256);
  EXPECT_EQ(f1.at("vector_ops"), 2 * 4 * 256);
  // Bw:fc2 is dW = δᵀ·x: [128 x 4]·[4 x 256].
  EXPECT_EQ(nodes[6].at("gemms")[0], (core::Json{{"m", 128}, {"n", 256}, {"k", 4}}));

  const core::Json& edges = j.at("edges");
  ASSERT_EQ(edges.size(), kExportMlp3Edges.size());
  std::map<std::string, int> stage_of;
  for (std::size_t v = 0; v < kExportMlp3Nodes.size(); ++v)
    stage_of[kExportMlp3Nodes[v]] = stage[v];
  for (std::size_t i = 0; i < edges.size(); ++i) {
    const ExportEdge& want = kExportMlp3Edges[i];
    SCOPED_TRACE(want.from + " -> " + want.to);
    EXPECT_EQ(edges[i].at("from"), want.from);
    EXPECT_EQ(edges[i].at("to"), want.to);
    EXPECT_EQ(edges[i].at("kind"), want.kind);
    EXPECT_EQ(edges[i].at("delay"), want.delay);
    EXPECT_EQ(edges[i].at("buffer_depth"), want.delay + 1);
    EXPECT_EQ(edges[i].at("boundaries"), std::abs(stage_of[want.to] - stage_of[want.from]));
    // Before retiming only the update loops hold delays: 1 + d on U -> F.
    const bool update_loop = want.kind == "weights";
    const std::int64_t d = want.to == "F:fc1" ? 4 : want.to == "F:fc2" ? 2 : 0;
    EXPECT_EQ(edges[i].at("initial_delay"), update_loop ? 1 + d : 0);
  }
  // Tokens: the flattened input (4·784 floats), fc1's ReLU output (4·256), |W1| + |b1| floats.
  EXPECT_EQ(edges[0].at("bytes_per_token"), 4 * 784 * 4);
  EXPECT_EQ(edges[1].at("bytes_per_token"), 4 * 256 * 4);
  EXPECT_EQ(edges[10].at("bytes_per_token"), (784 * 256 + 256) * 4);
}

TEST(GraphJson, IterationBoundAndStageWorkFollowTheNodeCosts) {
  const ExportedMlp3 b = exported_mlp3();
  const core::Json j = graph_to_json(b.graph, export_index_costs(b.graph), "ops");
  EXPECT_EQ(j.at("cost_unit"), "ops");
  // Node v costs v. Stage 0 holds nodes 0..3, stage 1 4..7, stage 2 8..12.
  EXPECT_EQ(j.at("stage_work"), (core::Json{0 + 1 + 2 + 3, 4 + 5 + 6 + 7, 8 + 9 + 10 + 11 + 12}));
  EXPECT_EQ(j.at("stage_bound"), 50.0);
  // The cycles through one delay all run through fc3's update edge U -> F (the only edge with
  // one initial delay): F:fc3 -> Loss -> Bw:fc3 -> U:fc3 costs 8 + 12 + 10 + 11 = 41, the
  // shorter F:fc3 -> Bw:fc3 -> U:fc3 29. The other cycles hold 3 delays or more for at most
  // 6 nodes (U:fc2 -> F:fc2 -> F:fc3 -> Loss -> Ba:fc3 -> Bw:fc2: 46 / 3), so 41 is the bound.
  EXPECT_DOUBLE_EQ(j.at("iteration_bound").get<double>(), 41.0);
  const core::Json& cycle = j.at("critical_cycle");
  EXPECT_EQ(cycle.at("delays"), 1);
  EXPECT_DOUBLE_EQ(cycle.at("cost").get<double>(), 41.0);
  const std::vector<std::string> on_cycle = cycle.at("nodes").get<std::vector<std::string>>();
  EXPECT_EQ(std::set<std::string>(on_cycle.begin(), on_cycle.end()),
            (std::set<std::string>{"F:fc3", "Loss", "Bw:fc3", "U:fc3"}));
  EXPECT_EQ(on_cycle.size(), 4u);
}

// Two stages, In -> "F:a\"b" with one delay; no cycle, no layer.
TrainingGraph export_two_node_graph() {
  TrainingGraph g;
  g.num_stages = 2;
  g.batch = 2;
  g.policy = &policies::get("none");
  Node in;
  in.name = "In";
  Node f;
  f.kind = NodeKind::kForward;
  f.unit = 0;
  f.stage = 1;
  f.name = "F:a\"b\\c";
  f.retiming = 1;
  g.nodes = {in, f};
  Edge e;
  e.src = 0;
  e.dst = 1;
  e.delay = 1;
  e.boundaries = 1;
  e.buffer_depth = 2;
  e.bytes_per_token = 64;
  g.edges = {e};
  LayerTiming l;
  l.name = "a";
  l.stage = 1;
  g.layers = {l};
  return g;
}

TEST(GraphJson, AnAcyclicGraphHasNoCriticalCycle) {
  const TrainingGraph g = export_two_node_graph();
  const core::Json j = graph_to_json(g, {3.0, 5.0}, "ops");
  EXPECT_EQ(j.at("iteration_bound"), 0.0);
  EXPECT_EQ(j.at("critical_cycle"),
            (core::Json{{"nodes", core::Json::array()}, {"delays", 0}, {"cost", 0.0}}));
  EXPECT_EQ(j.at("stage_work"), (core::Json{3.0, 5.0}));
  EXPECT_EQ(j.at("stage_bound"), 5.0);
  EXPECT_EQ(j.at("nodes")[1].at("name"), "F:a\"b\\c");
  EXPECT_EQ(j.at("nodes")[1].at("layer"), "a");
  EXPECT_EQ(j.at("nodes")[1].at("retiming"), 1);
  EXPECT_EQ(j.at("edges")[0].at("bytes_per_token"), 64);
}

// A DOT file as graph_to_dot writes it: node statements per stage cluster, edge statements.
struct ExportParsedDot {
  std::string title;  // unescaped
  int clusters = 0;
  std::map<int, int> cluster_of_node;  // node id -> the cluster it is declared in
  std::map<int, std::string> label;    // unescaped
  std::map<int, std::string> color;
  struct Arrow {
    int src, dst;
    std::string attrs;
  };
  std::vector<Arrow> arrows;
  int open_braces = 0;
};

std::string export_unescape(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) ++i;
    out += s[i];
  }
  return out;
}

ExportParsedDot export_parse_dot(const std::string& dot) {
  const std::string q = R"re("((?:[^"\\]|\\.)*)")re";  // a quoted string, escapes kept
  const std::regex title_re("^  label=" + q + "; labelloc=t;.*$");
  const std::regex cluster_re(R"(^  subgraph cluster_stage(\d+) \{$)");
  const std::regex node_re(R"(^    n(\d+) \[label=)" + q +
                           R"re(, fillcolor="(#[0-9a-f]{6})"\];$)re");
  const std::regex arrow_re(R"(^  n(\d+) -> n(\d+)(?: \[(.*)\])?;$)");
  ExportParsedDot p;
  std::istringstream in(dot);
  int cluster = -1;
  std::smatch m;
  for (std::string line; std::getline(in, line);) {
    for (char c : line) p.open_braces += c == '{' ? 1 : c == '}' ? -1 : 0;
    if (std::regex_match(line, m, title_re)) {
      p.title = export_unescape(m[1]);
    } else if (std::regex_match(line, m, cluster_re)) {
      cluster = std::stoi(m[1]);
      EXPECT_EQ(cluster, p.clusters) << "clusters in stage order";
      ++p.clusters;
    } else if (std::regex_match(line, m, node_re)) {
      const int v = std::stoi(m[1]);
      EXPECT_EQ(p.cluster_of_node.count(v), 0u) << "node n" << v << " declared twice";
      p.cluster_of_node[v] = cluster;
      p.label[v] = export_unescape(m[2]);
      p.color[v] = m[3];
    } else if (std::regex_match(line, m, arrow_re)) {
      p.arrows.push_back({std::stoi(m[1]), std::stoi(m[2]), m[3]});
    }
  }
  return p;
}

TEST(GraphDot, Mlp3DrawsStagesAsClustersAndDelaysAsLabels) {
  const ExportedMlp3 b = exported_mlp3();
  const std::string title = "mlp3 \"per layer\" \\ stash";
  const std::string dot = graph_to_dot(b.graph, title);
  ASSERT_EQ(dot.rfind("digraph training {\n", 0), 0u);
  ASSERT_GE(dot.size(), 2u);
  EXPECT_EQ(dot.substr(dot.size() - 2), "}\n");
  // The title is quoted with its quote and backslash escaped.
  EXPECT_NE(dot.find(R"(label="mlp3 \"per layer\" \\ stash";)"), std::string::npos);

  const ExportParsedDot p = export_parse_dot(dot);
  EXPECT_EQ(p.open_braces, 0);
  EXPECT_EQ(p.title, title);
  EXPECT_EQ(p.clusters, 3);
  ASSERT_EQ(p.cluster_of_node.size(), kExportMlp3Nodes.size());
  std::map<NodeKind, std::string> color_of_kind;
  std::set<std::string> colors;
  for (std::size_t v = 0; v < b.graph.nodes.size(); ++v) {
    const Node& n = b.graph.nodes[v];
    const int id = static_cast<int>(v);
    ASSERT_EQ(p.cluster_of_node.count(id), 1u) << n.name;
    EXPECT_EQ(p.cluster_of_node.at(id), n.stage) << n.name;
    EXPECT_EQ(p.label.at(id), kExportMlp3Nodes[v]);
    // One fill colour per node kind, a different one for each kind.
    auto [it, fresh] = color_of_kind.emplace(n.kind, p.color.at(id));
    EXPECT_EQ(it->second, p.color.at(id)) << n.name;
    if (fresh) colors.insert(p.color.at(id));
  }
  EXPECT_EQ(color_of_kind.size(), 6u);
  EXPECT_EQ(colors.size(), 6u);

  ASSERT_EQ(p.arrows.size(), kExportMlp3Edges.size());
  std::map<std::string, int> id_of;
  for (std::size_t v = 0; v < kExportMlp3Nodes.size(); ++v)
    id_of[kExportMlp3Nodes[v]] = static_cast<int>(v);
  const std::regex delay_label(R"(label="(\d+)D")");
  for (std::size_t i = 0; i < p.arrows.size(); ++i) {
    const ExportEdge& want = kExportMlp3Edges[i];
    SCOPED_TRACE(want.from + " -> " + want.to);
    EXPECT_EQ(p.arrows[i].src, id_of.at(want.from));
    EXPECT_EQ(p.arrows[i].dst, id_of.at(want.to));
    std::smatch m;
    if (want.delay > 0) {
      ASSERT_TRUE(std::regex_search(p.arrows[i].attrs, m, delay_label)) << p.arrows[i].attrs;
      EXPECT_EQ(std::stoll(m[1]), want.delay);
    } else {
      EXPECT_FALSE(std::regex_search(p.arrows[i].attrs, m, delay_label)) << p.arrows[i].attrs;
    }
    // Weight edges (and the stash) are dashed, the kept activation dotted, the rest solid.
    const bool dashed =
        want.kind == "weights" || want.kind == "weight_gradient" || want.kind == "stashed_weights";
    EXPECT_EQ(p.arrows[i].attrs.find("style=dashed") != std::string::npos, dashed);
    EXPECT_EQ(p.arrows[i].attrs.find("style=dotted") != std::string::npos,
              want.kind == "stored_activation");
  }
}

TEST(GraphDot, NodeNamesAreEscapedAndPlainEdgesCarryOnlyTheirDelay) {
  const std::string dot = graph_to_dot(export_two_node_graph(), "t");
  const ExportParsedDot p = export_parse_dot(dot);
  EXPECT_EQ(p.open_braces, 0);
  EXPECT_EQ(p.clusters, 2);
  EXPECT_EQ(p.cluster_of_node, (std::map<int, int>{{0, 0}, {1, 1}}));
  EXPECT_EQ(p.label.at(1), "F:a\"b\\c");
  EXPECT_NE(dot.find(R"(n1 [label="F:a\"b\\c", )"), std::string::npos);
  ASSERT_EQ(p.arrows.size(), 1u);
  EXPECT_EQ(p.arrows[0].src, 0);
  EXPECT_EQ(p.arrows[0].dst, 1);
  EXPECT_EQ(p.arrows[0].attrs, "label=\"1D\"");
}

}  // namespace
}  // namespace lpsim::dataflow
