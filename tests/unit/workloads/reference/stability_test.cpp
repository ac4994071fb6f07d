// The stability advisory's bound, and the curvature estimate on a known quadratic.

#include "workloads/reference/stability.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "workloads/models/builtin.h"

namespace lpsim::reference {
namespace {

// The Schur–Cohn test against polynomials built from known roots.
TEST(RootsInsideUnitCircle, AgreesWithTheRootsItWasBuiltFrom) {
  EXPECT_TRUE(roots_inside_unit_circle({3.0}));             // no roots
  EXPECT_TRUE(roots_inside_unit_circle({-0.5, 1.0, 0.0}));  // z − 0.5, a zero leading term
  EXPECT_FALSE(roots_inside_unit_circle({-1.0, 1.0}));      // z = 1, on the circle
  EXPECT_FALSE(roots_inside_unit_circle({1.0, 0.0, 1.0}));  // z = ±i
  EXPECT_FALSE(roots_inside_unit_circle({-2.0, 1.0}));      // z = 2
  EXPECT_FALSE(roots_inside_unit_circle({0.0, 0.0}));       // the zero polynomial
  // Random real roots and complex pairs of magnitude 0.3 to 1.3, degree up to 40.
  std::uint64_t state = 12345;
  const auto uniform = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state >> 11) / static_cast<double>(1ULL << 53);
  };
  int stable = 0, unstable = 0;
  for (int trial = 0; trial < 400; ++trial) {
    std::vector<double> p = {1.0};
    double largest = 0.0;
    const int factors = 1 + static_cast<int>(uniform() * 20);
    for (int f = 0; f < factors; ++f) {
      const double r = 0.3 + uniform() * (trial % 2 == 0 ? 0.69 : 1.0);
      largest = std::max(largest, r);
      std::vector<double> factor;
      if (uniform() < 0.5) {
        factor = {uniform() < 0.5 ? -r : r, 1.0};  // z ∓ r
      } else {
        const double angle = uniform() * 3.14159265358979;
        factor = {r * r, -2.0 * r * std::cos(angle), 1.0};  // (z − r e^{iθ})(z − r e^{−iθ})
      }
      std::vector<double> product(p.size() + factor.size() - 1, 0.0);
      for (std::size_t i = 0; i < p.size(); ++i) {
        for (std::size_t j = 0; j < factor.size(); ++j) product[i + j] += p[i] * factor[j];
      }
      p = product;
    }
    if (std::abs(largest - 1.0) < 1e-3) continue;  // too near the circle to call
    for (double& c : p) c *= -2.5;                 // the test ignores the scale
    EXPECT_EQ(roots_inside_unit_circle(p), largest < 1.0) << "trial " << trial;
    (largest < 1.0 ? stable : unstable) += 1;
  }
  EXPECT_GT(stable, 100);
  EXPECT_GT(unstable, 100);
}

TEST(StabilityBound, EmaPredictionWithoutDelayIsThePlainRule) {
  // d = 0 extrapolates by no updates: the forward uses W, whatever ū does.
  using policies::ForwardRule;
  EXPECT_DOUBLE_EQ(max_stable_lr_curvature(DelayModel{0, 0.9, ForwardRule::kEmaPrediction}),
                   max_stable_lr_curvature(DelayModel{0, 0.9, ForwardRule::kCurrent}));
  EXPECT_NEAR(max_stable_lr_curvature(DelayModel{0, 0.9, ForwardRule::kEmaPrediction}), 3.8, 1e-6);
}

TEST(StabilityBound, MatchesHeavyBallWithoutDelay) {
  // Without delay the heavy-ball method is stable for lr·lambda < 2(1 + mu).
  EXPECT_NEAR(max_stable_lr_curvature(0, 0.9), 3.8, 1e-6);
  EXPECT_NEAR(max_stable_lr_curvature(0, 0.0), 2.0, 1e-6);
}

TEST(StabilityBound, ShrinksWithDelay) {
  // Values from numpy.roots on the same polynomial (and confirmed by the simulation test
  // below). Issue 3 quotes "about 0.035 at d = 2 and 0.0105 at d = 10": those are the
  // bounds for d = 3 and d = 11, i.e. with the weight register counted in the delay.
  EXPECT_NEAR(max_stable_lr_curvature(2, 0.9), 0.0512492, 1e-6);
  EXPECT_NEAR(max_stable_lr_curvature(3, 0.9), 0.0347841, 1e-6);
  EXPECT_NEAR(max_stable_lr_curvature(10, 0.9), 0.0113899, 1e-6);
  EXPECT_NEAR(max_stable_lr_curvature(11, 0.9), 0.0104544, 1e-6);
  double previous = max_stable_lr_curvature(0, 0.9);
  for (int d = 1; d <= 12; ++d) {
    const double bound = max_stable_lr_curvature(d, 0.9);
    EXPECT_LT(bound, previous) << "d = " << d;
    previous = bound;
  }
}

