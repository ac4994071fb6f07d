// The transformer kernels (transformer.h): hand values and direct definitions, float64
// finite-difference gradients, the causal mask, shapes, float against double, thread-count
// independence, and PyTorch's float64 autograd where Debian's python3-torch is installed.

#include "workloads/ops/transformer.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/errors.h"
#include "tests/unit/workloads/ops/ops_test_util.h"
#include "workloads/ops/parallel.h"

namespace lpsim::ops::transformer_test {
namespace {

using testing::float_vs_double;
using testing::kGradTolerance;
using testing::max_relative_error;
using testing::numeric_gradient;
using testing::random_mat;
using testing::random_vec;
using testing::weighted_sum;

// About 100 float ulps of the result's scale (as precision_test.cpp).
constexpr double kFloatTolerance = 1e-5;

Mat<double> random_ids(Rng& rng, std::int64_t batch, std::int64_t context, std::int64_t vocab) {
  Mat<double> ids(batch, context);
  for (std::int64_t i = 0; i < ids.size(); ++i) {
    ids.data()[i] = static_cast<double>(rng.uniform_int(static_cast<std::uint64_t>(vocab)));
  }
  return ids;
}

// ---- layer norm ----

TEST(TransformerLayerNormForward, MatchesTheDefinitionPerRow) {
  Rng rng = testing::rng_for_test();
  const Mat<double> x = random_mat(rng, 7, 10, -3.0, 2.0);
  const Vec<double> gamma = random_vec(rng, 10, 0.5, 1.5), beta = random_vec(rng, 10);
  Mat<double> y;
  LayerNormSaved<double> saved;
  layernorm_forward(x, gamma, beta, y, saved);
  ASSERT_EQ(y.rows(), 7);
  ASSERT_EQ(y.cols(), 10);
  EXPECT_EQ(saved.saved_elements(), 7 * 10 + 7);
  for (std::int64_t r = 0; r < 7; ++r) {
    const double mean = x.row(r).mean();
    const double var = (x.row(r).array() - mean).square().mean();  // biased
    EXPECT_NEAR(saved.rstd(r), 1.0 / std::sqrt(var + 1e-5), 1e-14);
    for (std::int64_t j = 0; j < 10; ++j) {
      EXPECT_NEAR(y(r, j), (x(r, j) - mean) / std::sqrt(var + 1e-5) * gamma(j) + beta(j), 1e-14);
    }
  }
}

TEST(TransformerLayerNormShapes, RejectWrongParameterSizes) {
  Mat<double> y, dx;
  LayerNormSaved<double> saved;
  const Mat<double> x = Mat<double>::Ones(3, 4);
  EXPECT_THROW(layernorm_forward(x, Vec<double>::Ones(5), Vec<double>::Zero(4), y, saved),
               core::InternalError);
  layernorm_forward(x, Vec<double>::Ones(4), Vec<double>::Zero(4), y, saved);
  EXPECT_THROW(layernorm_backward_input(Mat<double>::Ones(2, 4), Vec<double>::Ones(4), saved, dx),
               core::InternalError);
}

TEST(TransformerLayerNormGradient, MatchesFiniteDifferences) {
  Rng rng = testing::rng_for_test();
  const std::int64_t n = 6, c = 5;
  Mat<double> x = random_mat(rng, n, c, -2.0, 2.0);
  Vec<double> gamma = random_vec(rng, c, 0.5, 1.5), beta = random_vec(rng, c);
  const Mat<double> r = random_mat(rng, n, c);  // dy
  auto loss = [&]() {
    Mat<double> y;
    LayerNormSaved<double> saved;
    layernorm_forward(x, gamma, beta, y, saved);
    return weighted_sum(r, y);
  };
  Mat<double> y, dx;
  Vec<double> dgamma, dbeta;
  LayerNormSaved<double> saved;
  layernorm_forward(x, gamma, beta, y, saved);
  layernorm_backward_input(r, gamma, saved, dx);
  layernorm_backward_weights(r, saved, dgamma, dbeta);
  EXPECT_LT(max_relative_error(dx, numeric_gradient(x, loss)), kGradTolerance);
  EXPECT_LT(max_relative_error(dgamma, numeric_gradient(gamma, loss)), kGradTolerance);
  EXPECT_LT(max_relative_error(dbeta, numeric_gradient(beta, loss)), kGradTolerance);
}

// ---- GELU ----

TEST(TransformerGeluForward, MatchesHandValues) {
  Mat<double> x(1, 5), y;
  x << 0.0, 1.0, -1.0, 3.0, -6.0;
  gelu_forward(x, y);
  // x * Phi(x): Phi(1) = 0.841344746068543, Phi(3) = 0.998650101968370, Phi(-6) = 9.866e-10.
  EXPECT_EQ(y(0, 0), 0.0);
  EXPECT_NEAR(y(0, 1), 0.8413447460685429, 1e-15);
  EXPECT_NEAR(y(0, 2), -0.15865525393145707, 1e-15);
  EXPECT_NEAR(y(0, 3), 2.9959503059052, 1e-12);
  // 1 + erf(-6 / sqrt(2)) cancels (PyTorch computes the same sum): about 1e-16 * |x| absolute.
  EXPECT_NEAR(y(0, 4), -6.0 * 9.865876450377e-10, 1e-15);
}

TEST(TransformerGeluGradient, MatchesFiniteDifferences) {
  Rng rng = testing::rng_for_test();
  Mat<double> x = random_mat(rng, 4, 9, -4.0, 4.0);
  const Mat<double> r = random_mat(rng, 4, 9);
  auto loss = [&]() {
    Mat<double> y;
    gelu_forward(x, y);
    return weighted_sum(r, y);
  };
  Mat<double> dx;
  gelu_backward(r, x, dx);
  ASSERT_EQ(dx.rows(), 4);
  ASSERT_EQ(dx.cols(), 9);
  EXPECT_LT(max_relative_error(dx, numeric_gradient(x, loss)), kGradTolerance);
  EXPECT_THROW(gelu_backward(Mat<double>(r.leftCols(8)), x, dx), core::InternalError);
}

// ---- embeddings ----

TEST(TransformerEmbeddingForward, GathersTheRowsOfTheIds) {
  Rng rng = testing::rng_for_test();
  const Mat<double> w = random_mat(rng, 5, 3);
  Mat<double> ids(2, 3);
  ids << 4, 0, 4,  //
      2, 2, 1;
  Mat<double> y;
  embedding_forward(ids, w, y);
  ASSERT_EQ(y.rows(), 6);
  ASSERT_EQ(y.cols(), 3);
  for (std::int64_t b = 0; b < 2; ++b) {
    for (std::int64_t t = 0; t < 3; ++t) {
      EXPECT_EQ(y.row(b * 3 + t), w.row(static_cast<std::int64_t>(ids(b, t))));
    }
  }
}

TEST(TransformerEmbeddingIds, RejectOutOfRangeAndFractionalIds) {
  const Mat<double> w = Mat<double>::Ones(4, 2);
  Mat<double> y, gw;
  for (const double bad : {-1.0, 4.0, 1.5, std::nan("")}) {
    Mat<double> ids = Mat<double>::Zero(1, 3);
    ids(0, 1) = bad;
    EXPECT_THROW(embedding_forward(ids, w, y), core::InternalError) << bad;
    EXPECT_THROW(embedding_backward_weights(ids, Mat<double>::Ones(3, 2), 4, gw),
                 core::InternalError)
        << bad;
  }
  EXPECT_THROW(embedding_backward_weights(Mat<double>::Zero(1, 3), Mat<double>::Ones(2, 2), 4, gw),
               core::InternalError);
}

TEST(TransformerEmbeddingGradient, MatchesFiniteDifferencesWithRepeatedIds) {
  Rng rng = testing::rng_for_test();
  const std::int64_t batch = 3, context = 4, vocab = 6, c = 3;
  const Mat<double> ids = random_ids(rng, batch, context, vocab - 1);  // id 5 never used
  Mat<double> w = random_mat(rng, vocab, c);
  const Mat<double> r = random_mat(rng, batch * context, c);
  auto loss = [&]() {
    Mat<double> y;
    embedding_forward(ids, w, y);
    return weighted_sum(r, y);
  };
  Mat<double> gw;
  embedding_backward_weights(ids, r, vocab, gw);
  ASSERT_EQ(gw.rows(), vocab);
  ASSERT_EQ(gw.cols(), c);
  EXPECT_LT(max_relative_error(gw, numeric_gradient(w, loss)), kGradTolerance);
  EXPECT_EQ(gw.row(vocab - 1), Mat<double>::Zero(1, c));
}

TEST(TransformerPositionEmbedding, AddsTheTableToEverySampleAndSumsItsGradientOverThem) {
  Rng rng = testing::rng_for_test();
  const std::int64_t batch = 3, context = 4, c = 5;
  Mat<double> x = random_mat(rng, batch * context, c);
  Mat<double> w = random_mat(rng, context, c);
  const Mat<double> r = random_mat(rng, batch * context, c);
  Mat<double> y, gw;
  position_embedding_forward(x, w, y);
  ASSERT_EQ(y.rows(), batch * context);
  for (std::int64_t b = 0; b < batch; ++b) {
    EXPECT_EQ(Mat<double>(y.middleRows(b * context, context)),
              Mat<double>(x.middleRows(b * context, context) + w));
  }
  auto loss = [&]() {
    Mat<double> out;
    position_embedding_forward(x, w, out);
    return weighted_sum(r, out);
  };
  position_embedding_backward_weights(r, context, gw);
  ASSERT_EQ(gw.rows(), context);
  ASSERT_EQ(gw.cols(), c);
  EXPECT_LT(max_relative_error(gw, numeric_gradient(w, loss)), kGradTolerance);
  // The input gradient is dy itself (no kernel).
  EXPECT_LT(max_relative_error(r, numeric_gradient(x, loss)), kGradTolerance);
  EXPECT_THROW(position_embedding_forward(Mat<double>(x.topRows(5)), w, y), core::InternalError);
  EXPECT_THROW(position_embedding_backward_weights(Mat<double>(r.topRows(5)), context, gw),
               core::InternalError);
}

// ---- causal self-attention ----

// The definition written out with loops (nanoGPT's CausalSelfAttention without dropout).
Mat<double> attention_by_loops(const Mat<double>& qkv, std::int64_t batch, std::int64_t context,
                               std::int64_t heads) {
  const std::int64_t c = qkv.cols() / 3, hs = c / heads;
  Mat<double> y = Mat<double>::Zero(batch * context, c);
  for (std::int64_t b = 0; b < batch; ++b) {
    for (std::int64_t h = 0; h < heads; ++h) {
      for (std::int64_t i = 0; i < context; ++i) {
        std::vector<double> s(static_cast<std::size_t>(i + 1));
        double top = -1e300, sum = 0.0;
        for (std::int64_t j = 0; j <= i; ++j) {
          double dot = 0.0;
          for (std::int64_t e = 0; e < hs; ++e) {
            dot += qkv(b * context + i, h * hs + e) * qkv(b * context + j, c + h * hs + e);
          }
          s[static_cast<std::size_t>(j)] = dot / std::sqrt(static_cast<double>(hs));
          top = std::max(top, s[static_cast<std::size_t>(j)]);
        }
        for (double& v : s) sum += (v = std::exp(v - top));
        for (std::int64_t j = 0; j <= i; ++j) {
          for (std::int64_t e = 0; e < hs; ++e) {
            y(b * context + i, h * hs + e) +=
                s[static_cast<std::size_t>(j)] / sum * qkv(b * context + j, 2 * c + h * hs + e);
          }
        }
      }
    }
  }
  return y;
}

TEST(TransformerAttentionForward, MatchesTheDefinitionOverSeveralTiles) {
  Rng rng = testing::rng_for_test();
  // T = 70: query tiles of 32, 32 and 6 rows.
  for (const std::int64_t context : {std::int64_t{5}, 2 * kAttentionTile + 6}) {
    const std::int64_t batch = 2, heads = 3, c = 12;
    const Mat<double> qkv = random_mat(rng, batch * context, 3 * c, -2.0, 2.0);
    Mat<double> y;
    AttentionSaved<double> saved;
    causal_attention_forward(qkv, batch, context, heads, y, saved);
    ASSERT_EQ(y.rows(), batch * context);
    ASSERT_EQ(y.cols(), c);
    ASSERT_EQ(saved.p.rows(), batch * heads * context);
    ASSERT_EQ(saved.p.cols(), context);
    EXPECT_EQ(saved.saved_elements(), batch * heads * context * context);
    EXPECT_LT((y - attention_by_loops(qkv, batch, context, heads)).cwiseAbs().maxCoeff(), 1e-13);
    // P: rows sum to 1, exact zeros above the diagonal.
    for (std::int64_t row = 0; row < saved.p.rows(); ++row) {
      const std::int64_t i = row % context;
      EXPECT_NEAR(saved.p.row(row).sum(), 1.0, 1e-14);
      EXPECT_EQ(saved.p.row(row).tail(context - i - 1).cwiseAbs().sum(), 0.0);
    }
    // Position 0 attends to itself alone: its output is its own v.
    for (std::int64_t b = 0; b < batch; ++b) {
      EXPECT_EQ(y.row(b * context), qkv.row(b * context).tail(c));
    }
  }
}

TEST(TransformerAttentionShapes, RejectMismatchedDimensions) {
  Mat<double> y, dqkv;
  AttentionSaved<double> saved;
  const Mat<double> qkv = Mat<double>::Ones(6, 18);  // B*T = 6, C = 6
  EXPECT_THROW(causal_attention_forward(qkv, 2, 4, 2, y, saved), core::InternalError);  // rows
  EXPECT_THROW(causal_attention_forward(qkv, 2, 3, 4, y, saved), core::InternalError);  // heads
  EXPECT_THROW(causal_attention_forward(Mat<double>(qkv.leftCols(17)), 2, 3, 1, y, saved),
               core::InternalError);
  causal_attention_forward(qkv, 2, 3, 2, y, saved);
  EXPECT_THROW(causal_attention_backward(Mat<double>::Ones(6, 5), qkv, saved, 2, 3, 2, dqkv),
               core::InternalError);
  EXPECT_THROW(causal_attention_backward(Mat<double>::Ones(6, 6), qkv, saved, 1, 6, 2, dqkv),
               core::InternalError);  // P saved for T = 3
  causal_attention_backward(Mat<double>::Ones(6, 6), qkv, saved, 2, 3, 2, dqkv);
  EXPECT_EQ(dqkv.rows(), 6);
  EXPECT_EQ(dqkv.cols(), 18);
}

void check_attention_gradient(Rng& rng, std::int64_t batch, std::int64_t context,
                              std::int64_t heads, std::int64_t c) {
  Mat<double> qkv = random_mat(rng, batch * context, 3 * c, -1.5, 1.5);
  const Mat<double> r = random_mat(rng, batch * context, c);  // dy
  auto loss = [&]() {
    Mat<double> y;
    AttentionSaved<double> saved;
    causal_attention_forward(qkv, batch, context, heads, y, saved);
    return weighted_sum(r, y);
  };
  Mat<double> y, dqkv;
  AttentionSaved<double> saved;
  causal_attention_forward(qkv, batch, context, heads, y, saved);
  causal_attention_backward(r, qkv, saved, batch, context, heads, dqkv);
  EXPECT_LT(max_relative_error(dqkv, numeric_gradient(qkv, loss)), kGradTolerance);
}

TEST(TransformerAttentionGradient, MatchesFiniteDifferences) {
  Rng rng = testing::rng_for_test();
  check_attention_gradient(rng, 2, 5, 2, 6);
}

TEST(TransformerAttentionGradient, MatchesFiniteDifferencesOverSeveralTiles) {
  Rng rng = testing::rng_for_test();
  check_attention_gradient(rng, 1, kAttentionTile + 3, 2, 4);  // tiles of 32 and 3
}

TEST(TransformerAttentionCausalMask, FutureTokensChangeNoEarlierOutput) {
  Rng rng = testing::rng_for_test();
  const std::int64_t batch = 2, context = kAttentionTile + 9, heads = 2, c = 8;
  const Mat<double> qkv = random_mat(rng, batch * context, 3 * c);
  Mat<double> y;
  AttentionSaved<double> saved;
  causal_attention_forward(qkv, batch, context, heads, y, saved);
  // Change every q, k, v of token t of sample 1 (t in the first tile and in the second).
  for (const std::int64_t t : {std::int64_t{3}, kAttentionTile + 4}) {
    Mat<double> changed = qkv;
    changed.row(context + t) = random_mat(rng, 1, 3 * c, -5.0, 5.0);
    Mat<double> y2;
    AttentionSaved<double> saved2;
    causal_attention_forward(changed, batch, context, heads, y2, saved2);
    EXPECT_EQ(y2.topRows(context + t), y.topRows(context + t)) << t;  // sample 0, and 1 before t
    EXPECT_NE(y2.row(context + t), y.row(context + t)) << t;
  }
}

TEST(TransformerAttentionCausalMask, GradientOfOneOutputReachesOnlyItsPast) {
  Rng rng = testing::rng_for_test();
  const std::int64_t batch = 2, context = kAttentionTile + 9, heads = 2, c = 8;
  const std::int64_t t = kAttentionTile - 2;  // a query whose tile reaches past it
  const Mat<double> qkv = random_mat(rng, batch * context, 3 * c);
  Mat<double> y, dqkv;
  AttentionSaved<double> saved;
  causal_attention_forward(qkv, batch, context, heads, y, saved);
  Mat<double> dy = Mat<double>::Zero(batch * context, c);
  dy.row(context + t) = random_mat(rng, 1, c);  // sample 1, position t
  causal_attention_backward(dy, qkv, saved, batch, context, heads, dqkv);
  EXPECT_EQ(dqkv.topRows(context).cwiseAbs().sum(), 0.0);  // sample 0
  for (std::int64_t i = 0; i < context; ++i) {
    const Mat<double> row = dqkv.row(context + i);
    EXPECT_EQ(row.leftCols(c).cwiseAbs().sum() == 0.0, i != t) << i;  // dq only at t
    if (i > t) {
      EXPECT_EQ(row.cwiseAbs().sum(), 0.0) << i;  // nothing after t
    } else {
      EXPECT_GT(row.rightCols(c).cwiseAbs().sum(), 0.0) << i;  // dv up to t
    }
  }
}

TEST(TransformerAttentionThreads, SameBitsForOneAndSeveralThreads) {
  Rng rng = testing::rng_for_test();
  const std::int64_t batch = 3, context = 40, heads = 4, c = 16;
  const Mat<float> qkv = random_mat(rng, batch * context, 3 * c).cast<float>();
  const Mat<float> dy = random_mat(rng, batch * context, c).cast<float>();
  std::map<int, std::pair<Mat<float>, Mat<float>>> out;
  for (const int n : {1, 3}) {
    set_threads(n);
    Mat<float> y, dqkv;
    AttentionSaved<float> saved;
    causal_attention_forward(qkv, batch, context, heads, y, saved);
    causal_attention_backward(dy, qkv, saved, batch, context, heads, dqkv);
    out[n] = {y, dqkv};
  }
  set_threads(1);
  EXPECT_EQ(out[1].first, out[3].first);
  EXPECT_EQ(out[1].second, out[3].second);
}

// ---- float against double ----

Mat<float> to_float(const Mat<double>& m) { return m.cast<float>(); }
Vec<float> to_float(const Vec<double>& v) { return v.cast<float>(); }

TEST(TransformerFloatDoubleAgreement, LayerNorm) {
  Rng rng = testing::rng_for_test();
  const Mat<double> x = random_mat(rng, 16, 48, -3.0, 3.0), dy = random_mat(rng, 16, 48);
  const Vec<double> gamma = random_vec(rng, 48, 0.5, 1.5), beta = random_vec(rng, 48);
  Mat<double> y, dx;
  Vec<double> dg, db;
  LayerNormSaved<double> saved;
  layernorm_forward(x, gamma, beta, y, saved);
  layernorm_backward_input(dy, gamma, saved, dx);
  layernorm_backward_weights(dy, saved, dg, db);
  Mat<float> yf, dxf;
  Vec<float> dgf, dbf;
  LayerNormSaved<float> savedf;
  layernorm_forward(to_float(x), to_float(gamma), to_float(beta), yf, savedf);
  layernorm_backward_input(to_float(dy), to_float(gamma), savedf, dxf);
  layernorm_backward_weights(to_float(dy), savedf, dgf, dbf);
  EXPECT_LT(float_vs_double(yf, y), kFloatTolerance);
  EXPECT_LT(float_vs_double(dxf, dx), kFloatTolerance);
  EXPECT_LT(float_vs_double(dgf, dg), kFloatTolerance);
  EXPECT_LT(float_vs_double(dbf, db), kFloatTolerance);
}

TEST(TransformerFloatDoubleAgreement, Gelu) {
  Rng rng = testing::rng_for_test();
  const Mat<double> x = random_mat(rng, 32, 37, -6.0, 6.0), dy = random_mat(rng, 32, 37);
  Mat<double> y, dx;
  Mat<float> yf, dxf;
  gelu_forward(x, y);
  gelu_backward(dy, x, dx);
  gelu_forward(to_float(x), yf);
  gelu_backward(to_float(dy), to_float(x), dxf);
  EXPECT_LT(float_vs_double(yf, y), kFloatTolerance);
  EXPECT_LT(float_vs_double(dxf, dx), kFloatTolerance);
}

TEST(TransformerFloatDoubleAgreement, Embeddings) {
  Rng rng = testing::rng_for_test();
  const std::int64_t batch = 4, context = 6, vocab = 9, c = 5;
  const Mat<double> ids = random_ids(rng, batch, context, vocab);
  const Mat<double> w = random_mat(rng, vocab, c), wpe = random_mat(rng, context, c);
  const Mat<double> dy = random_mat(rng, batch * context, c);
  Mat<double> y, y2, gw, gpe;
  Mat<float> yf, y2f, gwf, gpef;
  embedding_forward(ids, w, y);
  embedding_forward(to_float(ids), to_float(w), yf);
  position_embedding_forward(y, wpe, y2);
  position_embedding_forward(yf, to_float(wpe), y2f);
  embedding_backward_weights(ids, dy, vocab, gw);
  embedding_backward_weights(to_float(ids), to_float(dy), vocab, gwf);
  position_embedding_backward_weights(dy, context, gpe);
  position_embedding_backward_weights(to_float(dy), context, gpef);
  EXPECT_LT(float_vs_double(y2f, y2), kFloatTolerance);
  EXPECT_LT(float_vs_double(gwf, gw), kFloatTolerance);
  EXPECT_LT(float_vs_double(gpef, gpe), kFloatTolerance);
}

TEST(TransformerFloatDoubleAgreement, Attention) {
  Rng rng = testing::rng_for_test();
  const std::int64_t batch = 2, context = 45, heads = 2, c = 32;
  const Mat<double> qkv = random_mat(rng, batch * context, 3 * c, -2.0, 2.0);
  const Mat<double> dy = random_mat(rng, batch * context, c);
  Mat<double> y, dqkv;
  Mat<float> yf, dqkvf;
  AttentionSaved<double> saved;
  AttentionSaved<float> savedf;
  causal_attention_forward(qkv, batch, context, heads, y, saved);
  causal_attention_backward(dy, qkv, saved, batch, context, heads, dqkv);
  causal_attention_forward(to_float(qkv), batch, context, heads, yf, savedf);
  causal_attention_backward(to_float(dy), to_float(qkv), savedf, batch, context, heads, dqkvf);
  EXPECT_LT(float_vs_double(yf, y), kFloatTolerance);
  EXPECT_LT(float_vs_double(savedf.p, saved.p), kFloatTolerance);
  EXPECT_LT(float_vs_double(dqkvf, dqkv), kFloatTolerance);
}

// ---- PyTorch (float64 autograd), where installed ----

// The tensors of one exchange with transformer_reference.py, by file name.
class TorchExchange {
 public:
  TorchExchange()
      : dir_(::testing::TempDir() + "lpsim_transformer_torch_" + std::to_string(::getpid())) {
    std::filesystem::create_directories(dir_);
  }
  ~TorchExchange() { std::filesystem::remove_all(dir_); }
  TorchExchange(const TorchExchange&) = delete;
  TorchExchange& operator=(const TorchExchange&) = delete;

