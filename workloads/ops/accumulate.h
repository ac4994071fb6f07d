#pragma once
// The MAC array's accumulator (ARCHITECTURE.md §2d, class `accumulate`). With an fp32
// accumulator a product is one Eigen product, as it always was. With a narrower one, the sum
// over K is cut into chunks of `chunk` consecutive k (hw.pe.rows), at multiples of `chunk` in
// the absolute k index; each chunk is summed in fp32 and added into the accumulator in k
// order, the accumulator rounded to its format after each addition (nearest even; the
// accumulator is not a stored tensor, so it is not scaled: each value rounds at its own
// magnitude, the 8-bit formats saturating, fp16 and bf16 overflowing to ±inf).
//
// The rule is process-wide: the engine that runs a task sets it for the task's duration
// (ScopedAccumulateRule); kernels read it once, before they spread over threads, and pass it
// to accumulate_product. Double-precision products (the gradient checks) ignore it.

#include <Eigen/Core>
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "core/errors.h"
#include "workloads/ops/numerics.h"
#include "workloads/ops/numerics_bulk.h"

namespace lpsim::ops {

struct AccumulateRule {
  NumberFormat format = NumberFormat::kFp32;
  std::int64_t chunk = 32;  // k per fp32 partial sum (hw.pe.rows)
  bool exact() const { return format == NumberFormat::kFp32; }
};

// The rule products follow now (fp32 unless an engine set another).
AccumulateRule accumulate_rule();

// Sets the rule for its lifetime and restores the one before.
class ScopedAccumulateRule {
 public:
  explicit ScopedAccumulateRule(const AccumulateRule& rule);
  ~ScopedAccumulateRule();
  ScopedAccumulateRule(const ScopedAccumulateRule&) = delete;
  ScopedAccumulateRule& operator=(const ScopedAccumulateRule&) = delete;

 private:
  AccumulateRule previous_;
};

// Rounds every element of the float block c to f, unscaled, nearest even.
template <typename Dst>
void round_accumulator(Dst& c, NumberFormat f) {
  static_assert(std::is_same_v<typename Dst::Scalar, float>, "an accumulator is float");
  if (c.innerStride() == 1) {
    for (Eigen::Index o = 0; o < c.outerSize(); ++o) {
      round_values(c.data() + o * c.outerStride(), c.innerSize(), f, Rounding::kNearestEven, 0,
                   nullptr);
    }
    return;
  }
  for (Eigen::Index i = 0; i < c.rows(); ++i) {
    for (Eigen::Index j = 0; j < c.cols(); ++j) c(i, j) = round_to(c(i, j), f);
  }
}

// c = a · b under `rule`; a's column j is k index k_offset + j (an operand that starts past
// k = 0 because its earlier k contribute zeros, as a causal attention's key tiles do).
template <typename Dst, typename Lhs, typename Rhs>
void accumulate_product(Dst&& c, const Lhs& a, const Rhs& b, const AccumulateRule& rule,
                        std::int64_t k_offset = 0) {
  if constexpr (!std::is_same_v<typename std::decay_t<Dst>::Scalar, float>) {
    c.noalias() = a * b;
  } else {
    if (rule.exact()) {
      c.noalias() = a * b;
      return;
    }
    LPSIM_ASSERT(rule.chunk > 0 && k_offset >= 0, "accumulate_product: bad chunk or offset");
    const std::int64_t k = a.cols();
    if (k == 0) {
      c.setZero();
      return;
    }
    std::int64_t k0 = 0;
    bool first = true;
    while (k0 < k) {
      // The chunk holding absolute index k_offset + k0 ends at the next multiple of chunk.
      const std::int64_t end = ((k_offset + k0) / rule.chunk + 1) * rule.chunk - k_offset;
      const std::int64_t kc = std::min(end, k) - k0;
      if (first) {
        c.noalias() = a.middleCols(k0, kc) * b.middleRows(k0, kc);
        first = false;
      } else {
        c.noalias() += a.middleCols(k0, kc) * b.middleRows(k0, kc);
      }
      round_accumulator(c, rule.format);
      k0 += kc;
    }
  }
}

}  // namespace lpsim::ops
