// Checkpoints: does a checkpoint round-trip exactly, does one written by NumPy read, and is
// every fault in a manifest or tensor file reported with its JSON pointer or file?

#include "workloads/data/checkpoint.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "test_util.h"

namespace lpsim::data {
namespace {

using testing::expect_error;
using testing::ScratchDir;
using testing::write_text;

namespace fs = std::filesystem;

const std::string kFixtures = std::string(LPSIM_SOURCE_DIR) + "/tests/fixtures/data/";

std::vector<NamedTensor> sample_tensors() {
  NamedTensor w{"fc1.weight", {3, 4}, {}, DType::kFloat32};
  for (int i = 0; i < 12; ++i) w.data.push_back(static_cast<float>(i) / 7.0f - 0.5f);
  w.data[5] = -0.0f;
  w.data[6] = std::numeric_limits<float>::denorm_min();
  w.data[7] = std::numeric_limits<float>::quiet_NaN();
  NamedTensor b{"fc1.bias", {3}, {0.25f, -1.0f, 1e-30f}, DType::kFloat32};
  NamedTensor s{"step_scale", {}, {2.5f}, DType::kFloat32};
  NamedTensor c{"conv.weight", {2, 1, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8}, DType::kFloat64};
  return {w, b, s, c};
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

TEST(CheckpointRoundTrips, TensorsBitForBitAndExtra) {
  ScratchDir dir;
  const std::string ckpt = dir.file("run/ckpt-epoch1");  // created with its parents
  const auto tensors = sample_tensors();
  const core::Json extra = {{"epoch", 1}, {"minibatch", 1875}, {"policy", "ema_grad"}};
  write_checkpoint(ckpt, tensors, extra);
  const Checkpoint back = read_checkpoint(ckpt);
  ASSERT_EQ(back.tensors.size(), tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    SCOPED_TRACE(tensors[i].name);
    EXPECT_EQ(back.tensors[i].name, tensors[i].name);
    EXPECT_EQ(back.tensors[i].shape, tensors[i].shape);
    EXPECT_EQ(back.tensors[i].dtype, tensors[i].dtype);
    EXPECT_TRUE(same_bits(back.tensors[i].data, tensors[i].data));
  }
  EXPECT_EQ(back.extra, extra);
  EXPECT_EQ(back.at("fc1.bias").shape, (std::vector<std::int64_t>{3}));
  EXPECT_EQ(back.find("nope"), nullptr);
  expect_error<core::DataError>([&] { back.at("fc2.weight"); }, "manifest.json",
                                {"no tensor named \"fc2.weight\"", "fc1.weight, fc1.bias"});

  // The manifest is the documented format, and nothing temporary is left behind.
  const core::Json manifest = core::parse_json_file(ckpt + "/manifest.json");
  EXPECT_EQ(manifest.at("format"), "lpsim-checkpoint-v1");
  EXPECT_EQ(manifest.at("tensors").at(0), (core::Json{{"name", "fc1.weight"},
                                                      {"file", "fc1.weight.npy"},
                                                      {"shape", {3, 4}},
                                                      {"dtype", "float32"}}));
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(ckpt)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"conv.weight.npy", "fc1.bias.npy", "fc1.weight.npy",
                                             "manifest.json", "step_scale.npy"}));
}

TEST(CheckpointRoundTrips, WithoutExtraAndOverwriting) {
  ScratchDir dir;
  auto tensors = sample_tensors();
  write_checkpoint(dir.path(), tensors);
  EXPECT_TRUE(read_checkpoint(dir.path()).extra.is_null());
  EXPECT_FALSE(core::parse_json_file(dir.file("manifest.json")).contains("extra"));
  tensors[1].data = {9.0f, 8.0f, 7.0f};
  tensors.pop_back();
  write_checkpoint(dir.path(), tensors, core::Json{{"epoch", 2}});
  const Checkpoint back = read_checkpoint(dir.path());
  EXPECT_EQ(back.tensors.size(), 3u);
  EXPECT_EQ(back.at("fc1.bias").data, (std::vector<float>{9.0f, 8.0f, 7.0f}));
  EXPECT_EQ(back.extra.at("epoch"), 2);
}

TEST(CheckpointRoundTrips, EmptyCheckpoint) {
  ScratchDir dir;
  write_checkpoint(dir.path(), {});
  EXPECT_TRUE(read_checkpoint(dir.path()).tensors.empty());
}

