// libFuzzer entry point: the bytes as a run config (config::load_config and what
// `lpsim graph --config` builds from it), as `--set` overrides (one per line) and as a
// network document (parse_network, units, a per_layer partition, the retimed training
// graph). Corpus: fuzz/corpus/config.

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/harness.h"
#include "fuzz/inputs.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  const std::string& dir = lpsim::fuzz::scratch_dir();
  lpsim::fuzz::expect_only_user_errors("config_file",
                                       [&] { lpsim::fuzz::config_file(bytes, dir); });
  lpsim::fuzz::expect_only_user_errors("config_overrides",
                                       [&] { lpsim::fuzz::config_overrides(bytes); });
  lpsim::fuzz::expect_only_user_errors("network_document",
                                       [&] { lpsim::fuzz::network_document(bytes); });
  return 0;
}
