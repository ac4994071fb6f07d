#pragma once
// Residual (skip) connection join: y = a + b.
//
// Shapes (legend in tensor.h): a, b, y, dy, da, db [B, F] with F = C*H*W.

#include "workloads/ops/tensor.h"

namespace lpsim::ops {

// F: a [B, F], b [B, F] -> y [B, F] = a + b.
template <typename T>
void residual_add_forward(const MatIn<T>& a, const MatIn<T>& b, Mat<T>& y);

// B: dy [B, F] -> da [B, F] = dy, db [B, F] = dy (the gradient reaches both branches).
template <typename T>
void residual_add_backward(const MatIn<T>& dy, Mat<T>& da, Mat<T>& db);

}  // namespace lpsim::ops
