#pragma once
// Fully connected layer, PyTorch's nn.Linear: y = x W^T + b.
//
// Shapes (legend in tensor.h): x [B, I], W [O, I], b [O], y and dy [B, O].
// The three entry points mirror the hardware tasks: F (forward), Ba (gradient to the input:
// one GEMM with the weight version the caller chooses) and Bw (weight gradient from the
// stored input activation). Outputs are resized by the kernel and must not alias inputs.

#include "workloads/ops/tensor.h"

namespace lpsim::ops {

// F: x [B, I], w [O, I], b [O] -> y [B, O] = x w^T + b (GEMM M=B, K=I, N=O).
template <typename T>
void linear_forward(const MatIn<T>& x, const MatIn<T>& w, const VecIn<T>& b, Mat<T>& y);

// Ba: dy [B, O], w [O, I] (the weight version to use) -> dx [B, I] = dy w (M=B, K=O, N=I).
template <typename T>
void linear_backward_input(const MatIn<T>& dy, const MatIn<T>& w, Mat<T>& dx);

// Bw: x [B, I] (stored input), dy [B, O] -> dw [O, I] = dy^T x (M=O, K=B, N=I),
// db [O] = column sums of dy.
template <typename T>
void linear_backward_weights(const MatIn<T>& x, const MatIn<T>& dy, Mat<T>& dw, Vec<T>& db);

}  // namespace lpsim::ops
