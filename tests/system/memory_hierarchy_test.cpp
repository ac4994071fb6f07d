// The memory hierarchy on the SystemC model (issue 13): on a small SRAM the DRAM traffic
// the model makes equals the placement times the access table of ARCHITECTURE.md 4b
// (re-derived here from the graph, independently of sim/hardware/memory_plan.cpp), the SRAM
// never holds more than its capacity, tasks stall for DRAM, and the math is still the
// reference trainer's bit for bit.

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <ostream>
#include <string>

#include "sim/hardware/pipeline.h"
#include "system_test_util.h"

namespace lpsim {
namespace {

using dataflow::EdgeKind;
using hw::MemoryKind;

struct Access {
  int node;
  int owner;  // PE whose placement holds the resident
  MemoryKind kind;
  std::uint64_t bytes;
  bool write;
};

// Every resident access one instance of each node makes (section 4b's table).
std::vector<Access> access_table(const hardware::HardwarePlan& plan, const run::Job& job) {
  const dataflow::TrainingGraph& g = plan.graph;
  const std::string policy = g.policy->name;
  std::vector<Access> out;
  for (std::size_t u = 0; u < g.layers.size(); ++u) {
    const models::Layer& layer = job.network.layers[job.units.units[u].layer];
    const std::uint64_t params = 4 * static_cast<std::uint64_t>(layer.num_params());
    const std::uint64_t weights = 4 * static_cast<std::uint64_t>(layer.weight_size());
    const int o = plan.program.processor_of_node[g.update_node[u]];
    const bool delayed = g.layers[u].delay > 0 && g.ba_node[u] >= 0;
    out.push_back({g.forward_node[u], o, MemoryKind::kWeights, params, false});
    if (g.ba_node[u] >= 0) {
      const int ba = g.ba_node[u];
      if (delayed && policy == "stash") {
        out.push_back({ba, o, MemoryKind::kStash, weights, false});
      } else if (delayed && policy == "ema_weight") {
        out.push_back({ba, o, MemoryKind::kEma, weights, false});
      } else {
        out.push_back({ba, o, MemoryKind::kWeights, weights, false});
        if (delayed && policy == "ema_grad")
          out.push_back({ba, o, MemoryKind::kEma, weights, false});
      }
    }
    out.push_back({g.bw_node[u], o, MemoryKind::kGradients, params, true});
    const int up = g.update_node[u];
    for (MemoryKind k : {MemoryKind::kGradients, MemoryKind::kOptimizer, MemoryKind::kWeights}) {
      out.push_back({up, o, k, params, false});
      if (k != MemoryKind::kGradients) out.push_back({up, o, k, params, true});
    }
    if (delayed && policy == "stash") out.push_back({up, o, MemoryKind::kStash, weights, true});
    if (delayed && (policy == "ema_grad" || policy == "ema_weight")) {
      out.push_back({up, o, MemoryKind::kEma, weights, false});
      out.push_back({up, o, MemoryKind::kEma, weights, true});
    }
  }
  // Data edges: the producer writes a token into the consumer's buffer, the consumer reads it.
  std::vector<bool> read_by_someone(g.edges.size(), false);
  for (const auto& deps : dataflow::node_dependencies(g)) {
    for (const auto& d : deps) {
      if (d.edge >= 0) read_by_someone[d.edge] = true;
    }
  }
  for (std::size_t e = 0; e < g.edges.size(); ++e) {
    const dataflow::Edge& edge = g.edges[e];
    const bool data = edge.kind == EdgeKind::kActivation || edge.kind == EdgeKind::kGradient ||
                      edge.kind == EdgeKind::kStoredActivation;
    if (!data || !read_by_someone[e]) continue;
    const MemoryKind kind =
        edge.kind == EdgeKind::kStoredActivation ? MemoryKind::kActivations : MemoryKind::kInFlight;
    const int owner = plan.program.processor_of_first_part[edge.dst];
    const auto bytes = static_cast<std::uint64_t>(edge.bytes_per_token);
    if (edge.src != g.input_node) out.push_back({edge.src, owner, kind, bytes, true});
    out.push_back({edge.dst, owner, kind, bytes, false});
  }
  return out;
}

struct SramCase {
  std::string model, stages, policy, capacity;
};

void PrintTo(const SramCase& c, std::ostream* os) {
  *os << c.model << "/" << c.stages << "/" << c.policy << "/" << c.capacity;
}

class SmallSram : public ::testing::TestWithParam<SramCase> {};

TEST_P(SmallSram, DramTrafficIsPlacementTimesAccessTable) {
  // The staging tiles fit, most residents do not.
  const SramCase& c = GetParam();
  run::Job job = testing::synthetic_job(c.model, c.policy, c.stages, 1,
                                        {"/hw/sram/capacity_bytes=" + c.capacity,
                                         "/hw/dram/channels=2", "/hw/dram/latency_cycles=50"});
  hardware::RunOptions options;
  options.math = false;
  const auto [plan, r] = testing::run_planned(job, options);
  const int procs = plan.program.num_processors;
  std::vector<std::uint64_t> want_read(procs, 0), want_write(procs, 0);
  std::uint64_t dram_resident = 0;
  for (const Access& a : access_table(plan, job)) {
    const hw::Placement& pl = plan.memory.pe[a.owner];
    const auto k = static_cast<std::size_t>(a.kind);
    ASSERT_GT(pl.resident_bytes[k], 0u) << "an access to a kind the PE does not hold";
    const std::uint64_t dram = static_cast<std::uint64_t>(static_cast<long double>(a.bytes) *
                                                          pl.dram_bytes[k] / pl.resident_bytes[k]);
    const int runs_on = plan.program.processor_of_first_part[a.node];
    (a.write ? want_write : want_read)[runs_on] += dram * static_cast<std::uint64_t>(r.minibatches);
  }
  std::uint64_t total = 0;
  int full = 0;
  for (int p = 0; p < procs; ++p) {
    const core::Json& pe = r.processors[p];
    EXPECT_EQ(pe.at("dram_read_bytes").get<std::uint64_t>(), want_read[p]) << "PE " << p;
    EXPECT_EQ(pe.at("dram_write_bytes").get<std::uint64_t>(), want_write[p]) << "PE " << p;
    total += want_read[p] + want_write[p];
    const hw::Placement& pl = plan.memory.pe[p];
    for (auto b : pl.dram_bytes) dram_resident += b;
    const core::Json& sram = r.units.at("top.sram" + std::to_string(p));
    EXPECT_LE(sram.at("peak_bytes").at("total").get<std::uint64_t>() + pl.staging_bytes,
              pl.capacity_bytes);
    if (pl.sram_total() == pl.capacity_bytes) ++full;
  }
  EXPECT_GT(full, 0) << "no SRAM is full: the case does not test DRAM placement";
  EXPECT_GT(total, 0u);
  EXPECT_GT(dram_resident, 0u);
  const core::Json& dram = r.units.at("top.dram");
  EXPECT_EQ(dram.at("bytes_transferred").get<std::uint64_t>(), total);
  EXPECT_EQ(dram.at("peak_bytes").at("total").get<std::uint64_t>(), dram_resident);
  std::uint64_t stall = 0;
  for (const core::Json& pe : r.processors)
    stall += pe.at("dram_stall_cycles").get<std::uint64_t>();
  EXPECT_GT(stall, 0u) << "a 96 KiB SRAM must make some task wait for DRAM";
}

std::string sram_case_name(const ::testing::TestParamInfo<SramCase>& info) {
  std::string out;
  for (char ch : info.param.model + info.param.policy) {
    if (std::isalnum(static_cast<unsigned char>(ch))) out += ch;
  }
  return out;
}

// mlp3 on 96 KiB per PE under four policies; ResNet-18 (residual edges, batch norm) in 8
// stages on 8 MiB, as in the README's table.
INSTANTIATE_TEST_SUITE_P(
    Policies, SmallSram,
    ::testing::Values(SramCase{"mlp3", "per_layer", "none", "98304"},
                      SramCase{"mlp3", "per_layer", "stash", "98304"},
                      SramCase{"mlp3", "per_layer", "ema_grad", "98304"},
                      SramCase{"mlp3", "per_layer", "ema_weight", "98304"},
                      SramCase{"resnet18", "[6,5,5,5,5,5,5,5]", "stash", "8388608"},
                      SramCase{"resnet18", "[6,5,5,5,5,5,5,5]", "ema_grad", "8388608"}),
    sram_case_name);

class SmallSramMath : public ::testing::TestWithParam<std::string> {};

TEST_P(SmallSramMath, StillTrainsLikeTheReferenceBitForBit) {
  run::Job job =
      testing::synthetic_job("mlp6", GetParam(), "[2,2,2]", 1, {"/hw/sram/capacity_bytes=131072"});
  const reference::TrainingResult ref = reference::train_reference(
      job.network, job.units, job.trainer, job.init, job.train, job.test);
  hardware::RunOptions options;
  const auto [plan, hw] = testing::run_planned(job, options);
  EXPECT_TRUE(testing::bit_equal(ref.final_params, hw.final_params));
  std::uint64_t dram = 0;
  for (const core::Json& pe : hw.processors) dram += pe.at("dram_read_bytes").get<std::uint64_t>();
  EXPECT_GT(dram, 0u);
}

INSTANTIATE_TEST_SUITE_P(Policies, SmallSramMath, ::testing::Values("stash", "ema_grad"));

TEST(AmpleSram, NoDramTrafficAndTheCyclesOfTheModelWithoutIt) {
  run::Job job = testing::synthetic_job("mlp6", "none", "per_layer", 3,
                                        {"/hw/sram/capacity_bytes=1073741824"});
  hardware::RunOptions options;
  options.math = false;
  const auto [plan, r] = testing::run_planned(job, options);
  EXPECT_EQ(r.units.at("top.dram").at("bytes_transferred").get<std::uint64_t>(), 0u);
  for (const hw::Placement& pl : plan.memory.pe) {
    for (auto b : pl.dram_bytes) EXPECT_EQ(b, 0u);
  }
  // Exactly the slowest stage's work per minibatch (HardwareTiming.SteadyStateIsSetByThe
  // SlowestStage, which runs on the default 64 MiB).
  std::vector<std::uint64_t> stage_cycles(plan.graph.num_stages, 0);
  for (std::size_t v = 0; v < plan.graph.nodes.size(); ++v) {
    stage_cycles[plan.graph.nodes[v].stage] += plan.costs[v].cycles;
  }
  ASSERT_GE(r.steady_state_from, 0);
  EXPECT_DOUBLE_EQ(r.cycles_per_minibatch, static_cast<double>(*std::max_element(
                                               stage_cycles.begin(), stage_cycles.end())));
}

}  // namespace
}  // namespace lpsim
