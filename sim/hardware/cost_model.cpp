#include "sim/hardware/cost_model.h"

#include "hw_models/ema_unit/ema_unit_params.h"
#include "hw_models/stash_unit/stash_unit_params.h"
#include "sim/hardware/module_params.h"

namespace lpsim::hardware {

namespace {

using dataflow::NodeKind;
using hw::MemoryKind;

std::size_t at(MemoryKind kind) { return static_cast<std::size_t>(kind); }

// The kind a delayed Ba's weight operand comes from (header).
MemoryKind ba_weight_kind(const policies::HardwareWork& work, std::int64_t delay) {
  if (delay == 0) return MemoryKind::kWeights;
  if (work.stash) return MemoryKind::kStash;
  return work.backward_reads_register ? MemoryKind::kWeights : MemoryKind::kEma;
}

// Labels the node's SRAM traffic by kind; the totals are hw::task_cost's.
void label_traffic(const dataflow::TrainingGraph& graph, const dataflow::Node& node, TaskCost& c) {
  MemoryKind a = MemoryKind::kInFlight, b = MemoryKind::kInFlight, out = MemoryKind::kInFlight;
  if (node.kind == NodeKind::kForward) {
    b = MemoryKind::kWeights;
  } else if (node.kind == NodeKind::kBackwardActivation) {
    b = ba_weight_kind(graph.policy->hardware, graph.layers[node.unit].delay);
  } else if (node.kind == NodeKind::kBackwardWeight) {
    b = MemoryKind::kActivations;
    out = MemoryKind::kGradients;
  }
  for (const auto& g : node.work.gemms) {
    if (g.m == 0 || g.n == 0 || g.k == 0) continue;
    c.sram_read[at(a)] += static_cast<std::uint64_t>(models::tensor_bytes(g.m * g.k, g.a_binary));
    c.sram_read[at(b)] += static_cast<std::uint64_t>(models::tensor_bytes(g.k * g.n, g.b_binary));
    c.sram_write[at(out)] += kScalarBytes * static_cast<std::uint64_t>(g.m * g.n);
  }
  const std::uint64_t own = (c.vector_ops - c.tail_vector_ops) * kScalarBytes;
  if (node.kind == NodeKind::kUpdate) {
    c.sram_read[at(MemoryKind::kGradients)] += own / 2;
    c.sram_read[at(MemoryKind::kOptimizer)] += own - own / 2;
    c.sram_write[at(MemoryKind::kOptimizer)] += own / 2;
    c.sram_write[at(MemoryKind::kWeights)] += own - own / 2;
  } else {
    c.sram_read[at(MemoryKind::kInFlight)] += own;
    c.sram_write[at(node.kind == NodeKind::kBackwardWeight ? MemoryKind::kGradients
                                                           : MemoryKind::kInFlight)] += own;
  }
  const std::uint64_t tail = c.tail_vector_ops * kScalarBytes;
  c.sram_read[at(MemoryKind::kInFlight)] += tail;
  c.sram_write[at(MemoryKind::kInFlight)] += tail;
}

}  // namespace

std::vector<TaskCost> task_costs(const dataflow::TrainingGraph& graph, const config::HwConfig& hw) {
  const hw::ProcessingElementParams pe = pe_params(hw);
  std::vector<TaskCost> costs;
  costs.reserve(graph.nodes.size());
  for (const auto& node : graph.nodes) {
    hw::PeTask task;
    task.bytes_per_element = kScalarBytes;
    for (const auto& g : node.work.gemms) {
      const auto read =
          models::tensor_bytes(g.m * g.k, g.a_binary) + models::tensor_bytes(g.k * g.n, g.b_binary);
      task.gemms.push_back({{g.m, g.n, g.k},
                            static_cast<std::uint64_t>(read),
                            kScalarBytes * static_cast<std::uint64_t>(g.m * g.n),
                            g.binary()});
    }
    task.tail_vector_ops = static_cast<std::uint64_t>(node.tail_work.vector_ops);
    task.vector_ops = static_cast<std::uint64_t>(node.work.vector_ops) - task.tail_vector_ops;
    TaskCost c;
    static_cast<hw::PeTaskCost&>(c) = hw::task_cost(pe, task);
    label_traffic(graph, node, c);
    costs.push_back(c);
  }
  return costs;
}

hw::ProcessingElementWork part_work(const TaskCost& cost, dataflow::NodePart part) {
  hw::ProcessingElementWork tail;
  tail.vector_ops = cost.tail_vector_ops;
  tail.sram_read[at(MemoryKind::kInFlight)] = kScalarBytes * cost.tail_vector_ops;
  tail.sram_write[at(MemoryKind::kInFlight)] = kScalarBytes * cost.tail_vector_ops;
  if (part == dataflow::NodePart::kTail) return tail;
  hw::ProcessingElementWork w;
  w.macs = cost.macs - cost.accumulates;
  w.accumulates = cost.accumulates;
  w.vector_ops = cost.vector_ops;
  w.sram_read = cost.sram_read;
  w.sram_write = cost.sram_write;
  if (part == dataflow::NodePart::kProduct) {
    w.vector_ops -= tail.vector_ops;
    w.sram_read[at(MemoryKind::kInFlight)] -= tail.sram_read[at(MemoryKind::kInFlight)];
    w.sram_write[at(MemoryKind::kInFlight)] -= tail.sram_write[at(MemoryKind::kInFlight)];
  }
  return w;
}

std::vector<TaskCost> task_costs(const dataflow::TrainingGraph& graph, const config::HwConfig& hw,
                                 const models::Network& network, const models::UnitGraph& units) {
  std::vector<TaskCost> costs = task_costs(graph, hw);
  const policies::HardwareWork& work = graph.policy->hardware;
  for (std::size_t u = 0; u < graph.layers.size(); ++u) {
    if (graph.layers[u].delay == 0) continue;
    const models::Layer& layer = network.layers[units.units[u].layer];
    const bool has_ba = graph.ba_node[u] >= 0;
    TaskCost& up = costs[graph.update_node[u]];
    if (work.stash && has_ba) {
      // The copy before the update; Ba reads the version in place.
      up.unit_cycles +=
          hw::transfer_cycles(stash_params(hw, 1, static_cast<std::uint64_t>(layer.weight_size())));
    }
    if (work.needs_vector_unit() && (has_ba || work.on_layers_without_backward())) {
      const hw::EmaRecomputeUnitParams unit = ema_params(hw, work, layer);
      if (work.forward_lane_ops > 0)
        costs[graph.forward_node[u]].unit_cycles += hw::predict_cycles(unit);
      if (has_ba && work.backward_reads_tensor) {
        costs[graph.ba_node[u]].unit_cycles += hw::reconstruct_cycles(unit);
      }
      up.async_cycles += hw::update_cycles(unit);
    }
  }
  return costs;
}

NodeCycles node_cycles(const std::vector<TaskCost>& costs) {
  NodeCycles out;
  for (const TaskCost& c : costs) {
    out.node.push_back(c.cycles + c.unit_cycles);
    out.tail.push_back(c.tail_cycles);
    out.after_update.push_back(c.async_cycles);
  }
  return out;
}

dataflow::LinkCost link_cost(const config::HwConfig& hw) {
  return {static_cast<std::uint64_t>(hw.link_latency_cycles),
          static_cast<std::uint64_t>(hw.link_bytes_per_cycle)};
}

}  // namespace lpsim::hardware
