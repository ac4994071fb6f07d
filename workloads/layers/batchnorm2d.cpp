// batchnorm2d: per-channel batch normalisation of an NCHW tensor; gamma is its weight [C]
// (held as a [1, C] matrix), beta its bias; running statistics for evaluation.
#include "workloads/models/cost.h"
#include "workloads/models/network.h"
#include "workloads/ops/batchnorm.h"
#include "workloads/ops/init.h"

namespace lpsim::models {
namespace {

template <typename T>
Eigen::Map<const ops::Vec<T>> as_vector(const ops::Mat<T>& m) {
  return Eigen::Map<const ops::Vec<T>>(m.data(), m.size());
}

// LayerSaved holds ops::BatchNormSaved as tensors {x_hat, inv_std as [1, C]}; these move
// them in and out for the kernels.
template <typename T>
ops::BatchNormSaved<T> take(const Layer& l, LayerSaved<T>& s) {
  LPSIM_ASSERT(s.tensors.size() == 2, "batch norm's saved tensors");
  ops::BatchNormSaved<T> b;
  b.shape = l.in_shape;
  b.x_hat = std::move(s.tensors[0]);
  b.inv_std = Eigen::Map<const ops::Vec<T>>(s.tensors[1].data(), s.tensors[1].size());
  return b;
}

template <typename T>
void give_back(ops::BatchNormSaved<T>& b, LayerSaved<T>& s) {
  s.tensors[0] = std::move(b.x_hat);
}

class BatchNorm2d : public LayerKernels<BatchNorm2d> {
 public:
  void read(core::ObjectReader& r, Layer& /*l*/, std::int64_t& declared_in) const override {
    declared_in = r.integer("num_features", 0, 1, kMaxDim);
  }
  void infer(Layer& l, const InferContext& ctx) const override {
    ctx.check_declared("num_features", ctx.in[0].shape.c, " channels");
    l.out_shape = ctx.in[0].shape;
  }
  // x̂, one value per output (and C inverse deviations, per minibatch: negligible).
  std::int64_t host_saved_elements(const Layer& l) const override { return l.out_elements(); }
  bool has_params() const override { return true; }
  ParamLayout params(const Layer& l) const override {
    const std::int64_t c = l.in_shape.c;
    return {{c}, 1, c, c, true, true};
  }
  Work work(const Layer& l, Task task, std::int64_t batch, const UpdateCost& u) const override {
    Work w;
    const std::int64_t out = batch * l.out_elements();
    switch (task) {
      case Task::kForward:
        w.vector_ops = 4 * out;  // mean, variance, normalise, scale and shift
        break;
      case Task::kBackwardActivation:
        w.vector_ops = 3 * out;
        break;
      case Task::kBackwardWeight:
        w.vector_ops = 2 * out;
        break;
      case Task::kUpdate:
        w.vector_ops = u.lane_ops * l.num_params();
        break;
    }
    return w;
  }

  template <typename T>
  void forward_t(const Layer& l, ForwardArgs<T>& a) const {
    if (!a.train) {
      ops::batchnorm2d_forward_eval<T>(*a.x[0], l.in_shape, as_vector(*a.weight), *a.bias,
                                       *a.running_mean, *a.running_var, *a.y);
      return;
    }
    ops::BatchNormSaved<T> b;
    ops::batchnorm2d_forward_train<T>(*a.x[0], l.in_shape, as_vector(*a.weight), *a.bias,
                                      *a.updated_mean, *a.updated_var, *a.y, b);
    a.saved->tensors.resize(2);
    a.saved->tensors[0] = std::move(b.x_hat);
    a.saved->tensors[1] = Eigen::Map<const ops::Mat<T>>(b.inv_std.data(), 1, b.inv_std.size());
  }
  template <typename T>
  void backward_input_t(const Layer& l, BackwardArgs<T>& a) const {
    a.dx.resize(1);
    ops::BatchNormSaved<T> b = take(l, *a.saved);
    ops::batchnorm2d_backward_input<T>(*a.dy, as_vector(*a.weight), b, a.dx[0]);
    give_back(b, *a.saved);
  }
  template <typename T>
  void backward_weights_t(const Layer& l, WeightGradArgs<T>& a) const {
    ops::BatchNormSaved<T> b = take(l, *a.saved);
    ops::Vec<T> dgamma;
    ops::batchnorm2d_backward_weights<T>(*a.dy, b, dgamma, a.gb);
    give_back(b, *a.saved);
    a.gw = Eigen::Map<const ops::Mat<T>>(dgamma.data(), 1, dgamma.size());
  }
  template <typename T>
  void init_t(const Layer& l, ops::Rng& /*rng*/, LayerParams<T>& p) const {
    ops::Vec<T> gamma;
    ops::init_batchnorm(l.in_shape.c, gamma, p.bias, p.running_mean, p.running_var);
    p.weight = Eigen::Map<const ops::Mat<T>>(gamma.data(), 1, gamma.size());
  }
};

}  // namespace

LPSIM_REGISTER_LAYER_TYPE(BatchNorm2d, "batchnorm2d",
                          "batch normalisation per channel (PyTorch BatchNorm2d)")

}  // namespace lpsim::models
