#include "workloads/ops/residual.h"

#include "core/errors.h"
#include "workloads/ops/parallel.h"

namespace lpsim::ops {

template <typename T>
void residual_add_forward(const MatIn<T>& a, const MatIn<T>& b, Mat<T>& y) {
  LPSIM_ASSERT(a.rows() == b.rows() && a.cols() == b.cols(),
               "residual_add_forward: the two branches differ in shape");
  y.resize(a.rows(), a.cols());
  parallel_ranges(a.rows(), a.cols(), [&](std::int64_t r_begin, std::int64_t r_end) {
    const std::int64_t n = r_end - r_begin;
    y.middleRows(r_begin, n).noalias() = a.middleRows(r_begin, n) + b.middleRows(r_begin, n);
  });
}

template <typename T>
void residual_add_backward(const MatIn<T>& dy, Mat<T>& da, Mat<T>& db) {
  da.resize(dy.rows(), dy.cols());
  db.resize(dy.rows(), dy.cols());
  parallel_ranges(dy.rows(), 2 * dy.cols(), [&](std::int64_t r_begin, std::int64_t r_end) {
    const std::int64_t n = r_end - r_begin;
    da.middleRows(r_begin, n) = dy.middleRows(r_begin, n);
    db.middleRows(r_begin, n) = dy.middleRows(r_begin, n);
  });
}

#define LPSIM_INSTANTIATE(T)                                                        \
  template void residual_add_forward<T>(const MatIn<T>&, const MatIn<T>&, Mat<T>&); \
  template void residual_add_backward<T>(const MatIn<T>&, Mat<T>&, Mat<T>&);
LPSIM_INSTANTIATE(float)
LPSIM_INSTANTIATE(double)
#undef LPSIM_INSTANTIATE

}  // namespace lpsim::ops
