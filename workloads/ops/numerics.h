#pragma once
// The datapath's number formats (ARCHITECTURE.md §2d): their parameters, their codes, and the
// exact rounding of an fp32 value to each of them. Pure functions, no state.
//
// Contract: every value of fp16, bf16, fp8_e4m3 and fp8_e5m2 is a float, so round_to returns
// the rounded value as a float, exactly. Rounding, for a finite x of either sign, is done on
// the magnitude with the format's quantum at x's binade (gradual underflow: below the smallest
// normal the quantum is the smallest subnormal):
//   nearest_even  the nearer neighbour; a tie goes to the one with an even last significand bit
//                 (0 counts as even, so half the smallest subnormal goes to ±0);
//   stochastic    the neighbour toward +inf with probability (x − lower)/(upper − lower),
//                 decided in integer arithmetic: with d the number of dropped significand
//                 bits and rem their value, the magnitude goes up iff
//                 random_bits < rem·2^(64−d) (d ≤ 64; exact: probability rem/2^d, d ≤ 64
//                 random bits used, the top ones); for d > 64 (|x| below 2^-40 of the smallest
//                 subnormal) the threshold is rem truncated to 64 bits. Rounding the magnitude
//                 away from zero with probability rem/2^d is exactly "toward +inf with
//                 probability (x − lower)/(upper − lower)" for a negative x as well.
//                 A value of the format never moves.
// Out of range (the rounded magnitude above largest finite): fp16 and bf16 give ±inf (IEEE
// overflow under round-to-nearest-even: fp16 at 65520 and above, bf16 from 0x7F7F8000); the
// 8-bit formats saturate to ±largest finite, OCP's saturating conversion, which also maps
// ±inf to ±largest finite (so round_to(±inf, fp8_e5m2) is ±57344, not ±inf). NaN stays NaN
// (round_to returns its input; encode gives the format's canonical NaN with the input's sign).
// ±0 keeps its sign, and so does a value that rounds to zero.

#include <cstdint>
#include <optional>
#include <string_view>

