#pragma once
// Units and stage partitions.
//
// A unit is what the training dataflow graph calls "a layer": one parametrised layer
// (linear, conv2d, batchnorm2d) with the parameter-free layers that follow it (ReLU,
// pooling, flatten, residual add), attached to the latest (in topological order) of the
// units producing their inputs; a residual add's other input becomes a skip edge.
// Parameter-free layers fed only by the network input are pre-processing of the input.
// A partition assigns every unit a stage; stages are contiguous runs of units in
// topological order, so forward edges never go back a stage.

#include <cstdint>
#include <string>
#include <vector>

#include "sim/core/json_reader.h"
#include "workloads/models/network.h"

namespace lpsim::dataflow {

constexpr int kInputUnit = -1;

struct Unit {
  std::string name;           // the parametrised layer's name
  int layer = -1;             // index into Network::layers
  std::vector<int> attached;  // parameter-free layers that follow it, in topological order
  std::vector<int> inputs;    // producer units (kInputUnit for the network input), unique
};

struct UnitGraph {
  std::vector<Unit> units;            // topological order
  std::vector<int> unit_of_layer;     // per network layer: its unit, kInputUnit, or -2 (loss)
  std::vector<int> input_attached;    // parameter-free layers applied to the network input
  std::vector<int> loss_inputs;       // units feeding the loss (kInputUnit possible)
  std::vector<std::vector<int>> consumers() const;  // per unit: units reading it
};

UnitGraph group_units(const models::Network& network);

// How the user wrote the partition.
struct StageSpec {
  enum class Kind { kPerLayer, kCounts, kNames };
  Kind kind = Kind::kPerLayer;
  std::vector<std::int64_t> counts;              // kCounts
  std::vector<std::vector<std::string>> names;   // kNames
};

// "per_layer" or a comma-separated list of counts ("2,2,2"); `origin` names the source.
StageSpec parse_stage_spec(const std::string& text, const std::string& origin);
// The JSON forms: "per_layer", [2, 2, 2] or [["fc1", "fc2"], ["fc3"]].
StageSpec parse_stage_spec(const Json& value, const std::string& file, const std::string& pointer);
std::string format_stage_spec(const StageSpec& spec);

struct Partition {
  int num_stages = 1;
  std::vector<int> stage_of_unit;
};

// Checks the spec against the network; faults throw ConfigError at `file`/`pointer`.
Partition make_partition(const UnitGraph& units, const StageSpec& spec, const std::string& file,
                         const std::string& pointer);
// Every unit in stage 0 (synchronous training).
Partition single_stage(const UnitGraph& units);

}  // namespace lpsim::dataflow
