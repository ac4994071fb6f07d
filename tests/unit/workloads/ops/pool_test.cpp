#include "workloads/ops/pool.h"

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
using testing::weighted_sum;

Pool2dGeometry pool_geom(std::int64_t c, std::int64_t h, std::int64_t w, std::int64_t kh,
                         std::int64_t kw, std::int64_t s, std::int64_t p) {
  Pool2dGeometry g;
  g.in = Shape{c, h, w};
  g.kernel_h = kh;
  g.kernel_w = kw;
  g.stride = s;
  g.padding = p;
  return g;
}

std::vector<Pool2dGeometry> pool_geometries() {
  return {pool_geom(2, 4, 4, 2, 2, 2, 0), pool_geom(3, 5, 5, 2, 2, 2, 0),
          pool_geom(2, 6, 7, 3, 3, 2, 1), pool_geom(1, 5, 6, 3, 3, 1, 1),
          pool_geom(2, 7, 5, 3, 2, 2, 1), pool_geom(3, 8, 8, 3, 3, 3, 0),
          pool_geom(1, 4, 4, 4, 4, 1, 2)};
}

std::string pool_name(const Pool2dGeometry& g) {
  return "C=" + std::to_string(g.in.c) + " H=" + std::to_string(g.in.h) +
         " W=" + std::to_string(g.in.w) + " k=" + std::to_string(g.kernel_h) + "x" +
         std::to_string(g.kernel_w) + " s=" + std::to_string(g.stride) +
         " p=" + std::to_string(g.padding);
}

// Window value at padded coordinates: the input, or `pad` outside it.
double at(const Mat<double>& x, const Pool2dGeometry& g, std::int64_t n, std::int64_t c,
          std::int64_t h, std::int64_t w, double pad) {
  if (h < 0 || h >= g.in.h || w < 0 || w >= g.in.w) return pad;
  return x(n, (c * g.in.h + h) * g.in.w + w);
}

// Direct pooling over an explicitly padded image: max with -inf padding (first maximum in
// window order, index h*W + w), average with zero padding divided by kh*kw.
void direct_pool(const Mat<double>& x, const Pool2dGeometry& g, Mat<double>& ymax,
                 ArgmaxIndices& idx, Mat<double>& yavg) {
  const Shape out = pool2d_output_shape(g);
  const double ninf = -std::numeric_limits<double>::infinity();
  ymax.resize(x.rows(), out.size());
  yavg.resize(x.rows(), out.size());
  idx.resize(x.rows(), out.size());
  for (std::int64_t n = 0; n < x.rows(); ++n)
    for (std::int64_t c = 0; c < g.in.c; ++c)
      for (std::int64_t ho = 0; ho < out.h; ++ho)
        for (std::int64_t wo = 0; wo < out.w; ++wo) {
          double best = ninf, sum = 0;
          std::int64_t best_at = -1;
          for (std::int64_t i = 0; i < g.kernel_h; ++i)
            for (std::int64_t j = 0; j < g.kernel_w; ++j) {
              const std::int64_t h = ho * g.stride - g.padding + i;
              const std::int64_t w = wo * g.stride - g.padding + j;
              const double v = at(x, g, n, c, h, w, ninf);
              if (v > best) {
                best = v;
                best_at = h * g.in.w + w;
              }
              sum += at(x, g, n, c, h, w, 0.0);
            }
          const std::int64_t k = (c * out.h + ho) * out.w + wo;
          ymax(n, k) = best;
          idx(n, k) = static_cast<std::int32_t>(best_at);
          yavg(n, k) = sum / static_cast<double>(g.kernel_h * g.kernel_w);
        }
}

TEST(Pool2dOutputShape, FollowsPyTorchFloorMode) {
  EXPECT_EQ(pool2d_output_shape(pool_geom(64, 32, 32, 3, 3, 2, 1)), (Shape{64, 16, 16}));
  EXPECT_EQ(pool2d_output_shape(pool_geom(8, 28, 28, 2, 2, 2, 0)), (Shape{8, 14, 14}));
  EXPECT_EQ(pool2d_output_shape(pool_geom(3, 5, 5, 2, 2, 2, 0)), (Shape{3, 2, 2}));
}

