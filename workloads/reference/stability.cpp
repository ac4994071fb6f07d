#include "workloads/reference/stability.h"

#include <Eigen/Eigenvalues>
#include <cmath>

#include "sim/core/errors.h"
#include "workloads/ops/rng.h"

namespace lpsim::reference {

double delayed_momentum_radius(std::int64_t delay, double momentum, double a) {
  // Coefficients of z^d (z - 1)(z - mu) + a z, highest degree first: degree d + 2.
  const int degree = static_cast<int>(delay) + 2;
  std::vector<double> c(degree + 1, 0.0);  // c[k]: coefficient of z^(degree - k)
  c[0] = 1.0;
  c[1] = -(1.0 + momentum);
  c[2] = momentum;
  c[degree - 1] += a;  // the z^1 term
  // Companion matrix of the monic polynomial.
  Eigen::MatrixXd m = Eigen::MatrixXd::Zero(degree, degree);
  for (int k = 0; k < degree; ++k) m(0, k) = -c[k + 1];
  for (int k = 1; k < degree; ++k) m(k, k - 1) = 1.0;
  const Eigen::VectorXcd roots = m.eigenvalues();
  double radius = 0.0;
  for (Eigen::Index i = 0; i < roots.size(); ++i) radius = std::max(radius, std::abs(roots[i]));
  return radius;
}

double max_stable_lr_curvature(std::int64_t delay, double momentum) {
  LPSIM_ASSERT(delay >= 0 && momentum >= 0.0 && momentum < 1.0, "delay >= 0, 0 <= momentum < 1");
  double lo = 0.0, hi = 2.0 * (1.0 + momentum) + 1.0;  // unstable beyond the d = 0 bound
  while (hi - lo > 1e-9 * hi) {
    const double mid = 0.5 * (lo + hi);
    (delayed_momentum_radius(delay, momentum, mid) < 1.0 ? lo : hi) = mid;
  }
  return lo;
}

namespace {

using ops::Matrix;

// Flattened gradient of the mean loss over the batch at `params` (every delay zero).
Eigen::VectorXd full_gradient(const models::Network& network, const models::UnitGraph& units,
                              const std::vector<UnitParams>& params, const Matrix& images,
                              const std::vector<std::int32_t>& labels) {
  const int nu = static_cast<int>(units.units.size());
  EngineSettings s;
  s.policy = models::WeightPolicy::kSync;
  s.delays.assign(nu, 0);
  s.optimizer.lr = 0.0;
  s.optimizer.momentum = 0.0;
  TaskEngine engine(network, units, s, params);
  engine.load(0, images, labels);
  for (int u = 0; u < nu; ++u) engine.forward(u, 0);
  engine.loss(0);
  std::vector<double> g;
  for (int u = nu - 1; u >= 0; --u) {
    if (engine.has_backward_activation(u)) engine.backward_activation(u, 0);
    engine.backward_weight(u, 0);
  }
  Eigen::Index size = 0;
  for (int u = 0; u < nu; ++u) size += params[u].weight.size() + params[u].bias.size();
  Eigen::VectorXd out(size);
  Eigen::Index at = 0;
  for (int u = 0; u < nu; ++u) {
    const auto& pg = engine.pending_gradient(u, 0);
    for (Eigen::Index i = 0; i < pg.first.size(); ++i) out[at++] = pg.first.data()[i];
    for (Eigen::Index i = 0; i < pg.second.size(); ++i) out[at++] = pg.second.data()[i];
  }
  return out;
}

std::vector<UnitParams> shifted(const std::vector<UnitParams>& params, const Eigen::VectorXd& v,
                                double eps) {
  std::vector<UnitParams> out = params;
  Eigen::Index at = 0;
  for (auto& p : out) {
    for (Eigen::Index i = 0; i < p.weight.size(); ++i) {
      p.weight.data()[i] += static_cast<float>(eps * v[at++]);
    }
    for (Eigen::Index i = 0; i < p.bias.size(); ++i) {
      p.bias.data()[i] += static_cast<float>(eps * v[at++]);
    }
  }
  return out;
}

}  // namespace

CurvatureEstimate estimate_curvature(const models::Network& network, const models::UnitGraph& units,
                                     const std::vector<UnitParams>& params, const Matrix& images,
                                     const std::vector<std::int32_t>& labels, int iterations,
                                     std::uint64_t seed) {
  Eigen::Index size = 0;
  for (const auto& p : params) size += p.weight.size() + p.bias.size();
  ops::Rng rng(seed);
  Eigen::VectorXd v(size);
  for (Eigen::Index i = 0; i < size; ++i) v[i] = rng.normal();
  v.normalize();
  // The step is a compromise between float round-off in the gradients and the
  // non-quadratic part of the loss.
  const double eps = 1e-2;
  CurvatureEstimate est;
  est.samples = images.rows();
  for (int it = 0; it < iterations; ++it) {
    const Eigen::VectorXd gp = full_gradient(network, units, shifted(params, v, eps), images, labels);
    const Eigen::VectorXd gm = full_gradient(network, units, shifted(params, v, -eps), images, labels);
    const Eigen::VectorXd hv = (gp - gm) / (2.0 * eps);
    est.lambda_max = v.dot(hv);  // Rayleigh quotient of the current direction
    const double norm = hv.norm();
    if (!(norm > 0.0) || !std::isfinite(norm)) break;
    v = hv / norm;
    est.iterations = it + 1;
  }
  return est;
}

}  // namespace lpsim::reference
