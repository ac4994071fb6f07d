#include "workloads/ops/rng.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "core/errors.h"
#include "tests/unit/workloads/ops/ops_test_util.h"

namespace lpsim::ops {
namespace {

TEST(RngPortability, FollowsTheStandardMersenneTwister64Sequence) {
  // [rand.predef]: the 10000th output of a default-constructed (seed 5489) mt19937_64.
  Rng rng(5489);
  std::uint64_t x = 0;
  for (int i = 0; i < 10000; ++i) x = rng.next_u64();
  EXPECT_EQ(x, 9981545732273789042ULL);
}

TEST(RngPortability, UniformTakesTheTop53Bits) {
  Rng rng(5489), raw(5489);
  for (int i = 0; i < 100; ++i) {
    const std::uint64_t bits = raw.next_u64();
    EXPECT_EQ(rng.uniform(), std::ldexp(static_cast<double>(bits >> 11), -53));
  }
  // First output of mt19937_64(5489) is 14514284786278117030.
  EXPECT_EQ(Rng(5489).uniform(),
            std::ldexp(static_cast<double>(14514284786278117030ULL >> 11), -53));
}

TEST(RngPortability, UniformIntIsRejectionThenModulo) {
  // For n = 6, 2^64 mod 6 = 4: outputs below 4 are rejected, the rest reduced modulo 6.
  Rng rng(42), raw(42);
  for (int i = 0; i < 100; ++i) {
    std::uint64_t x = raw.next_u64();
    while (x < 4) x = raw.next_u64();
    EXPECT_EQ(rng.uniform_int(6), x % 6);
  }
}

TEST(RngDeterminism, SameSeedSameSequence) {
  Rng a(123), b(123), c(124);
  bool differs = false;
  for (int i = 0; i < 50; ++i) {
    const double ua = a.uniform(), ub = b.uniform();
    EXPECT_EQ(ua, ub);
    EXPECT_EQ(a.normal(), b.normal());
    EXPECT_EQ(a.uniform_int(1000), b.uniform_int(1000));
    differs = differs || ua != c.uniform();
  }
  EXPECT_TRUE(differs);
  EXPECT_EQ(a.seed(), 123u);
}

TEST(RngUniform, StaysInHalfOpenInterval) {
  Rng rng = testing::rng_for_test();
  double lo = 1.0, hi = 0.0, sum = 0.0;
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    const double u = rng.uniform();
    lo = std::min(lo, u);
    hi = std::max(hi, u);
    sum += u;
  }
  EXPECT_GE(lo, 0.0);
  EXPECT_LT(hi, 1.0);
  EXPECT_LT(lo, 1e-3);
  EXPECT_GT(hi, 1.0 - 1e-3);
  EXPECT_NEAR(sum / n, 0.5, 5.0 * std::sqrt(1.0 / 12.0 / n));
  for (int i = 0; i < 1000; ++i) {
    const double v = rng.uniform(-2.0, 3.0);
    EXPECT_GE(v, -2.0);
    EXPECT_LT(v, 3.0);
  }
}

TEST(RngUniformInt, CoversTheRangeEvenly) {
  Rng rng = testing::rng_for_test();
  const int n = 60000, bins = 6;
  std::vector<int> count(bins, 0);
  for (int i = 0; i < n; ++i) {
    const std::uint64_t k = rng.uniform_int(bins);
    ASSERT_LT(k, static_cast<std::uint64_t>(bins));
    ++count[k];
  }
  const double expected = static_cast<double>(n) / bins;
  const double sd = std::sqrt(expected * (1.0 - 1.0 / bins));
  for (int k = 0; k < bins; ++k) EXPECT_NEAR(count[k], expected, 5.0 * sd) << "bin " << k;
  EXPECT_EQ(rng.uniform_int(1), 0u);
  // n just above 2^63 rejects almost half of all outputs and still terminates.
  const std::uint64_t big = (1ULL << 63) + 1;
  for (int i = 0; i < 100; ++i) EXPECT_LT(rng.uniform_int(big), big);
  EXPECT_THROW(rng.uniform_int(0), core::InternalError);
}

TEST(RngNormal, HasTheRequestedMoments) {
  Rng rng = testing::rng_for_test();
  const int n = 200000;
  double sum = 0, sq = 0;
  for (int i = 0; i < n; ++i) {
    const double z = rng.normal(2.0, 3.0);
    sum += z;
    sq += z * z;
  }
  const double mean = sum / n, var = sq / n - mean * mean;
  EXPECT_NEAR(mean, 2.0, 5.0 * 3.0 / std::sqrt(n));
  EXPECT_NEAR(var, 9.0, 5.0 * 9.0 * std::sqrt(2.0 / n));
}

TEST(RngShuffle, IsADeterministicPermutation) {
  std::vector<int> a(50), b(50);
  std::iota(a.begin(), a.end(), 0);
  std::iota(b.begin(), b.end(), 0);
  Rng ra(9), rb(9);
  ra.shuffle(a.begin(), a.end());
  rb.shuffle(b.begin(), b.end());
  EXPECT_EQ(a, b);
  std::vector<int> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int> identity(50);
  std::iota(identity.begin(), identity.end(), 0);
  EXPECT_EQ(sorted, identity);
  EXPECT_NE(a, identity);
  // Fisher-Yates from the back: the first swap exchanges element 49 with uniform_int(50).
  std::vector<int> c(3);
  std::iota(c.begin(), c.end(), 0);
  Rng rc(5), manual(5);
  rc.shuffle(c.begin(), c.end());
  std::vector<int> d = {0, 1, 2};
  std::swap(d[2], d[manual.uniform_int(3)]);
  std::swap(d[1], d[manual.uniform_int(2)]);
  EXPECT_EQ(c, d);
}

}  // namespace
}  // namespace lpsim::ops
