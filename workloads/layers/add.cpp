// add: the element-wise sum of two inputs of one shape (a residual join).
#include "workloads/models/cost.h"
#include "workloads/models/network.h"
#include "workloads/ops/residual.h"

namespace lpsim::models {
namespace {

class Add : public LayerKernels<Add> {
 public:
  std::size_t inputs() const override { return 2; }
  void infer(Layer& l, const InferContext& ctx) const override {
    const LayerInput& a = ctx.in[0];
    const LayerInput& b = ctx.in[1];
    if (a.shape != b.shape) {
      ctx.mismatch("inputs", "add needs equal shapes, found " + shape_text(a.shape) + " from \"" +
                                 a.name + "\" and " + shape_text(b.shape) + " from \"" + b.name +
                                 "\"");
    }
    l.out_shape = a.shape;
    if (b.time != a.time) {
      ctx.fail("inputs", "add needs inputs with equal time steps, found " + std::to_string(a.time) +
                             " from \"" + a.name + "\" and " + std::to_string(b.time) + " from \"" +
                             b.name + "\"");
    }
  }
  Work work(const Layer& l, Task task, std::int64_t batch, const UpdateCost& /*u*/) const override {
    Work w;
    if (task == Task::kForward) w.vector_ops = batch * l.out_elements();
    return w;
  }
  template <typename T>
  void forward_t(const Layer& /*l*/, ForwardArgs<T>& a) const {
    ops::residual_add_forward<T>(*a.x[0], *a.x[1], *a.y);
  }
  template <typename T>
  void backward_input_t(const Layer& /*l*/, BackwardArgs<T>& a) const {
    a.dx.resize(2);
    ops::residual_add_backward<T>(*a.dy, a.dx[0], a.dx[1]);
  }
};

}  // namespace

LPSIM_REGISTER_LAYER_TYPE(Add, "add", "the sum of two inputs (residual join)")

}  // namespace lpsim::models