namespace lpsim::ops {

enum class NumberFormat { kFp32, kFp16, kBf16, kFp8E4m3, kFp8E5m2 };
enum class Rounding { kNearestEven, kStochastic };

inline constexpr NumberFormat kAllNumberFormats[] = {NumberFormat::kFp32, NumberFormat::kFp16,
                                                     NumberFormat::kBf16, NumberFormat::kFp8E4m3,
                                                     NumberFormat::kFp8E5m2};

struct NumberFormatInfo {
  std::string_view name;     // config name: "fp32", "fp16", "bf16", "fp8_e4m3", "fp8_e5m2"
  int total_bits;            // 32, 16, 16, 8, 8
  int significand_bits;      // the implicit bit included: 24, 11, 8, 4, 3
  int exponent_bits;         // 8, 5, 8, 4, 5
  int bias;                  // 127, 15, 127, 7, 15
  int min_exponent;          // of the smallest normal, 1 − bias
  float largest_finite;      // FLT_MAX, 65504, 0x1.fep127 (≈3.3895e38), 448, 57344
  float smallest_normal;     // 2^-126, 2^-14, 2^-126, 2^-6, 2^-14
  float smallest_subnormal;  // 2^-149, 2^-24, 2^-133, 2^-9, 2^-16
  bool has_infinity;         // false for fp8_e4m3 only
  bool saturates;            // out of range → ±largest finite: the 8-bit formats
  bool scaled;               // per-tensor power-of-two scaling applies: fp16 and the 8-bit ones
};

const NumberFormatInfo& format_info(NumberFormat f);
std::string_view format_name(NumberFormat f);
std::optional<NumberFormat> parse_format(std::string_view name);
// "nearest_even", "stochastic".
std::string_view rounding_name(Rounding r);
std::optional<Rounding> parse_rounding(std::string_view name);

// x rounded to the format (see the contract above). fp32 returns x. random_bits is read only
// under kStochastic.
float round_to(float x, NumberFormat f, Rounding r = Rounding::kNearestEven,
               std::uint64_t random_bits = 0);

// Codes, the format's bit patterns in the low total_bits bits (fp32: the float's bits).
// encode(x) is the code of round_to(x, f, kNearestEven), so it saturates the 8-bit formats and
// maps ±inf to ±largest finite there; NaN gives the canonical quiet NaN with x's sign (fp16
// 0x7E00, bf16 0x7FC0, e4m3 0x7F, e5m2 0x7E, fp32 0x7FC00000). decode reads every code:
// e4m3's S.1111.111 is NaN (no infinities), e5m2's exponent 31 is ±inf (mantissa 0) or NaN.
std::uint32_t encode(float x, NumberFormat f);
float decode(std::uint32_t code, NumberFormat f);

inline std::uint16_t encode_fp16(float x) {
  return static_cast<std::uint16_t>(encode(x, NumberFormat::kFp16));
}
inline std::uint16_t encode_bf16(float x) {
  return static_cast<std::uint16_t>(encode(x, NumberFormat::kBf16));
}
inline std::uint8_t encode_e4m3(float x) {
  return static_cast<std::uint8_t>(encode(x, NumberFormat::kFp8E4m3));
}
inline std::uint8_t encode_e5m2(float x) {
  return static_cast<std::uint8_t>(encode(x, NumberFormat::kFp8E5m2));
}
inline float decode_fp16(std::uint16_t c) { return decode(c, NumberFormat::kFp16); }
inline float decode_bf16(std::uint16_t c) { return decode(c, NumberFormat::kBf16); }
inline float decode_e4m3(std::uint8_t c) { return decode(c, NumberFormat::kFp8E4m3); }
inline float decode_e5m2(std::uint8_t c) { return decode(c, NumberFormat::kFp8E5m2); }

// The random bits of one stochastic rounding: a counter-based hash of (run seed, tensor id,
// element index, minibatch), splitmix64's finaliser chained over the four, so a run repeats
// bit for bit whatever the order or threading of the rounding.
std::uint64_t rounding_bits(std::uint64_t seed, std::uint64_t tensor, std::uint64_t element,
                            std::uint64_t minibatch);

// Per-tensor power-of-two scaling: the exponent k of s = 2^k = 2^floor(log2(largest_finite /
// amax)), computed exactly (no division). 0 when amax is 0 or not finite, and for the formats
// that are not scaled (fp32, bf16). amax is read as |amax|.
int scale_exponent(float amax, NumberFormat f);
// x·2^k rounded to the format (the stored value), and that value read back as value·2^-k
// (exact while the result stays within fp32's normal range).
float round_scaled(float x, int k, NumberFormat f, Rounding r = Rounding::kNearestEven,
                   std::uint64_t random_bits = 0);
float unscale(float stored, int k);

// The tensor classes of §2d, each with its own format (hw.numerics).
enum class TensorClass {
  kWeights,              // the copy of W and b that F and Ba read
  kActivations,          // the network's input and every layer's output, as stored and sent
  kActivationGradients,  // the loss gradient and every layer's input gradient, as sent
  kWeightGradients,      // Bw's result, before the update reads it
  kMaster,               // master weights and optimizer state: fp32 or bf16
  kStash,                // a stash version, rounded when stored
  kEma,                  // the EMA tensor, rounded when stored
  kAccumulate,           // the MAC array's accumulator
};
inline constexpr int kTensorClasses = 8;
inline constexpr TensorClass kAllTensorClasses[kTensorClasses] = {TensorClass::kWeights,
                                                                  TensorClass::kActivations,
                                                                  TensorClass::kActivationGradients,
                                                                  TensorClass::kWeightGradients,
                                                                  TensorClass::kMaster,
                                                                  TensorClass::kStash,
                                                                  TensorClass::kEma,
                                                                  TensorClass::kAccumulate};
// "weights", "activations", "activation_gradients", "weight_gradients", "master", "stash",
// "ema", "accumulate".
std::string_view tensor_class_name(TensorClass c);

// A run's formats: one per class, and the rounding every class uses.
struct Numerics {
  NumberFormat format[kTensorClasses] = {
      NumberFormat::kFp32, NumberFormat::kFp32, NumberFormat::kFp32, NumberFormat::kFp32,
      NumberFormat::kFp32, NumberFormat::kFp32, NumberFormat::kFp32, NumberFormat::kFp32};
  Rounding rounding = Rounding::kNearestEven;
  // With `accumulate` narrower than fp32: the k of one fp32 partial sum (hw.pe.rows).
  std::int64_t accumulate_chunk = 32;
  NumberFormat of(TensorClass c) const { return format[static_cast<int>(c)]; }
  NumberFormat& of(TensorClass c) { return format[static_cast<int>(c)]; }
  bool fp32(TensorClass c) const { return of(c) == NumberFormat::kFp32; }
  bool all_fp32() const;
  // Bytes of one element of class c (its format's width).
  int bytes(TensorClass c) const { return format_info(of(c)).total_bits / 8; }
};

}  // namespace lpsim::ops
