#include "workloads/models/cost.h"

namespace lpsim::models {

std::int64_t Work::macs() const {
  std::int64_t total = 0;
  for (const auto& g : gemms) total += g.macs();
  return total;
}

std::int64_t Work::accumulates() const {
  std::int64_t total = 0;
  for (const auto& g : gemms) total += g.binary() ? g.macs() : 0;
  return total;
}

Work& Work::operator+=(const Work& other) {
  gemms.insert(gemms.end(), other.gemms.begin(), other.gemms.end());
  vector_ops += other.vector_ops;
  return *this;
}

Work layer_work(const Layer& layer, Task task, std::int64_t batch, const UpdateCost& update) {
  Work w;
  const std::int64_t in = batch * layer.in_elements();
  const std::int64_t out = batch * layer.out_elements();
  // One GEMM per time step.
  auto gemms = [&](Gemm g) {
    for (std::int64_t t = 0; t < layer.in_time; ++t) w.gemms.push_back(g);
  };
  switch (layer.kind) {
    case LayerKind::kLinear:
    case LayerKind::kConv2d: {
      const bool is_conv = layer.kind == LayerKind::kConv2d;
      const std::int64_t pixels = batch * layer.out_shape.h * layer.out_shape.w;
      const std::int64_t patch =
          is_conv ? layer.in_shape.c * layer.kernel_h * layer.kernel_w : layer.in_shape.c;
      const std::int64_t outc = layer.out_shape.c;
      switch (task) {
        case Task::kForward:
          gemms({pixels, outc, patch, layer.in_binary, false});
          if (layer.bias) w.vector_ops = out;
          break;
        case Task::kBackwardActivation:
          gemms({pixels, patch, outc, false, false});
          if (is_conv) w.vector_ops = layer.in_time * pixels * patch;  // col2im accumulation
          break;
        case Task::kBackwardWeight:
          // dW = sum over t of delta_t^T x_t: the T products accumulate into the same dW
          // tiles, so the array streams them back to back as one GEMM with K = T*B*Ho*Wo
          // (no drain between steps).
          w.gemms.push_back({outc, patch, pixels * layer.in_time, false, layer.in_binary});
          if (layer.bias) w.vector_ops = out;
          break;
        case Task::kUpdate:
          w.vector_ops = update.lane_ops * layer.num_params();
          break;
      }
      break;
    }
    case LayerKind::kBatchNorm2d:
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
          w.vector_ops = update.lane_ops * layer.num_params();
          break;
      }
      break;
    case LayerKind::kRelu:
    case LayerKind::kGlobalAvgPool:
      if (task == Task::kForward || task == Task::kBackwardActivation) w.vector_ops = in;
      break;
    case LayerKind::kMaxPool2d:
    case LayerKind::kAvgPool2d:
      if (task == Task::kForward) w.vector_ops = out * layer.kernel_h * layer.kernel_w;
      if (task == Task::kBackwardActivation) w.vector_ops = in + out;
      break;
    case LayerKind::kAdd:
      if (task == Task::kForward) w.vector_ops = out;
      break;
    case LayerKind::kFlatten:
      break;
    case LayerKind::kSoftmaxCrossEntropy:
      if (task == Task::kForward) w.vector_ops = 3 * in;
      if (task == Task::kBackwardActivation) w.vector_ops = in;
      break;
    case LayerKind::kSpikeEncode:
      // direct: a copy per step; Poisson: a random draw and a compare per step
      if (task == Task::kForward)
        w.vector_ops = layer.encoding == SpikeEncoding::kPoisson ? 2 * out : out;
      break;
    case LayerKind::kLif:
      // u = alpha u + I - theta s, s = (u > theta); adjoint g = alpha g' + sigma'(u - theta) dS
      if (task == Task::kForward) w.vector_ops = 4 * in;
      if (task == Task::kBackwardActivation) w.vector_ops = (layer.lif.detach_reset ? 4 : 6) * in;
      break;
    case LayerKind::kLeakyReadout:
      // the integrator (2 per element) and the sum over T; backward the same run backwards
      if (task == Task::kForward || task == Task::kBackwardActivation) w.vector_ops = 3 * in;
      break;
  }
  return w;
}

std::int64_t tensor_bytes(std::int64_t elements, bool binary) {
  return binary ? (elements + 7) / 8 : elements * ops::kScalarBytes;
}

}  // namespace lpsim::models
