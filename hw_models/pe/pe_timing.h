#pragma once
// Fast analytic cycle models of a processing element (PE): the systolic array's GEMM time
// (SCALE-Sim v2's compute model), the vector unit's element-wise time, and the stretch that
// memory traffic beyond the local bandwidth imposes on a task.
//
// Contract (GEMM): one cycle is one clock of an R x C systolic array. In one clock every
// PE performs at most one multiply-accumulate on the operands at its inputs and forwards
// them one hop (right, and down), and each array edge accepts one operand per row or
// column (already skewed: row i lags row 0 by i clocks). Clock 0 of a fold is the first
// clock at which anything (a stationary value or a streamed operand) enters the array. A
// GEMM mapped as in map_gemm() runs in folds = ceil(Sr/R)·ceil(Sc/C) tiles, one after
// another, each on the whole array (a partial tile is padded to R x C), and one fold costs
//   OS:      R + C + T − 2   (the last operand pair meets PE(R−1,C−1) in clock R+C+T−3),
//   WS, IS: 2R + C + T − 2   (R clocks shifting the stationary tile down the columns first).
// Nothing else is charged: no output drain of OS accumulators, no accumulation of WS/IS
// partial sums across row folds, no overlap between folds, no memory stalls. SCALE-Sim v2
// prints the index of the last cycle ("Total Cycles"), which is this count minus one.
// ClockedSystolicArray (clocked_systolic_array.h) simulates the same array clock by clock:
// its last MAC slot on the padded tile reproduces this count on every GEMM, its last useful
// MAC does so exactly when every fold fills the array (on a partial fold of r' rows and c'
// columns the useful work ends (R−r')+(C−c') clocks earlier); see its contract.
//
// Errors: shapes with a dimension < 1 and results that do not fit in std::uint64_t are
// programmer errors (LPSIM_ASSERT, which throws core::InternalError); validate user input before
// calling.

#include <cstdint>

#include "hw_models/pe/pe_types.h"

namespace lpsim::hw {

// Raw counts of one GEMM on the array; ratios are for the caller (utilisation of the
// mapped array = macs / mac_slots).
struct GemmTiming {
  std::uint64_t cycles = 0;           // folds · cycles_per_fold
  std::uint64_t cycles_per_fold = 0;  // R+C+T−2 (OS) or 2R+C+T−2 (WS, IS)
  std::uint64_t folds = 0;            // row_folds · col_folds
  std::uint64_t row_folds = 0;        // ceil(Sr / R)
  std::uint64_t col_folds = 0;        // ceil(Sc / C)
  std::uint64_t macs = 0;             // useful MACs, M·N·K
  std::uint64_t mac_slots = 0;        // R·C·cycles: MACs the array could have done
};

// Cycles of one GEMM [M x K]·[K x N] on an R x C array with the given dataflow.
// `macs_per_cycle`: MACs each PE does per cycle in the GEMM's number format (ARCHITECTURE.md
// §2d): the fold's temporal length is ceil(T / macs_per_cycle).
GemmTiming gemm_timing(ArrayShape array, Dataflow dataflow, GemmShape gemm,
                       std::int64_t macs_per_cycle = 1);

// Cycles of one fold whose temporal dimension is `temporal` (T).
std::uint64_t fold_cycles(ArrayShape array, Dataflow dataflow, std::int64_t temporal);

// Cycles of element-wise work on a vector unit of `lanes` lanes. Contract: one cycle issues
// one operation on up to `lanes` elements (SIMD: all lanes run the same operation); an
// element needs `ops_per_element` operations in sequence, so
//   cycles = ceil(elements / lanes) · ops_per_element,
// with no pipeline fill or drain charged. Zero elements take zero cycles.
// lanes >= 1 and ops_per_element >= 1 (LPSIM_ASSERT).
std::uint64_t vector_cycles(std::uint64_t elements, std::uint64_t lanes,
                            std::uint64_t ops_per_element = 1);

// Cycles to move `bytes` at `bytes_per_cycle` (>= 1): ceil(bytes / bytes_per_cycle).
std::uint64_t memory_cycles(std::uint64_t bytes, std::uint64_t bytes_per_cycle);

// A task's cycles when its memory traffic overlaps its compute and the slower of the two
// sets the pace: max(compute_cycles, ceil(bytes / bytes_per_cycle)).
std::uint64_t stretch_for_memory(std::uint64_t compute_cycles, std::uint64_t bytes,
                                 std::uint64_t bytes_per_cycle);

}  // namespace lpsim::hw
