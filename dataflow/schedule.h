#pragma once
// LayerPipe task splitting and static periodic (modulo) schedules on P processors.
//
// Task graphs (per minibatch), from the retimed training graph:
//   fused        F_l, and one backward task B_l = Ba_l; Bw_l; U_l (PipeDream-style)
//   intra        F_l, Ba_l, Bw_l, U_l: Ba_l and Bw_l both need only delta_l and may run in
//                parallel on different processors (LayerPipe's intra-layer split)
//   intra+inter  as intra, with Ba_l further divided into its matrix product with W_l
//                (Ba_l.product) and the element-wise derivative of the layer below
//                (Ba_l.tail), which may run elsewhere (LayerPipe's inter-layer split)
// Dependencies are minibatch-indexed (task_program.h): dst(m) needs src(m - offset).
//
// A schedule assigns every task a processor and a start time t(v): the instance for
// minibatch m starts at m·T + t(v), T the period. It is valid when every dependency holds,
//   t(dst) >= t(src) + c(src) + comm(src, dst) - offset·T,
// (comm = link latency + bytes / bandwidth when the two run on different processors), and
// no two tasks of a processor overlap modulo T. The scheduler is iterative modulo list
// scheduling: from the lower bound max(sum c / P, max c, recurrence bound) it tries
// periods in growing steps; for each it places tasks in order of earliest start on the
// processor where they can start first, then checks the constraints that point back. The
// result's period is then the exact self-timed period of its static order (the maximum
// cycle ratio of dependencies plus processor order), which is what the hardware runs at.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dataflow/task_program.h"
#include "dataflow/training_graph.h"

namespace lpsim::dataflow {

enum class BackwardSplit { kFused, kIntra, kIntraInter };
const char* backward_split_name(BackwardSplit split);
// Every split's name, coarsest first (the config's choices).
std::vector<std::string> backward_split_names();
bool parse_backward_split(const std::string& text, BackwardSplit* out);

struct Task {
  std::string name;
  int unit = -1;                      // -1 for the loss
  std::vector<ProgramEntry> entries;  // graph-node parts it runs, in order (lag unused)
  std::uint64_t cycles = 0;
};

struct TaskDep {
  int src = 0;
  int dst = 0;
  std::int64_t offset = 0;
  std::uint64_t bytes = 0;    // data moved (0 for an ordering constraint)
  std::uint64_t latency = 0;  // cycles after src ends before dst may start (a unit's work)
  // In a task of several nodes (fused: Ba, Bw, U), the hardware sends a node's outputs when
  // that node ends and waits for a node's inputs when that node begins: the cycles of src's
  // task after the source node, and of dst's task before the destination node.
  std::uint64_t src_after = 0;
  std::uint64_t dst_before = 0;
};

struct TaskGraph {
  BackwardSplit split = BackwardSplit::kIntra;
  std::vector<Task> tasks;
  std::vector<TaskDep> deps;
  std::uint64_t total_cycles() const;
};

// `node_cycles`: each graph node's cycles; `tail_cycles`: the part of a Ba (or loss) node
// that is other units' tails; `after_update` (may be empty): per U node, the cycles its
// vector unit works after it, which the layer's next task that waits on the unit (Ba's
// reconstruction, or F's prediction) waits for.
TaskGraph build_task_graph(const TrainingGraph& graph,
                           const std::vector<std::uint64_t>& node_cycles,
                           const std::vector<std::uint64_t>& tail_cycles, BackwardSplit split,
                           const std::vector<std::uint64_t>& after_update = {});

struct LinkCost {
  std::uint64_t latency_cycles = 0;
  std::uint64_t bytes_per_cycle = 1;
  std::uint64_t cycles(std::uint64_t bytes) const {
    return latency_cycles + (bytes + bytes_per_cycle - 1) / bytes_per_cycle;
  }
};

struct Schedule {
  int processors = 1;
  std::uint64_t lower_bound = 0;           // max(ceil(sum c / P), max c, recurrence bound)
  std::uint64_t modulo_period = 0;         // the T the placement was made for
  double period = 0.0;                     // exact self-timed period of the resulting order
  std::vector<int> processor;              // per task
  std::vector<std::uint64_t> start;        // per task: t(v) (instance m starts at m·T + t(v))
  std::uint64_t bytes_per_minibatch = 0;   // crossing processors
  std::vector<std::uint64_t> busy_cycles;  // per processor per period
};

// The best schedule found on `processors` processors. Never worse than the best for fewer
// processors when `previous` (a schedule for P - 1) is given.
Schedule modulo_schedule(const TaskGraph& tasks, int processors, const LinkCost& link,
                         const Schedule* previous = nullptr);

// A schedule of a finer split (intra from fused, intra+inter from intra) that runs the
// parts of every coarse task back to back where the coarse task ran: a valid coarse
// schedule gives a valid fine one, so splitting never has to lose.
Schedule refine_schedule(const TaskGraph& coarse, const Schedule& coarse_schedule,
                         const TaskGraph& fine, const LinkCost& link);

// Schedules of every split for 1..max_processors processors: schedules[split][P - 1]. A
// schedule never gets worse with more processors (P - 1's is reused when better) nor with a
// finer split (the coarser split's schedule, refined, is used when better).
struct ScheduleSweep {
  std::vector<TaskGraph> graphs;                 // fused, intra, intra+inter
  std::vector<std::vector<Schedule>> schedules;  // [split][P - 1]
};
ScheduleSweep sweep_schedules(const TrainingGraph& graph,
                              const std::vector<std::uint64_t>& node_cycles,
                              const std::vector<std::uint64_t>& tail_cycles, int max_processors,
                              const LinkCost& link,
                              const std::vector<std::uint64_t>& after_update = {});

// Independent validity check: dependencies with communication, processor exclusivity
// modulo T. Returns a description of the first violation, or nullopt.
std::optional<std::string> check_schedule(const TaskGraph& tasks, const Schedule& schedule,
                                          const LinkCost& link);

// Fills a schedule's period (self_timed_period), bytes_per_minibatch and busy_cycles from its
// processors and start times.
void finish_schedule(const TaskGraph& tasks, const LinkCost& link, Schedule& schedule);

// The per-processor program the hardware runs: tasks in order of start time modulo T,
// each expanded into its entries with lag floor(t / T).
Program program_of(const TrainingGraph& graph, const TaskGraph& tasks, const Schedule& schedule);

// When a token on a dependency of `offset` (dst(m) needs src(m - offset)) is due at its
// consumer, which a modulo schedule of period T starts at `consumer_start`, counted from the
// producer's own instance: offset·T + consumer_start. A link sends the tokens a node produces
// at one time in this order: the hardware orders each node's out-edges by it
// (elaboration_plan.cpp), and self_timed_period breaks its ties by it.
inline std::int64_t token_due(std::int64_t offset, std::uint64_t period,
                              std::uint64_t consumer_start) {
  return offset * static_cast<std::int64_t>(period) + static_cast<std::int64_t>(consumer_start);
}

// The exact period at which a static program runs self-timed (max cycle ratio), each link
// serialising the transfers queued on it in send order as the hardware's does. With
// `links_queue` false every transfer is costed alone, as the modulo placement assumes; that
// period is at most modulo_period, and queueing can only add to it.
double self_timed_period(const TaskGraph& tasks, const Schedule& schedule, const LinkCost& link,
                         bool links_queue = true);

}  // namespace lpsim::dataflow
