// Does a clocked, cycle-by-cycle systolic array agree with the fast model, and does it
// compute the right product? Random small GEMMs with a printed, replayable seed
// (LPSIM_SEED=<n> to replay).
#include "hw_models/pe/clocked_systolic_array.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>

#include "core/errors.h"
#include "hw_models/pe/pe_timing.h"
#include "hw_models/pe/pe_types.h"

namespace lpsim::hw {
namespace {

constexpr int kGemmsPerTest = 300;

std::uint64_t array_test_seed() {
  const char* text = std::getenv("LPSIM_SEED");
  const std::uint64_t seed = text != nullptr ? std::strtoull(text, nullptr, 10) : 20240611u;
  std::cout << "LPSIM_SEED=" << seed << "\n";
  return seed;
}

std::int64_t uniform(std::mt19937_64& rng, std::int64_t lo, std::int64_t hi) {
  return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
}

IntMatrix random_matrix(std::mt19937_64& rng, std::int64_t rows, std::int64_t cols) {
  IntMatrix m(rows, cols);
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t c = 0; c < cols; ++c) m(r, c) = uniform(rng, -9, 9);
  }
  return m;
}

IntMatrix direct_product(const IntMatrix& a, const IntMatrix& b) {
  IntMatrix c(a.rows(), b.cols());
  for (std::int64_t i = 0; i < a.rows(); ++i) {
    for (std::int64_t j = 0; j < b.cols(); ++j) {
      std::int64_t sum = 0;
      for (std::int64_t k = 0; k < a.cols(); ++k) sum += a(i, k) * b(k, j);
      c(i, j) = sum;
    }
  }
  return c;
}

// The dataflow's mapping, written out here independently of map_gemm():
// OS: Sr=M, Sc=N, T=K.  WS: Sr=K, Sc=N, T=M.  IS: Sr=K, Sc=M, T=N.
struct Dims {
  std::int64_t sr, sc, t;
};
Dims dims_of(Dataflow dataflow, GemmShape g) {
  switch (dataflow) {
    case Dataflow::kOutputStationary:
      return {g.m, g.n, g.k};
    case Dataflow::kWeightStationary:
      return {g.k, g.n, g.m};
    case Dataflow::kInputStationary:
      return {g.k, g.m, g.n};
  }
  return {0, 0, 0};
}
GemmShape gemm_of(Dataflow dataflow, Dims d) {
  switch (dataflow) {
    case Dataflow::kOutputStationary:
      return {d.sr, d.sc, d.t};
    case Dataflow::kWeightStationary:
      return {d.t, d.sc, d.sr};
    case Dataflow::kInputStationary:
      return {d.sc, d.t, d.sr};
  }
  return {0, 0, 0};
}

std::string describe_run(Dataflow dataflow, ArrayShape a, GemmShape g) {
  return std::string(format_dataflow(dataflow)) + " array " + std::to_string(a.rows) + "x" +
         std::to_string(a.cols) + " M=" + std::to_string(g.m) + " N=" + std::to_string(g.n) +
         " K=" + std::to_string(g.k);
}

struct ArrayCase {
  ArrayShape array;
  GemmShape gemm;
  IntMatrix a, b;
};

ArrayCase make_case(std::mt19937_64& rng, ArrayShape array, GemmShape gemm) {
  return {array, gemm, random_matrix(rng, gemm.m, gemm.k), random_matrix(rng, gemm.k, gemm.n)};
}

// R, C in 1..8; M, N, K in 1..20.
ArrayCase random_case(std::mt19937_64& rng) {
  const ArrayShape array{uniform(rng, 1, 8), uniform(rng, 1, 8)};
  const GemmShape gemm{uniform(rng, 1, 20), uniform(rng, 1, 20), uniform(rng, 1, 20)};
  return make_case(rng, array, gemm);
}

// R, C in 1..8; Sr a multiple of R and Sc a multiple of C (every fold full), each <= 20;
// T in 1..20.
ArrayCase random_full_fold_case(std::mt19937_64& rng, Dataflow dataflow) {
  const ArrayShape array{uniform(rng, 1, 8), uniform(rng, 1, 8)};
  const Dims d{array.rows * uniform(rng, 1, 20 / array.rows),
               array.cols * uniform(rng, 1, 20 / array.cols), uniform(rng, 1, 20)};
  return make_case(rng, array, gemm_of(dataflow, d));
}

