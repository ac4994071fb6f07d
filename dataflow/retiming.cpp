#include "dataflow/retiming.h"

#include <algorithm>
#include <limits>

#include "core/errors.h"

namespace lpsim::dataflow {
namespace {

struct Constraint {  // r(dst) - r(src) <= bound
  int src;
  int dst;
  std::int64_t bound;
};

}  // namespace

std::optional<std::vector<std::int64_t>> solve_retiming(int num_nodes,
                                                        const std::vector<RetimingArc>& arcs,
                                                        int anchor) {
  std::vector<Constraint> cons;
  for (const auto& a : arcs) {
    if (a.target) {
      cons.push_back({a.src, a.dst, *a.target - a.weight});
      cons.push_back({a.dst, a.src, a.weight - *a.target});
    } else {
      cons.push_back({a.dst, a.src, a.weight - a.min_delay});
    }
  }
  // Shortest paths from a virtual source joined to every node with length 0.
  std::vector<std::int64_t> dist(num_nodes, 0);
  for (int pass = 0; pass <= num_nodes; ++pass) {
    bool changed = false;
    for (const auto& c : cons) {
      if (dist[c.src] + c.bound < dist[c.dst]) {
        dist[c.dst] = dist[c.src] + c.bound;
        changed = true;
      }
    }
    if (!changed) {
      const std::int64_t shift = dist[anchor];
      for (auto& d : dist) d -= shift;
      return dist;
    }
  }
  return std::nullopt;  // still relaxing after |V| passes: a negative cycle
}

namespace {

// Finds a cycle whose sum of (cost - lambda * delay) is positive; empty if none.
std::vector<int> positive_cycle(int n, const std::vector<RatioArc>& arcs, double lambda,
                                std::vector<int>* arc_of_pred) {
  // Longest paths = shortest paths with negated lengths.
  std::vector<double> dist(n, 0.0);
  std::vector<int> pred(n, -1), pred_arc(n, -1);
  int last = -1;
  for (int pass = 0; pass < n; ++pass) {
    last = -1;
    for (std::size_t i = 0; i < arcs.size(); ++i) {
      const auto& a = arcs[i];
      const double len = -(a.cost - lambda * static_cast<double>(a.delay));
      if (dist[a.src] + len < dist[a.dst] - 1e-12 * (1.0 + std::abs(dist[a.dst]))) {
        dist[a.dst] = dist[a.src] + len;
        pred[a.dst] = a.src;
        pred_arc[a.dst] = static_cast<int>(i);
        last = a.dst;
      }
    }
    if (last < 0) return {};
  }
  if (last < 0) return {};
  int v = last;
  for (int i = 0; i < n; ++i) v = pred[v];
  std::vector<int> cycle;
  arc_of_pred->clear();
  int u = v;
  do {
    cycle.push_back(u);
    arc_of_pred->push_back(pred_arc[u]);
    u = pred[u];
  } while (u != v && static_cast<int>(cycle.size()) <= n);
  std::reverse(cycle.begin(), cycle.end());
  std::reverse(arc_of_pred->begin(), arc_of_pred->end());
  return cycle;
}

}  // namespace

CycleRatio max_cycle_ratio(int n, const std::vector<RatioArc>& arcs) {
  // A cycle of zero-delay arcs can never fire.
  {
    std::vector<int> indeg(n, 0);
    std::vector<std::vector<int>> out(n);
    for (const auto& a : arcs) {
      if (a.delay == 0) {
        out[a.src].push_back(a.dst);
        ++indeg[a.dst];
      }
    }
    std::vector<int> stack;
    for (int v = 0; v < n; ++v) {
      if (indeg[v] == 0) stack.push_back(v);
    }
    int seen = 0;
    while (!stack.empty()) {
      const int v = stack.back();
      stack.pop_back();
      ++seen;
      for (int w : out[v]) {
        if (--indeg[w] == 0) stack.push_back(w);
      }
    }
    if (seen != n) throw core::InternalError("the dataflow graph has a cycle without delay");
  }
  CycleRatio best;
  double total = 0.0;
  for (const auto& a : arcs) total += std::max(0.0, a.cost);
  std::vector<int> witness_arcs, arcs_tmp;
  std::vector<int> witness;
  double lo = 0.0, hi = total + 1.0;
  // Is there any cycle at all? (lambda = -1 makes every cycle positive.)
  if (positive_cycle(n, arcs, -1.0, &arcs_tmp).empty()) return best;
  for (int iter = 0; iter < 200 && hi - lo > 1e-12 * std::max(1.0, hi); ++iter) {
    const double mid = 0.5 * (lo + hi);
    std::vector<int> c = positive_cycle(n, arcs, mid, &arcs_tmp);
    if (c.empty()) {
      hi = mid;
    } else {
      lo = mid;
      witness = std::move(c);
      witness_arcs = arcs_tmp;
    }
  }
  if (witness.empty()) return best;  // every cycle has zero cost
  best.cycle = witness;
  for (int ai : witness_arcs) {
    best.time += arcs[ai].cost;
    best.delays += arcs[ai].delay;
  }
  best.ratio = best.time / static_cast<double>(best.delays);
  return best;
}

CycleRatio iteration_bound(const std::vector<double>& node_time,
                           const std::vector<RetimingArc>& arcs,
                           const std::vector<std::int64_t>& delays) {
  LPSIM_ASSERT(delays.size() == arcs.size(), "one delay per arc");
  std::vector<RatioArc> ratio_arcs;
  ratio_arcs.reserve(arcs.size());
  for (std::size_t i = 0; i < arcs.size(); ++i) {
    ratio_arcs.push_back({arcs[i].src, arcs[i].dst, node_time[arcs[i].src], delays[i]});
  }
  return max_cycle_ratio(static_cast<int>(node_time.size()), ratio_arcs);
}

}  // namespace lpsim::dataflow
