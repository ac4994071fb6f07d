#include "workloads/ops/numerics.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include "tests/unit/workloads/ops/ops_test_util.h"

namespace lpsim::ops {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNan = std::numeric_limits<float>::quiet_NaN();

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

float rne(float x, NumberFormat f) { return round_to(x, f, Rounding::kNearestEven, 0); }

// Bitwise equality, so that the sign of zero counts.
::testing::AssertionResult same_float(float got, float want) {
  if (to_bits(got) == to_bits(want) || (std::isnan(got) && std::isnan(want))) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "got " << std::hexfloat << got << " (0x" << std::hex
                                       << to_bits(got) << "), want " << std::hexfloat << want;
}

// The OCP 8-bit floating point specification (v1.0), from the fields, in double.
double ocp_e4m3(int code) {
  const int s = code >> 7, e = (code >> 3) & 15, m = code & 7;
  if (e == 15 && m == 7) return std::numeric_limits<double>::quiet_NaN();  // S.1111.111 only
  const double v = e == 0 ? std::pow(2.0, -6) * (m / 8.0) : std::pow(2.0, e - 7) * (1 + m / 8.0);
  return s != 0 ? -v : v;
}

double ocp_e5m2(int code) {
  const int s = code >> 7, e = (code >> 2) & 31, m = code & 3;
  double v = 0.0;
  if (e == 31) {
    v = m == 0 ? std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN();
  } else {
    v = e == 0 ? std::pow(2.0, -14) * (m / 4.0) : std::pow(2.0, e - 15) * (1 + m / 4.0);
  }
  return s != 0 ? -v : v;
}

// IEEE binary16 from the fields.
double ieee_fp16(int code) {
  const int s = code >> 15, e = (code >> 10) & 31, m = code & 1023;
  double v = 0.0;
  if (e == 31) {
    v = m == 0 ? std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN();
  } else {
    v = e == 0 ? std::pow(2.0, -14) * (m / 1024.0) : std::pow(2.0, e - 15) * (1 + m / 1024.0);
  }
  return s != 0 ? -v : v;
}

TEST(NumberFormatTable, NamesParseAndParametersAreSection2ds) {
  const char* names[] = {"fp32", "fp16", "bf16", "fp8_e4m3", "fp8_e5m2"};
  const int significand[] = {24, 11, 8, 4, 3};
  int i = 0;
  for (NumberFormat f : kAllNumberFormats) {
    EXPECT_EQ(format_name(f), names[i]);
    EXPECT_EQ(parse_format(names[i]), f);
    EXPECT_EQ(format_info(f).significand_bits, significand[i]);
    const NumberFormatInfo& fi = format_info(f);
    EXPECT_EQ(fi.total_bits, 1 + fi.exponent_bits + fi.significand_bits - 1);
    EXPECT_EQ(fi.min_exponent, 1 - fi.bias);
    EXPECT_EQ(fi.smallest_normal, std::ldexp(1.0f, fi.min_exponent));
    EXPECT_EQ(fi.smallest_subnormal, std::ldexp(1.0f, fi.min_exponent - fi.significand_bits + 1));
    ++i;
  }
  EXPECT_FALSE(parse_format("fp8").has_value());
  EXPECT_FALSE(parse_format("FP16").has_value());
  EXPECT_EQ(parse_rounding("nearest_even"), Rounding::kNearestEven);
  EXPECT_EQ(parse_rounding("stochastic"), Rounding::kStochastic);
  EXPECT_FALSE(parse_rounding("nearest").has_value());
  EXPECT_EQ(format_info(NumberFormat::kFp16).largest_finite, 65504.0f);
  EXPECT_EQ(static_cast<double>(format_info(NumberFormat::kBf16).largest_finite),
            (2.0 - std::pow(2.0, -7)) * std::pow(2.0, 127));  // ≈ 3.3895e38
  EXPECT_EQ(format_info(NumberFormat::kFp8E4m3).largest_finite, 448.0f);
  EXPECT_EQ(format_info(NumberFormat::kFp8E5m2).largest_finite, 57344.0f);
  EXPECT_EQ(format_info(NumberFormat::kFp16).smallest_subnormal, std::ldexp(1.0f, -24));
  EXPECT_EQ(format_info(NumberFormat::kBf16).smallest_subnormal, std::ldexp(1.0f, -133));
  EXPECT_EQ(format_info(NumberFormat::kFp8E4m3).smallest_subnormal, std::ldexp(1.0f, -9));
  EXPECT_EQ(format_info(NumberFormat::kFp8E5m2).smallest_subnormal, std::ldexp(1.0f, -16));
}

// All 256 codes of each 8-bit format against the OCP specification's fields; every non-NaN,
// finite code encodes back to itself (both zeros included).
TEST(Ocp8BitCodes, EveryE4m3CodeDecodesAsTheSpecificationSaysAndEncodesBack) {
  int nans = 0;
  for (int c = 0; c < 256; ++c) {
    const double want = ocp_e4m3(c);
    const float got = decode_e4m3(static_cast<std::uint8_t>(c));
    if (std::isnan(want)) {
      ++nans;
      EXPECT_TRUE(std::isnan(got)) << c;
      EXPECT_EQ(encode_e4m3(got), c & 0x80 ? 0xFF : 0x7F) << c;
      continue;
    }
    EXPECT_EQ(static_cast<double>(got), want) << c;
    EXPECT_EQ(std::signbit(got), (c & 0x80) != 0) << c;
    EXPECT_EQ(encode_e4m3(got), c) << c;
  }
  EXPECT_EQ(nans, 2);
  EXPECT_EQ(decode_e4m3(0x7E), 448.0f);
  EXPECT_EQ(decode_e4m3(0xFE), -448.0f);
  EXPECT_EQ(decode_e4m3(0x01), std::ldexp(1.0f, -9));
  EXPECT_EQ(decode_e4m3(0x78), 256.0f);  // S.1111.000 is a normal number: no infinities
}

TEST(Ocp8BitCodes, EveryE5m2CodeDecodesAsTheSpecificationSaysAndEncodesBack) {
  int nans = 0, infs = 0;
  for (int c = 0; c < 256; ++c) {
    const double want = ocp_e5m2(c);
    const float got = decode_e5m2(static_cast<std::uint8_t>(c));
    if (std::isnan(want)) {
      ++nans;
      EXPECT_TRUE(std::isnan(got)) << c;
      EXPECT_EQ(encode_e5m2(got), c & 0x80 ? 0xFE : 0x7E) << c;
      continue;
    }
    EXPECT_EQ(static_cast<double>(got), want) << c;
    EXPECT_EQ(std::signbit(got), (c & 0x80) != 0) << c;
    if (std::isinf(want)) {
      // Saturating conversion: ±inf encodes as ±largest finite (0x7B / 0xFB).
      ++infs;
      EXPECT_EQ(encode_e5m2(got), c & 0x80 ? 0xFB : 0x7B) << c;
      continue;
    }
    EXPECT_EQ(encode_e5m2(got), c) << c;
  }
  EXPECT_EQ(nans, 6);
  EXPECT_EQ(infs, 2);
  EXPECT_EQ(decode_e5m2(0x7B), 57344.0f);
  EXPECT_EQ(decode_e5m2(0x7C), kInf);
  EXPECT_EQ(decode_e5m2(0xFC), -kInf);
  EXPECT_EQ(decode_e5m2(0x01), std::ldexp(1.0f, -16));
}

TEST(SixteenBitCodes, EveryFp16AndBf16CodeDecodesAndEncodesBack) {
  for (int c = 0; c < 65536; ++c) {
    const auto code = static_cast<std::uint16_t>(c);
    const double want = ieee_fp16(c);
    const float h = decode_fp16(code);
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(h)) << c;
    } else {
      ASSERT_EQ(static_cast<double>(h), want) << c;
      ASSERT_EQ(std::signbit(h), c >= 0x8000) << c;
      ASSERT_EQ(encode_fp16(h), code) << c;
      ASSERT_TRUE(same_float(rne(h, NumberFormat::kFp16), h)) << c;
    }
    const float b = decode_bf16(code);
    ASSERT_EQ(to_bits(b), static_cast<std::uint32_t>(c) << 16) << c;
    if (!std::isnan(b)) {
      ASSERT_EQ(encode_bf16(b), code) << c;
    } else {
      EXPECT_EQ(encode_bf16(b), c >= 0x8000 ? 0xFFC0 : 0x7FC0) << c;
    }
  }
}

