// The spiking kinds (issue 8; workloads/ops/spiking.h): spike_encode turns each sample into T
// time steps, lif runs leaky integrate-and-fire neurons over them, leaky_readout averages
// them away again.
#include "workloads/ops/spiking.h"

#include "workloads/models/cost.h"
#include "workloads/models/network.h"

namespace lpsim::models {
namespace {

// Time steps beyond this are refused (a beat of 4096 steps is already far past any SNN).
constexpr std::int64_t kMaxTimeSteps = 4096;

class SpikeEncode : public LayerKernels<SpikeEncode> {
 public:
  void read(core::ObjectReader& r, Layer& l, std::int64_t& /*declared_in*/) const override {
    l.time_steps = r.integer("time_steps", 1, kMaxTimeSteps);
    l.encoding = r.choice("encoding", "direct", {"direct", "poisson"}) == "poisson"
                     ? SpikeEncoding::kPoisson
                     : SpikeEncoding::kDirect;
    if (l.encoding == SpikeEncoding::kPoisson) {
      l.gain = r.number("gain", 1.0, -1e6, 1e6);
      l.offset = r.number("offset", 0.0, -1e6, 1e6);
    }
  }
  void write(const Layer& l, core::Json& out) const override {
    out["time_steps"] = l.time_steps;
    out["encoding"] = l.encoding == SpikeEncoding::kPoisson ? "poisson" : "direct";
    if (l.encoding == SpikeEncoding::kPoisson) {
      out["gain"] = l.gain;
      out["offset"] = l.offset;
    }
  }
  void infer(Layer& l, const InferContext& ctx) const override {
    l.out_shape = ctx.in[0].shape;
    if (!ctx.in[0].is_network_input) {
      ctx.fail("inputs", "spike_encode must read \"input\" (the network input), found \"" +
                             ctx.in[0].name + "\" (an encoder has no backward pass)");
    }
    l.out_time = l.time_steps;
    l.out_binary = l.encoding == SpikeEncoding::kPoisson;
  }
  Work work(const Layer& l, Task task, std::int64_t batch, const UpdateCost& /*u*/) const override {
    // direct: a copy per step; Poisson: a random draw and a compare per step
    Work w;
    const std::int64_t out = batch * l.out_elements();
    if (task == Task::kForward)
      w.vector_ops = l.encoding == SpikeEncoding::kPoisson ? 2 * out : out;
    return w;
  }
  template <typename T>
  void forward_t(const Layer& l, ForwardArgs<T>& a) const {
    if (l.encoding == SpikeEncoding::kPoisson) {
      ops::Rng rng(a.stream);
      ops::encode_poisson<T>(*a.x[0], l.time_steps, l.gain, l.offset, rng, *a.y);
    } else {
      ops::encode_direct<T>(*a.x[0], l.time_steps, *a.y);
    }
  }
  template <typename T>
  void backward_input_t(const Layer& /*l*/, BackwardArgs<T>& /*a*/) const {
    throw core::InternalError("spike_encode has no backward pass");
  }
};

class Lif : public LayerKernels<Lif> {
 public:
  void read(core::ObjectReader& r, Layer& l, std::int64_t& /*declared_in*/) const override {
    ops::LifParams& p = l.lif;
    p.alpha = r.number("alpha", p.alpha, 0.0, 1.0);
    p.threshold = r.number("threshold", p.threshold, 1e-6, 1e6);
    p.surrogate = r.choice("surrogate", "triangle", {"triangle", "rectangle"}) == "rectangle"
                      ? ops::SurrogateKind::kRectangle
                      : ops::SurrogateKind::kTriangle;
    p.width = r.number("width", p.width, 1e-6, 1e12);
    // false by default here (SpikingJelly's choice): snn3 on Fashion-MNIST reaches 85.1%
    // in 3 sync epochs with the reset's gradient and 77.7% without (README).
    p.detach_reset = r.boolean("detach_reset", false);
  }
  void write(const Layer& l, core::Json& out) const override {
    out["alpha"] = l.lif.alpha;
    out["threshold"] = l.lif.threshold;
    out["surrogate"] = l.lif.surrogate == ops::SurrogateKind::kRectangle ? "rectangle" : "triangle";
    out["width"] = l.lif.width;
    out["detach_reset"] = l.lif.detach_reset;
  }
  void infer(Layer& l, const InferContext& ctx) const override {
    l.out_shape = ctx.in[0].shape;
    l.out_binary = true;
  }
  // The membrane potential, one value per output, held for the backward.
  std::int64_t saved_elements(const Layer& l) const override { return l.out_elements(); }
  std::int64_t host_saved_elements(const Layer& l) const override { return l.out_elements(); }
  Work work(const Layer& l, Task task, std::int64_t batch, const UpdateCost& /*u*/) const override {
    // u = alpha u + I - theta s, s = (u > theta); adjoint g = alpha g' + sigma'(u - theta) dS
    Work w;
    const std::int64_t in = batch * l.in_elements();
    if (task == Task::kForward) w.vector_ops = 4 * in;
    if (task == Task::kBackwardActivation) w.vector_ops = (l.lif.detach_reset ? 4 : 6) * in;
    return w;
  }
  template <typename T>
  void forward_t(const Layer& l, ForwardArgs<T>& a) const {
    ops::LifSaved<T> s;
    ops::lif_forward<T>(*a.x[0], l.in_time, l.lif, *a.y, s);
    a.saved->tensors.resize(1);
    a.saved->tensors[0] = std::move(s.membrane);
  }
  template <typename T>
  void backward_input_t(const Layer& l, BackwardArgs<T>& a) const {
    a.dx.resize(1);
    ops::LifSaved<T> s;
    s.membrane = std::move(a.saved->tensors.at(0));
    ops::lif_backward<T>(*a.dy, s, l.in_time, l.lif, a.dx[0]);
  }
};

class LeakyReadout : public LayerKernels<LeakyReadout> {
 public:
  void read(core::ObjectReader& r, Layer& l, std::int64_t& /*declared_in*/) const override {
    l.readout_alpha = r.number("alpha", l.readout_alpha, 0.0, 1.0);
  }
  void write(const Layer& l, core::Json& out) const override { out["alpha"] = l.readout_alpha; }
  void infer(Layer& l, const InferContext& ctx) const override {
    l.out_shape = ctx.in[0].shape;
    l.out_time = 1;
  }
  Work work(const Layer& l, Task task, std::int64_t batch, const UpdateCost& /*u*/) const override {
    // the integrator (2 per element) and the sum over T; backward the same run backwards
    return elementwise_work(task, 3 * batch * l.in_elements(), 3 * batch * l.in_elements());
  }
  template <typename T>
  void forward_t(const Layer& l, ForwardArgs<T>& a) const {
    ops::Mat<T> membrane;
    ops::leaky_integrator_forward<T>(*a.x[0], l.in_time, l.readout_alpha, membrane);
    ops::time_mean_forward<T>(membrane, l.in_time, *a.y);
  }
  template <typename T>
  void backward_input_t(const Layer& l, BackwardArgs<T>& a) const {
    a.dx.resize(1);
    ops::Mat<T> dmembrane;
    ops::time_mean_backward<T>(*a.dy, l.in_time, dmembrane);
    ops::leaky_integrator_backward<T>(dmembrane, l.in_time, l.readout_alpha, a.dx[0]);
  }
};

}  // namespace

LPSIM_REGISTER_LAYER_TYPE(SpikeEncode, "spike_encode",
                          "[B, F] -> [B*T, F]: direct or Poisson rate coding into T steps")
LPSIM_REGISTER_LAYER_TYPE(Lif, "lif", "leaky integrate-and-fire neurons, surrogate gradient")
LPSIM_REGISTER_LAYER_TYPE(LeakyReadout, "leaky_readout",
                          "[B*T, F] -> [B, F]: leaky integrator averaged over the T steps")

}  // namespace lpsim::models
