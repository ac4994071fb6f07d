#include "workloads/ops/linear.h"

#include <string>

#include "core/errors.h"
#include "workloads/ops/gemm.h"

namespace lpsim::ops {

template <typename T>
void linear_forward(const MatIn<T>& x, const MatIn<T>& w, const VecIn<T>& b, Mat<T>& y) {
  LPSIM_ASSERT(x.cols() == w.cols(), "linear_forward: x has " + std::to_string(x.cols()) +
                                         " features, w expects " + std::to_string(w.cols()));
  LPSIM_ASSERT(b.size() == w.rows(), "linear_forward: bias size differs from w rows");
  y.resize(x.rows(), w.rows());
  gemm(y, x, w.transpose());
  y.rowwise() += b.transpose();
}

template <typename T>
void linear_backward_input(const MatIn<T>& dy, const MatIn<T>& w, Mat<T>& dx) {
  LPSIM_ASSERT(dy.cols() == w.rows(), "linear_backward_input: dy columns differ from w rows");
  dx.resize(dy.rows(), w.cols());
  gemm(dx, dy, w);
}

template <typename T>
void linear_backward_weights(const MatIn<T>& x, const MatIn<T>& dy, Mat<T>& dw, Vec<T>& db) {
  LPSIM_ASSERT(x.rows() == dy.rows(), "linear_backward_weights: x and dy batch sizes differ");
  dw.resize(dy.cols(), x.cols());
  gemm(dw, dy.transpose(), x);
  db.resize(dy.cols());
  db.noalias() = dy.colwise().sum().transpose();
}

#define LPSIM_INSTANTIATE(T)                                                                   \
  template void linear_forward<T>(const MatIn<T>&, const MatIn<T>&, const VecIn<T>&, Mat<T>&); \
  template void linear_backward_input<T>(const MatIn<T>&, const MatIn<T>&, Mat<T>&);           \
  template void linear_backward_weights<T>(const MatIn<T>&, const MatIn<T>&, Mat<T>&, Vec<T>&);
LPSIM_INSTANTIATE(float)
LPSIM_INSTANTIATE(double)
#undef LPSIM_INSTANTIATE

}  // namespace lpsim::ops