class ClockedArrayAgreesWithFastModel : public ::testing::TestWithParam<Dataflow> {};
class ClockedArrayComputesTheProduct : public ::testing::TestWithParam<Dataflow> {};

TEST_P(ClockedArrayAgreesWithFastModel, ExactlyWhenEveryFoldIsFull) {
  const Dataflow dataflow = GetParam();
  std::mt19937_64 rng(array_test_seed());
  for (int n = 0; n < kGemmsPerTest; ++n) {
    const ArrayCase c = random_full_fold_case(rng, dataflow);
    SCOPED_TRACE("case " + std::to_string(n) + ": " + describe_run(dataflow, c.array, c.gemm));
    const GemmTiming fast = gemm_timing(c.array, dataflow, c.gemm);
    const ClockedRun clocked = ClockedSystolicArray(c.array, dataflow).run(c.a, c.b);
    ASSERT_EQ(clocked.cycles, fast.cycles);
    ASSERT_EQ(clocked.padded_cycles, fast.cycles);
    ASSERT_EQ(clocked.row_folds, fast.row_folds);
    ASSERT_EQ(clocked.col_folds, fast.col_folds);
    ASSERT_EQ(clocked.padded_macs, 0u);
    ASSERT_EQ(clocked.useful_macs, fast.macs);
    for (const ClockedFold& fold : clocked.folds) {
      // The last useful MAC is the fold's last clock: PE(R-1,C-1) with the last operand.
      ASSERT_EQ(fold.last_useful_mac_clock + 1, fast.cycles_per_fold);
    }
    ASSERT_EQ(clocked.product, direct_product(c.a, c.b));
  }
}

TEST_P(ClockedArrayAgreesWithFastModel, PaddedFoldScheduleOnAnyGemm) {
  // The fast model (like SCALE-Sim v2) charges every fold as a full R x C tile; the clocked
  // array's last MAC slot on the zero-padded tile lands on the same clock.
  const Dataflow dataflow = GetParam();
  std::mt19937_64 rng(array_test_seed());
  for (int n = 0; n < kGemmsPerTest; ++n) {
    const ArrayCase c = random_case(rng);
    SCOPED_TRACE("case " + std::to_string(n) + ": " + describe_run(dataflow, c.array, c.gemm));
    const GemmTiming fast = gemm_timing(c.array, dataflow, c.gemm);
    const ClockedRun clocked = ClockedSystolicArray(c.array, dataflow).run(c.a, c.b);
    ASSERT_EQ(clocked.padded_cycles, fast.cycles);
    ASSERT_EQ(clocked.row_folds, fast.row_folds);
    ASSERT_EQ(clocked.col_folds, fast.col_folds);
    ASSERT_EQ(clocked.folds.size(), fast.folds);
    ASSERT_EQ(clocked.useful_macs, fast.macs);
    // Every PE has one MAC slot per streamed element of every fold.
    const Dims d = dims_of(dataflow, c.gemm);
    ASSERT_EQ(clocked.useful_macs + clocked.padded_macs,
              fast.folds * static_cast<std::uint64_t>(c.array.rows * c.array.cols * d.t));
  }
}

TEST_P(ClockedArrayAgreesWithFastModel, UsefulWorkEndsEarlierOnlyByThePadding) {
  // Where they differ: on a partial fold (r' < R rows or c' < C columns of real data) the
  // last useful MAC is at PE(r'-1, c'-1), (R-r') + (C-c') clocks before the formula's end.
  const Dataflow dataflow = GetParam();
  std::mt19937_64 rng(array_test_seed());
  int partial_gemms = 0;
  for (int n = 0; n < kGemmsPerTest; ++n) {
    const ArrayCase c = random_case(rng);
    SCOPED_TRACE("case " + std::to_string(n) + ": " + describe_run(dataflow, c.array, c.gemm));
    const GemmTiming fast = gemm_timing(c.array, dataflow, c.gemm);
    const ClockedRun clocked = ClockedSystolicArray(c.array, dataflow).run(c.a, c.b);
    const Dims d = dims_of(dataflow, c.gemm);
    const std::int64_t rows = c.array.rows;
    const std::int64_t cols = c.array.cols;
    for (const ClockedFold& fold : clocked.folds) {
      const std::int64_t used_rows = std::min(rows, d.sr - fold.row_fold * rows);
      const std::int64_t used_cols = std::min(cols, d.sc - fold.col_fold * cols);
      ASSERT_EQ(fold.used_rows, used_rows);
      ASSERT_EQ(fold.used_cols, used_cols);
      ASSERT_EQ(fold.last_mac_clock + 1, fast.cycles_per_fold);
      ASSERT_EQ(fold.last_useful_mac_clock + 1,
                fast.cycles_per_fold -
                    static_cast<std::uint64_t>((rows - used_rows) + (cols - used_cols)));
    }
    const auto rf = static_cast<std::int64_t>(fast.row_folds);
    const auto cf = static_cast<std::int64_t>(fast.col_folds);
    const auto padding =
        static_cast<std::uint64_t>(cf * (rf * rows - d.sr) + rf * (cf * cols - d.sc));
    ASSERT_EQ(clocked.cycles, fast.cycles - padding);
    const bool full = d.sr % rows == 0 && d.sc % cols == 0;
    ASSERT_EQ(clocked.cycles == fast.cycles, full);
    if (!full) ++partial_gemms;
  }
  std::cout << partial_gemms << " of " << kGemmsPerTest << " GEMMs had a partial fold\n";
}

