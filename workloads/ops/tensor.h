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
// Bytes of one Scalar: what every byte count of tensors, buffers and memories multiplies by.
inline constexpr std::int64_t kScalarBytes = static_cast<std::int64_t>(sizeof(Scalar));

template <typename T>
using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;

using Matrix = Mat<Scalar>;
using Vector = Vec<Scalar>;

// Class labels of a minibatch, one per row of the activation batch, in [0, K).
// A std::vector<std::int32_t> v passes as Eigen::Map<const Labels>(v.data(), v.size()).
using Labels = Eigen::Matrix<std::int32_t, Eigen::Dynamic, 1>;

namespace detail {
template <typename T>
struct NonDeduced {
  using type = T;
};
}  // namespace detail

// Kernel input types: Eigen::Ref<const Mat<T>> / Eigen::Ref<const Vec<T>>, written so that
// T is not deduced from them (it is deduced from the kernel's output arguments). A Mat<T>,
// a row block of one or a Map binds without a copy; a mismatched scalar type does not compile.
template <typename T>
using MatIn = Eigen::Ref<const Mat<typename detail::NonDeduced<T>::type>>;
template <typename T>
using VecIn = Eigen::Ref<const Vec<typename detail::NonDeduced<T>::type>>;
using LabelsIn = Eigen::Ref<const Labels>;

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
