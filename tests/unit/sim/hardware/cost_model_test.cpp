// The cost model (sim/hardware/cost_model.h): cycles, work and SRAM bytes by memory kind of
// every task of small training graphs, derived by hand from ARCHITECTURE.md §4 (a fold costs
// R + C + T − 2 cycles for OS, 2R + C + T − 2 for WS and IS; element-wise work takes
// ceil(ops / lanes); a task is stretched to ceil(bytes / bytes_per_cycle) when its SRAM
// traffic is the slower), the weight-version units of each policy, and the forward GEMM of a
// one-layer network against SCALE-Sim v2's own cycle counts.
#include "sim/hardware/cost_model.h"

#include <gtest/gtest.h>

#include <charconv>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "dataflow/partition.h"
#include "hw_models/pe/pe_types.h"
#include "workloads/models/network.h"
#include "workloads/models/units.h"
#include "workloads/policies/policy.h"

namespace lpsim::hardware {
namespace {

using hw::MemoryKind;

std::uint64_t kind_bytes(const hw::ResidentBytes& bytes, MemoryKind kind) {
  return bytes[static_cast<std::size_t>(kind)];
}

std::uint64_t total_bytes(const hw::ResidentBytes& bytes) {
  std::uint64_t total = 0;
  for (std::uint64_t b : bytes) total += b;
  return total;
}

// A network of linear layers `widths[0] -> widths[1] -> ...`, ReLU between them.
models::Network cost_mlp(const std::vector<std::int64_t>& widths) {
  core::Json layers = core::Json::array();
  for (std::size_t i = 1; i < widths.size(); ++i) {
    const std::string n = std::to_string(i);
    layers.push_back({{"name", "fc" + n}, {"type", "linear"}, {"out_features", widths[i]}});
    if (i + 1 < widths.size()) layers.push_back({{"name", "relu" + n}, {"type", "relu"}});
  }
  layers.push_back({{"name", "loss"}, {"type", "softmax_cross_entropy"}});
  return models::parse_network(
      {{"name", "cost_mlp"}, {"input", {{"shape", {widths[0]}}}}, {"layers", layers}}, "test");
}

struct CostedGraph {
  models::Network net;
  models::UnitGraph units;
  dataflow::TrainingGraph graph;
};

// One stage per layer.
CostedGraph cost_graph(const std::vector<std::int64_t>& widths, const std::string& policy,
                       std::int64_t batch) {
  CostedGraph c{cost_mlp(widths), {}, {}};
  c.units = models::group_units(c.net);
  c.graph = dataflow::build_training_graph(
      c.net, c.units, dataflow::make_partition(c.units, dataflow::StageSpec{}, "test", ""),
      policies::get(policy), batch);
  return c;
}

// A 2 x 2 output-stationary array, 4 vector lanes, 2 EMA lanes, bandwidth that never binds.
config::HwConfig cost_hw(hw::Dataflow dataflow = hw::Dataflow::kOutputStationary,
                         std::int64_t sram_bytes_per_cycle = 1 << 20) {
  config::HwConfig c;
  c.period_ns = 1.0;
  c.pe_rows = 2;
  c.pe_cols = 2;
  c.pe_dataflow = dataflow;
  c.vector_lanes = 4;
  c.sram_bytes_per_cycle = sram_bytes_per_cycle;
  c.vector_unit_lanes = 2;
  return c;
}

int node_named(const dataflow::TrainingGraph& g, const std::string& name) {
  for (std::size_t v = 0; v < g.nodes.size(); ++v) {
    if (g.nodes[v].name == name) return static_cast<int>(v);
  }
  ADD_FAILURE() << "no node " << name;
  return 0;
}

// 8 -> fc1 (4) -> relu1 -> fc2 (3) -> loss, batch 2, fc1 | fc2: d = 2, 0. fp32 (4 bytes).
// Nodes: In, F:fc1, Bw:fc1, U:fc1 (fc1 reads only the input: no Ba), F:fc2, Ba:fc2, Bw:fc2,
// U:fc2, Loss. Ba:fc2 runs relu1's backward (8 ops) as its tail.
CostedGraph tiny_graph() { return cost_graph({8, 4, 3}, "none", 2); }

TEST(TaskCosts, EveryTaskOfATinyMlpOnATwoByTwoArray) {
  const CostedGraph c = tiny_graph();
  const std::vector<TaskCost> costs = task_costs(c.graph, cost_hw());
  ASSERT_EQ(costs.size(), 9u);
  struct Want {
    const char* node;
    std::uint64_t gemm_cycles, vector_cycles, cycles, tail_cycles, macs, vector_ops;
  };
  // OS on 2 x 2: folds ceil(M/2)·ceil(N/2), each 2 + 2 + K − 2 = K + 2 cycles.
  const Want want[] = {
      {"In", 0, 0, 0, 0, 0, 0},
      // [2x8]·[8x4]: 1·2 folds of 10; 8 bias adds + 8 ReLUs on 4 lanes: 4.
      {"F:fc1", 20, 4, 24, 0, 64, 16},
      // dW [4x2]·[2x8]: 2·4 folds of 4; 8 bias-gradient ops: 2.
      {"Bw:fc1", 32, 2, 34, 0, 64, 8},
      // 2 ops per parameter (32 + 4): 72 ops, 18 cycles.
      {"U:fc1", 0, 18, 18, 0, 0, 72},
      // [2x4]·[4x3]: 1·2 folds of 6; 6 bias adds: 2.
      {"F:fc2", 12, 2, 14, 0, 24, 6},
      // [2x3]·[3x4]: 1·2 folds of 5; relu1's backward tail, 8 ops: 2 cycles.
      {"Ba:fc2", 10, 2, 12, 2, 24, 8},
      // dW [3x2]·[2x4]: 2·2 folds of 4; 6 bias-gradient ops: 2.
      {"Bw:fc2", 16, 2, 18, 0, 24, 6},
      // 2 · (12 + 3) = 30 ops: 8 cycles.
      {"U:fc2", 0, 8, 8, 0, 0, 30},
      // Softmax cross-entropy over 2·3 logits: 3 per element forward, 1 backward: 24 ops.
      {"Loss", 0, 6, 6, 0, 0, 24},
  };
  for (const Want& w : want) {
    SCOPED_TRACE(w.node);
    const TaskCost& t = costs[node_named(c.graph, w.node)];
    EXPECT_EQ(t.gemm_cycles, w.gemm_cycles);
    EXPECT_EQ(t.vector_cycles, w.vector_cycles);
    EXPECT_EQ(t.cycles, w.cycles);
    EXPECT_EQ(t.tail_cycles, w.tail_cycles);
    EXPECT_EQ(t.macs, w.macs);
    EXPECT_EQ(t.accumulates, 0u);
    EXPECT_EQ(t.vector_ops, w.vector_ops);
    // Without the policy's units nothing else is charged.
    EXPECT_EQ(t.unit_cycles, 0u);
    EXPECT_EQ(t.async_cycles, 0u);
    // The kinds add up to the PE model's totals.
    EXPECT_EQ(total_bytes(t.sram_read), t.sram_read_bytes);
    EXPECT_EQ(total_bytes(t.sram_write), t.sram_write_bytes);
  }
  EXPECT_EQ(costs[node_named(c.graph, "Ba:fc2")].tail_vector_ops, 8u);
}

TEST(TaskCosts, SramTrafficIsLabelledByTheKindItTouches) {
  const CostedGraph c = tiny_graph();
  const std::vector<TaskCost> costs = task_costs(c.graph, cost_hw());
  const auto& f1 = costs[node_named(c.graph, "F:fc1")];
  // A (2x8) in flight, B (8x4) the weights, C (2x4) in flight; 16 element ops read and
  // write in flight. 4 bytes each.
  EXPECT_EQ(kind_bytes(f1.sram_read, MemoryKind::kInFlight), (16 + 16) * 4u);
  EXPECT_EQ(kind_bytes(f1.sram_read, MemoryKind::kWeights), 32 * 4u);
  EXPECT_EQ(kind_bytes(f1.sram_write, MemoryKind::kInFlight), (8 + 16) * 4u);
  EXPECT_EQ(total_bytes(f1.sram_write), (8 + 16) * 4u);

  const auto& bw1 = costs[node_named(c.graph, "Bw:fc1")];
  // A = δᵀ (4x2) in flight, B = the kept input (2x8), C = dW (4x8) to the gradient
  // register; the 8 bias-gradient ops read in flight and write gradients.
  EXPECT_EQ(kind_bytes(bw1.sram_read, MemoryKind::kInFlight), (8 + 8) * 4u);
  EXPECT_EQ(kind_bytes(bw1.sram_read, MemoryKind::kActivations), 16 * 4u);
  EXPECT_EQ(kind_bytes(bw1.sram_write, MemoryKind::kGradients), (32 + 8) * 4u);
  EXPECT_EQ(kind_bytes(bw1.sram_write, MemoryKind::kInFlight), 0u);

  const auto& u1 = costs[node_named(c.graph, "U:fc1")];
  // 36 parameters, two operations each: read gradient and momentum, write momentum and W.
  EXPECT_EQ(kind_bytes(u1.sram_read, MemoryKind::kGradients), 36 * 4u);
  EXPECT_EQ(kind_bytes(u1.sram_read, MemoryKind::kOptimizer), 36 * 4u);
  EXPECT_EQ(kind_bytes(u1.sram_write, MemoryKind::kOptimizer), 36 * 4u);
  EXPECT_EQ(kind_bytes(u1.sram_write, MemoryKind::kWeights), 36 * 4u);

  const auto& ba2 = costs[node_named(c.graph, "Ba:fc2")];
  // A = δ (2x3) in flight, B = W2 (3x4, d = 0: the register), C (2x4) in flight; the tail's
  // 8 ops read and write in flight.
  EXPECT_EQ(kind_bytes(ba2.sram_read, MemoryKind::kInFlight), (6 + 8) * 4u);
  EXPECT_EQ(kind_bytes(ba2.sram_read, MemoryKind::kWeights), 12 * 4u);
  EXPECT_EQ(kind_bytes(ba2.sram_write, MemoryKind::kInFlight), (8 + 8) * 4u);
}

TEST(TaskCosts, TrafficBeyondTheSramBandwidthStretchesTheTask) {
  const CostedGraph c = tiny_graph();
  const std::vector<TaskCost> costs =
      task_costs(c.graph, cost_hw(hw::Dataflow::kOutputStationary, 8));
  // F:fc1 moves 192 operand bytes, 32 result bytes and 2·4·16 element bytes: 352 / 8 = 44
  // cycles > 24 of compute.
  EXPECT_EQ(costs[node_named(c.graph, "F:fc1")].cycles, 44u);
  EXPECT_EQ(costs[node_named(c.graph, "F:fc1")].gemm_cycles, 20u);
  // U:fc1: 2·4·72 = 576 bytes, 72 cycles > 18.
  EXPECT_EQ(costs[node_named(c.graph, "U:fc1")].cycles, 72u);
  // Ba:fc2: its product moves 24 + 48 + 32 = 104 bytes (13 cycles > 10), its tail 2·4·8 = 64
  // (8 > 2), each stretched on its own.
  const TaskCost& ba2 = costs[node_named(c.graph, "Ba:fc2")];
  EXPECT_EQ(ba2.tail_cycles, 8u);
  EXPECT_EQ(ba2.cycles, 13u + 8u);
  // The loss: 24 ops, 2·4·24 = 192 bytes, 24 cycles > 6.
  EXPECT_EQ(costs[node_named(c.graph, "Loss")].cycles, 24u);
}

TEST(TaskCosts, TheDataflowMapsTheForwardGemm) {
  const CostedGraph c = tiny_graph();
  const int f1 = node_named(c.graph, "F:fc1");
  // [2x8]·[8x4] on 2 x 2. WS: Sr = K = 8, Sc = N = 4, T = M = 2: 4·2 folds of 4+2+2−2 = 6.
  EXPECT_EQ(task_costs(c.graph, cost_hw(hw::Dataflow::kWeightStationary))[f1].gemm_cycles, 48u);
  // IS: Sr = K = 8, Sc = M = 2, T = N = 4: 4·1 folds of 4+2+4−2 = 8.
  EXPECT_EQ(task_costs(c.graph, cost_hw(hw::Dataflow::kInputStationary))[f1].gemm_cycles, 32u);
}

TEST(PartWork, ProductAndTailSplitTheWholeBaTask) {
  const CostedGraph c = tiny_graph();
  const TaskCost ba2 = task_costs(c.graph, cost_hw())[node_named(c.graph, "Ba:fc2")];
  const hw::ProcessingElementWork whole = part_work(ba2, dataflow::NodePart::kWhole);
  const hw::ProcessingElementWork product = part_work(ba2, dataflow::NodePart::kProduct);
  const hw::ProcessingElementWork tail = part_work(ba2, dataflow::NodePart::kTail);
  EXPECT_EQ(whole.macs, 24u);
  EXPECT_EQ(whole.vector_ops, 8u);
  EXPECT_EQ(product.macs, 24u);
  EXPECT_EQ(product.vector_ops, 0u);
  EXPECT_EQ(tail.macs, 0u);
  EXPECT_EQ(tail.vector_ops, 8u);
  // The tail reads and writes its 8 elements in flight; the product keeps the rest.
  EXPECT_EQ(kind_bytes(tail.sram_read, MemoryKind::kInFlight), 32u);
  EXPECT_EQ(kind_bytes(tail.sram_write, MemoryKind::kInFlight), 32u);
  EXPECT_EQ(total_bytes(tail.sram_read), 32u);
  EXPECT_EQ(kind_bytes(product.sram_read, MemoryKind::kInFlight), 24u);
  EXPECT_EQ(kind_bytes(product.sram_read, MemoryKind::kWeights), 48u);
  EXPECT_EQ(kind_bytes(product.sram_write, MemoryKind::kInFlight), 32u);
  for (std::size_t k = 0; k < hw::kMemoryKinds; ++k) {
    EXPECT_EQ(product.sram_read[k] + tail.sram_read[k], whole.sram_read[k]) << k;
    EXPECT_EQ(product.sram_write[k] + tail.sram_write[k], whole.sram_write[k]) << k;
  }
  EXPECT_EQ(whole.sram_read_bytes(), ba2.sram_read_bytes);
  EXPECT_EQ(whole.sram_write_bytes(), ba2.sram_write_bytes);
}

// 8 -> fc1 (4) -> fc2 (6) -> fc3 (3), batch 2, one stage each: d = 4, 2, 0; fc2 is the
// layer with a delayed Ba. |W2| = 24, |b2| = 6; |W1| = 32, |b1| = 4. SRAM 8 bytes per cycle,
// EMA unit 2 lanes.
struct PolicyWant {
  const char* policy;
  MemoryKind ba2_weight_operand;
  std::uint64_t f1_unit, f2_unit, ba2_unit, u1_unit, u2_unit, u1_async, u2_async;
};

// lwp's prediction reads the optimizer's state: v under sgd (1 lane operation per element),
// m and s under adamw (7: m̂ and ŝ, √, + eps, ÷, + λ·W, W − lr·d·x).
TEST(TaskCosts, LwpPredictsFromTheOptimizersState) {
  for (const std::int64_t state : {1, 2}) {
    SCOPED_TRACE(state);
    CostedGraph c{cost_mlp({8, 4, 6, 3}), {}, {}};
    c.units = models::group_units(c.net);
    models::UpdateCost update;
    update.state_tensors = state;
    update.lane_ops = state == 1 ? 2 : 12;
    c.graph = dataflow::build_training_graph(
        c.net, c.units, dataflow::make_partition(c.units, dataflow::StageSpec{}, "test", ""),
        policies::get("lwp"), 2, update);
    const std::vector<WeightUnitSlot> units = assign_weight_units(c.graph, c.net, c.units);
    const std::vector<TaskCost> costs = task_costs(c.graph, cost_hw(), units);
    // fc1: |W| + |b| = 8·4 + 4 = 36 elements on 2 lanes, 18 cycles per lane operation.
    EXPECT_EQ(costs[node_named(c.graph, "F:fc1")].unit_cycles, 18u * (state == 1 ? 1 : 7));
    ASSERT_NE(units[0].kind, nullptr);
    std::uint64_t optimizer_read = 0;
    for (const WeightUnitAccess& a :
         units[0].kind->accesses(c.graph.policy->hardware, units[0].layer)) {
      if (a.task == dataflow::NodeKind::kForward && a.kind == MemoryKind::kOptimizer) {
        EXPECT_FALSE(a.write);
        optimizer_read += a.bytes;
      }
    }
    EXPECT_EQ(optimizer_read, static_cast<std::uint64_t>(state) * 36 * 4);
  }
}

TEST(TaskCosts, EachPolicysUnitsChargeTheirOwnCostModels) {
  const PolicyWant wants[] = {
      // Plain delayed gradients: Ba reads the register, no unit.
      {"none", MemoryKind::kWeights, 0, 0, 0, 0, 0, 0, 0},
      // The copy of W2 (24 · 4 bytes at 8 per cycle) before U:fc2; fc1 has no Ba, no stash.
      {"stash", MemoryKind::kStash, 0, 0, 0, 0, 12, 0, 0},
      // EMA of W2 updated after U (2 ops on 24 elements, 2 lanes: 24) and read as it is.
      {"ema_weight", MemoryKind::kEma, 0, 0, 0, 0, 0, 0, 24},
      // EMA of the update after U (24) and W2 + c·ū before Ba (1 op: 12); Ba streams W2.
      {"ema_grad", MemoryKind::kWeights, 0, 0, 12, 0, 0, 0, 24},
      // A prediction of W and b before F (1 op on 36 and 30 elements), also for fc1.
      {"lwp", MemoryKind::kWeights, 18, 15, 0, 0, 0, 0, 0},
      // The same prediction, and the EMA of W and b updated after U (2 ops: 36 and 30).
      {"ema_lwp", MemoryKind::kWeights, 18, 15, 0, 0, 0, 36, 30},
  };
  for (const PolicyWant& w : wants) {
    SCOPED_TRACE(w.policy);
    const CostedGraph c = cost_graph({8, 4, 6, 3}, w.policy, 2);
    ASSERT_EQ(c.graph.layers[1].delay, 2);
    const config::HwConfig config = cost_hw(hw::Dataflow::kOutputStationary, 8);
    const std::vector<TaskCost> plain = task_costs(c.graph, config);
    const std::vector<TaskCost> costs =
        task_costs(c.graph, config, assign_weight_units(c.graph, c.net, c.units));
    ASSERT_EQ(costs.size(), plain.size());
    const auto unit = [&](const char* node) {
      return costs[node_named(c.graph, node)].unit_cycles;
    };
    const auto async = [&](const char* node) {
      return costs[node_named(c.graph, node)].async_cycles;
    };
    EXPECT_EQ(unit("F:fc1"), w.f1_unit);
    EXPECT_EQ(unit("F:fc2"), w.f2_unit);
    EXPECT_EQ(unit("Ba:fc2"), w.ba2_unit);
    EXPECT_EQ(unit("U:fc1"), w.u1_unit);
    EXPECT_EQ(unit("U:fc2"), w.u2_unit);
    EXPECT_EQ(async("U:fc1"), w.u1_async);
    EXPECT_EQ(async("U:fc2"), w.u2_async);
    // fc3 has d = 0: every policy is plain SGD there.
    for (const char* node : {"F:fc3", "Ba:fc3", "Bw:fc3", "U:fc3"}) {
      EXPECT_EQ(unit(node), 0u) << node;
      EXPECT_EQ(async(node), 0u) << node;
    }
    // The units add waits and name where Ba's operand comes from; the PE's own cost and
    // traffic are the same as without them.
    for (std::size_t v = 0; v < costs.size(); ++v) {
      EXPECT_EQ(costs[v].cycles, plain[v].cycles) << c.graph.nodes[v].name;
      EXPECT_EQ(costs[v].sram_read_bytes, plain[v].sram_read_bytes) << c.graph.nodes[v].name;
      if (c.graph.nodes[v].kind != dataflow::NodeKind::kBackwardActivation) {
        EXPECT_EQ(costs[v].sram_read, plain[v].sram_read) << c.graph.nodes[v].name;
      }
    }
    // Ba:fc2's weight operand, [6 x 4] (K = 6 outputs, N = 4 inputs), comes from the kind
    // the policy names; Ba:fc3 (d = 0) always reads the register ([3 x 6]).
    const TaskCost& ba2 = costs[node_named(c.graph, "Ba:fc2")];
    EXPECT_EQ(kind_bytes(ba2.sram_read, w.ba2_weight_operand), 24 * 4u);
    for (MemoryKind kind : {MemoryKind::kWeights, MemoryKind::kStash, MemoryKind::kEma}) {
      if (kind != w.ba2_weight_operand) {
        EXPECT_EQ(kind_bytes(ba2.sram_read, kind), 0u);
      }
    }
    EXPECT_EQ(kind_bytes(costs[node_named(c.graph, "Ba:fc3")].sram_read, MemoryKind::kWeights),
              18 * 4u);
  }
}

// The forward GEMM of a one-layer network (K inputs, N outputs, batch M) is SCALE-Sim v2's
// [M x K]·[K x N]; SCALE-Sim prints the index of the last cycle, one less than our count.
const char* const kCostScaleSimPath =
    LPSIM_SOURCE_DIR "/../shared/reference/scalesim_v2_gemm_cycles.csv";

std::int64_t cost_field(const std::string& field) {
  std::int64_t value = -1;
  const auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), value);
  EXPECT_TRUE(error == std::errc() && end == field.data() + field.size()) << field;
  return value;
}

