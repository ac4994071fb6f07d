#pragma once
// The optimizers, learning-rate schedules and gradient clipping of a training run.
//
// `sgd` (ARCHITECTURE.md §2), SGD with momentum and weight decay:
//   v(n) = mu·v(n-1) + g(n-d) + wd·W(n),   W(n+1) = W(n) - lr·v(n)
// `adamw` (§2c): torch.optim.AdamW, weight decay decoupled (workloads/ops/optimizer.h has the
// rule). Weight decay applies to every parameter, biases and batch-norm affine ones included.
// Per-layer clipping (clip_norm > 0): before a layer's update, its gradient (weights and bias
// together) is scaled by min(1, clip_norm / ||g||), ||g|| the L2 norm; under sgd the decay
// term wd·W is added after the clipping.

#include <cstdint>
#include <string>
#include <vector>

#include "workloads/models/cost.h"
#include "workloads/ops/optimizer.h"

namespace lpsim::reference {

struct LrSchedule {
  enum class Kind { kConstant, kStep, kCosine };
  Kind kind = Kind::kConstant;
  std::int64_t step_epochs = 1;  // kStep: multiply by gamma every step_epochs epochs
  double gamma = 0.1;            // kStep
  double min_lr = 0.0;           // kCosine: the floor reached at the last minibatch
  // Linear warm-up on top of the kind: the rate of the gradient of minibatch m is scaled by
  // min(1, (m+1)/warmup_minibatches); 0: none.
  std::int64_t warmup_minibatches = 0;
};

// The rule (kind, momentum, weight_decay, betas, eps: ops::UpdateRule) and what varies or
// acts around it.
struct OptimizerSettings : ops::UpdateRule {
  double lr = 0.01;
  LrSchedule schedule;
  double clip_norm = 0.0;  // per-layer gradient-norm clipping; 0: off
};

inline const std::vector<std::string>& lr_schedule_names() {
  static const std::vector<std::string> names = {"constant", "step", "cosine"};
  return names;
}

// The learning rate of the update that applies the gradient of minibatch m (0-based): the
// schedule's rate times the warm-up factor min(1, (m+1)/warmup_minibatches) (1 without a
// warm-up). The schedule runs over gradient indices, so every policy sees the same rates.
double learning_rate(const OptimizerSettings& opt, std::int64_t m, std::int64_t batches_per_epoch,
                     std::int64_t total_minibatches);

// What the optimizer costs the hardware: U's lane operations per parameter (the rule's and the
// clipping's) and the tensors of |W| it keeps.
models::UpdateCost update_cost(const OptimizerSettings& opt);

// Spike compensation (ARCHITECTURE.md §2b) of a layer with delay d: W -= lr·(a·v + b·q), with
// q = g + wd·W the late gradient term, a = mu^d, b = (1 - mu^d)/(1 - mu) = sum_{k<d} mu^k.
struct SpikeCoefficients {
  double a = 1.0;
  double b = 0.0;
};
SpikeCoefficients spike_coefficients(double momentum, std::int64_t delay);

}  // namespace lpsim::reference
