#include "workloads/models/cost.h"

namespace lpsim::models {

std::int64_t Work::macs() const {
  std::int64_t total = 0;
  for (const auto& g : gemms) total += g.macs();
  return total;
}

Work& Work::operator+=(const Work& other) {
  gemms.insert(gemms.end(), other.gemms.begin(), other.gemms.end());
  vector_ops += other.vector_ops;
  return *this;
}

Work layer_work(const Layer& layer, Task task, std::int64_t batch) {
  Work w;
  const std::int64_t in = batch * layer.in_shape.size();
  const std::int64_t out = batch * layer.out_shape.size();
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
          w.gemms.push_back({pixels, outc, patch});
          if (layer.bias) w.vector_ops = out;
          break;
        case Task::kBackwardActivation:
          w.gemms.push_back({pixels, patch, outc});
          if (is_conv) w.vector_ops = pixels * patch;  // col2im accumulation
          break;
        case Task::kBackwardWeight:
          w.gemms.push_back({outc, patch, pixels});
          if (layer.bias) w.vector_ops = out;
          break;
        case Task::kUpdate:
          w.vector_ops = 2 * layer.num_params();
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
          w.vector_ops = 2 * layer.num_params();
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
  }
  return w;
}

std::int64_t activation_bytes(const Layer& layer) {
  return layer.out_shape.size() * static_cast<std::int64_t>(sizeof(ops::Scalar));
}

}  // namespace lpsim::models
