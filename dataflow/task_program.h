#pragma once
// Static periodic programs: which processor runs which task, in which order.
//
// A program gives each processor an ordered list of entries (node, lag); in iteration i the
// processor runs each entry's node for minibatch i - lag, skipping instances outside
// [0, N). The iteration is one beat of the processor. Dependencies between task instances
// are minibatch-indexed: an edge src -> dst with initial delay w makes dst(m) wait for
// src(m - w) (no wait when m - w < 0: an initial token). Two write-after-read orders are
// added that the weight register needs: U_l(m) after F_l(m + d_l) (the forward of minibatch
// m + d_l reads W^(m+d_l), which U_l(m) overwrites) and U_l(m) after Ba_l(m).

#include <cstdint>
#include <vector>

#include "dataflow/training_graph.h"

namespace lpsim::dataflow {

// Which part of a graph node an entry runs: all of it, or (a Ba node split by LayerPipe's
// inter-layer split) only its matrix product or only the tails that follow it.
enum class NodePart { kWhole, kProduct, kTail };

struct ProgramEntry {
  int node = 0;
  std::int64_t lag = 0;
  NodePart part = NodePart::kWhole;
};

struct Dependency {
  int src = 0;
  std::int64_t offset = 0;  // dst(m) needs src(m - offset)
  int edge = -1;            // the graph edge carrying data, or -1 for an ordering constraint
};

struct Program {
  int num_processors = 0;
  std::vector<std::vector<ProgramEntry>> entries;  // per processor
  std::vector<int> processor_of_node;              // the part that finishes it; -1 for input
  std::vector<int> processor_of_first_part;        // the part that consumes its inputs
  std::int64_t max_lag = 0;
};

// LayerPipe's baseline mapping: one processor per stage; in each beat the stage forwards
// its units in topological order (and the loss, on the last stage), then runs Ba, Bw and U
// of minibatch i - d_u for its units in reverse order.
Program stage_program(const TrainingGraph& graph);

// The dependencies of every node (incoming), including the write-after-read orders.
std::vector<std::vector<Dependency>> node_dependencies(const TrainingGraph& graph);

}  // namespace lpsim::dataflow
