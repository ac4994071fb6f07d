#pragma once
// The hardware plan: everything a hardware run decides before its first simulated cycle, made
// once from a prepared job and constant from then on. In order:
//   graph        the retimed training graph on the job's stages (PipeDream's when
//                pipeline.scheduler = pipedream: hardware::prepare_job gave the job them)
//   weight_units which layer gets which weight-version unit (weight_unit.h), decided here once
//   costs        every task's cycles and SRAM traffic, with those units (cost_model.h)
//   schedule     the LayerPipe schedule (pipeline.processors), PipeDream's 1F1B stage
//                schedule, or none (the stage program)
//   program      the static program of every PE
//   elaboration  the modules to instantiate (dataflow/elaboration_plan.h)
//   memory       SRAM/DRAM placement and every task's DRAM bytes (memory_plan.h)
// The Pipeline (pipeline.h) is built from it; lpsim check-config, schedule and graph read it.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dataflow/elaboration_plan.h"
#include "dataflow/schedule.h"
#include "dataflow/task_program.h"
#include "dataflow/training_graph.h"
#include "sim/hardware/cost_model.h"
#include "sim/hardware/memory_plan.h"
#include "sim/hardware/weight_unit.h"
#include "sim/run/job.h"

namespace lpsim::hardware {

struct HardwarePlan {
  dataflow::TrainingGraph graph;
  std::vector<WeightUnitSlot> weight_units;  // per layer group of the graph
  std::vector<TaskCost> costs;               // per graph node
  std::optional<dataflow::Schedule> schedule;
  dataflow::TaskGraph task_graph;  // the schedule's (empty without one)
  dataflow::Program program;
  dataflow::ElaborationPlan elaboration;
  MemoryPlan memory;
  std::int64_t minibatches = 0;  // that enter the pipeline: batches per epoch · epochs
};

// core::ConfigError naming the config file when the SRAM cannot hold a task's staging tiles.
HardwarePlan plan_hardware(const run::Job& job);

// The job a hardware run trains: run::prepare_job, and under pipeline.scheduler = pipedream
// PipeDream's stages (its partitioner runs here, once), so that the reference trainer, the
// stability advisory and the report see the stages the hardware runs.
run::Job prepare_job(const std::string& config_path, const std::vector<std::string>& overrides,
                     const std::string& init_from, bool need_samples = true);

}  // namespace lpsim::hardware
