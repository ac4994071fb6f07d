#include "dataflow/export.h"

#include <algorithm>
#include <sstream>

namespace lpsim::dataflow {

core::Json graph_to_json(const TrainingGraph& graph, const std::vector<double>& node_cost,
                         const std::string& cost_unit) {
  core::Json layers = core::Json::array();
  for (const auto& l : graph.layers) {
    layers.push_back({{"name", l.name},
                      {"stage", l.stage},
                      {"S", l.stages_after},
                      {"delay", l.delay},
                      {"buffer_depth", l.buffer_depth},
                      {"parameters", l.weight_elements}});
  }
  core::Json nodes = core::Json::array();
  for (std::size_t v = 0; v < graph.nodes.size(); ++v) {
    const Node& n = graph.nodes[v];
    core::Json gemms = core::Json::array();
    for (const auto& g : n.work.gemms) gemms.push_back({{"m", g.m}, {"n", g.n}, {"k", g.k}});
    nodes.push_back({{"id", v},
                     {"name", n.name},
                     {"kind", node_kind_name(n.kind)},
                     {"layer", n.unit == kInputUnit ? core::Json(nullptr)
                                                    : core::Json(graph.layers[n.unit].name)},
                     {"stage", n.stage},
                     {"retiming", n.retiming},
                     {"macs", n.work.macs()},
                     {"vector_ops", n.work.vector_ops},
                     {"gemms", gemms},
                     {"cost", node_cost[v]}});
  }
  core::Json edges = core::Json::array();
  for (const auto& e : graph.edges) {
    edges.push_back({{"from", graph.nodes[e.src].name},
                     {"to", graph.nodes[e.dst].name},
                     {"kind", edge_kind_name(e.kind)},
                     {"initial_delay", e.initial_delay},
                     {"delay", e.delay},
                     {"boundaries", e.boundaries},
                     {"buffer_depth", e.buffer_depth},
                     {"bytes_per_token", e.bytes_per_token}});
  }
  const CycleRatio bound = iteration_bound(node_cost, graph.arcs(), graph.retimed_delays());
  core::Json cycle = core::Json::array();
  for (int v : bound.cycle) cycle.push_back(graph.nodes[v].name);
  const std::vector<double> work = stage_work(graph, node_cost);
  return {{"stages", graph.num_stages},
          {"batch_size", graph.batch},
          {"policy", graph.policy->name},
          {"cost_unit", cost_unit},
          {"layers", layers},
          {"nodes", nodes},
          {"edges", edges},
          {"iteration_bound", bound.ratio},
          {"critical_cycle", {{"nodes", cycle}, {"delays", bound.delays}, {"cost", bound.time}}},
          {"stage_work", work},
          {"stage_bound", work.empty() ? 0.0 : *std::max_element(work.begin(), work.end())}};
}

namespace {

const char* node_color(NodeKind kind) {
  switch (kind) {
    case NodeKind::kInput:
      return "#dddddd";
    case NodeKind::kForward:
      return "#a6cee3";
    case NodeKind::kBackwardActivation:
      return "#fdbf6f";
    case NodeKind::kBackwardWeight:
      return "#fb9a99";
    case NodeKind::kUpdate:
      return "#b2df8a";
    case NodeKind::kLoss:
      return "#cab2d6";
    case NodeKind::kRecompute:
      return "#ffff99";
  }
  return "white";
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string graph_to_dot(const TrainingGraph& graph, const std::string& title) {
  std::ostringstream out;
  out << "digraph training {\n"
      << "  label=" << quoted(title) << "; labelloc=t; rankdir=LR; newrank=true;\n"
      << "  node [shape=box, style=\"rounded,filled\", fontname=Helvetica, fontsize=10];\n"
      << "  edge [fontname=Helvetica, fontsize=9];\n";
  for (int s = 0; s < graph.num_stages; ++s) {
    out << "  subgraph cluster_stage" << s << " {\n    label=\"stage " << s
        << "\"; style=dashed; color=\"#888888\";\n";
    for (std::size_t v = 0; v < graph.nodes.size(); ++v) {
      const Node& n = graph.nodes[v];
      if (n.stage != s) continue;
      out << "    n" << v << " [label=" << quoted(n.name) << ", fillcolor=\"" << node_color(n.kind)
          << "\"];\n";
    }
    out << "  }\n";
  }
  for (const auto& e : graph.edges) {
    out << "  n" << e.src << " -> n" << e.dst;
    std::string attrs;
    if (e.delay > 0) attrs += "label=\"" + std::to_string(e.delay) + "D\"";
    if (e.kind == EdgeKind::kGradient)
      attrs += std::string(attrs.empty() ? "" : ", ") + "color=\"#e6550d\"";
    if (e.kind == EdgeKind::kWeights || e.kind == EdgeKind::kWeightGradient ||
        e.kind == EdgeKind::kStashedWeights) {
      attrs += std::string(attrs.empty() ? "" : ", ") + "color=\"#31a354\", style=dashed";
    }
    if (e.kind == EdgeKind::kStoredActivation || e.kind == EdgeKind::kStageInput) {
      attrs += std::string(attrs.empty() ? "" : ", ") + "color=\"#3182bd\", style=dotted";
    }
    if (!attrs.empty()) out << " [" << attrs << "]";
    out << ";\n";
  }
  out << "}\n";
  return out.str();
}

}  // namespace lpsim::dataflow