  const std::string& dir() const { return dir_; }
  template <typename Tensor>
  void put(const std::string& name, const Tensor& t) const {
    std::ofstream out(dir_ + "/" + name + ".bin", std::ios::binary);
    out.write(reinterpret_cast<const char*>(t.data()),
              static_cast<std::streamsize>(t.size() * static_cast<Eigen::Index>(sizeof(double))));
  }
  // The file `name` as a [rows, cols] matrix; empty when it is missing or short.
  Mat<double> get(const std::string& name, std::int64_t rows, std::int64_t cols) const {
    Mat<double> m(rows, cols);
    std::ifstream in(dir_ + "/" + name + ".bin", std::ios::binary);
    in.read(reinterpret_cast<char*>(m.data()),
            static_cast<std::streamsize>(m.size() * static_cast<Eigen::Index>(sizeof(double))));
    return in ? m : Mat<double>();
  }

 private:
  std::string dir_;
};

// max |ours - torch| / max(1, max |torch|); infinite when torch's result is missing.
double torch_difference(const Mat<double>& ours, const Mat<double>& torch) {
  if (torch.size() == 0 || torch.rows() != ours.rows() || torch.cols() != ours.cols()) {
    return INFINITY;
  }
  return (ours - torch).cwiseAbs().maxCoeff() / std::max(1.0, torch.cwiseAbs().maxCoeff());
}

// Runs tests/unit/workloads/ops/transformer_reference.py once on every kernel (one torch
// import) and compares outputs and gradients. Skips when torch or numpy is missing.
TEST(TransformerTorchReference, OutputsAndGradientsMatchAutogradInFloat64) {
  Rng rng = testing::rng_for_test();
  const std::int64_t batch = 2, context = kAttentionTile + 5, c = 12, heads = 3, vocab = 11;
  const std::int64_t n = batch * context;
  const TorchExchange io;
  {
    std::ofstream dims(io.dir() + "/dims.txt");
    dims << batch << " " << context << " " << c << " " << heads << " " << vocab << "\n";
  }
  const Mat<double> ln_x = random_mat(rng, n, c, -2.0, 3.0), ln_dy = random_mat(rng, n, c);
  const Vec<double> ln_gamma = random_vec(rng, c, 0.5, 1.5), ln_beta = random_vec(rng, c);
  const Mat<double> gelu_x = random_mat(rng, n, c, -5.0, 5.0), gelu_dy = random_mat(rng, n, c);
  const Mat<double> ids = random_ids(rng, batch, context, vocab);
  const Mat<double> emb_w = random_mat(rng, vocab, c), emb_dy = random_mat(rng, n, c);
  const Mat<double> pos_x = random_mat(rng, n, c), pos_w = random_mat(rng, context, c);
  const Mat<double> pos_dy = random_mat(rng, n, c);
  const Mat<double> qkv = random_mat(rng, n, 3 * c, -2.0, 2.0), att_dy = random_mat(rng, n, c);
  io.put("ln_x", ln_x);
  io.put("ln_gamma", ln_gamma);
  io.put("ln_beta", ln_beta);
  io.put("ln_dy", ln_dy);
  io.put("gelu_x", gelu_x);
  io.put("gelu_dy", gelu_dy);
  io.put("emb_ids", ids);
  io.put("emb_w", emb_w);
  io.put("emb_dy", emb_dy);
  io.put("pos_x", pos_x);
  io.put("pos_w", pos_w);
  io.put("pos_dy", pos_dy);
  io.put("att_qkv", qkv);
  io.put("att_dy", att_dy);
  const std::string python =
      std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
  const std::string script =
      std::string(LPSIM_SOURCE_DIR) + "/tests/unit/workloads/ops/transformer_reference.py";
  const int status = std::system((python + " " + script + " " + io.dir()).c_str());
  if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
    GTEST_SKIP() << "python3-torch or python3-numpy is not installed";
  }
  ASSERT_EQ(status, 0) << "transformer_reference.py failed";

