#include "sim/hardware/weight_unit.h"

#include <algorithm>

#include "core/errors.h"
#include "dataflow/elaboration_plan.h"

namespace lpsim::hardware {

namespace {

std::vector<WeightUnitRegistration>& table() {
  static std::vector<WeightUnitRegistration> t;
  return t;
}

}  // namespace

const std::vector<WeightUnitRegistration>& weight_unit_kinds() { return table(); }

const WeightUnitKind* find_weight_unit(std::string_view name) {
  for (const WeightUnitRegistration& r : table()) {
    if (r.name == name) return r.kind;
  }
  return nullptr;
}

bool register_weight_unit(WeightUnitRegistration registration) {
  LPSIM_ASSERT(find_weight_unit(registration.name) == nullptr,
               "weight unit '" + registration.name + "' registered twice");
  auto& t = table();
  t.push_back(std::move(registration));
  std::sort(t.begin(), t.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return true;
}

std::vector<WeightUnitSlot> assign_weight_units(const dataflow::TrainingGraph& g,
                                                const models::Network& network,
                                                const models::UnitGraph& units) {
  const policies::HardwareWork& work = g.policy->hardware;
  const WeightUnitKind* kind = nullptr;
  if (!work.unit.empty()) {
    kind = find_weight_unit(work.unit);
    LPSIM_ASSERT(kind != nullptr, "policy " + g.policy->name + " names the weight unit '" +
                                      work.unit + "', which is not registered");
  }
  std::vector<WeightUnitSlot> slots(g.layers.size());
  for (std::size_t u = 0; u < g.layers.size(); ++u) {
    const models::Layer& layer = network.layers[units.units[u].layer];
    WeightUnitLayer& l = slots[u].layer;
    l.unit = static_cast<int>(u);
    l.name = dataflow::module_name(layer.name);
    l.delay = g.layers[u].delay;
    l.forward_node = g.forward_node[u];
    // Under recompute (§4c) the stage's rerun reads every unit's backward version, once.
    const int rerun = g.recompute_node_of_unit(static_cast<int>(u));
    l.backward_node = rerun >= 0 ? rerun : layer.type->backward_reads_weights() ? g.ba_node[u] : -1;
    l.update_node = g.update_node[u];
    l.weight_elements = static_cast<std::uint64_t>(layer.weight_size());
    l.param_elements = static_cast<std::uint64_t>(layer.num_params());
    l.optimizer_state_tensors = static_cast<std::uint64_t>(g.update.state_tensors);
    const auto bytes = [&g](ops::TensorClass c) {
      return static_cast<std::uint64_t>(g.numerics.bytes(c));
    };
    l.master_bytes = bytes(ops::TensorClass::kMaster);
    l.gradient_bytes = bytes(ops::TensorClass::kWeightGradients);
    l.stash_bytes = bytes(ops::TensorClass::kStash);
    l.ema_bytes = bytes(ops::TensorClass::kEma);
    if (kind != nullptr && l.delay > 0 && kind->serves(work, l)) slots[u].kind = kind;
  }
  return slots;
}

}  // namespace lpsim::hardware
