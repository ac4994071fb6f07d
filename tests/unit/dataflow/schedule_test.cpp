// The LayerPipe scheduler: validity (re-checked independently here), bounds, P = 1,
// monotonicity in P and across splits, on the built-in models and random costs.

#include "dataflow/schedule.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "tests/sanitizer.h"
#include "workloads/models/builtin.h"

namespace lpsim::dataflow {
namespace {

struct Costed {
  models::Network net;
  UnitGraph units;
  TrainingGraph graph;
  std::vector<std::uint64_t> node_cycles, tail_cycles;
};

Costed setup(const std::string& model, ops::Shape shape, std::uint64_t seed) {
  Costed s{models::builtin_model(model, shape, 10), {}, {}, {}, {}};
  s.units = group_units(s.net);
  const Partition p = make_partition(s.units, StageSpec{}, "test", "");
  s.graph = build_training_graph(s.net, s.units, p, policies::get("stash"), 8);
  std::mt19937_64 rng(seed);
  for (const auto& n : s.graph.nodes) {
    const std::uint64_t c = n.kind == NodeKind::kInput ? 0 : 1 + rng() % 1000;
    const std::uint64_t tail = n.tail_work.vector_ops > 0 ? rng() % (c + 1) : 0;
    s.node_cycles.push_back(c);
    s.tail_cycles.push_back(tail);
  }
  return s;
}

// An independent check of a schedule: every dependency instance for minibatches 0..19
// holds in absolute time, and no processor runs two instances at once.
void expect_valid(const TaskGraph& tg, const Schedule& s, const LinkCost& link) {
  const std::int64_t t = static_cast<std::int64_t>(s.modulo_period);
  for (const auto& d : tg.deps) {
    for (std::int64_t m = 0; m < 20; ++m) {
      const std::int64_t k = m - d.offset;
      if (k < 0) continue;
      // The source node ends src_after before its task; the destination node begins
      // dst_before after its task starts. Between processors the data (or, for an ordering
      // constraint, a signal of the link's latency) travels while the unit works after src.
      const std::int64_t after_src =
          s.processor[d.src] == s.processor[d.dst]
              ? static_cast<std::int64_t>(d.latency)
              : std::max(static_cast<std::int64_t>(d.latency),
                         static_cast<std::int64_t>(link.cycles(d.bytes)));
      const std::int64_t ready =
          k * t + static_cast<std::int64_t>(s.start[d.src] + tg.tasks[d.src].cycles) -
          static_cast<std::int64_t>(d.src_after + d.dst_before) + after_src;
      ASSERT_GE(m * t + static_cast<std::int64_t>(s.start[d.dst]), ready)
          << tg.tasks[d.src].name << " -> " << tg.tasks[d.dst].name << " m=" << m;
    }
  }
  for (int p = 0; p < s.processors; ++p) {
    std::vector<std::pair<std::int64_t, std::int64_t>> runs;
    for (std::size_t v = 0; v < tg.tasks.size(); ++v) {
      if (s.processor[v] != p || tg.tasks[v].cycles == 0) continue;
      for (std::int64_t m = 0; m < 20; ++m) {
        const std::int64_t b = m * t + static_cast<std::int64_t>(s.start[v]);
        runs.emplace_back(b, b + static_cast<std::int64_t>(tg.tasks[v].cycles));
      }
    }
    std::sort(runs.begin(), runs.end());
    for (std::size_t i = 1; i < runs.size(); ++i) ASSERT_LE(runs[i - 1].second, runs[i].first);
  }
}

TEST(Scheduler, OneProcessorRunsEverythingBackToBack) {
  const Costed s = setup("mlp6", {1, 28, 28}, 1);
  const LinkCost link{20, 32};
  for (BackwardSplit split :
       {BackwardSplit::kFused, BackwardSplit::kIntra, BackwardSplit::kIntraInter}) {
    const TaskGraph tg = build_task_graph(s.graph, s.node_cycles, s.tail_cycles, split);
    const Schedule one = modulo_schedule(tg, 1, link);
    EXPECT_DOUBLE_EQ(one.period, static_cast<double>(tg.total_cycles()));
    EXPECT_EQ(one.bytes_per_minibatch, 0u);
  }
}

TEST(Scheduler, FusedTasksSendBaBeforeTheirBwAndU) {
  // A fused B task runs Ba, Bw, U back to back; the hardware sends Ba's gradient when Ba
  // ends and waits for Bw's inputs when Bw begins, so the dependencies say so.
  const Costed s = setup("mlp6", {1, 28, 28}, 3);
  const TrainingGraph& g = s.graph;
  const TaskGraph tg = build_task_graph(g, s.node_cycles, s.tail_cycles, BackwardSplit::kFused);
  int from_ba = 0, into_bw = 0;
  for (const auto& d : tg.deps) {
    const Task& src = tg.tasks[d.src];
    const Task& dst = tg.tasks[d.dst];
    // The source node is the task's last entry unless Ba leads a fused B task.
    std::uint64_t after = 0;
    if (src.entries.size() == 3) {
      for (const auto& e : src.entries) {
        if (g.nodes[e.node].kind != NodeKind::kBackwardActivation) after += s.node_cycles[e.node];
      }
      const bool is_ba_edge =
          d.bytes > 0 && g.nodes[src.entries[0].node].kind == NodeKind::kBackwardActivation;
      if (is_ba_edge && dst.entries.size() == 3 && d.dst_before == 0) {
        EXPECT_EQ(d.src_after, after) << src.name << " -> " << dst.name;
        ++from_ba;
      }
    }
    if (dst.entries.size() == 3 && d.dst_before > 0) {
      // Into Bw (after Ba) or U (after Ba and Bw).
      EXPECT_TRUE(d.dst_before == s.node_cycles[dst.entries[0].node] ||
                  d.dst_before ==
                      s.node_cycles[dst.entries[0].node] + s.node_cycles[dst.entries[1].node])
          << src.name << " -> " << dst.name;
      ++into_bw;
    }
    EXPECT_LE(d.src_after, src.cycles);
    EXPECT_LE(d.dst_before, dst.cycles);
  }
  EXPECT_GE(from_ba, 3);  // fc5's Ba feeds fc4's B, and so on down to fc2
  EXPECT_GE(into_bw, 3);
  // Unfused, every task is one node: nothing before or after.
  for (const auto& d :
       build_task_graph(g, s.node_cycles, s.tail_cycles, BackwardSplit::kIntra).deps) {
    EXPECT_EQ(d.src_after, 0u);
    EXPECT_EQ(d.dst_before, 0u);
  }
}

TEST(Scheduler, SchedulesAreValidAboveTheBoundAndMonotone) {
  // Six random cost sets (three per network); under ASan two (one per network): 69 s there.
  const std::uint64_t seeds = LPSIM_TEST_ASAN ? 2 : 6;
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const bool resnet = seed % 2 == 0;
    const Costed s = resnet ? setup("resnet18", {3, 8, 8}, seed) : setup("cnn3", {1, 28, 28}, seed);
    const LinkCost link{5 + seed, 64};
    const ScheduleSweep sweep = sweep_schedules(s.graph, s.node_cycles, s.tail_cycles, 9, link);
    for (std::size_t mi = 0; mi < 3; ++mi) {
      const TaskGraph& tg = sweep.graphs[mi];
      for (int p = 1; p <= 9; ++p) {
        const Schedule& sch = sweep.schedules[mi][p - 1];
        EXPECT_FALSE(check_schedule(tg, sch, link).has_value());
        expect_valid(tg, sch, link);
        EXPECT_GE(sch.period + 1e-9, static_cast<double>(sch.lower_bound));
        // The placement's guarantee holds for transfers costed alone; a link's queue can
        // only lengthen the period (the hardware's links serialise their transfers).
        const double alone = self_timed_period(tg, sch, link, false);
        EXPECT_LE(alone, static_cast<double>(sch.modulo_period) + 1e-9);
        EXPECT_GE(sch.period + 1e-9, alone);
        if (p > 1) {
          EXPECT_LE(sch.period, sweep.schedules[mi][p - 2].period + 1e-9);
        }
        if (mi > 0) {
          EXPECT_LE(sch.period, sweep.schedules[mi - 1][p - 1].period + 1e-9);
        }
      }
    }
  }
}

// A link serialises its transfers (hw_models/link): A on processor 0 sends B and C on
// processor 1 each 960 bytes, 15 cycles at 64 B/cycle. Costed alone the transfers overlap and
// processor 1's 20 cycles set the period; queued on the one link they take 30 per round.
// (Before the links were modelled, the scheduler reported 20 where the hardware runs 30.)
TEST(Scheduler, ALinksQueueSetsThePeriodWhenItIsTheBottleneck) {
  TaskGraph tg;
  for (const char* name : {"A", "B", "C"}) tg.tasks.push_back({name, 0, {}, 10});
  tg.deps.push_back({0, 1, 0, 960, 0, 0, 0});
  tg.deps.push_back({0, 2, 0, 960, 0, 0, 0});
  Schedule s;
  s.processors = 2;
  s.modulo_period = 20;
  s.processor = {0, 1, 1};
  s.start = {0, 30, 40};
  const LinkCost link{5, 64};
  EXPECT_DOUBLE_EQ(self_timed_period(tg, s, link, false), 20.0);
  EXPECT_DOUBLE_EQ(self_timed_period(tg, s, link), 30.0);
  // Transfers to two processors go on two links: they do not queue behind each other, but
  // each link is busy 15 cycles a round, more than any processor (costed alone: 10).
  s.processors = 3;
  s.processor = {0, 1, 2};
  EXPECT_DOUBLE_EQ(self_timed_period(tg, s, link), 15.0);
  EXPECT_DOUBLE_EQ(self_timed_period(tg, s, link, false), 10.0);
}

// Two transfers a task sends on one link at the same time leave in the order their tokens
// are due at the consumers, as the hardware orders a node's out-edges
// (dataflow/elaboration_plan.cpp), not in the order the dependencies were listed. A on
// processor 0 sends C (listed first, due at 40) and B (due at 30) 960 bytes each: 15 cycles
// on the wire at 64 B/cycle, then 5 of latency. B(m) ends the recurrence A(m+1) waits on (a
// signal, 5 cycles of latency): B's token first, the cycle is A 10 + 20 + B 10 + 5 = 45 per
// minibatch; C's first, it would be 60.
TEST(Scheduler, SendsAtTheSameTimeLeaveInTheOrderTheyAreDue) {
  TaskGraph tg;
  for (const char* name : {"A", "B", "C"}) tg.tasks.push_back({name, 0, {}, 10});
  tg.deps.push_back({0, 2, 0, 960, 0, 0, 0});  // A -> C
  tg.deps.push_back({0, 1, 0, 960, 0, 0, 0});  // A -> B
  tg.deps.push_back({1, 0, 1, 0, 0, 0, 0});    // B(m - 1) -> A(m)
  Schedule s;
  s.processors = 2;
  s.modulo_period = 45;
  s.processor = {0, 1, 1};
  s.start = {0, 30, 40};
  const LinkCost link{5, 64};
  EXPECT_DOUBLE_EQ(self_timed_period(tg, s, link), 45.0);
  // Due the other way round (C before B), C's token goes first and B's waits behind it.
  s.modulo_period = 60;
  s.start = {0, 45, 35};
  EXPECT_DOUBLE_EQ(self_timed_period(tg, s, link), 60.0);
}

TEST(Scheduler, CheckerCatchesABrokenSchedule) {
  const Costed s = setup("mlp3", {1, 28, 28}, 3);
  const LinkCost link{20, 32};
  const TaskGraph tg =
      build_task_graph(s.graph, s.node_cycles, s.tail_cycles, BackwardSplit::kIntra);
  Schedule sch = modulo_schedule(tg, 2, link);
  ASSERT_FALSE(check_schedule(tg, sch, link).has_value());
  Schedule moved = sch;
  moved.start[1] = 0;  // F:fc2 at time 0, before F:fc1 has produced anything
  EXPECT_TRUE(check_schedule(tg, moved, link).has_value());
  Schedule crowded = sch;
  for (auto& p : crowded.processor) p = 0;
  for (auto& t : crowded.start) t = 0;
  EXPECT_TRUE(check_schedule(tg, crowded, link).has_value());
}

// A chain F -> G -> H (60, 40, 60 cycles) longer than the period on three processors: the
// bound is 60 (the largest task); it is reached only if H runs one window later than its
// earliest start puts it (a larger lag), which the scheduler finds.
TEST(Scheduler, MovesATaskToALaterWindowWhenItsChainDoesNotFit) {
  TaskGraph tg;
  tg.split = BackwardSplit::kIntra;
  for (const auto& [name, cycles] :
       std::vector<std::pair<std::string, std::uint64_t>>{{"F", 60}, {"G", 40}, {"H", 60}}) {
    Task t;
    t.name = name;
    t.cycles = cycles;
    tg.tasks.push_back(t);
  }
  tg.deps.push_back({0, 1, 0, 0, 0});
  tg.deps.push_back({1, 2, 0, 0, 0});
  const LinkCost link{0, 1};
  const Schedule s = modulo_schedule(tg, 3, link);
  EXPECT_FALSE(check_schedule(tg, s, link).has_value());
  EXPECT_EQ(s.lower_bound, 60u);
  EXPECT_EQ(s.modulo_period, 60u);
  EXPECT_EQ(s.period, 60.0);
  // H starts in a later window than the earliest-start lags (0, 1, 1 at T = 60) give it.
  EXPECT_GE(s.start[2] / s.modulo_period, 2u);
}

TEST(Scheduler, SplittingHelpsOnVgg16) {
  // Costs proportional to the work: MACs on a 1024-MAC array, element-wise work on 32 lanes.
  Costed s = setup("vgg16", {3, 32, 32}, 1);
  for (std::size_t v = 0; v < s.graph.nodes.size(); ++v) {
    const auto& n = s.graph.nodes[v];
    const std::uint64_t tail = static_cast<std::uint64_t>(n.tail_work.vector_ops) / 32;
    s.node_cycles[v] = static_cast<std::uint64_t>(n.work.macs()) / 1024 +
                       static_cast<std::uint64_t>(n.work.vector_ops) / 32;
    s.tail_cycles[v] = tail;
  }
  const LinkCost link{20, 1024};
  const ScheduleSweep sweep = sweep_schedules(s.graph, s.node_cycles, s.tail_cycles, 16, link);
  // With 16 processors every fused schedule is bound by its largest task (a wide layer's
  // Ba; Bw; U); split, that task's parts run on different processors, so the split
  // schedule beats every possible fused one, not just the one the heuristic found.
  std::uint64_t largest_fused = 0;
  for (const auto& t : sweep.graphs[0].tasks) largest_fused = std::max(largest_fused, t.cycles);
  EXPECT_GE(sweep.schedules[0][15].period, static_cast<double>(largest_fused));
  EXPECT_LT(sweep.schedules[1][15].period, static_cast<double>(largest_fused));
  EXPECT_LE(sweep.schedules[2][15].period, sweep.schedules[1][15].period);
}

}  // namespace
}  // namespace lpsim::dataflow
