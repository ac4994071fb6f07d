// linear: y = x·Wᵀ + b, per row (per sample, time step or token). Weight [out, in].
#include "workloads/ops/linear.h"

#include "workloads/layers/geometry.h"
#include "workloads/models/cost.h"
#include "workloads/models/network.h"
#include "workloads/ops/init.h"

namespace lpsim::models {
namespace {

class Linear : public LayerKernels<Linear> {
 public:
  void read(core::ObjectReader& r, Layer& l, std::int64_t& declared_in) const override {
    l.out_features = r.integer("out_features", 1, kMaxDim);
    declared_in = r.integer("in_features", 0, 1, kMaxDim);
    l.bias = r.boolean("bias", true);
    l.init_std = r.number("init_std", 0.0, 0.0, 1e6);
  }
  void write(const Layer& l, core::Json& out) const override {
    out["out_features"] = l.out_features;
    if (!l.bias) out["bias"] = false;
    if (l.init_std > 0.0) out["init_std"] = l.init_std;
  }
  void infer(Layer& l, const InferContext& ctx) const override {
    const ops::Shape x = ctx.in[0].shape;
    if (x.h != 1 || x.w != 1) {
      ctx.mismatch("inputs", "linear expects a flat input, found " + shape_text(x) + " from \"" +
                                 ctx.in[0].name + "\" (insert a flatten layer)");
    }
    ctx.check_declared("in_features", x.c, "");
    l.out_shape = {l.out_features, 1, 1};
    ctx.checked_mul(l.out_features, x.c);
  }
  bool has_params() const override { return true; }
  ParamLayout params(const Layer& l) const override {
    return {{l.out_features, l.in_shape.c},
            l.out_features,
            l.in_shape.c,
            l.out_features,
            l.bias,
            false};
  }
  Work work(const Layer& l, Task task, std::int64_t batch, const UpdateCost& u) const override {
    return gemm_layer_work(l, task, batch, u, l.in_shape.c, false);
  }

  template <typename T>
  void forward_t(const Layer& /*l*/, ForwardArgs<T>& a) const {
    ops::linear_forward<T>(*a.x[0], *a.weight, *a.bias, *a.y);
  }
  template <typename T>
  void backward_input_t(const Layer& /*l*/, BackwardArgs<T>& a) const {
    a.dx.resize(1);
    ops::linear_backward_input<T>(*a.dy, *a.weight, a.dx[0]);
  }
  template <typename T>
  void backward_weights_t(const Layer& /*l*/, WeightGradArgs<T>& a) const {
    ops::linear_backward_weights<T>(*a.x, *a.dy, a.gw, a.gb);
  }
  template <typename T>
  void init_t(const Layer& l, ops::Rng& rng, LayerParams<T>& p) const {
    if (l.init_std > 0.0) {
      init_normal(rng, l.init_std, l.out_features, l.in_shape.c, p.weight);
      p.bias.setZero(l.out_features);
    } else {
      ops::init_linear(l.out_features, l.in_shape.c, rng, p.weight, p.bias);
    }
  }
};

}  // namespace

LPSIM_REGISTER_LAYER_TYPE(Linear, "linear", "fully connected, per row: y = x·Wᵀ + b")

}  // namespace lpsim::models
