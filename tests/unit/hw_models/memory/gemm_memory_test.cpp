// One GEMM with its operands in DRAM: traffic and stalls by hand, reuse when the SRAM can
// keep the reused matrix, and "more bandwidth or more SRAM never costs cycles".
#include "hw_models/memory/gemm_memory.h"

#include <gtest/gtest.h>

#include <random>

#include "hw_models/memory/placement.h"

namespace lpsim::hw {
namespace {

TEST(GemmMemory, HandWorkedOutputStationaryExample) {
  // 2x2 OS array, [4 x 3]·[3 x 4]: 4 folds of 2 + 2 + 3 - 2 = 5 cycles; staging 128 B.
  GemmMemoryParams p;
  p.sram_bytes = 128;  // only the staging: B is read again for the second row fold
  p.dram_bytes_per_cycle = 4;
  p.dram_latency_cycles = 1;
  const GemmMemoryTiming t = gemm_memory_timing({2, 2}, Dataflow::kOutputStationary, {4, 4, 3}, p);
  EXPECT_EQ(t.compute.cycles, 20u);
  EXPECT_EQ(t.staging_bytes, 128u);
  EXPECT_FALSE(t.kept_in_sram);
  EXPECT_EQ(t.dram_read_bytes, 48u + 24u + 48u + 24u);
  EXPECT_EQ(t.dram_write_bytes, 4u * 16u);
  // Fold starts 13, 20, 36, 46 (each waits for its reads); the last write drains at 55.
  EXPECT_EQ(t.cycles, 55u);
  EXPECT_EQ(t.stall_cycles, 35u);
  EXPECT_EQ(t.sram_read_bytes, 4u * 48u);
  EXPECT_EQ(t.sram_write_bytes, 4u * 16u);
  // 48 more bytes keep B: the second row fold reads only its A slice.
  p.sram_bytes = 128 + 48;
  const GemmMemoryTiming kept =
      gemm_memory_timing({2, 2}, Dataflow::kOutputStationary, {4, 4, 3}, p);
  EXPECT_TRUE(kept.kept_in_sram);
  EXPECT_EQ(kept.dram_read_bytes, 48u + 24u + 24u);
  EXPECT_LT(kept.cycles, t.cycles);
}

TEST(GemmMemory, MoreBandwidthOrSramNeverCostsCycles) {
  std::mt19937_64 rng(5);
  for (int trial = 0; trial < 300; ++trial) {
    const ArrayShape array{1 + static_cast<std::int64_t>(rng() % 16),
                           1 + static_cast<std::int64_t>(rng() % 16)};
    const GemmShape gemm{1 + static_cast<std::int64_t>(rng() % 100),
                         1 + static_cast<std::int64_t>(rng() % 100),
                         1 + static_cast<std::int64_t>(rng() % 100)};
    const Dataflow df = static_cast<Dataflow>(rng() % 3);
    GemmMemoryParams p;
    p.sram_bytes = gemm_staging_bytes(array, df, gemm) + rng() % 20000;
    p.dram_bytes_per_cycle = 1 + rng() % 64;
    p.dram_latency_cycles = rng() % 50;
    const GemmMemoryTiming base = gemm_memory_timing(array, df, gemm, p);
    ASSERT_EQ(base.cycles, base.compute.cycles + base.stall_cycles) << trial;
    ASSERT_GT(base.dram_read_bytes, 0u);
    GemmMemoryParams faster = p;
    faster.dram_bytes_per_cycle *= 2;
    EXPECT_LE(gemm_memory_timing(array, df, gemm, faster).cycles, base.cycles) << trial;
    GemmMemoryParams bigger = p;
    bigger.sram_bytes += 1 << 20;
    const GemmMemoryTiming big = gemm_memory_timing(array, df, gemm, bigger);
    EXPECT_LE(big.cycles, base.cycles) << trial;
    EXPECT_LE(big.dram_read_bytes + big.dram_write_bytes,
              base.dram_read_bytes + base.dram_write_bytes)
        << trial;
    EXPECT_TRUE(big.kept_in_sram) << trial;
  }
}

}  // namespace
}  // namespace lpsim::hw
