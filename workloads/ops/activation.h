#pragma once
// Element-wise activations and the layout no-op flatten.
//
// Shapes (legend in tensor.h): x, y, dy, dx [B, F] with F = C*H*W (any per-sample shape).
//
// flatten: an activation batch is already [B, C*H*W] in PyTorch's CHW order, so
// torch.flatten(x, 1) is the identity on this layout; no kernel exists for it (a network's
// flatten layer passes its input and its gradient through unchanged and costs nothing).

#include "workloads/ops/tensor.h"

namespace lpsim::ops {

// F: x [B, F] -> y [B, F] = max(x, 0).
template <typename T>
void relu_forward(const MatIn<T>& x, Mat<T>& y);

// Ba (element-wise part): dy [B, F], x_or_y [B, F] -> dx [B, F] = dy where x_or_y > 0, else 0.
// x_or_y may be the forward INPUT x or the forward OUTPUT y = relu(x): y > 0 exactly where
// x > 0, so both give the same result (at x = 0 the derivative is 0, as in PyTorch). Keeping
// y lets the hardware store a single tensor for this layer and the next.
template <typename T>
void relu_backward(const MatIn<T>& dy, const MatIn<T>& x_or_y, Mat<T>& dx);

}  // namespace lpsim::ops
