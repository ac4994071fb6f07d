#include "hw_models/pe/pe_types.h"

#include "core/errors.h"

namespace lpsim::hw {

const char* format_dataflow(Dataflow dataflow) {
  switch (dataflow) {
    case Dataflow::kOutputStationary:
      return "os";
    case Dataflow::kWeightStationary:
      return "ws";
    case Dataflow::kInputStationary:
      return "is";
  }
  core::assertion_failed("known Dataflow", __FILE__, __LINE__,
                         "Dataflow value " + std::to_string(static_cast<int>(dataflow)));
}

std::optional<Dataflow> try_parse_dataflow(std::string_view text) {
  if (text == "os") return Dataflow::kOutputStationary;
  if (text == "ws") return Dataflow::kWeightStationary;
  if (text == "is") return Dataflow::kInputStationary;
  return std::nullopt;
}

Dataflow parse_dataflow(std::string_view text, const std::string& file, const std::string& where) {
  const std::optional<Dataflow> dataflow = try_parse_dataflow(text);
  if (!dataflow) {
    throw core::ConfigError(file, where,
                            "unknown dataflow \"" + std::string(text) +
                                "\"; expected one of \"os\" (output stationary), \"ws\" (weight "
                                "stationary), \"is\" (input stationary)");
  }
  return *dataflow;
}

const std::vector<std::string>& dataflow_names() {
  static const std::vector<std::string> names = {"os", "ws", "is"};
  return names;
}

ArrayMapping map_gemm(Dataflow dataflow, GemmShape gemm) {
  LPSIM_ASSERT(gemm.m >= 1 && gemm.n >= 1 && gemm.k >= 1,
               "GEMM dimensions must be >= 1, got M=" + std::to_string(gemm.m) +
                   " N=" + std::to_string(gemm.n) + " K=" + std::to_string(gemm.k));
  switch (dataflow) {
    case Dataflow::kOutputStationary:
      return {gemm.m, gemm.n, gemm.k};
    case Dataflow::kWeightStationary:
      return {gemm.k, gemm.n, gemm.m};
    case Dataflow::kInputStationary:
      return {gemm.k, gemm.m, gemm.n};
  }
  core::assertion_failed("known Dataflow", __FILE__, __LINE__,
                         "Dataflow value " + std::to_string(static_cast<int>(dataflow)));
}

}  // namespace lpsim::hw
