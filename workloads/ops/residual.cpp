#include "workloads/ops/residual.h"

#include "sim/core/errors.h"

namespace lpsim::ops {

template <typename T>
void residual_add_forward(const MatIn<T>& a, const MatIn<T>& b, Mat<T>& y) {
  LPSIM_ASSERT(a.rows() == b.rows() && a.cols() == b.cols(),
               "residual_add_forward: the two branches differ in shape");
  y.resize(a.rows(), a.cols());
  y.noalias() = a + b;
}

template <typename T>
void residual_add_backward(const MatIn<T>& dy, Mat<T>& da, Mat<T>& db) {
  da = dy;
  db = dy;
}

#define LPSIM_INSTANTIATE(T)                                                        \
  template void residual_add_forward<T>(const MatIn<T>&, const MatIn<T>&, Mat<T>&); \
  template void residual_add_backward<T>(const MatIn<T>&, Mat<T>&, Mat<T>&);
LPSIM_INSTANTIATE(float)
LPSIM_INSTANTIATE(double)
#undef LPSIM_INSTANTIATE

}  // namespace lpsim::ops
