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
  return layer.type->work(layer, task, batch, update);
}

Work gemm_layer_work(const Layer& layer, Task task, std::int64_t batch, const UpdateCost& update,
                     std::int64_t patch, bool col2im) {
  Work w;
  const std::int64_t out = batch * layer.out_elements();
  // One GEMM per time step; token positions are rows of one GEMM.
  const std::int64_t steps = layer.in_sequence ? 1 : layer.in_time;
  auto gemms = [&](Gemm g) {
    for (std::int64_t t = 0; t < steps; ++t) w.gemms.push_back(g);
  };
  const std::int64_t rows = layer.in_sequence ? layer.in_time : 1;
  const std::int64_t pixels = batch * rows * layer.out_shape.h * layer.out_shape.w;
  const std::int64_t outc = layer.out_shape.c;
  switch (task) {
    case Task::kForward:
      gemms({pixels, outc, patch, layer.in_binary, false});
      if (layer.bias) w.vector_ops = out;
      break;
    case Task::kBackwardActivation:
      gemms({pixels, patch, outc, false, false});
      if (col2im) w.vector_ops = steps * pixels * patch;  // col2im accumulation
      break;
    case Task::kBackwardWeight:
      // dW = sum over t of delta_t^T x_t: the T products accumulate into the same dW
      // tiles, so the array streams them back to back as one GEMM with K = T*B*Ho*Wo
      // (no drain between steps).
      w.gemms.push_back({outc, patch, pixels * steps, false, layer.in_binary});
      if (layer.bias) w.vector_ops = out;
      break;
    case Task::kUpdate:
      w.vector_ops = update.lane_ops * layer.num_params();
      break;
  }
  return w;
}

Work elementwise_work(Task task, std::int64_t forward_ops, std::int64_t backward_ops) {
  Work w;
  if (task == Task::kForward) w.vector_ops = forward_ops;
  if (task == Task::kBackwardActivation) w.vector_ops = backward_ops;
  return w;
}

std::int64_t tensor_bytes(std::int64_t elements, bool binary) {
  return tensor_bytes(elements, binary, ops::kScalarBytes);
}

std::int64_t tensor_bytes(std::int64_t elements, bool binary, int element_bytes) {
  return binary ? (elements + 7) / 8 : elements * element_bytes;
}

}  // namespace lpsim::models
