#include "sim/hardware/cost_model.h"

#include "hw_models/pe/pe_timing.h"

namespace lpsim::hardware {

std::vector<TaskCost> task_costs(const dataflow::TrainingGraph& graph, const config::HwConfig& hw) {
  const hw::ArrayShape array{hw.pe_rows, hw.pe_cols};
  const hw::Dataflow dataflow = hw::parse_dataflow(hw.pe_dataflow);
  constexpr std::uint64_t kBytes = sizeof(ops::Scalar);
  std::vector<TaskCost> costs;
  costs.reserve(graph.nodes.size());
  for (const auto& node : graph.nodes) {
    TaskCost c;
    for (const auto& g : node.work.gemms) {
      if (g.m == 0 || g.n == 0 || g.k == 0) continue;
      const hw::GemmTiming t = hw::gemm_timing(array, dataflow, {g.m, g.n, g.k});
      c.gemm_cycles += t.cycles;
      c.macs += t.macs;
      c.sram_bytes += kBytes * static_cast<std::uint64_t>(g.m * g.k + g.k * g.n + g.m * g.n);
    }
    const std::uint64_t elems = static_cast<std::uint64_t>(node.work.vector_ops);
    c.vector_cycles = hw::vector_cycles(elems, static_cast<std::uint64_t>(hw.vector_lanes));
    c.sram_bytes += 2 * kBytes * elems;
    c.cycles = hw::stretch_for_memory(c.gemm_cycles + c.vector_cycles, c.sram_bytes,
                                      static_cast<std::uint64_t>(hw.sram_bytes_per_cycle));
    costs.push_back(c);
  }
  return costs;
}

}  // namespace lpsim::hardware
