#pragma once
// Names shared by the processing-element (PE) models: the systolic array's shape, its
// dataflow, the GEMM it runs and how that GEMM is laid onto the array.
//
// Legend: a GEMM is [M x K]·[K x N] = [M x N] (A·B = C); the array has R rows and C
// columns of MAC units; Sr, Sc are the GEMM dimensions laid along the array's rows and
// columns, T the dimension streamed through time.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lpsim::hw {

// Which operand stays inside the PEs for a whole fold.
enum class Dataflow {
  kOutputStationary,  // "os": PE(i,j) accumulates one element of C
  kWeightStationary,  // "ws": PE(i,j) holds one element of B
  kInputStationary,   // "is": PE(i,j) holds one element of A
};

// "os", "ws" or "is".
const char* format_dataflow(Dataflow dataflow);
// The dataflow named exactly "os", "ws" or "is"; nullopt for anything else.
std::optional<Dataflow> try_parse_dataflow(std::string_view text);
// As try_parse_dataflow, but throws core::ConfigError(file, where, ...) naming the text found and
// the names allowed.
Dataflow parse_dataflow(std::string_view text, const std::string& file = "",
                        const std::string& where = "");
// {"os", "ws", "is"}, e.g. for core::ObjectReader::choice.
const std::vector<std::string>& dataflow_names();

struct ArrayShape {
  std::int64_t rows = 0;  // R
  std::int64_t cols = 0;  // C
};

// [M x K]·[K x N].
struct GemmShape {
  std::int64_t m = 0;
  std::int64_t n = 0;
  std::int64_t k = 0;
};

// The GEMM dimensions a dataflow lays along the array's rows (Sr) and columns (Sc) and
// streams through time (T).
struct ArrayMapping {
  std::int64_t spatial_rows = 0;  // Sr
  std::int64_t spatial_cols = 0;  // Sc
  std::int64_t temporal = 0;      // T
};

// OS: Sr=M, Sc=N, T=K.  WS: Sr=K, Sc=N, T=M.  IS: Sr=K, Sc=M, T=N.
// Every GEMM dimension must be >= 1 (LPSIM_ASSERT).
ArrayMapping map_gemm(Dataflow dataflow, GemmShape gemm);

}  // namespace lpsim::hw