TEST(StabilityBound, AgreesWithSimulatingTheRecursion) {
  // Run v(n) = mu v(n-1) + w(n-d), w(n+1) = w(n) - a v(n) just inside and outside the bound.
  for (int d : {1, 3, 6}) {
    const double mu = 0.9;
    const double bound = max_stable_lr_curvature(d, mu);
    for (double factor : {0.9, 1.1}) {
      const double a = bound * factor;
      std::vector<double> w(d + 1, 1.0);
      double v = 0.0;
      for (int n = d; n < 20000; ++n) {
        v = mu * v + w[n - d];
        w.push_back(w[n] - a * v);
      }
      const double final_size = std::abs(w.back()) + std::abs(w[w.size() - 2]);
      if (factor < 1.0) {
        EXPECT_LT(final_size, 1e-3) << "d = " << d;
      } else {
        EXPECT_GT(final_size, 1e3) << "d = " << d;
      }
    }
  }
}

// The bound of every forward rule, with and without spike compensation, against running the
// rule itself on the quadratic 0.5·w² (lr = a), bias corrections included: decays at 0.9x
// the bound, grows at 1.1x.
TEST(StabilityBound, EveryPolicyRuleAgreesWithSimulatingIt) {
  using policies::ForwardRule;
  const double mu = 0.9;
  for (const ForwardRule rule :
       {ForwardRule::kCurrent, ForwardRule::kMomentumPrediction, ForwardRule::kEmaPrediction}) {
    for (bool spike : {false, true}) {
      for (int d : {2, 5}) {
        const DelayModel model{d, mu, rule, spike};
        const double bound = max_stable_lr_curvature(model);
        SCOPED_TRACE("rule " + std::to_string(static_cast<int>(rule)) + ", spike " +
                     std::to_string(spike) + ", d = " + std::to_string(d));
        ASSERT_GT(bound, 0.0);
        const SpikeCoefficients c = spike ? spike_coefficients(mu, d) : SpikeCoefficients{};
        const double alpha = 2.0 / (d + 1.0);
        for (double factor : {0.9, 1.1}) {
          const double a = bound * factor;
          const int steps = 20000;
          std::vector<double> w(steps + 1, 0.0), v(steps + 1, 0.0), u(steps + 1, 0.0);
          w[0] = 1.0;
          for (int k = 0; k < steps; ++k) {
            const int t = std::max(0, k - d);  // updates applied when minibatch k forwards
            double fwd = w[t];
            if (rule == ForwardRule::kMomentumPrediction) fwd -= a * d * v[t];
            if (rule == ForwardRule::kEmaPrediction && t > 0) {
              fwd -= std::min(d, t) / (1.0 - std::pow(1.0 - alpha, t)) * u[t];
            }
            const double q = fwd;  // the gradient of 0.5·w² at the forward's weight
            v[k + 1] = mu * v[k] + q;
            w[k + 1] = w[k] - a * (c.a * v[k + 1] + c.b * q);
            u[k + 1] = (1.0 - alpha) * u[k] + alpha * (w[k] - w[k + 1]);
          }
          const double final_size = std::abs(w[steps]) + std::abs(w[steps - 1]);
          if (factor < 1.0) {
            EXPECT_LT(final_size, 1e-3) << "a = " << a;
          } else {
            EXPECT_GT(final_size, 1e3) << "a = " << a;
          }
        }
      }
    }
  }
  // Spike compensation applies the momentum steps a late gradient missed at once instead of
  // letting them trail it further: less of the step is delayed, and the bound rises (d = 4,
  // mu = 0.9: a < 0.0483 against 0.0265).
  EXPECT_GT(max_stable_lr_curvature(DelayModel{4, mu, ForwardRule::kCurrent, true}),
            1.5 * max_stable_lr_curvature(DelayModel{4, mu, ForwardRule::kCurrent, false}));
  // The prediction compensates the delay: a higher bound than the plain delayed rule.
  EXPECT_GT(max_stable_lr_curvature(DelayModel{4, mu, ForwardRule::kMomentumPrediction, false}),
            max_stable_lr_curvature(DelayModel{4, mu, ForwardRule::kCurrent, false}));
}

TEST(Curvature, FindsTheLargestEigenvalueOfASoftmaxRegression) {
  // A linear softmax classifier with zero weights: the Hessian of the mean cross-entropy
  // is (1/B) sum_i (diag(p) - p p^T) ⊗ [x_i; 1][x_i; 1]^T with p uniform. For inputs that
  // are all the same vector x, its largest eigenvalue is (1/K)(|x|^2 + 1).
  const core::Json doc = core::Json::parse(R"({"input":{"shape":[3]},"layers":[
      {"name":"fc","type":"linear","out_features":4},
      {"name":"loss","type":"softmax_cross_entropy"}]})");
  const models::Network net = models::parse_network(doc, "test");
  const models::UnitGraph units = models::group_units(net);
  std::vector<UnitParams> params(1);
  params[0].weight = ops::Matrix::Zero(4, 3);
  params[0].bias = ops::Vector::Zero(4);
  ops::Matrix x(8, 3);
  for (int i = 0; i < 8; ++i) x.row(i) << 1.0f, 2.0f, 2.0f;
  const std::vector<std::int32_t> labels = {0, 1, 2, 3, 0, 1, 2, 3};
  const CurvatureEstimate est = estimate_curvature(net, units, params, x, labels, 30, 5);
  EXPECT_NEAR(est.lambda_max, (9.0 + 1.0) / 4.0, 0.05);
}

}  // namespace
}  // namespace lpsim::reference
