#pragma once
// A clocked, cycle-by-cycle model of an R x C systolic array, small sizes only. It exists
// to validate the fast model (pe_timing.h) in tests: it moves real operands through a grid
// of PE registers every clock, computes C = A·B exactly (integers) and counts the clocks.
//
// Contract: one clock = every PE reads the operands on its input wires (the array edge's
// feeder for column 0 / row 0, else the output registers its left / upper neighbour
// latched in the previous clock), performs at most one multiply-accumulate on them, and
// latches them into its own output registers. Each edge feeder emits one token per clock
// and is skewed: row i's (column j's) first token comes i (j) clocks after row 0's. Folds
// run one after another, each on an empty array, from fold clock 0 = the first clock in
// which anything enters. A partial tile (r' < R rows or c' < C columns of real data) is
// zero-padded to R x C, as SCALE-Sim v2 pads its demand matrices; a MAC counts as useful
// only when all its operands are real (not padding). Nothing here reads the formula: a
// fold's count is read off the clock at which a MAC happens.
//
// Why the clocked count equals R+C+T−2 (OS) and 2R+C+T−2 (WS, IS) on a full fold:
// - OS (Sr=M rows, Sc=N columns, T=K): row i's feeder emits A[i][k] in clock i+k and it
//   moves right one PE per clock; column j's feeder emits B[k][j] in clock j+k and it moves
//   down. Both reach PE(i,j) in clock i+j+k, so the last MAC is PE(R−1,C−1) with k=T−1 in
//   clock R+C+T−3: R+C+T−2 clocks. Accumulators stay put (drain not charged).
// - WS (stationary B tile, Sr=K, Sc=N, T=M): preload shifts the tile down each column's
//   chain of R registers, one row per clock, rows R−1..0 entering in clocks 0..R−1; every
//   register must be overwritten (padding rows with 0, since partial sums pass through
//   them), so preload takes R clocks and the stream can start in clock R. Row i's feeder
//   emits A[m][i] in clock R+i+m, reaching PE(i,j) in clock R+i+j+m, where the partial
//   sum of output row m, started at the top of column j in clock R+j+m and moving down one
//   row per clock, meets it. Last MAC: PE(R−1,C−1), m=T−1, clock 2R+C+T−3: 2R+C+T−2 clocks.
// - IS (stationary A tile transposed, Sr=K, Sc=M, T=N): the same machine as WS with the
//   roles swapped: it computes C^T = B^T·A^T, streaming B^T; same count.
// On a partial fold the last *useful* MAC is at PE(r'−1,c'−1), (R−r')+(C−c') clocks earlier
// than the formula; the formula (and SCALE-Sim v2) charges the whole padded tile, whose
// last MAC slot is still at PE(R−1,C−1). So `padded_cycles` equals the fast model on every
// GEMM, and `cycles` (last useful MAC + 1, per fold) equals it exactly when every fold is
// full (R divides Sr and C divides Sc) and is otherwise smaller by
// Σ_folds (R−r') + (C−c') = col_folds·(row_folds·R − Sr) + row_folds·(col_folds·C − Sc).

#include <cstdint>
#include <vector>

#include "hw_models/pe/pe_types.h"

namespace lpsim::hw {

// A dense row-major integer matrix (exact arithmetic for the product check).
class IntMatrix {
 public:
  IntMatrix() = default;
  IntMatrix(std::int64_t rows, std::int64_t cols);  // zeros
  std::int64_t rows() const { return rows_; }
  std::int64_t cols() const { return cols_; }
  std::int64_t& operator()(std::int64_t row, std::int64_t col);
  std::int64_t operator()(std::int64_t row, std::int64_t col) const;
  bool operator==(const IntMatrix& other) const;
  bool operator!=(const IntMatrix& other) const { return !(*this == other); }

 private:
  std::int64_t rows_ = 0;
  std::int64_t cols_ = 0;
  std::vector<std::int64_t> values_;
};

// What one fold did, read off the simulation. Clocks are fold-local (0 = first clock).
struct ClockedFold {
  std::int64_t row_fold = 0;                // index along Sr
  std::int64_t col_fold = 0;                // index along Sc
  std::int64_t used_rows = 0;               // r': array rows holding real data
  std::int64_t used_cols = 0;               // c': array columns holding real data
  std::uint64_t last_useful_mac_clock = 0;  // last MAC on real operands only
  std::uint64_t last_mac_clock = 0;         // last MAC slot, padding included
  std::uint64_t clocks_until_empty = 0;     // until no token is left in the array
};

struct ClockedRun {
  IntMatrix product;                // C = A·B, [M x N]
  std::uint64_t cycles = 0;         // Σ_folds (last_useful_mac_clock + 1)
  std::uint64_t padded_cycles = 0;  // Σ_folds (last_mac_clock + 1)
  std::uint64_t row_folds = 0;
  std::uint64_t col_folds = 0;
  std::uint64_t useful_macs = 0;   // MACs on real operands (M·N·K if correct)
  std::uint64_t padded_macs = 0;   // MACs with a padding operand
  std::vector<ClockedFold> folds;  // in execution order: column folds outer, row folds inner
};

class ClockedSystolicArray {
 public:
  // rows, cols >= 1 (LPSIM_ASSERT).
  ClockedSystolicArray(ArrayShape array, Dataflow dataflow);

  // a: [M x K], b: [K x N], M, N, K >= 1 (LPSIM_ASSERT). Cost grows with folds·R·C·(R+C+T).
  ClockedRun run(const IntMatrix& a, const IntMatrix& b) const;

  ArrayShape array() const { return array_; }
  Dataflow dataflow() const { return dataflow_; }

 private:
  ArrayShape array_;
  Dataflow dataflow_;
};

}  // namespace lpsim::hw