struct Edge {
  NumberFormat format;
  float x;
  float want;
  const char* why;
};

// Hand-computed: each value is written from its binary expansion.
TEST(NearestEvenEdges, HandComputedTiesMidpointsOverflowSubnormalsAndSpecials) {
  using F = NumberFormat;
  const float p = 1.0f;
  const Edge edges[] = {
      // fp16: 10 stored mantissa bits, ulp(1) = 2^-10.
      {F::kFp16, p + 0x1p-11f, p, "tie at 1 goes to the even 1"},
      {F::kFp16, p + 3 * 0x1p-11f, p + 0x1p-9f, "tie 1+3·2^-11 goes to even 1+2^-9"},
      {F::kFp16, p + 0x1p-11f + 0x1p-23f, p + 0x1p-10f, "just above the midpoint"},
      {F::kFp16, p + 0x1p-11f - 0x1p-23f, p, "just below the midpoint"},
      {F::kFp16, 1024.5f, 1024.0f, "tie at 2^10 to even"},
      {F::kFp16, 1025.5f, 1026.0f, "tie at 2^10 to even, up"},
      {F::kFp16, -1025.5f, -1026.0f, "negative tie"},
      {F::kFp16, 65504.0f, 65504.0f, "largest finite"},
      {F::kFp16, 65519.99609375f, 65504.0f, "just below the overflow midpoint 65520"},
      {F::kFp16, 65520.0f, kInf, "the midpoint 65520 rounds to 2^16: overflow"},
      {F::kFp16, -65520.0f, -kInf, "negative overflow"},
      {F::kFp16, 1e10f, kInf, "far above"},
      {F::kFp16, 0x1p-24f, 0x1p-24f, "smallest subnormal"},
      {F::kFp16, 0x1p-25f, 0.0f, "half the smallest subnormal ties to 0"},
      {F::kFp16, -0x1p-25f, -0.0f, "negative half ties to -0"},
      {F::kFp16, 0x1p-25f + 0x1p-40f, 0x1p-24f, "just above half the smallest subnormal"},
      {F::kFp16, 3 * 0x1p-25f, 0x1p-23f, "subnormal tie goes to the even 2·2^-24"},
      {F::kFp16, 0x1p-14f - 0x1p-25f, 0x1p-14f, "tie below the smallest normal goes up"},
      {F::kFp16, 1e-30f, 0.0f, "far below"},
      {F::kFp16, 0x1p-140f, 0.0f, "fp32 subnormal"},
      // bf16: 7 stored mantissa bits, ulp(1) = 2^-7.
      {F::kBf16, p + 0x1p-8f, p, "tie at 1 to even"},
      {F::kBf16, p + 3 * 0x1p-8f, p + 0x1p-6f, "tie to even, up"},
      {F::kBf16, p + 0x1p-8f + 0x1p-23f, p + 0x1p-7f, "just above the midpoint"},
      {F::kBf16, 0x1.01p100f, 0x1.0p100f, "tie at 2^100 to even"},
      {F::kBf16, -0x1.03p-100f, -0x1.04p-100f, "negative tie at 2^-100, to even"},
      {F::kBf16, from_bits(0x7F7F7FFF), from_bits(0x7F7F0000), "below the overflow midpoint"},
      {F::kBf16, from_bits(0x7F7F8000), kInf, "overflow midpoint: rounds to 2^128"},
      {F::kBf16, std::numeric_limits<float>::max(), kInf, "FLT_MAX overflows"},
      {F::kBf16, 0x1p-133f, 0x1p-133f, "smallest subnormal"},
      {F::kBf16, 0x1p-134f, 0.0f, "half of it ties to 0"},
      {F::kBf16, 3 * 0x1p-134f, 0x1p-132f, "subnormal tie to even"},
      {F::kBf16, 0x1p-149f, 0.0f, "fp32's smallest subnormal"},
      // e4m3: 3 stored mantissa bits, bias 7, largest 448 = 1.75·2^8, smallest 2^-9.
      {F::kFp8E4m3, p + 0x1p-4f, p, "tie at 1 to even"},
      {F::kFp8E4m3, p + 3 * 0x1p-4f, 1.25f, "tie to even, up"},
      {F::kFp8E4m3, 272.0f, 256.0f, "tie at 2^8 to even 256"},
      {F::kFp8E4m3, 304.0f, 320.0f, "tie between 288 and 320 to even 320"},
      {F::kFp8E4m3, 448.0f, 448.0f, "largest finite"},
      {F::kFp8E4m3, 463.99996948f, 448.0f, "just below 464"},
      {F::kFp8E4m3, 464.0f, 448.0f, "midpoint to 480 saturates"},
      {F::kFp8E4m3, 1e30f, 448.0f, "saturates"},
      {F::kFp8E4m3, -1e30f, -448.0f, "saturates negative"},
      {F::kFp8E4m3, kInf, 448.0f, "inf saturates (OCP saturating conversion)"},
      {F::kFp8E4m3, -kInf, -448.0f, "-inf saturates"},
      {F::kFp8E4m3, 0x1p-9f, 0x1p-9f, "smallest subnormal"},
      {F::kFp8E4m3, 0x1p-10f, 0.0f, "half of it ties to 0"},
      {F::kFp8E4m3, -0x1p-10f, -0.0f, "negative half ties to -0"},
      {F::kFp8E4m3, 0x1p-10f + 0x1p-30f, 0x1p-9f, "just above half"},
      {F::kFp8E4m3, 3 * 0x1p-10f, 0x1p-8f, "subnormal tie to even"},
      {F::kFp8E4m3, 0x1p-6f - 0x1p-10f, 0x1p-6f, "tie below the smallest normal goes up"},
      // e5m2: 2 stored mantissa bits, bias 15, largest 57344 = 1.75·2^15, smallest 2^-16.
      {F::kFp8E5m2, p + 0x1p-3f, p, "tie at 1 to even"},
      {F::kFp8E5m2, p + 3 * 0x1p-3f, 1.5f, "tie to even, up"},
      {F::kFp8E5m2, 57344.0f, 57344.0f, "largest finite"},
      {F::kFp8E5m2, 61440.0f, 57344.0f, "midpoint to 65536 saturates"},
      {F::kFp8E5m2, 1e30f, 57344.0f, "saturates"},
      {F::kFp8E5m2, kInf, 57344.0f, "inf saturates (OCP saturating conversion)"},
      {F::kFp8E5m2, -kInf, -57344.0f, "-inf saturates"},
      {F::kFp8E5m2, 0x1p-16f, 0x1p-16f, "smallest subnormal"},
      {F::kFp8E5m2, 0x1p-17f, 0.0f, "half of it ties to 0"},
      {F::kFp8E5m2, 3 * 0x1p-17f, 0x1p-15f, "subnormal tie to even"},
      {F::kFp8E5m2, -0x1p-17f - 0x1p-40f, -0x1p-16f, "negative, just above half"},
      // Every format: zeros and infinities.
      {F::kFp16, 0.0f, 0.0f, "+0"},
      {F::kFp16, -0.0f, -0.0f, "-0 keeps its sign"},
      {F::kBf16, -0.0f, -0.0f, "-0 keeps its sign"},
      {F::kFp8E4m3, -0.0f, -0.0f, "-0 keeps its sign"},
      {F::kFp8E5m2, -0.0f, -0.0f, "-0 keeps its sign"},
      {F::kFp16, kInf, kInf, "inf stays inf"},
      {F::kFp16, -kInf, -kInf, "-inf stays -inf"},
      {F::kBf16, -kInf, -kInf, "-inf stays -inf"},
      {F::kFp32, 0.1f, 0.1f, "fp32 unchanged"},
  };
  for (const Edge& e : edges) {
    EXPECT_TRUE(same_float(rne(e.x, e.format), e.want))
        << format_name(e.format) << " " << std::hexfloat << e.x << ": " << e.why;
    // Stochastic rounding keeps representable values and the out-of-range rule.
    EXPECT_TRUE(same_float(round_to(e.want, e.format, Rounding::kStochastic, ~0ULL), e.want))
        << format_name(e.format) << " " << e.want;
  }
  for (NumberFormat f : kAllNumberFormats) {
    EXPECT_TRUE(std::isnan(rne(kNan, f))) << format_name(f);
    EXPECT_TRUE(std::isnan(round_to(-kNan, f, Rounding::kStochastic, 12345))) << format_name(f);
  }
  EXPECT_EQ(encode_fp16(kNan), 0x7E00);
  EXPECT_EQ(encode_fp16(-kNan), 0xFE00);
  EXPECT_EQ(encode_bf16(kNan), 0x7FC0);
  EXPECT_EQ(encode_e4m3(kNan), 0x7F);
  EXPECT_EQ(encode_e5m2(-kNan), 0xFE);
  EXPECT_EQ(encode_e4m3(-0.0f), 0x80);
  EXPECT_EQ(encode_e5m2(-0.0f), 0x80);
  EXPECT_EQ(encode_fp16(-0.0f), 0x8000);
  EXPECT_EQ(encode_fp16(65520.0f), 0x7C00);
  EXPECT_EQ(encode_e4m3(1e9f), 0x7E);
  EXPECT_EQ(encode_e4m3(-1e9f), 0xFE);
  EXPECT_EQ(encode_e5m2(-1e9f), 0xFB);
  EXPECT_EQ(encode_e4m3(3 * 0x1p-10f), 0x02);
}

