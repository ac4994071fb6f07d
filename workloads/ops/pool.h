#pragma once
// 2-D pooling with PyTorch semantics (ceil_mode=False, dilation=1) and global average pooling.
//
// Shapes (legend in tensor.h): x and dx [B, C*H*W], y and dy [B, C*Ho*Wo] with
// Ho = (H + 2p - kh) / s + 1 (floor), likewise Wo; global pooling gives y [B, C].
// Pooling has no weights: its backward is a Ba-like task that needs only dy and, for max
// pooling, the argmax indices the forward recorded. Outputs are resized by the kernel and
// must not alias inputs.

#include <cstdint>

#include "workloads/ops/tensor.h"

namespace lpsim::ops {

struct Pool2dGeometry {
  Shape in;  // per-sample input {C, H, W}
  std::int64_t kernel_h = 2;
  std::int64_t kernel_w = 2;
  std::int64_t stride = 2;   // both directions (PyTorch's default stride is the kernel size)
  std::int64_t padding = 0;  // every side; at most half the kernel, as PyTorch requires
};

// {C, Ho, Wo}. LPSIM_ASSERT rejects non-positive sizes, kernel or stride, negative padding,
// padding > kernel/2 (PyTorch's rule) or a kernel larger than the padded input.
Shape pool2d_output_shape(const Pool2dGeometry& g);

// Argmax of each max-pooling window: [B, C*Ho*Wo], entry = h*W + w, the position inside its
// input channel plane, exactly PyTorch's return_indices=True.
using ArgmaxIndices = Eigen::Matrix<std::int32_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// F: x [B, C*H*W] -> y [B, C*Ho*Wo], argmax [B, C*Ho*Wo]. Padding acts as -inf; among equal
// maxima the first in row-major window order wins, and a NaN wins (both as in PyTorch).
template <typename T>
void maxpool2d_forward(const MatIn<T>& x, const Pool2dGeometry& g, Mat<T>& y,
                       ArgmaxIndices& argmax);

// B: dy [B, C*Ho*Wo], argmax [B, C*Ho*Wo] -> dx [B, C*H*W]: each dy added at its argmax.
template <typename T>
void maxpool2d_backward(const MatIn<T>& dy, const ArgmaxIndices& argmax, const Pool2dGeometry& g,
                        Mat<T>& dx);

// F: x [B, C*H*W] -> y [B, C*Ho*Wo], the window sum divided by kh*kw (count_include_pad=True:
// padded zeros count; with ceil_mode=False no window reaches past the padding).
template <typename T>
void avgpool2d_forward(const MatIn<T>& x, const Pool2dGeometry& g, Mat<T>& y);

// B: dy [B, C*Ho*Wo] -> dx [B, C*H*W]: dy / (kh*kw) added to every in-bounds window element.
template <typename T>
void avgpool2d_backward(const MatIn<T>& dy, const Pool2dGeometry& g, Mat<T>& dx);

// F: x [B, C*H*W] -> y [B, C], the mean over each channel plane (AdaptiveAvgPool2d(1)
// followed by flatten).
template <typename T>
void global_avgpool_forward(const MatIn<T>& x, const Shape& in, Mat<T>& y);

// B: dy [B, C] -> dx [B, C*H*W] = dy / (H*W) broadcast over each plane.
template <typename T>
void global_avgpool_backward(const MatIn<T>& dy, const Shape& in, Mat<T>& dx);

}  // namespace lpsim::ops
