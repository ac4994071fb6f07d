#pragma once
// Float convolutions on oneDNN's direct kernels (Debian's libdnnl-dev; CMake option
// LPSIM_ONEDNN), the library PyTorch's CPU convolutions run on: at batch 32 on ResNet-18's
// shapes they run 1.2-1.6x the GEMM of conv2d.cpp's im2col lowering and need no im2col.
//
// Determinism: every oneDNN call runs on one thread (its OpenMP team is set to 1 before each
// call). The batch is cut into onednn_parts(...) runs of images, a rule of the shapes alone,
// and parallel_for (parallel.h) spreads the runs over run.threads. F and Ba of an image are
// computed by the same call for every thread count; Bw sums the runs' partial dW and db in run
// order. So the result is the same bit for bit for every thread count, as conv2d.cpp's is.
//
// Layouts: the arguments are conv2d.h's (x [B, C*H*W] = NCHW, w [O, C*kh*kw] = OIHW); each
// call reorders into the blocked layouts the kernel chose and back. Every buffer (blocked
// tensors, partial sums, oneDNN's scratchpad) is kept per thread and reused: no allocation
// per minibatch once the shapes have been seen.

#include <cstdint>

#include "workloads/ops/conv2d.h"

namespace lpsim::ops::onednn {

// Whether lpsim uses oneDNN where it can. set_enabled(false) makes every call take the im2col
// path (tests and the conv bench compare the two).
bool enabled();
void set_enabled(bool on);

// Runs of images the batch is cut into: about one per 32 MFLOP of the pass, at most 64 and at
// most one per image (1 below 32 MFLOP).
std::int64_t onednn_parts(const Conv2dGeometry& g, std::int64_t batch);
// Bw's runs: each holds a partial dW [O, K] until they are summed, so fewer: at most 8, and
// at least 256 output pixels a run (ResNet-18's 4x4 stage: 2 runs of 16 images at batch 32).
std::int64_t onednn_weight_parts(const Conv2dGeometry& g, std::int64_t batch);

enum class Pass { kForward, kBackwardInput, kBackwardWeights };

// Whether a float pass of this geometry and batch runs on oneDNN: enabled, a kernel for every
// run length the pass uses, and not one of the two cases where oneDNN measured slower
// (bench/README.md): Ba of an input with fewer than 16 channels (one channel: a quarter of
// im2col's speed) and Bw of an output plane under 32 pixels (ResNet-18's 4x4 stage:
// 0.69-0.98x, the reorders of dW between layouts and the partial sums outweigh the kernel).
// False in a build without oneDNN.
bool supports(Pass pass, const Conv2dGeometry& g, std::int64_t batch);

// Each runs its pass on contiguous row-major buffers in conv2d.h's shapes (the outputs sized
// by the caller) and returns true, or returns false, having done nothing, when `supports` is
// false: the caller then takes the im2col path.
bool forward(const float* x, const float* w, const float* b, const Conv2dGeometry& g,
             std::int64_t batch, float* y);
bool backward_input(const float* dy, const float* w, const Conv2dGeometry& g, std::int64_t batch,
                    float* dx);
bool backward_weights(const float* x, const float* dy, const Conv2dGeometry& g, std::int64_t batch,
                      float* dw, float* db);

}  // namespace lpsim::ops::onednn
