#include "workloads/ops/activation.h"

#include "sim/core/errors.h"

namespace lpsim::ops {

template <typename T>
void relu_forward(const MatIn<T>& x, Mat<T>& y) {
  y.resize(x.rows(), x.cols());
  y.array() = x.array().max(T(0));
}

template <typename T>
void relu_backward(const MatIn<T>& dy, const MatIn<T>& x_or_y, Mat<T>& dx) {
  LPSIM_ASSERT(dy.rows() == x_or_y.rows() && dy.cols() == x_or_y.cols(),
               "relu_backward: dy and the stored activation differ in shape");
  dx.resize(dy.rows(), dy.cols());
  dx.array() = (x_or_y.array() > T(0)).select(dy.array(), T(0));
}

#define LPSIM_INSTANTIATE(T)                               \
  template void relu_forward<T>(const MatIn<T>&, Mat<T>&); \
  template void relu_backward<T>(const MatIn<T>&, const MatIn<T>&, Mat<T>&);
LPSIM_INSTANTIATE(float)
LPSIM_INSTANTIATE(double)
#undef LPSIM_INSTANTIATE

}  // namespace lpsim::ops