// The 8-bit formats against a brute-force reference: the nearest of the format's finite
// values (decoded by the OCP field formula above), a tie to the code with an even last bit,
// beyond the largest finite value the largest finite value (saturation), on random floats.
float nearest_by_search(float x, double (*ocp)(int), int largest_code) {
  const double a = std::fabs(static_cast<double>(x));
  int best = 0;
  for (int c = 1; c <= largest_code; ++c) {
    const double d = std::fabs(ocp(c) - a), db = std::fabs(ocp(best) - a);
    if (d < db || (d == db && (c & 1) == 0)) best = c;
  }
  const auto v = static_cast<float>(ocp(best));
  return std::signbit(x) ? -v : v;
}

TEST(Ocp8BitRounding, RandomValuesRoundToTheNearestCodeFoundBySearch) {
  Rng rng = testing::rng_for_test();
  for (int i = 0; i < 10'000; ++i) {
    // Exponents 2^-20 .. 2^20 with random significands, and exact ties (few low bits set).
    auto bits = static_cast<std::uint32_t>(rng.next_u64());
    bits = (bits & 0x807FFFFFu) | (static_cast<std::uint32_t>(107 + rng.uniform_int(41)) << 23);
    if (i % 3 == 0) bits &= ~0xFFFFFu;
    const float x = from_bits(bits);
    ASSERT_TRUE(same_float(rne(x, NumberFormat::kFp8E4m3), nearest_by_search(x, ocp_e4m3, 0x7E)))
        << std::hexfloat << x;
    ASSERT_TRUE(same_float(rne(x, NumberFormat::kFp8E5m2), nearest_by_search(x, ocp_e5m2, 0x7B)))
        << std::hexfloat << x;
  }
}

