#include "hw_models/pe/clocked_systolic_array.h"

#include <algorithm>
#include <deque>
#include <string>

#include "core/errors.h"

namespace lpsim::hw {

IntMatrix::IntMatrix(std::int64_t rows, std::int64_t cols) : rows_(rows), cols_(cols) {
  LPSIM_ASSERT(rows >= 0 && cols >= 0, "matrix shape must be non-negative, got " +
                                           std::to_string(rows) + " x " + std::to_string(cols));
  values_.assign(static_cast<std::size_t>(rows * cols), 0);
}

std::int64_t& IntMatrix::operator()(std::int64_t row, std::int64_t col) {
  LPSIM_ASSERT(row >= 0 && row < rows_ && col >= 0 && col < cols_,
               "index (" + std::to_string(row) + ", " + std::to_string(col) + ") outside " +
                   std::to_string(rows_) + " x " + std::to_string(cols_));
  return values_[static_cast<std::size_t>(row * cols_ + col)];
}

std::int64_t IntMatrix::operator()(std::int64_t row, std::int64_t col) const {
  LPSIM_ASSERT(row >= 0 && row < rows_ && col >= 0 && col < cols_,
               "index (" + std::to_string(row) + ", " + std::to_string(col) + ") outside " +
                   std::to_string(rows_) + " x " + std::to_string(cols_));
  return values_[static_cast<std::size_t>(row * cols_ + col)];
}

bool IntMatrix::operator==(const IntMatrix& other) const {
  return rows_ == other.rows_ && cols_ == other.cols_ && values_ == other.values_;
}

namespace {

// One value travelling through the array. The tags let the model check its own skew: two
// operands that meet in a PE must belong to the same temporal index.
struct Token {
  std::int64_t value = 0;
  std::int64_t index = -1;  // temporal index (OS: k; WS/IS: the streamed row t)
  bool valid = false;       // a token is present, real or padding
  bool real = false;        // carries data rather than padding
};

// An edge feeder: the skewed sequence of tokens it emits, one per clock (a bubble once empty).
using Feeder = std::deque<Token>;

Token pop(Feeder& feeder) {
  if (feeder.empty()) return Token{};
  const Token token = feeder.front();
  feeder.pop_front();
  return token;
}

bool all_empty(const std::vector<Feeder>& feeders) {
  return std::all_of(feeders.begin(), feeders.end(), [](const Feeder& f) { return f.empty(); });
}

bool none_valid(const std::vector<Token>& registers) {
  return std::none_of(registers.begin(), registers.end(), [](const Token& t) { return t.valid; });
}

std::string pe_name(std::int64_t i, std::int64_t j) {
  return "PE(" + std::to_string(i) + "," + std::to_string(j) + ")";
}

// What one fold's simulation observed.
struct FoldClocks {
  bool any_useful = false;
  std::uint64_t last_useful_mac = 0;
  bool any_mac = false;
  std::uint64_t last_mac = 0;
  std::uint64_t until_empty = 0;
  std::uint64_t useful_macs = 0;
  std::uint64_t padded_macs = 0;

