#pragma once
// 2-D convolution (PyTorch's nn.Conv2d with groups=1, dilation=1): stride and zero padding
// equal in both directions, any kh x kw kernel, lowered to one GEMM per task with im2col.
//
// Shapes (legend in tensor.h): x and dx [B, C*H*W], W and dW [O, C*kh*kw] (PyTorch's
// [O, C, kh, kw] flattened row-major), b and db [O], y and dy [B, O*Ho*Wo];
// M = B*Ho*Wo, K = C*kh*kw, N = O.
//   F : Y[M, N]  = cols[M, K] · W^T[K, N]            then add b
//   Ba: dcols[M, K] = dY[M, O] · W[O, K]              then col2im (scatter-add into dx)
//   Bw: dW[O, K] = dY^T[O, M] · cols[M, K],  db = sums of dY over M
// where cols is the im2col matrix of the whole batch (row = one output pixel (b, ho, wo),
// column = (c, i, j)) and dY is dy with one row per output pixel. The kernels hold cols and
// dY transposed ([K, M] and [O, M]) so that im2col copies contiguous runs and dy's CHW rows
// map onto them; each product is the transpose of the one above, with the same M, K, N.
// Outputs are resized by the kernel and must not alias inputs.

#include <cstdint>

#include "workloads/ops/tensor.h"

namespace lpsim::ops {

struct Conv2dGeometry {
  Shape in;                       // per-sample input {C, H, W}
  std::int64_t out_channels = 0;  // O
  std::int64_t kernel_h = 1;
  std::int64_t kernel_w = 1;
  std::int64_t stride = 1;   // both directions
  std::int64_t padding = 0;  // zeros on every side

  // K = C*kh*kw: the fan_in, the columns of W and of the im2col matrix.
  std::int64_t patch_size() const { return in.c * kernel_h * kernel_w; }
};

// {O, Ho, Wo} with Ho = (H + 2p - kh) / s + 1 (floor), likewise Wo. LPSIM_ASSERT rejects a
// geometry with a non-positive size, stride or kernel, negative padding, or a kernel larger
// than the padded input.
Shape conv2d_output_shape(const Conv2dGeometry& g);

// Scratch matrices the kernels reuse between calls (one per layer or per caller; not
// thread-safe). The overloads without one allocate a fresh workspace per call.
template <typename T>
struct Conv2dWorkspace {
  Mat<T> cols_t;  // [K, M]: im2col of x (F, Bw) or dcols (Ba)
  Mat<T> rows_t;  // [O, M]: y before the layout change (F) or dy rearranged (Ba, Bw)
};

// F: x [B, C*H*W], w [O, K], b [O] -> y [B, O*Ho*Wo].
template <typename T>
void conv2d_forward(const MatIn<T>& x, const MatIn<T>& w, const VecIn<T>& b,
                    const Conv2dGeometry& g, Mat<T>& y, Conv2dWorkspace<T>& ws);
template <typename T>
void conv2d_forward(const MatIn<T>& x, const MatIn<T>& w, const VecIn<T>& b,
                    const Conv2dGeometry& g, Mat<T>& y);

// Ba: dy [B, O*Ho*Wo], w [O, K] (the weight version to use) -> dx [B, C*H*W].
template <typename T>
void conv2d_backward_input(const MatIn<T>& dy, const MatIn<T>& w, const Conv2dGeometry& g,
                           Mat<T>& dx, Conv2dWorkspace<T>& ws);
template <typename T>
void conv2d_backward_input(const MatIn<T>& dy, const MatIn<T>& w, const Conv2dGeometry& g,
                           Mat<T>& dx);

// Bw: x [B, C*H*W] (stored input), dy [B, O*Ho*Wo] -> dw [O, K], db [O].
template <typename T>
void conv2d_backward_weights(const MatIn<T>& x, const MatIn<T>& dy, const Conv2dGeometry& g,
                             Mat<T>& dw, Vec<T>& db, Conv2dWorkspace<T>& ws);
template <typename T>
void conv2d_backward_weights(const MatIn<T>& x, const MatIn<T>& dy, const Conv2dGeometry& g,
                             Mat<T>& dw, Vec<T>& db);

}  // namespace lpsim::ops