// bf16 is defined on the float's bits: round the top 16 bits to nearest even, NaN kept.
TEST(Bf16BitLevel, FourMillionRandomFloatPatternsMatchTheBitDefinition) {
  Rng rng = testing::rng_for_test();
  const int n = 4'000'000;
  int subnormals = 0;
  for (int i = 0; i < n; ++i) {
    const auto bits = static_cast<std::uint32_t>(rng.next_u64());
    const float x = from_bits(bits);
    if (std::isnan(x)) {
      ASSERT_TRUE(std::isnan(rne(x, NumberFormat::kBf16)));
      continue;
    }
    subnormals += (bits & 0x7F800000u) == 0 ? 1 : 0;
    const std::uint32_t want = (bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16;
    ASSERT_EQ(encode_bf16(x), want) << std::hex << bits;
    ASSERT_EQ(to_bits(rne(x, NumberFormat::kBf16)), want << 16) << std::hex << bits;
  }
  EXPECT_GT(subnormals, n / 300);  // uniform patterns: 1/256 of them are subnormal
}

// Random float32 patterns for the fp16 references: half uniform over all patterns, half with
// the exponent in fp16's range and around it (2^-37 .. 2^23), so that ties, subnormals and
// overflow are all well represented.
std::vector<std::uint32_t> fp16_inputs(int n) {
  Rng rng = testing::rng_for_test();
  std::vector<std::uint32_t> v;
  v.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    auto bits = static_cast<std::uint32_t>(rng.next_u64());
    if (i % 2 == 1) {
      const auto exponent = static_cast<std::uint32_t>(90 + rng.uniform_int(61));
      bits = (bits & 0x807FFFFFu) | (exponent << 23);
      if (i % 6 == 1) bits &= ~0xFFFu;  // low bits clear: many exact ties
    }
    v.push_back(bits);
  }
  return v;
}

