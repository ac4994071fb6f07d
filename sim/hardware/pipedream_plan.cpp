#include "sim/hardware/pipedream_plan.h"

#include "core/errors.h"

namespace lpsim::hardware {
namespace {

// The fused task graph of `graph` under the cost model, with the graph's costs.
dataflow::TaskGraph fused_tasks(const dataflow::TrainingGraph& graph,
                                const std::vector<TaskCost>& costs) {
  const NodeCycles c = node_cycles(costs);
  return dataflow::build_task_graph(graph, c.node, c.tail, dataflow::BackwardSplit::kFused,
                                    c.after_update);
}

}  // namespace

PipeDreamPlan plan_pipedream(const models::Network& network, const models::UnitGraph& units,
                             const config::Config& config, int processors) {
  LPSIM_ASSERT(config.policy->pipelined, "PipeDream pipelines minibatches");
  const dataflow::LinkCost link = link_cost(config.hw);
  PipeDreamPlan plan;
  {
    const dataflow::Partition per_layer =
        dataflow::make_partition(units, dataflow::StageSpec{}, config.source, "/pipeline/stages");
    const dataflow::TrainingGraph profile_graph = dataflow::build_training_graph(
        network, units, per_layer, *config.policy, config.batch_size);
    const std::vector<TaskCost> profile_costs =
        task_costs(profile_graph, config.hw, network, units);
    plan.partition = dataflow::pipedream_partition(
        dataflow::pipedream_profile(profile_graph, fused_tasks(profile_graph, profile_costs), link),
        processors);
  }
  plan.stages.num_stages = plan.partition.num_stages;
  plan.stages.stage_of_unit = plan.partition.stage_of_unit;
  plan.graph = dataflow::build_training_graph(network, units, plan.stages, *config.policy,
                                              config.batch_size);
  plan.costs = task_costs(plan.graph, config.hw, network, units);
  plan.tasks = fused_tasks(plan.graph, plan.costs);
  plan.schedule = dataflow::stage_schedule(plan.graph, plan.tasks, link);
  return plan;
}

void apply_pipedream(run::Job& job) {
  if (job.config.scheduler != dataflow::Scheduler::kPipeDream) return;
  apply_pipedream(job, plan_pipedream(job.network, job.units, job.config,
                                      static_cast<int>(*job.config.processors)));
}

void apply_pipedream(run::Job& job, const PipeDreamPlan& plan) {
  job.partition = plan.stages;
  job.trainer.stage_of_unit = plan.stages.stage_of_unit;
  job.trainer.num_stages = plan.stages.num_stages;
}

}  // namespace lpsim::hardware
