// round_tensor / round_values (workloads/ops/numerics_bulk.h) against the scalar library
// (numerics.h), bit for bit: random bit patterns, values around every format's ties and
// edges, the scale at every fp32 exponent, explicit random bits at each stochastic threshold,
// thread counts and the double overload.

#include "workloads/ops/numerics_bulk.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "tests/unit/workloads/ops/ops_test_util.h"
#include "workloads/ops/numerics.h"
#include "workloads/ops/parallel.h"

namespace lpsim::ops {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNan = std::numeric_limits<float>::quiet_NaN();
constexpr Rounding kRoundings[] = {Rounding::kNearestEven, Rounding::kStochastic};
constexpr RoundingStream kStream{20240611, 7, 3};

float from_bits(std::uint32_t b) {
  float x = 0.0f;
  std::memcpy(&x, &b, sizeof x);
  return x;
}

std::uint32_t to_bits(float x) {
  std::uint32_t b = 0;
  std::memcpy(&b, &x, sizeof b);
  return b;
}

std::uint64_t to_bits(double x) {
  std::uint64_t b = 0;
  std::memcpy(&b, &x, sizeof b);
  return b;
}

std::string label(NumberFormat f, Rounding r) {
  return std::string(format_name(f)) + " " + std::string(rounding_name(r));
}

// The scalar library's answer for element x of a tensor with scale exponent k.
float scalar_element(float x, int k, NumberFormat f, Rounding r, std::uint64_t bits) {
  if (f == NumberFormat::kFp32) return x;
  if (!format_info(f).scaled) return round_to(x, f, r, bits);
  return unscale(round_scaled(x, k, f, r, bits), k);
}

// The scalar library over a whole tensor: amax (NaN when any value is NaN), k, then each
// element with its rounding_bits. Returns k.
int scalar_round_tensor(std::vector<float>& v, NumberFormat f, Rounding r,
                        const RoundingStream& s) {
  int k = 0;
  if (format_info(f).scaled) {
    float amax = 0.0f;
    bool nan = false;
    for (float x : v) {
      if (std::isnan(x)) nan = true;
      amax = std::max(amax, std::fabs(x));
    }
    k = scale_exponent(nan ? kNan : amax, f);
  }
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::uint64_t bits =
        r == Rounding::kStochastic ? rounding_bits(s.seed, s.tensor, i, s.minibatch) : 0;
    v[i] = scalar_element(v[i], k, f, r, bits);
  }
  return k;
}

// memcmp of the two results; on a difference, the first few elements that differ.
template <typename T>
::testing::AssertionResult same_bits(const std::vector<T>& input, const std::vector<T>& got,
                                     const std::vector<T>& want) {
  if (std::memcmp(got.data(), want.data(), got.size() * sizeof(T)) == 0) {
    return ::testing::AssertionSuccess();
  }
  std::ostringstream out;
  int shown = 0;
  std::size_t differ = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (to_bits(got[i]) == to_bits(want[i])) continue;
    ++differ;
    if (shown++ < 5) {
      out << "\n  [" << i << "] x " << std::hexfloat << input[i] << " (0x" << std::hex
          << to_bits(input[i]) << "): got " << std::hexfloat << got[i] << " (0x" << std::hex
          << to_bits(got[i]) << "), want " << std::hexfloat << want[i] << " (0x" << std::hex
          << to_bits(want[i]) << ")" << std::dec;
    }
  }
  return ::testing::AssertionFailure() << differ << " of " << got.size() << " differ" << out.str();
}

// round_tensor and the scalar library on the same input: same k, same bits.
void expect_matches_scalar(const std::vector<float>& input, NumberFormat f, Rounding r,
                           const std::string& what, const RoundingStream& s = kStream) {
  std::vector<float> want = input;
  const int want_k = scalar_round_tensor(want, f, r, s);
  std::vector<float> got = input;
  const int k = round_tensor(got.data(), static_cast<std::int64_t>(got.size()), f, r, s);
  EXPECT_EQ(k, want_k) << what << ", " << label(f, r);
  EXPECT_TRUE(same_bits(input, got, want)) << what << ", " << label(f, r) << ", k " << k;
}