TEST(CheckpointReadsWhatPythonWrote, NumPyCheckpointFixture) {
  const std::string ckpt = kFixtures + "checkpoint_numpy";
  const Checkpoint c = read_checkpoint(ckpt);
  ASSERT_EQ(c.tensors.size(), 4u);
  EXPECT_EQ(c.tensors[0].name, "fc1.weight");
  EXPECT_EQ(c.at("fc1.weight").shape, (std::vector<std::int64_t>{4, 6}));
  EXPECT_EQ(c.at("fc2.bias").shape, (std::vector<std::int64_t>{3}));
  EXPECT_EQ(c.extra.at("epoch"), 3);
  // values.txt holds each tensor's values as exact decimals.
  std::ifstream values(ckpt + "/values.txt");
  std::string line;
  int lines = 0;
  while (std::getline(values, line)) {
    std::istringstream in(line);
    std::string name;
    in >> name;
    std::vector<float> expected;
    double v = 0;
    while (in >> v) expected.push_back(static_cast<float>(v));
    EXPECT_EQ(c.at(name).data, expected) << name;
    ++lines;
  }
  EXPECT_EQ(lines, 4);
}

// A valid checkpoint whose manifest the test then replaces.
class CheckpointManifestFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    write_checkpoint(dir_.path(), {NamedTensor{"w", {2, 2}, {1, 2, 3, 4}, DType::kFloat32},
                                   NamedTensor{"b", {2}, {5, 6}, DType::kFloat32}});
  }
  std::string manifest() const { return dir_.file("manifest.json"); }
  void expect_config_error(const std::string& text, const std::vector<std::string>& fragments) {
    write_text(manifest(), text);
    expect_error<core::ConfigError>([&] { read_checkpoint(dir_.path()); }, manifest(), fragments);
  }
  void expect_data_error(const std::string& text, const std::string& file,
                         const std::vector<std::string>& fragments) {
    write_text(manifest(), text);
    expect_error<core::DataError>([&] { read_checkpoint(dir_.path()); }, file, fragments);
  }
  static std::string entry(const std::string& name, const std::string& file,
                           const std::string& shape, const std::string& dtype = "float32") {
    return R"({"name":")" + name + R"(","file":")" + file + R"(","shape":)" + shape +
           R"(,"dtype":")" + dtype + R"("})";
  }
  static std::string doc(const std::string& tensors, const std::string& more = "") {
    return R"({"format":"lpsim-checkpoint-v1","tensors":[)" + tensors + "]" + more + "}";
  }
  ScratchDir dir_;
};

TEST_F(CheckpointManifestFaults, ValidManifestReads) {
  write_text(manifest(), doc(entry("w", "w.npy", "[2,2]") + "," + entry("b", "b.npy", "[2]"),
                             R"(,"extra":null)"));
  EXPECT_EQ(read_checkpoint(dir_.path()).tensors.size(), 2u);
}

TEST_F(CheckpointManifestFaults, NotJsonGivesLineAndColumn) {
  expect_config_error("{\"format\": \"lpsim-checkpoint-v1\",\n \"tensors\": [,]}",
                      {"line 2", "not valid JSON"});
}

