#include "workloads/layers/geometry.h"

namespace lpsim::models {

void read_kernel(core::ObjectReader& r, Layer& layer) {
  const core::Json& k = r.at("kernel_size");
  if (k.is_array()) {
    if (k.size() != 2) r.fail("kernel_size", "expected an integer or [height, width]");
    layer.kernel_h =
        core::json_integer(k[0], r.file(), r.pointer("kernel_size") + "/0", 1, kMaxDim);
    layer.kernel_w =
        core::json_integer(k[1], r.file(), r.pointer("kernel_size") + "/1", 1, kMaxDim);
  } else {
    layer.kernel_h = layer.kernel_w =
        core::json_integer(k, r.file(), r.pointer("kernel_size"), 1, kMaxDim);
  }
}

void write_window(const Layer& layer, core::Json& out) {
  out["kernel_size"] = layer.kernel_h == layer.kernel_w
                           ? core::Json(layer.kernel_h)
                           : core::Json::array({layer.kernel_h, layer.kernel_w});
  out["stride"] = layer.stride;
  out["padding"] = layer.padding;
}

std::int64_t window_output(const Layer& layer, const InferContext& ctx, std::int64_t size,
                           std::int64_t kernel) {
  const std::int64_t span = size + 2 * layer.padding - kernel;
  if (span < 0) {
    ctx.mismatch("kernel_size",
                 "kernel " + std::to_string(kernel) + " is larger than the padded input " +
                     shape_text(ctx.in[0].shape) + " from \"" + ctx.in[0].name + "\"");
  }
  return span / layer.stride + 1;
}

ops::Conv2dGeometry conv_geometry(const Layer& l) {
  ops::Conv2dGeometry g;
  g.in = l.in_shape;
  g.out_channels = l.out_channels;
  g.kernel_h = l.kernel_h;
  g.kernel_w = l.kernel_w;
  g.stride = l.stride;
  g.padding = l.padding;
  return g;
}

ops::Pool2dGeometry pool_geometry(const Layer& l) {
  ops::Pool2dGeometry g;
  g.in = l.in_shape;
  g.kernel_h = l.kernel_h;
  g.kernel_w = l.kernel_w;
  g.stride = l.stride;
  g.padding = l.padding;
  return g;
}

}  // namespace lpsim::models