  std::map<std::string, double> worst;  // per tensor, printed below
  {
    Mat<double> y, dx;
    Vec<double> dgamma, dbeta;
    LayerNormSaved<double> saved;
    layernorm_forward(ln_x, ln_gamma, ln_beta, y, saved);
    layernorm_backward_input(ln_dy, ln_gamma, saved, dx);
    layernorm_backward_weights(ln_dy, saved, dgamma, dbeta);
    worst["ln_y"] = torch_difference(y, io.get("ln_y", n, c));
    worst["ln_dx"] = torch_difference(dx, io.get("ln_dx", n, c));
    worst["ln_dgamma"] = torch_difference(dgamma.transpose(), io.get("ln_dgamma", 1, c));
    worst["ln_dbeta"] = torch_difference(dbeta.transpose(), io.get("ln_dbeta", 1, c));
  }
  {
    Mat<double> y, dx;
    gelu_forward(gelu_x, y);
    gelu_backward(gelu_dy, gelu_x, dx);
    worst["gelu_y"] = torch_difference(y, io.get("gelu_y", n, c));
    worst["gelu_dx"] = torch_difference(dx, io.get("gelu_dx", n, c));
  }
  {
    Mat<double> y, gw;
    embedding_forward(ids, emb_w, y);
    embedding_backward_weights(ids, emb_dy, vocab, gw);
    worst["emb_y"] = torch_difference(y, io.get("emb_y", n, c));
    worst["emb_dw"] = torch_difference(gw, io.get("emb_dw", vocab, c));
  }
  {
    Mat<double> y, gw;
    position_embedding_forward(pos_x, pos_w, y);
    position_embedding_backward_weights(pos_dy, context, gw);
    worst["pos_y"] = torch_difference(y, io.get("pos_y", n, c));
    worst["pos_dx"] = torch_difference(pos_dy, io.get("pos_dx", n, c));  // Ba is the identity
    worst["pos_dw"] = torch_difference(gw, io.get("pos_dw", context, c));
  }
  {
    Mat<double> y, dqkv;
    AttentionSaved<double> saved;
    causal_attention_forward(qkv, batch, context, heads, y, saved);
    causal_attention_backward(att_dy, qkv, saved, batch, context, heads, dqkv);
    worst["att_y"] = torch_difference(y, io.get("att_y", n, c));
    worst["att_dqkv"] = torch_difference(dqkv, io.get("att_dqkv", n, 3 * c));
  }
  for (const auto& [name, diff] : worst) {
    EXPECT_LE(diff, 1e-12) << name;
    std::cout << "  " << name << " vs torch (float64): max |difference| / scale " << diff << "\n";
  }
}

}  // namespace
}  // namespace lpsim::ops::transformer_test
