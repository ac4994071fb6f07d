#include "dataflow/retiming.h"

#include <algorithm>
#include <limits>

#include "sim/core/errors.h"

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

// Finds a cycle whose sum of (t(src) - lambda * w) is positive; empty if none.
std::vector<int> positive_cycle(const std::vector<double>& node_time,
                                const std::vector<RetimingArc>& arcs,
                                const std::vector<std::int64_t>& delays, double lambda) {
  const int n = static_cast<int>(node_time.size());
  // Longest paths = shortest paths with negated lengths.
  std::vector<double> dist(n, 0.0);
  std::vector<int> pred(n, -1);
  int last = -1;
  for (int pass = 0; pass < n; ++pass) {
    last = -1;
    for (std::size_t i = 0; i < arcs.size(); ++i) {
      const auto& a = arcs[i];
      const double len = -(node_time[a.src] - lambda * static_cast<double>(delays[i]));
      if (dist[a.src] + len < dist[a.dst] - 1e-12 * (1.0 + std::abs(dist[a.dst]))) {
        dist[a.dst] = dist[a.src] + len;
        pred[a.dst] = a.src;
        last = a.dst;
      }
    }
    if (last < 0) return {};
  }
  if (last < 0) return {};
  // Walk back n steps to land inside the cycle, then collect it.
  int v = last;
  for (int i = 0; i < n; ++i) v = pred[v];
  std::vector<int> cycle;
  int u = v;
  do {
    cycle.push_back(u);
    u = pred[u];
  } while (u != v && static_cast<int>(cycle.size()) <= n);
  std::reverse(cycle.begin(), cycle.end());
  return cycle;
}

}  // namespace

CycleRatio iteration_bound(const std::vector<double>& node_time,
                           const std::vector<RetimingArc>& arcs,
                           const std::vector<std::int64_t>& delays) {
  LPSIM_ASSERT(delays.size() == arcs.size(), "one delay per arc");
  const int n = static_cast<int>(node_time.size());
  // A cycle of zero-delay arcs can never fire.
  {
    std::vector<int> indeg(n, 0);
    std::vector<std::vector<int>> out(n);
    for (std::size_t i = 0; i < arcs.size(); ++i) {
      if (delays[i] == 0) {
        out[arcs[i].src].push_back(arcs[i].dst);
        ++indeg[arcs[i].dst];
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
    if (seen != n) throw InternalError("the dataflow graph has a cycle without delay");
  }
  double total = 0.0;
  for (double t : node_time) total += t;
  CycleRatio best;
  if (positive_cycle(node_time, arcs, delays, 0.0).empty() &&
      positive_cycle(std::vector<double>(n, 1.0), arcs, delays, 0.0).empty()) {
    return best;  // acyclic
  }
  double lo = 0.0, hi = total + 1.0;
  std::vector<int> witness;
  for (int iter = 0; iter < 200 && hi - lo > 1e-12 * std::max(1.0, hi); ++iter) {
    const double mid = 0.5 * (lo + hi);
    std::vector<int> c = positive_cycle(node_time, arcs, delays, mid);
    if (c.empty()) {
      hi = mid;
    } else {
      lo = mid;
      witness = std::move(c);
    }
  }
  if (witness.empty()) return best;  // every cycle has zero node time
  // Report the witness cycle's exact ratio.
  best.cycle = witness;
  for (std::size_t i = 0; i < witness.size(); ++i) {
    const int u = witness[i];
    const int v = witness[(i + 1) % witness.size()];
    best.time += node_time[u];
    std::int64_t dmin = std::numeric_limits<std::int64_t>::max();
    for (std::size_t k = 0; k < arcs.size(); ++k) {
      if (arcs[k].src == u && arcs[k].dst == v) dmin = std::min(dmin, delays[k]);
    }
    best.delays += dmin;
  }
  best.ratio = best.time / static_cast<double>(best.delays);
  return best;
}

}  // namespace lpsim::dataflow
