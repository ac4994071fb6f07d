// Placement of residents in SRAM or DRAM: staging first, then the configured order, each
// kind whole or the part that fits; accesses split in proportion; staging tiles.
#include "hw_models/memory/placement.h"

#include <gtest/gtest.h>

#include <numeric>
#include <random>

namespace lpsim::hw {
namespace {

std::size_t at(MemoryKind k) { return static_cast<std::size_t>(k); }

TEST(Placement, FillsInOrderAndSplitsTheKindThatDoesNotFit) {
  ResidentBytes r{};
  r[at(MemoryKind::kWeights)] = 400;
  r[at(MemoryKind::kOptimizer)] = 400;
  r[at(MemoryKind::kStash)] = 1000;
  r[at(MemoryKind::kActivations)] = 5000;
  const Placement p = place(1500, 100, r, default_placement_order());
  EXPECT_EQ(p.sram_bytes[at(MemoryKind::kWeights)], 400u);
  EXPECT_EQ(p.sram_bytes[at(MemoryKind::kOptimizer)], 400u);
  // 1500 - 100 staging - 800: 600 of the stash fit, 400 go to DRAM, activations all DRAM.
  EXPECT_EQ(p.sram_bytes[at(MemoryKind::kStash)], 600u);
  EXPECT_EQ(p.dram_bytes[at(MemoryKind::kStash)], 400u);
  EXPECT_EQ(p.dram_bytes[at(MemoryKind::kActivations)], 5000u);
  EXPECT_EQ(p.sram_total(), 1500u);
  // An access to the stash goes 40% to DRAM; weights never.
  EXPECT_EQ(p.dram_part(MemoryKind::kStash, 1000), 400u);
  EXPECT_EQ(p.dram_part(MemoryKind::kStash, 7), 2u);  // rounded down
  EXPECT_EQ(p.dram_part(MemoryKind::kWeights, 1000), 0u);
  EXPECT_EQ(p.dram_part(MemoryKind::kActivations, 64), 64u);
}

TEST(Placement, TheOrderIsTheConfiguredOne) {
  ResidentBytes r{};
  r[at(MemoryKind::kWeights)] = 1000;
  r[at(MemoryKind::kActivations)] = 1000;
  std::vector<MemoryKind> order = default_placement_order();
  std::swap(order.front(), order.back());  // activations first
  const Placement p = place(1000, 0, r, order);
  EXPECT_EQ(p.sram_bytes[at(MemoryKind::kActivations)], 1000u);
  EXPECT_EQ(p.dram_bytes[at(MemoryKind::kWeights)], 1000u);
}

TEST(Placement, SramNeverOverflowsAndNothingIsLost) {
  std::mt19937_64 rng(12);
  for (int trial = 0; trial < 500; ++trial) {
    ResidentBytes r{};
    for (auto& b : r) b = rng() % 100000;
    const std::uint64_t capacity = 1 + rng() % 400000;
    const std::uint64_t staging = rng() % (capacity + 1);
    std::vector<MemoryKind> order = default_placement_order();
    std::shuffle(order.begin(), order.end(), rng);
    const Placement p = place(capacity, staging, r, order);
    ASSERT_LE(p.sram_total(), capacity) << "trial " << trial;
    for (std::size_t k = 0; k < kMemoryKinds; ++k) {
      ASSERT_EQ(p.sram_bytes[k] + p.dram_bytes[k], r[k]) << "trial " << trial;
    }
    // Only the first kind that does not fit is split; every kind after it is all DRAM.
    bool full = false;
    for (MemoryKind k : order) {
      if (full) {
        EXPECT_EQ(p.sram_bytes[at(k)], 0u) << "trial " << trial;
      }
      if (p.dram_bytes[at(k)] > 0) full = true;
    }
  }
}

TEST(Staging, OneFoldOfOperandTilesDoubleBuffered) {
  // 32x32 OS array, GEMM 1000x500x4608: an R x t and a t x C slice with t = R + C = 64,
  // the 32x32 result; 4-byte elements, two of each.
  EXPECT_EQ(gemm_staging_bytes({32, 32}, Dataflow::kOutputStationary, {1000, 500, 4608}),
            2u * 4u * (32 * 64 + 64 * 32 + 32 * 32));
  // A GEMM smaller than the array stages only what it has.
  EXPECT_EQ(gemm_staging_bytes({32, 32}, Dataflow::kOutputStationary, {4, 8, 10}),
            2u * 4u * (4 * 10 + 10 * 8 + 4 * 8));
  EXPECT_EQ(vector_staging_bytes(32), 2u * 4u * 2u * 32u);
  EXPECT_EQ(std::string(memory_kind_name(MemoryKind::kInFlight)), "in_flight");
  EXPECT_EQ(try_parse_memory_kind("ema"), MemoryKind::kEma);
  EXPECT_FALSE(try_parse_memory_kind("staging").has_value());
}

}  // namespace
}  // namespace lpsim::hw
