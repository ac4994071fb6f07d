#pragma once
// Parameter initialisation with PyTorch's default distributions, drawn from a seeded,
// portable Rng (rng.h): the values are reproducible on every platform but are not the
// values torch.manual_seed would give.
//
// Shapes (legend in tensor.h): linear w [O, I], conv w [O, C*kh*kw], bias and every
// batch-norm vector [O] or [C].
//
// Linear and conv: w ~ U(-bound, bound) (kaiming_uniform_ with a = sqrt(5), whose bound
// gain * sqrt(3 / fan_in) with gain = sqrt(2 / (1 + a^2)) reduces to 1 / sqrt(fan_in)) and
// b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = I or C*kh*kw. Draw order: every element
// of w in row-major order, then b, each one rng.uniform(-bound, bound) rounded to T.

#include <cstdint>

#include "workloads/ops/conv2d.h"
#include "workloads/ops/rng.h"
#include "workloads/ops/tensor.h"

namespace lpsim::ops {

// 1 / sqrt(fan_in): the bound of PyTorch's default weight and bias initialisation.
double default_init_bound(std::int64_t fan_in);

// w [out_features, in_features], b [out_features].
template <typename T>
void init_linear(std::int64_t out_features, std::int64_t in_features, Rng& rng, Mat<T>& w,
                 Vec<T>& b);

// w [O, C*kh*kw], b [O] for the geometry g (fan_in = g.patch_size()).
template <typename T>
void init_conv2d(const Conv2dGeometry& g, Rng& rng, Mat<T>& w, Vec<T>& b);

// gamma = 1, beta = 0, running_mean = 0, running_var = 1, each [channels]. Draws nothing.
template <typename T>
void init_batchnorm(std::int64_t channels, Vec<T>& gamma, Vec<T>& beta, Vec<T>& running_mean,
                    Vec<T>& running_var);

}  // namespace lpsim::ops
