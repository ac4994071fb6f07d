#include "workloads/ops/loss.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/errors.h"
#include "tests/unit/workloads/ops/ops_test_util.h"

namespace lpsim::ops {
namespace {

using testing::kGradTolerance;
using testing::max_relative_error;
using testing::numeric_gradient;
using testing::random_mat;

TEST(SoftmaxCrossEntropyForward, MatchesHandComputedValue) {
  Mat<double> logits(2, 3);
  logits << 1, 2, 3, 1, 1, 1;
  Labels labels(2);
  labels << 2, 0;
  Mat<double> probs;
  const double loss = softmax_cross_entropy_forward(logits, labels, probs);
  // (log(e + e^2 + e^3) - 3 + log 3) / 2
  EXPECT_NEAR(loss, 0.753109126556245, 1e-15);
  // The kernel's exp is Eigen's vectorised one, whose last bit depends on the vector ISA
  // (SSE2, AVX2, AVX-512): a few units in the last place, not bit equality with std::exp.
  const double ulps4 = 4 * std::numeric_limits<double>::epsilon();
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  EXPECT_NEAR(probs(0, 0), std::exp(1.0) / z, ulps4 * std::exp(1.0) / z);
  EXPECT_NEAR(probs(0, 2), std::exp(3.0) / z, ulps4 * std::exp(3.0) / z);
  EXPECT_NEAR(probs(1, 1), 1.0 / 3.0, ulps4 / 3.0);
}

TEST(SoftmaxCrossEntropyForward, StaysFiniteForHugeLogits) {
  Mat<double> logits(2, 2);
  logits << 1000, 0, -1000, 1000;
  Labels labels(2);
  labels << 1, 1;
  Mat<double> probs;
  EXPECT_NEAR(softmax_cross_entropy_forward(logits, labels, probs), 500.0, 1e-12);
  EXPECT_TRUE(probs.allFinite());
  Mat<float> logits_f = logits.cast<float>(), probs_f;
  EXPECT_NEAR(softmax_cross_entropy_forward(logits_f, labels, probs_f), 500.0f, 1e-3f);
  EXPECT_TRUE(probs_f.allFinite());
}

TEST(SoftmaxCrossEntropyGradient, MatchesFiniteDifferences) {
  Rng rng = testing::rng_for_test();
  Mat<double> logits = random_mat(rng, 5, 7, -3.0, 3.0);
  Labels labels(5);
  for (std::int64_t b = 0; b < 5; ++b) labels(b) = static_cast<std::int32_t>(rng.uniform_int(7));
  auto loss = [&]() {
    Mat<double> probs;
    return softmax_cross_entropy_forward(logits, labels, probs);
  };
  Mat<double> probs, dlogits;
  softmax_cross_entropy_forward(logits, labels, probs);
  softmax_cross_entropy_backward(probs, labels, dlogits);
  EXPECT_LT(max_relative_error(dlogits, numeric_gradient(logits, loss)), kGradTolerance);
}

TEST(SoftmaxCrossEntropyLabels, RejectOutOfRangeLabels) {
  const Mat<double> logits = Mat<double>::Zero(2, 3);
  Labels labels(2);
  labels << 0, 3;
  Mat<double> probs;
  EXPECT_THROW(softmax_cross_entropy_forward(logits, labels, probs), core::InternalError);
  Labels short_labels(1);
  short_labels << 0;
  EXPECT_THROW(softmax_cross_entropy_forward(logits, short_labels, probs), core::InternalError);
}

TEST(SoftmaxCrossEntropyLabels, AcceptStdVectorAndMap) {
  Mat<double> logits(2, 3);
  logits << 1, 2, 3, 1, 1, 1;
  const std::vector<std::int32_t> labels = {2, 0};
  Labels eigen_labels(2);
  eigen_labels << 2, 0;
  Mat<double> probs, dlogits_vector, dlogits_eigen;
  EXPECT_NEAR(softmax_cross_entropy_forward(logits, labels, probs), 0.753109126556245, 1e-15);
  EXPECT_NEAR(
      softmax_cross_entropy_forward(logits, Eigen::Map<const Labels>(labels.data(), 2), probs),
      0.753109126556245, 1e-15);
  softmax_cross_entropy_backward(probs, labels, dlogits_vector);
  softmax_cross_entropy_backward(probs, eigen_labels, dlogits_eigen);
  EXPECT_EQ(dlogits_vector, dlogits_eigen);
  EXPECT_EQ(count_correct(logits, labels), 2);
  EXPECT_EQ(count_correct(logits, eigen_labels), 2);
}

TEST(CountCorrect, CountsArgmaxMatchesWithFirstMaximumOnTies) {
  Mat<float> logits(4, 3);
  logits << 0.1f, 0.7f, 0.2f,  // argmax 1
      5, 5, 1,                 // tie: argmax 0
      -1, -2, -0.5f,           // argmax 2
      0, 0, 0;                 // tie: argmax 0
  Labels labels(4);
  labels << 1, 1, 2, 0;
  EXPECT_EQ(count_correct(logits, labels), 3);
}

}  // namespace
}  // namespace lpsim::ops
