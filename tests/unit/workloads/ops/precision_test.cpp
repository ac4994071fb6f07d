// The float instantiation (training) against the double one (gradient checks): the same
// inputs, rounded to float, must give the same results to float precision.

#include <gtest/gtest.h>

#include "tests/unit/workloads/ops/ops_test_util.h"
#include "workloads/ops/ops.h"

namespace lpsim::ops {
namespace {

using testing::float_vs_double;
using testing::random_mat;
using testing::random_vec;

// About 100 float ulps of the result's scale: sums of up to a few hundred rounded terms.
constexpr double kFloatTolerance = 1e-5;

Mat<float> f(const Mat<double>& m) { return m.cast<float>(); }
Vec<float> f(const Vec<double>& v) { return v.cast<float>(); }

TEST(FloatDoubleAgreement, Linear) {
  Rng rng = testing::rng_for_test();
  const Mat<double> x = random_mat(rng, 8, 50), w = random_mat(rng, 20, 50);
  const Vec<double> b = random_vec(rng, 20);
  const Mat<double> dy = random_mat(rng, 8, 20);
  Mat<double> y, dx, dw;
  Vec<double> db;
  Mat<float> yf, dxf, dwf;
  Vec<float> dbf;
  linear_forward(x, w, b, y);
  linear_forward(f(x), f(w), f(b), yf);
  linear_backward_input(dy, w, dx);
  linear_backward_input(f(dy), f(w), dxf);
  linear_backward_weights(x, dy, dw, db);
  linear_backward_weights(f(x), f(dy), dwf, dbf);
  EXPECT_LT(float_vs_double(yf, y), kFloatTolerance);
  EXPECT_LT(float_vs_double(dxf, dx), kFloatTolerance);
  EXPECT_LT(float_vs_double(dwf, dw), kFloatTolerance);
  EXPECT_LT(float_vs_double(dbf, db), kFloatTolerance);
}

TEST(FloatDoubleAgreement, Conv2d) {
  Rng rng = testing::rng_for_test();
  Conv2dGeometry g;
  g.in = Shape{3, 9, 8};
  g.out_channels = 5;
  g.kernel_h = 3;
  g.kernel_w = 3;
  g.stride = 2;
  g.padding = 1;
  const Shape out = conv2d_output_shape(g);
  const Mat<double> x = random_mat(rng, 4, g.in.size());
  const Mat<double> w = random_mat(rng, 5, g.patch_size());
  const Vec<double> b = random_vec(rng, 5);
  const Mat<double> dy = random_mat(rng, 4, out.size());
  Mat<double> y, dx, dw;
  Vec<double> db;
  Mat<float> yf, dxf, dwf;
  Vec<float> dbf;
  conv2d_forward(x, w, b, g, y);
  conv2d_forward(f(x), f(w), f(b), g, yf);
  conv2d_backward_input(dy, w, g, dx);
  conv2d_backward_input(f(dy), f(w), g, dxf);
  conv2d_backward_weights(x, dy, g, dw, db);
  conv2d_backward_weights(f(x), f(dy), g, dwf, dbf);
  EXPECT_LT(float_vs_double(yf, y), kFloatTolerance);
  EXPECT_LT(float_vs_double(dxf, dx), kFloatTolerance);
  EXPECT_LT(float_vs_double(dwf, dw), kFloatTolerance);
  EXPECT_LT(float_vs_double(dbf, db), kFloatTolerance);
}

TEST(FloatDoubleAgreement, ReluResidualAndPooling) {
  Rng rng = testing::rng_for_test();
  Pool2dGeometry g;
  g.in = Shape{3, 6, 6};
  g.kernel_h = 3;
  g.kernel_w = 3;
  g.stride = 2;
  g.padding = 1;
  const Shape out = pool2d_output_shape(g);
  const Mat<double> x = testing::random_mat_distinct(rng, 3, g.in.size(), 0.01);
  const Mat<double> x2 = random_mat(rng, 3, g.in.size());
  const Mat<double> dy = random_mat(rng, 3, out.size());
  const Mat<double> dyc = random_mat(rng, 3, 3);
  Mat<double> y, dx;
  Mat<float> yf, dxf;
  relu_forward(x, y);
  relu_forward(f(x), yf);
  EXPECT_LT(float_vs_double(yf, y), kFloatTolerance);
  relu_backward(x2, x, dx);
  relu_backward(f(x2), f(x), dxf);
  EXPECT_LT(float_vs_double(dxf, dx), kFloatTolerance);
  residual_add_forward(x, x2, y);
  residual_add_forward(f(x), f(x2), yf);
  EXPECT_LT(float_vs_double(yf, y), kFloatTolerance);

  ArgmaxIndices idx, idxf;
  maxpool2d_forward(x, g, y, idx);
  maxpool2d_forward(f(x), g, yf, idxf);
  EXPECT_LT(float_vs_double(yf, y), kFloatTolerance);
  EXPECT_EQ(idx, idxf);
  maxpool2d_backward(dy, idx, g, dx);
  maxpool2d_backward(f(dy), idxf, g, dxf);
  EXPECT_LT(float_vs_double(dxf, dx), kFloatTolerance);

  avgpool2d_forward(x2, g, y);
  avgpool2d_forward(f(x2), g, yf);
  EXPECT_LT(float_vs_double(yf, y), kFloatTolerance);
  avgpool2d_backward(dy, g, dx);
  avgpool2d_backward(f(dy), g, dxf);
  EXPECT_LT(float_vs_double(dxf, dx), kFloatTolerance);

  global_avgpool_forward(x2, g.in, y);
  global_avgpool_forward(f(x2), g.in, yf);
  EXPECT_LT(float_vs_double(yf, y), kFloatTolerance);
  global_avgpool_backward(dyc, g.in, dx);
  global_avgpool_backward(f(dyc), g.in, dxf);
  EXPECT_LT(float_vs_double(dxf, dx), kFloatTolerance);
}

TEST(FloatDoubleAgreement, BatchNorm) {
  Rng rng = testing::rng_for_test();
  const Shape shape{4, 5, 5};
  const Mat<double> x = random_mat(rng, 6, shape.size(), -1.0, 3.0);
  const Mat<double> dy = random_mat(rng, 6, shape.size());
  const Vec<double> gamma = random_vec(rng, 4, 0.5, 1.5), beta = random_vec(rng, 4);
  Vec<double> rm = random_vec(rng, 4), rv = random_vec(rng, 4, 0.5, 2.0);
  Vec<float> rmf = f(rm), rvf = f(rv);
  Mat<double> y, dx;
  Mat<float> yf, dxf;
  BatchNormSaved<double> saved;
  BatchNormSaved<float> savedf;
  batchnorm2d_forward_train(x, shape, gamma, beta, rm, rv, y, saved);
  batchnorm2d_forward_train(f(x), shape, f(gamma), f(beta), rmf, rvf, yf, savedf);
  EXPECT_LT(float_vs_double(yf, y), kFloatTolerance);
  EXPECT_LT(float_vs_double(rmf, rm), kFloatTolerance);
  EXPECT_LT(float_vs_double(rvf, rv), kFloatTolerance);
  batchnorm2d_backward_input(dy, gamma, saved, dx);
  batchnorm2d_backward_input(f(dy), f(gamma), savedf, dxf);
  EXPECT_LT(float_vs_double(dxf, dx), kFloatTolerance);
  Vec<double> dgamma, dbeta;
  Vec<float> dgammaf, dbetaf;
  batchnorm2d_backward_weights(dy, saved, dgamma, dbeta);
  batchnorm2d_backward_weights(f(dy), savedf, dgammaf, dbetaf);
  EXPECT_LT(float_vs_double(dgammaf, dgamma), kFloatTolerance);
  EXPECT_LT(float_vs_double(dbetaf, dbeta), kFloatTolerance);
  batchnorm2d_forward_eval(x, shape, gamma, beta, rm, rv, y);
  batchnorm2d_forward_eval(f(x), shape, f(gamma), f(beta), rmf, rvf, yf);
  EXPECT_LT(float_vs_double(yf, y), kFloatTolerance);
}

TEST(FloatDoubleAgreement, SoftmaxCrossEntropy) {
  Rng rng = testing::rng_for_test();
  const Mat<double> logits = random_mat(rng, 16, 10, -5.0, 5.0);
  Labels labels(16);
  for (std::int64_t b = 0; b < 16; ++b) labels(b) = static_cast<std::int32_t>(rng.uniform_int(10));
  Mat<double> probs, dlogits;
  Mat<float> probsf, dlogitsf;
  const double loss = softmax_cross_entropy_forward(logits, labels, probs);
  const float lossf = softmax_cross_entropy_forward(f(logits), labels, probsf);
  EXPECT_LT(std::abs(lossf - loss) / std::max(1.0, std::abs(loss)), kFloatTolerance);
  EXPECT_LT(float_vs_double(probsf, probs), kFloatTolerance);
  softmax_cross_entropy_backward(probs, labels, dlogits);
  softmax_cross_entropy_backward(probsf, labels, dlogitsf);
  EXPECT_LT(float_vs_double(dlogitsf, dlogits), kFloatTolerance);
  EXPECT_EQ(count_correct(logits, labels), count_correct(f(logits), labels));
}

}  // namespace
}  // namespace lpsim::ops
