#include "workloads/ops/conv2d.h"

#include <algorithm>
#include <string>
#include <type_traits>

#include "core/errors.h"
#include "workloads/ops/conv2d_onednn.h"
#include "workloads/ops/gemm.h"
#include "workloads/ops/parallel.h"

namespace lpsim::ops {
namespace {

std::string describe(const Conv2dGeometry& g) {
  return "conv2d geometry in={" + std::to_string(g.in.c) + "," + std::to_string(g.in.h) + "," +
         std::to_string(g.in.w) + "} out_channels=" + std::to_string(g.out_channels) +
         " kernel=" + std::to_string(g.kernel_h) + "x" + std::to_string(g.kernel_w) +
         " stride=" + std::to_string(g.stride) + " padding=" + std::to_string(g.padding);
}

// Output columns wo whose input column wo*s - p + j lies inside [0, W): [lo, hi).
struct Range {
  std::int64_t lo;
  std::int64_t hi;
};
Range valid_range(std::int64_t out_len, std::int64_t in_len, std::int64_t s, std::int64_t p,
                  std::int64_t j) {
  const std::int64_t first = p - j;  // need wo*s >= p - j
  const std::int64_t lo = first <= 0 ? 0 : (first + s - 1) / s;
  const std::int64_t last = in_len - 1 + p - j;  // need wo*s <= W - 1 + p - j
  const std::int64_t hi = last < 0 ? 0 : std::min(out_len, last / s + 1);
  return {std::min(lo, out_len), std::max(hi, std::min(lo, out_len))};
}

// x [B, C*H*W] -> cols_t [K, B*Ho*Wo]: cols_t(r=(c*kh+i)*kw+j, (b*Ho+ho)*Wo+wo) =
// x(b, c, ho*s-p+i, wo*s-p+j), zero outside the input.
template <typename T>
void im2col_t(const MatIn<T>& x, const Conv2dGeometry& g, const Shape& out, Mat<T>& cols_t) {
  const std::int64_t batch = x.rows();
  const std::int64_t H = g.in.h, W = g.in.w, kh = g.kernel_h, kw = g.kernel_w;
  const std::int64_t s = g.stride, p = g.padding, Ho = out.h, Wo = out.w;
  const std::int64_t plane_out = Ho * Wo;
  const std::int64_t m = batch * plane_out;
  cols_t.resize(g.patch_size(), m);
  // Channel c fills rows (c, *, *) alone.
  parallel_ranges(g.in.c, kh * kw * m, [&](std::int64_t c_begin, std::int64_t c_end) {
    for (std::int64_t c = c_begin; c < c_end; ++c) {
      for (std::int64_t i = 0; i < kh; ++i) {
        for (std::int64_t j = 0; j < kw; ++j) {
          T* row = cols_t.data() + ((c * kh + i) * kw + j) * m;
          const Range r = valid_range(Wo, W, s, p, j);
          for (std::int64_t b = 0; b < batch; ++b) {
            const T* plane = x.data() + b * x.outerStride() + c * H * W;
            for (std::int64_t ho = 0; ho < Ho; ++ho) {
              T* dst = row + b * plane_out + ho * Wo;
              const std::int64_t hi = ho * s - p + i;
              if (hi < 0 || hi >= H) {
                std::fill(dst, dst + Wo, T(0));
                continue;
              }
              std::fill(dst, dst + r.lo, T(0));
              std::fill(dst + r.hi, dst + Wo, T(0));
              if (r.hi == r.lo) continue;
              const T* src = plane + hi * W + (r.lo * s - p + j);
              if (s == 1) {
                std::copy(src, src + (r.hi - r.lo), dst + r.lo);
              } else {
                for (std::int64_t wo = r.lo; wo < r.hi; ++wo) dst[wo] = src[(wo - r.lo) * s];
              }
            }
          }
        }
      }
    }
  });
}

// cols_t [K, B*Ho*Wo] -> dx [B, C*H*W]: the adjoint of im2col_t (scatter-add).
template <typename T>
void col2im_t(const Mat<T>& cols_t, const Conv2dGeometry& g, const Shape& out, std::int64_t batch,
              Mat<T>& dx) {
  const std::int64_t H = g.in.h, W = g.in.w, kh = g.kernel_h, kw = g.kernel_w;
  const std::int64_t s = g.stride, p = g.padding, Ho = out.h, Wo = out.w;
  const std::int64_t plane_out = Ho * Wo;
  const std::int64_t m = batch * plane_out;
  dx.resize(batch, g.in.size());
  // Channel c adds into the planes (*, c) alone, in the same order for every thread count.
  parallel_ranges(g.in.c, kh * kw * m, [&](std::int64_t c_begin, std::int64_t c_end) {
    for (std::int64_t b = 0; b < batch; ++b) {
      std::fill(dx.data() + b * dx.cols() + c_begin * H * W,
                dx.data() + b * dx.cols() + c_end * H * W, T(0));
    }
    for (std::int64_t c = c_begin; c < c_end; ++c) {
      for (std::int64_t i = 0; i < kh; ++i) {
        for (std::int64_t j = 0; j < kw; ++j) {
          const T* row = cols_t.data() + ((c * kh + i) * kw + j) * m;
          const Range r = valid_range(Wo, W, s, p, j);
          for (std::int64_t b = 0; b < batch; ++b) {
            T* plane = dx.data() + b * dx.cols() + c * H * W;
            for (std::int64_t ho = 0; ho < Ho; ++ho) {
              const std::int64_t hi = ho * s - p + i;
              if (hi < 0 || hi >= H || r.hi == r.lo) continue;
              const T* src = row + b * plane_out + ho * Wo;
              T* dst = plane + hi * W + (r.lo * s - p + j);
              for (std::int64_t wo = r.lo; wo < r.hi; ++wo) dst[(wo - r.lo) * s] += src[wo];
            }
          }
        }
      }
    }
  });
}

// dy [B, O*P] (P = Ho*Wo) -> rows_t [O, B*P].
template <typename T>
void to_channel_rows(const MatIn<T>& dy, std::int64_t channels, std::int64_t plane,
                     Mat<T>& rows_t) {
  const std::int64_t batch = dy.rows();
  rows_t.resize(channels, batch * plane);
  parallel_ranges(batch, channels * plane, [&](std::int64_t b_begin, std::int64_t b_end) {
    for (std::int64_t b = b_begin; b < b_end; ++b) {
      const T* src = dy.data() + b * dy.outerStride();
      for (std::int64_t o = 0; o < channels; ++o) {
        std::copy(src + o * plane, src + (o + 1) * plane,
                  rows_t.data() + o * batch * plane + b * plane);
      }
    }
  });
}

void check_weight(const Conv2dGeometry& g, std::int64_t rows, std::int64_t cols, const char* who) {
  LPSIM_ASSERT(rows == g.out_channels && cols == g.patch_size(),
               std::string(who) + ": w is [" + std::to_string(rows) + ", " + std::to_string(cols) +
                   "], expected [" + std::to_string(g.out_channels) + ", " +
                   std::to_string(g.patch_size()) + "] for " + describe(g));
}

// Float passes try oneDNN first (conv2d_onednn.h decides where it runs); a strided operand, a
// double, an accumulator narrower than fp32 (accumulate.h), or a pass oneDNN declines takes
// the im2col path below.
template <typename T>
bool dense(const MatIn<T>& m) {
  return m.outerStride() == m.cols();
}

}  // namespace

Shape conv2d_output_shape(const Conv2dGeometry& g) {
  LPSIM_ASSERT(g.in.c > 0 && g.in.h > 0 && g.in.w > 0 && g.out_channels > 0 && g.kernel_h > 0 &&
                   g.kernel_w > 0 && g.stride > 0 && g.padding >= 0,
               "invalid " + describe(g));
  LPSIM_ASSERT(g.kernel_h <= g.in.h + 2 * g.padding && g.kernel_w <= g.in.w + 2 * g.padding,
               "kernel larger than the padded input: " + describe(g));
  return Shape{g.out_channels, (g.in.h + 2 * g.padding - g.kernel_h) / g.stride + 1,
               (g.in.w + 2 * g.padding - g.kernel_w) / g.stride + 1};
}

template <typename T>
void conv2d_forward(const MatIn<T>& x, const MatIn<T>& w, const VecIn<T>& b,
                    const Conv2dGeometry& g, Mat<T>& y, Conv2dWorkspace<T>& ws) {
  const Shape out = conv2d_output_shape(g);
  LPSIM_ASSERT(x.cols() == g.in.size(), "conv2d_forward: x has " + std::to_string(x.cols()) +
                                            " columns, expected " + describe(g));
  check_weight(g, w.rows(), w.cols(), "conv2d_forward");
  LPSIM_ASSERT(b.size() == g.out_channels, "conv2d_forward: bias size differs from O");
  const std::int64_t batch = x.rows();
  if constexpr (std::is_same_v<T, float>) {
    if (accumulate_rule().exact() && dense<T>(x) && dense<T>(w)) {
      y.resize(batch, out.size());
      if (onednn::forward(x.data(), w.data(), b.data(), g, batch, y.data())) return;
    }
  }
  const std::int64_t plane = out.h * out.w;
  im2col_t<T>(x, g, out, ws.cols_t);
  ws.rows_t.resize(g.out_channels, batch * plane);
  gemm(ws.rows_t, w, ws.cols_t);
  y.resize(batch, out.size());
  parallel_ranges(batch, out.size(), [&](std::int64_t n_begin, std::int64_t n_end) {
    for (std::int64_t n = n_begin; n < n_end; ++n) {
      T* dst = y.data() + n * y.cols();
      for (std::int64_t o = 0; o < g.out_channels; ++o) {
        const T* src = ws.rows_t.data() + o * batch * plane + n * plane;
        const T bias = b(o);
        for (std::int64_t q = 0; q < plane; ++q) dst[o * plane + q] = src[q] + bias;
      }
    }
  });
}

template <typename T>
void conv2d_forward(const MatIn<T>& x, const MatIn<T>& w, const VecIn<T>& b,
                    const Conv2dGeometry& g, Mat<T>& y) {
  Conv2dWorkspace<T> ws;
  conv2d_forward<T>(x, w, b, g, y, ws);
}

template <typename T>
void conv2d_backward_input(const MatIn<T>& dy, const MatIn<T>& w, const Conv2dGeometry& g,
                           Mat<T>& dx, Conv2dWorkspace<T>& ws) {
  const Shape out = conv2d_output_shape(g);
  LPSIM_ASSERT(dy.cols() == out.size(), "conv2d_backward_input: dy has " +
                                            std::to_string(dy.cols()) + " columns, expected " +
                                            std::to_string(out.size()) + " for " + describe(g));
  check_weight(g, w.rows(), w.cols(), "conv2d_backward_input");
  const std::int64_t batch = dy.rows();
  if constexpr (std::is_same_v<T, float>) {
    if (accumulate_rule().exact() && dense<T>(dy) && dense<T>(w)) {
      dx.resize(batch, g.in.size());
      if (onednn::backward_input(dy.data(), w.data(), g, batch, dx.data())) return;
    }
  }
  to_channel_rows<T>(dy, g.out_channels, out.h * out.w, ws.rows_t);
  ws.cols_t.resize(g.patch_size(), ws.rows_t.cols());
  gemm(ws.cols_t, w.transpose(), ws.rows_t);
  col2im_t(ws.cols_t, g, out, batch, dx);
}

template <typename T>
void conv2d_backward_input(const MatIn<T>& dy, const MatIn<T>& w, const Conv2dGeometry& g,
                           Mat<T>& dx) {
  Conv2dWorkspace<T> ws;
  conv2d_backward_input<T>(dy, w, g, dx, ws);
}

template <typename T>
void conv2d_backward_weights(const MatIn<T>& x, const MatIn<T>& dy, const Conv2dGeometry& g,
                             Mat<T>& dw, Vec<T>& db, Conv2dWorkspace<T>& ws) {
  const Shape out = conv2d_output_shape(g);
  LPSIM_ASSERT(x.cols() == g.in.size(), "conv2d_backward_weights: x has " +
                                            std::to_string(x.cols()) + " columns, expected " +
                                            describe(g));
  LPSIM_ASSERT(dy.cols() == out.size() && dy.rows() == x.rows(),
               "conv2d_backward_weights: dy is [" + std::to_string(dy.rows()) + ", " +
                   std::to_string(dy.cols()) + "], expected [" + std::to_string(x.rows()) + ", " +
                   std::to_string(out.size()) + "]");
  if constexpr (std::is_same_v<T, float>) {
    if (accumulate_rule().exact() && dense<T>(x) && dense<T>(dy)) {
      dw.resize(g.out_channels, g.patch_size());
      db.resize(g.out_channels);
      if (onednn::backward_weights(x.data(), dy.data(), g, x.rows(), dw.data(), db.data())) return;
    }
  }
  im2col_t<T>(x, g, out, ws.cols_t);
  to_channel_rows<T>(dy, g.out_channels, out.h * out.w, ws.rows_t);
  dw.resize(g.out_channels, g.patch_size());
  gemm(dw, ws.rows_t, ws.cols_t.transpose());
  db.resize(g.out_channels);
  db.noalias() = ws.rows_t.rowwise().sum();
}

template <typename T>
void conv2d_backward_weights(const MatIn<T>& x, const MatIn<T>& dy, const Conv2dGeometry& g,
                             Mat<T>& dw, Vec<T>& db) {
  Conv2dWorkspace<T> ws;
  conv2d_backward_weights<T>(x, dy, g, dw, db, ws);
}

#define LPSIM_INSTANTIATE(T)                                                                      \
  template void conv2d_forward<T>(const MatIn<T>&, const MatIn<T>&, const VecIn<T>&,              \
                                  const Conv2dGeometry&, Mat<T>&, Conv2dWorkspace<T>&);           \
  template void conv2d_forward<T>(const MatIn<T>&, const MatIn<T>&, const VecIn<T>&,              \
                                  const Conv2dGeometry&, Mat<T>&);                                \
  template void conv2d_backward_input<T>(const MatIn<T>&, const MatIn<T>&, const Conv2dGeometry&, \
                                         Mat<T>&, Conv2dWorkspace<T>&);                           \
  template void conv2d_backward_input<T>(const MatIn<T>&, const MatIn<T>&, const Conv2dGeometry&, \
                                         Mat<T>&);                                                \
  template void conv2d_backward_weights<T>(const MatIn<T>&, const MatIn<T>&,                      \
                                           const Conv2dGeometry&, Mat<T>&, Vec<T>&,               \
                                           Conv2dWorkspace<T>&);                                  \
  template void conv2d_backward_weights<T>(const MatIn<T>&, const MatIn<T>&,                      \
                                           const Conv2dGeometry&, Mat<T>&, Vec<T>&);
LPSIM_INSTANTIATE(float)
LPSIM_INSTANTIATE(double)
#undef LPSIM_INSTANTIATE

}  // namespace lpsim::ops
