// Do the inputs the fuzz harnesses found (fuzz/regressions/<harness>/) and the seeds they
// start from (fuzz/corpus/<harness>/) only ever give a core::UserError? Each input goes through
// the function its harness calls (fuzz/inputs.h), so a failure here replays a fuzz finding
// without clang or libFuzzer.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "core/errors.h"
#include "fuzz/inputs.h"

namespace lpsim::fuzz {
namespace {

namespace fs = std::filesystem;

const fs::path kFuzzDir = fs::path(LPSIM_SOURCE_DIR) / "fuzz";

// A fresh directory for the readers' files, removed at the end of scope.
class ScratchDir {
 public:
  ScratchDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("lpsim-fuzz-regression-" + std::to_string(static_cast<long>(::getpid())) + "-" +
             info->test_suite_name() + "-" + info->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string regression(const std::string& harness, const std::string& name) {
  return read_file(kFuzzDir / "regressions" / harness / name);
}

// The seeds of one harness, sorted so failures come in a stable order.
std::vector<fs::path> corpus(const std::string& harness) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(kFuzzDir / "corpus" / harness)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// The harness's oracle: the call returns or throws a core::UserError, nothing else.
void expect_only_user_errors(const fs::path& input, const std::string& what,
                             const std::function<void()>& read) {
  try {
    read();
  } catch (const core::UserError&) {
  } catch (const std::exception& e) {
    ADD_FAILURE() << input << " through " << what << ": not a core::UserError: " << e.what();
  }
}

TEST(FuzzCorpusOnlyGivesUserErrors, Config) {
  ScratchDir dir;
  const auto files = corpus("config");
  ASSERT_FALSE(files.empty());
  for (const fs::path& file : files) {
    const std::string bytes = read_file(file);
    expect_only_user_errors(file, "config_file", [&] { config_file(bytes, dir.path()); });
    expect_only_user_errors(file, "config_overrides", [&] { config_overrides(bytes); });
    expect_only_user_errors(file, "network_document", [&] { network_document(bytes); });
  }
}

TEST(FuzzCorpusOnlyGivesUserErrors, Idx) {
  ScratchDir dir;
  const auto files = corpus("idx");
  ASSERT_FALSE(files.empty());
  for (const fs::path& file : files) {
    const std::string bytes = read_file(file);
    for (const bool gzip : {false, true}) {
      expect_only_user_errors(file, "idx_images", [&] { idx_images(bytes, dir.path(), gzip); });
      expect_only_user_errors(file, "idx_labels", [&] { idx_labels(bytes, dir.path(), gzip); });
    }
  }
}

TEST(FuzzCorpusOnlyGivesUserErrors, Npy) {
  ScratchDir dir;
  const auto files = corpus("npy");
  ASSERT_FALSE(files.empty());
  for (const fs::path& file : files) {
    const std::string bytes = read_file(file);
    for (const NpyRead read :
         {NpyRead::kHeader, NpyRead::kFloat, NpyRead::kDouble, NpyRead::kInt32, NpyRead::kInt64}) {
      expect_only_user_errors(file, "npy_file", [&] { npy_file(bytes, dir.path(), read); });
    }
    expect_only_user_errors(file, "checkpoint_manifest",
                            [&] { checkpoint_manifest(bytes, dir.path()); });
  }
}

TEST(FuzzCorpusOnlyGivesUserErrors, Onnx) {
  const auto files = corpus("onnx");
  ASSERT_FALSE(files.empty());
  std::size_t refused = 0;
  for (const fs::path& file : files) {
    const std::string bytes = read_file(file);
    expect_only_user_errors(file, "onnx_model", [&] { onnx_model(bytes); });
    if (file.filename().string().rfind("valid_", 0) != 0) {
      EXPECT_THROW(onnx_model(bytes), core::UserError) << file << " is a refused seed";
      ++refused;
    }
  }
  EXPECT_GT(refused, 0u);
}

// The seeds include valid documents: they must load, not only fail politely.
TEST(FuzzCorpusOnlyGivesUserErrors, ValidSeedsLoad) {
  ScratchDir dir;
  for (const fs::path& file : corpus("config")) {
    const std::string name = file.filename().string();
    if (name.rfind("valid_config_", 0) == 0) {
      EXPECT_NO_THROW(config_file(read_file(file), dir.path())) << file;
    } else if (name.rfind("valid_overrides_", 0) == 0) {
      EXPECT_NO_THROW(config_overrides(read_file(file))) << file;
    } else if (name.rfind("valid_network_", 0) == 0) {
      EXPECT_NO_THROW(network_document(read_file(file))) << file;
    }
  }
  for (const fs::path& file : corpus("idx")) {
    const std::string name = file.filename().string();
    // A .gz seed is gzip already; a plain one is also read after the harness compresses it.
    for (const bool gzip : {false, file.extension() != ".gz"}) {
      if (name.rfind("valid_images", 0) == 0) {
        EXPECT_NO_THROW(idx_images(read_file(file), dir.path(), gzip)) << file;
      } else if (name.rfind("valid_labels", 0) == 0) {
        EXPECT_NO_THROW(idx_labels(read_file(file), dir.path(), gzip)) << file;
      }
    }
  }
  for (const fs::path& file : corpus("onnx")) {
    if (file.filename().string().rfind("valid_", 0) == 0) {
      EXPECT_NO_THROW(onnx_model(read_file(file))) << file;
    }
  }
  EXPECT_NO_THROW(
      checkpoint_manifest(read_file(kFuzzDir / "corpus/npy/manifest_valid.json"), dir.path()));
  EXPECT_NO_THROW(
      npy_file(read_file(kFuzzDir / "corpus/npy/numpy_written.npy"), dir.path(), NpyRead::kFloat));
}

// Regressions (DISABLED_ would mark an open finding in code the fuzz folder does not own;
// none are open now).

// fuzz/regressions/config/json_number_overflow ("7e777"): a number literal beyond double
// made nlohmann::json::parse throw json::out_of_range (406), which core::parse_json_text did not
// catch, so a config, network file or manifest holding e.g. "lr": 1e400 ended lpsim with
// exit 1. Fixed in json_reader.cpp (0fe3a2d; then under sim/core/, now core/).
TEST(FuzzRegressionsGiveUserErrors, ConfigJsonNumberOverflow) {
  ScratchDir dir;
  EXPECT_THROW(config_file(regression("config", "json_number_overflow"), dir.path()),
               core::UserError);
}

// The same input read as a network document.
TEST(FuzzRegressionsGiveUserErrors, NetworkJsonNumberOverflow) {
  EXPECT_THROW(network_document(regression("config", "json_number_overflow")), core::UserError);
}

// fuzz/regressions/npy/manifest_json_number_overflow ("7E373"): the same fault reached
// through read_checkpoint's manifest.json.
TEST(FuzzRegressionsGiveUserErrors, CheckpointManifestJsonNumberOverflow) {
  ScratchDir dir;
  EXPECT_THROW(checkpoint_manifest(regression("npy", "manifest_json_number_overflow"), dir.path()),
               core::UserError);
}

// fuzz/regressions/config/override_invalid_utf8 ("/hw=\xAE"): a --set value that is not
// JSON is kept as a string (apply_override, sim/config/config.cpp) without checking that it
// is UTF-8; the first dump() of it (core::describe_value in an error message, the resolved
// config in the report) throws json::type_error 316, so `lpsim run --set $'/run/name=\xae'`
// ended with exit 1. Fixed: a core::ConfigError (exit 2).
TEST(FuzzRegressionsGiveUserErrors, OverrideInvalidUtf8) {
  EXPECT_THROW(config_overrides(regression("config", "override_invalid_utf8")), core::UserError);
}

// fuzz/regressions/config/override_number_overflow ("/=7e777"): apply_override parses the
// value with core::Json::parse and catches only parse_error, so the out_of_range 406 of a number
// beyond double escaped: `lpsim run --set /workload/epochs=1e400` ended with exit 1.
// Fixed: a core::ConfigError (exit 2).
TEST(FuzzRegressionsGiveUserErrors, OverrideNumberOverflow) {
  EXPECT_THROW(config_overrides(regression("config", "override_number_overflow")), core::UserError);
}

// fuzz/regressions/onnx/node_name_invalid_utf8 (a valid model with one byte of a node's name
// changed; CI found the like with 0xEB): the importer took any name without '/' as a layer
// name, so a name that is not UTF-8 reached the network document and the first dump() of it
// threw json::type_error 316: `lpsim import` ended with exit 1. Fixed: such a name is
// replaced (is_plain_name in onnx_import.cpp), text only shown is made lossy.
TEST(FuzzRegressionsGiveUserErrors, OnnxNodeNameInvalidUtf8) {
  const std::string bytes = regression("onnx", "node_name_invalid_utf8");
  expect_only_user_errors("node_name_invalid_utf8", "onnx_model", [&] { onnx_model(bytes); });
}

}  // namespace
}  // namespace lpsim::fuzz
