// softmax_cross_entropy: the loss, averaged over the minibatch's labelled rows. The engine
// runs it (it reads the labels); this kind describes it.
#include "workloads/models/cost.h"
#include "workloads/models/network.h"

namespace lpsim::models {
namespace {

class SoftmaxCrossEntropy : public LayerKernels<SoftmaxCrossEntropy> {
 public:
  void infer(Layer& l, const InferContext& ctx) const override {
    const ops::Shape x = ctx.in[0].shape;
    if (x.h != 1 || x.w != 1 || x.c < 2) {
      ctx.mismatch("inputs",
                   "softmax_cross_entropy expects flat logits of at least 2 classes, found " +
                       shape_text(x) + " from \"" + ctx.in[0].name + "\"");
    }
    l.out_shape = {1, 1, 1};
    // A token model's loss takes a target per position (the rows of a sample).
    if (ctx.in[0].time != 1 && !ctx.in[0].sequence) {
      ctx.fail("inputs", "softmax_cross_entropy needs one time step, found " +
                             std::to_string(ctx.in[0].time) + " from \"" + ctx.in[0].name +
                             "\" (insert a leaky_readout layer to average the time steps)");
    }
  }
  bool is_loss() const override { return true; }
  Work work(const Layer& l, Task task, std::int64_t batch, const UpdateCost& /*u*/) const override {
    Work w;
    const std::int64_t in = batch * l.in_elements();
    if (task == Task::kForward) w.vector_ops = 3 * in;
    if (task == Task::kBackwardActivation) w.vector_ops = in;
    return w;
  }
  template <typename T>
  void forward_t(const Layer& /*l*/, ForwardArgs<T>& /*a*/) const {
    throw core::InternalError("the loss is not a forward layer");
  }
  template <typename T>
  void backward_input_t(const Layer& /*l*/, BackwardArgs<T>& /*a*/) const {
    throw core::InternalError("the loss's backward runs in the loss task");
  }
};

}  // namespace

LPSIM_REGISTER_LAYER_TYPE(SoftmaxCrossEntropy, "softmax_cross_entropy",
                          "softmax and cross-entropy against the labels (the loss)")

}  // namespace lpsim::models
