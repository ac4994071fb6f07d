// SRAM traffic and energy by memory kind (issue 13): the cost model labels every byte a task
// moves with the kind it touches, the labels add up to the totals the PE model costs, and the
// report's `sram_by_kind_pj` adds up to the SRAM energy of the tasks and the units.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "reports/energy.h"
#include "sim/hardware/pipeline.h"
#include "system_test_util.h"

namespace lpsim {
namespace {

using dataflow::NodeKind;
using hw::MemoryKind;

std::size_t at(MemoryKind k) { return static_cast<std::size_t>(k); }
std::uint64_t sum_bytes(const hw::ResidentBytes& b) {
  return std::accumulate(b.begin(), b.end(), std::uint64_t{0});
}

class SramByKind : public ::testing::TestWithParam<std::string> {};

TEST_P(SramByKind, LabelsAddUpAndFollowTheTaskAndThePolicy) {
  const std::string policy = GetParam();
  run::Job job = testing::synthetic_job("cnn3", policy, "per_layer", 1);
  hardware::RunOptions options;
  options.math = false;
  const auto [plan, r] = testing::run_planned(job, options);
  const dataflow::TrainingGraph& g = plan.graph;
  for (std::size_t v = 0; v < g.nodes.size(); ++v) {
    const dataflow::Node& n = g.nodes[v];
    const hardware::TaskCost& c = plan.costs[v];
    SCOPED_TRACE(n.name);
    EXPECT_EQ(sum_bytes(c.sram_read), c.sram_read_bytes);
    EXPECT_EQ(sum_bytes(c.sram_write), c.sram_write_bytes);
    // The weight operand of a GEMM, re-derived from the graph's GEMM list: B of F and Ba.
    std::uint64_t b_bytes = 0, a_bytes = 0, c_bytes = 0;
    for (const auto& gm : n.work.gemms) {
      b_bytes += static_cast<std::uint64_t>(models::tensor_bytes(gm.k * gm.n, gm.b_binary));
      a_bytes += static_cast<std::uint64_t>(models::tensor_bytes(gm.m * gm.k, gm.a_binary));
      c_bytes += 4 * static_cast<std::uint64_t>(gm.m * gm.n);
    }
    const bool delayed = n.unit >= 0 && g.layers[n.unit].delay > 0;
    if (n.kind == NodeKind::kForward) {
      EXPECT_EQ(c.sram_read[at(MemoryKind::kWeights)], b_bytes);
    } else if (n.kind == NodeKind::kBackwardActivation && !n.work.gemms.empty()) {
      const MemoryKind weight = !delayed                 ? MemoryKind::kWeights
                                : policy == "stash"      ? MemoryKind::kStash
                                : policy == "ema_weight" ? MemoryKind::kEma
                                                         : MemoryKind::kWeights;
      EXPECT_EQ(c.sram_read[at(weight)], b_bytes);
    } else if (n.kind == NodeKind::kBackwardWeight) {
      EXPECT_EQ(c.sram_read[at(MemoryKind::kActivations)], b_bytes);
      EXPECT_GE(c.sram_write[at(MemoryKind::kGradients)], c_bytes);
    } else if (n.kind == NodeKind::kUpdate) {
      EXPECT_EQ(c.sram_read[at(MemoryKind::kInFlight)], 0u);
      EXPECT_GT(c.sram_write[at(MemoryKind::kWeights)], 0u);
    }
    if (n.kind != NodeKind::kUpdate && n.kind != NodeKind::kInput) {
      EXPECT_GE(c.sram_read[at(MemoryKind::kInFlight)], a_bytes);
    }
  }
  // The report: each kind's energy is its bytes at the PE's bank energy; all kinds together
  // are the tasks' SRAM energy plus the units' SRAM part.
  const reports::EnergyTable& table = job.config.hw.energy;
  const double time_ns = static_cast<double>(r.total_cycles) * job.config.hw.period_ns;
  const core::Json e = reports::energy_json(table, r.pe_activity, r.pe_names, time_ns,
                                            r.minibatches, job.config.batch_size, {});
  double kinds = 0.0;
  for (const auto& [kind, pj] : e.at("sram_by_kind_pj").items()) {
    EXPECT_TRUE(hw::try_parse_memory_kind(kind).has_value()) << kind;
    kinds += pj.get<double>();
  }
  double expected = e.at("by_component_pj").at("sram").get<double>();
  for (std::size_t p = 0; p < r.pe_activity.size(); ++p) {
    const reports::PeActivity& a = r.pe_activity[p];
    const double bank = static_cast<double>(std::min(a.sram_bank_bytes, a.sram_capacity_bytes));
    expected +=
        static_cast<double>(a.unit_sram_read_bytes) * reports::sram_read_pj_per_byte(table, bank) +
        static_cast<double>(a.unit_sram_write_bytes) * reports::sram_write_pj_per_byte(table, bank);
    std::uint64_t read = 0, write = 0;
    for (const auto& [kind, bytes] : a.sram_by_kind) {
      read += bytes.first;
      write += bytes.second;
    }
    EXPECT_EQ(read, a.sram_read_bytes + a.unit_sram_read_bytes) << p;
    EXPECT_EQ(write, a.sram_write_bytes + a.unit_sram_write_bytes) << p;
  }
  EXPECT_NEAR(kinds, expected, 1e-9 * expected);
  const core::Json& by_kind = e.at("sram_by_kind_pj");
  EXPECT_EQ(by_kind.contains("stash"), policy == "stash");
  EXPECT_EQ(by_kind.contains("ema"), policy == "ema_grad" || policy == "ema_weight");
  for (const char* always : {"weights", "optimizer", "activations", "gradients", "in_flight"}) {
    EXPECT_GT(by_kind.value(always, 0.0), 0.0) << always;
  }
}

INSTANTIATE_TEST_SUITE_P(Policies, SramByKind,
                         ::testing::Values("none", "stash", "ema_grad", "ema_weight"),
                         [](const auto& param_info) {
                           std::string s = param_info.param;
                           s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
                           return s;
                         });

}  // namespace
}  // namespace lpsim
