// libFuzzer entry point: the bytes as IDX images and labels files, plain (gzip data in the
// bytes is read as gzip) and gzip-compressed. Corpus: fuzz/corpus/idx.

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/harness.h"
#include "fuzz/inputs.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  const std::string& dir = lpsim::fuzz::scratch_dir();
  for (const bool gzip : {false, true}) {
    lpsim::fuzz::expect_only_user_errors(gzip ? "idx_images (gzip)" : "idx_images",
                                         [&] { lpsim::fuzz::idx_images(bytes, dir, gzip); });
    lpsim::fuzz::expect_only_user_errors(gzip ? "idx_labels (gzip)" : "idx_labels",
                                         [&] { lpsim::fuzz::idx_labels(bytes, dir, gzip); });
  }
  return 0;
}
