#include "workloads/ops/rng.h"

#include <cmath>

#include "core/errors.h"

namespace lpsim::ops {

Rng::Rng(std::uint64_t seed) : seed_(seed), engine_(seed) {}

std::uint64_t Rng::next_u64() { return engine_(); }

double Rng::uniform() {
  constexpr double kTwoToMinus53 = 1.0 / 9007199254740992.0;
  return static_cast<double>(next_u64() >> 11) * kTwoToMinus53;
}

double Rng::uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

double Rng::normal(double mean, double stddev) {
  if (has_spare_normal_) {
    has_spare_normal_ = false;
    return mean + stddev * spare_normal_;
  }
  constexpr double kTwoPi = 6.283185307179586476925286766559;
  const double u1 = 1.0 - uniform();  // (0, 1]: log(u1) is finite
  const double u2 = uniform();
  const double radius = std::sqrt(-2.0 * std::log(u1));
  const double angle = kTwoPi * u2;
  spare_normal_ = radius * std::sin(angle);
  has_spare_normal_ = true;
  return mean + stddev * (radius * std::cos(angle));
}

std::uint64_t Rng::uniform_int(std::uint64_t n) {
  LPSIM_ASSERT(n > 0, "uniform_int needs n > 0");
  // 2^64 mod n: the values below it are rejected so that the rest fall evenly into n bins.
  const std::uint64_t threshold = (0 - n) % n;
  while (true) {
    const std::uint64_t x = next_u64();
    if (x >= threshold) return x % n;
  }
}

}  // namespace lpsim::ops
