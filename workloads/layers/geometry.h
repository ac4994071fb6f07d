#pragma once
// What the windowed kinds (conv2d, maxpool2d, avgpool2d) share: kernel_size, stride and
// padding in a network file, and the output size they give.

#include "workloads/models/network.h"
#include "workloads/ops/conv2d.h"
#include "workloads/ops/pool.h"

namespace lpsim::models {

// Reads "kernel_size" as an integer or a [h, w] pair.
void read_kernel(core::ObjectReader& r, Layer& layer);
// Writes kernel_size (an integer when square), stride and padding.
void write_window(const Layer& layer, core::Json& out);
// The output size along one axis of `size` with `kernel`, layer.stride and layer.padding.
std::int64_t window_output(const Layer& layer, const InferContext& ctx, std::int64_t size,
                           std::int64_t kernel);
ops::Conv2dGeometry conv_geometry(const Layer& layer);
ops::Pool2dGeometry pool_geometry(const Layer& layer);

// w [rows, cols] drawn from N(0, std²), row-major, each draw rounded to T.
template <typename T>
void init_normal(ops::Rng& rng, double std, std::int64_t rows, std::int64_t cols, ops::Mat<T>& w) {
  w.resize(rows, cols);
  for (std::int64_t i = 0; i < w.size(); ++i) w.data()[i] = static_cast<T>(rng.normal(0.0, std));
}

}  // namespace lpsim::models
