#include "workloads/ops/conv2d.h"

#include <gtest/gtest.h>

#include <vector>

#include "core/errors.h"
#include "tests/unit/workloads/ops/ops_test_util.h"
#if LPSIM_ONEDNN
#include "workloads/ops/conv2d_onednn.h"
#endif

namespace lpsim::ops {
namespace {

using testing::kGradTolerance;
using testing::max_relative_error;
using testing::numeric_gradient;
using testing::random_mat;
using testing::random_vec;
using testing::weighted_sum;

Conv2dGeometry geom(std::int64_t c, std::int64_t h, std::int64_t w, std::int64_t o, std::int64_t kh,
                    std::int64_t kw, std::int64_t s, std::int64_t p) {
  Conv2dGeometry g;
  g.in = Shape{c, h, w};
  g.out_channels = o;
  g.kernel_h = kh;
  g.kernel_w = kw;
  g.stride = s;
  g.padding = p;
  return g;
}

// Geometries covering stride 1/2/3, padding 0..3, square, rectangular, 1x1 kernels, a
// kernel larger than the unpadded input and strides that leave input rows unused.
std::vector<Conv2dGeometry> geometries() {
  return {geom(1, 5, 5, 1, 3, 3, 1, 0), geom(3, 7, 6, 4, 3, 3, 1, 1),
          geom(2, 8, 8, 3, 3, 3, 2, 1), geom(2, 9, 7, 5, 5, 3, 2, 2),
          geom(4, 6, 6, 2, 1, 1, 1, 0), geom(2, 7, 7, 3, 4, 4, 3, 0),
          geom(1, 2, 3, 2, 5, 5, 1, 2), geom(3, 11, 10, 6, 7, 7, 2, 3),
          geom(4, 8, 8, 8, 1, 1, 2, 0), geom(2, 5, 9, 3, 2, 4, 1, 1)};
}

std::string name(const Conv2dGeometry& g) {
  return "C=" + std::to_string(g.in.c) + " H=" + std::to_string(g.in.h) +
         " W=" + std::to_string(g.in.w) + " O=" + std::to_string(g.out_channels) +
         " k=" + std::to_string(g.kernel_h) + "x" + std::to_string(g.kernel_w) +
         " s=" + std::to_string(g.stride) + " p=" + std::to_string(g.padding);
}

// Direct nested-loop convolution and its two adjoints, the definitions the GEMM lowering
// must reproduce.
struct Direct {
  const Conv2dGeometry& g;
  Shape out;
  explicit Direct(const Conv2dGeometry& geometry)
      : g(geometry), out(conv2d_output_shape(geometry)) {}

  template <typename Visit>
  void for_each_tap(std::int64_t batch, Visit visit) const {
    const std::int64_t C = g.in.c, H = g.in.h, W = g.in.w;
    for (std::int64_t n = 0; n < batch; ++n)
      for (std::int64_t o = 0; o < g.out_channels; ++o)
        for (std::int64_t ho = 0; ho < out.h; ++ho)
          for (std::int64_t wo = 0; wo < out.w; ++wo)
            for (std::int64_t c = 0; c < C; ++c)
              for (std::int64_t i = 0; i < g.kernel_h; ++i)
                for (std::int64_t j = 0; j < g.kernel_w; ++j) {
                  const std::int64_t hi = ho * g.stride - g.padding + i;
                  const std::int64_t wi = wo * g.stride - g.padding + j;
                  if (hi < 0 || hi >= H || wi < 0 || wi >= W) continue;
                  visit(n, (o * out.h + ho) * out.w + wo, (c * H + hi) * W + wi, o,
                        (c * g.kernel_h + i) * g.kernel_w + j);
                }
  }

