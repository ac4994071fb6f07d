#pragma once
// C = A · B, split over threads (parallel.h) by a rule of the shapes alone: C's columns are
// cut into gemm_parts(m, n, k) blocks (multiples of 16), each an ordinary single-threaded
// Eigen product of A and one block of B. So every element of C is computed by
// the same code for every thread count.

#include <cstdint>

#include "workloads/ops/parallel.h"

namespace lpsim::ops {

// Column blocks of C for a [m, k] x [k, n] product: 1 below 16 MFLOP, else one per 8 MFLOP,
// at most 64, and none narrower than 64 columns.
inline std::int64_t gemm_parts(std::int64_t m, std::int64_t n, std::int64_t k) {
  const double flops =
      2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  if (flops < 16e6) return 1;
  const std::int64_t by_work = static_cast<std::int64_t>(flops / 8e6);
  const std::int64_t by_width = n / 64;
  std::int64_t parts = by_work < by_width ? by_work : by_width;
  if (parts > 64) parts = 64;
  return parts < 1 ? 1 : parts;
}

// c (already [a.rows(), b.cols()], not aliasing a or b) = a * b. One product expression for
// every part count (a single block when unsplit), so each call site instantiates one GEMM.
template <typename Dst, typename Lhs, typename Rhs>
void gemm(Dst& c, const Lhs& a, const Rhs& b) {
  const std::int64_t n = b.cols();
  const std::int64_t parts = gemm_parts(a.rows(), n, a.cols());
  const auto block = [&](std::int64_t i) {
    const IndexRange r = part_range(n, parts, 16, i);
    if (r.size() > 0) {
      c.middleCols(r.begin, r.size()).noalias() = a * b.middleCols(r.begin, r.size());
    }
  };
  if (parts == 1) {
    block(0);
  } else {
    parallel_for(parts, block);
  }
}

}  // namespace lpsim::ops
