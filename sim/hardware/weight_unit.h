#pragma once
// Weight-version units: the hardware a policy puts beside the PE of a layer with d > 0 so that
// its forward or backward reads the weight version the policy names (ARCHITECTURE.md §4: the
// weight-stash unit, the vector unit of the EMA and prediction policies). The interface and
// its registry (STYLE.md "Extension points"): one file per kind in weight_units/, whose
// LPSIM_REGISTER_WEIGHT_UNIT line names it; a policy picks its kind by that name
// (policies::HardwareWork::unit). Everything the hardware run needs of a unit asks it here:
//
//   serves            which layers get one (among the layers with d > 0)
//   cycles            the cycles F, Ba and U wait on it, and its own work after U (the task
//                     costs the scheduler and the simulation share)
//   backward_operand  the memory kind a delayed Ba's weight operand is streamed from
//   residents         the bytes it holds at its layer's PE, by memory kind (the memory plan,
//                     and the analytic figure of ARCHITECTURE.md §5)
//   accesses          the bytes F, Ba and U read and write of those residents (DRAM traffic)
//   make              its SystemC module, with the hooks the PE program calls at F, Ba and U
//                     and the counters the report and the energy model read after the run
//
// Which layer gets which kind is decided once, by assign_weight_units(), into the hardware
// plan (hardware_plan.h); nothing else asks a policy for its unit.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_reader.h"
#include "dataflow/training_graph.h"
#include "hw_models/common/memory_kind.h"
#include "hw_models/pe/processing_element.h"
#include "sim/config/config.h"
#include "workloads/models/network.h"
#include "workloads/models/units.h"
#include "workloads/policies/policy.h"

