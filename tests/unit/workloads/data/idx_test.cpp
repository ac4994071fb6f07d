// IDX reading and Fashion-MNIST loading: do well-formed files read exactly, does every
// malformed file give a core::DataError naming the file and the fault, and does the real data set
// load as torchvision would?

#include "workloads/data/idx.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "test_util.h"
#include "workloads/data/dataset.h"

namespace lpsim::data {
namespace {

using testing::expect_error;
using testing::ScratchDir;
using testing::write_bytes;
using testing::write_gzip;

void put_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 24));
  out.push_back(static_cast<std::uint8_t>(v >> 16));
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

std::vector<std::uint8_t> idx_file(std::uint32_t magic, const std::vector<std::uint32_t>& dims,
                                   const std::vector<std::uint8_t>& payload) {
  std::vector<std::uint8_t> out;
  put_u32(out, magic);
  for (std::uint32_t d : dims) put_u32(out, d);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

std::vector<std::uint8_t> counting(std::size_t n) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>((i * 37 + 11) % 256);
  return v;
}

// Bytes that do not compress: a gzipped file stays about as large as its payload.
std::vector<std::uint8_t> noise(std::size_t n) {
  std::vector<std::uint8_t> v(n);
  std::uint64_t x = 88172645463325252ull;
  for (std::size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    v[i] = static_cast<std::uint8_t>(x >> 32);
  }
  return v;
}

std::vector<std::uint8_t> images_2x2x3() {
  return idx_file(0x00000803, {2, 2, 3}, {0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255});
}

TEST(IdxReadsWellFormedFiles, ImagesPlainAndGzippedAreIdentical) {
  ScratchDir dir;
  write_bytes(dir.file("images"), images_2x2x3());
  write_gzip(dir.file("images.gz"), images_2x2x3());
  for (const std::string name : {"images", "images.gz"}) {
    const IdxImages images = read_idx_images(dir.file(name));
    EXPECT_EQ(images.count, 2) << name;
    EXPECT_EQ(images.rows, 2) << name;
    EXPECT_EQ(images.cols, 3) << name;
    EXPECT_EQ(images.pixels,
              (std::vector<std::uint8_t>{0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255}))
        << name;
  }
}

TEST(IdxReadsWellFormedFiles, LabelsPlainAndGzipped) {
  ScratchDir dir;
  const auto bytes = idx_file(0x00000801, {4}, {9, 0, 3, 9});
  write_bytes(dir.file("labels"), bytes);
  write_gzip(dir.file("labels.gz"), bytes);
  for (const std::string name : {"labels", "labels.gz"}) {
    EXPECT_EQ(read_idx_labels(dir.file(name), 10), (std::vector<std::int32_t>{9, 0, 3, 9}));
  }
}

TEST(IdxReadsWellFormedFiles, LargeGzippedPayloadAcrossChunks) {
  ScratchDir dir;
  const auto payload = counting(3 * 1000 * 1000 + 7);
  const auto bytes = idx_file(0x00000803, {3000007, 1, 1}, payload);
  write_gzip(dir.file("big.gz"), bytes);
  const IdxImages images = read_idx_images(dir.file("big.gz"));
  EXPECT_EQ(images.count, 3000007);
  EXPECT_EQ(images.pixels, payload);
}

TEST(IdxReadsWellFormedFiles, ZeroImagesIsAnEmptySet) {
  ScratchDir dir;
  write_bytes(dir.file("empty"), idx_file(0x00000803, {0, 28, 28}, {}));
  const IdxImages images = read_idx_images(dir.file("empty"));
  EXPECT_EQ(images.count, 0);
  EXPECT_TRUE(images.pixels.empty());
}

// Every malformed file: a core::DataError naming the file and the specific fault, for the plain
// and the gzipped form alike.
struct Malformed {
  const char* name;
  std::vector<std::uint8_t> bytes;
  std::vector<std::string> fragments;
};

void expect_images_fault(const Malformed& m) {
  SCOPED_TRACE(m.name);
  ScratchDir dir;
  const std::string plain = dir.file(std::string(m.name) + "-idx3-ubyte");
  const std::string gz = plain + ".gz";
  write_bytes(plain, m.bytes);
  write_gzip(gz, m.bytes);
  expect_error<core::DataError>([&] { read_idx_images(plain); }, plain, m.fragments);
  expect_error<core::DataError>([&] { read_idx_images(gz); }, gz, m.fragments);
}

