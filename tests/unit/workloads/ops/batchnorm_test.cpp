#include "workloads/ops/batchnorm.h"

#include <gtest/gtest.h>

#include <cmath>

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

// Two samples, two channels of 1x2 pixels: channel 0 holds {1, 2, 3, 6} (mean 3, biased
// variance 3.5, unbiased 14/3), channel 1 holds {0, 0, 0, 4} (mean 1, variance 3, unbiased 4).
Mat<double> hand_batch() {
  Mat<double> x(2, 4);
  x << 1, 2, 0, 0,  //
      3, 6, 0, 4;
  return x;
}

TEST(BatchNormRunningStats, MatchPyTorchUpdateOnHandExample) {
  const Shape shape{2, 1, 2};
  const Mat<double> x = hand_batch();
  const Vec<double> gamma = Vec<double>::Ones(2), beta = Vec<double>::Zero(2);
  Vec<double> running_mean = Vec<double>::Zero(2), running_var = Vec<double>::Ones(2);
  Mat<double> y;
  BatchNormSaved<double> saved;
  // torch.nn.BatchNorm2d(2) in training mode, called twice on the same batch.
  batchnorm2d_forward_train(x, shape, gamma, beta, running_mean, running_var, y, saved);
  EXPECT_NEAR(running_mean(0), 0.3, 1e-15);
  EXPECT_NEAR(running_mean(1), 0.1, 1e-15);
  EXPECT_NEAR(running_var(0), 0.9 + 0.1 * 14.0 / 3.0, 1e-15);
  EXPECT_NEAR(running_var(1), 0.9 + 0.1 * 4.0, 1e-15);
  batchnorm2d_forward_train(x, shape, gamma, beta, running_mean, running_var, y, saved);
  EXPECT_NEAR(running_mean(0), 0.57, 1e-15);
  EXPECT_NEAR(running_mean(1), 0.19, 1e-15);
  EXPECT_NEAR(running_var(0), 0.9 * (0.9 + 0.1 * 14.0 / 3.0) + 0.1 * 14.0 / 3.0, 1e-15);
  EXPECT_NEAR(running_var(1), 0.9 * 1.3 + 0.4, 1e-15);

  // Normalisation uses the biased variance and eps = 1e-5.
  const double s0 = 1.0 / std::sqrt(3.5 + 1e-5), s1 = 1.0 / std::sqrt(3.0 + 1e-5);
  Mat<double> expected(2, 4);
  expected << -2 * s0, -1 * s0, -1 * s1, -1 * s1,  //
      0, 3 * s0, -1 * s1, 3 * s1;
  EXPECT_LT((y - expected).cwiseAbs().maxCoeff(), 1e-14);
  EXPECT_NEAR(saved.inv_std(0), s0, 1e-15);
  EXPECT_NEAR(saved.inv_std(1), s1, 1e-15);
}

TEST(BatchNormForward, AppliesGammaAndBetaPerChannel) {
  Rng rng = testing::rng_for_test();
  const Shape shape{3, 2, 4};
  const Mat<double> x = random_mat(rng, 5, shape.size(), -2.0, 3.0);
  const Vec<double> gamma = random_vec(rng, 3, 0.5, 2.0), beta = random_vec(rng, 3);
  Vec<double> rm = Vec<double>::Zero(3), rv = Vec<double>::Ones(3);
  Mat<double> y;
  BatchNormSaved<double> saved;
  batchnorm2d_forward_train(x, shape, gamma, beta, rm, rv, y, saved);
  for (std::int64_t c = 0; c < 3; ++c) {
    double sum = 0, sq = 0;
    for (std::int64_t b = 0; b < 5; ++b) {
      for (std::int64_t q = 0; q < 8; ++q) {
        const double v = (y(b, c * 8 + q) - beta(c)) / gamma(c);
        sum += v;
        sq += v * v;
      }
    }
    EXPECT_NEAR(sum / 40.0, 0.0, 1e-12);
    EXPECT_NEAR(sq / 40.0, 1.0, 1e-4);  // var / (var + eps)
  }
}

