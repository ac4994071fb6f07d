#pragma once
// Units: what the training dataflow graph and the hardware call "a layer".
//
// A unit is one parametrised layer (linear, conv2d, batchnorm2d) with the parameter-free
// layers that follow it (ReLU, pooling, flatten, residual add), each attached to the
// latest (in topological order) of the units producing its inputs; a residual add's
// other input becomes a skip edge. Parameter-free layers fed only by the network input
// are pre-processing of the input. Unit order is topological.
//
// Backward ownership (LayerPipe: "the element-wise derivative of layer l-1 runs with
// Ba_l"): the element-wise backward of unit p's attached layers, its *tail*, is run by
// p's first consumer in topological order, which is the last one to hand p a gradient,
// or by the loss when p feeds only the loss.

#include <vector>

#include "workloads/models/network.h"

namespace lpsim::models {

constexpr int kInputUnit = -1;
constexpr int kLossUnit = -2;

struct Unit {
  std::string name;            // the parametrised layer's name
  int layer = -1;              // index into Network::layers
  std::vector<int> attached;   // parameter-free layers that follow it, in topological order
  std::vector<int> inputs;     // producer units (kInputUnit for the network input), unique
  int tail_owner = kLossUnit;  // the unit whose Ba runs this unit's tail, or kLossUnit
};

struct UnitGraph {
  std::vector<Unit> units;          // topological order
  std::vector<int> unit_of_layer;   // per network layer: its unit, kInputUnit or kLossUnit
  std::vector<int> input_attached;  // parameter-free layers applied to the network input
  std::vector<int> loss_inputs;     // units feeding the loss (kInputUnit possible)
  std::vector<std::vector<int>> consumers() const;  // per unit: units reading it
};

UnitGraph group_units(const Network& network);

// ARCHITECTURE.md §4c: per network layer, the stage whose backward reads its tensors (and so
// reruns its forward under `recompute`): a unit's layer, its unit's stage; a layer attached to
// unit u, the stage of u's tail owner (the loss: the last stage); the loss, the last stage;
// the input's pre-processing, -1. `stage_of_unit` per unit, stages 0..num_stages-1.
std::vector<int> backward_stage_of_layers(const Network& network, const UnitGraph& units,
                                          const std::vector<int>& stage_of_unit, int num_stages);

// Per layer: a layer of another stage (by backward_stage_of_layers) reads its output (so a
// recomputing stage cannot drop it after the forward).
std::vector<bool> read_by_other_stage(const Network& network,
                                      const std::vector<int>& backward_stage_of_layer);

// The tensors stage s's recomputed forward reads from outside: per stage, the layers (or
// kNetworkInput) not in it whose outputs a layer of it reads, each once, in network order.
std::vector<std::vector<int>> stage_inputs(const Network& network,
                                           const std::vector<int>& backward_stage_of_layer,
                                           int num_stages);

}  // namespace lpsim::models
