#include "workloads/data/tokens.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include "core/errors.h"
#include "workloads/data/file_io.h"
#include "workloads/data/npy.h"
#include "workloads/data/seed.h"
#include "workloads/ops/rng.h"

namespace lpsim::data {
namespace {

constexpr std::uint64_t kTokenChainStream = 0;
constexpr std::uint64_t kTokenTrainStream = 1;
constexpr std::uint64_t kTokenTestStream = 2;

// The Markov chain's preferred successors and their probabilities; the rest is uniform.
constexpr int kSuccessors = 3;
constexpr std::array<double, kSuccessors> kSuccessorProbability = {0.6, 0.2, 0.1};

// The first n windows [rows, T+1] (C order) as a Dataset: inputs [:, :T], targets [:, 1:].
Dataset windows_to_dataset(const std::vector<std::int64_t>& windows, std::int64_t n,
                           std::int64_t context, std::int64_t vocab) {
  const std::int64_t width = context + 1;
  LPSIM_ASSERT(static_cast<std::int64_t>(windows.size()) >= n * width,
               "windows_to_dataset: fewer windows than asked for");
  Dataset data;
  data.sample_shape = ops::Shape{context, 1, 1};
  data.images.resize(n, context);
  data.labels.resize(static_cast<std::size_t>(n * context));
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t* w = windows.data() + i * width;
    for (std::int64_t t = 0; t < context; ++t) {
      data.images(i, t) = static_cast<float>(w[t]);
      data.labels[static_cast<std::size_t>(i * context + t)] = static_cast<std::int32_t>(w[t + 1]);
    }
  }
  data.labels_per_sample = context;
  data.num_classes = static_cast<int>(vocab);
  return data;
}

}  // namespace

const char* tokens_file_name(Split split) {
  return split == Split::kTrain ? "train.npy" : "test.npy";
}

Dataset load_tokens(const std::string& dir, Split split, std::int64_t context, std::int64_t vocab,
                    std::int64_t limit) {
  LPSIM_ASSERT(context >= 1, "load_tokens needs context >= 1");
  LPSIM_ASSERT(limit >= 0, "load_tokens needs limit >= 0");
  const std::string path = (std::filesystem::path(dir) / tokens_file_name(split)).string();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw core::DataError(path, "",
                          fmt::format("missing token file: {} does not exist (a tokens data set "
                                      "is a directory holding train.npy and test.npy; `lpsim "
                                      "tokens` makes one)",
                                      path));
  }
  if (vocab < 1 || vocab > kMaxTokenVocab) {
    throw core::DataError(path, "",
                          fmt::format("a vocabulary of {} tokens is not supported: token ids are "
                                      "held as exact float32 values, so it must be 1..{} (2^24)",
                                      vocab, kMaxTokenVocab));
  }
  const NpyHeader header = [&] {
    try {
      return read_npy_header(path);
    } catch (const core::DataError& e) {
      if (e.problem().rfind("unsupported dtype", 0) != 0) throw;
      throw core::DataError(e.file(), e.where(),
                            e.problem() +
                                "; token ids must be uint8 ('|u1'), uint16 ('<u2') "
                                "or int64 ('<i8')");
    }
  }();
  if (header.dtype != DType::kUint8 && header.dtype != DType::kUint16 &&
      header.dtype != DType::kInt64) {
    throw core::DataError(path, "header",
                          fmt::format("holds {} ('{}') values, expected token ids as uint8 "
                                      "('|u1'), uint16 ('<u2') or int64 ('<i8')",
                                      dtype_name(header.dtype), dtype_descr(header.dtype)));
  }
  const std::int64_t width = context + 1;
  if (header.shape.size() != 2) {
    throw core::DataError(path, "header",
                          fmt::format("shape {} is not 2-D, expected windows [N, {}] (the model's "
                                      "context {} + 1)",
                                      shape_text(header.shape), width, context));
  }
  if (header.shape[1] != width) {
    throw core::DataError(path, "header",
                          fmt::format("shape {}: windows of {} tokens, expected {}: the window "
                                      "length must be the model's context + 1 ({} + 1)",
                                      shape_text(header.shape), header.shape[1], width, context));
  }
  const std::int64_t rows = header.shape[0];
  if (rows == 0) {
    throw core::DataError(
        path, "header",
        fmt::format("shape {} holds no windows, expected at least one", shape_text(header.shape)));
  }
  const NpyArray<std::int64_t> array = read_npy<std::int64_t>(path);
  const auto bad = std::find_if(array.data.begin(), array.data.end(),
                                [vocab](std::int64_t id) { return id < 0 || id >= vocab; });
  if (bad != array.data.end()) {
    const std::int64_t element = bad - array.data.begin();
    throw core::DataError(
        path,
        fmt::format("byte {}", header.data_offset +
                                   element * static_cast<std::int64_t>(dtype_size(header.dtype))),
        fmt::format("token id {} at window {}, position {} (element {}) is outside [0, {}) "
                    "(the model's vocabulary)",
                    *bad, element / width, element % width, element, vocab));
  }
  const std::int64_t n = limit == 0 ? rows : std::min(limit, rows);
  Dataset data = windows_to_dataset(array.data, n, context, vocab);
  data.origin =
      fmt::format("tokens {}: {} ({} of {} windows of {} {} ids, vocabulary {})", split_name(split),
                  path, n, rows, width, dtype_name(header.dtype), vocab);
  return data;
}

