#include "dataflow/task_program.h"

#include "core/errors.h"

namespace lpsim::dataflow {

Program stage_program(const TrainingGraph& graph) {
  Program p;
  p.num_processors = graph.num_stages;
  p.entries.assign(graph.num_stages, {});
  p.processor_of_node.assign(graph.nodes.size(), -1);
  p.processor_of_first_part.assign(graph.nodes.size(), -1);
  const int nu = static_cast<int>(graph.layers.size());
  auto add = [&](int node, std::int64_t lag) {
    const int s = graph.nodes[node].stage;
    p.entries[s].push_back({node, lag, NodePart::kWhole});
    p.processor_of_node[node] = s;
    p.processor_of_first_part[node] = s;
    p.max_lag = std::max(p.max_lag, lag);
  };
  for (int u = 0; u < nu; ++u) add(graph.forward_node[u], 0);
  // §4c: a recomputing stage reruns its forward just before its backward; the last stage's
  // backward begins with the loss.
  const int last = graph.num_stages - 1;
  if (graph.recomputes(last)) add(graph.recompute_node[last], 0);
  add(graph.loss_node, 0);
  for (int u = nu - 1; u >= 0; --u) {
    const std::int64_t d = graph.layers[u].delay;
    const int s = graph.layers[u].stage;
    const bool stage_begins = u == nu - 1 || graph.layers[u + 1].stage != s;
    if (s != last && stage_begins && graph.recomputes(s)) add(graph.recompute_node[s], d);
    if (graph.ba_node[u] >= 0) add(graph.ba_node[u], d);
    add(graph.bw_node[u], d);
    add(graph.update_node[u], d);
  }
  return p;
}

std::vector<std::vector<Dependency>> node_dependencies(const TrainingGraph& graph) {
  std::vector<std::vector<Dependency>> deps(graph.nodes.size());
  for (std::size_t e = 0; e < graph.edges.size(); ++e) {
    const Edge& edge = graph.edges[e];
    if (edge.src == graph.input_node) continue;  // the input is always there
    const bool data = edge.kind == EdgeKind::kActivation || edge.kind == EdgeKind::kGradient ||
                      edge.kind == EdgeKind::kStoredActivation ||
                      edge.kind == EdgeKind::kStageInput;
    deps[edge.dst].push_back({edge.src, edge.initial_delay, data ? static_cast<int>(e) : -1});
  }
  for (std::size_t u = 0; u < graph.layers.size(); ++u) {
    deps[graph.update_node[u]].push_back({graph.forward_node[u], -graph.layers[u].delay, -1});
    if (graph.ba_node[u] >= 0) deps[graph.update_node[u]].push_back({graph.ba_node[u], 0, -1});
  }
  return deps;
}

}  // namespace lpsim::dataflow
