#include "dataflow/schedule.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <numeric>

#include "core/errors.h"
#include "core/log.h"

namespace lpsim::dataflow {

namespace {
constexpr BackwardSplit kBackwardSplits[] = {BackwardSplit::kFused, BackwardSplit::kIntra,
                                             BackwardSplit::kIntraInter};
}  // namespace

const char* backward_split_name(BackwardSplit split) {
  switch (split) {
    case BackwardSplit::kFused:
      return "fused";
    case BackwardSplit::kIntra:
      return "intra";
    case BackwardSplit::kIntraInter:
      return "intra+inter";
  }
  return "?";
}

std::vector<std::string> backward_split_names() {
  std::vector<std::string> out;
  for (BackwardSplit s : kBackwardSplits) out.emplace_back(backward_split_name(s));
  return out;
}

bool parse_backward_split(const std::string& text, BackwardSplit* out) {
  for (BackwardSplit s : kBackwardSplits) {
    if (text == backward_split_name(s)) {
      *out = s;
      return true;
    }
  }
  return false;
}

std::uint64_t TaskGraph::total_cycles() const {
  std::uint64_t t = 0;
  for (const auto& task : tasks) t += task.cycles;
  return t;
}

TaskGraph build_task_graph(const TrainingGraph& graph,
                           const std::vector<std::uint64_t>& node_cycles,
                           const std::vector<std::uint64_t>& tail_cycles, BackwardSplit split,
                           const std::vector<std::uint64_t>& after_update) {
  TaskGraph tg;
  tg.split = split;
  const std::size_t nn = graph.nodes.size();
  std::vector<int> first_task(nn, -1), last_task(nn, -1);
  // The cycles of one entry: the whole node, its product or its tail.
  const auto part_cycles = [&](const ProgramEntry& e) -> std::uint64_t {
    const std::uint64_t whole = node_cycles[e.node];
    return e.part == NodePart::kWhole     ? whole
           : e.part == NodePart::kProduct ? whole - tail_cycles[e.node]
                                          : tail_cycles[e.node];
  };
  auto add_task = [&](const std::string& name, int unit, std::vector<ProgramEntry> entries) {
    Task t;
    t.name = name;
    t.unit = unit;
    for (const auto& e : entries) t.cycles += part_cycles(e);
    t.entries = std::move(entries);
    const int id = static_cast<int>(tg.tasks.size());
    for (const auto& e : t.entries) {
      if (first_task[e.node] < 0) first_task[e.node] = id;
      last_task[e.node] = id;
    }
    tg.tasks.push_back(std::move(t));
    return id;
  };
  const int nu = static_cast<int>(graph.layers.size());
  for (int u = 0; u < nu; ++u) {
    add_task(graph.nodes[graph.forward_node[u]].name, u,
             {{graph.forward_node[u], 0, NodePart::kWhole}});
  }
  add_task("Loss", -1, {{graph.loss_node, 0, NodePart::kWhole}});
  std::vector<std::pair<int, int>> product_tail;  // split Ba nodes: (product task, tail task)
  for (int u = nu - 1; u >= 0; --u) {
    const int ba = graph.ba_node[u], bw = graph.bw_node[u], up = graph.update_node[u];
    const std::string& name = graph.layers[u].name;
    if (split == BackwardSplit::kFused) {
      std::vector<ProgramEntry> e;
      if (ba >= 0) e.push_back({ba, 0, NodePart::kWhole});
      e.push_back({bw, 0, NodePart::kWhole});
      e.push_back({up, 0, NodePart::kWhole});
      add_task("B:" + name, u, e);
      continue;
    }
    if (ba >= 0) {
      if (split == BackwardSplit::kIntraInter && tail_cycles[ba] > 0) {
        const int p = add_task("Ba:" + name + ".product", u, {{ba, 0, NodePart::kProduct}});
        const int t = add_task("Ba:" + name + ".tail", u, {{ba, 0, NodePart::kTail}});
        product_tail.emplace_back(p, t);
      } else {
        add_task("Ba:" + name, u, {{ba, 0, NodePart::kWhole}});
      }
    }
    add_task("Bw:" + name, u, {{bw, 0, NodePart::kWhole}});
    add_task("U:" + name, u, {{up, 0, NodePart::kWhole}});
  }
  // Where each node sits inside its first and its last task: the cycles of that task's
  // entries before it and after it.
  std::vector<std::uint64_t> before(nn, 0), after(nn, 0);
  for (const Task& t : tg.tasks) {
    std::uint64_t at = 0;
    for (const auto& e : t.entries) {
      if (&t == &tg.tasks[first_task[e.node]]) before[e.node] = at;
      at += part_cycles(e);
      if (&t == &tg.tasks[last_task[e.node]]) after[e.node] = t.cycles - at;
    }
  }
  const auto deps = node_dependencies(graph);
  for (std::size_t v = 0; v < nn; ++v) {
    for (const auto& d : deps[v]) {
      const int src = last_task[d.src], dst = first_task[v];
      // The input, or order inside one task. A task's dependency on an earlier instance of
      // itself stays: the fused B_l waits before Ba(m + 1) for the vector unit's update
      // after U(m) (TaskDep::latency), which the processor order alone does not count.
      if (src < 0 || dst < 0 || (src == dst && d.offset == 0)) continue;
      const std::uint64_t bytes =
          d.edge >= 0 ? static_cast<std::uint64_t>(graph.edges[d.edge].bytes_per_token) : 0;
      // The vector unit's update after U delays the next task that waits on the unit: a
      // reconstruction before Ba, or a prediction before F.
      const policies::HardwareWork& work = graph.policy->hardware;
      const NodeKind to = graph.nodes[v].kind;
      const bool waits_on_unit =
          graph.nodes[d.src].kind == NodeKind::kUpdate &&
          ((to == NodeKind::kBackwardActivation && work.backward_reads_tensor) ||
           (to == NodeKind::kForward && work.forward_lane_ops > 0));
      const std::uint64_t latency =
          waits_on_unit && !after_update.empty() ? after_update[d.src] : 0;
      tg.deps.push_back({src, dst, d.offset, bytes, latency, after[d.src], before[v]});
    }
  }
  for (const auto& [p, t] : product_tail) {
    // The product hands its gradient (the largest gradient the node sends) to the tail.
    std::uint64_t bytes = 0;
    const int ba = tg.tasks[p].entries.front().node;
    for (const auto& e : graph.edges) {
      if (e.src == ba && e.kind == EdgeKind::kGradient) {
        bytes = std::max<std::uint64_t>(bytes, static_cast<std::uint64_t>(e.bytes_per_token));
      }
    }
    tg.deps.push_back({p, t, 0, bytes, 0, 0, 0});
  }
  return tg;
}

namespace {

using i64 = std::int64_t;

// Cycles from the start of d.src to the earliest start of d.dst, before any transfer: the
// source node's end, the unit's latency, less the destination task's work before its node.
i64 span(const TaskGraph& tg, const TaskDep& d) {
  return static_cast<i64>(tg.tasks[d.src].cycles - d.src_after + d.latency) -
         static_cast<i64>(d.dst_before);
}

// The transfer's cycles when src and dst run on processors ps and pd: the data, or for an
// ordering constraint (no bytes) a signal of the link's latency. A unit's work after src
// (d.latency, already in span()) runs while the signal travels: only the excess counts.
i64 transfer(const LinkCost& link, const TaskDep& d, int ps, int pd) {
  if (ps == pd) return 0;
  const i64 t = static_cast<i64>(link.cycles(d.bytes));
  return std::max<i64>(0, t - static_cast<i64>(d.latency));
}

// Earliest starts at period T, with every data transfer costed when `link` is given (as
// if each crossed processors) or free; nullopt when T is below the recurrence bound.
std::optional<std::vector<i64>> earliest_starts(const TaskGraph& tg, i64 period,
                                                const LinkCost* link) {
  const std::size_t n = tg.tasks.size();
  std::vector<i64> est(n, 0);
  for (std::size_t pass = 0; pass <= n; ++pass) {
    bool changed = false;
    for (const auto& d : tg.deps) {
      const i64 moved =
          link != nullptr && d.bytes > 0 ? static_cast<i64>(link->cycles(d.bytes)) : 0;
      const i64 need = est[d.src] + span(tg, d) + moved - d.offset * period;
      if (need > est[d.dst]) {
        est[d.dst] = need;
        changed = true;
      }
    }
    if (!changed) return est;
  }
  return std::nullopt;
}

// Raises lags so that no dependency points back across windows (offset + lag[dst] -
// lag[src] >= 0), starting from a raised lag[v]. Every cycle of dependencies has a total
// offset >= 1, so this terminates; false if it takes implausibly long.
bool propagate_lags(const TaskGraph& tg, std::vector<i64>& lag) {
  const std::size_t limit = tg.tasks.size() * tg.deps.size() + 1;
  for (std::size_t pass = 0; pass < limit; ++pass) {
    bool changed = false;
    for (const auto& d : tg.deps) {
      const i64 k = d.offset + lag[d.dst] - lag[d.src];
      if (k < 0) {
        lag[d.dst] -= k;
        changed = true;
      }
    }
    if (!changed) return true;
  }
  return false;
}

// One list-scheduling pass at period T with the lags fixed: every dependency either stays
// inside one period window (effective offset 0: a DAG) or points to a later window, which
// holds whenever each task ends inside its window. The DAG is list-scheduled into [0, T)
// on the processors (highest bottom level first, on the processor where the task can
// start earliest). Returns the schedule, or the task that did not fit (in *overflow).
std::optional<Schedule> place(const TaskGraph& tg, int procs, const LinkCost& link, i64 period,
                              const std::vector<i64>& lag, int* overflow) {
  const std::size_t n = tg.tasks.size();
  *overflow = -1;
  std::vector<std::vector<const TaskDep*>> in(n), out(n);
  std::vector<int> indegree(n, 0);
  for (const auto& d : tg.deps) {
    const i64 k = d.offset + lag[d.dst] - lag[d.src];
    LPSIM_ASSERT(k >= 0, "a dependency points back across windows");
    if (k != 0) continue;
    in[d.dst].push_back(&d);
    out[d.src].push_back(&d);
    ++indegree[d.dst];
  }
  // Bottom levels (longest path to a sink, task cycles only) for priorities.
  std::vector<int> topo;
  {
    std::vector<int> deg = indegree;
    for (std::size_t v = 0; v < n; ++v) {
      if (deg[v] == 0) topo.push_back(static_cast<int>(v));
    }
    for (std::size_t i = 0; i < topo.size(); ++i) {
      for (const TaskDep* d : out[topo[i]]) {
        if (--deg[d->dst] == 0) topo.push_back(d->dst);
      }
    }
    if (topo.size() != n) return std::nullopt;  // a within-window cycle: these lags cannot work
  }
  std::vector<i64> level(n, 0);
  for (auto it = topo.rbegin(); it != topo.rend(); ++it) {
    i64 best = 0;
    for (const TaskDep* d : out[*it]) best = std::max(best, level[d->dst]);
    level[*it] = best + static_cast<i64>(tg.tasks[*it].cycles);
  }
  std::vector<int> proc(n, -1);
  std::vector<i64> pos(n, 0), free_at(procs, 0);
  std::vector<int> remaining = indegree;
  std::vector<int> ready;
  for (std::size_t v = 0; v < n; ++v) {
    if (remaining[v] == 0) ready.push_back(static_cast<int>(v));
  }
  while (!ready.empty()) {
    auto pick = std::max_element(ready.begin(), ready.end(), [&](int a, int b) {
      return level[a] != level[b] ? level[a] < level[b] : a > b;
    });
    const int v = *pick;
    ready.erase(pick);
    i64 best_t = std::numeric_limits<i64>::max();
    int best_p = 0;
    for (int p = 0; p < procs; ++p) {
      i64 t = free_at[p];
      for (const TaskDep* d : in[v]) {
        t = std::max(t, pos[d->src] + span(tg, *d) + transfer(link, *d, proc[d->src], p));
      }
      if (t < best_t) {
        best_t = t;
        best_p = p;
      }
    }
    const i64 end = best_t + static_cast<i64>(tg.tasks[v].cycles);
    if (end > period) {
      if (core::debug_enabled("schedule")) {
        core::debug_log("schedule", "T=" + std::to_string(period) + ": " + tg.tasks[v].name +
                                        " ends at " + std::to_string(end));
      }
      *overflow = v;
      return std::nullopt;
    }
    proc[v] = best_p;
    pos[v] = best_t;
    free_at[best_p] = end;
    for (const TaskDep* d : out[v]) {
      if (--remaining[d->dst] == 0) ready.push_back(d->dst);
    }
  }
  Schedule s;
  s.processors = procs;
  s.modulo_period = static_cast<std::uint64_t>(period);
  s.processor = proc;
  for (std::size_t v = 0; v < n; ++v) {
    s.start.push_back(static_cast<std::uint64_t>(lag[v] * period + pos[v]));
  }
  if (auto bad = check_schedule(tg, s, link)) {
    core::debug_log("schedule", "T=" + std::to_string(period) + ": " + *bad);
    return std::nullopt;
  }
  return s;
}

// One attempt at period T. The earliest starts fix each task's iteration lag
// (floor(est / T)); when a task does not fit in its window (a chain of same-window
// dependencies longer than T), it moves to the next window (its lag grows by one, and its
// successors' as far as needed) and the window is scheduled again, a bounded number of
// times. A later window costs minibatches in flight, never throughput.
// Tasks moved to a later window per attempted period, at most.
constexpr std::size_t kMaxLagMoves = 48;

std::optional<Schedule> try_period(const TaskGraph& tg, int procs, const LinkCost& link, i64 period,
                                   bool pessimistic) {
  const auto est = earliest_starts(tg, period, pessimistic ? &link : nullptr);
  if (!est) return std::nullopt;
  const std::size_t n = tg.tasks.size();
  std::vector<i64> lag(n);
  for (std::size_t v = 0; v < n; ++v) lag[v] = (*est)[v] / period;
  // A task may start before a source whose node comes late in it (TaskDep::dst_before), one
  // window earlier: no dependency may point back across windows.
  if (!propagate_lags(tg, lag)) return std::nullopt;
  const i64 max_initial = *std::max_element(lag.begin(), lag.end());
  for (std::size_t round = 0; round < std::min<std::size_t>(2 * n, kMaxLagMoves); ++round) {
    int overflow = -1;
    if (auto s = place(tg, procs, link, period, lag, &overflow)) return s;
    if (overflow < 0) return std::nullopt;
    ++lag[overflow];
    if (!propagate_lags(tg, lag)) return std::nullopt;
    // Bound the pipeline depth a schedule may add: a few windows beyond the dataflow's own.
    if (*std::max_element(lag.begin(), lag.end()) > max_initial + 4) return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

void finish_schedule(const TaskGraph& tg, const LinkCost& link, Schedule& s) {
  s.period = self_timed_period(tg, s, link);
  s.bytes_per_minibatch = 0;
  for (const auto& d : tg.deps) {
    if (s.processor[d.src] != s.processor[d.dst]) s.bytes_per_minibatch += d.bytes;
  }
  s.busy_cycles.assign(s.processors, 0);
  for (std::size_t v = 0; v < tg.tasks.size(); ++v)
    s.busy_cycles[s.processor[v]] += tg.tasks[v].cycles;
}

Schedule modulo_schedule(const TaskGraph& tg, int procs, const LinkCost& link,
                         const Schedule* previous) {
  LPSIM_ASSERT(procs >= 1, "at least one processor");
  const std::uint64_t total = tg.total_cycles();
  std::uint64_t max_c = 0;
  for (const auto& t : tg.tasks) max_c = std::max(max_c, t.cycles);
  std::vector<RatioArc> arcs;
  for (const auto& d : tg.deps) {
    arcs.push_back({d.src, d.dst, static_cast<double>(span(tg, d)), d.offset});
  }
  const double recurrence = max_cycle_ratio(static_cast<int>(tg.tasks.size()), arcs).ratio;
  const std::uint64_t lb = std::max(
      {(total + procs - 1) / procs, max_c, static_cast<std::uint64_t>(std::ceil(recurrence))});
  std::optional<Schedule> found;
  // Lags from transfer-free and from transfer-costed earliest starts; keep the better.
  for (bool pessimistic : {false, true}) {
    std::optional<Schedule> candidate;
    i64 t = static_cast<i64>(std::max<std::uint64_t>(lb, 1));
    for (int attempt = 0; attempt < 400 && !candidate; ++attempt) {
      candidate = try_period(tg, procs, link, t, pessimistic);
      if (!candidate) t += std::max<i64>(1, t / 100);
    }
    if (candidate) {
      candidate->period = self_timed_period(tg, *candidate, link);
      if (!found || candidate->period < found->period) found = candidate;
    }
  }
  if (!found) {
    // Everything on one processor in order of earliest start always works at T = total.
    found = try_period(tg, 1, link, static_cast<i64>(std::max<std::uint64_t>(total, 1)), false);
    LPSIM_ASSERT(found.has_value(), "no schedule even on one processor");
    found->processors = procs;
  }
  Schedule s = *found;
  s.processors = procs;
  s.lower_bound = lb;
  finish_schedule(tg, link, s);
  if (previous != nullptr && previous->period < s.period) {
    Schedule keep = *previous;
    keep.processors = procs;
    keep.lower_bound = lb;
    finish_schedule(tg, link, keep);
    return keep;
  }
  return s;
}

Schedule refine_schedule(const TaskGraph& coarse, const Schedule& cs, const TaskGraph& fine,
                         const LinkCost& link) {
  // Where each (node, part) of the fine graph sits: which fine task.
  std::map<std::pair<int, int>, int> fine_task_of;
  for (std::size_t v = 0; v < fine.tasks.size(); ++v) {
    for (const auto& e : fine.tasks[v].entries) {
      fine_task_of[{e.node, static_cast<int>(e.part)}] = static_cast<int>(v);
    }
  }
  Schedule s;
  s.processors = cs.processors;
  s.modulo_period = cs.modulo_period;
  s.lower_bound = cs.lower_bound;
  s.processor.assign(fine.tasks.size(), -1);
  s.start.assign(fine.tasks.size(), 0);
  for (std::size_t c = 0; c < coarse.tasks.size(); ++c) {
    std::uint64_t t = cs.start[c];
    for (const auto& e : coarse.tasks[c].entries) {
      std::vector<int> parts;
      if (e.part == NodePart::kWhole &&
          fine_task_of.count({e.node, static_cast<int>(NodePart::kWhole)}) == 0) {
        parts = {fine_task_of.at({e.node, static_cast<int>(NodePart::kProduct)}),
                 fine_task_of.at({e.node, static_cast<int>(NodePart::kTail)})};
      } else {
        parts = {fine_task_of.at({e.node, static_cast<int>(e.part)})};
      }
      for (int f : parts) {
        if (s.processor[f] >= 0) continue;  // a fine task covering several entries
        s.processor[f] = cs.processor[c];
        s.start[f] = t;
        t += fine.tasks[f].cycles;
      }
    }
  }
  finish_schedule(fine, link, s);
  return s;
}

ScheduleSweep sweep_schedules(const TrainingGraph& graph,
                              const std::vector<std::uint64_t>& node_cycles,
                              const std::vector<std::uint64_t>& tail_cycles, int max_processors,
                              const LinkCost& link,
                              const std::vector<std::uint64_t>& after_update) {
  ScheduleSweep sweep;
  for (BackwardSplit mode :
       {BackwardSplit::kFused, BackwardSplit::kIntra, BackwardSplit::kIntraInter}) {
    sweep.graphs.push_back(build_task_graph(graph, node_cycles, tail_cycles, mode, after_update));
    const TaskGraph& tg = sweep.graphs.back();
    const std::size_t mi = sweep.graphs.size() - 1;
    std::vector<Schedule> chosen;
    for (int p = 1; p <= max_processors; ++p) {
      Schedule s = modulo_schedule(tg, p, link, chosen.empty() ? nullptr : &chosen.back());
      if (mi > 0) {
        const Schedule refined =
            refine_schedule(sweep.graphs[mi - 1], sweep.schedules[mi - 1][p - 1], tg, link);
        if (!check_schedule(tg, refined, link) && refined.period < s.period) s = refined;
      }
      if (auto bad = check_schedule(tg, s, link)) {
        throw core::InternalError("the scheduler produced an invalid schedule: " + *bad);
      }
      chosen.push_back(std::move(s));
    }
    sweep.schedules.push_back(std::move(chosen));
  }
  return sweep;
}

std::optional<std::string> check_schedule(const TaskGraph& tg, const Schedule& s,
                                          const LinkCost& link) {
  const i64 period = static_cast<i64>(s.modulo_period);
  if (period <= 0) return std::string("period must be positive");
  for (std::size_t v = 0; v < tg.tasks.size(); ++v) {
    if (s.processor[v] < 0 || s.processor[v] >= s.processors) {
      return tg.tasks[v].name + " has no processor";
    }
    if (static_cast<i64>(tg.tasks[v].cycles) > period)
      return tg.tasks[v].name + " is longer than T";
  }
  for (const auto& d : tg.deps) {
    const i64 ready = static_cast<i64>(s.start[d.src]) + span(tg, d) +
                      transfer(link, d, s.processor[d.src], s.processor[d.dst]) - d.offset * period;
    if (static_cast<i64>(s.start[d.dst]) < ready) {
      return tg.tasks[d.dst].name + " starts at " + std::to_string(s.start[d.dst]) + " before " +
             tg.tasks[d.src].name + " (offset " + std::to_string(d.offset) + ") allows " +
             std::to_string(ready);
    }
  }
  for (int p = 0; p < s.processors; ++p) {
    std::vector<std::pair<i64, i64>> iv;  // unwrapped intervals modulo T
    for (std::size_t v = 0; v < tg.tasks.size(); ++v) {
      if (s.processor[v] != p || tg.tasks[v].cycles == 0) continue;
      const i64 b = static_cast<i64>(s.start[v]) % period;
      iv.emplace_back(b, b + static_cast<i64>(tg.tasks[v].cycles));
    }
    for (std::size_t a = 0; a < iv.size(); ++a) {
      for (std::size_t b = a + 1; b < iv.size(); ++b) {
        for (i64 shift : {-period, i64{0}, period}) {
          if (iv[a].first < iv[b].second + shift && iv[b].first + shift < iv[a].second) {
            return "two tasks overlap on processor " + std::to_string(p);
          }
        }
      }
    }
  }
  return std::nullopt;
}

namespace {

// Tasks of each processor in program order: by start modulo T, then by start.
std::vector<std::vector<int>> processor_order(const TaskGraph& tg, const Schedule& s) {
  const std::uint64_t period = s.modulo_period;
  std::vector<std::vector<int>> order(s.processors);
  for (std::size_t v = 0; v < tg.tasks.size(); ++v)
    order[s.processor[v]].push_back(static_cast<int>(v));
  for (auto& o : order) {
    std::stable_sort(o.begin(), o.end(), [&](int a, int b) {
      const std::uint64_t ma = s.start[a] % period, mb = s.start[b] % period;
      return ma != mb ? ma < mb : s.start[a] < s.start[b];
    });
  }
  return order;
}

}  // namespace

Program program_of(const TrainingGraph& graph, const TaskGraph& tg, const Schedule& s) {
  Program prog;
  prog.num_processors = s.processors;
  prog.entries.assign(s.processors, {});
  prog.processor_of_node.assign(graph.nodes.size(), -1);
  prog.processor_of_first_part.assign(graph.nodes.size(), -1);
  const auto order = processor_order(tg, s);
  for (int p = 0; p < s.processors; ++p) {
    for (int v : order[p]) {
      const std::int64_t lag = static_cast<std::int64_t>(s.start[v] / s.modulo_period);
      for (ProgramEntry e : tg.tasks[v].entries) {
        e.lag = lag;
        prog.entries[p].push_back(e);
        prog.max_lag = std::max(prog.max_lag, lag);
        if (e.part != NodePart::kTail && prog.processor_of_first_part[e.node] < 0) {
          prog.processor_of_first_part[e.node] = p;
        }
        if (e.part != NodePart::kProduct) prog.processor_of_node[e.node] = p;
      }
    }
  }
  return prog;
}

double self_timed_period(const TaskGraph& tg, const Schedule& s, const LinkCost& link,
                         bool links_queue) {
  std::vector<RatioArc> arcs;
  for (const auto& d : tg.deps) {
    arcs.push_back({d.src, d.dst,
                    static_cast<double>(span(tg, d) +
                                        transfer(link, d, s.processor[d.src], s.processor[d.dst])),
                    d.offset});
  }
  const auto order = processor_order(tg, s);
  const std::uint64_t period = s.modulo_period;
  for (const auto& o : order) {
    for (std::size_t i = 0; i < o.size(); ++i) {
      const int a = o[i];
      const int b = o[(i + 1) % o.size()];
      const std::int64_t la = static_cast<std::int64_t>(s.start[a] / period);
      const std::int64_t lb = static_cast<std::int64_t>(s.start[b] / period);
      const std::int64_t wrap = i + 1 == o.size() ? 1 : 0;
      arcs.push_back({a, b, static_cast<double>(tg.tasks[a].cycles), la - lb + wrap});
    }
  }
  // Each link (hw_models/link) serialises the transfers queued on it in send order. A data
  // transfer between processors is a node of its own, X: it starts when its source sends (the
  // source node's end) and the transfer before it on the link has left, occupies the link
  // ceil(bytes / bandwidth) cycles, and arrives the latency after. A link's sends come from one
  // processor, so their order is that processor's task order, and within a task the send
  // times; sends at the same time leave in the order their tokens are due (token_due), as the
  // hardware orders a node's out-edges. Without queueing the X path costs no more than the
  // direct arc above.
  struct Send {
    std::size_t position;  // of the source task in its processor's order
    std::uint64_t at;      // cycles after the source task's start
    std::int64_t due;      // token_due: when the consumer wants the token
    std::size_t dep;
  };
  std::vector<std::size_t> position(tg.tasks.size(), 0);
  for (const auto& o : order) {
    for (std::size_t i = 0; i < o.size(); ++i) position[static_cast<std::size_t>(o[i])] = i;
  }
  std::map<std::pair<int, int>, std::vector<Send>> links;
  for (std::size_t i = 0; i < tg.deps.size(); ++i) {
    const TaskDep& d = tg.deps[i];
    const int ps = s.processor[d.src], pd = s.processor[d.dst];
    if (!links_queue || d.bytes == 0 || ps == pd) continue;
    links[{ps, pd}].push_back({position[static_cast<std::size_t>(d.src)],
                               tg.tasks[d.src].cycles - d.src_after,
                               token_due(d.offset, period, s.start[d.dst]), i});
  }
  int next = static_cast<int>(tg.tasks.size());
  for (auto& [pair, sends] : links) {
    std::stable_sort(sends.begin(), sends.end(), [](const Send& x, const Send& y) {
      if (x.position != y.position) return x.position < y.position;
      return x.at != y.at ? x.at < y.at : x.due < y.due;
    });
    const int first = next;
    for (std::size_t i = 0; i < sends.size(); ++i) {
      const TaskDep& d = tg.deps[sends[i].dep];
      const int x = next++;
      const std::uint64_t wire = link.cycles(d.bytes) - link.latency_cycles;
      arcs.push_back({d.src, x, static_cast<double>(sends[i].at), 0});
      arcs.push_back(
          {x, d.dst,
           static_cast<double>(wire + link.latency_cycles) - static_cast<double>(d.dst_before),
           d.offset});
      // The link's order: x before the next send (the last before the first, a round later).
      const TaskDep& e = tg.deps[sends[(i + 1) % sends.size()].dep];
      const std::int64_t la = static_cast<std::int64_t>(s.start[d.src] / period);
      const std::int64_t lb = static_cast<std::int64_t>(s.start[e.src] / period);
      const std::int64_t wrap = i + 1 == sends.size() ? 1 : 0;
      const int y = i + 1 == sends.size() ? first : x + 1;
      arcs.push_back({x, y, static_cast<double>(wire), la - lb + wrap});
    }
  }
  return max_cycle_ratio(next, arcs).ratio;
}

}  // namespace lpsim::dataflow
