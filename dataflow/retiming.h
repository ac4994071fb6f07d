#pragma once
// Retiming of a synchronous dataflow graph (Leiserson and Saxe; Parhi, VLSI DSP ch. 4).
//
// A retiming r assigns each node an integer; an edge e: u -> v with w(e) delays gets
// w_r(e) = w(e) + r(v) - r(u). Every cycle keeps its delay sum. The solver finds r from
// difference constraints: some edges ask for an exact retimed delay (a cutset placing a
// delay on every edge that crosses a stage boundary), the others only for legality
// (w_r(e) >= min_delay). It is Bellman-Ford on the constraint graph; an infeasible set
// (a negative cycle) means the requested delays cannot be reached by retiming.

#include <cstdint>
#include <optional>
#include <vector>

namespace lpsim::dataflow {

struct RetimingArc {
  int src = 0;
  int dst = 0;
  std::int64_t weight = 0;             // w(e), delays before retiming
  std::optional<std::int64_t> target;  // exact w_r(e) wanted, if any
  std::int64_t min_delay = 0;          // legality bound otherwise
};

// Returns r with r[anchor] = 0, or nullopt when no retiming meets the constraints.
std::optional<std::vector<std::int64_t>> solve_retiming(int num_nodes,
                                                        const std::vector<RetimingArc>& arcs,
                                                        int anchor);

struct CycleRatio {
  double ratio = 0.0;       // sum of node times / sum of delays on the critical cycle
  std::vector<int> cycle;   // its nodes, in order
  std::int64_t delays = 0;  // delays on it
  double time = 0.0;        // node time on it
};

struct RatioArc {
  int src = 0;
  int dst = 0;
  double cost = 0.0;       // time spent along the arc (e.g. the source's work + transfer)
  std::int64_t delay = 0;  // its delays (iterations)
};

// max over cycles of (sum of cost) / (sum of delay); every cycle must hold a delay
// (core::InternalError otherwise). Returns ratio 0 when there is no cycle.
CycleRatio max_cycle_ratio(int num_nodes, const std::vector<RatioArc>& arcs);

// The iteration bound T = max over cycles C of (sum of t(v), v in C) / (sum of w(e), e in C)
// (Parhi). `node_time` >= 0. Every cycle must hold at least one delay (else the graph
// cannot run and this throws core::InternalError). Returns ratio 0 for an acyclic graph.
CycleRatio iteration_bound(const std::vector<double>& node_time,
                           const std::vector<RetimingArc>& arcs,
                           const std::vector<std::int64_t>& delays);

}  // namespace lpsim::dataflow
