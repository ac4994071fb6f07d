#include "workloads/models/units.h"

#include <algorithm>

namespace lpsim::models {

std::vector<std::vector<int>> UnitGraph::consumers() const {
  std::vector<std::vector<int>> out(units.size());
  for (std::size_t v = 0; v < units.size(); ++v) {
    for (int u : units[v].inputs) {
      if (u != kInputUnit) out[u].push_back(static_cast<int>(v));
    }
  }
  return out;
}

UnitGraph group_units(const models::Network& network) {
  UnitGraph g;
  const int n = static_cast<int>(network.layers.size());
  g.unit_of_layer.assign(n, kInputUnit);
  auto add_input = [](std::vector<int>& inputs, int unit) {
    if (std::find(inputs.begin(), inputs.end(), unit) == inputs.end()) inputs.push_back(unit);
  };
  auto unit_of = [&](int layer) {
    return layer == kNetworkInput ? kInputUnit : g.unit_of_layer[layer];
  };
  for (int i = 0; i < n; ++i) {
    const models::Layer& layer = network.layers[i];
    if (layer.type->is_loss()) {
      g.unit_of_layer[i] = kLossUnit;
      for (int p : layer.inputs) add_input(g.loss_inputs, unit_of(p));
      continue;
    }
    if (layer.has_params()) {
      Unit unit;
      unit.name = layer.name;
      unit.layer = i;
      for (int p : layer.inputs) add_input(unit.inputs, unit_of(p));
      g.unit_of_layer[i] = static_cast<int>(g.units.size());
      g.units.push_back(unit);
      continue;
    }
    // The owner is the latest of its input units in topological order, so every edge
    // between units points forward and unit order stays topological.
    int owner = kInputUnit;
    for (int p : layer.inputs) owner = std::max(owner, unit_of(p));
    g.unit_of_layer[i] = owner;
    if (owner == kInputUnit) {
      g.input_attached.push_back(i);
      continue;
    }
    g.units[owner].attached.push_back(i);
    // Other inputs from other units (a residual skip) become edges into the owner.
    for (int p : layer.inputs) {
      if (unit_of(p) != owner) add_input(g.units[owner].inputs, unit_of(p));
    }
  }
  const std::vector<std::vector<int>> consumers = g.consumers();
  for (std::size_t u = 0; u < g.units.size(); ++u) {
    g.units[u].tail_owner = consumers[u].empty() ? kLossUnit : consumers[u].front();
  }
  return g;
}

}  // namespace lpsim::models
