#include "dataflow/pipedream.h"

#include <algorithm>
#include <limits>

#include "core/errors.h"

namespace lpsim::dataflow {

const char* scheduler_name(Scheduler scheduler) {
  switch (scheduler) {
    case Scheduler::kLayerPipe:
      return "layerpipe";
    case Scheduler::kPipeDream:
      return "pipedream";
  }
  return "?";
}

std::vector<std::string> scheduler_names() {
  return {scheduler_name(Scheduler::kLayerPipe), scheduler_name(Scheduler::kPipeDream)};
}

PipeDreamProfile pipedream_profile(const TrainingGraph& graph, const TaskGraph& fused,
                                   const LinkCost& link) {
  LPSIM_ASSERT(fused.split == BackwardSplit::kFused, "PipeDream profiles fused tasks");
  const int nu = static_cast<int>(graph.layers.size());
  LPSIM_ASSERT(nu >= 1, "a network has at least one unit");
  // The loss runs on the last unit's stage.
  const auto unit_of = [&](const Task& t) { return t.unit >= 0 ? t.unit : nu - 1; };
  PipeDreamProfile p;
  p.unit_cycles.assign(nu, 0);
  for (const Task& t : fused.tasks) p.unit_cycles[unit_of(t)] += t.cycles;
  std::vector<std::uint64_t> forward(nu > 1 ? nu - 1 : 0, 0), backward(forward);
  const std::uint64_t per_cycle = std::max<std::uint64_t>(1, link.bytes_per_cycle);
  for (const TaskDep& d : fused.deps) {
    if (d.bytes == 0) continue;
    const int a = unit_of(fused.tasks[d.src]), b = unit_of(fused.tasks[d.dst]);
    if (a == b) continue;
    const std::uint64_t occupancy = (d.bytes + per_cycle - 1) / per_cycle;
    std::vector<std::uint64_t>& side = a < b ? forward : backward;
    for (int i = std::min(a, b); i < std::max(a, b); ++i) side[i] += occupancy;
  }
  for (std::size_t i = 0; i < forward.size(); ++i) {
    p.cut_cycles.push_back(std::max(forward[i], backward[i]));
  }
  return p;
}

std::uint64_t pipedream_bottleneck(const PipeDreamProfile& profile,
                                   const std::vector<int>& stage_of_unit) {
  const std::size_t nu = profile.unit_cycles.size();
  LPSIM_ASSERT(stage_of_unit.size() == nu && nu >= 1 && stage_of_unit[0] == 0,
               "a partition gives every unit a stage, from 0");
  std::uint64_t worst = 0, stage = 0;
  for (std::size_t u = 0; u < nu; ++u) {
    if (u > 0 && stage_of_unit[u] != stage_of_unit[u - 1]) {
      LPSIM_ASSERT(stage_of_unit[u] == stage_of_unit[u - 1] + 1, "stages are contiguous");
      worst = std::max({worst, stage, profile.cut_cycles[u - 1]});
      stage = 0;
    }
    stage += profile.unit_cycles[u];
  }
  return std::max(worst, stage);
}

PipeDreamPartition pipedream_partition(const PipeDreamProfile& profile, int max_stages) {
  const int n = static_cast<int>(profile.unit_cycles.size());
  LPSIM_ASSERT(n >= 1 && max_stages >= 1, "a partition of at least one unit into one stage");
  LPSIM_ASSERT(static_cast<int>(profile.cut_cycles.size()) == n - 1, "one cut between two units");
  const int stages = std::min(n, max_stages);
  std::vector<std::uint64_t> prefix(n + 1, 0);
  for (int u = 0; u < n; ++u) prefix[u + 1] = prefix[u] + profile.unit_cycles[u];
  constexpr std::uint64_t kNone = std::numeric_limits<std::uint64_t>::max();
  // best[s][j]: the least bottleneck of units 0 .. j - 1 in exactly s stages; cut[s][j]: where
  // that partition's last stage begins.
  std::vector<std::vector<std::uint64_t>> best(stages + 1,
                                               std::vector<std::uint64_t>(n + 1, kNone));
  std::vector<std::vector<int>> cut(stages + 1, std::vector<int>(n + 1, 0));
  for (int j = 1; j <= n; ++j) best[1][j] = prefix[j];
  for (int s = 2; s <= stages; ++s) {
    for (int j = s; j <= n; ++j) {
      for (int i = s - 1; i < j; ++i) {
        if (best[s - 1][i] == kNone) continue;
        const std::uint64_t value =
            std::max({best[s - 1][i], profile.cut_cycles[i - 1], prefix[j] - prefix[i]});
        if (value < best[s][j]) {
          best[s][j] = value;
          cut[s][j] = i;
        }
      }
    }
  }
  int used = 1;
  for (int s = 2; s <= stages; ++s) {
    if (best[s][n] < best[used][n]) used = s;
  }
  PipeDreamPartition out;
  out.num_stages = used;
  out.bottleneck = best[used][n];
  out.stage_of_unit.assign(n, 0);
  for (int s = used, j = n; s >= 1; --s) {
    const int i = s > 1 ? cut[s][j] : 0;
    for (int u = i; u < j; ++u) out.stage_of_unit[u] = s - 1;
    j = i;
  }
  return out;
}

Schedule stage_schedule(const TrainingGraph& graph, const TaskGraph& fused, const LinkCost& link) {
  LPSIM_ASSERT(fused.split == BackwardSplit::kFused, "the stage program runs fused tasks");
  const std::size_t n = fused.tasks.size();
  Schedule s;
  s.processors = graph.num_stages;
  s.processor.assign(n, 0);
  std::vector<std::uint64_t> offset(n, 0), busy(graph.num_stages, 0);
  std::vector<std::int64_t> lag(n, 0);
  // build_task_graph adds F of every unit in order, the loss, then B from the last unit back:
  // in index order, the tasks of one stage are in the stage program's order.
  for (std::size_t v = 0; v < n; ++v) {
    const Task& t = fused.tasks[v];
    const int node = t.unit >= 0 ? graph.forward_node[t.unit] : graph.loss_node;
    const int p = graph.nodes[node].stage;
    const bool backward =
        t.unit >= 0 && graph.nodes[t.entries.front().node].kind != NodeKind::kForward;
    s.processor[v] = p;
    lag[v] = backward ? graph.layers[t.unit].delay : 0;
    offset[v] = busy[p];
    busy[p] += t.cycles;
  }
  // One more than the busiest stage, so that every task's offset lies inside the beat.
  s.modulo_period = *std::max_element(busy.begin(), busy.end()) + 1;
  for (std::size_t v = 0; v < n; ++v) {
    s.start.push_back(static_cast<std::uint64_t>(lag[v]) * s.modulo_period + offset[v]);
  }
  s.lower_bound = s.modulo_period - 1;
  finish_schedule(fused, link, s);
  return s;
}

}  // namespace lpsim::dataflow
