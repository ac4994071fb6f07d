#include "workloads/ops/linear.h"

#include <gtest/gtest.h>

#include "core/errors.h"
#include "tests/unit/workloads/ops/ops_test_util.h"

namespace lpsim::ops {
namespace {

using testing::kGradTolerance;
using testing::max_relative_error;
using testing::numeric_gradient;
using testing::random_mat;
using testing::random_vec;
using testing::weighted_sum;

TEST(LinearForward, MatchesHandComputedValues) {
  Mat<double> x(2, 3);
  x << 1, 2, 3, -1, 0, 1;
  Mat<double> w(2, 3);
  w << 1, 0, -1, 2, 1, 0;
  Vec<double> b(2);
  b << 0.5, -1;
  Mat<double> y;
  linear_forward(x, w, b, y);
  Mat<double> expected(2, 2);
  expected << 1 + 0 - 3 + 0.5, 2 + 2 + 0 - 1, -1 + 0 - 1 + 0.5, -2 + 0 + 0 - 1;
  EXPECT_EQ(y, expected);
}

TEST(LinearShapes, RejectMismatchedWeight) {
  const Mat<double> x = Mat<double>::Zero(2, 3);
  const Mat<double> w = Mat<double>::Zero(4, 5);
  const Vec<double> b = Vec<double>::Zero(4);
  Mat<double> y;
  EXPECT_THROW(linear_forward(x, w, b, y), core::InternalError);
}

TEST(LinearGradient, MatchesFiniteDifferences) {
  Rng rng = testing::rng_for_test();
  const std::int64_t batch = 4, in = 7, out = 5;
  Mat<double> x = random_mat(rng, batch, in);
  Mat<double> w = random_mat(rng, out, in);
  Vec<double> b = random_vec(rng, out);
  const Mat<double> r = random_mat(rng, batch, out);
  auto loss = [&]() {
    Mat<double> y;
    linear_forward(x, w, b, y);
    return weighted_sum(r, y);
  };
  Mat<double> dx, dw;
  Vec<double> db;
  linear_backward_input(r, w, dx);
  linear_backward_weights(x, r, dw, db);
  EXPECT_LT(max_relative_error(dx, numeric_gradient(x, loss)), kGradTolerance);
  EXPECT_LT(max_relative_error(dw, numeric_gradient(w, loss)), kGradTolerance);
  EXPECT_LT(max_relative_error(db, numeric_gradient(b, loss)), kGradTolerance);
}

TEST(LinearBackwardInput, UsesTheWeightItIsGiven) {
  Rng rng = testing::rng_for_test();
  const Mat<double> dy = random_mat(rng, 3, 4);
  const Mat<double> w1 = random_mat(rng, 4, 6);
  const Mat<double> w2 = random_mat(rng, 4, 6);
  Mat<double> dx1, dx2;
  linear_backward_input(dy, w1, dx1);
  linear_backward_input(dy, w2, dx2);
  EXPECT_LT((dx1 - dy * w1).cwiseAbs().maxCoeff(), 1e-12);
  EXPECT_LT((dx2 - dy * w2).cwiseAbs().maxCoeff(), 1e-12);
}

TEST(LinearInputs, AcceptBlocksWithoutCopy) {
  Rng rng = testing::rng_for_test();
  const Mat<double> big = random_mat(rng, 6, 10);
  const Mat<double> w = random_mat(rng, 3, 4);
  const Vec<double> b = random_vec(rng, 3);
  Mat<double> y_block, y_copy;
  linear_forward(big.block(1, 2, 4, 4), w, b, y_block);
  const Mat<double> copy = big.block(1, 2, 4, 4);
  linear_forward(copy, w, b, y_copy);
  EXPECT_EQ(y_block, y_copy);
}

}  // namespace
}  // namespace lpsim::ops
