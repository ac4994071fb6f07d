#pragma once
// C = A · B, split over threads (parallel.h) by a rule of the shapes alone: C's longer side
// is cut into gemm_parts blocks (multiples of 16), each an ordinary single-threaded Eigen
// product of a block of A with B, or of A with a block of B. So every element of C is computed by
// the same code for every thread count.

#include <cstdint>

#include "workloads/ops/accumulate.h"
#include "workloads/ops/parallel.h"

namespace lpsim::ops {

// Blocks of C's side n for a [m, k] x [k, n] product: 1 below 16 MFLOP, else one per 8 MFLOP,
// at most 64, and none narrower than kGemmMinBlock (a narrower block runs OpenBLAS's kernel
// well below its rate: 112 against 162 GFLOP/s at 64 rows of a GPT's [2048 x 384] x
// [384 x 1536], 150 at 256; issue 30).
inline constexpr std::int64_t kGemmMinBlock = 256;
inline std::int64_t gemm_parts(std::int64_t m, std::int64_t n, std::int64_t k) {
  const double flops =
      2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  if (flops < 16e6) return 1;
  const std::int64_t by_work = static_cast<std::int64_t>(flops / 8e6);
  const std::int64_t by_width = n / kGemmMinBlock;
  std::int64_t parts = by_work < by_width ? by_work : by_width;
  if (parts > 64) parts = 64;
  return parts < 1 ? 1 : parts;
}

// c (already [a.rows(), b.cols()], not aliasing a or b) = a * b. One product expression for
// every part count (a single block when unsplit), so each call site instantiates one GEMM.
// Split along C's longer side: each part repacks the operand it shares with the others (A for
// column blocks, B for row blocks), so the shorter side keeps that repacking small (a GPT's
// per-token linear has m = B·T rows, far more than its n outputs). Each block accumulates under
// the accumulator rule (accumulate.h), which blocks along m or n do not change.
template <typename Dst, typename Lhs, typename Rhs>
void gemm(Dst& c, const Lhs& a, const Rhs& b) {
  const AccumulateRule rule = accumulate_rule();
  const std::int64_t m = a.rows(), n = b.cols();
  const bool by_rows = m > n;
  const std::int64_t parts = by_rows ? gemm_parts(n, m, a.cols()) : gemm_parts(m, n, a.cols());
  const auto block = [&](std::int64_t i) {
    if (by_rows) {
      const IndexRange r = part_range(m, parts, 16, i);
      if (r.size() > 0) {
        accumulate_product(c.middleRows(r.begin, r.size()), a.middleRows(r.begin, r.size()), b,
                           rule);
      }
    } else {
      const IndexRange r = part_range(n, parts, 16, i);
      if (r.size() > 0) {
        accumulate_product(c.middleCols(r.begin, r.size()), a, b.middleCols(r.begin, r.size()),
                           rule);
      }
    }
  };
  if (parts == 1) {
    block(0);
  } else {
    parallel_for(parts, block);
  }
}

}  // namespace lpsim::ops
