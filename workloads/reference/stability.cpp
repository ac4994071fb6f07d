#include "workloads/reference/stability.h"

#include <cmath>
#include <utility>

#include "core/errors.h"
#include "workloads/ops/rng.h"

namespace lpsim::reference {

namespace {

// Polynomials as coefficients, lowest degree first.
using Poly = std::vector<double>;

Poly times(const Poly& p, const Poly& q) {
  Poly r(p.size() + q.size() - 1, 0.0);
  for (std::size_t i = 0; i < p.size(); ++i) {
    for (std::size_t j = 0; j < q.size(); ++j) r[i + j] += p[i] * q[j];
  }
  return r;
}

Poly plus(Poly p, const Poly& q) {
  if (q.size() > p.size()) p.resize(q.size(), 0.0);
  for (std::size_t i = 0; i < q.size(); ++i) p[i] += q[i];
  return p;
}

Poly scaled(Poly p, double s) {
  for (double& c : p) c *= s;
  return p;
}

// The characteristic polynomial of the header, for this a.
Poly characteristic(const DelayModel& m, double a) {
  const double mu = m.momentum;
  double big_a = 1.0, big_b = 0.0;
  if (m.spike_compensation) {
    const SpikeCoefficients c = spike_coefficients(mu, m.delay);
    big_a = c.a;
    big_b = c.b;
  }
  Poly zd(static_cast<std::size_t>(m.delay) + 1, 0.0);
  zd.back() = 1.0;                                              // z^d
  const Poly base = times(zd, times({-1.0, 1.0}, {-mu, 1.0}));  // z^d (z-1)(z-mu)
  const Poly update = {-big_b * mu, big_a + big_b};             // (A+B) z - B mu
  const double d = static_cast<double>(m.delay);
  switch (m.forward) {
    case policies::ForwardRule::kCurrent:
      return plus(base, scaled(update, a));
    case policies::ForwardRule::kMomentumPrediction:
      return plus(plus(base, scaled({-1.0, 1.0}, a * d)), scaled(update, a));
    case policies::ForwardRule::kEmaPrediction: {
      // With no delay the forward extrapolates by c = min(d, t) = 0 updates: W itself. The
      // factor z − 1 + alpha of the unused ū (a root at −1 for alpha = 2) drops out.
      if (m.delay == 0) return plus(base, scaled(update, a));
      const double alpha = 2.0 / (d + 1.0);
      const Poly ema = {alpha - 1.0, 1.0};  // z - 1 + alpha
      const Poly forward = plus(ema, scaled({-1.0, 1.0}, d * alpha));
      return plus(times(base, ema), scaled(times(update, forward), a));
    }
  }
  return base;
}

}  // namespace

bool roots_inside_unit_circle(std::vector<double> p) {
  while (p.size() > 1 && p.back() == 0.0) p.pop_back();
  if (p.empty() || p.back() == 0.0) return false;  // the zero polynomial: every z a root
  // The Schur–Cohn recursion. For p of degree n and its reverse p*(z) = z^n p(1/z),
  // |p*| = |p| on |z| = 1; so while |a_n| > |a_0|, Rouché gives a_n·p − a_0·p* as many roots
  // inside the circle as p, one of them z = 0. Dividing out z leaves degree n − 1, whose
  // leading coefficient a_n² − a_0² > 0 is scaled to 1 against overflow.
  while (p.size() > 1) {
    const std::size_t n = p.size() - 1;
    const double lead = p[n], tail = p[0];
    if (!(std::abs(tail) < std::abs(lead))) return false;  // NaN is not stable either
    std::vector<double> q(n);
    for (std::size_t k = 1; k <= n; ++k) q[k - 1] = lead * p[k] - tail * p[n - k];
    const double scale = q.back();
    for (double& c : q) c /= scale;
    p = std::move(q);
  }
  return true;
}

bool delayed_momentum_stable(const DelayModel& model, double a) {
  return roots_inside_unit_circle(characteristic(model, a));
}

double max_stable_lr_curvature(const DelayModel& model) {
  LPSIM_ASSERT(model.delay >= 0 && model.momentum >= 0.0 && model.momentum < 1.0,
               "delay >= 0, 0 <= momentum < 1");
  const auto stable = [&](double a) { return delayed_momentum_stable(model, a); };
  // Every rule is stable for small enough a > 0 (the root at z = 1 moves inwards).
  double lo = 1e-7;
  if (!stable(lo)) return 0.0;
  double hi = lo * 1.25;
  while (stable(hi)) {
    lo = hi;
    hi *= 1.25;
    if (hi > 1e3) return lo;  // no bound found below a = 1000
  }
  while (hi - lo > 1e-9 * hi) {
    const double mid = 0.5 * (lo + hi);
    (stable(mid) ? lo : hi) = mid;
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
  s.policy = &policies::get("sync");
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
    const Eigen::VectorXd gp =
        full_gradient(network, units, shifted(params, v, eps), images, labels);
    const Eigen::VectorXd gm =
        full_gradient(network, units, shifted(params, v, -eps), images, labels);
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
