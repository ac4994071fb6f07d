#include "workloads/ops/spiking.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/errors.h"

namespace lpsim::ops {
namespace {

template <typename T>
T surrogate_derivative_t(SurrogateKind kind, T width, T x) {
  const T ax = std::abs(x);
  if (kind == SurrogateKind::kTriangle) return std::max(T(0), T(1) - ax / width) / width;
  return ax < width / T(2) ? T(1) / width : T(0);
}

void check_time_rows(Eigen::Index rows, std::int64_t time_steps, const char* who) {
  LPSIM_ASSERT(time_steps >= 1, std::string(who) + ": time_steps must be >= 1");
  LPSIM_ASSERT(rows % time_steps == 0, std::string(who) + ": rows (" + std::to_string(rows) +
                                           ") is not a multiple of time_steps (" +
                                           std::to_string(time_steps) + ")");
}

}  // namespace

void validate_lif_params(const LifParams& p) {
  LPSIM_ASSERT(std::isfinite(p.alpha) && p.alpha >= 0.0 && p.alpha <= 1.0,
               "LifParams: alpha must be in [0, 1], got " + std::to_string(p.alpha));
  LPSIM_ASSERT(std::isfinite(p.threshold) && p.threshold > 0.0,
               "LifParams: threshold must be finite and > 0, got " + std::to_string(p.threshold));
  LPSIM_ASSERT(std::isfinite(p.width) && p.width > 0.0,
               "LifParams: width must be finite and > 0, got " + std::to_string(p.width));
  LPSIM_ASSERT(p.surrogate == SurrogateKind::kTriangle || p.surrogate == SurrogateKind::kRectangle,
               "LifParams: unknown surrogate kind");
}

double surrogate_derivative(SurrogateKind kind, double width, double x) {
  return surrogate_derivative_t<double>(kind, width, x);
}

double surrogate_step(SurrogateKind kind, double width, double x) {
  const double w = width;
  if (kind == SurrogateKind::kTriangle) {
    if (x <= -w) return 0.0;
    if (x >= w) return 1.0;
    if (x <= 0.0) return (x + w) * (x + w) / (2.0 * w * w);
    return 1.0 - (w - x) * (w - x) / (2.0 * w * w);
  }
  return std::clamp(x / w + 0.5, 0.0, 1.0);
}

template <typename T>
void lif_forward(const MatIn<T>& current, std::int64_t time_steps, const LifParams& p,
                 Mat<T>& spikes, LifSaved<T>& saved) {
  validate_lif_params(p);
  check_time_rows(current.rows(), time_steps, "lif_forward");
  const Eigen::Index rows = current.rows(), cols = current.cols();
  spikes.resize(rows, cols);
  saved.membrane.resize(rows, cols);
  const T alpha = static_cast<T>(p.alpha), theta = static_cast<T>(p.threshold);
  for (Eigen::Index r = 0; r < rows; ++r) {
    const T* in = current.data() + r * current.outerStride();
    T* u = saved.membrane.data() + r * cols;
    T* s = spikes.data() + r * cols;
    if (r % time_steps == 0) {  // t = 0: u[-1] = 0, s[-1] = 0
      for (Eigen::Index c = 0; c < cols; ++c) u[c] = in[c];
    } else {
      const T* u_prev = u - cols;
      const T* s_prev = s - cols;
      for (Eigen::Index c = 0; c < cols; ++c) u[c] = alpha * u_prev[c] + in[c] - theta * s_prev[c];
    }
    for (Eigen::Index c = 0; c < cols; ++c) s[c] = u[c] > theta ? T(1) : T(0);
  }
}

template <typename T>
void lif_backward(const MatIn<T>& dspikes, const LifSaved<T>& saved, std::int64_t time_steps,
                  const LifParams& p, Mat<T>& dcurrent) {
  validate_lif_params(p);
  check_time_rows(dspikes.rows(), time_steps, "lif_backward");
  LPSIM_ASSERT(dspikes.rows() == saved.membrane.rows() && dspikes.cols() == saved.membrane.cols(),
               "lif_backward: dspikes and the saved membrane differ in shape");
  const Eigen::Index rows = dspikes.rows(), cols = dspikes.cols();
  dcurrent.resize(rows, cols);
  const T alpha = static_cast<T>(p.alpha), theta = static_cast<T>(p.threshold);
  const T width = static_cast<T>(p.width);
  for (Eigen::Index r = rows - 1; r >= 0; --r) {
    const T* ds = dspikes.data() + r * dspikes.outerStride();
    const T* u = saved.membrane.data() + r * cols;
    T* g = dcurrent.data() + r * cols;
    const bool last = (r % time_steps) == time_steps - 1;  // g[t+1] = 0 at t = T-1
    const T* g_next = g + cols;
    for (Eigen::Index c = 0; c < cols; ++c) {
      const T sg = surrogate_derivative_t<T>(p.surrogate, width, u[c] - theta);
      const T gn = last ? T(0) : g_next[c];
      g[c] = p.detach_reset ? alpha * gn + sg * ds[c] : sg * (ds[c] - theta * gn) + alpha * gn;
    }
  }
}

template <typename T>
void leaky_integrator_forward(const MatIn<T>& current, std::int64_t time_steps, double alpha,
                              Mat<T>& membrane) {
  LPSIM_ASSERT(std::isfinite(alpha) && alpha >= 0.0 && alpha <= 1.0,
               "leaky_integrator_forward: alpha must be in [0, 1]");
  check_time_rows(current.rows(), time_steps, "leaky_integrator_forward");
  const Eigen::Index rows = current.rows(), cols = current.cols();
  membrane.resize(rows, cols);
  const T a = static_cast<T>(alpha);
  for (Eigen::Index r = 0; r < rows; ++r) {
    const T* in = current.data() + r * current.outerStride();
    T* u = membrane.data() + r * cols;
    if (r % time_steps == 0) {
      for (Eigen::Index c = 0; c < cols; ++c) u[c] = in[c];
    } else {
      const T* u_prev = u - cols;
      for (Eigen::Index c = 0; c < cols; ++c) u[c] = a * u_prev[c] + in[c];
    }
  }
}

template <typename T>
void leaky_integrator_backward(const MatIn<T>& dmembrane, std::int64_t time_steps, double alpha,
                               Mat<T>& dcurrent) {
  LPSIM_ASSERT(std::isfinite(alpha) && alpha >= 0.0 && alpha <= 1.0,
               "leaky_integrator_backward: alpha must be in [0, 1]");
  check_time_rows(dmembrane.rows(), time_steps, "leaky_integrator_backward");
  const Eigen::Index rows = dmembrane.rows(), cols = dmembrane.cols();
  dcurrent.resize(rows, cols);
  const T a = static_cast<T>(alpha);
  for (Eigen::Index r = rows - 1; r >= 0; --r) {
    const T* dm = dmembrane.data() + r * dmembrane.outerStride();
    T* g = dcurrent.data() + r * cols;
    if (r % time_steps == time_steps - 1) {
      for (Eigen::Index c = 0; c < cols; ++c) g[c] = dm[c];
    } else {
      const T* g_next = g + cols;
      for (Eigen::Index c = 0; c < cols; ++c) g[c] = a * g_next[c] + dm[c];
    }
  }
}

template <typename T>
void time_mean_forward(const MatIn<T>& x, std::int64_t time_steps, Mat<T>& y) {
  check_time_rows(x.rows(), time_steps, "time_mean_forward");
  const Eigen::Index batch = x.rows() / time_steps;
  y.setZero(batch, x.cols());
  for (Eigen::Index b = 0; b < batch; ++b) {
    for (std::int64_t t = 0; t < time_steps; ++t) y.row(b) += x.row(b * time_steps + t);
  }
  y *= T(1) / static_cast<T>(time_steps);
}

template <typename T>
void time_mean_backward(const MatIn<T>& dy, std::int64_t time_steps, Mat<T>& dx) {
  LPSIM_ASSERT(time_steps >= 1, "time_mean_backward: time_steps must be >= 1");
  dx.resize(dy.rows() * time_steps, dy.cols());
  const T scale = T(1) / static_cast<T>(time_steps);
  for (Eigen::Index b = 0; b < dy.rows(); ++b) {
    for (std::int64_t t = 0; t < time_steps; ++t) dx.row(b * time_steps + t) = dy.row(b) * scale;
  }
}

template <typename T>
void encode_direct(const MatIn<T>& x, std::int64_t time_steps, Mat<T>& y) {
  LPSIM_ASSERT(time_steps >= 1, "encode_direct: time_steps must be >= 1");
  y.resize(x.rows() * time_steps, x.cols());
  for (Eigen::Index b = 0; b < x.rows(); ++b) {
    for (std::int64_t t = 0; t < time_steps; ++t) y.row(b * time_steps + t) = x.row(b);
  }
}

template <typename T>
void encode_poisson(const MatIn<T>& x, std::int64_t time_steps, double gain, double offset,
                    Rng& rng, Mat<T>& y) {
  LPSIM_ASSERT(time_steps >= 1, "encode_poisson: time_steps must be >= 1");
  y.resize(x.rows() * time_steps, x.cols());
  for (Eigen::Index b = 0; b < x.rows(); ++b) {
    for (std::int64_t t = 0; t < time_steps; ++t) {
      T* out = y.data() + (b * time_steps + t) * y.cols();
      for (Eigen::Index f = 0; f < x.cols(); ++f) {
        // No std::clamp: a NaN probability must stay NaN (and never fire), not trip clamp.
        double prob = gain * static_cast<double>(x(b, f)) + offset;
        if (prob < 0.0) prob = 0.0;
        if (prob > 1.0) prob = 1.0;
        out[f] = rng.uniform() < prob ? T(1) : T(0);
      }
    }
  }
}

template <typename T>
std::int64_t count_nonzero(const MatIn<T>& x) {
  std::int64_t n = 0;
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    const T* row = x.data() + r * x.outerStride();
    for (Eigen::Index c = 0; c < x.cols(); ++c) n += row[c] != T(0) ? 1 : 0;
  }
  return n;
}

