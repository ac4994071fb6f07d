#pragma once
// Rounding a whole tensor to a number format (ARCHITECTURE.md §2d), element for element
// bit-identical to the scalar library (workloads/ops/numerics.h), in two streaming passes that
// the compiler vectorises (the amax reduction, then the rounding) and that parallel.h spreads
// over threads.
//
// Contract: for every input (NaN, ±inf, ±0, fp32 subnormals, ties, overflow, saturation) and
// every thread count, round_tensor leaves data[i] bit for bit equal to
//   fp32     data[i] (unchanged);
//   bf16     round_to(data[i], f, r, bits_i);
//   fp16, fp8_e4m3, fp8_e5m2 (scaled)
//            unscale(round_scaled(data[i], k, f, r, bits_i), k), k = scale_exponent(amax, f),
// with bits_i = rounding_bits(stream.seed, stream.tensor, i, stream.minibatch), read only under
// kStochastic. amax is the largest |data[i]|, and NaN when any value is NaN (the maximum that
// propagates NaN, as IEEE 754-2019's maximum does), so a NaN or an infinity in a tensor gives
// k = 0 (scale_exponent's answer for a non-finite amax). NaN: the scaled formats give the input
// NaN made quiet (std::ldexp quiets a signalling NaN), bf16 gives it unchanged (round_to).
// Beware fp32's range at the ends of the scale: unscale is exact only while the result is a
// normal float, so for amax within a few ulps of FLT_MAX a value can come back as ±inf (fp16,
// amax FLT_MAX: k = −113, the stored 2^15 reads back as 2^128), and for amax below 2^-126 the
// values read back rounded to fp32's subnormals; both as the scalar library does.

#include <cstdint>

#include "workloads/ops/numerics.h"

namespace lpsim::ops {

// Where a tensor's stochastic-rounding bits come from (ARCHITECTURE.md §2d): element i of the
// tensor draws rounding_bits(seed, tensor, i, minibatch).
struct RoundingStream {
  std::uint64_t seed = 0;
  std::uint64_t tensor = 0;
  std::uint64_t minibatch = 0;
};

// Rounds data[0, n) in place to format f, as stored and read back (§2d): for a scaled format
// (format_info(f).scaled: fp16, fp8_e4m3, fp8_e5m2) the tensor's power-of-two scale
// k = scale_exponent(amax over the n values, f) is applied first: each value becomes
// unscale(round_scaled(x, k, f, r, bits), k); for fp32 nothing changes; for bf16 no scaling.
// Returns k (0 when not scaled). Element for element bit-identical to the scalar library, for
// every input (NaN, ±inf, ±0, subnormals, ties, overflow, saturation), whatever the thread count.
int round_tensor(float* data, std::int64_t n, NumberFormat f, Rounding r,
                 const RoundingStream& stream);
// The same for a double tensor (the gradient-check engine): each value is first rounded to
// float (nearest even), then as above, and widened back.
int round_tensor(double* data, std::int64_t n, NumberFormat f, Rounding r,
                 const RoundingStream& stream);

// The rounding pass alone with a given scale exponent k and the random bits given per element
// (random_bits[i], read only under kStochastic; may be null under kNearestEven): data[i]
// becomes unscale(round_scaled(data[i], k, f, r, random_bits[i]), k) for a scaled format,
// round_to(data[i], f, r, random_bits[i]) for bf16, and stays for fp32. The same element code
// as round_tensor, on one thread; lets a test put the random bits at a rounding threshold.
// k must be one scale_exponent can return for f (in [−120, 164]), or 0.
void round_values(float* data, std::int64_t n, NumberFormat f, Rounding r, int k,
                  const std::uint64_t* random_bits);

}  // namespace lpsim::ops
