#pragma once
// Will it train? Delayed-gradient stability on a quadratic (delayed LMS, the theory
// LayerPipe2 builds on), for the update and forward rules of every weight-version policy.
//
// On a quadratic with curvature lambda, let w_k be the weight after k updates and v_k the
// momentum; update k applies the gradient of minibatch k, taken at the weight its forward
// used, d updates earlier. With a = lr·lambda, A = mu^d, B = sum_{j<d} mu^j (A = 1, B = 0
// without spike compensation), the recursion is stable only while every root of its
// characteristic polynomial lies strictly inside the unit circle:
//   forward W itself (sync, none, stash, ema_grad, ema_weight):
//       z^d (z-1)(z-mu) + a ((A+B) z - B mu)
//   forward W - lr·d·v (lwp):
//       z^d (z-1)(z-mu) + a d (z-1) + a ((A+B) z - B mu)
//   forward W - d·ū, ū <- (1-alpha) ū + alpha (w_k - w_{k+1}), alpha = 2/(d+1) (ema_lwp, once
//   its bias correction has settled):
//       z^d (z-1)(z-mu)(z-1+alpha) + a ((A+B) z - B mu) ((z-1+alpha) + d alpha (z-1))
// Without spike compensation and prediction this is z^d (z-1)(z-mu) + a z: with mu = 0.9 the
// largest stable a is 3.8 at d = 0, 0.0512 at d = 2, 0.0114 at d = 10.
//
// What it covers: the delay of one layer's own gradient. The backward's weight (stash, EMA
// reconstructions, the stale W under none) does not enter a scalar quadratic: it changes the
// gradients sent to the layers below, which this model has none of, so those policies share
// one bound.

#include <cstdint>
#include <vector>

#include "workloads/models/network.h"
#include "workloads/models/units.h"
#include "workloads/policies/policy.h"
#include "workloads/reference/engine.h"

namespace lpsim::reference {

struct DelayModel {
  std::int64_t delay = 0;
  double momentum = 0.9;
  policies::ForwardRule forward = policies::ForwardRule::kCurrent;
  bool spike_compensation = false;
};

// Whether every root of the polynomial (coefficients lowest degree first) lies strictly inside
// the unit circle: the Schur–Cohn test, exact up to rounding in the coefficients.
bool roots_inside_unit_circle(std::vector<double> coefficients);

// Whether the model's recursion is stable at a = lr·lambda: its characteristic polynomial's
// roots all inside the unit circle.
bool delayed_momentum_stable(const DelayModel& model, double a);

// The largest a = lr·lambda for which training on the quadratic is stable: the stable a
// nearest 0 up to the first unstable one (a geometric scan, then bisection on the Schur–Cohn
// test to relative precision 1e-9).
double max_stable_lr_curvature(const DelayModel& model);
inline double max_stable_lr_curvature(std::int64_t delay, double momentum) {
  return max_stable_lr_curvature(DelayModel{delay, momentum});
}

struct CurvatureEstimate {
  double lambda_max = 0.0;  // largest Hessian eigenvalue found
  int iterations = 0;
  std::int64_t samples = 0;
};

// Power iteration on Hessian-vector products, each the central difference of two full
// gradients (no delays) over `samples` training samples at the given parameters.
CurvatureEstimate estimate_curvature(const models::Network& network, const models::UnitGraph& units,
                                     const std::vector<UnitParams>& params,
                                     const ops::Matrix& images,
                                     const std::vector<std::int32_t>& labels, int iterations,
                                     std::uint64_t seed);

}  // namespace lpsim::reference
