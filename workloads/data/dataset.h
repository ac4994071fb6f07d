#pragma once
// Data sets held in memory: Fashion-MNIST (or any IDX image/label pair), token windows
// (tokens.h) and seeded synthetic sets for fast tests.
//
// Shapes (legend in workloads/ops/tensor.h; L labels per sample): images [N, C*H*W], one
// normalised sample per row in CHW order; labels [N*L] sample-major with values in
// [0, num_classes). An image set has L = 1; a token set has L = T, one next-token target per
// input position (tokens.h).
//
// Contract: loaders read whole files and check them (see idx.h); a limit keeps the first
// `limit` samples in file order. Normalisation is computed in float exactly as
// torchvision's ToTensor + Normalize do it, x = (float(p) / 255 - mean) / std, so that a
// PyTorch reference sees bit-identical inputs.

#include <cstdint>
#include <string>
#include <vector>

#include "workloads/ops/tensor.h"

namespace lpsim::data {

enum class Split { kTrain, kTest };

// "train" or "test".
const char* split_name(Split split);

struct Dataset {
  ops::Shape sample_shape;             // C, H, W of one sample ({T, 1, 1} for tokens)
  ops::Matrix images;                  // [N, C*H*W], normalised (token ids for tokens)
  std::vector<std::int32_t> labels;    // [N * labels_per_sample], sample-major
  std::int64_t labels_per_sample = 1;  // 1 for images, T for tokens
  int num_classes = 0;                 // classes, or the vocabulary V of a token set
  std::string origin;                  // where it came from, for reports and messages

  // The number of samples N: the rows of images (a timing-only run's shape-only set has
  // labels but no rows, so the count is taken from the labels).
  std::int64_t size() const { return static_cast<std::int64_t>(labels.size()) / labels_per_sample; }
};

// Fashion-MNIST channel statistics (torchvision's customary values).
inline constexpr float kFashionMnistMean = 0.2860f;
inline constexpr float kFashionMnistStd = 0.3530f;
inline constexpr int kFashionMnistClasses = 10;

// Reads an IDX images file and its labels file: shape {1, rows, cols}; pixels normalised
// as (p / 255 - mean) / std. limit 0 keeps every sample, otherwise the first
// min(limit, count). A count mismatch between the two files is a core::DataError naming both.
Dataset load_idx_dataset(const std::string& images_path, const std::string& labels_path,
                         int num_classes, float mean, float std_dev, std::int64_t limit);

// Fashion-MNIST from `dir`: {train,t10k}-{images-idx3,labels-idx1}-ubyte, each either plain
// or with ".gz" (the plain file wins when both exist; core::DataError when neither does).
// Shape {1, 28, 28}, 10 classes, mean kFashionMnistMean, std kFashionMnistStd.
Dataset load_fashion_mnist(const std::string& dir, Split split, std::int64_t limit = 0);

}  // namespace lpsim::data