TEST(BatchNormEval, UsesRunningStatistics) {
  Rng rng = testing::rng_for_test();
  const Shape shape{2, 2, 3};
  const Mat<double> x = random_mat(rng, 3, shape.size());
  const Vec<double> gamma = random_vec(rng, 2), beta = random_vec(rng, 2);
  const Vec<double> rm = random_vec(rng, 2), rv = random_vec(rng, 2, 0.5, 2.0);
  Mat<double> y;
  batchnorm2d_forward_eval(x, shape, gamma, beta, rm, rv, y);
  for (std::int64_t b = 0; b < 3; ++b) {
    for (std::int64_t i = 0; i < shape.size(); ++i) {
      const std::int64_t c = i / 6;
      const double expected = (x(b, i) - rm(c)) / std::sqrt(rv(c) + 1e-5) * gamma(c) + beta(c);
      EXPECT_NEAR(y(b, i), expected, 1e-14);
    }
  }
}

TEST(BatchNormForward, RejectsSingleValuePerChannel) {
  const Shape shape{2, 1, 1};
  Vec<double> rm = Vec<double>::Zero(2), rv = Vec<double>::Ones(2);
  Mat<double> y;
  BatchNormSaved<double> saved;
  EXPECT_THROW(batchnorm2d_forward_train(Mat<double>::Ones(1, 2), shape, Vec<double>::Ones(2),
                                         Vec<double>::Zero(2), rm, rv, y, saved),
               core::InternalError);
}

void check_gradients(Rng& rng, const Shape& shape, std::int64_t batch) {
  Mat<double> x = random_mat(rng, batch, shape.size(), -2.0, 2.0);
  Vec<double> gamma = random_vec(rng, shape.c, 0.5, 1.5);
  Vec<double> beta = random_vec(rng, shape.c);
  const Mat<double> r = random_mat(rng, batch, shape.size());
  auto loss = [&]() {
    Vec<double> rm = Vec<double>::Zero(shape.c), rv = Vec<double>::Ones(shape.c);
    Mat<double> y;
    BatchNormSaved<double> saved;
    batchnorm2d_forward_train(x, shape, gamma, beta, rm, rv, y, saved);
    return weighted_sum(r, y);
  };
  Vec<double> rm = Vec<double>::Zero(shape.c), rv = Vec<double>::Ones(shape.c);
  Mat<double> y, dx;
  BatchNormSaved<double> saved;
  batchnorm2d_forward_train(x, shape, gamma, beta, rm, rv, y, saved);
  Vec<double> dgamma, dbeta;
  batchnorm2d_backward_input(r, gamma, saved, dx);
  batchnorm2d_backward_weights(r, saved, dgamma, dbeta);
  EXPECT_LT(max_relative_error(dx, numeric_gradient(x, loss)), kGradTolerance);
  EXPECT_LT(max_relative_error(dgamma, numeric_gradient(gamma, loss)), kGradTolerance);
  EXPECT_LT(max_relative_error(dbeta, numeric_gradient(beta, loss)), kGradTolerance);
}

TEST(BatchNormGradient, MatchesFiniteDifferences2d) {
  Rng rng = testing::rng_for_test();
  check_gradients(rng, Shape{2, 3, 2}, 3);
}

TEST(BatchNormGradient, MatchesFiniteDifferences1d) {
  Rng rng = testing::rng_for_test();
  check_gradients(rng, Shape{4, 1, 1}, 5);
}

TEST(BatchNormBackwardInput, UsesTheGammaItIsGiven) {
  Rng rng = testing::rng_for_test();
  const Shape shape{3, 2, 2};
  const Mat<double> x = random_mat(rng, 4, shape.size());
  const Vec<double> gamma = random_vec(rng, 3, 0.5, 1.5), beta = random_vec(rng, 3);
  const Mat<double> dy = random_mat(rng, 4, shape.size());
  Vec<double> rm = Vec<double>::Zero(3), rv = Vec<double>::Ones(3);
  Mat<double> y, dx1, dx2;
  BatchNormSaved<double> saved;
  batchnorm2d_forward_train(x, shape, gamma, beta, rm, rv, y, saved);
  const Vec<double> other = random_vec(rng, 3, 0.5, 1.5);
  batchnorm2d_backward_input(dy, gamma, saved, dx1);
  batchnorm2d_backward_input(dy, other, saved, dx2);
  // dx is linear in gamma per channel: dx(other) = dx(gamma) * other / gamma.
  for (std::int64_t b = 0; b < 4; ++b) {
    for (std::int64_t i = 0; i < shape.size(); ++i) {
      const std::int64_t c = i / 4;
      EXPECT_NEAR(dx2(b, i), dx1(b, i) * other(c) / gamma(c), 1e-12);
    }
  }
}

}  // namespace
}  // namespace lpsim::ops
