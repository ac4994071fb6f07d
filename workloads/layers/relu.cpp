// relu: max(x, 0), element-wise.
#include "workloads/models/cost.h"
#include "workloads/models/network.h"
#include "workloads/ops/activation.h"

namespace lpsim::models {
namespace {

class Relu : public LayerKernels<Relu> {
 public:
  void infer(Layer& l, const InferContext& ctx) const override {
    l.out_shape = ctx.in[0].shape;
    l.out_binary = ctx.in[0].binary;  // ReLU of 0/1 values is 0/1
  }
  bool counts_spikes() const override { return false; }
  Work work(const Layer& l, Task task, std::int64_t batch, const UpdateCost& /*u*/) const override {
    return elementwise_work(task, batch * l.in_elements(), batch * l.in_elements());
  }
  template <typename T>
  void forward_t(const Layer& /*l*/, ForwardArgs<T>& a) const {
    ops::relu_forward<T>(*a.x[0], *a.y);
  }
  template <typename T>
  void backward_input_t(const Layer& /*l*/, BackwardArgs<T>& a) const {
    a.dx.resize(1);
    ops::relu_backward<T>(*a.dy, *a.y, a.dx[0]);
  }
};

}  // namespace

LPSIM_REGISTER_LAYER_TYPE(Relu, "relu", "max(x, 0)")

}  // namespace lpsim::models
