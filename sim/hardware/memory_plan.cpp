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
         kind == EdgeKind::kStoredActivation || kind == EdgeKind::kStageInput;
}

}  // namespace

MemoryKind buffer_kind(EdgeKind kind) {
  switch (kind) {
    case EdgeKind::kStoredActivation:
    case EdgeKind::kStageInput:
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

namespace {

// Which data edges have a buffer (the ones some node reads).
std::vector<bool> buffered_edges(const dataflow::TrainingGraph& g) {
  std::vector<bool> buffered(g.edges.size(), false);
  for (const auto& deps : dataflow::node_dependencies(g)) {
    for (const auto& d : deps) {
      if (d.edge >= 0 && is_data_edge(g.edges[d.edge].kind)) buffered[d.edge] = true;
    }
  }
  return buffered;
}

// The optimizer state of a layer whose parameters take `params` bytes.
std::uint64_t optimizer_bytes(const dataflow::TrainingGraph& g, std::uint64_t params) {
  return static_cast<std::uint64_t>(g.update.state_tensors) * params;
}

int owner_of_layer(const dataflow::TrainingGraph& g, const dataflow::Program& program, int u) {
  return program.processor_of_node[g.update_node[u]];
}

// What each PE holds, by kind: a layer's parameters, optimizer state (TrainingGraph::update:
// sgd's momentum, adamw's two moments), gradient register and unit at its update's PE; each
// buffer at its consumer's.
std::vector<hw::ResidentBytes> residents(const dataflow::TrainingGraph& g,
                                         const dataflow::Program& program,
                                         const std::vector<WeightUnitSlot>& units,
                                         const std::vector<bool>& buffered) {
  std::vector<hw::ResidentBytes> resident(program.num_processors, hw::ResidentBytes{});
  for (std::size_t u = 0; u < g.layers.size(); ++u) {
    const WeightUnitSlot& slot = units[u];
    // §2d: weights and optimizer state in `master`, the gradient register in
    // `weight_gradients`.
    const std::uint64_t params = slot.layer.param_elements * slot.layer.master_bytes;
    hw::ResidentBytes& r = resident[owner_of_layer(g, program, static_cast<int>(u))];
    r[index(MemoryKind::kWeights)] += params;
    r[index(MemoryKind::kOptimizer)] += optimizer_bytes(g, params);
    r[index(MemoryKind::kGradients)] += slot.layer.param_elements * slot.layer.gradient_bytes;
    if (slot.kind != nullptr) slot.kind->residents(g.policy->hardware, slot.layer, r);
  }
  for (std::size_t e = 0; e < g.edges.size(); ++e) {
    if (!buffered[e]) continue;
    const dataflow::Edge& edge = g.edges[e];
    resident[program.processor_of_first_part[edge.dst]][index(buffer_kind(edge.kind))] +=
        static_cast<std::uint64_t>(edge.buffer_depth * edge.bytes_per_token);
  }
  return resident;
}

// Staging: per PE, the largest double-buffered tiles of its tasks, and which task that is.
// core::ConfigError when they do not fit the SRAM.
std::vector<std::uint64_t> staging(const dataflow::TrainingGraph& g,
                                   const dataflow::Program& program, const config::HwConfig& hw,
                                   const std::string& config_file,
                                   std::vector<std::string>& staging_task) {
  const int procs = program.num_processors;
  staging_task.assign(procs, "");
  std::vector<std::uint64_t> staging(procs, 0);
  const hw::ArrayShape array{hw.pe_rows, hw.pe_cols};
  for (int p = 0; p < procs; ++p) {
    for (const auto& entry : program.entries[p]) {
      const dataflow::Node& n = g.nodes[entry.node];
      std::uint64_t need = 0;
      if (entry.part != dataflow::NodePart::kTail) {
        for (const auto& gemm : n.work.gemms) {
          need = std::max(need,
                          hw::gemm_staging_bytes(array, hw.pe_dataflow, {gemm.m, gemm.n, gemm.k}));
        }
      }
      if (n.work.vector_ops > 0) {
        need =
            std::max(need, hw::vector_staging_bytes(static_cast<std::uint64_t>(hw.vector_lanes)));
      }
      if (need > staging[p]) {
        staging[p] = need;
        staging_task[p] = n.name;
      }
    }
    const auto capacity = static_cast<std::uint64_t>(hw.sram_capacity_bytes);
    if (staging[p] > capacity) {
      throw core::ConfigError(config_file, "/hw/sram/capacity_bytes",
                              "found " + std::to_string(capacity) + " bytes, but task " +
                                  staging_task[p] + " on processor " + std::to_string(p) +
                                  " needs " + std::to_string(staging[p]) +
                                  " bytes of SRAM for its double-buffered operand tiles on the " +
                                  std::to_string(hw.pe_rows) + "x" + std::to_string(hw.pe_cols) +
                                  " array; expected at least " + std::to_string(staging[p]));
    }
  }
  return staging;
}

// The DRAM bytes of every node's accesses (the table of ARCHITECTURE.md §4b), into plan.node.
void accesses(const dataflow::TrainingGraph& g, const dataflow::Program& program,
              const std::vector<WeightUnitSlot>& units, const std::vector<bool>& buffered,
              MemoryPlan& plan) {
  const policies::HardwareWork& work = g.policy->hardware;
  plan.node.assign(g.nodes.size(), {});
  const auto access = [&](int node, int owner, MemoryKind kind, std::uint64_t bytes, bool write) {
    const std::uint64_t dram = plan.pe[owner].dram_part(kind, bytes);
    (write ? plan.node[node].write_bytes : plan.node[node].read_bytes) += dram;
    plan.node[node].bytes_by_kind[index(kind)] += dram;
  };
  constexpr bool kRead = false, kWrite = true;
  for (std::size_t uu = 0; uu < g.layers.size(); ++uu) {
    const int u = static_cast<int>(uu);
    const int o = owner_of_layer(g, program, u);
    const WeightUnitSlot& slot = units[uu];
    const std::uint64_t params = slot.layer.param_elements * slot.layer.master_bytes;
    const std::uint64_t weights = slot.layer.weight_elements * slot.layer.master_bytes;
    const std::uint64_t gradient = slot.layer.param_elements * slot.layer.gradient_bytes;
    access(g.forward_node[u], o, MemoryKind::kWeights, params, kRead);
    // Ba reads the register unless its delayed weight comes from elsewhere alone, or it reads
    // no weights at all (an embedding's: then the unit sees no Ba either).
    // (WeightUnitLayer::backward_node is -1 for those.)
    // Under recompute the rerun reads it (backward_node is the stage's R), and Ba multiplies
    // by what the rerun made.
    if (slot.layer.has_backward() && (g.layers[u].delay == 0 || work.backward_reads_register)) {
      access(slot.layer.backward_node, o, MemoryKind::kWeights, weights, kRead);
    }
    access(g.bw_node[u], o, MemoryKind::kGradients, gradient, kWrite);
    const int up = g.update_node[u];
    access(up, o, MemoryKind::kGradients, gradient, kRead);
    access(up, o, MemoryKind::kOptimizer, optimizer_bytes(g, params), kRead);
    access(up, o, MemoryKind::kOptimizer, optimizer_bytes(g, params), kWrite);
    access(up, o, MemoryKind::kWeights, params, kRead);
    access(up, o, MemoryKind::kWeights, params, kWrite);
    if (slot.kind == nullptr) continue;
    // The unit's own residents: what F, Ba and U read and write of them.
    for (const WeightUnitAccess& a : slot.kind->accesses(work, slot.layer)) {
      const int node = a.task == NodeKind::kForward              ? g.forward_node[u]
                       : a.task == NodeKind::kBackwardActivation ? slot.layer.backward_node
                                                                 : up;
      LPSIM_ASSERT(node >= 0, "a weight unit accesses its memory from a task the layer lacks");
      access(node, o, a.kind, a.bytes, a.write);
    }
  }
  for (std::size_t e = 0; e < g.edges.size(); ++e) {
    if (!buffered[e]) continue;
    const dataflow::Edge& edge = g.edges[e];
    const int owner = program.processor_of_first_part[edge.dst];
    const auto bytes = static_cast<std::uint64_t>(edge.bytes_per_token);
    if (edge.src != g.input_node) access(edge.src, owner, buffer_kind(edge.kind), bytes, kWrite);
    access(edge.dst, owner, buffer_kind(edge.kind), bytes, kRead);
  }
}

}  // namespace

MemoryPlan plan_memory(const dataflow::TrainingGraph& g, const dataflow::Program& program,
                       const std::vector<WeightUnitSlot>& units, const config::HwConfig& hw,
                       const std::string& config_file) {
  const std::vector<bool> buffered = buffered_edges(g);
  const std::vector<hw::ResidentBytes> resident = residents(g, program, units, buffered);
  MemoryPlan plan;
  const std::vector<std::uint64_t> tiles = staging(g, program, hw, config_file, plan.staging_task);
  const std::vector<MemoryKind>& order =
      hw.sram_placement.empty() ? hw::default_placement_order() : hw.sram_placement;
  for (int p = 0; p < program.num_processors; ++p) {
    // §4c: an offloading stage (a stage program: processor p runs stage p) holds its
    // activations in DRAM whatever the placement would do.
    // (With pipeline.processors set every stage keeps: config.cpp.)
    const bool offload = p < static_cast<int>(g.activations.size()) &&
                         g.activations[p] == dataflow::ActivationChoice::kOffload;
    hw::ResidentBytes in_sram = resident[p];
    if (offload) in_sram[index(MemoryKind::kActivations)] = 0;
    hw::Placement placed =
        hw::place(static_cast<std::uint64_t>(hw.sram_capacity_bytes), tiles[p], in_sram, order);
    if (offload) {
      const std::uint64_t held = resident[p][index(MemoryKind::kActivations)];
      placed.resident_bytes[index(MemoryKind::kActivations)] = held;
      placed.dram_bytes[index(MemoryKind::kActivations)] = held;
    }
    plan.pe.push_back(placed);
  }
  accesses(g, program, units, buffered, plan);
  return plan;
}

}  // namespace lpsim::hardware
