#pragma once
// Will it train? Delayed-gradient stability on a quadratic (delayed LMS, the theory
// LayerPipe2 builds on).
//
// On a quadratic with curvature lambda, SGD with momentum mu whose gradient arrives d steps
// late follows v(n) = mu·v(n-1) + lambda·w(n-d), w(n+1) = w(n) - lr·v(n). It is stable only
// while every root of  z^d·(z-1)·(z-mu) + a·z = 0,  a = lr·lambda,  lies strictly inside
// the unit circle (for d >= 1 this is z^(d+1) - (1+mu)z^d + mu·z^(d-1) + a = 0 times z).
// With mu = 0.9 the largest stable a is 3.8 at d = 0, 0.0512 at d = 2, 0.0114 at d = 10.

#include <cstdint>
#include <vector>

#include "workloads/models/network.h"
#include "workloads/models/units.h"
#include "workloads/reference/engine.h"

namespace lpsim::reference {

// Spectral radius (largest root magnitude) of the characteristic polynomial.
double delayed_momentum_radius(std::int64_t delay, double momentum, double a);

// The largest a = lr·lambda for which training on the quadratic is stable (bisection on
// the root radius, relative precision 1e-9).
double max_stable_lr_curvature(std::int64_t delay, double momentum);

struct CurvatureEstimate {
  double lambda_max = 0.0;  // largest Hessian eigenvalue found
  int iterations = 0;
  std::int64_t samples = 0;
};

// Power iteration on Hessian-vector products, each the central difference of two full
// gradients (no delays) over `samples` training samples at the given parameters.
CurvatureEstimate estimate_curvature(const models::Network& network, const models::UnitGraph& units,
                                     const std::vector<UnitParams>& params,
                                     const ops::Matrix& images, const std::vector<std::int32_t>& labels,
                                     int iterations, std::uint64_t seed);

}  // namespace lpsim::reference