TEST_P(ClockedArrayComputesTheProduct, EqualsTheDirectProduct) {
  const Dataflow dataflow = GetParam();
  std::mt19937_64 rng(array_test_seed());
  for (int n = 0; n < kGemmsPerTest; ++n) {
    const ArrayCase c = random_case(rng);
    SCOPED_TRACE("case " + std::to_string(n) + ": " + describe_run(dataflow, c.array, c.gemm));
    const ClockedRun clocked = ClockedSystolicArray(c.array, dataflow).run(c.a, c.b);
    ASSERT_EQ(clocked.product.rows(), c.gemm.m);
    ASSERT_EQ(clocked.product.cols(), c.gemm.n);
    ASSERT_EQ(clocked.product, direct_product(c.a, c.b));
  }
}

TEST_P(ClockedArrayComputesTheProduct, HandExample) {
  // [1 2; 3 4]·[5 6; 7 8] = [19 22; 43 50] on a 2x2 array: one full fold.
  IntMatrix a(2, 2), b(2, 2), expected(2, 2);
  a(0, 0) = 1, a(0, 1) = 2, a(1, 0) = 3, a(1, 1) = 4;
  b(0, 0) = 5, b(0, 1) = 6, b(1, 0) = 7, b(1, 1) = 8;
  expected(0, 0) = 19, expected(0, 1) = 22, expected(1, 0) = 43, expected(1, 1) = 50;
  const ClockedRun clocked = ClockedSystolicArray({2, 2}, GetParam()).run(a, b);
  EXPECT_EQ(clocked.product, expected);
  // OS: 2+2+2-2 = 4 clocks; WS/IS: 2 preload clocks more.
  EXPECT_EQ(clocked.cycles, GetParam() == Dataflow::kOutputStationary ? 4u : 6u);
}

TEST(ClockedArrayRejectsProgrammerErrors, BadShapes) {
  EXPECT_THROW(ClockedSystolicArray({0, 2}, Dataflow::kOutputStationary), core::InternalError);
  const ClockedSystolicArray array({2, 2}, Dataflow::kWeightStationary);
  EXPECT_THROW(array.run(IntMatrix(2, 3), IntMatrix(2, 3)), core::InternalError);
  EXPECT_THROW(array.run(IntMatrix(0, 3), IntMatrix(3, 3)), core::InternalError);
}

std::string dataflow_test_name(const ::testing::TestParamInfo<Dataflow>& info) {
  switch (info.param) {
    case Dataflow::kOutputStationary:
      return "OutputStationary";
    case Dataflow::kWeightStationary:
      return "WeightStationary";
    case Dataflow::kInputStationary:
      return "InputStationary";
  }
  return "Unknown";
}

INSTANTIATE_TEST_SUITE_P(AllDataflows, ClockedArrayAgreesWithFastModel,
                         ::testing::Values(Dataflow::kOutputStationary, Dataflow::kWeightStationary,
                                           Dataflow::kInputStationary),
                         dataflow_test_name);
INSTANTIATE_TEST_SUITE_P(AllDataflows, ClockedArrayComputesTheProduct,
                         ::testing::Values(Dataflow::kOutputStationary, Dataflow::kWeightStationary,
                                           Dataflow::kInputStationary),
                         dataflow_test_name);

}  // namespace
}  // namespace lpsim::hw
