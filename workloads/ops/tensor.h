#pragma once
// Tensor types shared by every kernel, the reference trainer and the hardware models.
//
// Dimension legend used in kernel comments throughout workloads/ops:
//   B batch, F features, C channels, H/W spatial height/width, Ho/Wo output height/width,
//   kh/kw kernel height/width, O output features or channels, I input features.
// Layout: an activation batch is a row-major matrix [B, C*H*W] whose row is one sample in
// PyTorch's CHW order (so flatten is free and rows match torch.Tensor.view(B, -1)).
// A linear weight is [O, I]; a conv weight is [O, C*kh*kw] (PyTorch's [O, C, kh, kw]
// flattened); a bias or per-channel parameter is a vector [O].

#include <Eigen/Core>
#include <cstdint>

namespace lpsim::ops {

// The one scalar type of training (a double instantiation exists for gradient checks).
using Scalar = float;

template <typename T>
using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;

using Matrix = Mat<Scalar>;
using Vector = Vec<Scalar>;

// Per-sample shape of an activation: channels x height x width; a flat feature vector of
// F features is {F, 1, 1}.
struct Shape {
  std::int64_t c = 0;
  std::int64_t h = 1;
  std::int64_t w = 1;
  std::int64_t size() const { return c * h * w; }
  bool operator==(const Shape& o) const { return c == o.c && h == o.h && w == o.w; }
  bool operator!=(const Shape& o) const { return !(*this == o); }
};

}  // namespace lpsim::ops