Dataset make_synthetic_tokens(const SyntheticTokensSpec& spec, Split split) {
  LPSIM_ASSERT(spec.context >= 1, "make_synthetic_tokens: context must be >= 1");
  LPSIM_ASSERT(spec.vocab >= 2 && spec.vocab <= kMaxTokenVocab,
               "make_synthetic_tokens: vocab must be in 2..2^24");
  LPSIM_ASSERT(spec.train_count >= 0 && spec.test_count >= 0,
               "make_synthetic_tokens: window counts must be >= 0");
  const auto vocab = static_cast<std::uint64_t>(spec.vocab);
  const std::int64_t width = spec.context + 1;
  const std::int64_t n = split == Split::kTrain ? spec.train_count : spec.test_count;

  // [V, 3] preferred successors, token by token.
  ops::Rng chain_rng(derive_seed(spec.seed, kTokenChainStream));
  std::vector<std::int64_t> successors(static_cast<std::size_t>(spec.vocab) * kSuccessors);
  for (std::int64_t& s : successors) s = static_cast<std::int64_t>(chain_rng.uniform_int(vocab));

  ops::Rng rng(
      derive_seed(spec.seed, split == Split::kTrain ? kTokenTrainStream : kTokenTestStream));
  std::vector<std::int64_t> windows(static_cast<std::size_t>(n * width));
  for (std::int64_t i = 0; i < n; ++i) {
    std::int64_t* w = windows.data() + i * width;
    w[0] = static_cast<std::int64_t>(rng.uniform_int(vocab));
    for (std::int64_t t = 1; t < width; ++t) {
      const double u = rng.uniform();
      const std::int64_t* preferred =
          successors.data() + static_cast<std::size_t>(w[t - 1]) * kSuccessors;
      double cumulative = 0.0;
      std::int64_t next = -1;
      for (int k = 0; k < kSuccessors && next < 0; ++k) {
        cumulative += kSuccessorProbability[static_cast<std::size_t>(k)];
        if (u < cumulative) next = preferred[k];
      }
      w[t] = next >= 0 ? next : static_cast<std::int64_t>(rng.uniform_int(vocab));
    }
  }
  Dataset data = windows_to_dataset(windows, n, spec.context, spec.vocab);
  data.origin = fmt::format("synthetic_tokens {}: seed {}, vocabulary {}, context {}, {} windows",
                            split_name(split), spec.seed, spec.vocab, spec.context, n);
  return data;
}

ByteWindows cut_byte_windows(const std::string& bytes, std::int64_t context) {
  LPSIM_ASSERT(context >= 1, "cut_byte_windows needs context >= 1");
  const auto length = static_cast<std::int64_t>(bytes.size());
  const std::int64_t n = length < 1 ? 0 : (length - 1) / context;
  const std::int64_t width = context + 1;
  ByteWindows w;
  w.context = context;
  w.test_count = n / 10;
  w.train_count = n - w.test_count;
  const auto window = [&](std::int64_t i, std::vector<std::uint8_t>& out) {
    const char* first = bytes.data() + i * context;
    out.insert(out.end(), reinterpret_cast<const std::uint8_t*>(first),
               reinterpret_cast<const std::uint8_t*>(first + width));
  };
  w.train.reserve(static_cast<std::size_t>(w.train_count * width));
  w.test.reserve(static_cast<std::size_t>(w.test_count * width));
  for (std::int64_t i = 0; i < w.train_count; ++i) window(i, w.train);
  for (std::int64_t i = w.train_count; i < n; ++i) window(i, w.test);
  return w;
}

void write_byte_windows(const std::string& dir, const ByteWindows& windows) {
  const std::int64_t width = windows.context + 1;
  LPSIM_ASSERT(static_cast<std::int64_t>(windows.train.size()) == windows.train_count * width &&
                   static_cast<std::int64_t>(windows.test.size()) == windows.test_count * width,
               "write_byte_windows: the windows do not match their counts");
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool existed = fs::exists(dir, ec);
  if (!existed) {
    fs::create_directories(dir, ec);
    if (ec) {
      throw core::DataError(dir, "", "cannot make the output directory: " + ec.message());
    }
  } else if (!fs::is_directory(dir, ec)) {
    throw core::DataError(dir, "", "cannot write into it: it exists and is not a directory");
  }
  const std::string tag = ".tmp-" + std::to_string(static_cast<long>(::getpid()));
  const std::string train = (fs::path(dir) / tokens_file_name(Split::kTrain)).string();
  const std::string test = (fs::path(dir) / tokens_file_name(Split::kTest)).string();
  const auto cleanup = [&] {
    std::remove((train + tag).c_str());
    std::remove((test + tag).c_str());
    if (!existed) fs::remove(dir, ec);  // only when still empty
  };
  try {
    write_file_atomically(
        train + tag, encode_npy({windows.train_count, width}, windows.train.data(), DType::kUint8));
    write_file_atomically(
        test + tag, encode_npy({windows.test_count, width}, windows.test.data(), DType::kUint8));
    for (const std::string& path : {train, test}) {
      if (std::rename((path + tag).c_str(), path.c_str()) != 0) {
        const int err = errno;
        throw core::DataError(path, "",
                              std::string("cannot write the file: rename of ") + path + tag + ": " +
                                  std::strerror(err));
      }
    }
  } catch (...) {
    cleanup();
    throw;
  }
  sync_directory(dir);
}

}  // namespace lpsim::data
