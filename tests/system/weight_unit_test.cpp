// The weight-version unit interface (sim/hardware/weight_unit.h): the registry, which layer
// gets which unit, and a unit added the way a new one is added (a module, one registration
// and a policy that names it, all in this file) planned, costed, elaborated, driven at F, Ba
// and U, and reported, with nothing else in the simulator told about it.

#include "sim/hardware/weight_unit.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>

#include "system_test_util.h"
#include "workloads/policies/policy.h"

namespace lpsim {
namespace {

// --- the new unit: a module that counts its hooks, holds 100 bytes of `ema` and makes U
// wait 7 cycles.
constexpr std::uint64_t kCounterUpdateCycles = 7;
constexpr std::uint64_t kCounterBytes = 100;
constexpr std::int64_t kMinibatches = 20;  // the job below: 320 samples, batch 16, 1 epoch

class CounterModule : public sc_core::sc_module {
 public:
  explicit CounterModule(const sc_core::sc_module_name& name) : sc_core::sc_module(name) {}
  std::int64_t forwards = 0, backwards = 0, updates = 0;
};

class CounterUnit : public hardware::WeightUnit {
 public:
  CounterUnit(const hardware::WeightUnitLayer& layer, sc_core::sc_time period)
      : layer_(layer), period_(period), module_(("counter_" + layer.name).c_str()) {}
  const sc_core::sc_module& module() const override { return module_; }
  void at_forward(hardware::WeightUnitHost&, hw::ProcessingElement&, std::int64_t m) override {
    EXPECT_EQ(m, module_.forwards);  // in minibatch order
    ++module_.forwards;
  }
  void at_backward(hardware::WeightUnitHost&, hw::ProcessingElement&, std::int64_t m) override {
    EXPECT_EQ(m, module_.backwards);
    ++module_.backwards;
  }
  void at_update(hardware::WeightUnitHost& host, hw::ProcessingElement& pe,
                 std::int64_t m) override {
    EXPECT_EQ(m, module_.updates);
    // U(m) of a layer with delay d runs after its forward of m + d (the weight register),
    // or, draining, after the last forward.
    EXPECT_GE(host.done(layer_.forward_node), std::min(m + layer_.delay + 1, kMinibatches));
    host.stall_on(pe, m, layer_.unit, module_, "count", "counter",
                  [this] { sc_core::wait(period_ * static_cast<double>(kCounterUpdateCycles)); });
    ++module_.updates;
  }
  core::Json counters() const override {
    return {{"forwards", module_.forwards},
            {"backwards", module_.backwards},
            {"updates", module_.updates}};
  }
  hardware::WeightUnitActivity activity() const override {
    return {hw::MemoryKind::kEma, kCounterBytes, 0, 0, 0};
  }