std::string python() {
  return std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

// Runs numerics_reference.py MODE on the inputs; returns its uint16 codes, or nothing with
// *missing set when the script's module (numpy, torch) is not installed (its exit status 77).
std::vector<std::uint16_t> python_reference(const std::string& mode,
                                            const std::vector<std::uint32_t>& inputs,
                                            bool* missing) {
  const std::string dir =
      ::testing::TempDir() + "lpsim_numerics_" + mode + "_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  {
    std::ofstream out(dir + "/input.bin", std::ios::binary);
    out.write(reinterpret_cast<const char*>(inputs.data()),
              static_cast<std::streamsize>(inputs.size() * sizeof(std::uint32_t)));
  }
  const std::string script =
      std::string(LPSIM_SOURCE_DIR) + "/tests/unit/workloads/ops/numerics_reference.py";
  std::vector<std::uint16_t> codes(inputs.size());
  const int status = std::system((python() + " " + script + " " + mode + " " + dir).c_str());
  *missing = WIFEXITED(status) && WEXITSTATUS(status) == 77;
  if (status == 0) {
    std::ifstream in(dir + "/output.bin", std::ios::binary);
    in.read(reinterpret_cast<char*>(codes.data()),
            static_cast<std::streamsize>(codes.size() * sizeof(std::uint16_t)));
    if (!in) codes.clear();
  } else {
    codes.clear();
  }
  std::filesystem::remove_all(dir);
  return codes;
}

