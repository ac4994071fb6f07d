#include "workloads/ops/numerics_bulk.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "workloads/ops/parallel.h"

// How the element code below equals numerics.cpp's round_to, on a float's bits b (magnitude m,
// sign b ^ m; biased exponent e = m >> 23, read as 1 for an fp32 subnormal): round_to drops
// d = (24 − p) + max(0, emin + 127 − max(e, 1)) significand bits (p the format's significand
// bits, emin its smallest normal's exponent; bf16 always drops 16).
//  - d ≤ 23: within one binade m is (e << 23) | mantissa, linear in the significand, so rounding
//    the integer m at bit d is rounding the value at the format's quantum, and a carry out of
//    the mantissa lands in the exponent field as exactly the next binade's 1.0 (an fp32
//    subnormal, d = 16 for bf16, is linear across into the normals too). Nearest even adds
//    2^(d−1) − 1 plus the kept part's last bit (at d = 23 the implicit 1, not the exponent's
//    low bit) and clears the d low bits; stochastic adds one quantum when the draw says so.
//  - d ≥ 24 exactly when |x| < q, the format's smallest subnormal: kept = 0 and the result is 0
//    or q. Nearest even: q when |x| > q/2 (q/2 itself ties to the even 0), which is d = 24 with
//    a nonzero mantissa.
//  - Stochastic goes up iff random_bits < T = rem·2^(64−d) (rem the dropped bits' value, the
//    whole significand when d ≥ 24; for d > 64, T = rem >> (d − 64), 0 past 63), round_to's
//    threshold, compared in 32-bit halves: with T = T_hi·2^32 + T_lo and the bits hi·2^32 + lo,
//    bits < T iff hi < T_hi + (lo < T_lo) (T_hi + 1 cannot wrap: rem < 2^24, so T_hi ≤
//    2^32 − 2^8). d ≤ 32: T_hi = rem << (32 − d), T_lo = 0; 32 < d ≤ 64: T_hi = rem >> (d − 32),
//    T_lo = rem << (64 − d) mod 2^32; d > 64: T_hi = 0, T_lo = rem >> (d − 64).
//  - Then a magnitude above the largest finite becomes inf (fp16, bf16) or the largest (the
//    8-bit formats), which also maps ±inf as round_to does; NaN keeps its bits; the sign goes
//    back on (so ±0 and values rounded to 0 keep theirs).
// The scaled formats first multiply by 2^k and afterwards by 2^−k as std::ldexp does (the exact
// product rounded once, a signalling NaN quietened): each is one multiplication by a normal
// power of two, or two where 2^k is not a float (k > 127 in, k > 126 out), the first of them
// exact (scaling up never loses bits; scaling a format value, at least 2^−24, down by at
// most 2^−38 stays normal).
// Every shift count is clamped into [0, 31], so the lanes a select discards are defined too.

