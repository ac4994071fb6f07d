// flatten: [C, H, W] -> [C*H*W]; the data does not move.
#include "workloads/models/cost.h"
#include "workloads/models/network.h"

namespace lpsim::models {
namespace {

class Flatten : public LayerKernels<Flatten> {
 public:
  void infer(Layer& l, const InferContext& ctx) const override {
    l.out_shape = {ctx.in[0].shape.size(), 1, 1};
    l.out_binary = ctx.in[0].binary;
  }
  bool counts_spikes() const override { return false; }
  Work work(const Layer& /*l*/, Task /*task*/, std::int64_t /*batch*/,
            const UpdateCost& /*u*/) const override {
    return {};
  }
  template <typename T>
  void forward_t(const Layer& /*l*/, ForwardArgs<T>& a) const {
    *a.y = *a.x[0];
  }
  template <typename T>
  void backward_input_t(const Layer& /*l*/, BackwardArgs<T>& a) const {
    a.dx.assign(1, *a.dy);
  }
};

}  // namespace

LPSIM_REGISTER_LAYER_TYPE(Flatten, "flatten", "[C, H, W] -> [C*H*W]")

}  // namespace lpsim::models