  Mat<double> forward(const Mat<double>& x, const Mat<double>& w, const Vec<double>& b) const {
    Mat<double> y(x.rows(), out.size());
    for (std::int64_t n = 0; n < x.rows(); ++n)
      for (std::int64_t o = 0; o < g.out_channels; ++o)
        y.row(n).segment(o * out.h * out.w, out.h * out.w).setConstant(b(o));
    for_each_tap(x.rows(), [&](std::int64_t n, std::int64_t yi, std::int64_t xi, std::int64_t o,
                               std::int64_t wi) { y(n, yi) += x(n, xi) * w(o, wi); });
    return y;
  }
  Mat<double> backward_input(const Mat<double>& dy, const Mat<double>& w) const {
    Mat<double> dx = Mat<double>::Zero(dy.rows(), g.in.size());
    for_each_tap(dy.rows(), [&](std::int64_t n, std::int64_t yi, std::int64_t xi, std::int64_t o,
                                std::int64_t wi) { dx(n, xi) += dy(n, yi) * w(o, wi); });
    return dx;
  }
  Mat<double> backward_weights(const Mat<double>& x, const Mat<double>& dy) const {
    Mat<double> dw = Mat<double>::Zero(g.out_channels, g.patch_size());
    for_each_tap(x.rows(), [&](std::int64_t n, std::int64_t yi, std::int64_t xi, std::int64_t o,
                               std::int64_t wi) { dw(o, wi) += dy(n, yi) * x(n, xi); });
    return dw;
  }
};

TEST(Conv2dOutputShape, FollowsFloorFormula) {
  EXPECT_EQ(conv2d_output_shape(geom(3, 32, 32, 64, 7, 7, 2, 3)), (Shape{64, 16, 16}));
  EXPECT_EQ(conv2d_output_shape(geom(1, 28, 28, 8, 3, 3, 1, 1)), (Shape{8, 28, 28}));
  EXPECT_EQ(conv2d_output_shape(geom(2, 7, 7, 3, 4, 4, 3, 0)), (Shape{3, 2, 2}));
  EXPECT_EQ(conv2d_output_shape(geom(2, 5, 9, 3, 2, 4, 1, 1)), (Shape{3, 6, 8}));
}

TEST(Conv2dGeometryValidation, RejectsInvalidGeometry) {
  EXPECT_THROW(conv2d_output_shape(geom(1, 3, 3, 1, 5, 5, 1, 0)), core::InternalError);
  EXPECT_THROW(conv2d_output_shape(geom(1, 3, 3, 1, 3, 3, 0, 0)), core::InternalError);
  EXPECT_THROW(conv2d_output_shape(geom(1, 3, 3, 1, 3, 3, 1, -1)), core::InternalError);
  EXPECT_THROW(conv2d_output_shape(geom(0, 3, 3, 1, 3, 3, 1, 0)), core::InternalError);
  EXPECT_THROW(conv2d_output_shape(geom(1, 3, 3, 0, 3, 3, 1, 0)), core::InternalError);
  EXPECT_THROW(conv2d_output_shape(geom(1, 3, 3, 1, 0, 3, 1, 0)), core::InternalError);
  Mat<double> y;
  const Conv2dGeometry g = geom(2, 4, 4, 3, 3, 3, 1, 1);
  EXPECT_THROW(conv2d_forward(Mat<double>::Zero(1, 32), Mat<double>::Zero(3, 17),
                              Vec<double>::Zero(3), g, y),
               core::InternalError);
}

TEST(Conv2dForward, MatchesDirectConvolution) {
  Rng rng = testing::rng_for_test();
  for (const Conv2dGeometry& g : geometries()) {
    SCOPED_TRACE(name(g));
    const Direct direct(g);
    const Mat<double> x = random_mat(rng, 3, g.in.size());
    const Mat<double> w = random_mat(rng, g.out_channels, g.patch_size());
    const Vec<double> b = random_vec(rng, g.out_channels);
    Mat<double> y;
    conv2d_forward(x, w, b, g, y);
    const Mat<double> expected = direct.forward(x, w, b);
    ASSERT_EQ(y.rows(), expected.rows());
    ASSERT_EQ(y.cols(), expected.cols());
    EXPECT_LT((y - expected).cwiseAbs().maxCoeff(), 1e-12);
  }
}

TEST(Conv2dBackward, MatchesDirectAdjoints) {
  Rng rng = testing::rng_for_test();
  for (const Conv2dGeometry& g : geometries()) {
    SCOPED_TRACE(name(g));
    const Direct direct(g);
    const Mat<double> x = random_mat(rng, 3, g.in.size());
    const Mat<double> w = random_mat(rng, g.out_channels, g.patch_size());
    const Mat<double> dy = random_mat(rng, 3, direct.out.size());
    Mat<double> dx, dw;
    Vec<double> db;
    conv2d_backward_input(dy, w, g, dx);
    conv2d_backward_weights(x, dy, g, dw, db);
    EXPECT_LT((dx - direct.backward_input(dy, w)).cwiseAbs().maxCoeff(), 1e-12);
    EXPECT_LT((dw - direct.backward_weights(x, dy)).cwiseAbs().maxCoeff(), 1e-12);
    Vec<double> db_expected = Vec<double>::Zero(g.out_channels);
    const std::int64_t plane = direct.out.h * direct.out.w;
    for (std::int64_t n = 0; n < dy.rows(); ++n)
      for (std::int64_t o = 0; o < g.out_channels; ++o)
        db_expected(o) += dy.row(n).segment(o * plane, plane).sum();
    EXPECT_LT((db - db_expected).cwiseAbs().maxCoeff(), 1e-12);
  }
}

TEST(Conv2dGradient, MatchesFiniteDifferences) {
  Rng rng = testing::rng_for_test();
  const std::vector<Conv2dGeometry> gs = {
      geom(2, 5, 6, 3, 3, 3, 1, 1), geom(3, 7, 7, 2, 3, 2, 2, 1), geom(2, 6, 5, 2, 3, 3, 2, 0),
      geom(1, 3, 3, 2, 5, 5, 1, 2)};
  for (const Conv2dGeometry& g : gs) {
    SCOPED_TRACE(name(g));
    const Shape out = conv2d_output_shape(g);
    Mat<double> x = random_mat(rng, 2, g.in.size());
    Mat<double> w = random_mat(rng, g.out_channels, g.patch_size());
    Vec<double> b = random_vec(rng, g.out_channels);
    const Mat<double> r = random_mat(rng, 2, out.size());
    Conv2dWorkspace<double> ws;
    auto loss = [&]() {
      Mat<double> y;
      conv2d_forward(x, w, b, g, y, ws);
      return weighted_sum(r, y);
    };
    Mat<double> dx, dw;
    Vec<double> db;
    conv2d_backward_input(r, w, g, dx, ws);
    conv2d_backward_weights(x, r, g, dw, db, ws);
    EXPECT_LT(max_relative_error(dx, numeric_gradient(x, loss)), kGradTolerance);
    EXPECT_LT(max_relative_error(dw, numeric_gradient(w, loss)), kGradTolerance);
    EXPECT_LT(max_relative_error(db, numeric_gradient(b, loss)), kGradTolerance);
  }
}

TEST(Conv2dWorkspaceReuse, GivesTheSameResultsAcrossGeometries) {
  Rng rng = testing::rng_for_test();
  Conv2dWorkspace<double> shared;
  for (const Conv2dGeometry& g : geometries()) {
    SCOPED_TRACE(name(g));
    const Mat<double> x = random_mat(rng, 2, g.in.size());
    const Mat<double> w = random_mat(rng, g.out_channels, g.patch_size());
    const Vec<double> b = random_vec(rng, g.out_channels);
    Mat<double> y_shared, y_fresh, dx_shared, dx_fresh, dw_shared, dw_fresh;
    Vec<double> db_shared, db_fresh;
    conv2d_forward(x, w, b, g, y_shared, shared);
    conv2d_forward(x, w, b, g, y_fresh);
    conv2d_backward_input(y_fresh, w, g, dx_shared, shared);
    conv2d_backward_input(y_fresh, w, g, dx_fresh);
    conv2d_backward_weights(x, y_fresh, g, dw_shared, db_shared, shared);
    conv2d_backward_weights(x, y_fresh, g, dw_fresh, db_fresh);
    EXPECT_EQ(y_shared, y_fresh);
    EXPECT_EQ(dx_shared, dx_fresh);
    EXPECT_EQ(dw_shared, dw_fresh);
    EXPECT_EQ(db_shared, db_fresh);
  }
}

TEST(Conv2dInputs, AcceptStridedBlocks) {
  Rng rng = testing::rng_for_test();
  const Conv2dGeometry g = geom(2, 5, 5, 3, 3, 3, 2, 1);
  const Shape out = conv2d_output_shape(g);
  const Mat<double> wide_x = random_mat(rng, 4, g.in.size() + 7);
  const Mat<double> wide_dy = random_mat(rng, 4, out.size() + 3);
  const Mat<double> w = random_mat(rng, g.out_channels, g.patch_size());
  const Vec<double> b = random_vec(rng, g.out_channels);
  const Mat<double> x = wide_x.block(1, 5, 3, g.in.size());
  const Mat<double> dy = wide_dy.block(1, 2, 3, out.size());
  Mat<double> y1, y2, dx1, dx2, dw1, dw2;
  Vec<double> db1, db2;
  conv2d_forward(wide_x.block(1, 5, 3, g.in.size()), w, b, g, y1);
  conv2d_forward(x, w, b, g, y2);
  conv2d_backward_input(wide_dy.block(1, 2, 3, out.size()), w, g, dx1);
  conv2d_backward_input(dy, w, g, dx2);
  conv2d_backward_weights(wide_x.block(1, 5, 3, g.in.size()), wide_dy.block(1, 2, 3, out.size()), g,
                          dw1, db1);
  conv2d_backward_weights(x, dy, g, dw2, db2);
  EXPECT_EQ(y1, y2);
  EXPECT_EQ(dx1, dx2);
  EXPECT_EQ(dw1, dw2);
  EXPECT_EQ(db1, db2);
}

#if LPSIM_ONEDNN
// Float convolutions run on oneDNN's kernels (conv2d_onednn.h); double ones, above, on im2col.

// Turns oneDNN off for one scope.
struct Im2colOnly {
  Im2colOnly() { onednn::set_enabled(false); }
  ~Im2colOnly() { onednn::set_enabled(true); }
};

// Max |a - b| allowed for sums of n products of numbers in [-1, 1] in float: n rounding errors
// of at most 2^-24 each, with a margin of 16.
double float_sum_bound(std::int64_t n) { return 16.0 * static_cast<double>(n) * 0x1p-24; }

TEST(Conv2dOnednn, MatchesTheDirectDefinitionsAndTheIm2colPath) {
  Rng rng = testing::rng_for_test();
  std::vector<std::pair<Conv2dGeometry, std::int64_t>> cases;
  for (const Conv2dGeometry& g : geometries()) cases.emplace_back(g, 3);
  // ResNet-18's kinds at 28x28 and a batch cut into several runs: 3x3, strided 3x3, the 1x1
  // downsample, the one-channel first layer.
  cases.emplace_back(geom(32, 14, 14, 32, 3, 3, 1, 1), 24);
  cases.emplace_back(geom(32, 14, 14, 64, 3, 3, 2, 1), 12);
  cases.emplace_back(geom(32, 14, 14, 64, 1, 1, 2, 0), 12);
  cases.emplace_back(geom(1, 28, 28, 16, 3, 3, 1, 1), 12);
  EXPECT_GT(onednn::onednn_parts(cases[cases.size() - 4].first, 24), 1);
  int backward_input_on_onednn = 0, backward_weights_on_onednn = 0;
  for (const auto& one_case : cases) {
    const Conv2dGeometry& g = one_case.first;  // not a structured binding: lambdas capture it
    const std::int64_t batch = one_case.second;
    SCOPED_TRACE(name(g) + " batch " + std::to_string(batch));
    // F always runs on oneDNN here; Ba and Bw where conv2d_onednn.h's rules let them.
    ASSERT_TRUE(onednn::supports(onednn::Pass::kForward, g, batch));
    backward_input_on_onednn += onednn::supports(onednn::Pass::kBackwardInput, g, batch);
    backward_weights_on_onednn += onednn::supports(onednn::Pass::kBackwardWeights, g, batch);
    const Direct direct(g);
    const Mat<double> x = random_mat(rng, batch, g.in.size());
    const Mat<double> w = random_mat(rng, g.out_channels, g.patch_size());
    const Vec<double> b = random_vec(rng, g.out_channels);
    const Mat<double> dy = random_mat(rng, batch, direct.out.size());
    const Mat<float> xf = x.cast<float>(), wf = w.cast<float>(), dyf = dy.cast<float>();
    const Vec<float> bf = b.cast<float>();
    struct Results {
      Mat<float> y, dx, dw;
      Vec<float> db;
    };
    const auto run = [&] {
      Results r;
      conv2d_forward(xf, wf, bf, g, r.y);
      conv2d_backward_input(dyf, wf, g, r.dx);
      conv2d_backward_weights(xf, dyf, g, r.dw, r.db);
      return r;
    };
    const Results dnn = run();
    Results im2col;
    {
      const Im2colOnly off;
      im2col = run();
    }
    const std::int64_t plane = direct.out.h * direct.out.w;
    Vec<double> db = Vec<double>::Zero(g.out_channels);
    for (std::int64_t n = 0; n < batch; ++n)
      for (std::int64_t o = 0; o < g.out_channels; ++o)
        db(o) += dy.row(n).segment(o * plane, plane).sum();
    const std::int64_t taps = g.kernel_h * g.kernel_w;
    const auto check = [&](const auto& got, const auto& expected, std::int64_t terms,
                           const char* what) {
      ASSERT_EQ(got.rows(), expected.rows()) << what;
      ASSERT_EQ(got.cols(), expected.cols()) << what;
      EXPECT_LE((got.template cast<double>() - expected).cwiseAbs().maxCoeff(),
                float_sum_bound(terms))
          << what;
    };
    check(dnn.y, direct.forward(x, w, b), g.patch_size() + 1, "F, oneDNN");
    check(dnn.dx, direct.backward_input(dy, w), g.out_channels * taps, "Ba, oneDNN");
    check(dnn.dw, direct.backward_weights(x, dy), batch * plane, "Bw dW, oneDNN");
    check(dnn.db, db, batch * plane, "Bw db, oneDNN");
    check(im2col.y, dnn.y.cast<double>(), g.patch_size() + 1, "F, im2col against oneDNN");
    check(im2col.dx, dnn.dx.cast<double>(), g.out_channels * taps, "Ba, im2col against oneDNN");
    check(im2col.dw, dnn.dw.cast<double>(), batch * plane, "Bw, im2col against oneDNN");
  }
  EXPECT_GE(backward_input_on_onednn, 3);    // the ResNet-like cases
  EXPECT_GE(backward_weights_on_onednn, 3);  // planes of 7x7 and more
}

// The two cases kept on im2col because oneDNN measured slower there (conv2d_onednn.h).
TEST(Conv2dOnednn, DeclinesThePassesItMeasuredSlowerOn) {
  const Conv2dGeometry one_channel = geom(1, 28, 28, 64, 3, 3, 1, 1);
  const Conv2dGeometry plane_4x4 = geom(512, 4, 4, 512, 3, 3, 1, 1);
  EXPECT_TRUE(onednn::supports(onednn::Pass::kForward, one_channel, 32));
  EXPECT_FALSE(onednn::supports(onednn::Pass::kBackwardInput, one_channel, 32));
  EXPECT_TRUE(onednn::supports(onednn::Pass::kBackwardWeights, one_channel, 32));
  EXPECT_TRUE(onednn::supports(onednn::Pass::kBackwardInput, plane_4x4, 32));
  EXPECT_FALSE(onednn::supports(onednn::Pass::kBackwardWeights, plane_4x4, 32));
  const Im2colOnly off;
  EXPECT_FALSE(onednn::supports(onednn::Pass::kForward, one_channel, 32));
}

// A strided operand (a block of a wider matrix) takes the im2col path: the same bits as the
// im2col path on a dense copy.
TEST(Conv2dOnednn, StridedOperandsTakeTheIm2colPath) {
  Rng rng = testing::rng_for_test();
  const Conv2dGeometry g = geom(8, 10, 10, 8, 3, 3, 1, 1);
  const Mat<float> wide_x = random_mat(rng, 6, g.in.size() + 5).cast<float>();
  const Mat<float> w = random_mat(rng, g.out_channels, g.patch_size()).cast<float>();
  const Vec<float> b = random_vec(rng, g.out_channels).cast<float>();
  const Mat<float> x = wide_x.block(0, 5, 6, g.in.size());
  Mat<float> y_strided, y_dense;
  conv2d_forward(wide_x.block(0, 5, 6, g.in.size()), w, b, g, y_strided);
  {
    const Im2colOnly off;
    conv2d_forward(x, w, b, g, y_dense);
  }
  EXPECT_EQ(y_strided, y_dense);
}

// How a batch is cut into runs depends on the shapes alone (the thread-count tests in
// parallel_test.cpp rely on it): one run for small work, at most one image per run.
TEST(Conv2dOnednn, RunsAreARuleOfTheShapes) {
  const Conv2dGeometry small = geom(2, 5, 5, 3, 3, 3, 1, 1);
  const Conv2dGeometry resnet = geom(64, 28, 28, 64, 3, 3, 1, 1);
  EXPECT_EQ(onednn::onednn_parts(small, 3), 1);
  EXPECT_EQ(onednn::onednn_parts(resnet, 32), 32);  // 1.85 GFLOP: one image a run
  EXPECT_EQ(onednn::onednn_parts(resnet, 1), 1);
  EXPECT_EQ(onednn::onednn_parts(resnet, 200), 64);  // 11.6 GFLOP: at most 64 runs
  EXPECT_EQ(onednn::onednn_parts(geom(16, 16, 16, 16, 3, 3, 1, 1), 64), 2);  // 75 MFLOP
  // Bw: at most 8 runs of at least 256 output pixels.
  EXPECT_EQ(onednn::onednn_weight_parts(small, 3), 1);
  EXPECT_EQ(onednn::onednn_weight_parts(resnet, 32), 8);
  EXPECT_EQ(onednn::onednn_weight_parts(geom(512, 4, 4, 512, 3, 3, 1, 1), 32), 2);
  EXPECT_EQ(onednn::onednn_weight_parts(geom(256, 7, 7, 256, 3, 3, 1, 1), 32), 6);
}
#endif

}  // namespace
}  // namespace lpsim::ops