namespace lpsim::hardware {

// One layer with d > 0 as a unit sees it.
struct WeightUnitLayer {
  int unit = -1;           // index of the layer group (dataflow's LayerTiming::unit)
  std::string name;        // the layer's name as a SystemC name (module_name)
  std::int64_t delay = 0;  // d > 0
  // backward_node -1: no Ba, or a Ba that does not read the weights (an embedding's)
  int forward_node = -1, backward_node = -1, update_node = -1;
  std::uint64_t weight_elements = 0;          // |W|
  std::uint64_t param_elements = 0;           // |W| + |b|
  std::uint64_t optimizer_state_tensors = 1;  // of |W| + |b| each: 1 (sgd), 2 (adamw)
  // Bytes per element of its tensors by their formats (ARCHITECTURE.md §2d): the master
  // weights and optimizer state, the weight-gradient register, a stash version, an EMA tensor.
  std::uint64_t master_bytes = 4, gradient_bytes = 4, stash_bytes = 4, ema_bytes = 4;
  bool has_backward() const { return backward_node >= 0; }
};

// Cycles the layer's tasks spend on the unit (cost_model.h).
struct WeightUnitCycles {
  std::uint64_t forward = 0;       // F waits for it (a prediction)
  std::uint64_t backward = 0;      // Ba waits for it (a reconstruction)
  std::uint64_t update = 0;        // U waits for it (a copy into the stash)
  std::uint64_t after_update = 0;  // its own work after U, asynchronous to the PE
};

// One access a task makes of the unit's residents (memory_plan.h).
struct WeightUnitAccess {
  dataflow::NodeKind task = dataflow::NodeKind::kForward;  // kForward, kBackwardActivation
                                                           // or kUpdate
  bool write = false;
  hw::MemoryKind kind = hw::MemoryKind::kWeights;
  std::uint64_t bytes = 0;
};

// What the unit did over a run, for the memory peaks and the energy model.
struct WeightUnitActivity {
  hw::MemoryKind kind = hw::MemoryKind::kWeights;  // what it holds
  std::uint64_t peak_bytes = 0;
  std::uint64_t sram_read_bytes = 0;
  std::uint64_t sram_write_bytes = 0;
  std::uint64_t lane_ops = 0;
};

// Where a layer's tasks run in the static program (dataflow/elaboration_plan.h).
struct WeightUnitSite {
  std::int64_t backward_lag = 0;  // iterations Ba's first part runs after U (<= 0: not later)
  // F, Ba and U run on one processor: a unit only they call may work on that PE's own time
  // (no thread switch; WeightUnit::idle_at_cycle says when its last job ends).
  bool one_processor = false;
};

// What a unit may use of the run at its hooks (implemented by the Pipeline).
class WeightUnitHost {
 public:
  virtual ~WeightUnitHost() = default;
  // Instances of `node` finished. (A unit that pairs two of its hooks counts them itself, in
  // the same step as it checks them: the host's counts move elsewhere in a task; see stash.cpp.)
  virtual std::int64_t done(int node) const = 0;
  // Runs `job` (which blocks on the unit) with the PE's time brought up to date, counts the
  // wait as the PE's stall, and traces it on the unit's track as `label` when m is traced.
  virtual void stall_on(hw::ProcessingElement& pe, std::int64_t m, int unit,
                        const sc_core::sc_module& module, const std::string& label,
                        const char* category, const std::function<void()>& job) = 0;
  // Traces [begin, end) cycles on the unit's track as `label` when m is traced.
  virtual void trace_unit(std::int64_t m, int unit, const sc_core::sc_module& module,
                          const std::string& label, const char* category, std::uint64_t begin,
                          std::uint64_t end) = 0;
};

// A unit in a run: its module and its part of the PE program.
class WeightUnit {
 public:
  virtual ~WeightUnit() = default;
  virtual const sc_core::sc_module& module() const = 0;
  // F(m) of the layer, after its inputs arrived and before it computes.
  virtual void at_forward(WeightUnitHost& host, hw::ProcessingElement& pe, std::int64_t m) {
    (void)host, (void)pe, (void)m;
  }
  // Ba(m) (its product, when split), likewise.
  virtual void at_backward(WeightUnitHost& host, hw::ProcessingElement& pe, std::int64_t m) {
    (void)host, (void)pe, (void)m;
  }
  // U(m), after it computed and sent its outputs.
  virtual void at_update(WeightUnitHost& host, hw::ProcessingElement& pe, std::int64_t m) {
    (void)host, (void)pe, (void)m;
  }
  // The cycle its own work ends when it works on its caller's time (0: it does not); the
  // run lasts at least that long.
  virtual std::uint64_t idle_at_cycle() const { return 0; }
  virtual core::Json counters() const = 0;  // raw, report.json units.<module name>
  virtual WeightUnitActivity activity() const = 0;
};

class WeightUnitKind {
 public:
  virtual ~WeightUnitKind() = default;
  virtual bool serves(const policies::HardwareWork& work, const WeightUnitLayer& layer) const = 0;
  virtual WeightUnitCycles cycles(const policies::HardwareWork& work, const WeightUnitLayer& layer,
                                  const config::HwConfig& hw) const = 0;
  // The kind of memory Ba's weight operand comes from when the unit serves a delayed Ba.
  virtual hw::MemoryKind backward_operand(const policies::HardwareWork& work) const = 0;
  virtual void residents(const policies::HardwareWork& work, const WeightUnitLayer& layer,
                         hw::ResidentBytes& bytes) const = 0;
  virtual std::vector<WeightUnitAccess> accesses(const policies::HardwareWork& work,
                                                 const WeightUnitLayer& layer) const = 0;
  virtual std::unique_ptr<WeightUnit> make(const policies::HardwareWork& work,
                                           const WeightUnitLayer& layer, const config::HwConfig& hw,
                                           const WeightUnitSite& site) const = 0;
};

struct WeightUnitRegistration {
  std::string name;         // what HardwareWork::unit names
  std::string description;  // one line
  const WeightUnitKind* kind = nullptr;
};

// Every registered kind, by name.
const std::vector<WeightUnitRegistration>& weight_unit_kinds();
// nullptr when no kind is called `name`.
const WeightUnitKind* find_weight_unit(std::string_view name);
bool register_weight_unit(WeightUnitRegistration registration);

// Per layer group of the graph: the layer as a unit sees it, and the kind that serves it
// (null: none). The one place that decides which layer gets which unit.
struct WeightUnitSlot {
  WeightUnitLayer layer;
  const WeightUnitKind* kind = nullptr;
};
// An core::InternalError when the policy names a kind that is not registered.
std::vector<WeightUnitSlot> assign_weight_units(const dataflow::TrainingGraph& graph,
                                                const models::Network& network,
                                                const models::UnitGraph& units);

}  // namespace lpsim::hardware

// In a kind's .cpp at namespace scope: registers the WeightUnitKind subclass CLASS (default
// constructible) under NAME with a one-line DESCRIPTION.
#define LPSIM_REGISTER_WEIGHT_UNIT(CLASS, NAME, DESCRIPTION)         \
  namespace {                                                        \
  const CLASS lpsim_weight_unit_instance_##CLASS{};                  \
  [[maybe_unused]] const bool lpsim_weight_unit_registered_##CLASS = \
      ::lpsim::hardware::register_weight_unit(                       \
          {NAME, DESCRIPTION, &lpsim_weight_unit_instance_##CLASS}); \
  }
