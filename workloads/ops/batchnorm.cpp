#include "workloads/ops/batchnorm.h"

#include <cmath>
#include <string>

#include "core/errors.h"
#include "workloads/ops/parallel.h"

namespace lpsim::ops {
namespace {

// Sample b of an activation batch seen as a [C, H*W] row-major matrix.
template <typename T>
Eigen::Map<const Mat<T>> plane_view(const MatIn<T>& m, std::int64_t b, const Shape& s) {
  return Eigen::Map<const Mat<T>>(m.data() + b * m.outerStride(), s.c, s.h * s.w);
}
template <typename T>
Eigen::Map<Mat<T>> plane_view(Mat<T>& m, std::int64_t b, const Shape& s) {
  return Eigen::Map<Mat<T>>(m.data() + b * m.cols(), s.c, s.h * s.w);
}

void check(std::int64_t cols, const Shape& shape, std::int64_t params, const char* who) {
  LPSIM_ASSERT(shape.c > 0 && shape.h > 0 && shape.w > 0 && cols == shape.size(),
               std::string(who) + ": activation has " + std::to_string(cols) +
                   " columns, expected C*H*W = " + std::to_string(shape.size()));
  LPSIM_ASSERT(params == shape.c, std::string(who) + ": per-channel parameters have size " +
                                      std::to_string(params) +
                                      ", expected C = " + std::to_string(shape.c));
}

// Per-channel sums over the batch of dy and dy * x_hat, accumulated in double.
template <typename T>
void channel_sums(const MatIn<T>& dy, const BatchNormSaved<T>& saved, Eigen::VectorXd& sum_dy,
                  Eigen::VectorXd& sum_dy_xhat) {
  const Shape& s = saved.shape;
  sum_dy.setZero(s.c);
  sum_dy_xhat.setZero(s.c);
  // Channel c sums over b in order (a float sum per plane row, added in double).
  parallel_ranges(s.c, dy.rows() * s.h * s.w, [&](std::int64_t c_begin, std::int64_t c_end) {
    for (std::int64_t b = 0; b < dy.rows(); ++b) {
      const Eigen::Map<const Mat<T>> g = plane_view<T>(dy, b, s);
      const Eigen::Map<const Mat<T>> xh(saved.x_hat.data() + b * saved.x_hat.cols(), s.c,
                                        s.h * s.w);
      for (std::int64_t c = c_begin; c < c_end; ++c) {
        sum_dy(c) += static_cast<double>(g.row(c).sum());
        sum_dy_xhat(c) += static_cast<double>(g.row(c).cwiseProduct(xh.row(c)).sum());
      }
    }
  });
}

}  // namespace

template <typename T>
void batchnorm2d_forward_train(const MatIn<T>& x, const Shape& shape, const VecIn<T>& gamma,
                               const VecIn<T>& beta, Vec<T>& running_mean, Vec<T>& running_var,
                               Mat<T>& y, BatchNormSaved<T>& saved, double momentum, double eps) {
  check(x.cols(), shape, gamma.size(), "batchnorm2d_forward_train");
  LPSIM_ASSERT(
      beta.size() == shape.c && running_mean.size() == shape.c && running_var.size() == shape.c,
      "batchnorm2d_forward_train: beta or running statistics have the wrong size");
  const std::int64_t batch = x.rows();
  const std::int64_t n = batch * shape.h * shape.w;
  LPSIM_ASSERT(n > 1, "batchnorm2d_forward_train: needs more than one value per channel, got " +
                          std::to_string(n));
  // Two passes in double: the mean, then the squared deviations from it.
  // Channel c sums over b in order, whichever thread runs it.
  Eigen::VectorXd mean = Eigen::VectorXd::Zero(shape.c);
  Eigen::VectorXd sq = Eigen::VectorXd::Zero(shape.c);
  parallel_ranges(shape.c, 2 * n, [&](std::int64_t c_begin, std::int64_t c_end) {
    for (std::int64_t b = 0; b < batch; ++b) {
      const Eigen::Map<const Mat<T>> xb = plane_view<T>(x, b, shape);
      for (std::int64_t c = c_begin; c < c_end; ++c) {
        mean(c) += static_cast<double>(xb.row(c).sum());
      }
    }
    for (std::int64_t c = c_begin; c < c_end; ++c) mean(c) /= static_cast<double>(n);
    for (std::int64_t b = 0; b < batch; ++b) {
      const Eigen::Map<const Mat<T>> xb = plane_view<T>(x, b, shape);
      for (std::int64_t c = c_begin; c < c_end; ++c) {
        sq(c) += (xb.row(c).template cast<double>().array() - mean(c)).square().sum();
      }
    }
  });
  const Eigen::VectorXd var = sq / static_cast<double>(n);
  const Eigen::VectorXd inv_std = (var.array() + eps).rsqrt().matrix();

  saved.shape = shape;
  saved.inv_std = inv_std.cast<T>();
  saved.x_hat.resize(batch, shape.size());
  y.resize(batch, shape.size());
  const Vec<T> mean_t = mean.cast<T>();
  parallel_ranges(batch, shape.size(), [&](std::int64_t b_begin, std::int64_t b_end) {
    for (std::int64_t b = b_begin; b < b_end; ++b) {
      Eigen::Map<Mat<T>> xh = plane_view<T>(saved.x_hat, b, shape);
      Eigen::Map<Mat<T>> yb = plane_view<T>(y, b, shape);
      xh = ((plane_view<T>(x, b, shape).colwise() - mean_t).array().colwise() *
            saved.inv_std.array())
               .matrix();
      yb = ((xh.array().colwise() * gamma.array()).colwise() + beta.array()).matrix();
    }
  });

  const double unbiased = static_cast<double>(n) / static_cast<double>(n - 1);
  for (std::int64_t c = 0; c < shape.c; ++c) {
    running_mean(c) = static_cast<T>((1.0 - momentum) * static_cast<double>(running_mean(c)) +
                                     momentum * mean(c));
    running_var(c) = static_cast<T>((1.0 - momentum) * static_cast<double>(running_var(c)) +
                                    momentum * var(c) * unbiased);
  }
}

template <typename T>
void batchnorm2d_forward_eval(const MatIn<T>& x, const Shape& shape, const VecIn<T>& gamma,
                              const VecIn<T>& beta, const VecIn<T>& running_mean,
                              const VecIn<T>& running_var, Mat<T>& y, double eps) {
  check(x.cols(), shape, gamma.size(), "batchnorm2d_forward_eval");
  LPSIM_ASSERT(
      beta.size() == shape.c && running_mean.size() == shape.c && running_var.size() == shape.c,
      "batchnorm2d_forward_eval: beta or running statistics have the wrong size");
  // y = scale * x + shift with scale = gamma / sqrt(var + eps), shift = beta - mean * scale.
  const Eigen::ArrayXd scale = gamma.template cast<double>().array() /
                               (running_var.template cast<double>().array() + eps).sqrt();
  const Vec<T> scale_t = scale.matrix().cast<T>();
  const Vec<T> shift_t =
      (beta.template cast<double>().array() - running_mean.template cast<double>().array() * scale)
          .matrix()
          .template cast<T>();
  y.resize(x.rows(), shape.size());
  for (std::int64_t b = 0; b < x.rows(); ++b) {
    Eigen::Map<Mat<T>> yb = plane_view<T>(y, b, shape);
    yb = ((plane_view<T>(x, b, shape).array().colwise() * scale_t.array()).colwise() +
          shift_t.array())
             .matrix();
  }
}

template <typename T>
void batchnorm2d_backward_input(const MatIn<T>& dy, const VecIn<T>& gamma,
                                const BatchNormSaved<T>& saved, Mat<T>& dx) {
  const Shape& s = saved.shape;
  check(dy.cols(), s, gamma.size(), "batchnorm2d_backward_input");
  LPSIM_ASSERT(dy.rows() == saved.x_hat.rows(),
               "batchnorm2d_backward_input: dy and the saved forward differ in batch size");
  Eigen::VectorXd sum_dy, sum_dy_xhat;
  channel_sums<T>(dy, saved, sum_dy, sum_dy_xhat);
  const double n = static_cast<double>(dy.rows() * s.h * s.w);
  const Vec<T> mean_dy = (sum_dy / n).cast<T>();
  const Vec<T> mean_dy_xhat = (sum_dy_xhat / n).cast<T>();
  const Vec<T> scale = gamma.cwiseProduct(saved.inv_std);
  dx.resize(dy.rows(), s.size());
  parallel_ranges(dy.rows(), s.size(), [&](std::int64_t b_begin, std::int64_t b_end) {
    for (std::int64_t b = b_begin; b < b_end; ++b) {
      const Eigen::Map<const Mat<T>> xh(saved.x_hat.data() + b * saved.x_hat.cols(), s.c,
                                        s.h * s.w);
      Eigen::Map<Mat<T>> dxb = plane_view<T>(dx, b, s);
      dxb = (((plane_view<T>(dy, b, s).colwise() - mean_dy).array() -
              xh.array().colwise() * mean_dy_xhat.array())
                 .colwise() *
             scale.array())
                .matrix();
    }
  });
}

template <typename T>
void batchnorm2d_backward_weights(const MatIn<T>& dy, const BatchNormSaved<T>& saved,
                                  Vec<T>& dgamma, Vec<T>& dbeta) {
  const Shape& s = saved.shape;
  check(dy.cols(), s, saved.inv_std.size(), "batchnorm2d_backward_weights");
  LPSIM_ASSERT(dy.rows() == saved.x_hat.rows(),
               "batchnorm2d_backward_weights: dy and the saved forward differ in batch size");
  Eigen::VectorXd sum_dy, sum_dy_xhat;
  channel_sums<T>(dy, saved, sum_dy, sum_dy_xhat);
  dgamma = sum_dy_xhat.cast<T>();
  dbeta = sum_dy.cast<T>();
}

#define LPSIM_INSTANTIATE(T)                                                                   \
  template void batchnorm2d_forward_train<T>(const MatIn<T>&, const Shape&, const VecIn<T>&,   \
                                             const VecIn<T>&, Vec<T>&, Vec<T>&, Mat<T>&,       \
                                             BatchNormSaved<T>&, double, double);              \
  template void batchnorm2d_forward_eval<T>(const MatIn<T>&, const Shape&, const VecIn<T>&,    \
                                            const VecIn<T>&, const VecIn<T>&, const VecIn<T>&, \
                                            Mat<T>&, double);                                  \
  template void batchnorm2d_backward_input<T>(const MatIn<T>&, const VecIn<T>&,                \
                                              const BatchNormSaved<T>&, Mat<T>&);              \
  template void batchnorm2d_backward_weights<T>(const MatIn<T>&, const BatchNormSaved<T>&,     \
                                                Vec<T>&, Vec<T>&);
LPSIM_INSTANTIATE(float)
LPSIM_INSTANTIATE(double)
#undef LPSIM_INSTANTIATE

}  // namespace lpsim::ops
