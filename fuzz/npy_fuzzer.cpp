// libFuzzer entry point: the bytes as a .npy file (header only and read as float, double,
// int32, int64) and as the manifest.json of a checkpoint directory holding valid .npy
// files. Corpus: fuzz/corpus/npy.

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/harness.h"
#include "fuzz/inputs.h"

namespace {

struct NpyCase {
  lpsim::fuzz::NpyRead read;
  const char* what;
};

constexpr NpyCase kNpyCases[] = {
    {lpsim::fuzz::NpyRead::kHeader, "read_npy_header"},
    {lpsim::fuzz::NpyRead::kFloat, "read_npy<float>"},
    {lpsim::fuzz::NpyRead::kDouble, "read_npy<double>"},
    {lpsim::fuzz::NpyRead::kInt32, "read_npy<int32_t>"},
    {lpsim::fuzz::NpyRead::kInt64, "read_npy<int64_t>"},
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  const std::string& dir = lpsim::fuzz::scratch_dir();
  for (const NpyCase& c : kNpyCases) {
    lpsim::fuzz::expect_only_user_errors(c.what,
                                         [&] { lpsim::fuzz::npy_file(bytes, dir, c.read); });
  }
  lpsim::fuzz::expect_only_user_errors("read_checkpoint",
                                       [&] { lpsim::fuzz::checkpoint_manifest(bytes, dir); });
  return 0;
}
