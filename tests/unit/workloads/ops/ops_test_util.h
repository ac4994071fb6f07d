#pragma once
// Helpers for the ops tests: replayable seeds, random tensors, central finite differences.
//
// Every randomised test draws from rng_for_test(), which prints its seed; set
// LPSIM_TEST_SEED=<n> to replay a failure with the same inputs. Set LPSIM_PRINT_GRADCHECK=1
// to print every gradient check's measured error.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>

#include "workloads/ops/rng.h"
#include "workloads/ops/tensor.h"

namespace lpsim::ops::testing {

inline std::uint64_t test_seed() {
  const char* env = std::getenv("LPSIM_TEST_SEED");
  return env != nullptr ? std::strtoull(env, nullptr, 10) : 20240611ULL;
}

// An Rng seeded from LPSIM_TEST_SEED (or a fixed default), with the seed printed and
// recorded as a test property.
inline Rng rng_for_test() {
  const std::uint64_t seed = test_seed();
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::cout << "[ seed     ] "
            << (info ? std::string(info->test_suite_name()) + "." + info->name() : std::string("?"))
            << " LPSIM_TEST_SEED=" << seed << "\n";
  ::testing::Test::RecordProperty("seed", std::to_string(seed));
  return Rng(seed);
}

inline Mat<double> random_mat(Rng& rng, std::int64_t rows, std::int64_t cols, double lo = -1.0,
                              double hi = 1.0) {
  Mat<double> m(rows, cols);
  for (std::int64_t i = 0; i < m.size(); ++i) m.data()[i] = rng.uniform(lo, hi);
  return m;
}

inline Vec<double> random_vec(Rng& rng, std::int64_t n, double lo = -1.0, double hi = 1.0) {
  Vec<double> v(n);
  for (std::int64_t i = 0; i < n; ++i) v(i) = rng.uniform(lo, hi);
  return v;
}

// Uniform magnitudes in [margin, 1] with a random sign: no entry within margin of 0.
inline Mat<double> random_mat_away_from_zero(Rng& rng, std::int64_t rows, std::int64_t cols,
                                             double margin) {
  Mat<double> m(rows, cols);
  for (std::int64_t i = 0; i < m.size(); ++i) {
    const double mag = rng.uniform(margin, 1.0);
    m.data()[i] = rng.uniform() < 0.5 ? -mag : mag;
  }
  return m;
}

// Distinct values: a random permutation of 0, spacing, 2*spacing, ... shifted to be centred.
inline Mat<double> random_mat_distinct(Rng& rng, std::int64_t rows, std::int64_t cols,
                                       double spacing) {
  Mat<double> m(rows, cols);
  for (std::int64_t i = 0; i < m.size(); ++i) {
    m.data()[i] = (static_cast<double>(i) - 0.5 * static_cast<double>(m.size())) * spacing;
  }
  rng.shuffle(m.data(), m.data() + m.size());
  return m;
}

// Central-difference gradient of the scalar loss() with respect to every entry of param
// (a Mat<double> or Vec<double> that loss() reads); param is restored afterwards.
template <typename Tensor, typename Loss>
Tensor numeric_gradient(Tensor& param, Loss loss, double step = 1e-5) {
  Tensor grad(param.rows(), param.cols());
  for (std::int64_t i = 0; i < param.size(); ++i) {
    const double saved = param.data()[i];
    param.data()[i] = saved + step;
    const double plus = loss();
    param.data()[i] = saved - step;
    const double minus = loss();
    param.data()[i] = saved;
    grad.data()[i] = (plus - minus) / (2.0 * step);
  }
  return grad;
}

// Largest element-wise relative error |a - n| / max(|a|, |n|, floor), where the floor,
// 1e-2 of the tensor's largest magnitude, keeps entries that are tiny compared with the
// rest from dominating through cancellation noise.
template <typename Tensor>
double max_relative_error(const Tensor& analytic, const Tensor& numeric) {
  EXPECT_EQ(analytic.rows(), numeric.rows());
  EXPECT_EQ(analytic.cols(), numeric.cols());
  const double scale = std::max(analytic.cwiseAbs().maxCoeff(), numeric.cwiseAbs().maxCoeff());
  const double floor = std::max(1e-2 * scale, 1e-300);
  double worst = 0.0;
  for (std::int64_t i = 0; i < analytic.size(); ++i) {
    const double a = analytic.data()[i], n = numeric.data()[i];
    const double denom = std::max({std::abs(a), std::abs(n), floor});
    worst = std::max(worst, std::abs(a - n) / denom);
  }
  if (std::getenv("LPSIM_PRINT_GRADCHECK"))
    std::cout << "[ gradcheck] max rel err " << worst << "\n";
  return worst;
}

// Relative-error bound of the double-precision gradient checks.
inline constexpr double kGradTolerance = 1e-6;

// sum(r .* y): the scalar loss through which layer gradients are checked (dL/dy = r).
inline double weighted_sum(const Mat<double>& r, const Mat<double>& y) {
  return r.cwiseProduct(y).sum();
}

// max |a - b| / max(1, max |b|): agreement of a float result with the double one.
inline double float_vs_double(const Mat<float>& f, const Mat<double>& d) {
  EXPECT_EQ(f.rows(), d.rows());
  EXPECT_EQ(f.cols(), d.cols());
  const double scale = std::max(1.0, d.cwiseAbs().maxCoeff());
  return (f.cast<double>() - d).cwiseAbs().maxCoeff() / scale;
}
inline double float_vs_double(const Vec<float>& f, const Vec<double>& d) {
  EXPECT_EQ(f.size(), d.size());
  const double scale = std::max(1.0, d.cwiseAbs().maxCoeff());
  return (f.cast<double>() - d).cwiseAbs().maxCoeff() / scale;
}

}  // namespace lpsim::ops::testing
