#include "dataflow/elaboration_plan.h"

#include <algorithm>
#include <limits>
#include <set>

#include "core/errors.h"

namespace lpsim::dataflow {

std::string module_name(std::string name) {
  for (char& c : name) c = (c == ':' || c == '.') ? '_' : c;
  return name;
}

ElaborationPlan plan_elaboration(const TrainingGraph& g, const Program& program,
                                 const TaskGraph* task_graph, const Schedule* schedule) {
  LPSIM_ASSERT((task_graph == nullptr) == (schedule == nullptr),
               "plan_elaboration: a schedule comes with its task graph");
  ElaborationPlan plan;
  plan.processors = program.num_processors;
  plan.deps = node_dependencies(g);
  const std::size_t nodes = g.nodes.size();
  plan.out_edges.assign(nodes, {});
  plan.sync_on_done.assign(nodes, false);
  // When each edge's token is due at its consumer (under a schedule; token_due).
  std::vector<std::int64_t> due(g.edges.size(), 0);
  if (schedule != nullptr) {
    std::vector<std::uint64_t> start(nodes, std::numeric_limits<std::uint64_t>::max());
    for (std::size_t t = 0; t < task_graph->tasks.size(); ++t) {
      for (const auto& e : task_graph->tasks[t].entries) {
        if (e.part == NodePart::kTail) continue;
        start[e.node] = std::min(start[e.node], schedule->start[t]);
      }
    }
    for (std::size_t v = 0; v < nodes; ++v) {
      for (const auto& d : plan.deps[v]) {
        if (d.edge >= 0) due[d.edge] = token_due(d.offset, schedule->modulo_period, start[v]);
      }
    }
  }
  std::vector<bool> used(g.edges.size(), false);
  for (std::size_t v = 0; v < nodes; ++v) {
    for (const auto& d : plan.deps[v]) {
      if (d.edge >= 0) {
        plan.out_edges[d.src].push_back(d.edge);
        used[d.edge] = true;
      } else if (program.processor_of_node[d.src] != program.processor_of_first_part[v]) {
        plan.sync_on_done[d.src] = true;
      }
    }
  }
  for (auto& edges : plan.out_edges) {
    std::stable_sort(edges.begin(), edges.end(), [&](int a, int b) { return due[a] < due[b]; });
  }
  // How many iterations a static program's entry lags: the node's finishing part and the
  // part that consumes its inputs.
  std::vector<std::int64_t> lag_of_node(nodes, 0), lag_of_first_part(nodes, 0);
  for (const auto& entries : program.entries) {
    for (const auto& entry : entries) {
      if (entry.part != NodePart::kTail) lag_of_first_part[entry.node] = entry.lag;
      if (entry.part != NodePart::kProduct) lag_of_node[entry.node] = entry.lag;
    }
  }
  std::set<std::pair<int, int>> linked;
  const auto link = [&](int from, int to) {
    if (from != to && linked.insert({from, to}).second) plan.links.push_back({from, to});
  };
  for (std::size_t e = 0; e < g.edges.size(); ++e) {
    if (!used[e]) continue;
    const Edge& edge = g.edges[e];
    BufferPlan b;
    b.name = module_name("buf_" + g.nodes[edge.src].name + "_to_" + g.nodes[edge.dst].name);
    b.edge = static_cast<int>(e);
    b.depth = schedule != nullptr
                  ? std::max<std::int64_t>(edge.buffer_depth,
                                           lag_of_first_part[edge.dst] - lag_of_node[edge.src] + 2)
                  : edge.buffer_depth;
    b.bytes_per_entry = edge.bytes_per_token;
    b.producer = program.processor_of_node[edge.src];
    b.consumer = program.processor_of_first_part[edge.dst];
    link(b.producer, b.consumer);
    plan.buffers.push_back(std::move(b));
  }
  std::set<int> split;
  for (const auto& entries : program.entries) {
    for (const auto& entry : entries) {
      if (entry.part != NodePart::kProduct || !split.insert(entry.node).second) continue;
      BufferPlan b;
      b.name = module_name("buf_" + g.nodes[entry.node].name + "_product_to_tail");
      b.node = entry.node;
      b.depth = 2;
      for (const auto& e : g.edges) {
        if (e.src == entry.node && e.kind == EdgeKind::kGradient) {
          b.bytes_per_entry = std::max(b.bytes_per_entry, e.bytes_per_token);
        }
      }
      b.producer = program.processor_of_first_part[entry.node];
      b.consumer = program.processor_of_node[entry.node];
      link(b.producer, b.consumer);
      plan.split_buffers.push_back(std::move(b));
    }
  }
  plan.backward_lag.assign(g.layers.size(), 0);
  plan.layer_on_one_processor.assign(g.layers.size(), false);
  for (std::size_t u = 0; u < g.layers.size(); ++u) {
    const int p = program.processor_of_node[g.forward_node[u]];
    plan.layer_on_one_processor[u] =
        program.processor_of_node[g.update_node[u]] == p &&
        (g.ba_node[u] < 0 || program.processor_of_first_part[g.ba_node[u]] == p);
    if (g.ba_node[u] < 0) continue;
    plan.backward_lag[u] = lag_of_first_part[g.ba_node[u]] - lag_of_node[g.update_node[u]];
  }
  return plan;
}

}  // namespace lpsim::dataflow