TEST(IdxRejectsMalformedFiles, MissingFile) {
  ScratchDir dir;
  const std::string path = dir.file("no-such-file-idx3-ubyte");
  expect_error<core::DataError>([&] { read_idx_images(path); }, path,
                                {"cannot open", "No such file"});
}

TEST(IdxRejectsMalformedFiles, DirectoryInsteadOfFile) {
  ScratchDir dir;
  expect_error<core::DataError>([&] { read_idx_images(dir.path()); }, dir.path(), {"cannot read"});
}

TEST(IdxRejectsMalformedFiles, EmptyFile) {
  expect_images_fault({"empty", {}, {"truncated header", "expected 4 bytes", "found 0"}});
}

TEST(IdxRejectsMalformedFiles, BadMagicShowsFoundAndExpected) {
  expect_images_fault({"bad-magic",
                       idx_file(0x12340803, {1, 1, 1}, {0}),
                       {"bad magic number 0x12340803", "expected 0x00000803"}});
}

TEST(IdxRejectsMalformedFiles, UnsupportedTypeCode) {
  expect_images_fault({"float-type",
                       idx_file(0x00000D03, {1, 1, 1}, {0, 0, 0, 0}),
                       {"unsupported IDX type code 0x0D (float32)", "expected 0x08"}});
}

TEST(IdxRejectsMalformedFiles, LabelsFileReadAsImagesHasWrongDimensionCount) {
  expect_images_fault({"labels-as-images",
                       idx_file(0x00000801, {3}, {1, 2, 3}),
                       {"wrong number of dimensions", "declares 1, expected 3"}});
}

TEST(IdxRejectsMalformedFiles, ImagesFileReadAsLabelsHasWrongDimensionCount) {
  ScratchDir dir;
  const std::string path = dir.file("images-as-labels");
  write_bytes(path, images_2x2x3());
  expect_error<core::DataError>(
      [&] { read_idx_labels(path, 10); }, path,
      {"wrong number of dimensions", "declares 3, expected 1", "0x00000801"});
}

TEST(IdxRejectsMalformedFiles, TruncatedHeader) {
  std::vector<std::uint8_t> bytes = idx_file(0x00000803, {5, 28, 28}, {});
  bytes.resize(10);
  expect_images_fault(
      {"short-header", bytes, {"truncated header", "expected 12 bytes of dimensions, found 6"}});
}

TEST(IdxRejectsMalformedFiles, TruncatedDataSaysExpectedAndFound) {
  expect_images_fault({"short-data",
                       idx_file(0x00000803, {2, 2, 3}, counting(10)),
                       {"truncated data", "need 12 bytes", "found 10"}});
}

TEST(IdxRejectsMalformedFiles, TrailingGarbage) {
  std::vector<std::uint8_t> bytes = images_2x2x3();
  bytes.insert(bytes.end(), {1, 2, 3});
  expect_images_fault({"trailing", bytes, {"trailing data: 3 bytes", "after the 12 bytes"}});
}

TEST(IdxRejectsMalformedFiles, AbsurdDimensionsRefusedBeforeAllocating) {
  expect_images_fault(
      {"huge",
       idx_file(0x00000803, {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}, {}),
       {"absurd dimensions 4294967295 x 4294967295 x 4294967295", "limit of 2147483648 bytes"}});
  expect_images_fault({"just-too-big",
                       idx_file(0x00000803, {2048, 1024, 1025}, {}),
                       {"absurd dimensions 2048 x 1024 x 1025", "2149580800 bytes"}});
}

TEST(IdxRejectsMalformedFiles, ZeroSizedImages) {
  expect_images_fault(
      {"zero-rows", idx_file(0x00000803, {3, 0, 28}, {}), {"zero-sized images", "3 x 0 x 28"}});
}

