// Token windows: does each dtype load into inputs [N, T] and sample-major targets [N*T], is every
// bad file refused with a core::DataError naming it and what was expected, and is the synthetic
// token set deterministic, in the same layout, and learnable by a bigram predictor?

#include "workloads/data/tokens.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <vector>

#include "test_util.h"
#include "workloads/data/npy.h"

namespace lpsim::data {
namespace {

using testing::expect_error;
using testing::ScratchDir;
using testing::write_bytes;

const std::string kTokenFixtures = std::string(LPSIM_SOURCE_DIR) + "/tests/fixtures/data/";

// Windows [3, 5] (T = 4): window i is 10i + (0..4), plus a large id in the last window.
std::vector<std::int64_t> three_windows(std::int64_t last) {
  return {0, 1, 2, 3, 4, 10, 11, 12, 13, 14, 20, 21, 22, 23, last};
}

void expect_token_layout(const Dataset& d, const std::vector<std::int64_t>& windows, std::int64_t n,
                         std::int64_t context, std::int64_t vocab) {
  const std::int64_t width = context + 1;
  EXPECT_EQ(d.size(), n);
  EXPECT_EQ(d.sample_shape, (ops::Shape{context, 1, 1}));
  EXPECT_EQ(d.labels_per_sample, context);
  EXPECT_EQ(d.num_classes, vocab);
  ASSERT_EQ(d.images.rows(), n);
  ASSERT_EQ(d.images.cols(), context);
  ASSERT_EQ(static_cast<std::int64_t>(d.labels.size()), n * context);
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t t = 0; t < context; ++t) {
      const auto at = static_cast<std::size_t>(i * width + t);
      EXPECT_EQ(d.images(i, t), static_cast<float>(windows[at])) << i << "," << t;
      EXPECT_EQ(d.labels[static_cast<std::size_t>(i * context + t)], windows[at + 1])
          << i << "," << t;
    }
  }
}

TEST(TokensLoadInputsAndShiftedTargets, EveryDtype) {
  ScratchDir dir;
  for (const auto& [dtype, last, vocab] :
       {std::tuple{DType::kUint8, 255, 256}, std::tuple{DType::kUint16, 65535, 65536},
        std::tuple{DType::kInt64, 16777215, 16777216}}) {
    SCOPED_TRACE(dtype_name(dtype));
    const std::vector<std::int64_t> windows = three_windows(last);
    write_npy(dir.file("train.npy"), {3, 5}, windows, dtype);
    write_npy(dir.file("test.npy"), {1, 5}, std::vector<std::int64_t>{5, 4, 3, 2, 1}, dtype);
    const Dataset train = load_tokens(dir.path(), Split::kTrain, 4, vocab);
    expect_token_layout(train, windows, 3, 4, vocab);
    // The largest id is an exact float.
    EXPECT_EQ(train.labels.back(), last);
    EXPECT_NE(train.origin.find("train.npy"), std::string::npos) << train.origin;
    const Dataset test = load_tokens(dir.path(), Split::kTest, 4, vocab);
    expect_token_layout(test, {5, 4, 3, 2, 1}, 1, 4, vocab);
  }
}

TEST(TokensLoadInputsAndShiftedTargets, LimitKeepsTheFirstWindows) {
  ScratchDir dir;
  const std::vector<std::int64_t> windows = three_windows(24);
  write_npy(dir.file("train.npy"), {3, 5}, windows, DType::kUint8);
  expect_token_layout(load_tokens(dir.path(), Split::kTrain, 4, 25, 2), windows, 2, 4, 25);
  expect_token_layout(load_tokens(dir.path(), Split::kTrain, 4, 25, 9), windows, 3, 4, 25);
  // T = 1: one target per window.
  write_npy(dir.file("train.npy"), {2, 2}, std::vector<std::int64_t>{7, 8, 9, 0}, DType::kUint8);
  expect_token_layout(load_tokens(dir.path(), Split::kTrain, 1, 10), {7, 8, 9, 0}, 2, 1, 10);
}