  void record_mac(std::uint64_t clock, bool useful) {
    any_mac = true;
    last_mac = std::max(last_mac, clock);
    if (useful) {
      any_useful = true;
      last_useful_mac = std::max(last_useful_mac, clock);
      ++useful_macs;
    } else {
      ++padded_macs;
    }
  }
};

// Guards against a fold that never drains (a bug); generous, not the timing formula.
void check_bound(std::uint64_t clock, std::int64_t rows, std::int64_t cols, std::int64_t temporal) {
  const auto bound = static_cast<std::uint64_t>(4 * (rows + cols + temporal) + 16);
  LPSIM_ASSERT(clock < bound, "fold still busy after " + std::to_string(clock) + " clocks");
}

// Skewed feeder for edge lane `lane`: `lane` bubbles, then elements 0..length-1 from
// `element(t)` (padding zeros when `real` is false).
template <typename Element>
Feeder skewed_feeder(std::int64_t lane, std::int64_t length, bool real, Element element) {
  Feeder feeder;
  for (std::int64_t s = 0; s < lane; ++s) feeder.push_back(Token{});
  for (std::int64_t t = 0; t < length; ++t) {
    feeder.push_back(Token{real ? element(t) : 0, t, true, real});
  }
  return feeder;
}

// Output-stationary fold on an R x C array.
// left [Sr x T] enters at the left edge (array row i <- left row r0+i), top [T x Sc] enters
// at the top edge (array column j <- top column c0+j); PE(i,j) accumulates
// out(r0+i, c0+j) = Σ_t left(r0+i, t)·top(t, c0+j).
FoldClocks run_output_stationary_fold(std::int64_t rows, std::int64_t cols, const IntMatrix& left,
                                      const IntMatrix& top, std::int64_t r0, std::int64_t c0,
                                      IntMatrix& out) {
  const std::int64_t sr = left.rows();
  const std::int64_t sc = top.cols();
  const std::int64_t temporal = left.cols();
  std::vector<Feeder> left_feed;
  std::vector<Feeder> top_feed;
  for (std::int64_t i = 0; i < rows; ++i) {
    left_feed.push_back(
        skewed_feeder(i, temporal, r0 + i < sr, [&](std::int64_t t) { return left(r0 + i, t); }));
  }
  for (std::int64_t j = 0; j < cols; ++j) {
    top_feed.push_back(
        skewed_feeder(j, temporal, c0 + j < sc, [&](std::int64_t t) { return top(t, c0 + j); }));
  }
  const auto cells = static_cast<std::size_t>(rows * cols);
  std::vector<Token> right(cells);  // operand each PE passes to its right neighbour
  std::vector<Token> down(cells);   // operand each PE passes to the PE below
  std::vector<std::int64_t> acc(cells, 0);
  FoldClocks clocks;
  for (std::uint64_t clock = 0;; ++clock) {
    check_bound(clock, rows, cols, temporal);
    std::vector<Token> next_right(cells);
    std::vector<Token> next_down(cells);
    for (std::int64_t i = 0; i < rows; ++i) {
      for (std::int64_t j = 0; j < cols; ++j) {
        const auto cell = static_cast<std::size_t>(i * cols + j);
        const Token a = j == 0 ? pop(left_feed[static_cast<std::size_t>(i)])
                               : right[static_cast<std::size_t>(i * cols + j - 1)];
        const Token b = i == 0 ? pop(top_feed[static_cast<std::size_t>(j)])
                               : down[static_cast<std::size_t>((i - 1) * cols + j)];
        LPSIM_ASSERT(a.valid == b.valid && a.index == b.index,
                     "OS operands out of step at " + pe_name(i, j) + " in clock " +
                         std::to_string(clock) + ": k=" + std::to_string(a.index) + " vs " +
                         std::to_string(b.index));
        if (a.valid) {
          acc[cell] += a.value * b.value;
          clocks.record_mac(clock, a.real && b.real);
        }
        next_right[cell] = a;
        next_down[cell] = b;
      }
    }
    right.swap(next_right);
    down.swap(next_down);
    if (all_empty(left_feed) && all_empty(top_feed) && none_valid(right) && none_valid(down)) {
      clocks.until_empty = clock + 1;
      break;
    }
  }
  for (std::int64_t i = 0; i < rows && r0 + i < sr; ++i) {
    for (std::int64_t j = 0; j < cols && c0 + j < sc; ++j) {
      out(r0 + i, c0 + j) = acc[static_cast<std::size_t>(i * cols + j)];
    }
  }
  return clocks;
}

// Weight- or input-stationary fold on an R x C array.
// The tile stationary(r0+i, c0+j) is shifted into PE(i,j) down the columns first; then
// stream [T x Sr] enters at the left edge (array row i <- stream column r0+i), partial sums
// flow down the columns, and the bottom edge adds
// out(t, c0+j) += Σ_i stream(t, r0+i)·stationary(r0+i, c0+j).
FoldClocks run_stationary_fold(std::int64_t rows, std::int64_t cols, const IntMatrix& stationary,
                               const IntMatrix& stream, std::int64_t r0, std::int64_t c0,
                               IntMatrix& out) {
  const std::int64_t sr = stationary.rows();
  const std::int64_t sc = stationary.cols();
  const std::int64_t temporal = stream.rows();
  const auto cells = static_cast<std::size_t>(rows * cols);
  FoldClocks clocks;
  std::uint64_t clock = 0;

  // Preload: column j's top feeder emits the values for rows R-1, ..., 0 (padding zeros
  // outside the tile); the column's chain of R registers shifts them down one row a clock.
  std::vector<Feeder> preload(static_cast<std::size_t>(cols));
  for (std::int64_t j = 0; j < cols; ++j) {
    for (std::int64_t row = rows - 1; row >= 0; --row) {
      const bool real = r0 + row < sr && c0 + j < sc;
      preload[static_cast<std::size_t>(j)].push_back(
          Token{real ? stationary(r0 + row, c0 + j) : 0, row, true, real});
    }
  }
  std::vector<Token> held(cells);  // the stationary value in each PE
  for (; !all_empty(preload); ++clock) {
    check_bound(clock, rows, cols, temporal);
    std::vector<Token> next_held(cells);
    for (std::int64_t i = 0; i < rows; ++i) {
      for (std::int64_t j = 0; j < cols; ++j) {
        next_held[static_cast<std::size_t>(i * cols + j)] =
            i == 0 ? pop(preload[static_cast<std::size_t>(j)])
                   : held[static_cast<std::size_t>((i - 1) * cols + j)];
      }
    }
    held.swap(next_held);
  }
  for (std::int64_t i = 0; i < rows; ++i) {
    for (std::int64_t j = 0; j < cols; ++j) {
      const Token& h = held[static_cast<std::size_t>(i * cols + j)];
      LPSIM_ASSERT(h.valid && h.index == i,
                   "preload left " + pe_name(i, j) + " holding row " + std::to_string(h.index));
    }
  }

  // Stream.
  std::vector<Feeder> left_feed;
  for (std::int64_t i = 0; i < rows; ++i) {
    left_feed.push_back(
        skewed_feeder(i, temporal, r0 + i < sr, [&](std::int64_t t) { return stream(t, r0 + i); }));
  }
  std::vector<Token> right(cells);  // streamed operand passed to the right
  std::vector<Token> down(cells);   // partial sum passed down
  for (;; ++clock) {
    check_bound(clock, rows, cols, temporal);
    std::vector<Token> next_right(cells);
    std::vector<Token> next_down(cells);
    for (std::int64_t i = 0; i < rows; ++i) {
      for (std::int64_t j = 0; j < cols; ++j) {
        const auto cell = static_cast<std::size_t>(i * cols + j);
        const Token x = j == 0 ? pop(left_feed[static_cast<std::size_t>(i)])
                               : right[static_cast<std::size_t>(i * cols + j - 1)];
        // The top edge starts each column's partial sum at zero alongside the operand.
        const Token psum_in = i == 0 ? Token{0, x.index, x.valid, x.valid}
                                     : down[static_cast<std::size_t>((i - 1) * cols + j)];
        LPSIM_ASSERT(x.valid == psum_in.valid && x.index == psum_in.index,
                     "operand and partial sum out of step at " + pe_name(i, j) + " in clock " +
                         std::to_string(clock) + ": t=" + std::to_string(x.index) + " vs " +
                         std::to_string(psum_in.index));
        Token psum_out = psum_in;
        if (x.valid) {
          const Token& w = held[cell];
          psum_out.value += w.value * x.value;
          clocks.record_mac(clock, x.real && w.real);
        }
        next_right[cell] = x;
        next_down[cell] = psum_out;
        if (i == rows - 1 && psum_out.valid && c0 + j < sc) {
          out(psum_out.index, c0 + j) += psum_out.value;  // leaves at the bottom edge
        }
      }
    }
    right.swap(next_right);
    down.swap(next_down);
    if (all_empty(left_feed) && none_valid(right) && none_valid(down)) {
      clocks.until_empty = clock + 1;
      break;
    }
  }
  return clocks;
}

IntMatrix transpose(const IntMatrix& m) {
  IntMatrix t(m.cols(), m.rows());
  for (std::int64_t r = 0; r < m.rows(); ++r) {
    for (std::int64_t c = 0; c < m.cols(); ++c) t(c, r) = m(r, c);
  }
  return t;
}

}  // namespace

ClockedSystolicArray::ClockedSystolicArray(ArrayShape array, Dataflow dataflow)
    : array_(array), dataflow_(dataflow) {
  LPSIM_ASSERT(array.rows >= 1 && array.cols >= 1, "array must have >= 1 row and column, got " +
                                                       std::to_string(array.rows) + " x " +
                                                       std::to_string(array.cols));
}

ClockedRun ClockedSystolicArray::run(const IntMatrix& a, const IntMatrix& b) const {
  LPSIM_ASSERT(a.rows() >= 1 && a.cols() >= 1 && b.cols() >= 1 && a.cols() == b.rows(),
               "need A [M x K] and B [K x N] with M, N, K >= 1, got " + std::to_string(a.rows()) +
                   " x " + std::to_string(a.cols()) + " and " + std::to_string(b.rows()) + " x " +
                   std::to_string(b.cols()));
  const std::int64_t rows = array_.rows;
  const std::int64_t cols = array_.cols;
  const bool output_stationary = dataflow_ == Dataflow::kOutputStationary;
  const bool input_stationary = dataflow_ == Dataflow::kInputStationary;

  // Operand roles. OS: left = A, top = B, out = C.  WS: stationary = B, stream = A,
  // out = C.  IS: stationary = A^T, stream = B^T, out = C^T (C^T = B^T·A^T).
  const IntMatrix first = input_stationary ? transpose(a) : (output_stationary ? a : b);
  const IntMatrix second = input_stationary ? transpose(b) : (output_stationary ? b : a);
  // Spatial extents along the array's rows and columns, read off the operands' shapes.
  const std::int64_t sr = first.rows();
  const std::int64_t sc = output_stationary ? second.cols() : first.cols();
  IntMatrix out =
      output_stationary ? IntMatrix(a.rows(), b.cols()) : IntMatrix(second.rows(), first.cols());

  ClockedRun run;
  for (std::int64_t c0 = 0, col_fold = 0; c0 < sc; c0 += cols, ++col_fold) {
    for (std::int64_t r0 = 0, row_fold = 0; r0 < sr; r0 += rows, ++row_fold) {
      const FoldClocks clocks =
          output_stationary ? run_output_stationary_fold(rows, cols, first, second, r0, c0, out)
                            : run_stationary_fold(rows, cols, first, second, r0, c0, out);
      LPSIM_ASSERT(clocks.any_useful && clocks.any_mac, "a fold did no useful MAC");
      ClockedFold fold;
      fold.row_fold = row_fold;
      fold.col_fold = col_fold;
      fold.used_rows = std::min(rows, sr - r0);
      fold.used_cols = std::min(cols, sc - c0);
      fold.last_useful_mac_clock = clocks.last_useful_mac;
      fold.last_mac_clock = clocks.last_mac;
      fold.clocks_until_empty = clocks.until_empty;
      run.folds.push_back(fold);
      run.cycles += clocks.last_useful_mac + 1;
      run.padded_cycles += clocks.last_mac + 1;
      run.useful_macs += clocks.useful_macs;
      run.padded_macs += clocks.padded_macs;
      run.row_folds = std::max(run.row_folds, static_cast<std::uint64_t>(row_fold + 1));
      run.col_folds = std::max(run.col_folds, static_cast<std::uint64_t>(col_fold + 1));
    }
  }
  run.product = input_stationary ? transpose(out) : out;
  return run;
}

}  // namespace lpsim::hw
