#include "workloads/data/dataset.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <filesystem>

#include "core/errors.h"
#include "workloads/data/idx.h"

namespace lpsim::data {
namespace {

// The plain file if it exists, else the ".gz" one; core::DataError naming both when neither does.
std::string find_plain_or_gz(const std::string& dir, const std::string& base) {
  const std::filesystem::path plain = std::filesystem::path(dir) / base;
  const std::filesystem::path gz = std::filesystem::path(dir) / (base + ".gz");
  std::error_code ec;
  if (std::filesystem::is_regular_file(plain, ec)) return plain.string();
  if (std::filesystem::is_regular_file(gz, ec)) return gz.string();
  throw core::DataError(
      plain.string(), "",
      fmt::format("missing data file: neither {} nor {} exists", plain.string(), gz.string()));
}

}  // namespace

const char* split_name(Split split) { return split == Split::kTrain ? "train" : "test"; }

Dataset load_idx_dataset(const std::string& images_path, const std::string& labels_path,
                         int num_classes, float mean, float std_dev, std::int64_t limit) {
  LPSIM_ASSERT(limit >= 0, "load_idx_dataset needs limit >= 0");
  LPSIM_ASSERT(std_dev > 0.0f, "load_idx_dataset needs std_dev > 0");
  const IdxImages raw = read_idx_images(images_path);
  std::vector<std::int32_t> labels = read_idx_labels(labels_path, num_classes);
  if (static_cast<std::int64_t>(labels.size()) != raw.count) {
    throw core::DataError(labels_path, "",
                          fmt::format("image/label count mismatch: {} labels, but images file {} "
                                      "holds {} images",
                                      labels.size(), images_path, raw.count));
  }
  const std::int64_t n = limit == 0 ? raw.count : std::min(limit, raw.count);
  const std::int64_t features = raw.rows * raw.cols;

  // The same float operations as torchvision: ToTensor divides by 255, Normalize
  // subtracts the mean and divides by the std.
  std::array<float, 256> table{};
  for (int p = 0; p < 256; ++p) {
    table[static_cast<std::size_t>(p)] = (static_cast<float>(p) / 255.0f - mean) / std_dev;
  }

  Dataset data;
  data.sample_shape = ops::Shape{1, raw.rows, raw.cols};
  data.images.resize(n, features);
  const std::uint8_t* src = raw.pixels.data();
  float* dst = data.images.data();
  for (std::int64_t i = 0; i < n * features; ++i) dst[i] = table[src[i]];
  labels.resize(static_cast<std::size_t>(n));
  data.labels = std::move(labels);
  data.num_classes = num_classes;
  data.origin = fmt::format("{} + {} ({} of {} samples)", images_path, labels_path, n, raw.count);
  return data;
}

Dataset load_fashion_mnist(const std::string& dir, Split split, std::int64_t limit) {
  const std::string prefix = split == Split::kTrain ? "train" : "t10k";
  const std::string images_path = find_plain_or_gz(dir, prefix + "-images-idx3-ubyte");
  const std::string labels_path = find_plain_or_gz(dir, prefix + "-labels-idx1-ubyte");
  Dataset data = load_idx_dataset(images_path, labels_path, kFashionMnistClasses, kFashionMnistMean,
                                  kFashionMnistStd, limit);
  if (data.sample_shape != ops::Shape{1, 28, 28}) {
    throw core::DataError(images_path, "byte 8",
                          fmt::format("Fashion-MNIST images must be 28 x 28, found {} x {}",
                                      data.sample_shape.h, data.sample_shape.w));
  }
  data.origin = fmt::format("fashion_mnist {}: {}", split_name(split), data.origin);
  return data;
}

}  // namespace lpsim::data