TEST(TokensRefuseBadFiles, EachFaultNamesTheFileAndWhatWasExpected) {
  ScratchDir dir;
  const std::string train = dir.file("train.npy");
  const auto load = [&] { load_tokens(dir.path(), Split::kTrain, 4, 256); };

  expect_error<core::DataError>(load, train, {"missing token file", "train.npy and test.npy"});
  write_npy(dir.file("test.npy"), {1, 5}, std::vector<std::int64_t>{1, 2, 3, 4, 5}, DType::kUint8);
  std::filesystem::create_directory(train);  // a directory is no file either
  expect_error<core::DataError>(load, train, {"missing token file"});
  std::filesystem::remove(train);

  write_npy(train, {1, 5}, std::vector<float>{1, 2, 3, 4, 5});
  expect_error<core::DataError>(load, train,
                                {"holds float32 ('<f4') values",
                                 "uint8 ('|u1'), uint16 ('<u2') "
                                 "or int64 ('<i8')"});
  write_npy(train, {1, 5}, std::vector<std::int64_t>{1, 2, 3, 4, 5}, DType::kInt32);
  expect_error<core::DataError>(load, train, {"holds int32 ('<i4') values", "uint8 ('|u1')"});
  write_bytes(train, testing::read_bytes(kTokenFixtures + "numpy_big_endian_f4.npy"));
  expect_error<core::DataError>(load, train,
                                {"unsupported dtype '>f4'", "token ids must be uint8"});

  // NumPy's own uint8 file, 1-D.
  std::filesystem::copy_file(kTokenFixtures + "numpy_u1.npy", train,
                             std::filesystem::copy_options::overwrite_existing);
  expect_error<core::DataError>(load, train, {"shape (3,) is not 2-D", "[N, 5]"});
  write_npy(train, {1, 1, 5}, std::vector<std::int64_t>{1, 2, 3, 4, 5}, DType::kUint8);
  expect_error<core::DataError>(load, train, {"shape (1, 1, 5) is not 2-D"});

  write_npy(train, {1, 9}, std::vector<std::int64_t>(9, 1), DType::kUint8);
  expect_error<core::DataError>(load, train,
                                {"windows of 9 tokens, expected 5",
                                 "the window length must be the model's context + 1 (4 + 1)"});

  write_npy(train, {0, 5}, std::vector<std::int64_t>{}, DType::kUint16);
  expect_error<core::DataError>(load, train, {"shape (0, 5) holds no windows"});

  // Element 7 of uint16 data: 2 bytes each after a 128-byte header.
  write_npy(train, {2, 5}, std::vector<std::int64_t>{1, 2, 3, 4, 5, 6, 7, 256, 9, 10},
            DType::kUint16);
  expect_error<core::DataError>(
      load, train,
      {"byte 142", "token id 256 at window 1, position 2 (element 7) is outside [0, 256)"});
  write_npy(train, {1, 5}, std::vector<std::int64_t>{1, 2, -3, 4, 5}, DType::kInt64);
  expect_error<core::DataError>(load, train,
                                {"token id -3 at window 0, position 2", "outside [0, 256)"});

  write_npy(train, {1, 5}, std::vector<std::int64_t>{1, 2, 3, 4, 5}, DType::kInt64);
  expect_error<core::DataError>(
      [&] { load_tokens(dir.path(), Split::kTrain, 4, kMaxTokenVocab + 1); }, train,
      {"vocabulary of 16777217 tokens", "2^24"});
  EXPECT_EQ(load_tokens(dir.path(), Split::kTrain, 4, 6).size(), 1);
}

SyntheticTokensSpec small_token_spec() {
  SyntheticTokensSpec spec;
  spec.context = 16;
  spec.vocab = 32;
  spec.train_count = 256;
  spec.test_count = 64;
  spec.seed = 3;
  return spec;
}

TEST(SyntheticTokensAreDeterministic, SameSpecSameWindowsOtherSeedOthers) {
  const SyntheticTokensSpec spec = small_token_spec();
  const Dataset a = make_synthetic_tokens(spec, Split::kTrain);
  const Dataset b = make_synthetic_tokens(spec, Split::kTrain);
  EXPECT_EQ(a.images, b.images);
  EXPECT_EQ(a.labels, b.labels);
  SyntheticTokensSpec other = spec;
  other.seed = 4;
  EXPECT_NE(make_synthetic_tokens(other, Split::kTrain).labels, a.labels);
  EXPECT_NE(make_synthetic_tokens(spec, Split::kTest).images.topRows(4), a.images.topRows(4));
  // Pins the chain and the sampling: a change here changes every run on this data.
  SyntheticTokensSpec tiny;
  tiny.context = 4;
  tiny.vocab = 8;
  tiny.train_count = 1;
  tiny.seed = 1;
  const Dataset pinned = make_synthetic_tokens(tiny, Split::kTrain);
  std::vector<std::int32_t> window = {static_cast<std::int32_t>(pinned.images(0, 0))};
  window.insert(window.end(), pinned.labels.begin(), pinned.labels.end());
  EXPECT_EQ(window, (std::vector<std::int32_t>{7, 7, 1, 6, 4}));
}

TEST(SyntheticTokensHaveTheTokensLayout, TargetsAreTheNextInputs) {
  const SyntheticTokensSpec spec = small_token_spec();
  const Dataset d = make_synthetic_tokens(spec, Split::kTrain);
  EXPECT_EQ(d.size(), spec.train_count);
  EXPECT_EQ(make_synthetic_tokens(spec, Split::kTest).size(), spec.test_count);
  EXPECT_EQ(d.sample_shape, (ops::Shape{16, 1, 1}));
  EXPECT_EQ(d.labels_per_sample, 16);
  EXPECT_EQ(d.num_classes, 32);
  ASSERT_EQ(d.images.cols(), 16);
  ASSERT_EQ(d.labels.size(), 256u * 16u);
  for (std::int64_t i = 0; i < d.size(); ++i) {
    for (std::int64_t t = 0; t + 1 < 16; ++t) {
      ASSERT_EQ(d.images(i, t + 1),
                static_cast<float>(d.labels[static_cast<std::size_t>(i * 16 + t)]));
    }
  }
  for (std::int32_t id : d.labels) ASSERT_TRUE(id >= 0 && id < 32) << id;
}