std::vector<float> random_patterns(Rng& rng, std::size_t n) {
  std::vector<float> v(n);
  for (float& x : v) x = from_bits(static_cast<std::uint32_t>(rng.next_u64() >> 32));
  return v;
}

// Each format's values (every code decoded, NaN left out) and what surrounds them: the value,
// its fp32 neighbours, the midpoint to the next value up and that midpoint's two neighbours on
// each side; above the largest finite, the midpoint to where the next value would be (the
// overflow threshold of nearest even). Both signs.
std::vector<float> around_format_values(NumberFormat f) {
  const NumberFormatInfo& fi = format_info(f);
  std::vector<float> values;
  for (std::uint32_t c = 0; c < (1u << (fi.total_bits - 1)); ++c) {
    const float v = decode(c, f);
    if (std::isfinite(v)) values.push_back(v);
  }
  std::sort(values.begin(), values.end());
  const double quantum_at_largest =
      std::ldexp(1.0, std::ilogb(fi.largest_finite) - fi.significand_bits + 1);
  const double beyond = static_cast<double>(fi.largest_finite) + quantum_at_largest;
  std::vector<float> out;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double next = i + 1 < values.size() ? static_cast<double>(values[i + 1]) : beyond;
    const auto mid = static_cast<float>(0.5 * (static_cast<double>(values[i]) + next));
    float up = mid, down = mid;
    const float points[] = {values[i], std::nextafter(values[i], kInf),
                            std::nextafter(values[i], -kInf), mid};
    for (float p : points) out.push_back(p);
    for (int j = 0; j < 2; ++j) {
      up = std::nextafter(up, kInf);
      down = std::nextafter(down, -kInf);
      out.push_back(up);
      out.push_back(down);
    }
  }
  out.push_back(std::ldexp(fi.smallest_subnormal, -2));  // far below half of it
  out.push_back(from_bits(1));                           // fp32's smallest subnormal
  out.push_back(from_bits(0x007FFFFFu));                 // fp32's largest subnormal
  out.push_back(kInf);
  const std::size_t n = out.size();
  for (std::size_t i = 0; i < n; ++i) out.push_back(-out[i]);
  return out;
}

// (a) A million random bit patterns (every exponent; NaN, ±inf and fp32 subnormals among
// them, so the scaled formats get k = 0), then half a million finite ones (amax near FLT_MAX:
// k of −113 to −120, most values scaled below the formats' subnormals and many into fp32's).
TEST(RoundTensor, RandomBitPatternsMatchTheScalarLibrary) {
  Rng rng = testing::rng_for_test();
  const std::vector<float> any = random_patterns(rng, 1 << 20);
  std::vector<float> finite = random_patterns(rng, 1 << 19);
  for (float& x : finite) {
    if (!std::isfinite(x)) x = from_bits(to_bits(x) & 0xBF7FFFFFu);
  }
  ASSERT_TRUE(std::any_of(any.begin(), any.end(), [](float x) { return std::isnan(x); }));
  for (NumberFormat f : kAllNumberFormats) {
    for (Rounding r : kRoundings) {
      expect_matches_scalar(any, f, r, "any bit pattern");
      expect_matches_scalar(finite, f, r, "finite bit patterns");
    }
  }
}

