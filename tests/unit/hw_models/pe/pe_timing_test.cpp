// The fast analytic model: hand examples of the formula, errors, vector and memory
// cycles, and which monotonicity properties the model really has.
#include "hw_models/pe/pe_timing.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include "core/errors.h"
#include "hw_models/pe/pe_types.h"

namespace lpsim::hw {
namespace {

constexpr Dataflow kOs = Dataflow::kOutputStationary;
constexpr Dataflow kWs = Dataflow::kWeightStationary;
constexpr Dataflow kIs = Dataflow::kInputStationary;
constexpr Dataflow kAllDataflows[] = {kOs, kWs, kIs};

TEST(DataflowNames, FormatAndParseRoundTrip) {
  for (Dataflow dataflow : kAllDataflows) {
    EXPECT_EQ(parse_dataflow(format_dataflow(dataflow)), dataflow);
  }
  EXPECT_STREQ(format_dataflow(kOs), "os");
  EXPECT_STREQ(format_dataflow(kWs), "ws");
  EXPECT_STREQ(format_dataflow(kIs), "is");
  EXPECT_EQ(dataflow_names(), (std::vector<std::string>{"os", "ws", "is"}));
}

TEST(DataflowNames, UnknownNameIsAUserError) {
  EXPECT_FALSE(try_parse_dataflow("OS").has_value());
  EXPECT_FALSE(try_parse_dataflow("").has_value());
  EXPECT_FALSE(try_parse_dataflow("rs").has_value());
  try {
    parse_dataflow("rs", "config.json", "/hw/pe/dataflow");
    FAIL() << "expected core::ConfigError";
  } catch (const core::ConfigError& error) {
    EXPECT_EQ(error.file(), "config.json");
    EXPECT_EQ(error.where(), "/hw/pe/dataflow");
    EXPECT_NE(error.problem().find("\"rs\""), std::string::npos) << error.problem();
    EXPECT_NE(error.problem().find("\"ws\""), std::string::npos) << error.problem();
  }
}

TEST(GemmMapping, EachDataflowLaysOutItsDimensions) {
  const GemmShape gemm{2, 3, 5};  // M, N, K
  const ArrayMapping os = map_gemm(kOs, gemm);
  const ArrayMapping ws = map_gemm(kWs, gemm);
  const ArrayMapping is = map_gemm(kIs, gemm);
  EXPECT_EQ(os.spatial_rows, 2);  // M
  EXPECT_EQ(os.spatial_cols, 3);  // N
  EXPECT_EQ(os.temporal, 5);      // K
  EXPECT_EQ(ws.spatial_rows, 5);  // K
  EXPECT_EQ(ws.spatial_cols, 3);  // N
  EXPECT_EQ(ws.temporal, 2);      // M
  EXPECT_EQ(is.spatial_rows, 5);  // K
  EXPECT_EQ(is.spatial_cols, 2);  // M
  EXPECT_EQ(is.temporal, 3);      // N
}

TEST(FastModelFollowsTheFormula, OutputStationaryByHand) {
  // 4x4 array, 4x4x4 GEMM: one fold of 4 + 4 + 4 - 2 = 10 cycles.
  GemmTiming t = gemm_timing({4, 4}, kOs, {4, 4, 4});
  EXPECT_EQ(t.row_folds, 1u);
  EXPECT_EQ(t.col_folds, 1u);
  EXPECT_EQ(t.folds, 1u);
  EXPECT_EQ(t.cycles_per_fold, 10u);
  EXPECT_EQ(t.cycles, 10u);
  EXPECT_EQ(t.macs, 64u);
  EXPECT_EQ(t.mac_slots, 160u);

  // 2x3 array, M=5 N=7 K=3: ceil(5/2)=3 row folds, ceil(7/3)=3 column folds, each
  // 2 + 3 + 3 - 2 = 6 cycles: 54 cycles; 105 MACs in 2*3*54 = 324 slots.
  t = gemm_timing({2, 3}, kOs, {5, 7, 3});
  EXPECT_EQ(t.row_folds, 3u);
  EXPECT_EQ(t.col_folds, 3u);
  EXPECT_EQ(t.folds, 9u);
  EXPECT_EQ(t.cycles_per_fold, 6u);
  EXPECT_EQ(t.cycles, 54u);
  EXPECT_EQ(t.macs, 105u);
  EXPECT_EQ(t.mac_slots, 324u);
}

TEST(FastModelFollowsTheFormula, WeightStationaryByHand) {
  // 3x2 array, M=4 N=5 K=7: Sr=K=7 -> 3 row folds, Sc=N=5 -> 3 column folds, T=M=4;
  // each fold 2*3 + 2 + 4 - 2 = 10 cycles: 90.
  const GemmTiming t = gemm_timing({3, 2}, kWs, {4, 5, 7});
  EXPECT_EQ(t.row_folds, 3u);
  EXPECT_EQ(t.col_folds, 3u);
  EXPECT_EQ(t.cycles_per_fold, 10u);
  EXPECT_EQ(t.cycles, 90u);
  EXPECT_EQ(t.macs, 140u);
}

TEST(FastModelFollowsTheFormula, InputStationaryByHand) {
  // 3x2 array, M=4 N=5 K=7: Sr=K=7 -> 3 row folds, Sc=M=4 -> 2 column folds, T=N=5;
  // each fold 2*3 + 2 + 5 - 2 = 11 cycles: 66.
  const GemmTiming t = gemm_timing({3, 2}, kIs, {4, 5, 7});
  EXPECT_EQ(t.row_folds, 3u);
  EXPECT_EQ(t.col_folds, 2u);
  EXPECT_EQ(t.cycles_per_fold, 11u);
  EXPECT_EQ(t.cycles, 66u);
}

TEST(FastModelFollowsTheFormula, SingleMacArray) {
  // 1x1, M=3 N=4 K=5: OS spends exactly one cycle per MAC (M·N folds of K); WS and IS add
  // one preload cycle per fold (WS: K·N folds of M+1; IS: K·M folds of N+1).
  const GemmShape gemm{3, 4, 5};
  EXPECT_EQ(gemm_timing({1, 1}, kOs, gemm).cycles, 60u);
  EXPECT_EQ(gemm_timing({1, 1}, kWs, gemm).cycles, 20u * (3 + 1));
  EXPECT_EQ(gemm_timing({1, 1}, kIs, gemm).cycles, 15u * (4 + 1));
}

TEST(FastModelFollowsTheFormula, FoldCyclesAlone) {
  EXPECT_EQ(fold_cycles({8, 4}, kOs, 10), 8u + 4 + 10 - 2);
  EXPECT_EQ(fold_cycles({8, 4}, kWs, 10), 16u + 4 + 10 - 2);
  EXPECT_EQ(fold_cycles({8, 4}, kIs, 10), 16u + 4 + 10 - 2);
}

TEST(FastModelRejectsProgrammerErrors, NonPositiveSizes) {
  EXPECT_THROW(gemm_timing({0, 4}, kOs, {1, 1, 1}), core::InternalError);
  EXPECT_THROW(gemm_timing({4, -1}, kOs, {1, 1, 1}), core::InternalError);
  EXPECT_THROW(gemm_timing({4, 4}, kWs, {0, 1, 1}), core::InternalError);
  EXPECT_THROW(gemm_timing({4, 4}, kIs, {1, -3, 1}), core::InternalError);
  EXPECT_THROW(gemm_timing({4, 4}, kOs, {1, 1, 0}), core::InternalError);
  EXPECT_THROW(fold_cycles({4, 4}, kOs, 0), core::InternalError);
  EXPECT_THROW(map_gemm(kOs, {1, 0, 1}), core::InternalError);
}

TEST(FastModelRejectsProgrammerErrors, Overflow) {
  const std::int64_t big = std::int64_t{1} << 40;
  // M·N·K = 2^120 MACs cannot be counted in 64 bits.
  EXPECT_THROW(gemm_timing({1, 1}, kOs, {big, big, big}), core::InternalError);
  // 2^21 x 2^21 array: R·C·cycles overflows even though cycles fit.
  const std::int64_t side = std::int64_t{1} << 21;
  EXPECT_THROW(gemm_timing({side, side}, kOs, {1, 1, big}), core::InternalError);
  // Largest sizes that still fit pass.
  EXPECT_NO_THROW(gemm_timing({1, 1}, kOs, {1 << 20, 1 << 20, 1 << 20}));
}

TEST(VectorUnitCycles, CeilOfElementsOverLanes) {
  EXPECT_EQ(vector_cycles(0, 4), 0u);
  EXPECT_EQ(vector_cycles(1, 4), 1u);
  EXPECT_EQ(vector_cycles(8, 4), 2u);
  EXPECT_EQ(vector_cycles(10, 4), 3u);
  EXPECT_EQ(vector_cycles(10, 4, 3), 9u);  // three ops per element, lane-synchronous
  EXPECT_EQ(vector_cycles(7, 1), 7u);
  EXPECT_THROW(vector_cycles(7, 0), core::InternalError);
  EXPECT_THROW(vector_cycles(7, 1, 0), core::InternalError);
  EXPECT_THROW(vector_cycles(std::numeric_limits<std::uint64_t>::max(), 1, 2), core::InternalError);
}

TEST(MemoryStretchesATask, SlowerOfComputeAndTraffic) {
  EXPECT_EQ(memory_cycles(0, 8), 0u);
  EXPECT_EQ(memory_cycles(1, 8), 1u);
  EXPECT_EQ(memory_cycles(1000, 8), 125u);
  EXPECT_EQ(memory_cycles(1001, 8), 126u);
  EXPECT_EQ(stretch_for_memory(100, 1000, 8), 125u);  // memory-bound
  EXPECT_EQ(stretch_for_memory(200, 1000, 8), 200u);  // compute-bound
  EXPECT_EQ(stretch_for_memory(0, 0, 8), 0u);
  EXPECT_THROW(stretch_for_memory(1, 1, 0), core::InternalError);
}

// Exhaustive over small shapes, every dataflow.
template <typename Check>
void for_small_shapes(Check check) {
  for (Dataflow dataflow : kAllDataflows) {
    for (std::int64_t r = 1; r <= 6; ++r) {
      for (std::int64_t c = 1; c <= 6; ++c) {
        for (std::int64_t m = 1; m <= 10; ++m) {
          for (std::int64_t n = 1; n <= 10; ++n) {
            for (std::int64_t k = 1; k <= 10; ++k) {
              check(dataflow, ArrayShape{r, c}, GemmShape{m, n, k});
            }
          }
        }
      }
    }
  }
}

std::string describe(Dataflow dataflow, ArrayShape a, GemmShape g) {
  return std::string(format_dataflow(dataflow)) + " " + std::to_string(a.rows) + "x" +
         std::to_string(a.cols) + " M=" + std::to_string(g.m) + " N=" + std::to_string(g.n) +
         " K=" + std::to_string(g.k);
}

TEST(CyclesNeverDecreaseWithTheGemm, LargerMNOrKNeverTakesFewerCycles) {
  int failures = 0;
  for_small_shapes([&](Dataflow dataflow, ArrayShape array, GemmShape gemm) {
    const std::uint64_t base = gemm_timing(array, dataflow, gemm).cycles;
    for (GemmShape bigger :
         {GemmShape{gemm.m + 1, gemm.n, gemm.k}, GemmShape{gemm.m, gemm.n + 1, gemm.k},
          GemmShape{gemm.m, gemm.n, gemm.k + 1}}) {
      if (gemm_timing(array, dataflow, bigger).cycles < base && ++failures <= 5) {
        ADD_FAILURE() << describe(dataflow, array, gemm) << " -> "
                      << describe(dataflow, array, bigger);
      }
    }
    // The streamed dimension alone always costs exactly one more cycle per fold.
    const ArrayMapping mapping = map_gemm(dataflow, gemm);
    GemmShape longer = gemm;
    if (dataflow == Dataflow::kOutputStationary) ++longer.k;
    if (dataflow == Dataflow::kWeightStationary) ++longer.m;
    if (dataflow == Dataflow::kInputStationary) ++longer.n;
    ASSERT_EQ(map_gemm(dataflow, longer).temporal, mapping.temporal + 1);
    const GemmTiming before = gemm_timing(array, dataflow, gemm);
    EXPECT_EQ(gemm_timing(array, dataflow, longer).cycles, before.cycles + before.folds);
  });
  EXPECT_EQ(failures, 0);
}

TEST(ArraySizeAndCycles, MoreRowsOrColumnsCanCostMoreCycles) {
  // Not monotone: each fold pays R + C (+ R) of fill, so a taller or wider array that does
  // not remove a fold is slower. Found for most small shapes; two hand examples:
  EXPECT_EQ(gemm_timing({4, 4}, kOs, {4, 4, 4}).cycles, 10u);
  EXPECT_EQ(gemm_timing({5, 4}, kOs, {4, 4, 4}).cycles, 11u);
  EXPECT_EQ(gemm_timing({4, 4}, kWs, {4, 4, 4}).cycles, 14u);
  EXPECT_EQ(gemm_timing({4, 5}, kWs, {4, 4, 4}).cycles, 15u);
  std::uint64_t cases = 0;
  std::uint64_t slower = 0;
  for_small_shapes([&](Dataflow dataflow, ArrayShape array, GemmShape gemm) {
    const std::uint64_t base = gemm_timing(array, dataflow, gemm).cycles;
    ++cases;
    if (gemm_timing({array.rows + 1, array.cols}, dataflow, gemm).cycles > base) ++slower;
  });
  EXPECT_GT(slower, 0u);
  std::cout << "one more row is slower in " << slower << " of " << cases << " small shapes\n";
}

TEST(ArraySizeAndCycles, FoldsNeverIncreaseWithTheArray) {
  for_small_shapes([&](Dataflow dataflow, ArrayShape array, GemmShape gemm) {
    const GemmTiming base = gemm_timing(array, dataflow, gemm);
    const GemmTiming taller = gemm_timing({array.rows + 1, array.cols}, dataflow, gemm);
    const GemmTiming wider = gemm_timing({array.rows, array.cols + 1}, dataflow, gemm);
    ASSERT_LE(taller.folds, base.folds) << describe(dataflow, array, gemm);
    ASSERT_LE(wider.folds, base.folds) << describe(dataflow, array, gemm);
  });
}

TEST(ArraySizeAndCycles, AnExtraRowOrColumnCostsAtMostItsFillPerFold) {
  // What does hold: one more row adds at most 1 cycle (OS) or 2 (WS, IS: fill and
  // preload) per fold of the smaller array, one more column at most 1; exactly that when
  // the fold count does not change.
  for_small_shapes([&](Dataflow dataflow, ArrayShape array, GemmShape gemm) {
    const GemmTiming base = gemm_timing(array, dataflow, gemm);
    const GemmTiming taller = gemm_timing({array.rows + 1, array.cols}, dataflow, gemm);
    const GemmTiming wider = gemm_timing({array.rows, array.cols + 1}, dataflow, gemm);
    const std::uint64_t per_row = dataflow == Dataflow::kOutputStationary ? 1 : 2;
    ASSERT_LE(taller.cycles, base.cycles + per_row * base.folds) << describe(dataflow, array, gemm);
    ASSERT_LE(wider.cycles, base.cycles + base.folds) << describe(dataflow, array, gemm);
    if (taller.folds == base.folds) {
      ASSERT_EQ(taller.cycles, base.cycles + per_row * base.folds);
    }
    if (wider.folds == base.folds) {
      ASSERT_EQ(wider.cycles, base.cycles + base.folds);
    }
  });
}

TEST(ArraySizeAndCycles, UtilizationNeverExceedsOne) {
  for_small_shapes([&](Dataflow dataflow, ArrayShape array, GemmShape gemm) {
    const GemmTiming t = gemm_timing(array, dataflow, gemm);
    ASSERT_LE(t.macs, t.mac_slots) << describe(dataflow, array, gemm);
    ASSERT_EQ(t.mac_slots, static_cast<std::uint64_t>(array.rows * array.cols) * t.cycles);
  });
}

}  // namespace
}  // namespace lpsim::hw
