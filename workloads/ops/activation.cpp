#include "workloads/ops/activation.h"

#include "core/errors.h"
#include "workloads/ops/parallel.h"

namespace lpsim::ops {

template <typename T>
void relu_forward(const MatIn<T>& x, Mat<T>& y) {
  y.resize(x.rows(), x.cols());
  parallel_ranges(x.rows(), x.cols(), [&](std::int64_t r_begin, std::int64_t r_end) {
    y.middleRows(r_begin, r_end - r_begin).array() =
        x.middleRows(r_begin, r_end - r_begin).array().max(T(0));
  });
}

template <typename T>
void relu_backward(const MatIn<T>& dy, const MatIn<T>& x_or_y, Mat<T>& dx) {
  LPSIM_ASSERT(dy.rows() == x_or_y.rows() && dy.cols() == x_or_y.cols(),
               "relu_backward: dy and the stored activation differ in shape");
  dx.resize(dy.rows(), dy.cols());
  // A plain loop that loads dy unconditionally vectorises (Eigen 3.4's select() does not);
  // the values are the same as select()'s, NaN included.
  const Eigen::Index rows = dy.rows(), cols = dy.cols();
  parallel_ranges(rows, cols, [&](std::int64_t r_begin, std::int64_t r_end) {
    for (Eigen::Index r = r_begin; r < r_end; ++r) {
      const T* g = dy.data() + r * dy.outerStride();
      const T* a = x_or_y.data() + r * x_or_y.outerStride();
      T* out = dx.data() + r * cols;
      for (Eigen::Index c = 0; c < cols; ++c) {
        const T d = g[c];
        out[c] = a[c] > T(0) ? d : T(0);
      }
    }
  });
}

#define LPSIM_INSTANTIATE(T)                               \
  template void relu_forward<T>(const MatIn<T>&, Mat<T>&); \
  template void relu_backward<T>(const MatIn<T>&, const MatIn<T>&, Mat<T>&);
LPSIM_INSTANTIATE(float)
LPSIM_INSTANTIATE(double)
#undef LPSIM_INSTANTIATE

}  // namespace lpsim::ops
