// The retiming solver and the iteration bound on small hand-made graphs.

#include "dataflow/retiming.h"

#include <gtest/gtest.h>

#include "core/errors.h"

namespace lpsim::dataflow {
namespace {

RetimingArc arc(int s, int d, std::int64_t w, std::optional<std::int64_t> target = std::nullopt,
                std::int64_t min_delay = 0) {
  RetimingArc a;
  a.src = s;
  a.dst = d;
  a.weight = w;
  a.target = target;
  a.min_delay = min_delay;
  return a;
}

TEST(SolveRetiming, MovesLoopDelaysOntoACutset) {
  // A three-node loop 0 -> 1 -> 2 -> 0 holding 2 delays on 2 -> 0; ask for one on 0 -> 1
  // and one on 1 -> 2.
  const std::vector<RetimingArc> arcs = {arc(0, 1, 0, 1), arc(1, 2, 0, 1), arc(2, 0, 2)};
  const auto r = solve_retiming(3, arcs, 0);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ((*r)[0], 0);
  EXPECT_EQ((*r)[1], 1);
  EXPECT_EQ((*r)[2], 2);
  EXPECT_EQ(arcs[2].weight + (*r)[0] - (*r)[2], 0);  // the loop's two delays moved
}

TEST(SolveRetiming, RefusesWhenTheLoopHoldsTooFewDelays) {
  const std::vector<RetimingArc> arcs = {arc(0, 1, 0, 1), arc(1, 2, 0, 1), arc(2, 0, 1)};
  EXPECT_FALSE(solve_retiming(3, arcs, 0).has_value());
}

TEST(SolveRetiming, RespectsMinimumDelays) {
  // Loop of 2 delays; the cutset wants 1 on 0 -> 1 and the back edge must keep 1.
  const std::vector<RetimingArc> ok = {arc(0, 1, 0, 1), arc(1, 0, 2, std::nullopt, 1)};
  EXPECT_TRUE(solve_retiming(2, ok, 0).has_value());
  const std::vector<RetimingArc> bad = {arc(0, 1, 0, 2), arc(1, 0, 2, std::nullopt, 1)};
  EXPECT_FALSE(solve_retiming(2, bad, 0).has_value());
}

TEST(IterationBound, IsTheMaximumCycleRatio) {
  // Two loops: {0,1} with time 3+5 and 2 delays (ratio 4), {1,2} with 5+1 and 1 delay (6).
  const std::vector<RetimingArc> arcs = {arc(0, 1, 1), arc(1, 0, 1), arc(1, 2, 0), arc(2, 1, 1)};
  const std::vector<std::int64_t> d = {1, 1, 0, 1};
  const CycleRatio b = iteration_bound({3, 5, 1}, arcs, d);
  EXPECT_DOUBLE_EQ(b.ratio, 6.0);
  EXPECT_EQ(b.delays, 1);
  EXPECT_EQ(b.cycle.size(), 2u);
}

TEST(IterationBound, AcyclicGraphHasNoBound) {
  const std::vector<RetimingArc> arcs = {arc(0, 1, 0), arc(1, 2, 1)};
  EXPECT_DOUBLE_EQ(iteration_bound({1, 2, 3}, arcs, {0, 1}).ratio, 0.0);
}

TEST(IterationBound, RejectsADelayFreeCycle) {
  const std::vector<RetimingArc> arcs = {arc(0, 1, 0), arc(1, 0, 0)};
  EXPECT_THROW(iteration_bound({1, 1}, arcs, {0, 0}), core::InternalError);
}

}  // namespace
}  // namespace lpsim::dataflow
