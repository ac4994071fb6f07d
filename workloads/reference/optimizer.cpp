#include "workloads/reference/optimizer.h"

#include <cmath>

namespace lpsim::reference {

namespace {

double scheduled_rate(const OptimizerSettings& opt, std::int64_t m, std::int64_t batches_per_epoch,
                      std::int64_t total_minibatches) {
  switch (opt.schedule.kind) {
    case LrSchedule::Kind::kConstant:
      return opt.lr;
    case LrSchedule::Kind::kStep: {
      const std::int64_t epoch = batches_per_epoch > 0 ? m / batches_per_epoch : 0;
      return opt.lr *
             std::pow(opt.schedule.gamma, static_cast<double>(epoch / opt.schedule.step_epochs));
    }
    case LrSchedule::Kind::kCosine: {
      const double progress = total_minibatches > 1 ? static_cast<double>(m) /
                                                          static_cast<double>(total_minibatches - 1)
                                                    : 0.0;
      const double pi = 3.14159265358979323846;
      return opt.schedule.min_lr +
             0.5 * (opt.lr - opt.schedule.min_lr) * (1.0 + std::cos(pi * progress));
    }
  }
  return opt.lr;
}

}  // namespace

double learning_rate(const OptimizerSettings& opt, std::int64_t m, std::int64_t batches_per_epoch,
                     std::int64_t total_minibatches) {
  const double rate = scheduled_rate(opt, m, batches_per_epoch, total_minibatches);
  const std::int64_t warmup = opt.schedule.warmup_minibatches;
  if (warmup <= 0 || m + 1 >= warmup) return rate;
  return rate * (static_cast<double>(m + 1) / static_cast<double>(warmup));
}

models::UpdateCost update_cost(const OptimizerSettings& opt) {
  models::UpdateCost c;
  c.lane_ops = ops::update_lane_ops(opt.kind) + (opt.clip_norm > 0.0 ? ops::kClipLaneOps : 0);
  c.state_tensors = ops::optimizer_state_tensors(opt.kind);
  return c;
}

SpikeCoefficients spike_coefficients(double momentum, std::int64_t delay) {
  // b as the sum of its d terms: the same double for every mu, mu = 1 included.
  SpikeCoefficients c{1.0, 0.0};
  for (std::int64_t k = 0; k < delay; ++k) {
    c.b += c.a;
    c.a *= momentum;
  }
  return c;
}

}  // namespace lpsim::reference