TEST(Fp16Reference, FourMillionRandomValuesMatchNumpyFloat16) {
  const std::vector<std::uint32_t> inputs = fp16_inputs(4'000'000);
  bool missing = false;
  const std::vector<std::uint16_t> want = python_reference("fp16", inputs, &missing);
  if (missing) GTEST_SKIP() << "python3-numpy is not installed";
  ASSERT_EQ(want.size(), inputs.size());
  int compared = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const float x = from_bits(inputs[i]);
    if (std::isnan(x)) {
      ASSERT_TRUE(std::isnan(decode_fp16(want[i])));
      continue;
    }
    ASSERT_EQ(encode_fp16(x), want[i]) << std::hex << inputs[i];
    ASSERT_TRUE(same_float(rne(x, NumberFormat::kFp16), decode_fp16(want[i])));
    ++compared;
  }
  std::cout << "  fp16 vs numpy.float16: " << compared << " values equal\n";
}

#if defined(__FLT16_MAX__)
TEST(Fp16Reference, FourMillionRandomValuesMatchTheCompilersFloat16) {
  const std::vector<std::uint32_t> inputs = fp16_inputs(4'000'000);
  for (std::uint32_t bits : inputs) {
    const float x = from_bits(bits);
    const auto h = static_cast<_Float16>(x);  // IEEE binary16, round to nearest even
    std::uint16_t want = 0;
    std::memcpy(&want, &h, sizeof want);
    if (std::isnan(x)) continue;
    ASSERT_EQ(encode_fp16(x), want) << std::hex << bits;
  }
}
#endif

TEST(Bf16Reference, RandomValuesMatchTorchBfloat16) {
  std::vector<std::uint32_t> inputs = fp16_inputs(8192);
  for (std::uint32_t b : {0x7F7F7FFFu, 0x7F7F8000u, 0x00008000u, 0x00018000u, 0x3F808000u,
                          0x3F818000u, 0x80000000u, 0x7F800000u, 0xFF800000u}) {
    inputs.push_back(b);
  }
  bool missing = false;
  const std::vector<std::uint16_t> want = python_reference("bf16", inputs, &missing);
  if (missing) GTEST_SKIP() << "python3-torch is not installed";
  ASSERT_EQ(want.size(), inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const float x = from_bits(inputs[i]);
    if (std::isnan(x)) continue;
    ASSERT_EQ(encode_bf16(x), want[i]) << std::hex << inputs[i];
  }
  std::cout << "  bf16 vs torch.bfloat16: " << inputs.size() << " values\n";
}

// The stochastic decision, pinned: bf16 drops 16 bits; 1 + 2^-9 has rem = 2^14, so it goes up
// iff random_bits < 2^14·2^48 = 2^62. A negative value moves its magnitude the same way.
TEST(StochasticRounding, DecisionIsTheRandomBitsAgainstTheDroppedFraction) {
  const float x = 1.0f + 0x1p-9f;
  const std::uint64_t t = 1ULL << 62;
  EXPECT_EQ(round_to(x, NumberFormat::kBf16, Rounding::kStochastic, t - 1), 1.0f + 0x1p-7f);
  EXPECT_EQ(round_to(x, NumberFormat::kBf16, Rounding::kStochastic, t), 1.0f);
  EXPECT_EQ(round_to(-x, NumberFormat::kBf16, Rounding::kStochastic, t - 1), -1.0f - 0x1p-7f);
  EXPECT_EQ(round_to(-x, NumberFormat::kBf16, Rounding::kStochastic, t), -1.0f);
  EXPECT_EQ(round_to(x, NumberFormat::kBf16, Rounding::kStochastic, 0), 1.0f + 0x1p-7f);
  EXPECT_EQ(round_to(x, NumberFormat::kBf16, Rounding::kStochastic, ~0ULL), 1.0f);
  // 2^-60 under e4m3 drops 74 bits (2^-60 = 2^23 units of 2^-83, quantum 2^-9): the threshold
  // is 2^23 truncated to 64 bits, 2^23 >> 10 = 2^13, so probability 2^-51 = 2^-60 / 2^-9.
  EXPECT_EQ(round_to(0x1p-60f, NumberFormat::kFp8E4m3, Rounding::kStochastic, (1 << 13) - 1),
            0x1p-9f);
  EXPECT_EQ(round_to(0x1p-60f, NumberFormat::kFp8E4m3, Rounding::kStochastic, 1 << 13), 0.0f);
  // 2^-149 drops 140 bits: its probability 2^-140 truncates to 0 (below 2^-64).
  EXPECT_EQ(round_to(0x1p-149f, NumberFormat::kFp8E4m3, Rounding::kStochastic, 0), 0.0f);
  // Beyond the largest finite: fp16's upper neighbour is inf, e4m3 saturates.
  EXPECT_EQ(round_to(65530.0f, NumberFormat::kFp16, Rounding::kStochastic, 0), kInf);
  EXPECT_EQ(round_to(65530.0f, NumberFormat::kFp16, Rounding::kStochastic, ~0ULL), 65504.0f);
  EXPECT_EQ(round_to(-470.0f, NumberFormat::kFp8E4m3, Rounding::kStochastic, 0), -448.0f);
}