TEST(SyntheticTokensAreLearnable, BigramPredictorFarAboveChance) {
  const SyntheticTokensSpec spec = small_token_spec();
  const Dataset train = make_synthetic_tokens(spec, Split::kTrain);
  const Dataset test = make_synthetic_tokens(spec, Split::kTest);
  // Successor counts from the training windows; predict the most frequent one.
  std::map<std::pair<int, int>, int> counts;
  for (std::int64_t i = 0; i < train.size(); ++i) {
    for (std::int64_t t = 0; t < 16; ++t) {
      ++counts[{static_cast<int>(train.images(i, t)),
                train.labels[static_cast<std::size_t>(i * 16 + t)]}];
    }
  }
  std::vector<int> best(32, 0), best_count(32, -1);
  for (const auto& [pair, n] : counts) {
    if (n > best_count[static_cast<std::size_t>(pair.first)]) {
      best_count[static_cast<std::size_t>(pair.first)] = n;
      best[static_cast<std::size_t>(pair.first)] = pair.second;
    }
  }
  std::int64_t correct = 0;
  for (std::int64_t i = 0; i < test.size(); ++i) {
    for (std::int64_t t = 0; t < 16; ++t) {
      correct += best[static_cast<std::size_t>(test.images(i, t))] ==
                 test.labels[static_cast<std::size_t>(i * 16 + t)];
    }
  }
  const double accuracy = static_cast<double>(correct) / static_cast<double>(test.labels.size());
  // At best 0.6 + 0.1/32 (a successor drawn twice adds a little); chance is 1/32.
  EXPECT_GT(accuracy, 0.5);
  EXPECT_LT(accuracy, 0.75);
}

TEST(ByteWindowsAreCutAsDocumented, WindowsOverlapByOneByteAndTheLastTenthIsTest) {
  // L = 44, T = 2: n = floor(43 / 2) = 21 windows, the last 2 (bytes 38..42) for test; byte
  // 43 is unused.
  std::string bytes;
  for (int i = 0; i < 44; ++i) bytes.push_back(static_cast<char>('A' + i));
  const ByteWindows w = cut_byte_windows(bytes, 2);
  EXPECT_EQ(w.train_count, 19);
  EXPECT_EQ(w.test_count, 2);
  ASSERT_EQ(w.train.size(), 57u);
  ASSERT_EQ(w.test.size(), 6u);
  EXPECT_EQ(std::string(w.train.begin(), w.train.begin() + 6), "ABCCDE");
  EXPECT_EQ(std::string(w.test.begin(), w.test.end()), std::string("ghiijk"));
  // Too short for one window, or exactly one.
  EXPECT_EQ(cut_byte_windows("abc", 3).train_count, 0);
  const ByteWindows one = cut_byte_windows("abcd", 3);
  EXPECT_EQ(one.train_count, 1);
  EXPECT_EQ(one.test_count, 0);
  EXPECT_EQ(cut_byte_windows("", 1).train_count, 0);
}

TEST(ByteWindowsAreWrittenWhole, BothFilesLoadAndNothingElseIsLeft) {
  ScratchDir dir;
  std::string bytes;
  for (int i = 0; i < 200; ++i) bytes.push_back(static_cast<char>(i));
  const std::string out = dir.file("made/here");
  write_byte_windows(out, cut_byte_windows(bytes, 9));  // 22 windows: 20 + 2
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(out)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"test.npy", "train.npy"}));
  EXPECT_EQ(read_npy_header(out + "/train.npy").dtype, DType::kUint8);
  const Dataset train = load_tokens(out, Split::kTrain, 9, 256);
  const Dataset test = load_tokens(out, Split::kTest, 9, 256);
  EXPECT_EQ(train.size(), 20);
  EXPECT_EQ(test.size(), 2);
  EXPECT_EQ(train.images(1, 0), 9.0f);
  EXPECT_EQ(test.labels.back(), 198);

  const std::string blocked = dir.file("file");
  write_bytes(blocked, {1});
  expect_error<core::DataError>(
      [&] { write_byte_windows(blocked + "/x", cut_byte_windows(bytes, 9)); }, blocked + "/x",
      {"cannot make the output directory"});
  expect_error<core::DataError>([&] { write_byte_windows(blocked, cut_byte_windows(bytes, 9)); },
                                blocked, {"not a directory"});
}

}  // namespace
}  // namespace lpsim::data
