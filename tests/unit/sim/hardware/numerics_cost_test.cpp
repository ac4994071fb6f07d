// The costs follow the formats (ARCHITECTURE.md §2d): the plan of cnn3 in 3 stages under
// `stash` with bf16 activations, fp8 activation gradients, bf16 weight gradients, a bf16
// master, bf16 weights and a bf16 stash carries every tensor at its format's width: data edges,
// residents of every kind, and the SRAM traffic of F, Ba and Bw, against the same plan in fp32.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "sim/hardware/hardware_plan.h"

namespace lpsim::hardware {
namespace {

using dataflow::EdgeKind;
using dataflow::NodeKind;
using hw::MemoryKind;

HardwarePlan plan_of(const std::vector<std::string>& formats) {
  std::vector<std::string> sets = {
      "/workload/model=cnn3",
      "/workload/dataset/kind=synthetic",
      "/workload/dataset/synthetic={\"train_samples\":64,\"test_samples\":16}",
      "/pipeline/stages=[1,1,1]",
      "/pipeline/policy=stash",
      "/pipeline/stability_check=false"};
  sets.insert(sets.end(), formats.begin(), formats.end());
  const run::Job job = prepare_job("", sets, "", false);
  return plan_hardware(job);
}

std::uint64_t resident(const HardwarePlan& p, MemoryKind kind) {
  std::uint64_t total = 0;
  for (const hw::Placement& pe : p.memory.pe) total += pe.resident_bytes[static_cast<int>(kind)];
  return total;
}

TEST(NumericsCosts, EveryTensorTakesItsFormatsWidth) {
  const HardwarePlan wide = plan_of({});
  const HardwarePlan narrow =
      plan_of({"/hw/numerics/activations=bf16", "/hw/numerics/activation_gradients=fp8_e5m2",
               "/hw/numerics/weight_gradients=bf16", "/hw/numerics/master=bf16",
               "/hw/numerics/weights=bf16", "/hw/numerics/stash=bf16"});
  ASSERT_EQ(wide.graph.edges.size(), narrow.graph.edges.size());
  for (std::size_t e = 0; e < wide.graph.edges.size(); ++e) {
    const dataflow::Edge& w = wide.graph.edges[e];
    const dataflow::Edge& n = narrow.graph.edges[e];
    switch (w.kind) {
      case EdgeKind::kActivation:
      case EdgeKind::kStoredActivation:
      case EdgeKind::kWeights:
      case EdgeKind::kStashedWeights:
      case EdgeKind::kWeightGradient:
      case EdgeKind::kStageInput:
        EXPECT_EQ(n.bytes_per_token * 2, w.bytes_per_token) << dataflow::edge_kind_name(w.kind);
        break;
      case EdgeKind::kGradient:
        EXPECT_EQ(n.bytes_per_token * 4, w.bytes_per_token);
        break;
    }
  }
  for (MemoryKind kind : {MemoryKind::kWeights, MemoryKind::kOptimizer, MemoryKind::kGradients,
                          MemoryKind::kStash, MemoryKind::kActivations}) {
    EXPECT_GT(resident(wide, kind), 0u) << hw::memory_kind_name(kind);
    EXPECT_EQ(resident(narrow, kind) * 2, resident(wide, kind)) << hw::memory_kind_name(kind);
  }
  // SRAM traffic of the tasks: F reads bf16 activations and weights and writes bf16; Ba reads
  // fp8 gradients and bf16 weights and writes fp8; Bw reads fp8 and bf16 and writes bf16.
  const dataflow::TrainingGraph& g = wide.graph;
  const int fc = 2;  // fc: one GEMM per task, no element-wise work of its own but F's bias
  const TaskCost& fw = wide.costs[g.forward_node[fc]];
  const TaskCost& fn = narrow.costs[g.forward_node[fc]];
  EXPECT_EQ(fn.sram_read[static_cast<int>(MemoryKind::kWeights)] * 2,
            fw.sram_read[static_cast<int>(MemoryKind::kWeights)]);
  const TaskCost& bw = wide.costs[g.bw_node[fc]];
  const TaskCost& bn = narrow.costs[g.bw_node[fc]];
  EXPECT_EQ(bn.sram_read[static_cast<int>(MemoryKind::kActivations)] * 2,
            bw.sram_read[static_cast<int>(MemoryKind::kActivations)]);
  EXPECT_EQ(bn.sram_write[static_cast<int>(MemoryKind::kGradients)] * 2,
            bw.sram_write[static_cast<int>(MemoryKind::kGradients)]);
  EXPECT_LT(narrow.costs[g.ba_node[fc]].sram_read_bytes, wide.costs[g.ba_node[fc]].sram_read_bytes);
}

// hw.pe.macs_per_cycle_by_format: a product in a format the PE does 2 MACs of per cycle folds in
// ceil(T / 2) temporal steps. fc's forward in cnn3 at batch 32 is [32 x 1568]·[1568 x 10] on
// the 32 x 32 output-stationary array: one fold of R + C + T − 2 = 32 + 32 + 1568 − 2 cycles in
// fp32, 32 + 32 + 784 − 2 when its operands are bf16 and bf16 does 2 per cycle.
TEST(NumericsCosts, MacsPerCycleByFormatShortenTheFold) {
  const std::string rates =
      "/hw/pe/macs_per_cycle_by_format={\"fp32\":1,\"fp16\":1,\"bf16\":2,\"fp8_e4m3\":4,"
      "\"fp8_e5m2\":4}";
  const HardwarePlan wide = plan_of({rates});
  const HardwarePlan bf16 =
      plan_of({rates, "/hw/numerics/activations=bf16", "/hw/numerics/weights=bf16",
               "/hw/numerics/activation_gradients=bf16"});
  const HardwarePlan mixed =
      plan_of({rates, "/hw/numerics/activations=fp8_e4m3", "/hw/numerics/weights=bf16"});
  const int f = wide.graph.forward_node[2];
  EXPECT_EQ(wide.costs[f].gemm_cycles, 32u + 32u + 1568u - 2u);
  EXPECT_EQ(bf16.costs[f].gemm_cycles, 32u + 32u + 784u - 2u);
  // A product costs its wider operand's rate: fp8 activations by bf16 weights run at bf16's.
  EXPECT_EQ(mixed.costs[f].gemm_cycles, 32u + 32u + 784u - 2u);
  EXPECT_EQ(bf16.costs[f].macs, wide.costs[f].macs);
}

// MACs are counted by their product's format, the wider operand's (§2d), for the energy
// table's rows: with e4m3 weights, bf16 activations and e5m2 activation gradients, F's
// products are bf16 (activations by weights), Ba's e4m3 (e5m2 gradients by e4m3 weights: 4
// significand bits against 3) and Bw's bf16 (gradients by activations).
TEST(NumericsCosts, MacsAreCountedByTheirProductsFormat) {
  const HardwarePlan mixed =
      plan_of({"/hw/numerics/weights=fp8_e4m3", "/hw/numerics/activations=bf16",
               "/hw/numerics/activation_gradients=fp8_e5m2"});
  const HardwarePlan wide = plan_of({});
  const dataflow::TrainingGraph& g = mixed.graph;
  const auto at = [](ops::NumberFormat f) { return static_cast<std::size_t>(f); };
  std::uint64_t f_macs = 0, ba_macs = 0, bw_macs = 0;
  for (std::size_t v = 0; v < g.nodes.size(); ++v) {
    const TaskCost& c = mixed.costs[v];
    std::uint64_t sum = 0;
    for (std::uint64_t n : c.macs_by_format) sum += n;
    EXPECT_EQ(sum, c.macs - c.accumulates) << v;
    // The fp32 plan counts the same MACs, all in fp32.
    EXPECT_EQ(wide.costs[v].macs_by_format[at(ops::NumberFormat::kFp32)], sum) << v;
    switch (g.nodes[v].kind) {
      case NodeKind::kForward:
        EXPECT_EQ(c.macs_by_format[at(ops::NumberFormat::kBf16)], sum);
        f_macs += sum;
        break;
      case NodeKind::kBackwardActivation:
        EXPECT_EQ(c.macs_by_format[at(ops::NumberFormat::kFp8E4m3)], sum);
        ba_macs += sum;
        break;
      case NodeKind::kBackwardWeight:
        EXPECT_EQ(c.macs_by_format[at(ops::NumberFormat::kBf16)], sum);
        bw_macs += sum;
        break;
      case NodeKind::kInput:
      case NodeKind::kRecompute:
      case NodeKind::kUpdate:
      case NodeKind::kLoss:
        break;
    }
  }
  EXPECT_GT(f_macs, 0u);
  EXPECT_GT(ba_macs, 0u);
  EXPECT_GT(bw_macs, 0u);
}

}  // namespace
}  // namespace lpsim::hardware