TEST(IdxRejectsMalformedFiles, TruncatedGzipStream) {
  ScratchDir dir;
  const std::string whole = dir.file("whole.gz");
  write_gzip(whole, idx_file(0x00000803, {1000, 10, 10}, noise(100000)));
  std::vector<std::uint8_t> bytes = testing::read_bytes(whole);
  ASSERT_GT(bytes.size(), 90000u);
  bytes.resize(bytes.size() / 2);
  const std::string cut = dir.file("cut-images.gz");
  write_bytes(cut, bytes);
  expect_error<core::DataError>([&] { read_idx_images(cut); }, cut,
                                {"truncated data", "need 100000 bytes", "gzip stream ends early"});
}

TEST(IdxRejectsMalformedFiles, CorruptGzipData) {
  ScratchDir dir;
  const std::string whole = dir.file("whole.gz");
  write_gzip(whole, idx_file(0x00000803, {1000, 10, 10}, counting(100000)));
  std::vector<std::uint8_t> bytes = testing::read_bytes(whole);
  for (std::size_t i = 20; i < bytes.size() - 8; i += 7) bytes[i] ^= 0x5A;
  const std::string bad = dir.file("corrupt-images.gz");
  write_bytes(bad, bytes);
  expect_error<core::DataError>([&] { read_idx_images(bad); }, bad, {"corrupt gzip data"});
}

TEST(IdxRejectsMalformedFiles, LabelOutOfRange) {
  ScratchDir dir;
  const std::string path = dir.file("labels-idx1-ubyte");
  write_bytes(path, idx_file(0x00000801, {4}, {1, 9, 10, 3}));
  expect_error<core::DataError>([&] { read_idx_labels(path, 10); }, path,
                                {"label 10 of sample 2 is out of range [0, 10)", "byte 10"});
}

TEST(IdxRejectsMalformedFiles, ImageLabelCountMismatchNamesBothFiles) {
  ScratchDir dir;
  const std::string images = dir.file("img");
  const std::string labels = dir.file("lab");
  write_bytes(images, images_2x2x3());
  write_bytes(labels, idx_file(0x00000801, {3}, {0, 1, 2}));
  const std::string message =
      expect_error<core::DataError>([&] { load_idx_dataset(images, labels, 10, 0.0f, 1.0f, 0); },
                                    labels, {"count mismatch", "3 labels", "holds 2 images"});
  EXPECT_NE(message.find(images), std::string::npos) << message;
}

// A miniature Fashion-MNIST directory: plain images, gzipped labels.
void write_mini_fashion(const ScratchDir& dir, const std::string& prefix, std::uint32_t n) {
  std::vector<std::uint8_t> pixels(n * 28 * 28);
  for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<std::uint8_t>(i % 256);
  std::vector<std::uint8_t> labels(n);
  for (std::uint32_t i = 0; i < n; ++i) labels[i] = static_cast<std::uint8_t>((9 + i) % 10);
  write_bytes(dir.file(prefix + "-images-idx3-ubyte"), idx_file(0x00000803, {n, 28, 28}, pixels));
  write_gzip(dir.file(prefix + "-labels-idx1-ubyte.gz"), idx_file(0x00000801, {n}, labels));
}

TEST(FashionMnistLoadsLikeTorchvision, MiniatureDirectoryPlainAndGzipMixed) {
  ScratchDir dir;
  write_mini_fashion(dir, "train", 5);
  write_mini_fashion(dir, "t10k", 3);
  const Dataset train = load_fashion_mnist(dir.path(), Split::kTrain, 0);
  EXPECT_EQ(train.size(), 5);
  EXPECT_EQ(train.images.rows(), 5);
  EXPECT_EQ(train.images.cols(), 784);
  EXPECT_EQ(train.sample_shape, (ops::Shape{1, 28, 28}));
  EXPECT_EQ(train.num_classes, 10);
  EXPECT_EQ(train.labels, (std::vector<std::int32_t>{9, 0, 1, 2, 3}));
  // Bit-exact torchvision arithmetic: (p / 255 - mean) / std in float.
  for (int k : {0, 1, 7, 255, 300}) {
    const int p = k % 256;
    const float expected = (static_cast<float>(p) / 255.0f - 0.2860f) / 0.3530f;
    EXPECT_EQ(train.images(k / 784, k % 784), expected) << "pixel " << p;
  }
  EXPECT_NE(train.origin.find("train-images-idx3-ubyte"), std::string::npos) << train.origin;

  const Dataset test = load_fashion_mnist(dir.path(), Split::kTest, 0);
  EXPECT_EQ(test.size(), 3);
  const Dataset limited = load_fashion_mnist(dir.path(), Split::kTrain, 2);
  EXPECT_EQ(limited.size(), 2);
  EXPECT_EQ(limited.images.rows(), 2);
  EXPECT_EQ(limited.images, train.images.topRows(2));
  EXPECT_EQ(load_fashion_mnist(dir.path(), Split::kTrain, 100).size(), 5);
}

