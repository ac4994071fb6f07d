#pragma once
// The retimed training dataflow graph (ARCHITECTURE.md section 3).
//
// Nodes: the network input In, per unit F (forward), Ba (activation gradient; absent for
// units fed only by the input), Bw (weight gradient), U (update, owns the weights), and
// the Loss. Edges carry tensors; a delay is an initial token in a FIFO.
//
// Derivation. Before retiming, firings are indexed by minibatch: every data edge has 0
// delays and the update loop U_l -> F_l carries 1 + d_l (the weight register of SGD plus
// the delayed-gradient modification), U_l -> Ba_l carries 1 (Ba of minibatch m runs after
// U has applied the gradient of m-1), and under `stash` F_l -> Ba_l carries the stashed
// weight with 0. The retiming then asks each forward and backward edge for as many delays
// as stage boundaries it crosses (feed-forward cutsets; a skip edge crossing k boundaries
// gets k) and Bw_l -> U_l for 0 (the update follows the weight gradient in the same beat).
// d_l is derived as the least delay that makes this retiming legal: the boundaries on the
// path F_l -> Loss -> Bw_l, i.e. 2·S(l). After retiming every edge's delay is what the
// hardware holds between beats: the activation F_l -> Bw_l waits d_l beats, so its buffer
// holds d_l + 1 versions; a stash holds d_l + 1 weight versions.

#include <cstdint>
#include <string>
#include <vector>

#include "dataflow/activations.h"
#include "dataflow/partition.h"
#include "dataflow/retiming.h"
#include "workloads/models/cost.h"
#include "workloads/models/network.h"
#include "workloads/ops/numerics.h"
#include "workloads/policies/policy.h"

namespace lpsim::dataflow {

// kRecompute: a stage's rerun of its forward under `recompute` (ARCHITECTURE.md §4c), one per
// such stage, just before its backward (the last stage's: before the loss).
enum class NodeKind {
  kInput,
  kForward,
  kBackwardActivation,
  kBackwardWeight,
  kUpdate,
  kLoss,
  kRecompute
};
enum class EdgeKind {
  kActivation,        // F -> F, In -> F, F -> Loss: a forward activation
  kGradient,          // Loss/Ba -> Ba/Bw: an activation gradient
  kStoredActivation,  // F_l -> Bw_l: the input activation kept for the weight gradient, and what
                      // the backward of l's attached layers reads (LayerType::saved_elements)
  kWeightGradient,    // Bw_l -> U_l
  kWeights,           // U_l -> F_l and U_l -> Ba_l: the weight register
  kStashedWeights,    // F_l -> Ba_l under `stash`: the weight version F used
  kStageInput,        // F of a recomputing stage's first unit -> its R: the stage's input,
                      // kept for the rerun (§4c); the stage's kStoredActivation edges then
                      // leave R (one minibatch's saved tensors)
};

const char* node_kind_name(NodeKind kind);
const char* edge_kind_name(EdgeKind kind);

struct Node {
  NodeKind kind = NodeKind::kInput;
  int unit = kInputUnit;  // for F/Ba/Bw/U
  int stage = 0;
  std::int64_t retiming = 0;  // r(v)
  std::string name;           // "F:fc1", "Loss", "In"
  models::Work work;          // per minibatch
  models::Work tail_work;     // the part of `work` that is other units' tails (Ba, Loss)
};

struct Edge {
  int src = 0;
  int dst = 0;
  EdgeKind kind = EdgeKind::kActivation;
  std::int64_t initial_delay = 0;  // w(e): minibatch-indexed, before retiming
  std::int64_t delay = 0;          // w_r(e): beats, after retiming
  std::int64_t boundaries = 0;     // stage boundaries crossed
  std::int64_t buffer_depth = 1;   // tokens its FIFO holds at full rate: delay + 1
  std::int64_t bytes_per_token = 0;
};

struct LayerTiming {
  std::string name;
  int unit = 0;
  int stage = 0;
  int stages_after = 0;              // S(l)
  std::int64_t delay = 0;            // d_l = 2·S(l), derived
  std::int64_t buffer_depth = 0;     // input-activation versions held for Bw: d_l + 1
  std::int64_t weight_elements = 0;  // |W_l| including bias
};

struct TrainingGraph {
  int num_stages = 1;
  std::int64_t batch = 1;
  const policies::Policy* policy = nullptr;  // the weight-version policy (never null once built)
  models::UpdateCost update;                 // the optimizer's work in U and its state
  ops::Numerics numerics;                    // §2d: the formats, so the bytes of every tensor
  std::vector<Node> nodes;
  std::vector<Edge> edges;
  std::vector<LayerTiming> layers;  // one per unit
  int input_node = 0;
  int loss_node = 0;
  std::vector<int> forward_node, ba_node, bw_node, update_node;  // per unit; ba may be -1
  // §4c, per stage: its pipeline.activations choice, and its R node (-1 unless it recomputes).
  std::vector<ActivationChoice> activations;
  std::vector<int> recompute_node;
  bool recomputes(int stage) const { return recompute_node[stage] >= 0; }
  // The R node that reruns unit u's forward, or -1.
  int recompute_node_of_unit(int u) const { return recompute_node[layers[u].stage]; }

  // The arcs as the retiming solver sees them (original weights).
  std::vector<RetimingArc> arcs() const;
  std::vector<std::int64_t> retimed_delays() const;
};

// Builds and retimes the graph. An unpipelined policy (sync) needs a one-stage partition.
// `update`: the optimizer's cost (reference::update_cost; the default is SGD's).
// `activations`: per stage (empty: every stage keeps its activations). `numerics`: the
// formats (ARCHITECTURE.md §2d): an activation edge carries its tensors in `activations`, a
// gradient edge in `activation_gradients`, the weights in `weights`, a weight gradient in
// `weight_gradients` (the network's integer token ids stay 4 bytes).
TrainingGraph build_training_graph(const models::Network& network, const UnitGraph& units,
                                   const Partition& partition, const policies::Policy& policy,
                                   std::int64_t batch,
                                   const models::UpdateCost& update = models::UpdateCost{},
                                   const std::vector<ActivationChoice>& activations = {},
                                   const ops::Numerics& numerics = ops::Numerics{});

// Work of each node in lane-operations (MACs + element-wise ops): a machine-independent
// cost used when no hardware model is given.
std::vector<double> node_ops(const TrainingGraph& graph);

// Work per beat of each stage under the given node costs.
std::vector<double> stage_work(const TrainingGraph& graph, const std::vector<double>& node_cost);

}  // namespace lpsim::dataflow