// (b) Around every value of every format: ties, the smallest subnormal and half of it, the
// smallest normal, the largest finite and the overflow threshold. The scaled formats see them
// at k = 0 (an infinity, then also a NaN, in the tensor) and shifted by 2^j, without the values
// beyond the largest finite, with amax the largest finite · 2^j (k = −j).
TEST(RoundTensor, ValuesAroundEveryFormatsTiesSubnormalsAndLargestMatch) {
  for (NumberFormat f : kAllNumberFormats) {
    if (f == NumberFormat::kFp32) continue;  // 2^31 codes; fp32 changes nothing (below)
    const NumberFormatInfo& fi = format_info(f);
    std::vector<float> around = around_format_values(f);
    for (Rounding r : kRoundings) {
      expect_matches_scalar(around, f, r, "around the values");
      if (!fi.scaled) continue;
      std::vector<float> with_nan = around;
      with_nan.push_back(kNan);
      expect_matches_scalar(with_nan, f, r, "around the values, a NaN (k = 0)");
      for (int j : {-100, -30, 30, 100}) {
        std::vector<float> shifted;
        for (float x : around) {
          if (std::fabs(x) <= fi.largest_finite) shifted.push_back(std::ldexp(x, j));
        }
        shifted.push_back(std::ldexp(fi.largest_finite, j));
        std::vector<float> check = shifted;
        ASSERT_EQ(
            round_tensor(check.data(), static_cast<std::int64_t>(check.size()), f, r, kStream), -j);
        expect_matches_scalar(shifted, f, r, "around the values, times 2^" + std::to_string(j));
      }
    }
  }
}

// (c) The scale: amax at every fp32 exponent and every subnormal bit length (k from 164 down
// to −120) with the other values random below it, amax exactly the largest finite · 2^j and
// one ulp either side (where floor(log2) steps), amax 0 (k = 0, ±0 kept), amax ±inf and NaN
// (k = 0).
TEST(RoundTensor, ScaleExponentIsScalarsAtEveryAmax) {
  Rng rng = testing::rng_for_test();
  constexpr std::size_t kValues = 1024;
  for (NumberFormat f : kAllNumberFormats) {
    for (Rounding r : kRoundings) {
      // Bit lengths 1 to 23: the subnormal amaxes (k 142 to 164); then every normal field.
      for (std::uint32_t length = 1; length < 23 + 255; ++length) {
        std::vector<float> v(kValues);
        const std::uint32_t random = static_cast<std::uint32_t>(rng.next_u64() >> 41);
        const std::uint32_t amax_bits = length <= 23
                                            ? (1u << (length - 1)) | (random >> (24 - length))
                                            : ((length - 23) << 23) | random;
        for (float& x : v) {
          // A random magnitude at most amax's: exponents spread over the whole range below.
          const std::uint32_t m =
              static_cast<std::uint32_t>(rng.next_u64() >> 33) % (amax_bits + 1);
          x = from_bits(m | (rng.next_u64() & 0x80000000u));
        }
        v[rng.uniform_int(kValues)] = from_bits(amax_bits);
        expect_matches_scalar(v, f, r, "amax bits " + std::to_string(amax_bits));
      }
      const float largest = format_info(f).largest_finite;
      for (int j = -140; j <= 120; j += 13) {
        const float edge = std::ldexp(largest, j);
        if (!std::isfinite(edge) || edge == 0.0f) continue;
        for (float amax : {edge, std::nextafter(edge, kInf), std::nextafter(edge, 0.0f)}) {
          std::vector<float> v = random_patterns(rng, 256);
          for (float& x : v) x = std::fmod(x, amax);  // NaN stays: replaced below
          for (float& x : v) {
            if (std::isnan(x)) x = 0.5f * amax;
          }
          v[3] = -amax;
          expect_matches_scalar(v, f, r, "amax " + std::to_string(amax));
        }
      }
      std::vector<float> zeros(100, 0.0f);
      for (std::size_t i = 0; i < zeros.size(); i += 2) zeros[i] = -0.0f;
      expect_matches_scalar(zeros, f, r, "amax 0");
      for (float special : {kInf, -kInf, kNan, -kNan, from_bits(0x7F800001u)}) {
        std::vector<float> v = random_patterns(rng, 300);
        for (float& x : v) {
          if (!std::isfinite(x)) x = 1.5f;
        }
        v[150] = special;
        std::vector<float> check = v;
        EXPECT_EQ(round_tensor(check.data(), 300, f, r, kStream), 0);
        expect_matches_scalar(v, f, r, "amax not finite");
      }
    }
  }
  // Section 2d's ends of the scale, as the scalar library has them: FLT_MAX in fp16 scales to
  // 32768 − 2^-9, stored as 2^15, read back as 2^128 = inf.
  float flt_max = std::numeric_limits<float>::max();
  EXPECT_EQ(round_tensor(&flt_max, 1, NumberFormat::kFp16, Rounding::kNearestEven, kStream), -113);
  EXPECT_EQ(flt_max, kInf);
}

