#include "workloads/ops/numerics.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace lpsim::ops {
namespace {

constexpr NumberFormatInfo kFormats[] = {
    // name, bits, significand, exponent, bias, emin, largest, smallest normal, subnormal,
    // has_infinity, saturates, scaled
    {"fp32", 32, 24, 8, 127, -126, std::numeric_limits<float>::max(), 0x1p-126f, 0x1p-149f, true,
     false, false},
    {"fp16", 16, 11, 5, 15, -14, 65504.0f, 0x1p-14f, 0x1p-24f, true, false, true},
    {"bf16", 16, 8, 8, 127, -126, 0x1.fep127f, 0x1p-126f, 0x1p-133f, true, false, false},
    {"fp8_e4m3", 8, 4, 4, 7, -6, 448.0f, 0x1p-6f, 0x1p-9f, false, true, true},
    {"fp8_e5m2", 8, 3, 5, 15, -14, 57344.0f, 0x1p-14f, 0x1p-16f, true, true, true},
};

constexpr std::string_view kRoundingNames[] = {"nearest_even", "stochastic"};

std::uint32_t float_bits(float x) {
  std::uint32_t b = 0;
  std::memcpy(&b, &x, sizeof b);
  return b;
}

float bits_float(std::uint32_t b) {
  float x = 0.0f;
  std::memcpy(&x, &b, sizeof x);
  return x;
}

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

}  // namespace

const NumberFormatInfo& format_info(NumberFormat f) { return kFormats[static_cast<int>(f)]; }

std::string_view format_name(NumberFormat f) { return format_info(f).name; }

std::optional<NumberFormat> parse_format(std::string_view name) {
  for (NumberFormat f : kAllNumberFormats) {
    if (format_name(f) == name) return f;
  }
  return std::nullopt;
}

std::string_view rounding_name(Rounding r) { return kRoundingNames[static_cast<int>(r)]; }

std::optional<Rounding> parse_rounding(std::string_view name) {
  for (Rounding r : {Rounding::kNearestEven, Rounding::kStochastic}) {
    if (rounding_name(r) == name) return r;
  }
  return std::nullopt;
}

float round_to(float x, NumberFormat f, Rounding r, std::uint64_t random_bits) {
  if (f == NumberFormat::kFp32) return x;
  const NumberFormatInfo& fi = format_info(f);
  const std::uint32_t magnitude = float_bits(x) & 0x7FFFFFFFu;
  if (magnitude > 0x7F800000u) return x;  // NaN
  if (magnitude == 0x7F800000u) return fi.saturates ? std::copysign(fi.largest_finite, x) : x;
  if (magnitude == 0) return x;
  // |x| = significand · 2^(field − 150), the field of an fp32 subnormal read as 1.
  const int biased = static_cast<int>(magnitude >> 23);
  const int field = std::max(biased, 1);
  const std::uint64_t significand = (magnitude & 0x7FFFFFu) | (biased != 0 ? 0x800000u : 0u);
  // Significand bits dropped: the format's quantum at this binade, 2^(max(e, emin) − p + 1).
  const int dropped = (24 - fi.significand_bits) + std::max(0, fi.min_exponent + 127 - field);
  std::uint64_t kept = 0;
  bool up = false;
  if (dropped < 64) {
    kept = significand >> dropped;
    const std::uint64_t rem = significand & ((std::uint64_t{1} << dropped) - 1);
    if (r == Rounding::kNearestEven) {
      const std::uint64_t half = std::uint64_t{1} << (dropped - 1);
      up = rem > half || (rem == half && (kept & 1) != 0);
    } else {
      up = random_bits < (rem << (64 - dropped));
    }
  } else if (r == Rounding::kStochastic) {  // kept = 0; nearest: below half the quantum
    // The probability significand / 2^dropped in 64 bits (0 once the significand's 24 bits
    // all fall below them).
    const int below = dropped - 64;
    up = random_bits < (below >= 64 ? 0 : significand >> below);
  }
  float result = std::ldexp(static_cast<float>(kept + (up ? 1 : 0)), field - 150 + dropped);
  if (result > fi.largest_finite) {
    result = fi.saturates ? fi.largest_finite : std::numeric_limits<float>::infinity();
  }
  return std::copysign(result, x);
}