TEST(FashionMnistLoadsLikeTorchvision, MissingFilesNameBothCandidates) {
  ScratchDir dir;
  const std::string plain = dir.file("train-images-idx3-ubyte");
  expect_error<core::DataError>([&] { load_fashion_mnist(dir.path(), Split::kTrain, 0); }, plain,
                                {"missing data file", plain + ".gz"});
}

TEST(FashionMnistLoadsLikeTorchvision, WrongImageSizeRejected) {
  ScratchDir dir;
  write_bytes(dir.file("t10k-images-idx3-ubyte"), images_2x2x3());
  write_bytes(dir.file("t10k-labels-idx1-ubyte"), idx_file(0x00000801, {2}, {0, 1}));
  expect_error<core::DataError>([&] { load_fashion_mnist(dir.path(), Split::kTest, 0); },
                                dir.file("t10k-images-idx3-ubyte"), {"must be 28 x 28", "2 x 3"});
}

constexpr const char* kFashionDir = "/usr/share/datasets/fashion-mnist";

TEST(FashionMnistLoadsLikeTorchvision, RealTrainingSet) {
  if (!std::filesystem::exists(kFashionDir)) GTEST_SKIP() << kFashionDir << " is not installed";
  const Dataset train = load_fashion_mnist(kFashionDir, Split::kTrain);
  ASSERT_EQ(train.size(), 60000);
  ASSERT_EQ(train.images.rows(), 60000);
  ASSERT_EQ(train.images.cols(), 784);
  EXPECT_EQ(train.labels[0], 9);  // an ankle boot
  std::vector<int> per_class(10, 0);
  for (std::int32_t label : train.labels) {
    ASSERT_GE(label, 0);
    ASSERT_LT(label, 10);
    ++per_class[static_cast<std::size_t>(label)];
  }
  for (int count : per_class) EXPECT_EQ(count, 6000);
  // Plain loops: this binary is compiled without optimisation (LIGHT), where Eigen's
  // expression templates over 47 million values take seconds.
  const float* pixel = train.images.data();
  const auto count = static_cast<std::size_t>(train.images.size());
  double sum = 0.0;
  for (std::size_t i = 0; i < count; ++i) sum += pixel[i];
  const double mean = sum / static_cast<double>(count);
  double squares = 0.0;
  for (std::size_t i = 0; i < count; ++i) squares += (pixel[i] - mean) * (pixel[i] - mean);
  const double var = squares / static_cast<double>(count);
  EXPECT_NEAR(mean, 0.0, 2e-3);
  EXPECT_NEAR(std::sqrt(var), 1.0, 5e-3);
  const float lowest = (0.0f - kFashionMnistMean) / kFashionMnistStd;
  EXPECT_EQ(*std::min_element(pixel, pixel + count), lowest);
}

TEST(FashionMnistLoadsLikeTorchvision, RealTestSet) {
  if (!std::filesystem::exists(kFashionDir)) GTEST_SKIP() << kFashionDir << " is not installed";
  const Dataset test = load_fashion_mnist(kFashionDir, Split::kTest);
  ASSERT_EQ(test.size(), 10000);
  EXPECT_EQ(test.labels[0], 9);
  EXPECT_EQ(*std::min_element(test.labels.begin(), test.labels.end()), 0);
  EXPECT_EQ(*std::max_element(test.labels.begin(), test.labels.end()), 9);
  const Dataset limited = load_fashion_mnist(kFashionDir, Split::kTest, 100);
  EXPECT_EQ(limited.size(), 100);
  EXPECT_EQ(limited.images, test.images.topRows(100));
}

}  // namespace
}  // namespace lpsim::data
