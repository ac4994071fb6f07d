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

MemoryKind edge_resident(EdgeKind kind) {
  return kind == EdgeKind::kStoredActivation ? MemoryKind::kActivations : MemoryKind::kInFlight;
}

}  // namespace

MemoryPlan plan_memory(const dataflow::TrainingGraph& g, const dataflow::Program& program,
                       const models::Network& network, const models::UnitGraph& units,
                       const config::HwConfig& hw, const std::string& config_file) {
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
  const auto delayed_ba = [&](int u) { return g.layers[u].delay > 0 && g.ba_node[u] >= 0; };
  // The policy's vector unit (module_params.h ema_params): its tensors of unit_bytes each.
  const auto vector_unit = [&](int u) {
    return g.layers[u].delay > 0 && work.needs_vector_unit() &&
           (g.ba_node[u] >= 0 || work.on_layers_without_backward());
  };
  const auto tensors = static_cast<std::uint64_t>(work.tensors);
  std::vector<std::uint64_t> params_bytes(g.layers.size()), weight_bytes(g.layers.size()),
      unit_bytes(g.layers.size());
  for (std::size_t u = 0; u < g.layers.size(); ++u) {
    const models::Layer& layer = network.layers[units.units[u].layer];
    params_bytes[u] = static_cast<std::uint64_t>(layer.num_params()) * kScalarBytes;
    weight_bytes[u] = static_cast<std::uint64_t>(layer.weight_size()) * kScalarBytes;
    unit_bytes[u] = work.covers_bias ? params_bytes[u] : weight_bytes[u];
    hw::ResidentBytes& r = resident[unit_owner(static_cast<int>(u))];
    r[index(MemoryKind::kWeights)] += params_bytes[u];
    r[index(MemoryKind::kOptimizer)] += params_bytes[u];
    r[index(MemoryKind::kGradients)] += params_bytes[u];
    if (delayed_ba(static_cast<int>(u)) && work.stash) {
      r[index(MemoryKind::kStash)] +=
          static_cast<std::uint64_t>(g.layers[u].delay) * weight_bytes[u];
    }
    if (vector_unit(static_cast<int>(u))) r[index(MemoryKind::kEma)] += tensors * unit_bytes[u];
  }
  for (std::size_t e = 0; e < g.edges.size(); ++e) {
    if (!buffered[e]) continue;
    const dataflow::Edge& edge = g.edges[e];
    resident[program.processor_of_first_part[edge.dst]][index(edge_resident(edge.kind))] +=
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
  std::vector<MemoryKind> order;
  for (const auto& name : hw.sram_placement) order.push_back(*hw::try_parse_memory_kind(name));
  if (order.empty()) order = hw::default_placement_order();
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
    const std::uint64_t params = params_bytes[uu], weights = weight_bytes[uu];
    const bool unit = vector_unit(u);
    // F reads the weights; a prediction (lwp, ema_lwp) also the momentum or the unit's tensor.
    read(g.forward_node[u], o, MemoryKind::kWeights, params);
    if (unit && work.forward_lane_ops > 0) {
      if (work.forward_reads_momentum)
        read(g.forward_node[u], o, MemoryKind::kOptimizer, unit_bytes[uu]);
      read(g.forward_node[u], o, MemoryKind::kEma, tensors * unit_bytes[uu]);
    }
    if (g.ba_node[u] >= 0) {
      const int ba = g.ba_node[u];
      if (delayed_ba(u) && work.stash) {
        read(ba, o, MemoryKind::kStash, weights);
      } else if (delayed_ba(u)) {
        if (work.backward_reads_register) read(ba, o, MemoryKind::kWeights, weights);
        if (work.backward_reads_tensor) read(ba, o, MemoryKind::kEma, tensors * unit_bytes[uu]);
      } else {
        read(ba, o, MemoryKind::kWeights, weights);
      }
    }
    write(g.bw_node[u], o, MemoryKind::kGradients, params);
    const int up = g.update_node[u];
    read(up, o, MemoryKind::kGradients, params);
    read(up, o, MemoryKind::kOptimizer, params);
    write(up, o, MemoryKind::kOptimizer, params);
    read(up, o, MemoryKind::kWeights, params);
    write(up, o, MemoryKind::kWeights, params);
    if (delayed_ba(u) && work.stash) write(up, o, MemoryKind::kStash, weights);
    if (unit && work.update_lane_ops > 0) {
      read(up, o, MemoryKind::kEma, tensors * unit_bytes[uu]);
      write(up, o, MemoryKind::kEma, tensors * unit_bytes[uu]);
    }
  }
  for (std::size_t e = 0; e < g.edges.size(); ++e) {
    if (!buffered[e]) continue;
    const dataflow::Edge& edge = g.edges[e];
    const int owner = program.processor_of_first_part[edge.dst];
    const auto bytes = static_cast<std::uint64_t>(edge.bytes_per_token);
    if (edge.src != g.input_node) write(edge.src, owner, edge_resident(edge.kind), bytes);
    read(edge.dst, owner, edge_resident(edge.kind), bytes);
  }
  return plan;
}

}  // namespace lpsim::hardware