std::uint32_t encode(float x, NumberFormat f) {
  const NumberFormatInfo& fi = format_info(f);
  const std::uint32_t sign = (float_bits(x) >> 31) << (fi.total_bits - 1);
  const int mantissa_bits = fi.significand_bits - 1;
  const std::uint32_t exponent_ones = (1u << fi.exponent_bits) - 1;
  if (std::isnan(x)) {
    // Canonical quiet NaN: e4m3's only NaN is S.1111.111, the others set the top mantissa bit.
    const std::uint32_t nan_mantissa = f == NumberFormat::kFp8E4m3 ? 7u : 1u << (mantissa_bits - 1);
    return sign | (exponent_ones << mantissa_bits) | nan_mantissa;
  }
  const float v = round_to(x, f, Rounding::kNearestEven, 0);
  if (f == NumberFormat::kFp32) return float_bits(v);
  if (f == NumberFormat::kBf16) return float_bits(v) >> 16;  // bf16 is fp32's top half
  const float a = std::fabs(v);
  if (std::isinf(a)) return sign | (exponent_ones << mantissa_bits);
  if (a < fi.smallest_normal) {  // subnormal or zero: the mantissa counts smallest subnormals
    return sign | static_cast<std::uint32_t>(a / fi.smallest_subnormal);
  }
  const std::uint32_t b = float_bits(a);
  const std::uint32_t exponent = (b >> 23) - 127 + static_cast<std::uint32_t>(fi.bias);
  const std::uint32_t mantissa = (b & 0x7FFFFFu) >> (23 - mantissa_bits);
  return sign | (exponent << mantissa_bits) | mantissa;
}

float decode(std::uint32_t code, NumberFormat f) {
  if (f == NumberFormat::kFp32) return bits_float(code);
  if (f == NumberFormat::kBf16) return bits_float((code & 0xFFFFu) << 16);
  const NumberFormatInfo& fi = format_info(f);
  const int mantissa_bits = fi.significand_bits - 1;
  const std::uint32_t exponent_ones = (1u << fi.exponent_bits) - 1;
  const bool negative = ((code >> (fi.total_bits - 1)) & 1u) != 0;
  const std::uint32_t exponent = (code >> mantissa_bits) & exponent_ones;
  const std::uint32_t mantissa = code & ((1u << mantissa_bits) - 1);
  float magnitude = 0.0f;
  if (fi.has_infinity && exponent == exponent_ones) {
    magnitude = mantissa == 0 ? std::numeric_limits<float>::infinity()
                              : std::numeric_limits<float>::quiet_NaN();
  } else if (!fi.has_infinity && exponent == exponent_ones &&
             mantissa == (1u << mantissa_bits) - 1) {
    magnitude = std::numeric_limits<float>::quiet_NaN();
  } else if (exponent == 0) {
    magnitude = static_cast<float>(mantissa) * fi.smallest_subnormal;
  } else {
    magnitude = std::ldexp(static_cast<float>((1u << mantissa_bits) | mantissa),
                           static_cast<int>(exponent) - fi.bias - mantissa_bits);
  }
  return negative ? -magnitude : magnitude;
}

std::uint64_t rounding_bits(std::uint64_t seed, std::uint64_t tensor, std::uint64_t element,
                            std::uint64_t minibatch) {
  std::uint64_t h = splitmix64(seed);
  h = splitmix64(h ^ tensor);
  h = splitmix64(h ^ element);
  return splitmix64(h ^ minibatch);
}

int scale_exponent(float amax, NumberFormat f) {
  const NumberFormatInfo& fi = format_info(f);
  const float a = std::fabs(amax);
  if (!fi.scaled || a == 0.0f || !std::isfinite(a)) return 0;
  // largest = ml·2^el, a = ma·2^ea with ml, ma in [0.5, 1): largest/a = (ml/ma)·2^(el−ea),
  // ml/ma in (0.5, 2), so floor(log2) is el − ea, less one when ml < ma. Exact.
  int el = 0;
  int ea = 0;
  const float ml = std::frexp(fi.largest_finite, &el);
  const float ma = std::frexp(a, &ea);
  return el - ea - (ml < ma ? 1 : 0);
}

float round_scaled(float x, int k, NumberFormat f, Rounding r, std::uint64_t random_bits) {
  return round_to(std::ldexp(x, k), f, r, random_bits);
}

float unscale(float stored, int k) { return std::ldexp(stored, -k); }

std::string_view tensor_class_name(TensorClass c) {
  switch (c) {
    case TensorClass::kWeights:
      return "weights";
    case TensorClass::kActivations:
      return "activations";
    case TensorClass::kActivationGradients:
      return "activation_gradients";
    case TensorClass::kWeightGradients:
      return "weight_gradients";
    case TensorClass::kMaster:
      return "master";
    case TensorClass::kStash:
      return "stash";
    case TensorClass::kEma:
      return "ema";
    case TensorClass::kAccumulate:
      return "accumulate";
  }
  return "?";
}

bool Numerics::all_fp32() const {
  for (NumberFormat f : format) {
    if (f != NumberFormat::kFp32) return false;
  }
  return true;
}

}  // namespace lpsim::ops
