// ProcessingElement: its cost model from its Params (task_cost, by hand: compute-bound,
// memory-bound, spike operands, tails costed apart), and the module itself (lazy time: a
// task's cycles reach simulated time at sync(); work counted by memory kind).
#include "hw_models/pe/processing_element.h"

#include <gtest/gtest.h>

#include <cstdint>

#include "hw_models/pe/pe_timing.h"
#include "tests/unit/hw_models/hw_units_test_support.h"

namespace lpsim::hw {
namespace {

using test::now_cycles;
using test::simulate;
using test::test_period;

ProcessingElementParams params(std::uint64_t sram_bytes_per_cycle) {
  ProcessingElementParams p;
  p.array = {4, 4};
  p.dataflow = Dataflow::kOutputStationary;
  p.vector_lanes = 8;
  p.sram_bytes_per_cycle = sram_bytes_per_cycle;
  p.period = test_period();
  return p;
}

TEST(PeTaskCost, ComputeBoundTaskIsGemmPlusVectorCycles) {
  // [8 x 16]·[16 x 8] on 4 x 4 OS: 2·2 folds of 4 + 4 + 16 − 2 = 22 cycles: 88.
  PeTask task;
  task.gemms.push_back({{8, 8, 16}, 4 * (8 * 16 + 16 * 8), 4 * 8 * 8, false});
  task.vector_ops = 20;  // ceil(20 / 8) = 3 cycles
  const PeTaskCost c = task_cost(params(1 << 20), task);
  EXPECT_EQ(c.gemm_cycles, 88u);
  EXPECT_EQ(c.vector_cycles, 3u);
  EXPECT_EQ(c.cycles, 91u);
  EXPECT_EQ(c.tail_cycles, 0u);
  EXPECT_EQ(c.macs, 8u * 8 * 16);
  EXPECT_EQ(c.accumulates, 0u);
  EXPECT_EQ(c.sram_read_bytes, 4u * (8 * 16 + 16 * 8) + 4 * 20);
  EXPECT_EQ(c.sram_write_bytes, 4u * 8 * 8 + 4 * 20);
}

TEST(PeTaskCost, MemoryBoundTaskIsStretchedToItsSramBytes) {
  PeTask task;
  task.gemms.push_back({{8, 8, 16}, 4 * (8 * 16 + 16 * 8), 4 * 8 * 8, true});
  task.vector_ops = 20;
  // 1024 + 256 + 160 = 1440 bytes at 4 B/cycle: 360 cycles > 91 of compute.
  const PeTaskCost c = task_cost(params(4), task);
  EXPECT_EQ(c.cycles, 360u);
  EXPECT_EQ(c.accumulates, c.macs);  // a spike operand
}

TEST(PeTaskCost, TailsAreCostedApartAndAddUp) {
  PeTask task;
  task.gemms.push_back({{8, 8, 16}, 1024, 256, false});
  task.tail_vector_ops = 100;  // ceil(100 / 8) = 13 cycles; 800 bytes at 16 B/cycle = 50
  const PeTaskCost c = task_cost(params(16), task);
  EXPECT_EQ(c.tail_cycles, 50u);
  EXPECT_EQ(c.cycles, std::max<std::uint64_t>(88, (1024 + 256) / 16) + 50);
  EXPECT_EQ(c.vector_ops, 100u);
  EXPECT_EQ(c.tail_vector_ops, 100u);
  // An empty GEMM costs nothing.
  PeTask empty;
  empty.gemms.push_back({{0, 8, 16}, 0, 0, false});
  EXPECT_EQ(task_cost(params(16), empty).cycles, 0u);
}

TEST(ProcessingElement, ComputeIsLazyAndCountsWorkByKind) {
  ProcessingElement pe("pe", params(64));
  std::uint64_t before_sync = 0, after_sync = 0, local = 0;
  pe.set_program([&](ProcessingElement& self) {
    ProcessingElementWork w;
    w.macs = 10;
    w.vector_ops = 3;
    w.sram_read[static_cast<std::size_t>(MemoryKind::kWeights)] = 100;
    w.sram_read[static_cast<std::size_t>(MemoryKind::kInFlight)] = 20;
    w.sram_write[static_cast<std::size_t>(MemoryKind::kInFlight)] = 40;
    self.compute(25, w);
    self.compute(5, w);
    before_sync = now_cycles();
    local = self.now_cycles();
    self.sync();
    after_sync = now_cycles();
  });
  simulate();
  EXPECT_EQ(before_sync, 0u);
  EXPECT_EQ(local, 30u);
  EXPECT_EQ(after_sync, 30u);
  const ProcessingElementStats& s = pe.stats();
  EXPECT_EQ(s.tasks, 2u);
  EXPECT_EQ(s.busy_cycles, 30u);
  EXPECT_EQ(s.work.macs, 20u);
  EXPECT_EQ(s.work.vector_ops, 6u);
  EXPECT_EQ(s.work.sram_read[static_cast<std::size_t>(MemoryKind::kWeights)], 200u);
  EXPECT_EQ(s.work.sram_read_bytes(), 240u);
  EXPECT_EQ(s.work.sram_write_bytes(), 80u);
  EXPECT_EQ(s.last_busy_cycle, 30u);
}

}  // namespace
}  // namespace lpsim::hw
