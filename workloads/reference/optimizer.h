#pragma once
// SGD with momentum and weight decay, and learning-rate schedules (ARCHITECTURE.md §2):
//   v(n) = mu·v(n-1) + g(n-d) + wd·W(n),   W(n+1) = W(n) - lr·v(n)
// Weight decay applies to every parameter, biases and batch-norm affine ones included.

#include <cstdint>
#include <string>
#include <vector>

namespace lpsim::reference {

struct LrSchedule {
  enum class Kind { kConstant, kStep, kCosine };
  Kind kind = Kind::kConstant;
  std::int64_t step_epochs = 1;  // kStep: multiply by gamma every step_epochs epochs
  double gamma = 0.1;            // kStep
  double min_lr = 0.0;           // kCosine: the floor reached at the last minibatch
};

struct OptimizerSettings {
  double lr = 0.01;
  double momentum = 0.9;
  double weight_decay = 0.0;
  LrSchedule schedule;
};

inline const std::vector<std::string>& lr_schedule_names() {
  static const std::vector<std::string> names = {"constant", "step", "cosine"};
  return names;
}

// The learning rate of the update that applies the gradient of minibatch m (0-based);
// the schedule runs over gradient indices, so every policy sees the same rates.
double learning_rate(const OptimizerSettings& opt, std::int64_t m, std::int64_t batches_per_epoch,
                     std::int64_t total_minibatches);

// Spike compensation (ARCHITECTURE.md §2b) of a layer with delay d: W -= lr·(a·v + b·q), with
// q = g + wd·W the late gradient term, a = mu^d, b = (1 - mu^d)/(1 - mu) = sum_{k<d} mu^k.
struct SpikeCoefficients {
  double a = 1.0;
  double b = 0.0;
};
SpikeCoefficients spike_coefficients(double momentum, std::int64_t delay);

}  // namespace lpsim::reference