 private:
  hardware::WeightUnitLayer layer_;
  sc_core::sc_time period_;
  CounterModule module_;
};

class Counter : public hardware::WeightUnitKind {
 public:
  bool serves(const policies::HardwareWork&, const hardware::WeightUnitLayer&) const override {
    return true;
  }
  hardware::WeightUnitCycles cycles(const policies::HardwareWork&, const hardware::WeightUnitLayer&,
                                    const config::HwConfig&) const override {
    hardware::WeightUnitCycles c;
    c.update = kCounterUpdateCycles;
    return c;
  }
  hw::MemoryKind backward_operand(const policies::HardwareWork&) const override {
    return hw::MemoryKind::kWeights;
  }
  void residents(const policies::HardwareWork&, const hardware::WeightUnitLayer&,
                 hw::ResidentBytes& bytes) const override {
    bytes[static_cast<std::size_t>(hw::MemoryKind::kEma)] += kCounterBytes;
  }
  std::vector<hardware::WeightUnitAccess> accesses(
      const policies::HardwareWork&, const hardware::WeightUnitLayer&) const override {
    return {{dataflow::NodeKind::kUpdate, false, hw::MemoryKind::kEma, kCounterBytes}};
  }
  std::unique_ptr<hardware::WeightUnit> make(const policies::HardwareWork&,
                                             const hardware::WeightUnitLayer& layer,
                                             const config::HwConfig& hw,
                                             const hardware::WeightUnitSite&) const override {
    return std::make_unique<CounterUnit>(layer, sc_core::sc_time(hw.period_ns, sc_core::SC_NS));
  }
};

// A policy that trains as `none` and names the unit.
template <typename T>
class Counted : public policies::UnitPolicy<T> {
 public:
  Counted(const policies::UnitSetup&, const policies::UnitView<T>&) {}
};

policies::Policy counted_policy() {
  policies::Policy p;
  p.name = "counted";
  p.description = "test: `none` with a counting unit";
  p.hardware.unit = "counter";
  return p;
}

}  // namespace

LPSIM_REGISTER_WEIGHT_UNIT(Counter, "counter", "test: counts its hooks")
LPSIM_REGISTER_POLICY(Counted, counted_policy)

namespace {

TEST(WeightUnitRegistry, EveryPolicysUnitIsRegistered) {
  std::map<std::string, int> kinds;
  for (const auto& r : hardware::weight_unit_kinds()) {
    EXPECT_FALSE(r.description.empty()) << r.name;
    EXPECT_EQ(hardware::find_weight_unit(r.name), r.kind) << r.name;
    ++kinds[r.name];
  }
  EXPECT_EQ(kinds, (std::map<std::string, int>{{"counter", 1}, {"stash", 1}, {"vector", 1}}));
  for (const policies::Policy* p : policies::all()) {
    if (p->hardware.unit.empty()) continue;
    EXPECT_NE(hardware::find_weight_unit(p->hardware.unit), nullptr) << p->name;
  }
  EXPECT_EQ(hardware::find_weight_unit("ema"), nullptr);
}

// mlp6 per layer: delays 10, 8, 6, 4, 2, 0; fc1 has no Ba.
TEST(WeightUnitAssignment, EachPolicysUnitServesItsLayers) {
  const std::map<std::string, std::vector<std::string>> want = {
      {"sync", {"", "", "", "", "", ""}},
      {"none", {"", "", "", "", "", ""}},
      {"stash", {"", "stash", "stash", "stash", "stash", ""}},
      {"ema_grad", {"", "vector", "vector", "vector", "vector", ""}},
      {"ema_weight", {"", "vector", "vector", "vector", "vector", ""}},
      {"lwp", {"vector", "vector", "vector", "vector", "vector", ""}},
      {"ema_lwp", {"vector", "vector", "vector", "vector", "vector", ""}},
      {"counted", {"counter", "counter", "counter", "counter", "counter", ""}}};
  for (const auto& [policy, kinds] : want) {
    SCOPED_TRACE(policy);
    const run::Job job = testing::synthetic_job("mlp6", policy, "per_layer", 1);
    const hardware::HardwarePlan plan = hardware::plan_hardware(job);
    ASSERT_EQ(plan.weight_units.size(), kinds.size());
    for (std::size_t u = 0; u < kinds.size(); ++u) {
      const hardware::WeightUnitSlot& s = plan.weight_units[u];
      EXPECT_EQ(s.kind, kinds[u].empty() ? nullptr : hardware::find_weight_unit(kinds[u])) << u;
      EXPECT_EQ(s.layer.delay, plan.graph.layers[u].delay) << u;
      EXPECT_EQ(s.layer.has_backward(), u > 0) << u;
    }
  }
}

// The counting unit in a whole run: costed, placed in memory, elaborated, driven once per
// minibatch at each hook, reported, and the training untouched (the reference trainer's
// weights under the same policy, bit for bit).
TEST(CountingUnit, IsPlannedDrivenAndReportedLikeAnyUnit) {
  const run::Job job = testing::synthetic_job("mlp3", "counted", "per_layer", 1);
  ASSERT_EQ(job.batches_per_epoch, kMinibatches);
  const auto [plan, hw] = testing::run_planned(job);
  const reference::TrainingResult ref = reference::train_reference(
      job.network, job.units, job.trainer, job.init, job.train, job.test);
  EXPECT_TRUE(testing::bit_equal(ref.final_params, hw.final_params));
  int served = 0;
  for (std::size_t u = 0; u < plan.graph.layers.size(); ++u) {
    const hardware::WeightUnitSlot& s = plan.weight_units[u];
    SCOPED_TRACE(s.layer.name);
    const std::uint64_t unit_cycles = plan.costs[s.layer.update_node].unit_cycles;
    if (s.kind == nullptr) {
      EXPECT_EQ(unit_cycles, 0u);
      continue;
    }
    ++served;
    EXPECT_EQ(unit_cycles, kCounterUpdateCycles);
    const core::Json& c = hw.units.at("top.counter_" + s.layer.name);
    EXPECT_EQ(c.at("forwards"), hw.minibatches);
    EXPECT_EQ(c.at("backwards"), s.layer.has_backward() ? hw.minibatches : 0);
    EXPECT_EQ(c.at("updates"), hw.minibatches);
  }
  ASSERT_EQ(served, 2);  // fc1 and fc2 (fc3 has d = 0)
  // Its residents in the plan, the analytic and the measured peaks alike.
  std::uint64_t planned = 0, analytic = 0, measured = 0;
  for (const hw::Placement& pl : plan.memory.pe) {
    planned += pl.resident_bytes[static_cast<std::size_t>(hw::MemoryKind::kEma)];
  }
  for (const auto& m : hw.stage_memory_analytic) analytic += m[hw::MemoryKind::kEma];
  for (const auto& m : hw.stage_memory) measured += m[hw::MemoryKind::kEma];
  EXPECT_EQ(planned, 2 * kCounterBytes);
  EXPECT_EQ(analytic, 2 * kCounterBytes);
  EXPECT_EQ(measured, 2 * kCounterBytes);
  // The updates waited on it: at least 7 cycles of stall per served update.
  std::uint64_t stall = 0;
  for (const core::Json& pe : hw.processors) stall += pe.at("stall_cycles").get<std::uint64_t>();
  EXPECT_GE(stall, 2 * kCounterUpdateCycles * static_cast<std::uint64_t>(hw.minibatches));
}

}  // namespace
}  // namespace lpsim