TEST(Pool2dGeometryValidation, RejectsInvalidGeometry) {
  EXPECT_THROW(pool2d_output_shape(pool_geom(1, 4, 4, 2, 2, 2, 2)),
               core::InternalError);  // p > k/2
  EXPECT_THROW(pool2d_output_shape(pool_geom(1, 4, 4, 2, 2, 0, 0)), core::InternalError);
  EXPECT_THROW(pool2d_output_shape(pool_geom(1, 2, 2, 3, 3, 1, 0)), core::InternalError);
  EXPECT_THROW(pool2d_output_shape(pool_geom(0, 4, 4, 2, 2, 2, 0)), core::InternalError);
}

TEST(MaxPoolForward, MatchesDirectLoops) {
  Rng rng = testing::rng_for_test();
  for (const Pool2dGeometry& g : pool_geometries()) {
    SCOPED_TRACE(pool_name(g));
    const Mat<double> x = random_mat(rng, 3, g.in.size());
    Mat<double> y, ymax, yavg;
    ArgmaxIndices idx, idx_expected;
    maxpool2d_forward(x, g, y, idx);
    direct_pool(x, g, ymax, idx_expected, yavg);
    EXPECT_EQ(y, ymax);
    EXPECT_EQ(idx, idx_expected);
  }
}

TEST(MaxPoolForward, RecordsPyTorchIndicesOnHandExample) {
  // One 4x4 plane, kernel 2, stride 2: torch.nn.functional.max_pool2d(..., return_indices=True)
  Mat<double> x(1, 16);
  x << 1, 5, 2, 0,   //
      3, 4, 8, 8,    //
      -1, -2, 7, 6,  //
      -3, -1, 6, 7;
  const Pool2dGeometry g = pool_geom(1, 4, 4, 2, 2, 2, 0);
  Mat<double> y;
  ArgmaxIndices idx;
  maxpool2d_forward(x, g, y, idx);
  Mat<double> y_expected(1, 4);
  y_expected << 5, 8, -1, 7;
  ArgmaxIndices idx_expected(1, 4);
  idx_expected << 1, 6, 8, 10;  // ties: the first in window order wins (6/7, 8/13, 10/15)
  EXPECT_EQ(y, y_expected);
  EXPECT_EQ(idx, idx_expected);

  Mat<double> dy(1, 4), dx;
  dy << 10, 20, 30, 40;
  maxpool2d_backward(dy, idx, g, dx);
  Mat<double> dx_expected = Mat<double>::Zero(1, 16);
  dx_expected(0, 1) = 10;
  dx_expected(0, 6) = 20;
  dx_expected(0, 8) = 30;
  dx_expected(0, 10) = 40;
  EXPECT_EQ(dx, dx_expected);
}

TEST(MaxPoolForward, PropagatesNaNLikePyTorch) {
  Mat<double> x(1, 4);
  x << 1, std::nan(""), 3, 2;
  Mat<double> y;
  ArgmaxIndices idx;
  maxpool2d_forward(x, pool_geom(1, 2, 2, 2, 2, 2, 0), y, idx);
  EXPECT_TRUE(std::isnan(y(0, 0)));
  EXPECT_EQ(idx(0, 0), 1);
}

TEST(MaxPoolBackward, AccumulatesOverlappingWindows) {
  // Stride 1 windows overlap: an element that is the maximum of several windows receives
  // the sum of their gradients.
  Mat<double> x(1, 9);
  x << 0, 0, 0, 0, 9, 0, 0, 0, 0;
  const Pool2dGeometry g = pool_geom(1, 3, 3, 2, 2, 1, 0);
  Mat<double> y, dx;
  ArgmaxIndices idx;
  maxpool2d_forward(x, g, y, idx);
  Mat<double> dy(1, 4);
  dy << 1, 2, 3, 4;
  maxpool2d_backward(dy, idx, g, dx);
  EXPECT_EQ(dx(0, 4), 10.0);
  EXPECT_EQ(dx.sum(), 10.0);
}

