#include "dataflow/training_graph.h"

#include <algorithm>
#include <limits>
#include <map>

#include "core/errors.h"

namespace lpsim::dataflow {

using models::Task;

const char* node_kind_name(NodeKind kind) {
  switch (kind) {
    case NodeKind::kInput:
      return "input";
    case NodeKind::kForward:
      return "forward";
    case NodeKind::kBackwardActivation:
      return "backward_activation";
    case NodeKind::kBackwardWeight:
      return "backward_weight";
    case NodeKind::kUpdate:
      return "update";
    case NodeKind::kLoss:
      return "loss";
    case NodeKind::kRecompute:
      return "recompute";
  }
  return "?";
}

const char* edge_kind_name(EdgeKind kind) {
  switch (kind) {
    case EdgeKind::kActivation:
      return "activation";
    case EdgeKind::kGradient:
      return "gradient";
    case EdgeKind::kStoredActivation:
      return "stored_activation";
    case EdgeKind::kWeightGradient:
      return "weight_gradient";
    case EdgeKind::kWeights:
      return "weights";
    case EdgeKind::kStashedWeights:
      return "stashed_weights";
    case EdgeKind::kStageInput:
      return "stage_input";
  }
  return "?";
}

std::vector<RetimingArc> TrainingGraph::arcs() const {
  std::vector<RetimingArc> out;
  out.reserve(edges.size());
  for (const auto& e : edges) {
    RetimingArc a;
    a.src = e.src;
    a.dst = e.dst;
    a.weight = e.initial_delay;
    out.push_back(a);
  }
  return out;
}

std::vector<std::int64_t> TrainingGraph::retimed_delays() const {
  std::vector<std::int64_t> d;
  d.reserve(edges.size());
  for (const auto& e : edges) d.push_back(e.delay);
  return d;
}

namespace {

using ops::kScalarBytes;

struct Builder {
  const models::Network& net;
  const UnitGraph& units;
  const Partition& part;
  const policies::Policy& policy;
  std::int64_t batch;
  models::UpdateCost update;
  std::vector<ActivationChoice> activations;
  ops::Numerics numerics;
  TrainingGraph g;
  std::vector<RetimingArc> arcs;  // parallel to g.edges, with targets

  int add_node(NodeKind kind, int unit, int stage, std::string name) {
    Node n;
    n.kind = kind;
    n.unit = unit;
    n.stage = stage;
    n.name = std::move(name);
    g.nodes.push_back(std::move(n));
    return static_cast<int>(g.nodes.size()) - 1;
  }

  void add_edge(int src, int dst, EdgeKind kind, std::int64_t initial, std::int64_t bytes,
                std::optional<std::int64_t> target, std::int64_t min_delay = 0) {
    Edge e;
    e.src = src;
    e.dst = dst;
    e.kind = kind;
    e.initial_delay = initial;
    e.bytes_per_token = bytes;
    g.edges.push_back(e);
    RetimingArc a;
    a.src = src;
    a.dst = dst;
    a.weight = initial;
    a.target = target;
    a.min_delay = min_delay;
    arcs.push_back(a);
  }

  int bytes_of(ops::TensorClass c) const { return numerics.bytes(c); }
  // The network's input: integer token ids (4 bytes), or values in `activations`.
  std::int64_t input_bytes() const {
    return batch * net.input_shape.size() *
           (net.token_input ? kScalarBytes : bytes_of(ops::TensorClass::kActivations));
  }

  // Bytes of the tensors that unit `from` (or the input) hands to the layers in `to_layers`,
  // in `cls`'s format (activations forward, activation gradients back).
  std::int64_t handoff_bytes(int from, const std::vector<int>& to_layers,
                             ops::TensorClass cls) const {
    std::vector<int> seen;
    std::int64_t bytes = 0;
    for (int l : to_layers) {
      for (int p : net.layers[l].inputs) {
        const int pu = p == models::kNetworkInput ? kInputUnit : units.unit_of_layer[p];
        if (pu != from || std::find(seen.begin(), seen.end(), p) != seen.end()) continue;
        seen.push_back(p);
        if (p == models::kNetworkInput) {
          bytes += cls == ops::TensorClass::kActivations
                       ? input_bytes()
                       : batch * net.input_shape.size() * bytes_of(cls);
        } else {
          const models::Layer& pl = net.layers[p];
          bytes += models::tensor_bytes(batch * pl.out_elements(), pl.out_binary, bytes_of(cls));
        }
      }
    }
    return bytes;
  }

