#include "workloads/ops/spiking.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/errors.h"
#include "tests/unit/workloads/ops/ops_test_util.h"
#include "workloads/ops/linear.h"
#include "workloads/ops/loss.h"

namespace lpsim::ops {
namespace {

using testing::kGradTolerance;
using testing::max_relative_error;
using testing::numeric_gradient;
using testing::random_mat;
using testing::weighted_sum;

LifParams params(double alpha, double threshold, SurrogateKind kind, double width,
                 bool detach_reset = true) {
  LifParams p;
  p.alpha = alpha;
  p.threshold = threshold;
  p.surrogate = kind;
  p.width = width;
  p.detach_reset = detach_reset;
  return p;
}

// One column of T values as a [T, 1] spiking batch (B = 1, F = 1).
Mat<double> column(const std::vector<double>& v) {
  Mat<double> m(static_cast<Eigen::Index>(v.size()), 1);
  for (std::size_t i = 0; i < v.size(); ++i) m(static_cast<Eigen::Index>(i), 0) = v[i];
  return m;
}

// ---------------------------------------------------------------------------------------
// The smoothed forward through which the surrogate gradient is checked: lif_forward with the
// step H replaced by S = surrogate_step (S' = surrogate_derivative), so the surrogate backward
// is the EXACT derivative of this function and central differences must match it.
//   u[t] = alpha u[t-1] + I[t] - reset[t],  s[t] = S(u[t] - theta)
// reset[t] = theta * s[t-1] when the reset carries gradient; with a detached reset it is a
// constant sequence (frozen_reset, taken from the unperturbed smoothed run), so that finite
// differences see it as the constant the backward treats it as.
struct Smoothed {
  Mat<double> membrane;  // u [B*T, F]
  Mat<double> spikes;    // S(u - theta) [B*T, F]
  Mat<double> reset;     // the reset term used [B*T, F]
};

Smoothed smoothed_lif(const Mat<double>& current, std::int64_t steps, const LifParams& p,
                      const Mat<double>* frozen_reset) {
  Smoothed out;
  out.membrane.resize(current.rows(), current.cols());
  out.spikes.resize(current.rows(), current.cols());
  out.reset.resize(current.rows(), current.cols());
  for (Eigen::Index r = 0; r < current.rows(); ++r) {
    const bool first = r % steps == 0;
    for (Eigen::Index c = 0; c < current.cols(); ++c) {
      const double reset = frozen_reset != nullptr ? (*frozen_reset)(r, c)
                           : first                 ? 0.0
                                                   : p.threshold * out.spikes(r - 1, c);
      const double u_prev = first ? 0.0 : out.membrane(r - 1, c);
      const double u = p.alpha * u_prev + current(r, c) - reset;
      out.reset(r, c) = reset;
      out.membrane(r, c) = u;
      out.spikes(r, c) = surrogate_step(p.surrogate, p.width, u - p.threshold);
    }
  }
  return out;
}

// Distance from x = u - theta to the nearest kink of the surrogate derivative (where S is
// not smooth enough for a central difference to be exact to 1e-6).
double distance_to_kink(const LifParams& p, double x) {
  if (p.surrogate == SurrogateKind::kTriangle)
    return std::min({std::abs(x + p.width), std::abs(x), std::abs(x - p.width)});
  return std::min(std::abs(x + 0.5 * p.width), std::abs(x - 0.5 * p.width));
}

// A random current [B*T, F] whose smoothed trajectory keeps every u - theta at least margin
// from the kinks (each (sample, feature) sequence is independent and redrawn until it does).
// inside_window: additionally require |u - theta| to stay out of the window (so S = H there).
Mat<double> current_away_from_kinks(Rng& rng, std::int64_t batch, std::int64_t steps,
                                    std::int64_t features, const LifParams& p, double margin,
                                    bool outside_window = false) {
  Mat<double> current(batch * steps, features);
  const double half = p.surrogate == SurrogateKind::kTriangle ? p.width : 0.5 * p.width;
  for (std::int64_t b = 0; b < batch; ++b) {
    for (std::int64_t f = 0; f < features; ++f) {
      bool ok = false;
      for (int attempt = 0; attempt < 10000 && !ok; ++attempt) {
        Mat<double> seq(steps, 1);
        for (std::int64_t t = 0; t < steps; ++t) seq(t, 0) = rng.uniform(-0.5, 1.5) * p.threshold;
        const Smoothed s = smoothed_lif(seq, steps, p, nullptr);
        ok = true;
        for (std::int64_t t = 0; t < steps && ok; ++t) {
          const double x = s.membrane(t, 0) - p.threshold;
          ok =
              distance_to_kink(p, x) >= margin && (!outside_window || std::abs(x) >= half + margin);
        }
        if (ok) current.block(b * steps, f, steps, 1) = seq;
      }
      EXPECT_TRUE(ok) << "could not draw a sequence away from the kinks";
    }
  }
  return current;
}

// ---------------------------------------------------------------------------------------
// Forward on hand examples (dyadic values: exact in binary).

TEST(LifForward, SoftResetArithmetic) {
  // alpha 0.5, theta 1: u = .75; .375+.75 = 1.125 fires; .5625+.5-1 = .0625; .03125+1 fires.
  const Mat<double> current = column({0.75, 0.75, 0.5, 1.0});
  Mat<double> spikes;
  LifSaved<double> saved;
  lif_forward(current, 4, params(0.5, 1.0, SurrogateKind::kTriangle, 1.0), spikes, saved);
  EXPECT_EQ(saved.membrane, column({0.75, 1.125, 0.0625, 1.03125}));
  EXPECT_EQ(spikes, column({0, 1, 0, 1}));
}

TEST(LifForward, ThresholdCrossingIsStrict) {
  // H(0) = 0: u == theta does not fire; alpha 1 (no leak).
  const Mat<double> current = column({0.5, 0.5, 0.5});
  Mat<double> spikes;
  LifSaved<double> saved;
  lif_forward(current, 3, params(1.0, 1.0, SurrogateKind::kTriangle, 1.0), spikes, saved);
  EXPECT_EQ(saved.membrane, column({0.5, 1.0, 1.5}));
  EXPECT_EQ(spikes, column({0, 0, 1}));
}

TEST(LifForward, AlphaZeroKeepsOnlyTheReset) {
  // alpha 0: u[t] = I[t] - theta s[t-1].
  const Mat<double> current = column({2.0, 0.5, 0.25, 1.5});
  Mat<double> spikes;
  LifSaved<double> saved;
  lif_forward(current, 4, params(0.0, 1.0, SurrogateKind::kRectangle, 1.0), spikes, saved);
  EXPECT_EQ(saved.membrane, column({2.0, -0.5, 0.25, 1.5}));
  EXPECT_EQ(spikes, column({1, 0, 0, 1}));
}

TEST(LifForward, AlphaOneIntegratesWithSubtractiveReset) {
  // alpha 1, constant 0.375, theta 1: .375, .75, 1.125 fires, 1.5-1 = .5, .875, 1.25 fires.
  const Mat<double> current = column({0.375, 0.375, 0.375, 0.375, 0.375, 0.375});
  Mat<double> spikes;
  LifSaved<double> saved;
  lif_forward(current, 6, params(1.0, 1.0, SurrogateKind::kTriangle, 1.0), spikes, saved);
  EXPECT_EQ(saved.membrane, column({0.375, 0.75, 1.125, 0.5, 0.875, 1.25}));
  EXPECT_EQ(spikes, column({0, 0, 1, 0, 0, 1}));
  EXPECT_EQ(count_nonzero<double>(spikes), 2);
}

TEST(LifForward, SamplesStartFromRest) {
  // B = 2, T = 2, F = 2, rows sample-major: sample 1 does not inherit sample 0's state.
  Mat<double> current(4, 2);
  current << 0.75, 2.0,  // b0 t0
      0.75, 0.0,         // b0 t1
      0.25, 0.5,         // b1 t0
      0.25, 0.5;         // b1 t1
  Mat<double> spikes;
  LifSaved<double> saved;
  lif_forward(current, 2, params(1.0, 1.0, SurrogateKind::kTriangle, 1.0), spikes, saved);
  Mat<double> u(4, 2), s(4, 2);
  u << 0.75, 2.0, 1.5, 1.0, 0.25, 0.5, 0.5, 1.0;
  s << 0, 1, 1, 0, 0, 0, 0, 0;
  EXPECT_EQ(saved.membrane, u);
  EXPECT_EQ(spikes, s);
}

TEST(LifForward, MatchesTheSmoothedForwardOutsideTheWindow) {
  // Where every |u - theta| is outside the surrogate window, S = H, so the smoothed forward
  // used by the gradient checks is the kernel's forward.
  Rng rng = testing::rng_for_test();
  for (SurrogateKind kind : {SurrogateKind::kTriangle, SurrogateKind::kRectangle}) {
    const LifParams p = params(0.8, 1.0, kind, 0.1);
    const Mat<double> current = current_away_from_kinks(rng, 3, 5, 4, p, 1e-3, true);
    Mat<double> spikes;
    LifSaved<double> saved;
    lif_forward(current, 5, p, spikes, saved);
    const Smoothed ref = smoothed_lif(current, 5, p, nullptr);
    EXPECT_EQ(spikes, ref.spikes);
    EXPECT_LT((saved.membrane - ref.membrane).cwiseAbs().maxCoeff(), 1e-15);
  }
}

TEST(LifParamsValidation, RejectsIllegalValues) {
  EXPECT_NO_THROW(validate_lif_params(params(0.0, 1.0, SurrogateKind::kTriangle, 1.0)));
  EXPECT_NO_THROW(validate_lif_params(params(1.0, 1.0, SurrogateKind::kRectangle, 1.0)));
  EXPECT_THROW(validate_lif_params(params(1.5, 1.0, SurrogateKind::kTriangle, 1.0)),
               core::InternalError);
  EXPECT_THROW(validate_lif_params(params(-0.1, 1.0, SurrogateKind::kTriangle, 1.0)),
               core::InternalError);
  EXPECT_THROW(validate_lif_params(params(0.5, 0.0, SurrogateKind::kTriangle, 1.0)),
               core::InternalError);
  EXPECT_THROW(validate_lif_params(params(0.5, 1.0, SurrogateKind::kTriangle, 0.0)),
               core::InternalError);
  EXPECT_THROW(validate_lif_params(params(0.5, 1.0, SurrogateKind::kTriangle, NAN)),
               core::InternalError);
  Mat<double> spikes;
  LifSaved<double> saved;
  EXPECT_THROW(lif_forward(Mat<double>(5, 2), 2, LifParams{}, spikes, saved), core::InternalError);
}

// ---------------------------------------------------------------------------------------
// Surrogates.

TEST(Surrogate, KnownValues) {
  // Triangle, w = 2: peak 1/2 at 0, 1/4 at +-1, 0 from +-2.
  EXPECT_EQ(surrogate_derivative(SurrogateKind::kTriangle, 2.0, 0.0), 0.5);
  EXPECT_EQ(surrogate_derivative(SurrogateKind::kTriangle, 2.0, -1.0), 0.25);
  EXPECT_EQ(surrogate_derivative(SurrogateKind::kTriangle, 2.0, 1.0), 0.25);
  EXPECT_EQ(surrogate_derivative(SurrogateKind::kTriangle, 2.0, 2.0), 0.0);
  EXPECT_EQ(surrogate_derivative(SurrogateKind::kTriangle, 2.0, -3.0), 0.0);
  // Rectangle, w = 2: 1/2 on (-1, 1), 0 at and beyond +-1.
  EXPECT_EQ(surrogate_derivative(SurrogateKind::kRectangle, 2.0, 0.0), 0.5);
  EXPECT_EQ(surrogate_derivative(SurrogateKind::kRectangle, 2.0, 0.999), 0.5);
  EXPECT_EQ(surrogate_derivative(SurrogateKind::kRectangle, 2.0, 1.0), 0.0);
  EXPECT_EQ(surrogate_derivative(SurrogateKind::kRectangle, 2.0, -1.0), 0.0);
  // Both steps go from 0 to 1 through 1/2 at 0.
  for (SurrogateKind kind : {SurrogateKind::kTriangle, SurrogateKind::kRectangle}) {
    EXPECT_EQ(surrogate_step(kind, 2.0, -5.0), 0.0);
    EXPECT_EQ(surrogate_step(kind, 2.0, 0.0), 0.5);
    EXPECT_EQ(surrogate_step(kind, 2.0, 5.0), 1.0);
  }
}

TEST(Surrogate, StepIsTheIntegralOfTheDerivative) {
  Rng rng = testing::rng_for_test();
  for (SurrogateKind kind : {SurrogateKind::kTriangle, SurrogateKind::kRectangle}) {
    const double w = 0.7;
    LifParams p = params(0.5, 1.0, kind, w);
    for (int i = 0; i < 200; ++i) {
      const double x = rng.uniform(-1.5, 1.5);
      if (distance_to_kink(p, x) < 1e-3) continue;
      const double h = 1e-6;
      const double fd = (surrogate_step(kind, w, x + h) - surrogate_step(kind, w, x - h)) / (2 * h);
      EXPECT_NEAR(fd, surrogate_derivative(kind, w, x), 1e-7) << "x = " << x;
    }
  }
}

// ---------------------------------------------------------------------------------------
// Surrogate gradient through time vs finite differences of the smoothed forward.

void check_lif_gradient(SurrogateKind kind, bool detach_reset, double alpha) {
  SCOPED_TRACE(::testing::Message() << "surrogate " << static_cast<int>(kind) << " detach "
                                    << detach_reset << " alpha " << alpha);
  Rng rng = testing::rng_for_test();
  const std::int64_t batch = 3, steps = 6, features = 4;
  const LifParams p = params(alpha, 1.0, kind, 0.6, detach_reset);
  Mat<double> current = current_away_from_kinks(rng, batch, steps, features, p, 0.02);
  const Mat<double> r = random_mat(rng, batch * steps, features);

  const Smoothed base = smoothed_lif(current, steps, p, nullptr);
  const Mat<double> frozen = base.reset;
  auto loss = [&]() {
    return weighted_sum(r,
                        smoothed_lif(current, steps, p, detach_reset ? &frozen : nullptr).spikes);
  };
  // The kernel's backward evaluated on the smoothed trajectory (what it saves is u).
  LifSaved<double> saved;
  saved.membrane = base.membrane;
  Mat<double> dcurrent;
  lif_backward(r, saved, steps, p, dcurrent);
  const Mat<double> numeric = numeric_gradient(current, loss);
  EXPECT_GT(numeric.cwiseAbs().maxCoeff(), 0.1);  // the check is not vacuous
  EXPECT_LT(max_relative_error(dcurrent, numeric), kGradTolerance);
}

TEST(LifGradient, TriangleDetachedResetMatchesSmoothedFiniteDifferences) {
  check_lif_gradient(SurrogateKind::kTriangle, true, 0.8);
}
TEST(LifGradient, TriangleAttachedResetMatchesSmoothedFiniteDifferences) {
  check_lif_gradient(SurrogateKind::kTriangle, false, 0.8);
}
TEST(LifGradient, RectangleDetachedResetMatchesSmoothedFiniteDifferences) {
  check_lif_gradient(SurrogateKind::kRectangle, true, 0.8);
}
TEST(LifGradient, RectangleAttachedResetMatchesSmoothedFiniteDifferences) {
  check_lif_gradient(SurrogateKind::kRectangle, false, 0.8);
}
TEST(LifGradient, AlphaOneAndZeroMatchSmoothedFiniteDifferences) {
  for (bool detach : {true, false}) {
    check_lif_gradient(SurrogateKind::kTriangle, detach, 1.0);
    check_lif_gradient(SurrogateKind::kTriangle, detach, 0.0);
  }
}

TEST(LifGradient, DetachedResetIsTheReverseIirFilter) {
  // With a detached reset, dI = reverse-time IIR(alpha) of sigma'(u - theta) * dS, i.e.
  // leaky_integrator_backward applied to the surrogate-scaled spike gradient.
  Rng rng = testing::rng_for_test();
  const LifParams p = params(0.7, 1.0, SurrogateKind::kTriangle, 0.8);
  const Mat<double> current = random_mat(rng, 2 * 5, 3, -0.5, 1.5);
  const Mat<double> dspikes = random_mat(rng, 2 * 5, 3);
  Mat<double> spikes, dcurrent, scaled(dspikes.rows(), dspikes.cols()), expected;
  LifSaved<double> saved;
  lif_forward(current, 5, p, spikes, saved);
  lif_backward(dspikes, saved, 5, p, dcurrent);
  for (Eigen::Index i = 0; i < scaled.size(); ++i) {
    scaled.data()[i] = dspikes.data()[i] *
                       surrogate_derivative(p.surrogate, p.width, saved.membrane.data()[i] - 1.0);
  }
  leaky_integrator_backward(scaled, 5, p.alpha, expected);
  EXPECT_LT((dcurrent - expected).cwiseAbs().maxCoeff(), 1e-12);
}

TEST(LifGradient, FloatAgreesWithDouble) {
  Rng rng = testing::rng_for_test();
  const LifParams p = params(0.9, 1.0, SurrogateKind::kTriangle, 0.5, false);
  // Each (sample, feature) sequence is redrawn until its u stays 1e-4 from theta, far beyond
  // float's rounding, so float and double fire alike.
  Mat<double> current(4 * 8, 5);
  for (Eigen::Index b = 0; b < 4; ++b) {
    for (Eigen::Index f = 0; f < 5; ++f) {
      bool ok = false;
      for (int attempt = 0; attempt < 1000 && !ok; ++attempt) {
        const Mat<double> seq = random_mat(rng, 8, 1, -0.5, 1.5);
        Mat<double> s;
        LifSaved<double> sv;
        lif_forward(seq, 8, p, s, sv);
        ok = (sv.membrane.array() - p.threshold).abs().minCoeff() > 1e-4;
        if (ok) current.block(b * 8, f, 8, 1) = seq;
      }
      ASSERT_TRUE(ok);
    }
  }
  const Mat<double> dspikes = random_mat(rng, 4 * 8, 5);
  Mat<double> sd, dd;
  LifSaved<double> saved_d;
  lif_forward(current, 8, p, sd, saved_d);
  lif_backward(dspikes, saved_d, 8, p, dd);
  const Mat<float> cf = current.cast<float>(), dsf = dspikes.cast<float>();
  Mat<float> sf, df;
  LifSaved<float> saved_f;
  lif_forward(cf, 8, p, sf, saved_f);
  lif_backward(dsf, saved_f, 8, p, df);
  EXPECT_EQ(sf.cast<double>(), sd);
  EXPECT_LT(testing::float_vs_double(df, dd), 1e-5);
}

// ---------------------------------------------------------------------------------------
// Readout: leaky integrator and time mean.

TEST(LeakyIntegrator, KnownValues) {
  Mat<double> u, g;
  leaky_integrator_forward(column({1.0, 1.0, 1.0}), 3, 0.5, u);
  EXPECT_EQ(u, column({1.0, 1.5, 1.75}));
  // Backward: g[2] = 1, g[1] = .5 + 1, g[0] = .75 + 1.
  leaky_integrator_backward(column({1.0, 1.0, 1.0}), 3, 0.5, g);
  EXPECT_EQ(g, column({1.75, 1.5, 1.0}));
  // Two samples of T = 2 do not mix.
  leaky_integrator_forward(column({1.0, 2.0, 4.0, 8.0}), 2, 1.0, u);
  EXPECT_EQ(u, column({1.0, 3.0, 4.0, 12.0}));
}

TEST(LeakyIntegratorGradient, MatchesFiniteDifferences) {
  Rng rng = testing::rng_for_test();
  for (double alpha : {0.0, 0.6, 1.0}) {
    Mat<double> current = random_mat(rng, 3 * 7, 5);
    const Mat<double> r = random_mat(rng, 3 * 7, 5);
    auto loss = [&]() {
      Mat<double> u;
      leaky_integrator_forward(current, 7, alpha, u);
      return weighted_sum(r, u);
    };
    Mat<double> dcurrent;
    leaky_integrator_backward(r, 7, alpha, dcurrent);
    EXPECT_LT(max_relative_error(dcurrent, numeric_gradient(current, loss)), kGradTolerance)
        << "alpha " << alpha;
  }
}

TEST(TimeMean, KnownValuesAndGradient) {
  Mat<double> x(4, 2), y, dx;
  x << 1, 2, 3, 4, 10, 20, 30, 40;  // B = 2, T = 2
  time_mean_forward(x, 2, y);
  Mat<double> expected(2, 2);
  expected << 2, 3, 20, 30;
  EXPECT_EQ(y, expected);
  Rng rng = testing::rng_for_test();
  Mat<double> xr = random_mat(rng, 3 * 4, 5);
  const Mat<double> r = random_mat(rng, 3, 5);
  auto loss = [&]() {
    Mat<double> m;
    time_mean_forward(xr, 4, m);
    return weighted_sum(r, m);
  };
  time_mean_backward(r, 4, dx);
  ASSERT_EQ(dx.rows(), 12);
  EXPECT_LT(max_relative_error(dx, numeric_gradient(xr, loss)), kGradTolerance);
}

TEST(ReadoutGradient, LinearIntegratorMeanCrossEntropyMatchesFiniteDifferences) {
  // x [B*T, I] -> linear -> leaky integrator -> time mean -> softmax cross-entropy.
  Rng rng = testing::rng_for_test();
  const std::int64_t batch = 3, steps = 4, in = 5, classes = 4;
  Mat<double> x = random_mat(rng, batch * steps, in);
  Mat<double> w = random_mat(rng, classes, in);
  const Vec<double> b = testing::random_vec(rng, classes);
  const std::vector<std::int32_t> labels = {0, 3, 1};
  const double alpha = 0.75;
  auto loss = [&]() {
    Mat<double> cur, u, y, probs;
    linear_forward(x, w, b, cur);
    leaky_integrator_forward(cur, steps, alpha, u);
    time_mean_forward(u, steps, y);
    return softmax_cross_entropy_forward<double>(y, labels, probs);
  };
  Mat<double> cur, u, y, probs, dy, du, dcur, dx, dw;
  Vec<double> db;
  linear_forward(x, w, b, cur);
  leaky_integrator_forward(cur, steps, alpha, u);
  time_mean_forward(u, steps, y);
  softmax_cross_entropy_forward<double>(y, labels, probs);
  softmax_cross_entropy_backward<double>(probs, labels, dy);
  time_mean_backward(dy, steps, du);
  leaky_integrator_backward(du, steps, alpha, dcur);
  linear_backward_input(dcur, w, dx);
  linear_backward_weights(x, dcur, dw, db);
  EXPECT_LT(max_relative_error(dx, numeric_gradient(x, loss)), kGradTolerance);
  EXPECT_LT(max_relative_error(dw, numeric_gradient(w, loss)), kGradTolerance);
}

// ---------------------------------------------------------------------------------------
// T = 1 and never-firing reductions to the non-spiking linear layer.

TEST(SpikingReduction, ReadoutAtOneStepIsThePlainLinearLayer) {
  // T = 1: the integrator's u[0] = I[0] for any alpha and the mean over one step is the
  // value itself, so linear -> integrator -> mean -> CE has exactly the gradients of
  // linear -> CE (bit for bit: no arithmetic differs).
  Rng rng = testing::rng_for_test();
  const Mat<double> x = random_mat(rng, 6, 5);
  const Mat<double> w = random_mat(rng, 3, 5);
  const Vec<double> b = testing::random_vec(rng, 3);
  const std::vector<std::int32_t> labels = {0, 1, 2, 2, 1, 0};
  Mat<double> logits, probs, dlogits, dx_ref, dw_ref;
  Vec<double> db_ref;
  linear_forward(x, w, b, logits);
  const double loss_ref = softmax_cross_entropy_forward<double>(logits, labels, probs);
  softmax_cross_entropy_backward<double>(probs, labels, dlogits);
  linear_backward_input(dlogits, w, dx_ref);
  linear_backward_weights(x, dlogits, dw_ref, db_ref);
  for (double alpha : {0.0, 0.37, 1.0}) {
    Mat<double> cur, u, y, p2, dy, du, dcur, dx, dw;
    Vec<double> db;
    linear_forward(x, w, b, cur);
    leaky_integrator_forward(cur, 1, alpha, u);
    time_mean_forward(u, 1, y);
    EXPECT_EQ(softmax_cross_entropy_forward<double>(y, labels, p2), loss_ref);
    softmax_cross_entropy_backward<double>(p2, labels, dy);
    time_mean_backward(dy, 1, du);
    leaky_integrator_backward(du, 1, alpha, dcur);
    linear_backward_input(dcur, w, dx);
    linear_backward_weights(x, dcur, dw, db);
    EXPECT_EQ(dx, dx_ref);
    EXPECT_EQ(dw, dw_ref);
    EXPECT_EQ(db, db_ref);
  }
}

TEST(SpikingReduction, DirectEncodingWithoutLeakIsThePlainLinearLayer) {
  // Direct encoding repeats x over T; with alpha = 0 the integrator's u[t] = I[t] = W x + b
  // for every t, so the time mean is the linear output and the gradients are the linear
  // layer's (up to the rounding of summing T copies of dy / T).
  Rng rng = testing::rng_for_test();
  const std::int64_t steps = 5;
  const Mat<double> x = random_mat(rng, 4, 6);
  const Mat<double> w = random_mat(rng, 3, 6);
  const Vec<double> b = testing::random_vec(rng, 3);
  const Mat<double> r = random_mat(rng, 4, 3);  // dL/dy
  Mat<double> dw_ref;
  Vec<double> db_ref;
  linear_backward_weights(x, r, dw_ref, db_ref);
  Mat<double> xs, cur, u, y, y_ref, du, dcur, dw;
  Vec<double> db;
  encode_direct(x, steps, xs);
  linear_forward(xs, w, b, cur);
  leaky_integrator_forward(cur, steps, 0.0, u);
  time_mean_forward(u, steps, y);
  linear_forward(x, w, b, y_ref);
  EXPECT_LT((y - y_ref).cwiseAbs().maxCoeff(), 1e-14);
  time_mean_backward(r, steps, du);
  leaky_integrator_backward(du, steps, 0.0, dcur);
  linear_backward_weights(xs, dcur, dw, db);
  EXPECT_LT((dw - dw_ref).cwiseAbs().maxCoeff(), 1e-14);
  EXPECT_LT((db - db_ref).cwiseAbs().maxCoeff(), 1e-14);
}

TEST(SpikingReduction, NeverFiringLayerAtOneStep) {
  // T = 1, theta far above every current: no spike, so the forward output is 0 and the
  // surrogate gradient is dI = sigma'(I - theta) * dS (no time recursion, alpha and the reset
  // choice irrelevant). A triangle of width 1 is 0 there: dI = 0. A rectangle wide enough to
  // cover every I - theta is the constant 1/w: dI = dS / w, so linear -> LIF gradients are the
  // plain linear layer's scaled by 1/w.
  Rng rng = testing::rng_for_test();
  const double theta = 1e3;
  const Mat<double> x = random_mat(rng, 5, 4);
  const Mat<double> w = random_mat(rng, 3, 4);
  const Vec<double> b = testing::random_vec(rng, 3);
  const Mat<double> dspikes = random_mat(rng, 5, 3);
  Mat<double> cur, spikes, dcur, dw, dx, dw_ref, dx_ref;
  Vec<double> db, db_ref;
  linear_forward(x, w, b, cur);
  linear_backward_weights(x, dspikes, dw_ref, db_ref);
  linear_backward_input(dspikes, w, dx_ref);
  for (double alpha : {0.0, 0.5, 1.0}) {
    for (bool detach : {true, false}) {
      LifSaved<double> saved;
      const LifParams tri = params(alpha, theta, SurrogateKind::kTriangle, 1.0, detach);
      lif_forward(cur, 1, tri, spikes, saved);
      EXPECT_EQ(count_nonzero<double>(spikes), 0);
      EXPECT_EQ(saved.membrane, cur);
      lif_backward(dspikes, saved, 1, tri, dcur);
      EXPECT_EQ(dcur, Mat<double>::Zero(5, 3));

      const double width = 4.0 * theta;  // |I - theta| < theta + 10 < width / 2
      const LifParams rect = params(alpha, theta, SurrogateKind::kRectangle, width, detach);
      lif_forward(cur, 1, rect, spikes, saved);
      lif_backward(dspikes, saved, 1, rect, dcur);
      EXPECT_EQ(dcur, dspikes * (1.0 / width));  // sigma' = 1/w, times dS
      linear_backward_weights(x, dcur, dw, db);
      linear_backward_input(dcur, w, dx);
      EXPECT_LT((dw * width - dw_ref).cwiseAbs().maxCoeff(), 1e-13);
      EXPECT_LT((db * width - db_ref).cwiseAbs().maxCoeff(), 1e-13);
      EXPECT_LT((dx * width - dx_ref).cwiseAbs().maxCoeff(), 1e-13);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Encoders and counting.

TEST(EncodeDirect, RepeatsEachSampleOverTime) {
  Mat<double> x(2, 3), y;
  x << 1, 2, 3, 4, 5, 6;
  encode_direct(x, 3, y);
  ASSERT_EQ(y.rows(), 6);
  ASSERT_EQ(y.cols(), 3);
  for (int b = 0; b < 2; ++b)
    for (int t = 0; t < 3; ++t) EXPECT_EQ(y.row(b * 3 + t), x.row(b)) << b << " " << t;
}

TEST(EncodePoisson, DrawsInSampleTimeFeatureOrder) {
  Rng rng = testing::rng_for_test();
  const Mat<double> x = random_mat(rng, 3, 4, 0.0, 1.0);
  const double gain = 1.5, offset = -0.2;
  Rng a(rng.seed() + 1), b(rng.seed() + 1);
  Mat<double> y;
  encode_poisson(x, 5, gain, offset, a, y);
  for (int s = 0; s < 3; ++s) {
    for (int t = 0; t < 5; ++t) {
      for (int f = 0; f < 4; ++f) {
        const double p = std::clamp(gain * x(s, f) + offset, 0.0, 1.0);
        EXPECT_EQ(y(s * 5 + t, f), b.uniform() < p ? 1.0 : 0.0);
      }
    }
  }
  EXPECT_EQ(a.next_u64(), b.next_u64());  // exactly B*T*F draws were taken
}

TEST(EncodePoisson, SameSeedSameSpikes) {
  Rng rng = testing::rng_for_test();
  const Mat<double> x = random_mat(rng, 4, 10, 0.0, 1.0);
  Rng a(77), b(77), c(78);
  Mat<double> ya, yb, yc;
  encode_poisson(x, 8, 1.0, 0.0, a, ya);
  encode_poisson(x, 8, 1.0, 0.0, b, yb);
  encode_poisson(x, 8, 1.0, 0.0, c, yc);
  EXPECT_EQ(ya, yb);
  EXPECT_NE(ya, yc);
  Mat<float> yf;
  Rng d(77);
  encode_poisson(Mat<float>(x.cast<float>()), 8, 1.0, 0.0, d, yf);
  // The float probability can differ from the double one in the last bits; with 320 draws
  // a uniform landing between the two is vanishingly unlikely.
  EXPECT_EQ(yf.cast<double>(), ya);
}

TEST(EncodePoisson, RateMatchesTheClampedProbability) {
  // Per feature N = B*T Bernoulli(p) draws: the rate's standard deviation is sqrt(p(1-p)/N);
  // the bound is 6 of them (two-sided false-failure chance about 2e-9 per feature), and
  // p = 0 / p = 1 must be exact.
  Rng rng = testing::rng_for_test();
  const std::int64_t batch = 40, steps = 500;
  const double gain = 2.0, offset = -0.5;
  Mat<double> row(1, 6);
  row << -1.0, 0.25, 0.3, 0.5, 0.7, 2.0;  // p = 0, 0, 0.1, 0.5, 0.9, 1
  const Mat<double> x = row.replicate(batch, 1);
  Mat<double> y;
  encode_poisson(x, steps, gain, offset, rng, y);
  const double n = static_cast<double>(batch * steps);
  for (Eigen::Index f = 0; f < x.cols(); ++f) {
    const double p = std::clamp(gain * row(0, f) + offset, 0.0, 1.0);
    const double rate = y.col(f).sum() / n;
    EXPECT_NEAR(rate, p, 6.0 * std::sqrt(p * (1.0 - p) / n)) << "feature " << f << " p " << p;
  }
  EXPECT_EQ(count_nonzero<double>(y), static_cast<std::int64_t>(y.sum()));
}

TEST(CountNonzero, CountsEntriesAndReadsBlocks) {
  Mat<double> x(3, 3);
  x << 0, 1, 0, -2, 0, 0, 0, 0, 0.5;
  EXPECT_EQ(count_nonzero<double>(x), 3);
  EXPECT_EQ(count_nonzero<double>(x.topRows(2)), 2);
  EXPECT_EQ(count_nonzero<float>(Mat<float>::Zero(4, 4)), 0);
}

}  // namespace
}  // namespace lpsim::ops
