// libFuzzer entry point: the bytes as an ONNX model for `lpsim import` (protobuf parsing,
// then the importer's mapping, folding and checks). Corpus: fuzz/corpus/onnx.

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/harness.h"
#include "fuzz/inputs.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  lpsim::fuzz::expect_only_user_errors("import_onnx", [&] { lpsim::fuzz::onnx_model(bytes); });
  return 0;
}