  // What unit u's F keeps for the backward: its input (for Bw), and what the backward of its
  // attached layers reads beyond their inputs and outputs (an attention's q, k, v and P, a
  // GELU's input, a LIF layer's membrane: LayerType::saved_elements). Those are read by the
  // tail, in its owner's Ba, a beat or two before Bw_u: holding them as long as the input
  // over-counts them by at most that.
  std::int64_t stored_bytes(const Unit& unit) const {
    const models::Layer& layer = net.layers[unit.layer];
    const int act = bytes_of(ops::TensorClass::kActivations);
    std::int64_t bytes =
        layer.inputs[0] == models::kNetworkInput
            ? input_bytes()
            : models::tensor_bytes(batch * layer.in_elements(), layer.in_binary, act);
    for (int a : unit.attached) {
      const models::Layer& al = net.layers[a];
      bytes += models::tensor_bytes(batch * al.type->saved_elements(al), false, act);
    }
    return bytes;
  }

  std::vector<int> unit_layers(int u) const {
    std::vector<int> ls = {units.units[u].layer};
    ls.insert(ls.end(), units.units[u].attached.begin(), units.units[u].attached.end());
    return ls;
  }

  std::vector<int> loss_layers() const { return {net.loss}; }

  void build() {
    const int nu = static_cast<int>(units.units.size());
    const int k = part.num_stages;
    g.num_stages = k;
    g.batch = batch;
    g.policy = &policy;
    g.update = update;
    g.numerics = numerics;
    g.forward_node.assign(nu, -1);
    g.ba_node.assign(nu, -1);
    g.bw_node.assign(nu, -1);
    g.update_node.assign(nu, -1);
    g.input_node = add_node(NodeKind::kInput, kInputUnit, 0, "In");
    for (int u = 0; u < nu; ++u) {
      const Unit& unit = units.units[u];
      const int s = part.stage_of_unit[u];
      g.forward_node[u] = add_node(NodeKind::kForward, u, s, "F:" + unit.name);
      const bool has_ba = std::any_of(unit.inputs.begin(), unit.inputs.end(),
                                      [](int p) { return p != kInputUnit; });
      if (has_ba) g.ba_node[u] = add_node(NodeKind::kBackwardActivation, u, s, "Ba:" + unit.name);
      g.bw_node[u] = add_node(NodeKind::kBackwardWeight, u, s, "Bw:" + unit.name);
      g.update_node[u] = add_node(NodeKind::kUpdate, u, s, "U:" + unit.name);
    }
    g.loss_node = add_node(NodeKind::kLoss, kInputUnit, k - 1, "Loss");
    auto stage_of = [&](int u) { return u == kInputUnit ? 0 : part.stage_of_unit[u]; };
    auto fwd_of = [&](int u) { return u == kInputUnit ? g.input_node : g.forward_node[u]; };

    // Forward and gradient edges between units, and into and out of the loss.
    for (int v = 0; v < nu; ++v) {
      for (int p : units.units[v].inputs) {
        const std::int64_t crossed = stage_of(v) - stage_of(p);
        LPSIM_ASSERT(crossed >= 0, "a forward edge goes back a stage");
        const std::int64_t bytes = handoff_bytes(p, unit_layers(v), ops::TensorClass::kActivations);
        add_edge(fwd_of(p), g.forward_node[v], EdgeKind::kActivation, 0, bytes, crossed);
        if (p == kInputUnit) continue;
        const std::int64_t gbytes =
            handoff_bytes(p, unit_layers(v), ops::TensorClass::kActivationGradients);
        if (g.ba_node[p] >= 0) {
          add_edge(g.ba_node[v], g.ba_node[p], EdgeKind::kGradient, 0, gbytes, crossed);
        }
        add_edge(g.ba_node[v], g.bw_node[p], EdgeKind::kGradient, 0, gbytes, crossed);
      }
    }
    for (int p : units.loss_inputs) {
      const std::int64_t crossed = (k - 1) - stage_of(p);
      const std::int64_t bytes = handoff_bytes(p, loss_layers(), ops::TensorClass::kActivations);
      add_edge(fwd_of(p), g.loss_node, EdgeKind::kActivation, 0, bytes, crossed);
      if (p == kInputUnit) continue;
      const std::int64_t gbytes =
          handoff_bytes(p, loss_layers(), ops::TensorClass::kActivationGradients);
      if (g.ba_node[p] >= 0) {
        add_edge(g.loss_node, g.ba_node[p], EdgeKind::kGradient, 0, gbytes, crossed);
      }
      add_edge(g.loss_node, g.bw_node[p], EdgeKind::kGradient, 0, gbytes, crossed);
    }

    // Derive d_l: the boundaries on the way from F_l to the loss and back to Bw_l. Every
    // path gives the same count (boundaries telescope), which is checked here.
    const std::vector<std::vector<int>> consumers = units.consumers();
    std::vector<std::int64_t> to_loss(nu, -1);
    for (int u = nu - 1; u >= 0; --u) {
      std::int64_t d = -1;
      auto take = [&](std::int64_t candidate) {
        LPSIM_ASSERT(d < 0 || d == candidate, "paths to the loss cross different boundaries");
        d = candidate;
      };
      if (std::find(units.loss_inputs.begin(), units.loss_inputs.end(), u) !=
          units.loss_inputs.end()) {
        take((k - 1) - stage_of(u));
      }
      for (int c : consumers[u]) take(to_loss[c] + stage_of(c) - stage_of(u));
      LPSIM_ASSERT(d >= 0, "unit " + units.units[u].name + " does not reach the loss");
      to_loss[u] = d;
    }

    for (int u = 0; u < nu; ++u) {
      const Unit& unit = units.units[u];
      const models::Layer& layer = net.layers[unit.layer];
      const std::int64_t d = 2 * to_loss[u];
      const std::int64_t wbytes = layer.num_params() * bytes_of(ops::TensorClass::kWeights);
      add_edge(g.forward_node[u], g.bw_node[u], EdgeKind::kStoredActivation, 0, stored_bytes(unit),
               std::nullopt);
      add_edge(g.bw_node[u], g.update_node[u], EdgeKind::kWeightGradient, 0,
               layer.num_params() * bytes_of(ops::TensorClass::kWeightGradients), 0);
      add_edge(g.update_node[u], g.forward_node[u], EdgeKind::kWeights, 1 + d, wbytes, std::nullopt,
               1);
      // A Ba that reads the weights (not an embedding's) gets them, stashed or current.
      if (g.ba_node[u] >= 0 && layer.type->backward_reads_weights()) {
        if (policy.hardware.stash) {
          add_edge(g.forward_node[u], g.ba_node[u], EdgeKind::kStashedWeights, 0, wbytes,
                   std::nullopt);
        } else {
          add_edge(g.update_node[u], g.ba_node[u], EdgeKind::kWeights, 1, wbytes, std::nullopt, 1);
        }
      }
      LayerTiming lt;
      lt.name = unit.name;
      lt.unit = u;
      lt.stage = stage_of(u);
      lt.stages_after = k - 1 - lt.stage;
      lt.delay = d;
      lt.buffer_depth = d + 1;
      lt.weight_elements = layer.num_params();
      g.layers.push_back(lt);
    }

    const auto r = solve_retiming(static_cast<int>(g.nodes.size()), arcs, g.input_node);
    if (!r) {
      throw core::InternalError(
          "no legal retiming exists for this partition (a bug in the derivation)");
    }
    for (std::size_t v = 0; v < g.nodes.size(); ++v) g.nodes[v].retiming = (*r)[v];
    for (auto& e : g.edges) {
      e.delay = e.initial_delay + (*r)[e.dst] - (*r)[e.src];
      LPSIM_ASSERT(e.delay >= 0, "retiming produced a negative delay");
      e.boundaries = std::abs(g.nodes[e.dst].stage - g.nodes[e.src].stage);
      e.buffer_depth = e.delay + 1;
    }
    add_recompute_nodes();
    assign_work();
  }

