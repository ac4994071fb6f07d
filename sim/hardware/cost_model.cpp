#include "sim/hardware/cost_model.h"

#include "hw_models/pe/pe_timing.h"

namespace lpsim::hardware {

std::vector<TaskCost> task_costs(const dataflow::TrainingGraph& graph, const config::HwConfig& hw) {
  const hw::ArrayShape array{hw.pe_rows, hw.pe_cols};
  const hw::Dataflow dataflow = hw::parse_dataflow(hw.pe_dataflow);
  constexpr std::uint64_t kBytes = sizeof(ops::Scalar);
  std::vector<TaskCost> costs;
  costs.reserve(graph.nodes.size());
  const std::uint64_t lanes = static_cast<std::uint64_t>(hw.vector_lanes);
  const std::uint64_t bandwidth = static_cast<std::uint64_t>(hw.sram_bytes_per_cycle);
  for (const auto& node : graph.nodes) {
    TaskCost c;
    for (const auto& g : node.work.gemms) {
      if (g.m == 0 || g.n == 0 || g.k == 0) continue;
      const hw::GemmTiming t = hw::gemm_timing(array, dataflow, {g.m, g.n, g.k});
      c.gemm_cycles += t.cycles;
      c.macs += t.macs;
      if (g.binary()) c.accumulates += t.macs;
      c.sram_read_bytes += static_cast<std::uint64_t>(models::tensor_bytes(g.m * g.k, g.a_binary) +
                                                      models::tensor_bytes(g.k * g.n, g.b_binary));
      c.sram_write_bytes += kBytes * static_cast<std::uint64_t>(g.m * g.n);
    }
    c.sram_bytes = c.sram_read_bytes + c.sram_write_bytes;
    const std::uint64_t tail_elems = static_cast<std::uint64_t>(node.tail_work.vector_ops);
    const std::uint64_t own_elems = static_cast<std::uint64_t>(node.work.vector_ops) - tail_elems;
    const std::uint64_t own_vector = hw::vector_cycles(own_elems, lanes);
    const std::uint64_t tail_vector = hw::vector_cycles(tail_elems, lanes);
    c.vector_cycles = own_vector + tail_vector;
    const std::uint64_t own_bytes = c.sram_bytes + 2 * kBytes * own_elems;
    c.tail_cycles = hw::stretch_for_memory(tail_vector, 2 * kBytes * tail_elems, bandwidth);
    c.cycles = hw::stretch_for_memory(c.gemm_cycles + own_vector, own_bytes, bandwidth) + c.tail_cycles;
    c.sram_bytes = own_bytes + 2 * kBytes * tail_elems;
    c.sram_read_bytes += kBytes * (own_elems + tail_elems);
    c.sram_write_bytes += kBytes * (own_elems + tail_elems);
    c.vector_ops = own_elems + tail_elems;
    c.tail_vector_ops = tail_elems;
    costs.push_back(c);
  }
  return costs;
}

hw::ProcessingElementWork part_work(const TaskCost& cost, dataflow::NodePart part) {
  hw::ProcessingElementWork tail;
  tail.vector_ops = cost.tail_vector_ops;
  tail.sram_read_bytes = sizeof(ops::Scalar) * cost.tail_vector_ops;
  tail.sram_write_bytes = tail.sram_read_bytes;
  if (part == dataflow::NodePart::kTail) return tail;
  hw::ProcessingElementWork w;
  w.macs = cost.macs - cost.accumulates;
  w.accumulates = cost.accumulates;
  w.vector_ops = cost.vector_ops;
  w.sram_read_bytes = cost.sram_read_bytes;
  w.sram_write_bytes = cost.sram_write_bytes;
  if (part == dataflow::NodePart::kProduct) {
    w.vector_ops -= tail.vector_ops;
    w.sram_read_bytes -= tail.sram_read_bytes;
    w.sram_write_bytes -= tail.sram_write_bytes;
  }
  return w;
}

std::vector<TaskCost> task_costs(const dataflow::TrainingGraph& graph, const config::HwConfig& hw,
                                 const models::Network& network, const models::UnitGraph& units) {
  std::vector<TaskCost> costs = task_costs(graph, hw);
  const models::WeightPolicy policy = graph.policy;
  for (std::size_t u = 0; u < graph.layers.size(); ++u) {
    if (graph.layers[u].delay == 0 || graph.ba_node[u] < 0) continue;
    const std::uint64_t elements =
        static_cast<std::uint64_t>(network.layers[units.units[u].layer].weight_size());
    TaskCost& ba = costs[graph.ba_node[u]];
    TaskCost& up = costs[graph.update_node[u]];
    const std::uint64_t lanes = static_cast<std::uint64_t>(hw.ema_lanes);
    if (policy == models::WeightPolicy::kStash) {
      const std::uint64_t copy = hw::memory_cycles(elements * sizeof(ops::Scalar),
                                                   static_cast<std::uint64_t>(hw.sram_bytes_per_cycle));
      up.unit_cycles += copy;  // the copy before the update; Ba reads it in place
    } else if (policy == models::WeightPolicy::kEmaGrad) {
      ba.unit_cycles += hw::vector_cycles(elements, lanes, 1);
      up.async_cycles += hw::vector_cycles(elements, lanes, 2);
    } else if (policy == models::WeightPolicy::kEmaWeight) {
      up.async_cycles += hw::vector_cycles(elements, lanes, 2);
    }
  }
  return costs;
}

}  // namespace lpsim::hardware
