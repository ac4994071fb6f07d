#include "sim/hardware/cost_model.h"

#include <algorithm>

#include "core/errors.h"
#include "sim/hardware/module_params.h"

namespace lpsim::hardware {

namespace {

using dataflow::NodeKind;
using hw::MemoryKind;
using ops::TensorClass;

// Bytes per element of a node's GEMM operands A and B, its result and its element-wise work,
// by their formats (ARCHITECTURE.md §2d): F and the rerun read activations and weights and
// write activations; Ba reads activation gradients and weights and writes activation
// gradients; Bw reads activation gradients and activations and writes a weight gradient; U
// works on the master copy and its state; the loss on activation gradients. An attention's
// streamed products read and write activations.
struct NodeBytes {
  std::uint64_t a = 4, b = 4, out = 4, vector = 4, streamed = 4;
  // MACs per cycle of its products and of its streamed ones, and those products' formats
  // (the wider operand's).
  std::int64_t macs_per_cycle = 1, streamed_macs_per_cycle = 1;
  ops::NumberFormat product = ops::NumberFormat::kFp32, streamed_product = ops::NumberFormat::kFp32;
};

static_assert(std::size(ops::kAllNumberFormats) == hw::kProductFormats,
              "the PE counts MACs by one code per number format");

ops::NumberFormat wider(ops::NumberFormat x, ops::NumberFormat y) {
  return ops::format_info(x).significand_bits >= ops::format_info(y).significand_bits ? x : y;
}

NodeBytes node_bytes(const dataflow::Node& node, const ops::Numerics& num,
                     const config::HwConfig& hw) {
  const auto w = [&num](TensorClass c) { return static_cast<std::uint64_t>(num.bytes(c)); };
  const auto product = [&](TensorClass x, TensorClass y) { return wider(num.of(x), num.of(y)); };
  const auto rate = [&](ops::NumberFormat f) { return hw.macs_per_cycle[static_cast<int>(f)]; };
  NodeBytes nb;
  nb.streamed = w(TensorClass::kActivations);
  switch (node.kind) {
    case NodeKind::kForward:
    case NodeKind::kRecompute:
    case NodeKind::kInput:
      nb = {w(TensorClass::kActivations), w(TensorClass::kWeights), w(TensorClass::kActivations),
            w(TensorClass::kActivations), nb.streamed};
      break;
    case NodeKind::kBackwardActivation:
    case NodeKind::kLoss:
      nb = {w(TensorClass::kActivationGradients), w(TensorClass::kWeights),
            w(TensorClass::kActivationGradients), w(TensorClass::kActivationGradients),
            nb.streamed};
      break;
    case NodeKind::kBackwardWeight:
      nb = {w(TensorClass::kActivationGradients), w(TensorClass::kActivations),
            w(TensorClass::kWeightGradients), w(TensorClass::kWeightGradients), nb.streamed};
      break;
    case NodeKind::kUpdate:
      nb.vector = w(TensorClass::kMaster);
      break;
  }
  switch (node.kind) {
    case NodeKind::kBackwardActivation:
      nb.product = product(TensorClass::kActivationGradients, TensorClass::kWeights);
      break;
    case NodeKind::kBackwardWeight:
      nb.product = product(TensorClass::kActivationGradients, TensorClass::kActivations);
      break;
    case NodeKind::kInput:
    case NodeKind::kForward:
    case NodeKind::kRecompute:
    case NodeKind::kUpdate:
    case NodeKind::kLoss:
      nb.product = product(TensorClass::kActivations, TensorClass::kWeights);
      break;
  }
  nb.streamed_product = product(TensorClass::kActivations, TensorClass::kActivations);
  nb.macs_per_cycle = rate(nb.product);
  nb.streamed_macs_per_cycle = rate(nb.streamed_product);
  return nb;
}

std::uint64_t operand_bytes(std::int64_t elements, bool binary, std::uint64_t bytes) {
  return static_cast<std::uint64_t>(
      models::tensor_bytes(elements, binary, static_cast<int>(bytes)));
}

std::size_t at(MemoryKind kind) { return static_cast<std::size_t>(kind); }

// Labels the node's SRAM traffic by kind; the totals are hw::task_cost's.
// `ba_operand`: the kind a Ba's weight operand comes from; `state`: the optimizer's tensors.
void label_traffic(const dataflow::Node& node, const NodeBytes& nb, MemoryKind ba_operand,
                   std::uint64_t state, TaskCost& c) {
  MemoryKind a = MemoryKind::kInFlight, b = MemoryKind::kInFlight, out = MemoryKind::kInFlight;
  if (node.kind == NodeKind::kForward) {
    b = MemoryKind::kWeights;
  } else if (node.kind == NodeKind::kBackwardActivation) {
    b = ba_operand;
  } else if (node.kind == NodeKind::kBackwardWeight) {
    b = MemoryKind::kActivations;
    out = MemoryKind::kGradients;
  }
  for (const auto& g : node.work.gemms) {
    if (g.m == 0 || g.n == 0 || g.k == 0) continue;
    // An attention's products (in F, or in a tail) stream both operands and their result.
    const MemoryKind gb = g.streamed ? MemoryKind::kInFlight : b;
    const MemoryKind go = g.streamed ? MemoryKind::kInFlight : out;
    c.sram_read[at(a)] += operand_bytes(g.m * g.k, g.a_binary, g.streamed ? nb.streamed : nb.a);
    c.sram_read[at(gb)] += operand_bytes(g.k * g.n, g.b_binary, g.streamed ? nb.streamed : nb.b);
    c.sram_write[at(go)] +=
        (g.streamed ? nb.streamed : nb.out) * static_cast<std::uint64_t>(g.m * g.n);
  }
  const std::uint64_t own = (c.vector_ops - c.tail_vector_ops) * nb.vector;
  if (node.kind == NodeKind::kUpdate) {
    // Reads: the gradient and the state's tensors, 1 : state; writes: the state and the
    // weights, state : 1 (sgd: half and half).
    const std::uint64_t one = own / (state + 1);
    c.sram_read[at(MemoryKind::kGradients)] += one;
    c.sram_read[at(MemoryKind::kOptimizer)] += own - one;
    c.sram_write[at(MemoryKind::kOptimizer)] += own - one;
    c.sram_write[at(MemoryKind::kWeights)] += one;
  } else {
    c.sram_read[at(MemoryKind::kInFlight)] += own;
    c.sram_write[at(node.kind == NodeKind::kBackwardWeight ? MemoryKind::kGradients
                                                           : MemoryKind::kInFlight)] += own;
  }
  const std::uint64_t tail = c.tail_vector_ops * nb.vector;
  c.sram_read[at(MemoryKind::kInFlight)] += tail;
  c.sram_write[at(MemoryKind::kInFlight)] += tail;
}

}  // namespace

std::vector<TaskCost> task_costs(const dataflow::TrainingGraph& graph, const config::HwConfig& hw,
                                 const std::vector<WeightUnitSlot>& units) {
  LPSIM_ASSERT(units.empty() || units.size() == graph.layers.size(),
               "task_costs: one weight-unit slot per layer");
  const policies::HardwareWork& work = graph.policy->hardware;
  const hw::ProcessingElementParams pe = pe_params(hw);
  std::vector<TaskCost> costs;
  costs.reserve(graph.nodes.size());
  for (const auto& node : graph.nodes) {
    const NodeBytes nb = node_bytes(node, graph.numerics, hw);
    auto pe_gemm = [&nb](const models::Gemm& g) {
      const std::uint64_t read =
          operand_bytes(g.m * g.k, g.a_binary, g.streamed ? nb.streamed : nb.a) +
          operand_bytes(g.k * g.n, g.b_binary, g.streamed ? nb.streamed : nb.b);
      return hw::PeGemm{{g.m, g.n, g.k},
                        read,
                        (g.streamed ? nb.streamed : nb.out) * static_cast<std::uint64_t>(g.m * g.n),
                        g.binary(),
                        g.streamed ? nb.streamed_macs_per_cycle : nb.macs_per_cycle,
                        static_cast<std::uint8_t>(g.streamed ? nb.streamed_product : nb.product)};
    };
    hw::PeTask task;
    task.bytes_per_element = nb.vector;
    // The node's work holds its tails' GEMMs too (an attention's backward): apart here.
    std::vector<models::Gemm> own = node.work.gemms;
    for (const models::Gemm& t : node.tail_work.gemms) {
      auto same = [&t](const models::Gemm& g) {
        return g.m == t.m && g.n == t.n && g.k == t.k && g.a_binary == t.a_binary &&
               g.b_binary == t.b_binary && g.streamed == t.streamed;
      };
      auto it = std::find_if(own.begin(), own.end(), same);
      LPSIM_ASSERT(it != own.end(), "a tail GEMM missing from its node's work");
      own.erase(it);
      task.tail_gemms.push_back(pe_gemm(t));
    }
    for (const auto& g : own) task.gemms.push_back(pe_gemm(g));
    task.tail_vector_ops = static_cast<std::uint64_t>(node.tail_work.vector_ops);
    task.vector_ops = static_cast<std::uint64_t>(node.work.vector_ops) - task.tail_vector_ops;
    TaskCost c;
    static_cast<hw::PeTaskCost&>(c) = hw::task_cost(pe, task);
    MemoryKind ba_operand = MemoryKind::kWeights;
    if (node.kind == NodeKind::kBackwardActivation && !units.empty() &&
        units[node.unit].kind != nullptr) {
      ba_operand = units[node.unit].kind->backward_operand(work);
    }
    label_traffic(node, nb, ba_operand, static_cast<std::uint64_t>(graph.update.state_tensors), c);
    c.vector_bytes = nb.vector;
    costs.push_back(c);
  }
  for (const WeightUnitSlot& slot : units) {
    if (slot.kind == nullptr) continue;
    const WeightUnitLayer& l = slot.layer;
    const WeightUnitCycles w = slot.kind->cycles(work, l, hw);
    costs[l.forward_node].unit_cycles += w.forward;
    if (l.has_backward()) costs[l.backward_node].unit_cycles += w.backward;
    costs[l.update_node].unit_cycles += w.update;
    costs[l.update_node].async_cycles += w.after_update;
  }
  return costs;
}

hw::ProcessingElementWork part_work(const TaskCost& cost, dataflow::NodePart part) {
  hw::ProcessingElementWork tail;
  tail.vector_ops = cost.tail_vector_ops;
  tail.macs = cost.tail_macs;
  tail.macs_by_format = cost.tail_macs_by_format;
  tail.sram_read[at(MemoryKind::kInFlight)] =
      cost.vector_bytes * cost.tail_vector_ops + cost.tail_gemm_read_bytes;
  tail.sram_write[at(MemoryKind::kInFlight)] =
      cost.vector_bytes * cost.tail_vector_ops + cost.tail_gemm_write_bytes;
  if (part == dataflow::NodePart::kTail) return tail;
  hw::ProcessingElementWork w;
  w.macs = cost.macs - cost.accumulates;
  w.macs_by_format = cost.macs_by_format;
  w.accumulates = cost.accumulates;
  w.vector_ops = cost.vector_ops;
  w.sram_read = cost.sram_read;
  w.sram_write = cost.sram_write;
  if (part == dataflow::NodePart::kProduct) {
    w.vector_ops -= tail.vector_ops;
    w.macs -= tail.macs;
    for (std::size_t f = 0; f < hw::kProductFormats; ++f)
      w.macs_by_format[f] -= tail.macs_by_format[f];
    w.sram_read[at(MemoryKind::kInFlight)] -= tail.sram_read[at(MemoryKind::kInFlight)];
    w.sram_write[at(MemoryKind::kInFlight)] -= tail.sram_write[at(MemoryKind::kInFlight)];
  }
  return w;
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
