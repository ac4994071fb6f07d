#include "sim/hardware/pipedream_plan.h"

#include "core/errors.h"

namespace lpsim::hardware {

dataflow::TaskGraph fused_tasks(const dataflow::TrainingGraph& graph,
                                const std::vector<TaskCost>& costs) {
  const NodeCycles c = node_cycles(costs);
  return dataflow::build_task_graph(graph, c.node, c.tail, dataflow::BackwardSplit::kFused,
                                    c.after_update);
}

PipeDreamStages pipedream_stages(const models::Network& network, const models::UnitGraph& units,
                                 const config::Config& config, int processors) {
  LPSIM_ASSERT(config.policy->pipelined, "PipeDream pipelines minibatches");
  const dataflow::Partition per_layer =
      dataflow::make_partition(units, dataflow::StageSpec{}, config.source, "/pipeline/stages");
  const dataflow::TrainingGraph profile_graph = dataflow::build_training_graph(
      network, units, per_layer, *config.policy, config.batch_size,
      reference::update_cost(config.optimizer), {}, config.hw.numerics);
  const std::vector<TaskCost> profile_costs =
      task_costs(profile_graph, config.hw, assign_weight_units(profile_graph, network, units));
  PipeDreamStages out;
  out.partition = dataflow::pipedream_partition(
      dataflow::pipedream_profile(profile_graph, fused_tasks(profile_graph, profile_costs),
                                  link_cost(config.hw)),
      processors);
  out.stages.num_stages = out.partition.num_stages;
  out.stages.stage_of_unit = out.partition.stage_of_unit;
  return out;
}

PipeDreamPlan plan_pipedream(const models::Network& network, const models::UnitGraph& units,
                             const config::Config& config, int processors) {
  PipeDreamPlan plan;
  static_cast<PipeDreamStages&>(plan) = pipedream_stages(network, units, config, processors);
  plan.graph = dataflow::build_training_graph(
      network, units, plan.stages, *config.policy, config.batch_size,
      reference::update_cost(config.optimizer), {}, config.hw.numerics);
  plan.costs = task_costs(plan.graph, config.hw, assign_weight_units(plan.graph, network, units));
  plan.tasks = fused_tasks(plan.graph, plan.costs);
  plan.schedule = dataflow::stage_schedule(plan.graph, plan.tasks, link_cost(config.hw));
  return plan;
}

}  // namespace lpsim::hardware