  // §4c: an R node per recomputing stage, at its backward's retiming; the stage's stored
  // activations (one minibatch's saved tensors) now come from R, and the stage's input waits
  // for R from the forward of its first unit, as the stored activations did under keep.
  void add_recompute_nodes() {
    const int k = g.num_stages;
    g.activations = activations.empty() ? std::vector<ActivationChoice>(k, ActivationChoice::kKeep)
                                        : activations;
    LPSIM_ASSERT(static_cast<int>(g.activations.size()) == k, "one activation choice per stage");
    g.recompute_node.assign(k, -1);
    const int nu = static_cast<int>(units.units.size());
    const std::vector<int> layer_stage =
        models::backward_stage_of_layers(net, units, part.stage_of_unit, k);
    const std::vector<std::vector<int>> inputs = models::stage_inputs(net, layer_stage, k);
    const std::size_t first_new_edge = g.edges.size();
    for (int s = 0; s < k; ++s) {
      if (g.activations[s] != ActivationChoice::kRecompute) continue;
      const int r = add_node(NodeKind::kRecompute, kInputUnit, s, "R:stage" + std::to_string(s));
      g.recompute_node[s] = r;
      std::int64_t at =
          s == k - 1 ? g.nodes[g.loss_node].retiming : std::numeric_limits<std::int64_t>::max();
      int first = -1;
      for (int u = 0; u < nu; ++u) {
        if (part.stage_of_unit[u] != s) continue;
        if (first < 0) first = u;
        at = std::min(at, g.nodes[g.bw_node[u]].retiming);
        if (g.ba_node[u] >= 0) at = std::min(at, g.nodes[g.ba_node[u]].retiming);
      }
      g.nodes[r].retiming = at;
      for (auto& e : g.edges) {
        if (e.kind == EdgeKind::kStoredActivation && g.nodes[e.src].kind == NodeKind::kForward &&
            part.stage_of_unit[g.nodes[e.src].unit] == s) {
          e.src = r;
        }
      }
      std::int64_t bytes = 0;
      for (int p : inputs[s]) {
        if (p == models::kNetworkInput) {
          bytes += input_bytes();
        } else {
          const models::Layer& pl = net.layers[p];
          bytes += models::tensor_bytes(batch * pl.out_elements(), pl.out_binary,
                                        bytes_of(ops::TensorClass::kActivations));
        }
      }
      add_edge(g.forward_node[first], r, EdgeKind::kStageInput, 0, bytes, std::nullopt);
    }
    for (std::size_t i = 0; i < g.edges.size(); ++i) {
      Edge& e = g.edges[i];
      const bool touched = i >= first_new_edge || g.nodes[e.src].kind == NodeKind::kRecompute;
      if (!touched) continue;
      e.delay = e.initial_delay + g.nodes[e.dst].retiming - g.nodes[e.src].retiming;
      LPSIM_ASSERT(e.delay >= 0, "a recompute edge with a negative delay");
      e.boundaries = std::abs(g.nodes[e.dst].stage - g.nodes[e.src].stage);
      e.buffer_depth = e.delay + 1;
    }
  }

