#include "sim/hardware/memory_plan.h"

#include <algorithm>

#include "core/errors.h"
#include "sim/hardware/module_params.h"

namespace lpsim::hardware {

using dataflow::EdgeKind;
using dataflow::NodeKind;
using hw::MemoryKind;

namespace {

std::size_t index(MemoryKind kind) { return static_cast<std::size_t>(kind); }

bool is_data_edge(EdgeKind kind) {
  return kind == EdgeKind::kActivation || kind == EdgeKind::kGradient ||
         kind == EdgeKind::kStoredActivation;
}

}  // namespace

MemoryKind buffer_kind(EdgeKind kind) {
  switch (kind) {
    case EdgeKind::kStoredActivation:
      return MemoryKind::kActivations;
    case EdgeKind::kActivation:
    case EdgeKind::kGradient:
    case EdgeKind::kWeightGradient:
    case EdgeKind::kWeights:
    case EdgeKind::kStashedWeights:
      return MemoryKind::kInFlight;
  }
  return MemoryKind::kInFlight;
}

MemoryPlan plan_memory(const dataflow::TrainingGraph& g, const dataflow::Program& program,
                       const std::vector<WeightUnitSlot>& units, const config::HwConfig& hw,
                       const std::string& config_file) {
  const int procs = program.num_processors;
  const policies::HardwareWork& work = g.policy->hardware;
  // Which data edges have a buffer (the ones some node reads).
  std::vector<bool> buffered(g.edges.size(), false);
  for (const auto& deps : dataflow::node_dependencies(g)) {
    for (const auto& d : deps) {
      if (d.edge >= 0 && is_data_edge(g.edges[d.edge].kind)) buffered[d.edge] = true;
    }
  }
  // Residents.
  std::vector<hw::ResidentBytes> resident(procs, hw::ResidentBytes{});
  const auto unit_owner = [&](int u) { return program.processor_of_node[g.update_node[u]]; };
  std::vector<std::uint64_t> params_bytes(g.layers.size()), weight_bytes(g.layers.size());
  for (std::size_t u = 0; u < g.layers.size(); ++u) {
    const WeightUnitSlot& slot = units[u];
    params_bytes[u] = slot.layer.param_elements * kScalarBytes;
    weight_bytes[u] = slot.layer.weight_elements * kScalarBytes;
    hw::ResidentBytes& r = resident[unit_owner(static_cast<int>(u))];
    r[index(MemoryKind::kWeights)] += params_bytes[u];
    r[index(MemoryKind::kOptimizer)] += params_bytes[u];
    r[index(MemoryKind::kGradients)] += params_bytes[u];
    if (slot.kind != nullptr) slot.kind->residents(work, slot.layer, r);
  }
  for (std::size_t e = 0; e < g.edges.size(); ++e) {
    if (!buffered[e]) continue;
    const dataflow::Edge& edge = g.edges[e];
    resident[program.processor_of_first_part[edge.dst]][index(buffer_kind(edge.kind))] +=
        static_cast<std::uint64_t>(edge.buffer_depth * edge.bytes_per_token);
  }
  // Staging: the largest task of each PE.
  MemoryPlan plan;
  plan.staging_task.assign(procs, "");
  std::vector<std::uint64_t> staging(procs, 0);
  const hw::ArrayShape array{hw.pe_rows, hw.pe_cols};
  const hw::Dataflow dataflow = hw.pe_dataflow;
  for (int p = 0; p < procs; ++p) {
    for (const auto& entry : program.entries[p]) {
      const dataflow::Node& n = g.nodes[entry.node];
      std::uint64_t need = 0;
      if (entry.part != dataflow::NodePart::kTail) {
        for (const auto& gemm : n.work.gemms) {
          need = std::max(need, hw::gemm_staging_bytes(array, dataflow, {gemm.m, gemm.n, gemm.k}));
        }
      }
      if (n.work.vector_ops > 0) {
        need =
            std::max(need, hw::vector_staging_bytes(static_cast<std::uint64_t>(hw.vector_lanes)));
      }
      if (need > staging[p]) {
        staging[p] = need;
        plan.staging_task[p] = n.name;
      }
    }
    const auto capacity = static_cast<std::uint64_t>(hw.sram_capacity_bytes);
    if (staging[p] > capacity) {
      throw core::ConfigError(config_file, "/hw/sram/capacity_bytes",
                              "found " + std::to_string(capacity) + " bytes, but task " +
                                  plan.staging_task[p] + " on processor " + std::to_string(p) +
                                  " needs " + std::to_string(staging[p]) +
                                  " bytes of SRAM for its double-buffered operand tiles on the " +
                                  std::to_string(hw.pe_rows) + "x" + std::to_string(hw.pe_cols) +
                                  " array; expected at least " + std::to_string(staging[p]));
    }
  }
  const std::vector<MemoryKind>& order =
      hw.sram_placement.empty() ? hw::default_placement_order() : hw.sram_placement;
  for (int p = 0; p < procs; ++p) {
    plan.pe.push_back(hw::place(static_cast<std::uint64_t>(hw.sram_capacity_bytes), staging[p],
                                resident[p], order));
  }
  // Accesses.
  plan.node.assign(g.nodes.size(), {});
  const auto read = [&](int node, int owner, MemoryKind kind, std::uint64_t bytes) {
    const std::uint64_t dram = plan.pe[owner].dram_part(kind, bytes);
    plan.node[node].read_bytes += dram;
    plan.node[node].bytes_by_kind[index(kind)] += dram;
  };
  const auto write = [&](int node, int owner, MemoryKind kind, std::uint64_t bytes) {
    const std::uint64_t dram = plan.pe[owner].dram_part(kind, bytes);
    plan.node[node].write_bytes += dram;
    plan.node[node].bytes_by_kind[index(kind)] += dram;
  };
  for (std::size_t uu = 0; uu < g.layers.size(); ++uu) {
    const int u = static_cast<int>(uu);
    const int o = unit_owner(u);
    const WeightUnitSlot& slot = units[uu];
    const std::uint64_t params = params_bytes[uu], weights = weight_bytes[uu];
    const bool delayed = g.layers[u].delay > 0;
    read(g.forward_node[u], o, MemoryKind::kWeights, params);
    // Ba reads the register unless its delayed weight comes from elsewhere alone.
    if (g.ba_node[u] >= 0 && (!delayed || work.backward_reads_register)) {
      read(g.ba_node[u], o, MemoryKind::kWeights, weights);
    }
    write(g.bw_node[u], o, MemoryKind::kGradients, params);
    const int up = g.update_node[u];
    read(up, o, MemoryKind::kGradients, params);
    read(up, o, MemoryKind::kOptimizer, params);
    write(up, o, MemoryKind::kOptimizer, params);
    read(up, o, MemoryKind::kWeights, params);
    write(up, o, MemoryKind::kWeights, params);
    if (slot.kind == nullptr) continue;
    // The unit's own residents: what F, Ba and U read and write of them.
    for (const WeightUnitAccess& a : slot.kind->accesses(work, slot.layer)) {
      const int node = a.task == NodeKind::kForward              ? g.forward_node[u]
                       : a.task == NodeKind::kBackwardActivation ? g.ba_node[u]
                                                                 : up;
      LPSIM_ASSERT(node >= 0, "a weight unit accesses its memory from a task the layer lacks");
      if (a.write) {
        write(node, o, a.kind, a.bytes);
      } else {
        read(node, o, a.kind, a.bytes);
      }
    }
  }
  for (std::size_t e = 0; e < g.edges.size(); ++e) {
    if (!buffered[e]) continue;
    const dataflow::Edge& edge = g.edges[e];
    const int owner = program.processor_of_first_part[edge.dst];
    const auto bytes = static_cast<std::uint64_t>(edge.bytes_per_token);
    if (edge.src != g.input_node) write(edge.src, owner, buffer_kind(edge.kind), bytes);
    read(edge.dst, owner, buffer_kind(edge.kind), bytes);
  }
  return plan;
}

}  // namespace lpsim::hardware