struct Between {
  NumberFormat format;
  float x, lower, upper;  // lower < x < upper, neighbours in the format
};

// Unbiased: over N = 200,000 draws (element i of one tensor), the mean of round_to(x) is
// within 5 standard errors of x, the standard error being (upper − lower)·sqrt(p(1−p)/N) with
// p = (x − lower)/(upper − lower); every result is one of the two neighbours.
TEST(StochasticRounding, MeanOfTwoHundredThousandDrawsIsWithinFiveStandardErrors) {
  using F = NumberFormat;
  const Between cases[] = {
      {F::kBf16, 1.0f + 0x1p-9f, 1.0f, 1.0f + 0x1p-7f},         // p = 1/4
      {F::kBf16, -1.0f - 3 * 0x1p-9f, -1.0f - 0x1p-7f, -1.0f},  // p = 1/4
      {F::kBf16, 1.0f + 0x1p-20f, 1.0f, 1.0f + 0x1p-7f},        // p = 2^-13
      {F::kFp16, 0x1p-26f, 0.0f, 0x1p-24f},                     // subnormal, 1/4
      {F::kFp16, -3.0f - 0x1p-12f, -3.0f - 0x1p-9f, -3.0f},     // p = 7/8
      {F::kFp16, 1.0f + 0x1p-23f, 1.0f, 1.0f + 0x1p-10f},       // p = 2^-13
      {F::kFp8E4m3, 300.0f, 288.0f, 320.0f},                    // p = 3/8
      {F::kFp8E4m3, -3 * 0x1p-11f, -0x1p-9f, 0.0f},             // p = 1/4
      {F::kFp8E5m2, 50000.0f, 49152.0f, 57344.0f},              // p ≈ 0.1035
      {F::kFp8E5m2, 1.1f, 1.0f, 1.25f},                         // p ≈ 0.4
  };
  const int n = 200'000;
  for (const Between& c : cases) {
    const double p =
        (static_cast<double>(c.x) - c.lower) / (static_cast<double>(c.upper) - c.lower);
    double sum = 0.0;
    int ups = 0;
    for (int i = 0; i < n; ++i) {
      const float r = round_to(c.x, c.format, Rounding::kStochastic,
                               rounding_bits(7, 3, static_cast<std::uint64_t>(i), 11));
      ASSERT_TRUE(r == c.lower || r == c.upper)
          << format_name(c.format) << " " << c.x << " -> " << r;
      ups += r == c.upper ? 1 : 0;
      sum += r;
    }
    const double mean = sum / n;
    const double se = (static_cast<double>(c.upper) - c.lower) * std::sqrt(p * (1 - p) / n);
    EXPECT_LE(std::fabs(mean - c.x), 5 * se)
        << format_name(c.format) << " " << c.x << ": p " << p << ", ups " << ups << "/" << n;
  }
}

TEST(StochasticRounding, RepresentableValuesNeverMove) {
  Rng rng = testing::rng_for_test();
  for (NumberFormat f :
       {NumberFormat::kFp16, NumberFormat::kBf16, NumberFormat::kFp8E4m3, NumberFormat::kFp8E5m2}) {
    const int codes = 1 << format_info(f).total_bits;
    for (int c = 0; c < codes; ++c) {
      const float v = decode(static_cast<std::uint32_t>(c), f);
      if (std::isnan(v) || std::isinf(v)) continue;
      for (int k = 0; k < 4; ++k) {
        ASSERT_TRUE(same_float(round_to(v, f, Rounding::kStochastic, rng.next_u64()), v))
            << format_name(f) << " " << c;
      }
    }
  }
}