// The stochastic threshold: for each value, the random bits T at which round_to stops going up
// (found by bisection on the scalar library), and round_values given T − 1, T, T + 1, 0 and
// 2^64 − 1 as the bits. Values of every binade from fp32's subnormals to the overflow,
// at several k for the scaled formats.
TEST(RoundValues, StochasticThresholdsAreTheScalarLibrarys) {
  Rng rng = testing::rng_for_test();
  const std::vector<float> values = [&] {
    std::vector<float> v;
    for (std::uint32_t field = 0; field < 256; ++field) {
      for (int i = 0; i < 6; ++i) {
        v.push_back(from_bits((field << 23) | static_cast<std::uint32_t>(rng.next_u64() >> 41) |
                              (i % 2 == 0 ? 0u : 0x80000000u)));
      }
    }
    return v;
  }();
  for (NumberFormat f : kAllNumberFormats) {
    const std::vector<int> ks =
        format_info(f).scaled ? std::vector<int>{0, -120, -40, 40, 130, 164} : std::vector<int>{0};
    for (int k : ks) {
      std::vector<float> input;
      std::vector<std::uint64_t> bits;
      for (float x : values) {
        if (std::isnan(x)) continue;
        const auto up = [&](std::uint64_t b) {
          return to_bits(scalar_element(x, k, f, Rounding::kStochastic, b)) !=
                 to_bits(scalar_element(x, k, f, Rounding::kStochastic, ~std::uint64_t{0}));
        };
        // up(b) holds for b < T and fails from T on (T = 0: never up).
        std::uint64_t lo = 0, hi = ~std::uint64_t{0};
        if (!up(0)) {
          hi = 0;
        } else {
          while (hi - lo > 1) {
            const std::uint64_t mid = lo + (hi - lo) / 2;
            (up(mid) ? lo : hi) = mid;
          }
        }
        for (std::uint64_t b : {hi - 1, hi, hi + 1, std::uint64_t{0}, ~std::uint64_t{0}}) {
          input.push_back(x);
          bits.push_back(b);
        }
      }
      std::vector<float> want(input.size());
      for (std::size_t i = 0; i < input.size(); ++i) {
        want[i] = scalar_element(input[i], k, f, Rounding::kStochastic, bits[i]);
      }
      std::vector<float> got = input;
      round_values(got.data(), static_cast<std::int64_t>(got.size()), f, Rounding::kStochastic, k,
                   bits.data());
      EXPECT_TRUE(same_bits(input, got, want)) << format_name(f) << ", k " << k;
    }
  }
}

