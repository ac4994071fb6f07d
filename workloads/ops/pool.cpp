#include "workloads/ops/pool.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "core/errors.h"

namespace lpsim::ops {
namespace {

std::string describe(const Pool2dGeometry& g) {
  return "pool2d geometry in={" + std::to_string(g.in.c) + "," + std::to_string(g.in.h) + "," +
         std::to_string(g.in.w) + "} kernel=" + std::to_string(g.kernel_h) + "x" +
         std::to_string(g.kernel_w) + " stride=" + std::to_string(g.stride) +
         " padding=" + std::to_string(g.padding);
}

void check_input(std::int64_t cols, const Shape& in, const char* who) {
  LPSIM_ASSERT(cols == in.size(), std::string(who) + ": activation has " + std::to_string(cols) +
                                      " columns, expected C*H*W = " + std::to_string(in.size()));
}

}  // namespace

Shape pool2d_output_shape(const Pool2dGeometry& g) {
  LPSIM_ASSERT(g.in.c > 0 && g.in.h > 0 && g.in.w > 0 && g.kernel_h > 0 && g.kernel_w > 0 &&
                   g.stride > 0 && g.padding >= 0,
               "invalid " + describe(g));
  LPSIM_ASSERT(g.padding <= g.kernel_h / 2 && g.padding <= g.kernel_w / 2,
               "padding exceeds half the kernel: " + describe(g));
  LPSIM_ASSERT(g.kernel_h <= g.in.h + 2 * g.padding && g.kernel_w <= g.in.w + 2 * g.padding,
               "kernel larger than the padded input: " + describe(g));
  return Shape{g.in.c, (g.in.h + 2 * g.padding - g.kernel_h) / g.stride + 1,
               (g.in.w + 2 * g.padding - g.kernel_w) / g.stride + 1};
}

template <typename T>
void maxpool2d_forward(const MatIn<T>& x, const Pool2dGeometry& g, Mat<T>& y,
                       ArgmaxIndices& argmax) {
  const Shape out = pool2d_output_shape(g);
  check_input(x.cols(), g.in, "maxpool2d_forward");
  const std::int64_t batch = x.rows();
  const std::int64_t H = g.in.h, W = g.in.w, s = g.stride, p = g.padding;
  y.resize(batch, out.size());
  argmax.resize(batch, out.size());
  for (std::int64_t b = 0; b < batch; ++b) {
    for (std::int64_t c = 0; c < g.in.c; ++c) {
      const T* plane = x.data() + b * x.outerStride() + c * H * W;
      T* dst = y.data() + b * y.cols() + c * out.h * out.w;
      std::int32_t* idx = argmax.data() + b * argmax.cols() + c * out.h * out.w;
      for (std::int64_t ho = 0; ho < out.h; ++ho) {
        const std::int64_t h0 = std::max<std::int64_t>(ho * s - p, 0);
        const std::int64_t h1 = std::min(ho * s - p + g.kernel_h, H);
        for (std::int64_t wo = 0; wo < out.w; ++wo) {
          const std::int64_t w0 = std::max<std::int64_t>(wo * s - p, 0);
          const std::int64_t w1 = std::min(wo * s - p + g.kernel_w, W);
          T best = -std::numeric_limits<T>::infinity();
          std::int64_t best_at = h0 * W + w0;
          for (std::int64_t h = h0; h < h1; ++h) {
            for (std::int64_t w = w0; w < w1; ++w) {
              const T v = plane[h * W + w];
              if (v > best || std::isnan(v)) {
                best = v;
                best_at = h * W + w;
              }
            }
          }
          dst[ho * out.w + wo] = best;
          idx[ho * out.w + wo] = static_cast<std::int32_t>(best_at);
        }
      }
    }
  }
}

template <typename T>
void maxpool2d_backward(const MatIn<T>& dy, const ArgmaxIndices& argmax, const Pool2dGeometry& g,
                        Mat<T>& dx) {
  const Shape out = pool2d_output_shape(g);
  LPSIM_ASSERT(dy.cols() == out.size() && argmax.rows() == dy.rows() && argmax.cols() == dy.cols(),
               "maxpool2d_backward: dy or argmax does not match " + describe(g));
  const std::int64_t batch = dy.rows();
  const std::int64_t plane_in = g.in.h * g.in.w, plane_out = out.h * out.w;
  dx.setZero(batch, g.in.size());
  for (std::int64_t b = 0; b < batch; ++b) {
    for (std::int64_t c = 0; c < g.in.c; ++c) {
      const T* src = dy.data() + b * dy.outerStride() + c * plane_out;
      const std::int32_t* idx = argmax.data() + b * argmax.cols() + c * plane_out;
      T* dst = dx.data() + b * dx.cols() + c * plane_in;
      for (std::int64_t q = 0; q < plane_out; ++q) dst[idx[q]] += src[q];
    }
  }
}

template <typename T>
void avgpool2d_forward(const MatIn<T>& x, const Pool2dGeometry& g, Mat<T>& y) {
  const Shape out = pool2d_output_shape(g);
  check_input(x.cols(), g.in, "avgpool2d_forward");
  const std::int64_t batch = x.rows();
  const std::int64_t H = g.in.h, W = g.in.w, s = g.stride, p = g.padding;
  const T inv_count = T(1) / static_cast<T>(g.kernel_h * g.kernel_w);
  y.resize(batch, out.size());
  for (std::int64_t b = 0; b < batch; ++b) {
    for (std::int64_t c = 0; c < g.in.c; ++c) {
      const T* plane = x.data() + b * x.outerStride() + c * H * W;
      T* dst = y.data() + b * y.cols() + c * out.h * out.w;
      for (std::int64_t ho = 0; ho < out.h; ++ho) {
        const std::int64_t h0 = std::max<std::int64_t>(ho * s - p, 0);
        const std::int64_t h1 = std::min(ho * s - p + g.kernel_h, H);
        for (std::int64_t wo = 0; wo < out.w; ++wo) {
          const std::int64_t w0 = std::max<std::int64_t>(wo * s - p, 0);
          const std::int64_t w1 = std::min(wo * s - p + g.kernel_w, W);
          T sum = 0;
          for (std::int64_t h = h0; h < h1; ++h) {
            for (std::int64_t w = w0; w < w1; ++w) sum += plane[h * W + w];
          }
          dst[ho * out.w + wo] = sum * inv_count;
        }
      }
    }
  }
}

template <typename T>
void avgpool2d_backward(const MatIn<T>& dy, const Pool2dGeometry& g, Mat<T>& dx) {
  const Shape out = pool2d_output_shape(g);
  LPSIM_ASSERT(dy.cols() == out.size(), "avgpool2d_backward: dy does not match " + describe(g));
  const std::int64_t batch = dy.rows();
  const std::int64_t H = g.in.h, W = g.in.w, s = g.stride, p = g.padding;
  const T inv_count = T(1) / static_cast<T>(g.kernel_h * g.kernel_w);
  dx.setZero(batch, g.in.size());
  for (std::int64_t b = 0; b < batch; ++b) {
    for (std::int64_t c = 0; c < g.in.c; ++c) {
      const T* src = dy.data() + b * dy.outerStride() + c * out.h * out.w;
      T* plane = dx.data() + b * dx.cols() + c * H * W;
      for (std::int64_t ho = 0; ho < out.h; ++ho) {
        const std::int64_t h0 = std::max<std::int64_t>(ho * s - p, 0);
        const std::int64_t h1 = std::min(ho * s - p + g.kernel_h, H);
        for (std::int64_t wo = 0; wo < out.w; ++wo) {
          const std::int64_t w0 = std::max<std::int64_t>(wo * s - p, 0);
          const std::int64_t w1 = std::min(wo * s - p + g.kernel_w, W);
          const T share = src[ho * out.w + wo] * inv_count;
          for (std::int64_t h = h0; h < h1; ++h) {
            for (std::int64_t w = w0; w < w1; ++w) plane[h * W + w] += share;
          }
        }
      }
    }
  }
}

template <typename T>
void global_avgpool_forward(const MatIn<T>& x, const Shape& in, Mat<T>& y) {
  check_input(x.cols(), in, "global_avgpool_forward");
  LPSIM_ASSERT(in.c > 0 && in.h > 0 && in.w > 0, "global_avgpool_forward: empty shape");
  const std::int64_t batch = x.rows();
  const std::int64_t plane = in.h * in.w;
  const T inv_count = T(1) / static_cast<T>(plane);
  y.resize(batch, in.c);
  for (std::int64_t b = 0; b < batch; ++b) {
    const Eigen::Map<const Mat<T>> xb(x.data() + b * x.outerStride(), in.c, plane);
    y.row(b) = xb.rowwise().sum().transpose() * inv_count;
  }
}

template <typename T>
void global_avgpool_backward(const MatIn<T>& dy, const Shape& in, Mat<T>& dx) {
  LPSIM_ASSERT(dy.cols() == in.c, "global_avgpool_backward: dy has " + std::to_string(dy.cols()) +
                                      " columns, expected C = " + std::to_string(in.c));
  const std::int64_t batch = dy.rows();
  const std::int64_t plane = in.h * in.w;
  const T inv_count = T(1) / static_cast<T>(plane);
  dx.resize(batch, in.size());
  for (std::int64_t b = 0; b < batch; ++b) {
    Eigen::Map<Mat<T>> dxb(dx.data() + b * dx.cols(), in.c, plane);
    dxb.colwise() = dy.row(b).transpose() * inv_count;
  }
}

#define LPSIM_INSTANTIATE(T)                                                            \
  template void maxpool2d_forward<T>(const MatIn<T>&, const Pool2dGeometry&, Mat<T>&,   \
                                     ArgmaxIndices&);                                   \
  template void maxpool2d_backward<T>(const MatIn<T>&, const ArgmaxIndices&,            \
                                      const Pool2dGeometry&, Mat<T>&);                  \
  template void avgpool2d_forward<T>(const MatIn<T>&, const Pool2dGeometry&, Mat<T>&);  \
  template void avgpool2d_backward<T>(const MatIn<T>&, const Pool2dGeometry&, Mat<T>&); \
  template void global_avgpool_forward<T>(const MatIn<T>&, const Shape&, Mat<T>&);      \
  template void global_avgpool_backward<T>(const MatIn<T>&, const Shape&, Mat<T>&);
LPSIM_INSTANTIATE(float)
LPSIM_INSTANTIATE(double)
#undef LPSIM_INSTANTIATE

}  // namespace lpsim::ops
