#pragma once
// A seeded random number generator whose every output is the same on every platform and
// standard library: std::mt19937_64 (its sequence is fixed by the standard) turned into
// numbers by lpsim's own conversions, never by std::*_distribution or std::shuffle (their
// algorithms are implementation-defined).
//
// normal() uses std::log, std::sqrt, std::cos and std::sin; glibc's are correctly rounded in
// practice, so its values are portable across glibc builds but may differ in the last bit
// under another libm.

#include <cstdint>
#include <iterator>
#include <random>
#include <utility>

namespace lpsim::ops {

class Rng {
 public:
  explicit Rng(std::uint64_t seed);

  std::uint64_t seed() const { return seed_; }

  // The next raw 64-bit output of mt19937_64.
  std::uint64_t next_u64();
  // Uniform in [0, 1) with 53 random bits: (next_u64() >> 11) * 2^-53.
  double uniform();
  // Uniform in [lo, hi): lo + (hi - lo) * uniform().
  double uniform(double lo, double hi);
  // Standard normal scaled to N(mean, stddev^2), Box-Muller; draws two uniforms every
  // second call (the second variate of a pair is kept for the next call).
  double normal(double mean = 0.0, double stddev = 1.0);
  // Uniform integer in [0, n), n > 0, unbiased (rejection of the 2^64 mod n lowest values).
  std::uint64_t uniform_int(std::uint64_t n);

  // Fisher-Yates shuffle of [first, last) (random-access iterators), portable order:
  // for i = n-1 down to 1, swap element i with element uniform_int(i + 1).
  template <typename RandomIt>
  void shuffle(RandomIt first, RandomIt last) {
    const auto n = static_cast<std::uint64_t>(std::distance(first, last));
    for (std::uint64_t i = n; i > 1; --i) {
      const std::uint64_t j = uniform_int(i);
      using std::swap;
      swap(first[static_cast<std::ptrdiff_t>(i - 1)], first[static_cast<std::ptrdiff_t>(j)]);
    }
  }

 private:
  std::uint64_t seed_;
  std::mt19937_64 engine_;
  bool has_spare_normal_ = false;
  double spare_normal_ = 0.0;
};

}  // namespace lpsim::ops