TEST(StochasticRounding, CountsRepeatBitForBit) {
  // Pinned outputs (computed by an independent Python splitmix64): a change to the generator
  // changes every stochastic run.
  EXPECT_EQ(rounding_bits(0, 0, 0, 0), 2391539541053276776ULL);
  EXPECT_EQ(rounding_bits(1, 2, 3, 4), 15374388949593934587ULL);
  EXPECT_NE(rounding_bits(1, 0, 0, 0), rounding_bits(0, 0, 0, 0));
  EXPECT_NE(rounding_bits(0, 1, 0, 0), rounding_bits(0, 0, 1, 0));
  EXPECT_NE(rounding_bits(0, 0, 1, 0), rounding_bits(0, 0, 0, 1));
  // Each of the 64 bits is set about half the time over 100,000 elements (5 sd ≈ 0.008).
  const int n = 100'000;
  int set[64] = {};
  for (int i = 0; i < n; ++i) {
    const std::uint64_t b = rounding_bits(42, 5, static_cast<std::uint64_t>(i), 9);
    for (int j = 0; j < 64; ++j) set[j] += static_cast<int>((b >> j) & 1u);
    ASSERT_EQ(round_to(0.3f, NumberFormat::kFp8E4m3, Rounding::kStochastic, b),
              round_to(0.3f, NumberFormat::kFp8E4m3, Rounding::kStochastic,
                       rounding_bits(42, 5, static_cast<std::uint64_t>(i), 9)));
  }
  for (int j = 0; j < 64; ++j) EXPECT_NEAR(set[j] / static_cast<double>(n), 0.5, 0.008) << j;
}

TEST(Scaling, ExponentIsFloorLog2OfLargestOverAmax) {
  using F = NumberFormat;
  EXPECT_EQ(scale_exponent(0.0f, F::kFp8E4m3), 0);
  EXPECT_EQ(scale_exponent(1.0f, F::kFp8E4m3), 8);   // 448/1 = 448: 2^8 = 256 ≤ 448 < 512
  EXPECT_EQ(scale_exponent(1.75f, F::kFp8E4m3), 8);  // 448/1.75 = 256 exactly
  EXPECT_EQ(scale_exponent(1.7500001f, F::kFp8E4m3), 7);
  EXPECT_EQ(scale_exponent(-448.0f, F::kFp8E4m3), 0);  // |amax| read
  EXPECT_EQ(scale_exponent(449.0f, F::kFp8E4m3), -1);
  EXPECT_EQ(scale_exponent(1e6f, F::kFp16), -4);  // 65504/1e6 ≈ 0.0655: 2^-4 = 0.0625
  EXPECT_EQ(scale_exponent(1.0f, F::kFp8E5m2), 15);
  EXPECT_EQ(scale_exponent(0x1p-149f, F::kFp8E4m3), 157);
  EXPECT_EQ(scale_exponent(1.0f, F::kBf16), 0);  // bf16 and fp32 are not scaled
  EXPECT_EQ(scale_exponent(1.0f, F::kFp32), 0);
  EXPECT_EQ(scale_exponent(kInf, F::kFp16), 0);
  // Against the definition on random amax: 2^k·amax ≤ largest < 2^(k+1)·amax, in double.
  Rng rng = testing::rng_for_test();
  for (int i = 0; i < 10'000; ++i) {
    const float amax = static_cast<float>(
        std::ldexp(rng.uniform(0.5, 1.0), static_cast<int>(rng.uniform_int(60)) - 30));
    for (F f : {F::kFp16, F::kFp8E4m3, F::kFp8E5m2}) {
      const int k = scale_exponent(amax, f);
      const double largest = format_info(f).largest_finite;
      ASSERT_LE(std::ldexp(static_cast<double>(amax), k), largest) << amax;
      ASSERT_GT(std::ldexp(static_cast<double>(amax), k + 1), largest) << amax;
    }
  }
  // Stored and read back: the amax element lands in range and comes back exactly scaled.
  const float amax = 3.1f;
  const int k = scale_exponent(amax, F::kFp8E4m3);
  const float stored = round_scaled(amax, k, F::kFp8E4m3);
  EXPECT_EQ(k, 7);            // 448/3.1 ≈ 144.5
  EXPECT_EQ(stored, 384.0f);  // 3.1·128 = 396.8, quantum 32 there
  EXPECT_EQ(unscale(stored, k), 3.0f);
}

}  // namespace
}  // namespace lpsim::ops
