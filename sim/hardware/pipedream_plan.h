#pragma once
// PipeDream on a run (pipeline.scheduler = pipedream, pipeline.processors = P): its stages,
// chosen by PipeDream's partitioner (dataflow/pipedream.h) from a profile of every unit on its
// own PE (the per-layer graph under the run's policy, priced by the cost model, as PipeDream
// profiles each layer alone), and the 1F1B stage program on them with its exact period.
// A run takes the stages when its job is prepared (hardware::prepare_job) and the schedule in
// its plan (plan_hardware); `lpsim schedule` takes both at once (plan_pipedream).

#include "dataflow/pipedream.h"
#include "dataflow/training_graph.h"
#include "sim/config/config.h"
#include "sim/hardware/cost_model.h"
#include "workloads/models/network.h"
#include "workloads/models/units.h"

namespace lpsim::hardware {

struct PipeDreamStages {
  dataflow::PipeDreamPartition partition;  // the partitioner's answer on the profile
  dataflow::Partition stages;              // the same, as a run's partition
};

// The partitioner on the per-layer profile, for at most `processors` stages.
PipeDreamStages pipedream_stages(const models::Network& network, const models::UnitGraph& units,
                                 const config::Config& config, int processors);

// The fused task graph of `graph` under the cost model, with the graph's costs.
dataflow::TaskGraph fused_tasks(const dataflow::TrainingGraph& graph,
                                const std::vector<TaskCost>& costs);

struct PipeDreamPlan : PipeDreamStages {
  dataflow::TrainingGraph graph;  // retimed for those stages (d_l = 2·S(l))
  std::vector<TaskCost> costs;    // per node of `graph`
  dataflow::TaskGraph tasks;      // fused
  dataflow::Schedule schedule;    // dataflow::stage_schedule: 1F1B, one PE per stage
};

PipeDreamPlan plan_pipedream(const models::Network& network, const models::UnitGraph& units,
                             const config::Config& config, int processors);

}  // namespace lpsim::hardware