namespace lpsim::ops {
namespace {

// Per format: what the element code needs, as integers on fp32's bits. Constants, so that each
// format's loop is compiled with them (bf16's d is the constant 16). The tests compare every
// format against the scalar library, which reads numerics.cpp's table.
struct BulkFormat {
  std::uint32_t dropped_normal;  // 24 − p: significand bits dropped in the normal range
  std::int32_t emin_biased;      // emin + 127: fp32's exponent field of the smallest normal
  std::uint32_t largest_bits;    // bits of the largest finite
  std::uint32_t overflow_bits;   // what a larger magnitude becomes: inf or the largest
  std::uint32_t tiny_bits;       // bits of the smallest subnormal
  bool scaled;                   // per-tensor power-of-two scaling
};

constexpr BulkFormat bulk_format(NumberFormat f) {
  switch (f) {
    case NumberFormat::kFp32:  // never rounded here
      return {0, 1, 0x7F7FFFFFu, 0x7F800000u, 0x00000001u, false};
    case NumberFormat::kFp16:  // 65504, 2^-24
      return {13, 113, 0x477FE000u, 0x7F800000u, 0x33800000u, true};
    case NumberFormat::kBf16:  // 0x1.fep127, 2^-133 (an fp32 subnormal)
      return {16, 1, 0x7F7F0000u, 0x7F800000u, 0x00010000u, false};
    case NumberFormat::kFp8E4m3:  // 448 (saturates), 2^-9
      return {20, 121, 0x43E00000u, 0x43E00000u, 0x3B000000u, true};
    case NumberFormat::kFp8E5m2:  // 57344 (saturates), 2^-16
      return {21, 113, 0x47600000u, 0x47600000u, 0x37800000u, true};
  }
  return {};
}

// The powers of two of the scaling: x·pre1·pre2 = ldexp(x, k), v·post1·post2 = ldexp(v, −k).
struct BulkScale {
  float pre1 = 1.0f, pre2 = 1.0f, post1 = 1.0f, post2 = 1.0f;
};

BulkScale bulk_scale(int k) {
  const int in = std::min(k, 127);
  const int out = std::min(k, 126);
  BulkScale s;
  s.pre1 = std::ldexp(1.0f, in);
  s.pre2 = std::ldexp(1.0f, k - in);
  s.post1 = std::ldexp(1.0f, -(k - out));
  s.post2 = std::ldexp(1.0f, -out);
  return s;
}

std::uint32_t bulk_bits(float x) {
  std::uint32_t b = 0;
  std::memcpy(&b, &x, sizeof b);
  return b;
}

float bulk_float(std::uint32_t b) {
  float x = 0.0f;
  std::memcpy(&x, &b, sizeof x);
  return x;
}

// numerics.cpp's generator, its first two links (seed, tensor) done once per tensor.
inline std::uint64_t bulk_mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

struct HashBits {
  std::uint64_t tensor_hash = 0;  // mix(mix(seed) ^ tensor)
  std::uint64_t minibatch = 0;
  std::uint64_t first = 0;  // the element index of data[0] of the run
  std::uint64_t operator()(std::int64_t i) const {
    return bulk_mix(bulk_mix(tensor_hash ^ (first + static_cast<std::uint64_t>(i))) ^ minibatch);
  }
};

struct ArrayBits {
  const std::uint64_t* bits = nullptr;
  std::uint64_t operator()(std::int64_t i) const { return bits[i]; }
};

struct NoBits {
  std::uint64_t operator()(std::int64_t) const { return 0; }
};

// round_to on the bits (see the top of the file). Straight-line selects, no branch.
template <NumberFormat F, Rounding R>
inline std::uint32_t round_element(std::uint32_t b, std::uint64_t random) {
  constexpr BulkFormat bf = bulk_format(F);
  constexpr std::uint32_t half_tiny_bits = bf.tiny_bits - (1u << 23);  // q/2 (q normal here)
  const std::uint32_t m = b & 0x7FFFFFFFu;
  std::uint32_t r = 0;
  if constexpr (R == Rounding::kNearestEven) {
    // d ≤ 23 exactly when |x| ≥ q; below, d is clamped to 24 (a shift count in range) and the
    // result is q above q/2, else 0. bf16 drops 16 bits from every float.
    std::uint32_t d = bf.dropped_normal;
    if constexpr (bf.emin_biased > 1) {
      const std::int32_t shift = bf.emin_biased - static_cast<std::int32_t>(m >> 23);
      d += static_cast<std::uint32_t>(
          std::min(std::max(shift, 0), static_cast<std::int32_t>(24 - bf.dropped_normal)));
    }
    const std::uint32_t mask = (1u << d) - 1;
    r = (m + (((m | 0x800000u) >> d) & 1u) + (mask >> 1)) & ~mask;
    if constexpr (bf.emin_biased > 1) {
      r = m >= bf.tiny_bits ? r : (m > half_tiny_bits ? bf.tiny_bits : 0u);
    }
  } else {
    const std::int32_t field = std::max(static_cast<std::int32_t>(m >> 23), 1);
    const std::uint32_t d =
        bf.dropped_normal + static_cast<std::uint32_t>(std::max(bf.emin_biased - field, 0));
    const std::uint32_t dc = std::min(d, 24u);
    const std::uint32_t mask = (1u << dc) - 1;  // d ≥ 24: the whole significand
    const std::uint32_t rem = ((m & 0x7FFFFFu) | (m >= 0x800000u ? 0x800000u : 0u)) & mask;
    const std::uint32_t hi = static_cast<std::uint32_t>(random >> 32);
    const std::uint32_t lo = static_cast<std::uint32_t>(random);
    const std::uint32_t d_low = std::min(d, 32u);                       // [8, 32]
    const std::uint32_t d_mid = std::min(std::max(d, 33u), 64u);        // [33, 64]
    const std::uint32_t d_far = std::min(std::max(d, 64u) - 64u, 31u);  // [0, 31]
    const std::uint32_t t_hi =
        d <= 32u ? rem << (32u - d_low) : (d <= 64u ? rem >> std::min(d_mid - 32u, 31u) : 0u);
    const std::uint32_t t_lo = d <= 32u ? 0u : (d <= 64u ? rem << (64u - d_mid) : rem >> d_far);
    const std::uint32_t up = hi < t_hi + (lo < t_lo ? 1u : 0u) ? 1u : 0u;
    r = d <= 23u ? (m & ~mask) + (up << dc) : (up != 0u ? bf.tiny_bits : 0u);
  }
  r = r > bf.largest_bits ? bf.overflow_bits : r;
  return m > 0x7F800000u ? b : (b ^ m) | r;
}

// Values per inner loop, and how far ahead of it the loop prefetches: with the hardware
// prefetcher alone, a 64 MiB tensor streamed at a third of a plain in-place loop's speed here
// (the loop body is long, so few of its loads are in flight).
constexpr std::int64_t kBlock = 256;
constexpr std::int64_t kPrefetchAhead = 1024;

// data[0, n) rounded in place; bits(i) gives element i's random bits. The scale and the bits
// are copies, so that the compiler sees no store into data change them (with references it
// reloads them per element and does not vectorise).
template <NumberFormat F, Rounding R, typename Bits>
void round_run(float* data, std::int64_t n, const BulkScale s, const Bits bits) {
  for (std::int64_t block = 0; block < n; block += kBlock) {
    const std::int64_t end = std::min(n, block + kBlock);
    for (std::int64_t p = block + kPrefetchAhead; p < std::min(n, end + kPrefetchAhead); p += 16) {
      __builtin_prefetch(data + p, 1);
    }
    for (std::int64_t i = block; i < end; ++i) {
      float x = data[i];
      if constexpr (bulk_format(F).scaled) x = x * s.pre1 * s.pre2;
      float y = bulk_float(round_element<F, R>(bulk_bits(x), bits(i)));
      if constexpr (bulk_format(F).scaled) y = y * s.post1 * s.post2;
      data[i] = y;
    }
  }
}

template <NumberFormat F, typename Bits>
void round_run_format(float* data, std::int64_t n, Rounding r, const BulkScale& s,
                      const Bits& bits) {
  switch (r) {
    case Rounding::kNearestEven:
      round_run<F, Rounding::kNearestEven>(data, n, s, NoBits{});
      return;
    case Rounding::kStochastic:
      round_run<F, Rounding::kStochastic>(data, n, s, bits);
      return;
  }
}

template <typename Bits>
void round_run_any(float* data, std::int64_t n, NumberFormat f, Rounding r, const BulkScale& s,
                   const Bits& bits) {
  switch (f) {
    case NumberFormat::kFp32:
      return;
    case NumberFormat::kFp16:
      return round_run_format<NumberFormat::kFp16>(data, n, r, s, bits);
    case NumberFormat::kBf16:
      return round_run_format<NumberFormat::kBf16>(data, n, r, s, bits);
    case NumberFormat::kFp8E4m3:
      return round_run_format<NumberFormat::kFp8E4m3>(data, n, r, s, bits);
    case NumberFormat::kFp8E5m2:
      return round_run_format<NumberFormat::kFp8E5m2>(data, n, r, s, bits);
  }
}

// The largest magnitude's bits over data[0, n): a NaN's are above every number's, so the
// maximum of the bits is NaN when any value is NaN, and does not depend on the order.
std::uint32_t max_magnitude_bits(const float* data, std::int64_t n) {
  std::uint32_t best = 0;
  for (std::int64_t i = 0; i < n; ++i) best = std::max(best, bulk_bits(data[i]) & 0x7FFFFFFFu);
  return best;
}

std::uint32_t max_magnitude_bits(const double* data, std::int64_t n) {
  std::uint32_t best = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    best = std::max(best, bulk_bits(static_cast<float>(data[i])) & 0x7FFFFFFFu);
  }
  return best;
}

// amax over data[0, n), reduced per part of parallel.h's element-wise split (max is exact and
// order-free, so the thread count cannot change it).
template <typename T>
float tensor_amax(const T* data, std::int64_t n) {
  const std::int64_t parts = std::max<std::int64_t>(1, std::min(n, elementwise_parts(n)));
  std::vector<std::uint32_t> part_max(static_cast<std::size_t>(parts), 0u);
  parallel_for(parts, [&](std::int64_t i) {
    const IndexRange range = part_range(n, parts, 1, i);
    part_max[static_cast<std::size_t>(i)] = max_magnitude_bits(data + range.begin, range.size());
  });
  return bulk_float(*std::max_element(part_max.begin(), part_max.end()));
}

HashBits hash_bits(const RoundingStream& stream) {
  HashBits h;
  h.tensor_hash = bulk_mix(bulk_mix(stream.seed) ^ stream.tensor);
  h.minibatch = stream.minibatch;
  return h;
}

// Doubles go through a float buffer of this many values, on the stack of each part.
constexpr std::int64_t kDoubleBlock = 512;

}  // namespace

