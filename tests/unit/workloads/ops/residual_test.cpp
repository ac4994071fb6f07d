#include "workloads/ops/residual.h"

#include <gtest/gtest.h>

#include "tests/unit/workloads/ops/ops_test_util.h"

namespace lpsim::ops {
namespace {

using testing::kGradTolerance;
using testing::max_relative_error;
using testing::numeric_gradient;
using testing::random_mat;
using testing::weighted_sum;

TEST(ResidualAddForward, SumsBothBranches) {
  Mat<double> a(1, 3), b(1, 3), y;
  a << 1, 2, 3;
  b << 10, -20, 0.5;
  residual_add_forward(a, b, y);
  Mat<double> expected(1, 3);
  expected << 11, -18, 3.5;
  EXPECT_EQ(y, expected);
}

TEST(ResidualAddGradient, MatchesFiniteDifferences) {
  Rng rng = testing::rng_for_test();
  Mat<double> a = random_mat(rng, 3, 8);
  Mat<double> b = random_mat(rng, 3, 8);
  const Mat<double> r = random_mat(rng, 3, 8);
  auto loss = [&]() {
    Mat<double> y;
    residual_add_forward(a, b, y);
    return weighted_sum(r, y);
  };
  Mat<double> da, db;
  residual_add_backward(r, da, db);
  EXPECT_LT(max_relative_error(da, numeric_gradient(a, loss)), kGradTolerance);
  EXPECT_LT(max_relative_error(db, numeric_gradient(b, loss)), kGradTolerance);
  EXPECT_EQ(da, r);
  EXPECT_EQ(db, r);
}

}  // namespace
}  // namespace lpsim::ops
