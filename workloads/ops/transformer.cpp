#include "workloads/ops/transformer.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <unsupported/Eigen/SpecialFunctions>
#include <vector>

#include "core/errors.h"
#include "workloads/ops/accumulate.h"
#include "workloads/ops/parallel.h"

namespace lpsim::ops {
namespace {

// Token ids [B, T] as row indices of the [V, C] table, checked to be integers in [0, V).
template <typename T>
std::vector<std::int64_t> token_rows(const MatIn<T>& ids, std::int64_t vocab, const char* who) {
  std::vector<std::int64_t> rows(static_cast<std::size_t>(ids.size()));
  for (std::int64_t b = 0; b < ids.rows(); ++b) {
    for (std::int64_t t = 0; t < ids.cols(); ++t) {
      const T v = ids(b, t);
      const bool in_range = v >= T(0) && v < static_cast<T>(vocab);  // false for NaN
      const std::int64_t id = in_range ? static_cast<std::int64_t>(v) : -1;
      LPSIM_ASSERT(in_range && static_cast<T>(id) == v,
                   std::string(who) + ": token id " + std::to_string(v) + " at [" +
                       std::to_string(b) + ", " + std::to_string(t) +
                       "] is not an integer in [0, " + std::to_string(vocab) + ")");
      rows[static_cast<std::size_t>(b * ids.cols() + t)] = id;
    }
  }
  return rows;
}

// One [rows, cols] window of a row-major matrix whose rows are `stride` values apart: a head's
// q, k, v, O or dO inside the [B*T, 3C] or [B*T, C] activation.
template <typename T>
using ConstHeadView = Eigen::Map<const Mat<T>, Eigen::Unaligned, Eigen::OuterStride<>>;
template <typename T>
using HeadView = Eigen::Map<Mat<T>, Eigen::Unaligned, Eigen::OuterStride<>>;
// The first n entries of one row of P or dS, as an array.
template <typename T>
using RowSpan = Eigen::Map<Eigen::Array<T, 1, Eigen::Dynamic>>;
template <typename T>
using ConstRowSpan = Eigen::Map<const Eigen::Array<T, 1, Eigen::Dynamic>>;

using RowArrayXd = Eigen::Array<double, 1, Eigen::Dynamic>;

constexpr double kInvSqrt2 = 0.70710678118654752440;    // 1 / sqrt(2)
constexpr double kInvSqrt2Pi = 0.39894228040143267794;  // 1 / sqrt(2 pi)

// Checks the shape of qkv [rows, cols] = [B*T, 3C]; returns C.
std::int64_t attention_width(std::int64_t rows, std::int64_t cols, std::int64_t batch,
                             std::int64_t context, std::int64_t heads, const char* who) {
  LPSIM_ASSERT(batch > 0 && context > 0 && heads > 0,
               std::string(who) + ": batch, context and heads must be positive");
  LPSIM_ASSERT(rows == batch * context,
               std::string(who) + ": " + std::to_string(rows) +
                   " rows, expected B*T = " + std::to_string(batch * context));
  LPSIM_ASSERT(cols % 3 == 0 && cols > 0 && (cols / 3) % heads == 0,
               std::string(who) + ": " + std::to_string(cols) +
                   " columns are not 3C with C a positive multiple of " + std::to_string(heads) +
                   " heads");
  return cols / 3;
}

}  // namespace

// ---- layer norm ----

template <typename T>
void layernorm_forward(const MatIn<T>& x, const VecIn<T>& gamma, const VecIn<T>& beta, Mat<T>& y,
                       LayerNormSaved<T>& saved, double eps) {
  const std::int64_t n = x.rows(), c = x.cols();
  LPSIM_ASSERT(
      c > 0 && gamma.size() == c && beta.size() == c,
      "layernorm_forward: gamma and beta must have the " + std::to_string(c) + " entries of a row");
  y.resize(n, c);
  saved.x_hat.resize(n, c);
  saved.rstd.resize(n);
  const T inv_c = T(1) / static_cast<T>(c);
  parallel_ranges(n, c, [&](std::int64_t r_begin, std::int64_t r_end) {
    for (std::int64_t r = r_begin; r < r_end; ++r) {
      // Two passes: the mean, then the squared deviations from it.
      const T mean = x.row(r).sum() * inv_c;
      const T var = (x.row(r).array() - mean).square().sum() * inv_c;
      const T rstd = static_cast<T>(1.0 / std::sqrt(static_cast<double>(var) + eps));
      saved.rstd(r) = rstd;
      saved.x_hat.row(r) = ((x.row(r).array() - mean) * rstd).matrix();
      y.row(r) = (saved.x_hat.row(r).array() * gamma.transpose().array() + beta.transpose().array())
                     .matrix();
    }
  });
}

template <typename T>
void layernorm_backward_input(const MatIn<T>& dy, const VecIn<T>& gamma,
                              const LayerNormSaved<T>& saved, Mat<T>& dx) {
  const std::int64_t n = dy.rows(), c = dy.cols();
  LPSIM_ASSERT(saved.x_hat.rows() == n && saved.x_hat.cols() == c && saved.rstd.size() == n,
               "layernorm_backward_input: dy and the saved forward differ in shape");
  LPSIM_ASSERT(gamma.size() == c, "layernorm_backward_input: gamma has the wrong size");
  dx.resize(n, c);
  const T inv_c = T(1) / static_cast<T>(c);
  parallel_ranges(n, c, [&](std::int64_t r_begin, std::int64_t r_end) {
    for (std::int64_t r = r_begin; r < r_end; ++r) {
      // g = dy * gamma: the means of g and of g * x_hat over the row.
      const T mean_g = (dy.row(r).array() * gamma.transpose().array()).sum() * inv_c;
      const T mean_gx =
          (dy.row(r).array() * gamma.transpose().array() * saved.x_hat.row(r).array()).sum() *
          inv_c;
      dx.row(r) = (((dy.row(r).array() * gamma.transpose().array() - mean_g) -
                    saved.x_hat.row(r).array() * mean_gx) *
                   saved.rstd(r))
                      .matrix();
    }
  });
}

template <typename T>
void layernorm_backward_weights(const MatIn<T>& dy, const LayerNormSaved<T>& saved, Vec<T>& dgamma,
                                Vec<T>& dbeta) {
  const std::int64_t n = dy.rows(), c = dy.cols();
  LPSIM_ASSERT(saved.x_hat.rows() == n && saved.x_hat.cols() == c,
               "layernorm_backward_weights: dy and the saved forward differ in shape");
  dgamma.resize(c);
  dbeta.resize(c);
  // Split by columns; each column sums its rows in order: in T over runs of kRun rows (whole
  // rows at a time, vectorised), the run sums added in double.
  constexpr std::int64_t kRun = 32;
  parallel_ranges(c, n, [&](std::int64_t c_begin, std::int64_t c_end) {
    const std::int64_t w = c_end - c_begin;
    RowArrayXd total_gx = RowArrayXd::Zero(w), total_g = RowArrayXd::Zero(w);
    Eigen::Array<T, 1, Eigen::Dynamic> run_gx(w), run_g(w);
    for (std::int64_t r0 = 0; r0 < n; r0 += kRun) {
      run_gx.setZero();
      run_g.setZero();
      for (std::int64_t r = r0; r < std::min(n, r0 + kRun); ++r) {
        run_gx +=
            dy.row(r).segment(c_begin, w).array() * saved.x_hat.row(r).segment(c_begin, w).array();
        run_g += dy.row(r).segment(c_begin, w).array();
      }
      total_gx += run_gx.template cast<double>();
      total_g += run_g.template cast<double>();
    }
    dgamma.segment(c_begin, w) = total_gx.transpose().template cast<T>().matrix();
    dbeta.segment(c_begin, w) = total_g.transpose().template cast<T>().matrix();
  });
}

// ---- GELU ----

template <typename T>
void gelu_forward(const MatIn<T>& x, Mat<T>& y) {
  y.resize(x.rows(), x.cols());
  const T inv_sqrt2 = static_cast<T>(kInvSqrt2);
  parallel_ranges(x.rows(), x.cols(), [&](std::int64_t r_begin, std::int64_t r_end) {
    const std::int64_t m = r_end - r_begin;
    // x * 0.5 * (1 + erf(x / sqrt(2))), PyTorch's order of operations.
    y.middleRows(r_begin, m).array() =
        x.middleRows(r_begin, m).array() * T(0.5) *
        (T(1) + (x.middleRows(r_begin, m).array() * inv_sqrt2).erf());
  });
}

template <typename T>
void gelu_backward(const MatIn<T>& dy, const MatIn<T>& x, Mat<T>& dx) {
  LPSIM_ASSERT(dy.rows() == x.rows() && dy.cols() == x.cols(),
               "gelu_backward: dy and x differ in shape");
  dx.resize(x.rows(), x.cols());
  const T inv_sqrt2 = static_cast<T>(kInvSqrt2);
  const T inv_sqrt_2pi = static_cast<T>(kInvSqrt2Pi);
  parallel_ranges(x.rows(), x.cols(), [&](std::int64_t r_begin, std::int64_t r_end) {
    const std::int64_t m = r_end - r_begin;
    // cdf = 0.5 * (1 + erf(x / sqrt(2))), pdf = exp(-x^2 / 2) / sqrt(2 pi).
    dx.middleRows(r_begin, m).array() =
        dy.middleRows(r_begin, m).array() *
        (T(0.5) * (T(1) + (x.middleRows(r_begin, m).array() * inv_sqrt2).erf()) +
         x.middleRows(r_begin, m).array() * inv_sqrt_2pi *
             (T(-0.5) * x.middleRows(r_begin, m).array().square()).exp());
  });
}

// ---- embeddings ----

template <typename T>
void embedding_forward(const MatIn<T>& ids, const MatIn<T>& weight, Mat<T>& y) {
  const std::vector<std::int64_t> rows = token_rows<T>(ids, weight.rows(), "embedding_forward");
  const auto n = static_cast<std::int64_t>(rows.size());
  y.resize(n, weight.cols());
  parallel_ranges(n, weight.cols(), [&](std::int64_t r_begin, std::int64_t r_end) {
    for (std::int64_t r = r_begin; r < r_end; ++r) {
      y.row(r) = weight.row(rows[static_cast<std::size_t>(r)]);
    }
  });
}

template <typename T>
void embedding_backward_weights(const MatIn<T>& ids, const MatIn<T>& dy, std::int64_t vocab,
                                Mat<T>& gw) {
  const std::vector<std::int64_t> rows = token_rows<T>(ids, vocab, "embedding_backward_weights");
  const auto n = static_cast<std::int64_t>(rows.size());
  LPSIM_ASSERT(dy.rows() == n, "embedding_backward_weights: dy has " + std::to_string(dy.rows()) +
                                   " rows for " + std::to_string(n) + " token ids");
  gw.setZero(vocab, dy.cols());
  // Split by columns: every entry of gw adds its dy rows in row order on one thread.
  parallel_ranges(dy.cols(), n, [&](std::int64_t c_begin, std::int64_t c_end) {
    for (std::int64_t r = 0; r < n; ++r) {
      gw.row(rows[static_cast<std::size_t>(r)]).segment(c_begin, c_end - c_begin) +=
          dy.row(r).segment(c_begin, c_end - c_begin);
    }
  });
}

template <typename T>
void position_embedding_forward(const MatIn<T>& x, const MatIn<T>& weight, Mat<T>& y) {
  const std::int64_t context = weight.rows();
  LPSIM_ASSERT(context > 0 && x.rows() % context == 0 && x.cols() == weight.cols(),
               "position_embedding_forward: x [" + std::to_string(x.rows()) + ", " +
                   std::to_string(x.cols()) + "] is not [B*T, C] for weight [" +
                   std::to_string(context) + ", " + std::to_string(weight.cols()) + "]");
  y.resize(x.rows(), x.cols());
  parallel_ranges(
      x.rows() / context, context * x.cols(), [&](std::int64_t b_begin, std::int64_t b_end) {
        for (std::int64_t b = b_begin; b < b_end; ++b) {
          y.middleRows(b * context, context) = x.middleRows(b * context, context) + weight;
        }
      });
}

template <typename T>
void position_embedding_backward_weights(const MatIn<T>& dy, std::int64_t context, Mat<T>& gw) {
  LPSIM_ASSERT(context > 0 && dy.rows() % context == 0,
               "position_embedding_backward_weights: " + std::to_string(dy.rows()) +
                   " rows are not B * " + std::to_string(context));
  const std::int64_t batch = dy.rows() / context;
  gw.resize(context, dy.cols());
  parallel_ranges(context, batch * dy.cols(), [&](std::int64_t t_begin, std::int64_t t_end) {
    gw.middleRows(t_begin, t_end - t_begin) = dy.middleRows(t_begin, t_end - t_begin);
    for (std::int64_t b = 1; b < batch; ++b) {
      gw.middleRows(t_begin, t_end - t_begin) +=
          dy.middleRows(b * context + t_begin, t_end - t_begin);
    }
  });
}

// ---- causal self-attention ----

template <typename T>
void causal_attention_forward(const MatIn<T>& qkv, std::int64_t batch, std::int64_t context,
                              std::int64_t heads, Mat<T>& y, AttentionSaved<T>& saved) {
  const std::int64_t c =
      attention_width(qkv.rows(), qkv.cols(), batch, context, heads, "causal_attention_forward");
  const std::int64_t tt = context, hs = c / heads, ld = qkv.outerStride();
  const T scale = static_cast<T>(1.0 / std::sqrt(static_cast<double>(hs)));
  y.resize(batch * tt, c);
  saved.p.resize(batch * heads * tt, tt);
  const AccumulateRule rule = accumulate_rule();
  parallel_for(batch * heads, [&](std::int64_t bh) {
    const std::int64_t b = bh / heads, h = bh % heads;
    const T* base = qkv.data() + b * tt * ld + h * hs;
    const ConstHeadView<T> q(base, tt, hs, Eigen::OuterStride<>(ld));
    const ConstHeadView<T> k(base + c, tt, hs, Eigen::OuterStride<>(ld));
    const ConstHeadView<T> v(base + 2 * c, tt, hs, Eigen::OuterStride<>(ld));
    HeadView<T> o(y.data() + b * tt * c + h * hs, tt, hs, Eigen::OuterStride<>(c));
    Eigen::Map<Mat<T>> p(saved.p.data() + bh * tt * tt, tt, tt);
    for (std::int64_t i0 = 0; i0 < tt; i0 += kAttentionTile) {
      const std::int64_t rows = std::min(kAttentionTile, tt - i0), keys = i0 + rows;
      // S for the tile's queries against keys [0, keys): every key a row of it may attend to.
      accumulate_product(p.block(i0, 0, rows, keys), q.middleRows(i0, rows),
                         k.topRows(keys).transpose(), rule);
      for (std::int64_t i = i0; i < i0 + rows; ++i) {
        // Row i: scaled, masked (j > i), softmax with the row maximum subtracted.
        RowSpan<T> s(p.data() + i * tt, i + 1);
        s *= scale;
        const T top = s.maxCoeff();
        s = (s - top).exp();
        s /= s.sum();
        p.row(i).tail(tt - i - 1).setZero();
      }
      accumulate_product(o.middleRows(i0, rows), p.block(i0, 0, rows, keys), v.topRows(keys), rule);
    }
  });
}

template <typename T>
void causal_attention_backward(const MatIn<T>& dy, const MatIn<T>& qkv,
                               const AttentionSaved<T>& saved, std::int64_t batch,
                               std::int64_t context, std::int64_t heads, Mat<T>& dqkv) {
  const std::int64_t c =
      attention_width(qkv.rows(), qkv.cols(), batch, context, heads, "causal_attention_backward");
  LPSIM_ASSERT(dy.rows() == qkv.rows() && dy.cols() == c,
               "causal_attention_backward: dy is not [B*T, C] for qkv [B*T, 3C]");
  const std::int64_t tt = context, hs = c / heads, ld = qkv.outerStride(), ldy = dy.outerStride();
  LPSIM_ASSERT(saved.p.rows() == batch * heads * tt && saved.p.cols() == tt,
               "causal_attention_backward: the saved P is not [B*heads*T, T]");
  const T scale = static_cast<T>(1.0 / std::sqrt(static_cast<double>(hs)));
  dqkv.resize(batch * tt, 3 * c);
  const std::int64_t ldq = dqkv.cols();
  const AccumulateRule rule = accumulate_rule();
  parallel_for(batch * heads, [&](std::int64_t bh) {
    const std::int64_t b = bh / heads, h = bh % heads;
    const T* base = qkv.data() + b * tt * ld + h * hs;
    const ConstHeadView<T> q(base, tt, hs, Eigen::OuterStride<>(ld));
    const ConstHeadView<T> k(base + c, tt, hs, Eigen::OuterStride<>(ld));
    const ConstHeadView<T> v(base + 2 * c, tt, hs, Eigen::OuterStride<>(ld));
    const ConstHeadView<T> d_o(dy.data() + b * tt * ldy + h * hs, tt, hs,
                               Eigen::OuterStride<>(ldy));
    T* dbase = dqkv.data() + b * tt * ldq + h * hs;
    HeadView<T> dq(dbase, tt, hs, Eigen::OuterStride<>(ldq));
    HeadView<T> dk(dbase + c, tt, hs, Eigen::OuterStride<>(ldq));
    HeadView<T> dv(dbase + 2 * c, tt, hs, Eigen::OuterStride<>(ldq));
    const Eigen::Map<const Mat<T>> p(saved.p.data() + bh * tt * tt, tt, tt);
    // dS [T, T]; per query tile only columns [0, keys) are written (the rest is never read).
    Mat<T> ds(tt, tt);
    for (std::int64_t i0 = 0; i0 < tt; i0 += kAttentionTile) {
      const std::int64_t rows = std::min(kAttentionTile, tt - i0), keys = i0 + rows;
      accumulate_product(ds.block(i0, 0, rows, keys), d_o.middleRows(i0, rows),
                         v.topRows(keys).transpose(), rule);  // dP
      for (std::int64_t i = i0; i < i0 + rows; ++i) {
        // Softmax backward on j <= i, then the 1/sqrt(hs) of S = Q K^T * scale; 0 for j > i.
        RowSpan<T> g(ds.data() + i * tt, i + 1);
        const ConstRowSpan<T> pi(p.data() + i * tt, i + 1);
        const T dot = (g * pi).sum();
        g = (pi * (g - dot)) * scale;
        ds.row(i).segment(i + 1, keys - i - 1).setZero();
      }
      accumulate_product(dq.middleRows(i0, rows), ds.block(i0, 0, rows, keys), k.topRows(keys),
                         rule);
    }
    // Key tiles: key j receives from the queries i >= j, i.e. rows [j0, T) of P and dS.
    for (std::int64_t j0 = 0; j0 < tt; j0 += kAttentionTile) {
      const std::int64_t cols = std::min(kAttentionTile, tt - j0), queries = tt - j0;
      // The queries before j0 contribute zeros: k (the query index) starts at j0.
      accumulate_product(dv.middleRows(j0, cols), p.block(j0, j0, queries, cols).transpose(),
                         d_o.middleRows(j0, queries), rule, j0);
      accumulate_product(dk.middleRows(j0, cols), ds.block(j0, j0, queries, cols).transpose(),
                         q.middleRows(j0, queries), rule, j0);
    }
  });
}

#define LPSIM_INSTANTIATE(T)                                                                       \
  template void layernorm_forward<T>(const MatIn<T>&, const VecIn<T>&, const VecIn<T>&, Mat<T>&,   \
                                     LayerNormSaved<T>&, double);                                  \
  template void layernorm_backward_input<T>(const MatIn<T>&, const VecIn<T>&,                      \
                                            const LayerNormSaved<T>&, Mat<T>&);                    \
  template void layernorm_backward_weights<T>(const MatIn<T>&, const LayerNormSaved<T>&, Vec<T>&,  \
                                              Vec<T>&);                                            \
  template void gelu_forward<T>(const MatIn<T>&, Mat<T>&);                                         \
  template void gelu_backward<T>(const MatIn<T>&, const MatIn<T>&, Mat<T>&);                       \
  template void embedding_forward<T>(const MatIn<T>&, const MatIn<T>&, Mat<T>&);                   \
  template void embedding_backward_weights<T>(const MatIn<T>&, const MatIn<T>&, std::int64_t,      \
                                              Mat<T>&);                                            \
  template void position_embedding_forward<T>(const MatIn<T>&, const MatIn<T>&, Mat<T>&);          \
  template void position_embedding_backward_weights<T>(const MatIn<T>&, std::int64_t, Mat<T>&);    \
  template void causal_attention_forward<T>(const MatIn<T>&, std::int64_t, std::int64_t,           \
                                            std::int64_t, Mat<T>&, AttentionSaved<T>&);            \
  template void causal_attention_backward<T>(const MatIn<T>&, const MatIn<T>&,                     \
                                             const AttentionSaved<T>&, std::int64_t, std::int64_t, \
                                             std::int64_t, Mat<T>&);
LPSIM_INSTANTIATE(float)
LPSIM_INSTANTIATE(double)
#undef LPSIM_INSTANTIATE

}  // namespace lpsim::ops