int round_tensor(float* data, std::int64_t n, NumberFormat f, Rounding r,
                 const RoundingStream& stream) {
  if (f == NumberFormat::kFp32 || n <= 0) return 0;
  const int k = bulk_format(f).scaled ? scale_exponent(tensor_amax(data, n), f) : 0;
  const BulkScale s = bulk_scale(k);
  const HashBits base = hash_bits(stream);
  parallel_ranges(n, 1, [&](std::int64_t begin, std::int64_t end) {
    HashBits bits = base;
    bits.first = static_cast<std::uint64_t>(begin);
    round_run_any(data + begin, end - begin, f, r, s, bits);
  });
  return k;
}

int round_tensor(double* data, std::int64_t n, NumberFormat f, Rounding r,
                 const RoundingStream& stream) {
  if (n <= 0) return 0;
  const int k = bulk_format(f).scaled ? scale_exponent(tensor_amax(data, n), f) : 0;
  const BulkScale s = bulk_scale(k);
  const HashBits base = hash_bits(stream);
  parallel_ranges(n, 2, [&](std::int64_t begin, std::int64_t end) {
    float buffer[kDoubleBlock];
    for (std::int64_t b = begin; b < end; b += kDoubleBlock) {
      const std::int64_t count = std::min(kDoubleBlock, end - b);
      for (std::int64_t i = 0; i < count; ++i) buffer[i] = static_cast<float>(data[b + i]);
      HashBits bits = base;
      bits.first = static_cast<std::uint64_t>(b);
      round_run_any(buffer, count, f, r, s, bits);
      for (std::int64_t i = 0; i < count; ++i) data[b + i] = static_cast<double>(buffer[i]);
    }
  });
  return k;
}

void round_values(float* data, std::int64_t n, NumberFormat f, Rounding r, int k,
                  const std::uint64_t* random_bits) {
  if (n <= 0) return;
  round_run_any(data, n, f, r, bulk_scale(bulk_format(f).scaled ? k : 0), ArrayBits{random_bits});
}

}  // namespace lpsim::ops
