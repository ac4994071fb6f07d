#include "workloads/ops/init.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/errors.h"
#include "tests/unit/workloads/ops/ops_test_util.h"

namespace lpsim::ops {
namespace {

Conv2dGeometry conv_geom() {
  Conv2dGeometry g;
  g.in = Shape{3, 16, 16};
  g.out_channels = 64;
  g.kernel_h = 5;
  g.kernel_w = 3;
  g.stride = 1;
  g.padding = 1;
  return g;
}

TEST(InitDeterminism, SameSeedGivesIdenticalWeights) {
  Rng a(7), b(7);
  Mat<float> wa, wb;
  Vec<float> ba, bb;
  init_linear(10, 20, a, wa, ba);
  init_linear(10, 20, b, wb, bb);
  EXPECT_EQ(wa, wb);
  EXPECT_EQ(ba, bb);
  Mat<float> ca, cb;
  init_conv2d(conv_geom(), a, ca, ba);
  init_conv2d(conv_geom(), b, cb, bb);
  EXPECT_EQ(ca, cb);
  EXPECT_EQ(ba, bb);
}

TEST(InitDeterminism, DifferentSeedsGiveDifferentWeights) {
  Rng a(7), b(8);
  Mat<float> wa, wb;
  Vec<float> ba, bb;
  init_linear(10, 20, a, wa, ba);
  init_linear(10, 20, b, wb, bb);
  EXPECT_NE(wa, wb);
  EXPECT_NE(ba, bb);
  // No element coincides by accident in practice.
  EXPECT_EQ((wa.array() == wb.array()).count(), 0);
}

TEST(InitDeterminism, FloatIsTheRoundedDouble) {
  Rng a(3), b(3);
  Mat<float> wf;
  Vec<float> bf;
  Mat<double> wd;
  Vec<double> bd;
  init_conv2d(conv_geom(), a, wf, bf);
  init_conv2d(conv_geom(), b, wd, bd);
  EXPECT_EQ(wf, wd.cast<float>());
  EXPECT_EQ(bf, bd.cast<float>());
}

TEST(InitOrder, DrawsWeightsRowMajorThenBias) {
  Rng rng(11), manual(11);
  Mat<double> w;
  Vec<double> b;
  init_linear(3, 4, rng, w, b);
  const double bound = 0.5;  // 1 / sqrt(4)
  for (std::int64_t o = 0; o < 3; ++o)
    for (std::int64_t i = 0; i < 4; ++i) EXPECT_EQ(w(o, i), manual.uniform(-bound, bound));
  for (std::int64_t o = 0; o < 3; ++o) EXPECT_EQ(b(o), manual.uniform(-bound, bound));
  EXPECT_EQ(rng.next_u64(), manual.next_u64());
}

// Every value within [-bound, bound], the extremes reached, mean ~0, variance ~bound^2/3.
template <typename Tensor>
void expect_uniform_within(const Tensor& t, double bound) {
  const Eigen::ArrayXd v =
      Eigen::Map<const Eigen::ArrayXd>(t.template cast<double>().eval().data(), t.size());
  const double n = static_cast<double>(v.size());
  EXPECT_LE(v.abs().maxCoeff(), bound);
  EXPECT_GT(v.maxCoeff(), bound * (1.0 - 20.0 / n));
  EXPECT_LT(v.minCoeff(), -bound * (1.0 - 20.0 / n));
  const double mean = v.mean();
  const double var = (v - mean).square().mean();
  const double sd_of_mean = bound / std::sqrt(3.0 * n);
  EXPECT_LT(std::abs(mean), 5.0 * sd_of_mean);
  EXPECT_NEAR(var, bound * bound / 3.0, 5.0 * bound * bound * 0.3 / std::sqrt(n));
}

TEST(InitBounds, LinearUsesOneOverSqrtFanIn) {
  Rng rng = testing::rng_for_test();
  Mat<float> w;
  Vec<float> b;
  init_linear(200, 100, rng, w, b);
  ASSERT_EQ(w.rows(), 200);
  ASSERT_EQ(w.cols(), 100);
  ASSERT_EQ(b.size(), 200);
  expect_uniform_within(w, 0.1);
  EXPECT_LE(b.cwiseAbs().maxCoeff(), 0.1f);
  EXPECT_GT(b.cwiseAbs().maxCoeff(), 0.09f);
}

TEST(InitBounds, ConvFanInIsChannelsTimesKernelArea) {
  Rng rng = testing::rng_for_test();
  const Conv2dGeometry g = conv_geom();
  Mat<double> w;
  Vec<double> b;
  init_conv2d(g, rng, w, b);
  ASSERT_EQ(w.rows(), 64);
  ASSERT_EQ(w.cols(), 45);
  ASSERT_EQ(b.size(), 64);
  const double bound = 1.0 / std::sqrt(45.0);
  EXPECT_DOUBLE_EQ(default_init_bound(g.patch_size()), bound);
  expect_uniform_within(w, bound);
  EXPECT_LE(b.cwiseAbs().maxCoeff(), bound);
  EXPECT_GT(b.cwiseAbs().maxCoeff(), 0.9 * bound);
}

TEST(InitBatchnorm, FollowsPyTorchDefaults) {
  Vec<float> gamma, beta, rm, rv;
  init_batchnorm(5, gamma, beta, rm, rv);
  EXPECT_EQ(gamma, Vec<float>::Ones(5));
  EXPECT_EQ(beta, Vec<float>::Zero(5));
  EXPECT_EQ(rm, Vec<float>::Zero(5));
  EXPECT_EQ(rv, Vec<float>::Ones(5));
}

TEST(InitBounds, RejectNonPositiveFanIn) {
  EXPECT_THROW(default_init_bound(0), core::InternalError);
  Rng rng(1);
  Mat<float> w;
  Vec<float> b;
  EXPECT_THROW(init_linear(3, 0, rng, w, b), core::InternalError);
}

}  // namespace
}  // namespace lpsim::ops