// (d) A tensor of a million values, 16 parts of parallel.h's split: 1 and 3 threads give the
// same bits (the amax reduction and the random bits' element indices included), and the same
// as the scalar library.
TEST(RoundTensor, ThreadCountChangesNoBit) {
  Rng rng = testing::rng_for_test();
  std::vector<float> input(1 << 20);
  for (float& x : input) x = static_cast<float>(rng.normal(0.0, 1e-3));
  input[12345] = 3.0f;  // amax in one part only
  std::vector<double> input_double(input.begin(), input.end());
  for (NumberFormat f : kAllNumberFormats) {
    for (Rounding r : kRoundings) {
      std::vector<float> one = input, three = input;
      std::vector<double> one_double = input_double, three_double = input_double;
      set_threads(1);
      const int k1 = round_tensor(one.data(), static_cast<std::int64_t>(one.size()), f, r, kStream);
      round_tensor(one_double.data(), static_cast<std::int64_t>(one.size()), f, r, kStream);
      set_threads(3);
      const int k3 =
          round_tensor(three.data(), static_cast<std::int64_t>(three.size()), f, r, kStream);
      round_tensor(three_double.data(), static_cast<std::int64_t>(one.size()), f, r, kStream);
      set_threads(1);
      EXPECT_EQ(k1, k3) << label(f, r);
      EXPECT_TRUE(same_bits(input, three, one)) << label(f, r);
      EXPECT_TRUE(same_bits(input_double, three_double, one_double)) << label(f, r);
      if (f == NumberFormat::kFp8E4m3) {
        std::vector<float> want = input;
        scalar_round_tensor(want, f, r, kStream);
        EXPECT_TRUE(same_bits(input, three, want)) << label(f, r);
      }
    }
  }
}

// (e) Doubles: random bit patterns (NaN, ±inf, double subnormals, values beyond fp32's range)
// and values at fp32's rounding boundaries (float midpoints ± 1 ulp of double) go to float
// (nearest even), then as the float tensor, and back.
TEST(RoundTensor, DoubleTensorsRoundThroughFloatAsTheScalarLibrary) {
  Rng rng = testing::rng_for_test();
  std::vector<double> any(1 << 16), near(1 << 16);
  for (double& x : any) {
    const std::uint64_t b = rng.next_u64();
    std::memcpy(&x, &b, sizeof x);
  }
  for (std::size_t i = 0; i < near.size(); ++i) {
    // A float of a random exponent in [-160, 130] and the midpoint to its next float.
    const double base = std::ldexp(1.0 + static_cast<double>(rng.next_u64() >> 41) * 0x1p-23,
                                   static_cast<int>(rng.uniform_int(288)) - 160);
    const double mid =
        base + 0.5 * (static_cast<double>(std::nextafter(static_cast<float>(base), kInf)) -
                      static_cast<double>(static_cast<float>(base)));
    const double pick[] = {mid, std::nextafter(mid, 0.0), std::nextafter(mid, 1e300), base};
    near[i] = (i % 2 == 0 ? 1.0 : -1.0) * pick[i % 4];
  }
  std::vector<double> finite_any = any;
  for (double& x : finite_any) {
    if (!std::isfinite(static_cast<float>(x))) x = 0.25;
  }
  for (NumberFormat f : kAllNumberFormats) {
    for (Rounding r : kRoundings) {
      for (const std::vector<double>* input : {&any, &near, &finite_any}) {
        std::vector<float> as_float(input->begin(), input->end());
        const int want_k = scalar_round_tensor(as_float, f, r, kStream);
        const std::vector<double> want(as_float.begin(), as_float.end());
        std::vector<double> got = *input;
        EXPECT_EQ(round_tensor(got.data(), static_cast<std::int64_t>(got.size()), f, r, kStream),
                  want_k)
            << label(f, r);
        EXPECT_TRUE(same_bits(*input, got, want)) << label(f, r);
      }
    }
  }
}

TEST(RoundTensor, Fp32AndEmptyTensorsAreLeftAlone) {
  Rng rng = testing::rng_for_test();
  const std::vector<float> input = random_patterns(rng, 1000);
  std::vector<float> v = input;
  EXPECT_EQ(round_tensor(v.data(), 1000, NumberFormat::kFp32, Rounding::kStochastic, kStream), 0);
  EXPECT_EQ(std::memcmp(v.data(), input.data(), sizeof(float) * v.size()), 0);
  for (NumberFormat f : kAllNumberFormats) {
    EXPECT_EQ(round_tensor(v.data(), 0, f, Rounding::kNearestEven, kStream), 0);
    EXPECT_EQ(round_tensor(static_cast<double*>(nullptr), 0, f, Rounding::kNearestEven, kStream),
              0);
  }
}

}  // namespace
}  // namespace lpsim::ops