TEST(TaskCostsMatchScaleSimV2, ForwardGemmOfEveryReferenceRow) {
  std::ifstream in(kCostScaleSimPath);
  if (!in) GTEST_SKIP() << "reference not found: " << kCostScaleSimPath;
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();  // the file has CRLF endings
  ASSERT_EQ(line, "rows,cols,dataflow,M,N,K,scalesim_v2_total_cycles,scalesim_v2_stall_cycles");
  int rows = 0;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    SCOPED_TRACE(line);
    std::vector<std::string> f;
    std::size_t start = 0;
    for (std::size_t comma; (comma = line.find(',', start)) != std::string::npos; start = comma + 1)
      f.push_back(line.substr(start, comma - start));
    f.push_back(line.substr(start));
    ASSERT_EQ(f.size(), 8u);
    const std::optional<hw::Dataflow> dataflow = hw::try_parse_dataflow(f[2]);
    ASSERT_TRUE(dataflow.has_value());
    const std::int64_t m = cost_field(f[3]), n = cost_field(f[4]), k = cost_field(f[5]);
    const CostedGraph c = cost_graph({k, n}, "none", m);
    config::HwConfig array = cost_hw(*dataflow);
    array.pe_rows = cost_field(f[0]);
    array.pe_cols = cost_field(f[1]);
    const TaskCost fwd = task_costs(c.graph, array)[node_named(c.graph, "F:fc1")];
    EXPECT_EQ(fwd.gemm_cycles, static_cast<std::uint64_t>(cost_field(f[6])) + 1);
    EXPECT_EQ(fwd.macs, static_cast<std::uint64_t>(m * n * k));
    // Plus the M·N bias adds on 4 lanes (the bandwidth never binds here).
    EXPECT_EQ(fwd.cycles, fwd.gemm_cycles + static_cast<std::uint64_t>((m * n + 3) / 4));
    ++rows;
  }
  EXPECT_GT(rows, 0);
  std::cout << "checked " << rows << " SCALE-Sim v2 rows through the cost model\n";
}

}  // namespace
}  // namespace lpsim::hardware
