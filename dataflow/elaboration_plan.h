#pragma once
// What the hardware model instantiates, as a plain value: computed here from the retimed
// graph and its static program (and the LayerPipe schedule when there is one), turned into
// SystemC modules by sim/hardware/pipeline.cpp. No SystemC.
//
// - One delay buffer per data edge some task reads, at its consumer: depth = the graph's
//   buffer_depth under the stage program; a schedule can hold a token as many iterations as
//   its consumer lags its producer, plus one in transit, so there it is the larger of the two.
// - One buffer per split Ba (intra+inter: the product hands its result to the tail), depth 2,
//   sized for the largest gradient the node sends.
// - One link per ordered pair of processors that exchange tokens.
// - Per layer group with a Ba, how many iterations of the program its Ba starts after its U
//   (a weight-version unit sizes itself by it: a stash holds d versions, plus that lag and
//   one when a schedule runs Ba later), and whether its F, Ba and U share a processor.
// - Send order: a node's outputs leave in the order their consumers are due (the consumer's
//   scheduled start for that minibatch), since a link is first come, first served; under the
//   stage program, in edge order.
// - sync_on_done: a node whose completion a task on another processor waits for (an
//   ordering constraint): its PE brings simulated time up to date before it signals.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "dataflow/schedule.h"
#include "dataflow/task_program.h"
#include "dataflow/training_graph.h"

namespace lpsim::dataflow {

struct BufferPlan {
  std::string name;        // a SystemC name: buf_<producer>_to_<consumer>, or _product_to_tail
  int edge = -1;           // the graph edge (data buffers), or -1
  int node = -1;           // the split Ba node (split buffers), or -1
  std::int64_t depth = 0;  // entries
  std::int64_t bytes_per_entry = 0;  // one token
  int producer = 0;                  // processor that pushes
  int consumer = 0;                  // processor that pops
};

struct ElaborationPlan {
  int processors = 0;
  std::vector<std::vector<Dependency>> deps;  // per node (node_dependencies)
  std::vector<std::vector<int>> out_edges;    // per node: its data edges, in send order
  std::vector<bool> sync_on_done;             // per node
  std::vector<BufferPlan> buffers;            // data edges
  std::vector<BufferPlan> split_buffers;      // split Ba nodes
  std::vector<std::pair<int, int>> links;     // (from, to) processors, in order of first use
  std::vector<std::int64_t> backward_lag;     // per layer group: Ba's lag behind U (0: no Ba)
  // Per layer group: its F, its Ba's first part and its U run on one processor (so a unit
  // only they call can be worked out on that processor's own time).
  std::vector<bool> layer_on_one_processor;
};

// `schedule` and `task_graph` are null for the stage program.
ElaborationPlan plan_elaboration(const TrainingGraph& graph, const Program& program,
                                 const TaskGraph* task_graph, const Schedule* schedule);

// A graph name as a SystemC module name ('.' and ':' become '_').
std::string module_name(std::string name);

}  // namespace lpsim::dataflow
