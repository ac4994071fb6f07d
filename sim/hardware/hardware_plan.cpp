#include "sim/hardware/hardware_plan.h"

#include "core/errors.h"
#include "sim/hardware/pipedream_plan.h"
#include "workloads/reference/trainer.h"

namespace lpsim::hardware {

HardwarePlan plan_hardware(const run::Job& job) {
  const config::Config& c = job.config;
  LPSIM_ASSERT(c.scheduler != dataflow::Scheduler::kPipeDream || job.pipedream_stages,
               "a PipeDream run's job comes from hardware::prepare_job");
  HardwarePlan plan;
  plan.graph = dataflow::build_training_graph(job.network, job.units, job.partition, *c.policy,
                                              c.batch_size, reference::update_cost(c.optimizer),
                                              job.activations, c.hw.numerics);
  plan.weight_units = assign_weight_units(plan.graph, job.network, job.units);
  plan.costs = task_costs(plan.graph, c.hw, plan.weight_units);
  if (c.scheduler == dataflow::Scheduler::kPipeDream) {
    // PipeDream's stages, each on its own processor, 1F1B.
    plan.task_graph = fused_tasks(plan.graph, plan.costs);
    plan.schedule = dataflow::stage_schedule(plan.graph, plan.task_graph, link_cost(c.hw));
  } else if (c.processors) {
    const NodeCycles cycles = node_cycles(plan.costs);
    const int procs = static_cast<int>(*c.processors);
    dataflow::ScheduleSweep sweep = dataflow::sweep_schedules(
        plan.graph, cycles.node, cycles.tail, procs, link_cost(c.hw), cycles.after_update);
    const std::size_t mode = static_cast<std::size_t>(c.backward_split);
    plan.task_graph = std::move(sweep.graphs[mode]);
    plan.schedule = std::move(sweep.schedules[mode][procs - 1]);
  }
  plan.program = plan.schedule ? dataflow::program_of(plan.graph, plan.task_graph, *plan.schedule)
                               : dataflow::stage_program(plan.graph);
  plan.elaboration = dataflow::plan_elaboration(plan.graph, plan.program,
                                                plan.schedule ? &plan.task_graph : nullptr,
                                                plan.schedule ? &*plan.schedule : nullptr);
  plan.memory = plan_memory(plan.graph, plan.program, plan.weight_units, c.hw, c.source);
  plan.minibatches = job.batches_per_epoch * c.epochs;
  // The delays the hardware realises (retimed graph) must be the ones the reference trainer
  // uses (formula 2·S(l)).
  const std::vector<std::int64_t> formula =
      reference::layer_delays(job.trainer, static_cast<int>(job.units.units.size()));
  for (std::size_t u = 0; u < formula.size(); ++u) {
    LPSIM_ASSERT(formula[u] == plan.graph.layers[u].delay, "graph delay differs from 2·S(l)");
  }
  return plan;
}

run::Job prepare_job(const std::string& config_path, const std::vector<std::string>& overrides,
                     const std::string& init_from, bool need_samples) {
  run::Job job = run::prepare_job(config_path, overrides, init_from, need_samples);
  if (job.config.scheduler == dataflow::Scheduler::kPipeDream) {
    const dataflow::Partition stages = pipedream_stages(job.network, job.units, job.config,
                                                        static_cast<int>(*job.config.processors))
                                           .stages;
    job.partition = stages;
    job.trainer.stage_of_unit = stages.stage_of_unit;
    job.trainer.num_stages = stages.num_stages;
    // With processors set every stage keeps its activations (config.cpp refuses the others).
    job.activations.assign(stages.num_stages, dataflow::ActivationChoice::kKeep);
    job.trainer.recompute_stage.assign(stages.num_stages, false);
    job.pipedream_stages = true;
  }
  return job;
}

}  // namespace lpsim::hardware
