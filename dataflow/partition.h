#pragma once
// Stage partitions: every unit (workloads/models/units.h) gets a stage; stages are
// contiguous runs of units in topological order, so forward edges never go back a stage.

#include <cstdint>
#include <string>
#include <vector>

#include "core/json_reader.h"
#include "workloads/models/network.h"
#include "workloads/models/units.h"
#include "workloads/policies/policy.h"

namespace lpsim::dataflow {

using models::group_units;
using models::kInputUnit;
using models::kLossUnit;
using models::Unit;
using models::UnitGraph;

// How the user wrote the partition.
struct StageSpec {
  enum class Kind { kPerLayer, kCounts, kNames };
  Kind kind = Kind::kPerLayer;
  std::vector<std::int64_t> counts;             // kCounts
  std::vector<std::vector<std::string>> names;  // kNames
};

// "per_layer" or a comma-separated list of counts ("2,2,2"); `origin` names the source.
StageSpec parse_stage_spec(const std::string& text, const std::string& origin);
// The JSON forms: "per_layer", [2, 2, 2] or [["fc1", "fc2"], ["fc3"]].
StageSpec parse_stage_spec(const core::Json& value, const std::string& file,
                           const std::string& pointer);
std::string format_stage_spec(const StageSpec& spec);

struct Partition {
  int num_stages = 1;
  std::vector<int> stage_of_unit;
};

// Checks the spec against the network; faults throw core::ConfigError at `file`/`pointer`.
Partition make_partition(const UnitGraph& units, const StageSpec& spec, const std::string& file,
                         const std::string& pointer);
// Every unit in stage 0 (synchronous training).
Partition single_stage(const UnitGraph& units);
// The partition a run uses: one stage under an unpipelined policy (sync), else the spec's.
Partition partition_for_policy(const UnitGraph& units, const policies::Policy& policy,
                               const StageSpec& spec, const std::string& file,
                               const std::string& pointer);

}  // namespace lpsim::dataflow