  void assign_work() {
    const int nu = static_cast<int>(units.units.size());
    for (int l : units.input_attached) {
      g.nodes[g.input_node].work += models::layer_work(net.layers[l], Task::kForward, batch);
    }
    for (int u = 0; u < nu; ++u) {
      const Unit& unit = units.units[u];
      const models::Layer& layer = net.layers[unit.layer];
      Node& f = g.nodes[g.forward_node[u]];
      f.work += models::layer_work(layer, Task::kForward, batch);
      for (int a : unit.attached)
        f.work += models::layer_work(net.layers[a], Task::kForward, batch);
      if (g.ba_node[u] >= 0) {
        g.nodes[g.ba_node[u]].work += models::layer_work(layer, Task::kBackwardActivation, batch);
      }
      g.nodes[g.bw_node[u]].work += models::layer_work(layer, Task::kBackwardWeight, batch);
      g.nodes[g.update_node[u]].work += models::layer_work(layer, Task::kUpdate, batch, update);
      // The unit's tail (element-wise backward of its attached layers) runs with its tail
      // owner's Ba, or with the loss (workloads/models/units.h).
      models::Work tail;
      for (int a : unit.attached)
        tail += models::layer_work(net.layers[a], Task::kBackwardActivation, batch);
      const int owner = unit.tail_owner == kLossUnit ? g.loss_node : g.ba_node[unit.tail_owner];
      g.nodes[owner].work += tail;
      g.nodes[owner].tail_work += tail;
    }
    // A rerun does the forward work of the layers its stage's backward reads (§4c).
    const std::vector<int> layer_stage =
        models::backward_stage_of_layers(net, units, part.stage_of_unit, g.num_stages);
    for (std::size_t l = 0; l < net.layers.size(); ++l) {
      const int s = layer_stage[l];
      if (s < 0 || static_cast<int>(l) == net.loss || !g.recomputes(s)) continue;
      g.nodes[g.recompute_node[s]].work += models::layer_work(net.layers[l], Task::kForward, batch);
    }
    Node& loss = g.nodes[g.loss_node];
    loss.work += models::layer_work(net.layers[net.loss], Task::kForward, batch);
    loss.work += models::layer_work(net.layers[net.loss], Task::kBackwardActivation, batch);
  }
};

}  // namespace

TrainingGraph build_training_graph(const models::Network& network, const UnitGraph& units,
                                   const Partition& partition, const policies::Policy& policy,
                                   std::int64_t batch, const models::UpdateCost& update,
                                   const std::vector<ActivationChoice>& activations,
                                   const ops::Numerics& numerics) {
  LPSIM_ASSERT(partition.stage_of_unit.size() == units.units.size(), "one stage per unit");
  LPSIM_ASSERT(policy.pipelined || partition.num_stages == 1,
               policy.name + " training has one stage");
  LPSIM_ASSERT(batch >= 1, "batch >= 1");
  Builder b{network, units, partition, policy, batch, update, activations, numerics, {}, {}};
  b.build();
  return std::move(b.g);
}

std::vector<double> node_ops(const TrainingGraph& graph) {
  std::vector<double> t;
  t.reserve(graph.nodes.size());
  for (const auto& n : graph.nodes) {
    t.push_back(static_cast<double>(n.work.macs() + n.work.vector_ops));
  }
  return t;
}

std::vector<double> stage_work(const TrainingGraph& graph, const std::vector<double>& node_cost) {
  std::vector<double> w(graph.num_stages, 0.0);
  for (std::size_t v = 0; v < graph.nodes.size(); ++v) w[graph.nodes[v].stage] += node_cost[v];
  return w;
}

}  // namespace lpsim::dataflow