TEST(MaxPoolGradient, MatchesFiniteDifferences) {
  Rng rng = testing::rng_for_test();
  for (const Pool2dGeometry& g : pool_geometries()) {
    SCOPED_TRACE(pool_name(g));
    const Shape out = pool2d_output_shape(g);
    // Distinct values 0.01 apart: no ties within a finite-difference step.
    Mat<double> x = testing::random_mat_distinct(rng, 2, g.in.size(), 0.01);
    const Mat<double> r = random_mat(rng, 2, out.size());
    auto loss = [&]() {
      Mat<double> y;
      ArgmaxIndices idx;
      maxpool2d_forward(x, g, y, idx);
      return weighted_sum(r, y);
    };
    Mat<double> y, dx;
    ArgmaxIndices idx;
    maxpool2d_forward(x, g, y, idx);
    maxpool2d_backward(r, idx, g, dx);
    EXPECT_LT(max_relative_error(dx, numeric_gradient(x, loss)), kGradTolerance);
  }
}

TEST(AvgPoolForward, MatchesDirectLoops) {
  Rng rng = testing::rng_for_test();
  for (const Pool2dGeometry& g : pool_geometries()) {
    SCOPED_TRACE(pool_name(g));
    const Mat<double> x = random_mat(rng, 3, g.in.size());
    Mat<double> y, ymax, yavg;
    ArgmaxIndices idx;
    avgpool2d_forward(x, g, y);
    direct_pool(x, g, ymax, idx, yavg);
    EXPECT_LT((y - yavg).cwiseAbs().maxCoeff(), 1e-14);
  }
}

TEST(AvgPoolForward, CountsPaddingLikePyTorchDefault) {
  // torch.nn.functional.avg_pool2d(torch.tensor([[[[1., 2.], [3., 4.]]]]), 2, 1, 1)
  Mat<double> x(1, 4);
  x << 1, 2, 3, 4;
  Mat<double> y;
  avgpool2d_forward(x, pool_geom(1, 2, 2, 2, 2, 1, 1), y);
  Mat<double> expected(1, 9);
  expected << 0.25, 0.75, 0.5, 1.0, 2.5, 1.5, 0.75, 1.75, 1.0;
  EXPECT_LT((y - expected).cwiseAbs().maxCoeff(), 1e-15);
}

TEST(AvgPoolGradient, MatchesFiniteDifferences) {
  Rng rng = testing::rng_for_test();
  for (const Pool2dGeometry& g : pool_geometries()) {
    SCOPED_TRACE(pool_name(g));
    const Shape out = pool2d_output_shape(g);
    Mat<double> x = random_mat(rng, 2, g.in.size());
    const Mat<double> r = random_mat(rng, 2, out.size());
    auto loss = [&]() {
      Mat<double> y;
      avgpool2d_forward(x, g, y);
      return weighted_sum(r, y);
    };
    Mat<double> dx;
    avgpool2d_backward(r, g, dx);
    EXPECT_LT(max_relative_error(dx, numeric_gradient(x, loss)), kGradTolerance);
  }
}

TEST(GlobalAvgPoolForward, AveragesEachChannelPlane) {
  Mat<double> x(2, 8);
  x << 1, 2, 3, 4, 10, 10, 10, 14,  //
      0, 0, 0, 0, -4, 4, -8, 8;
  Mat<double> y;
  global_avgpool_forward(x, Shape{2, 2, 2}, y);
  Mat<double> expected(2, 2);
  expected << 2.5, 11, 0, 0;
  EXPECT_EQ(y, expected);
}

TEST(GlobalAvgPoolGradient, MatchesFiniteDifferences) {
  Rng rng = testing::rng_for_test();
  const Shape in{3, 4, 5};
  Mat<double> x = random_mat(rng, 2, in.size());
  const Mat<double> r = random_mat(rng, 2, in.c);
  auto loss = [&]() {
    Mat<double> y;
    global_avgpool_forward(x, in, y);
    return weighted_sum(r, y);
  };
  Mat<double> dx;
  global_avgpool_backward(r, in, dx);
  EXPECT_LT(max_relative_error(dx, numeric_gradient(x, loss)), kGradTolerance);
}

}  // namespace
}  // namespace lpsim::ops
