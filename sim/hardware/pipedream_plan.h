#pragma once
// PipeDream on a run (pipeline.scheduler = pipedream, pipeline.processors = P): its stages,
// chosen by PipeDream's partitioner (dataflow/pipedream.h) from a profile of every unit on its
// own PE (the per-layer graph under the run's policy, priced by the cost model, as PipeDream
// profiles each layer alone), and the 1F1B stage program on them with its exact period.

#include "dataflow/pipedream.h"
#include "dataflow/training_graph.h"
#include "sim/config/config.h"
#include "sim/hardware/cost_model.h"
#include "sim/run/job.h"
#include "workloads/models/network.h"
#include "workloads/models/units.h"

namespace lpsim::hardware {

struct PipeDreamPlan {
  dataflow::PipeDreamPartition partition;  // the partitioner's answer on the profile
  dataflow::Partition stages;              // the same, as a run's partition
  dataflow::TrainingGraph graph;           // retimed for those stages (d_l = 2·S(l))
  std::vector<TaskCost> costs;             // per node of `graph`
  dataflow::TaskGraph tasks;               // fused
  dataflow::Schedule schedule;             // dataflow::stage_schedule: 1F1B, one PE per stage
};

PipeDreamPlan plan_pipedream(const models::Network& network, const models::UnitGraph& units,
                             const config::Config& config, int processors);

// Under pipeline.scheduler = pipedream, gives the job PipeDream's stages (job.partition and
// the reference trainer's), so that the reference trainer and the hardware train with the
// delays those stages imply; a no-op under layerpipe. Idempotent.
void apply_pipedream(run::Job& job);
// The same with a plan already made for the job.
void apply_pipedream(run::Job& job, const PipeDreamPlan& plan);

}  // namespace lpsim::hardware
