#include "hw_models/pe/pe_timing.h"

#include <algorithm>
#include <string>

#include "core/errors.h"

namespace lpsim::hw {
namespace {

std::uint64_t checked_mul(std::uint64_t a, std::uint64_t b, const char* what) {
  std::uint64_t product = 0;
  LPSIM_ASSERT(
      !__builtin_mul_overflow(a, b, &product),
      std::string(what) + " overflows uint64: " + std::to_string(a) + " * " + std::to_string(b));
  return product;
}

std::uint64_t checked_add(std::uint64_t a, std::uint64_t b, const char* what) {
  std::uint64_t sum = 0;
  LPSIM_ASSERT(
      !__builtin_add_overflow(a, b, &sum),
      std::string(what) + " overflows uint64: " + std::to_string(a) + " + " + std::to_string(b));
  return sum;
}

std::uint64_t ceil_div(std::uint64_t a, std::uint64_t b) { return a / b + (a % b != 0 ? 1 : 0); }

void check_array(ArrayShape array) {
  LPSIM_ASSERT(array.rows >= 1 && array.cols >= 1, "array must have >= 1 row and column, got " +
                                                       std::to_string(array.rows) + " x " +
                                                       std::to_string(array.cols));
}

}  // namespace

std::uint64_t fold_cycles(ArrayShape array, Dataflow dataflow, std::int64_t temporal) {
  check_array(array);
  LPSIM_ASSERT(temporal >= 1, "temporal dimension must be >= 1, got " + std::to_string(temporal));
  const auto r = static_cast<std::uint64_t>(array.rows);
  const auto c = static_cast<std::uint64_t>(array.cols);
  const auto t = static_cast<std::uint64_t>(temporal);
  // R + C + T − 2, plus R preload clocks unless the output is stationary. R, C, T >= 1, so
  // R + C + T >= 3 and the subtraction cannot wrap.
  std::uint64_t cycles = checked_add(checked_add(r, c, "fold cycles"), t, "fold cycles") - 2;
  if (dataflow != Dataflow::kOutputStationary) cycles = checked_add(cycles, r, "fold cycles");
  return cycles;
}

GemmTiming gemm_timing(ArrayShape array, Dataflow dataflow, GemmShape gemm,
                       std::int64_t macs_per_cycle) {
  check_array(array);
  LPSIM_ASSERT(macs_per_cycle >= 1, "macs per cycle must be >= 1");
  ArrayMapping mapping = map_gemm(dataflow, gemm);
  mapping.temporal = static_cast<std::int64_t>(ceil_div(
      static_cast<std::uint64_t>(mapping.temporal), static_cast<std::uint64_t>(macs_per_cycle)));
  GemmTiming timing;
  timing.row_folds = ceil_div(static_cast<std::uint64_t>(mapping.spatial_rows),
                              static_cast<std::uint64_t>(array.rows));
  timing.col_folds = ceil_div(static_cast<std::uint64_t>(mapping.spatial_cols),
                              static_cast<std::uint64_t>(array.cols));
  timing.folds = checked_mul(timing.row_folds, timing.col_folds, "fold count");
  timing.cycles_per_fold = fold_cycles(array, dataflow, mapping.temporal);
  timing.cycles = checked_mul(timing.folds, timing.cycles_per_fold, "GEMM cycles");
  timing.macs = checked_mul(checked_mul(static_cast<std::uint64_t>(gemm.m),
                                        static_cast<std::uint64_t>(gemm.n), "GEMM MACs"),
                            static_cast<std::uint64_t>(gemm.k), "GEMM MACs");
  timing.mac_slots =
      checked_mul(checked_mul(static_cast<std::uint64_t>(array.rows),
                              static_cast<std::uint64_t>(array.cols), "array MAC slots"),
                  timing.cycles, "array MAC slots");
  return timing;
}

std::uint64_t vector_cycles(std::uint64_t elements, std::uint64_t lanes,
                            std::uint64_t ops_per_element) {
  LPSIM_ASSERT(lanes >= 1, "a vector unit needs >= 1 lane");
  LPSIM_ASSERT(ops_per_element >= 1, "an element-wise operation needs >= 1 op per element");
  return checked_mul(ceil_div(elements, lanes), ops_per_element, "vector cycles");
}

std::uint64_t memory_cycles(std::uint64_t bytes, std::uint64_t bytes_per_cycle) {
  LPSIM_ASSERT(bytes_per_cycle >= 1, "memory bandwidth must be >= 1 byte per cycle");
  return ceil_div(bytes, bytes_per_cycle);
}

std::uint64_t stretch_for_memory(std::uint64_t compute_cycles, std::uint64_t bytes,
                                 std::uint64_t bytes_per_cycle) {
  return std::max(compute_cycles, memory_cycles(bytes, bytes_per_cycle));
}

}  // namespace lpsim::hw
