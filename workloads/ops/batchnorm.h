#pragma once
// Batch normalisation over channels, PyTorch's nn.BatchNorm2d (and BatchNorm1d when the
// per-sample shape is {F, 1, 1}) with affine=True, track_running_stats=True.
//
// Shapes (legend in tensor.h): x, y, dy, dx, x_hat [B, C*H*W]; gamma, beta, running_mean,
// running_var, inv_std, dgamma, dbeta [C]. Statistics of a channel run over its
// N = B*H*W values.
//
// Training forward: mean and biased variance var of the batch per channel,
//   x_hat = (x - mean) / sqrt(var + eps),  y = gamma * x_hat + beta,
//   running_mean = (1 - momentum) * running_mean + momentum * mean,
//   running_var  = (1 - momentum) * running_var  + momentum * var * N / (N - 1)  (unbiased),
// exactly PyTorch's update. Eval forward normalises with the running statistics.
// Backward (training mode) from what the forward saved:
//   Ba: dx = gamma * inv_std * (dy - mean(dy) - x_hat * mean(dy * x_hat)),
//   Bw: dgamma = sum(dy * x_hat), dbeta = sum(dy)     (means and sums per channel over N).
// Outputs are resized by the kernel and must not alias inputs.

#include "workloads/ops/tensor.h"

namespace lpsim::ops {

inline constexpr double kBatchNormEps = 1e-5;
inline constexpr double kBatchNormMomentum = 0.1;

// What the training forward keeps for both backward tasks.
template <typename T>
struct BatchNormSaved {
  Shape shape;     // per-sample {C, H, W}
  Mat<T> x_hat;    // [B, C*H*W]
  Vec<T> inv_std;  // [C]: 1 / sqrt(var + eps), var the biased batch variance
};

// F (training): x [B, C*H*W], gamma [C], beta [C] -> y [B, C*H*W], saved; running_mean [C]
// and running_var [C] are updated in place. Needs N = B*H*W > 1 (as PyTorch).
template <typename T>
void batchnorm2d_forward_train(const MatIn<T>& x, const Shape& shape, const VecIn<T>& gamma,
                               const VecIn<T>& beta, Vec<T>& running_mean, Vec<T>& running_var,
                               Mat<T>& y, BatchNormSaved<T>& saved,
                               double momentum = kBatchNormMomentum, double eps = kBatchNormEps);

// F (eval): x [B, C*H*W], gamma, beta, running_mean, running_var [C] -> y [B, C*H*W].
template <typename T>
void batchnorm2d_forward_eval(const MatIn<T>& x, const Shape& shape, const VecIn<T>& gamma,
                              const VecIn<T>& beta, const VecIn<T>& running_mean,
                              const VecIn<T>& running_var, Mat<T>& y, double eps = kBatchNormEps);

// Ba: dy [B, C*H*W], gamma [C] (the weight version to use), saved -> dx [B, C*H*W].
template <typename T>
void batchnorm2d_backward_input(const MatIn<T>& dy, const VecIn<T>& gamma,
                                const BatchNormSaved<T>& saved, Mat<T>& dx);

// Bw: dy [B, C*H*W], saved -> dgamma [C] = sum(dy * x_hat), dbeta [C] = sum(dy).
template <typename T>
void batchnorm2d_backward_weights(const MatIn<T>& dy, const BatchNormSaved<T>& saved,
                                  Vec<T>& dgamma, Vec<T>& dbeta);

}  // namespace lpsim::ops
