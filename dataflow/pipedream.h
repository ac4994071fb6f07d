#pragma once
// PipeDream as a baseline (Narayanan et al., "PipeDream: Generalized Pipeline Parallelism
// for DNN Training", SOSP 2019, §3.1), without replication: the network is cut into
// contiguous stages, one per processor, each running one-forward-one-backward (1F1B).
//
// The partitioner is PipeDream's dynamic program over contiguous ranges of units (in
// topological order), minimising the slowest stage of the pipeline:
//   A(j, s) = min over i < j of max(A(i, s - 1), cut(i), compute(i + 1 .. j)),
// where compute() sums a range's forward and fused backward cycles (F, and Ba; Bw; U, with
// the loss on the last unit's stage) and cut(i) is the link time of the tensors crossing
// the cut after unit i: each link is one direction of one processor pair and serialises its
// transfers (hw_models/link), so a cut costs the busier direction, the sum of
// ceil(bytes / bytes_per_cycle) of the activations going forward or of the gradients coming
// back (latency is pipelined and does not bound the rate). As in PipeDream, every tensor that
// spans a cut is charged to it, also a skip connection that spans several cuts (the hardware
// sends it on its own link: the charge is an upper bound). At most P stages are used: fewer
// when more cuts cost more than they save (ties go to fewer stages: fewer delays, less
// memory).
//
// The stages then run as lpsim's stage program (task_program.h stage_program): in each beat a
// stage forwards its units and runs the backward of the minibatch its delay 2·S(l) names,
// which is 1F1B; stage_schedule() writes that program as a schedule of the fused task graph,
// so its exact self-timed period is known before the hardware runs it.

#include <cstdint>
#include <string>
#include <vector>

#include "dataflow/schedule.h"
#include "dataflow/training_graph.h"

namespace lpsim::dataflow {

// How a run with pipeline.processors set is mapped onto its processors: lpsim's modulo
// scheduler over LayerPipe's task split (schedule.h: any task on any processor, the stages of
// pipeline.stages), or PipeDream's contiguous stages, one per processor, running 1F1B.
enum class Scheduler { kLayerPipe, kPipeDream };
const char* scheduler_name(Scheduler scheduler);
std::vector<std::string> scheduler_names();  // the config's choices, in enum order

// What the partitioner knows of a network: per unit its cycles, per cut its link cycles.
struct PipeDreamProfile {
  std::vector<std::uint64_t> unit_cycles;  // per unit: F + fused backward (+ the loss, last)
  std::vector<std::uint64_t> cut_cycles;   // per cut after unit i, i = 0 .. units - 2
};

struct PipeDreamPartition {
  int num_stages = 1;
  std::vector<int> stage_of_unit;
  std::uint64_t bottleneck = 0;  // the objective: the slowest stage or cut
};

// The profile of a graph's fused task graph (build_task_graph, BackwardSplit::kFused).
PipeDreamProfile pipedream_profile(const TrainingGraph& graph, const TaskGraph& fused,
                                   const LinkCost& link);

// The objective of one partition (stage_of_unit contiguous and non-decreasing from 0).
std::uint64_t pipedream_bottleneck(const PipeDreamProfile& profile,
                                   const std::vector<int>& stage_of_unit);

// The best partition into at most `max_stages` stages (O(units² · stages)).
PipeDreamPartition pipedream_partition(const PipeDreamProfile& profile, int max_stages);

// The stage program of `graph` (one processor per stage) as a schedule of its fused task
// graph: processor = stage; in each beat F of the stage's units in order (and the loss on the
// last stage) at lag 0, then each unit's B, last unit first, at lag d_l; modulo_period = the
// busiest stage's cycles; period = the exact self-timed period. program_of() of it equals
// stage_program(graph).
Schedule stage_schedule(const TrainingGraph& graph, const TaskGraph& fused, const LinkCost& link);

}  // namespace lpsim::dataflow
