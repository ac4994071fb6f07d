// maxpool2d and avgpool2d: windowed pooling of an NCHW tensor; global_avgpool: the mean of
// each channel.
#include "workloads/ops/pool.h"

#include <algorithm>

#include "workloads/layers/geometry.h"
#include "workloads/models/cost.h"
#include "workloads/models/network.h"

namespace lpsim::models {
namespace {

// What both windowed pools share: reading, writing, inference and work.
template <class K>
class WindowPool : public LayerKernels<K> {
 public:
  void read(core::ObjectReader& r, Layer& l, std::int64_t& /*declared_in*/) const override {
    read_kernel(r, l);
    l.stride = r.integer("stride", l.kernel_h, 1, kMaxDim);
    l.padding = r.integer("padding", 0, 0, kMaxDim);
    if (2 * l.padding > std::min(l.kernel_h, l.kernel_w)) {
      r.fail("padding", "found " + std::to_string(l.padding) +
                            ", expected at most half the kernel size (as PyTorch requires)");
    }
  }
  void write(const Layer& l, core::Json& out) const override { write_window(l, out); }
  void infer(Layer& l, const InferContext& ctx) const override {
    const ops::Shape x = ctx.in[0].shape;
    l.out_shape = {x.c, window_output(l, ctx, x.h, l.kernel_h),
                   window_output(l, ctx, x.w, l.kernel_w)};
  }
  Work work(const Layer& l, Task task, std::int64_t batch, const UpdateCost& /*u*/) const override {
    Work w;
    const std::int64_t in = batch * l.in_elements();
    const std::int64_t out = batch * l.out_elements();
    if (task == Task::kForward) w.vector_ops = out * l.kernel_h * l.kernel_w;
    if (task == Task::kBackwardActivation) w.vector_ops = in + out;
    return w;
  }
};

class MaxPool2d : public WindowPool<MaxPool2d> {
 public:
  // The argmax of each output (int32).
  std::int64_t host_saved_elements(const Layer& l) const override { return l.out_elements(); }
  void infer(Layer& l, const InferContext& ctx) const override {
    WindowPool::infer(l, ctx);
    l.out_binary = ctx.in[0].binary;  // the max of 0/1 values is 0/1
  }
  template <typename T>
  void forward_t(const Layer& l, ForwardArgs<T>& a) const {
    ops::maxpool2d_forward<T>(*a.x[0], pool_geometry(l), *a.y, a.saved->indices);
  }
  template <typename T>
  void backward_input_t(const Layer& l, BackwardArgs<T>& a) const {
    a.dx.resize(1);
    ops::maxpool2d_backward<T>(*a.dy, a.saved->indices, pool_geometry(l), a.dx[0]);
  }
};

class AvgPool2d : public WindowPool<AvgPool2d> {
 public:
  template <typename T>
  void forward_t(const Layer& l, ForwardArgs<T>& a) const {
    ops::avgpool2d_forward<T>(*a.x[0], pool_geometry(l), *a.y);
  }
  template <typename T>
  void backward_input_t(const Layer& l, BackwardArgs<T>& a) const {
    a.dx.resize(1);
    ops::avgpool2d_backward<T>(*a.dy, pool_geometry(l), a.dx[0]);
  }
};

class GlobalAvgPool : public LayerKernels<GlobalAvgPool> {
 public:
  void infer(Layer& l, const InferContext& ctx) const override {
    l.out_shape = {ctx.in[0].shape.c, 1, 1};
  }
  Work work(const Layer& l, Task task, std::int64_t batch, const UpdateCost& /*u*/) const override {
    return elementwise_work(task, batch * l.in_elements(), batch * l.in_elements());
  }
  template <typename T>
  void forward_t(const Layer& l, ForwardArgs<T>& a) const {
    ops::global_avgpool_forward<T>(*a.x[0], l.in_shape, *a.y);
  }
  template <typename T>
  void backward_input_t(const Layer& l, BackwardArgs<T>& a) const {
    a.dx.resize(1);
    ops::global_avgpool_backward<T>(*a.dy, l.in_shape, a.dx[0]);
  }
};

}  // namespace

LPSIM_REGISTER_LAYER_TYPE(MaxPool2d, "maxpool2d", "windowed maximum (PyTorch MaxPool2d)")
LPSIM_REGISTER_LAYER_TYPE(AvgPool2d, "avgpool2d", "windowed mean (PyTorch AvgPool2d)")
LPSIM_REGISTER_LAYER_TYPE(GlobalAvgPool, "global_avgpool", "the mean of each channel")

}  // namespace lpsim::models
