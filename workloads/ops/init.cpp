#include "workloads/ops/init.h"

#include <cmath>
#include <string>

#include "core/errors.h"

namespace lpsim::ops {
namespace {

template <typename T>
void fill_uniform(Rng& rng, double bound, T* data, std::int64_t count) {
  for (std::int64_t i = 0; i < count; ++i) data[i] = static_cast<T>(rng.uniform(-bound, bound));
}

}  // namespace

double default_init_bound(std::int64_t fan_in) {
  LPSIM_ASSERT(fan_in > 0, "fan_in must be positive, got " + std::to_string(fan_in));
  return 1.0 / std::sqrt(static_cast<double>(fan_in));
}

template <typename T>
void init_linear(std::int64_t out_features, std::int64_t in_features, Rng& rng, Mat<T>& w,
                 Vec<T>& b) {
  LPSIM_ASSERT(out_features > 0 && in_features > 0, "init_linear: sizes must be positive, got " +
                                                        std::to_string(out_features) + " x " +
                                                        std::to_string(in_features));
  const double bound = default_init_bound(in_features);
  w.resize(out_features, in_features);
  b.resize(out_features);
  fill_uniform(rng, bound, w.data(), w.size());
  fill_uniform(rng, bound, b.data(), b.size());
}

template <typename T>
void init_conv2d(const Conv2dGeometry& g, Rng& rng, Mat<T>& w, Vec<T>& b) {
  conv2d_output_shape(g);  // validates g
  const double bound = default_init_bound(g.patch_size());
  w.resize(g.out_channels, g.patch_size());
  b.resize(g.out_channels);
  fill_uniform(rng, bound, w.data(), w.size());
  fill_uniform(rng, bound, b.data(), b.size());
}

template <typename T>
void init_batchnorm(std::int64_t channels, Vec<T>& gamma, Vec<T>& beta, Vec<T>& running_mean,
                    Vec<T>& running_var) {
  LPSIM_ASSERT(channels > 0,
               "init_batchnorm: channels must be positive, got " + std::to_string(channels));
  gamma.setOnes(channels);
  beta.setZero(channels);
  running_mean.setZero(channels);
  running_var.setOnes(channels);
}

#define LPSIM_INSTANTIATE(T)                                                        \
  template void init_linear<T>(std::int64_t, std::int64_t, Rng&, Mat<T>&, Vec<T>&); \
  template void init_conv2d<T>(const Conv2dGeometry&, Rng&, Mat<T>&, Vec<T>&);      \
  template void init_batchnorm<T>(std::int64_t, Vec<T>&, Vec<T>&, Vec<T>&, Vec<T>&);
LPSIM_INSTANTIATE(float)
LPSIM_INSTANTIATE(double)
#undef LPSIM_INSTANTIATE

}  // namespace lpsim::ops
