#include "workloads/ops/activation.h"

#include <gtest/gtest.h>

#include "tests/unit/workloads/ops/ops_test_util.h"

namespace lpsim::ops {
namespace {

using testing::kGradTolerance;
using testing::max_relative_error;
using testing::numeric_gradient;
using testing::random_mat;
using testing::weighted_sum;

TEST(ReluForward, ClampsNegativesToZero) {
  Mat<double> x(2, 3), y;
  x << -1, 0, 2, 3.5, -0.25, 1e-9;
  relu_forward(x, y);
  Mat<double> expected(2, 3);
  expected << 0, 0, 2, 3.5, 0, 1e-9;
  EXPECT_EQ(y, expected);
}

TEST(ReluBackward, InputAndOutputGiveTheSameMask) {
  Rng rng = testing::rng_for_test();
  Mat<double> x = random_mat(rng, 4, 9);
  x(0, 0) = 0.0;  // the derivative at 0 is 0, as in PyTorch
  const Mat<double> dy = random_mat(rng, 4, 9);
  Mat<double> y, dx_from_x, dx_from_y;
  relu_forward(x, y);
  relu_backward(dy, x, dx_from_x);
  relu_backward(dy, y, dx_from_y);
  EXPECT_EQ(dx_from_x, dx_from_y);
  EXPECT_EQ(dx_from_x(0, 0), 0.0);
}

TEST(ReluGradient, MatchesFiniteDifferences) {
  Rng rng = testing::rng_for_test();
  // Entries at least 0.05 from the kink, far beyond the finite-difference step.
  Mat<double> x = testing::random_mat_away_from_zero(rng, 5, 12, 0.05);
  const Mat<double> r = random_mat(rng, 5, 12);
  auto loss = [&]() {
    Mat<double> y;
    relu_forward(x, y);
    return weighted_sum(r, y);
  };
  Mat<double> y, dx;
  relu_forward(x, y);
  relu_backward(r, y, dx);
  EXPECT_LT(max_relative_error(dx, numeric_gradient(x, loss)), kGradTolerance);
}

}  // namespace
}  // namespace lpsim::ops