TEST_F(CheckpointManifestFaults, SchemaFaultsGiveTheJsonPointer) {
  expect_config_error(R"({"format":"lpsim-checkpoint-v2","tensors":[]})",
                      {"/format", "lpsim-checkpoint-v1"});
  expect_config_error(R"({"tensors":[]})", {"/format", "missing"});
  expect_config_error(R"({"format":"lpsim-checkpoint-v1"})", {"/tensors", "missing"});
  expect_config_error(R"({"format":"lpsim-checkpoint-v1","tensors":{}})",
                      {"/tensors", "expected an array"});
  expect_config_error(doc(entry("w", "w.npy", "[2,2]"), R"(,"epoch":3)"),
                      {"/epoch", "unknown key"});
  expect_config_error(doc(entry("w", "w.npy", "[2,2]"), R"(,"extra":[1])"),
                      {"/extra", "expected a JSON object"});
  expect_config_error(doc(entry("w", "w.npy", "[2,2]") + ",3"), {"/tensors/1", "JSON object"});
  expect_config_error(doc(R"({"name":"w","file":"w.npy","shape":[2,2]})"),
                      {"/tensors/0/dtype", "missing"});
  expect_config_error(doc(entry("w", "w.npy", "[2,2]", "float16")),
                      {"/tensors/0/dtype", "\"float16\"", "\"float32\""});
  expect_config_error(doc(entry("w", "w.npy", "[2,-2]")), {"/tensors/0/shape/1", "-2"});
  expect_config_error(doc(entry("w", "w.npy", "[2,2.5]")), {"/tensors/0/shape/1"});
  expect_config_error(doc(entry("w", "w.npy", "2")), {"/tensors/0/shape", "expected an array"});
  expect_config_error(doc(entry("", "w.npy", "[2,2]")), {"/tensors/0/name", "non-empty"});
  expect_config_error(doc(entry("b", "b.npy", "[2]") + "," + entry("w", "../w.npy", "[2,2]")),
                      {"/tensors/1/file", "inside the checkpoint directory"});
  expect_config_error(
      doc(R"({"name":"w","file":"w.npy","shape":[2,2],"dtype":"float32","grad":true})"),
      {"/tensors/0/grad", "unknown key"});
}

TEST_F(CheckpointManifestFaults, DuplicatesNameTheManifest) {
  expect_data_error(doc(entry("w", "w.npy", "[2,2]") + "," + entry("w", "b.npy", "[2]")),
                    manifest(), {"/tensors/1/name", "duplicate tensor name \"w\"", "/tensors/0"});
  expect_data_error(doc(entry("w", "w.npy", "[2,2]") + "," + entry("v", "w.npy", "[2,2]")),
                    manifest(), {"/tensors/1/file", "duplicate tensor file"});
}

TEST_F(CheckpointManifestFaults, TensorFileDisagreesWithManifest) {
  expect_data_error(doc(entry("w", "w.npy", "[4]")), dir_.file("w.npy"),
                    {"holds float32 of shape [2,2]", "/tensors/0 says float32 of shape [4]"});
  expect_data_error(doc(entry("w", "w.npy", "[2,2]", "float64")), dir_.file("w.npy"),
                    {"holds float32", "says float64"});
  expect_data_error(doc(entry("w", "b.npy", "[2,2]")), dir_.file("b.npy"),
                    {"shape [2]", "shape [2,2]", "tensor \"w\""});
}

TEST_F(CheckpointManifestFaults, MissingOrBrokenTensorFile) {
  expect_data_error(doc(entry("w", "w.npy", "[2,2]") + "," + entry("c", "c.npy", "[2]")),
                    dir_.file("c.npy"), {"missing tensor file", "/tensors/1", "tensor \"c\""});
  write_text(dir_.file("c.npy"), "not numpy");
  expect_data_error(doc(entry("c", "c.npy", "[2]")), dir_.file("c.npy"), {"bad magic"});
}

TEST(CheckpointDirectoryFaults, MissingDirectoryOrManifest) {
  ScratchDir dir;
  expect_error<core::DataError>([&] { read_checkpoint(dir.path()); }, dir.file("manifest.json"),
                                {"missing checkpoint manifest"});
  expect_error<core::DataError>([&] { read_checkpoint(dir.file("absent")); }, "absent",
                                {"missing checkpoint directory"});
}

TEST(CheckpointDirectoryFaults, UnwritableDirectory) {
  ScratchDir dir;
  write_text(dir.file("file"), "x");
  expect_error<core::DataError>([&] { write_checkpoint(dir.file("file/ckpt"), sample_tensors()); },
                                "file/ckpt", {"cannot create the checkpoint directory"});
}

TEST(CheckpointDirectoryFaults, InvalidTensorsAreInternalErrors) {
  ScratchDir dir;
  EXPECT_THROW(write_checkpoint(dir.path(), {NamedTensor{"a/b", {1}, {1.0f}, DType::kFloat32}}),
               core::InternalError);
  EXPECT_THROW(write_checkpoint(dir.path(), {NamedTensor{"a", {2}, {1.0f}, DType::kFloat32}}),
               core::InternalError);
  EXPECT_THROW(write_checkpoint(dir.path(), {NamedTensor{"a", {1}, {1.0f}, DType::kFloat32},
                                             NamedTensor{"a", {1}, {1.0f}, DType::kFloat32}}),
               core::InternalError);
}

}  // namespace
}  // namespace lpsim::data
