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

std::vector<int> backward_stage_of_layers(const Network& network, const UnitGraph& units,
                                          const std::vector<int>& stage_of_unit, int num_stages) {
  std::vector<int> stage(network.layers.size(), -1);
  const int last = num_stages - 1;
  for (std::size_t u = 0; u < units.units.size(); ++u) {
    const Unit& unit = units.units[u];
    stage[unit.layer] = stage_of_unit[u];
    for (int a : unit.attached) {
      stage[a] = unit.tail_owner == kLossUnit ? last : stage_of_unit[unit.tail_owner];
    }
  }
  stage[network.loss] = last;
  return stage;
}

std::vector<bool> read_by_other_stage(const Network& network,
                                      const std::vector<int>& backward_stage_of_layer) {
  std::vector<bool> read(network.layers.size(), false);
  for (std::size_t c = 0; c < network.layers.size(); ++c) {
    for (int p : network.layers[c].inputs) {
      if (p != kNetworkInput && backward_stage_of_layer[p] != backward_stage_of_layer[c]) {
        read[p] = true;
      }
    }
  }
  return read;
}

std::vector<std::vector<int>> stage_inputs(const Network& network,
                                           const std::vector<int>& backward_stage_of_layer,
                                           int num_stages) {
  std::vector<std::vector<int>> in(num_stages);
  for (std::size_t c = 0; c < network.layers.size(); ++c) {
    const int s = backward_stage_of_layer[c];
    if (s < 0 || static_cast<int>(c) == network.loss) continue;
    for (int p : network.layers[c].inputs) {
      const bool outside = p == kNetworkInput || backward_stage_of_layer[p] != s;
      if (outside && std::find(in[s].begin(), in[s].end(), p) == in[s].end()) in[s].push_back(p);
    }
  }
  return in;
}

}  // namespace lpsim::models