#define LPSIM_INSTANTIATE(T)                                                                     \
  template struct LifSaved<T>;                                                                   \
  template void lif_forward<T>(const MatIn<T>&, std::int64_t, const LifParams&, Mat<T>&,         \
                               LifSaved<T>&);                                                    \
  template void lif_backward<T>(const MatIn<T>&, const LifSaved<T>&, std::int64_t,               \
                                const LifParams&, Mat<T>&);                                      \
  template void leaky_integrator_forward<T>(const MatIn<T>&, std::int64_t, double, Mat<T>&);     \
  template void leaky_integrator_backward<T>(const MatIn<T>&, std::int64_t, double, Mat<T>&);    \
  template void time_mean_forward<T>(const MatIn<T>&, std::int64_t, Mat<T>&);                    \
  template void time_mean_backward<T>(const MatIn<T>&, std::int64_t, Mat<T>&);                   \
  template void encode_direct<T>(const MatIn<T>&, std::int64_t, Mat<T>&);                        \
  template void encode_poisson<T>(const MatIn<T>&, std::int64_t, double, double, Rng&, Mat<T>&); \
  template std::int64_t count_nonzero<T>(const MatIn<T>&);
LPSIM_INSTANTIATE(float)
LPSIM_INSTANTIATE(double)
#undef LPSIM_INSTANTIATE

}  // namespace lpsim::ops
