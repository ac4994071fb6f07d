// conv2d: a 2-D convolution lowered to one GEMM over the batch (im2col). Weight [O, C, kh, kw].
#include "workloads/ops/conv2d.h"

#include "workloads/layers/geometry.h"
#include "workloads/models/cost.h"
#include "workloads/models/network.h"
#include "workloads/ops/init.h"

namespace lpsim::models {
namespace {

class Conv2d : public LayerKernels<Conv2d> {
 public:
  void read(core::ObjectReader& r, Layer& l, std::int64_t& declared_in) const override {
    l.out_channels = r.integer("out_channels", 1, kMaxDim);
    declared_in = r.integer("in_channels", 0, 1, kMaxDim);
    read_kernel(r, l);
    l.stride = r.integer("stride", 1, 1, kMaxDim);
    l.padding = r.integer("padding", 0, 0, kMaxDim);
    l.bias = r.boolean("bias", true);
  }
  void write(const Layer& l, core::Json& out) const override {
    out["out_channels"] = l.out_channels;
    write_window(l, out);
    if (!l.bias) out["bias"] = false;
  }
  void infer(Layer& l, const InferContext& ctx) const override {
    const ops::Shape x = ctx.in[0].shape;
    ctx.check_declared("in_channels", x.c, " channels");
    l.out_shape = {l.out_channels, window_output(l, ctx, x.h, l.kernel_h),
                   window_output(l, ctx, x.w, l.kernel_w)};
    ctx.checked_mul(ctx.checked_mul(l.out_channels, x.c), ctx.checked_mul(l.kernel_h, l.kernel_w));
  }
  bool has_params() const override { return true; }
  ParamLayout params(const Layer& l) const override {
    const std::int64_t c = l.in_shape.c;
    return {{l.out_channels, c, l.kernel_h, l.kernel_w},
            l.out_channels,
            c * l.kernel_h * l.kernel_w,
            l.out_channels,
            l.bias,
            false};
  }
  Work work(const Layer& l, Task task, std::int64_t batch, const UpdateCost& u) const override {
    return gemm_layer_work(l, task, batch, u, l.in_shape.c * l.kernel_h * l.kernel_w, true);
  }

  template <typename T>
  void forward_t(const Layer& l, ForwardArgs<T>& a) const {
    if (a.ws != nullptr) {
      ops::conv2d_forward<T>(*a.x[0], *a.weight, *a.bias, conv_geometry(l), *a.y, *a.ws);
    } else {
      ops::conv2d_forward<T>(*a.x[0], *a.weight, *a.bias, conv_geometry(l), *a.y);
    }
  }
  template <typename T>
  void backward_input_t(const Layer& l, BackwardArgs<T>& a) const {
    a.dx.resize(1);
    ops::conv2d_backward_input<T>(*a.dy, *a.weight, conv_geometry(l), a.dx[0], *a.ws);
  }
  template <typename T>
  void backward_weights_t(const Layer& l, WeightGradArgs<T>& a) const {
    ops::conv2d_backward_weights<T>(*a.x, *a.dy, conv_geometry(l), a.gw, a.gb, *a.ws);
  }
  template <typename T>
  void init_t(const Layer& l, ops::Rng& rng, LayerParams<T>& p) const {
    ops::init_conv2d(conv_geometry(l), rng, p.weight, p.bias);
  }
};

}  // namespace

LPSIM_REGISTER_LAYER_TYPE(Conv2d, "conv2d", "2-D convolution (im2col GEMM), NCHW")

}  // namespace lpsim::models
