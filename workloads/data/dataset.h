#pragma once
// Data sets held in memory: Fashion-MNIST (or any IDX image/label pair) and seeded
// synthetic sets for fast tests.
//
// Shapes (legend in workloads/ops/tensor.h): images [N, C*H*W], one normalised sample per
// row in CHW order; labels [N] with values in [0, num_classes).
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
  ops::Shape sample_shape;           // C, H, W of one sample
  ops::Matrix images;                // [N, C*H*W], normalised
  std::vector<std::int32_t> labels;  // [N]
  int num_classes = 0;
  std::string origin;  // where it came from, for reports and messages

  std::int64_t size() const { return static_cast<std::int64_t>(labels.size()); }
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
