// The task engine refuses executions that would break the pipeline's semantics.

#include "workloads/reference/engine.h"

#include <gtest/gtest.h>

#include <cstring>
#include <sstream>
#include <string>
#include <utility>

#include "core/errors.h"
#include "workloads/models/builtin.h"
#include "workloads/ops/rng.h"

namespace lpsim::reference {
namespace {

struct Mlp3 {
  models::Network net = models::builtin_model("mlp3");
  models::UnitGraph units = models::group_units(net);
};

EngineSettings delayed(const policies::Policy* policy) {
  EngineSettings s;
  s.policy = policy;
  s.delays = {4, 2, 0};
  s.batches_per_epoch = 10;
  s.total_minibatches = 10;
  return s;
}

void load(TaskEngine& e, std::int64_t n) { e.load(n, ops::Matrix::Random(4, 784), {0, 1, 2, 3}); }

TEST(TaskEngine, ForwardNeverSeesALaterWeightVersion) {
  Mlp3 s;
  TaskEngine e(s.net, s.units, delayed(&policies::get("none")),
               initial_parameters(s.net, s.units, 1));
  load(e, 0);
  for (int u = 0; u < 3; ++u) e.forward(u, 0);
  e.loss(0);
  e.backward_activation(2, 0);
  e.backward_weight(2, 0);
  e.update(2, 0);  // fc3 now holds W^(1)
  load(e, 1);
  e.forward(0, 1);
  e.forward(1, 1);
  e.forward(2, 1);  // uses W^(1): fine
  load(e, 2);
  EXPECT_THROW(e.forward(2, 3), core::InternalError);  // minibatch 3 is not loaded
  e.forward(0, 2);
  e.forward(1, 2);
  // fc3 is at version 1 and minibatch 2 needs version 2: U(1) has not happened.
  EXPECT_THROW(e.forward(2, 2), core::InternalError);
}

TEST(TaskEngine, BackwardNeedsTheCompleteGradient) {
  Mlp3 s;
  TaskEngine e(s.net, s.units, delayed(&policies::get("stash")),
               initial_parameters(s.net, s.units, 1));
  load(e, 0);
  for (int u = 0; u < 3; ++u) e.forward(u, 0);
  EXPECT_THROW(e.backward_weight(1, 0), core::InternalError);  // fc3's Ba has not run
  e.loss(0);
  EXPECT_THROW(e.update(2, 0), core::InternalError);  // no weight gradient yet
  e.backward_weight(2, 0);
  EXPECT_THROW(e.update(2, 1), core::InternalError);  // out of order
}

// A state saved mid-training (minibatches in flight, pending gradients, the policy's stash or
// EMA, the consistency diagnostic) loads into a fresh engine of the same network and settings,
// which saves the same bytes back and trains on to the same bits as the engine it came from.
TEST(TaskEngine, StateSavedMidTrainingLoadsToTheSameBytesAndTrainsToTheSameBits) {
  Mlp3 s;
  const std::int64_t total = 10, max_delay = 4;
  const auto images = [](std::int64_t n) {
    ops::Rng rng(100 + static_cast<std::uint64_t>(n));
    ops::Matrix m(4, 784);
    for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = static_cast<float>(rng.uniform());
    return m;
  };
  const auto same_bits = [](const auto& a, const auto& b) {
    return a.rows() == b.rows() && a.cols() == b.cols() &&
           std::memcmp(a.data(), b.data(), sizeof(float) * static_cast<std::size_t>(a.size())) == 0;
  };
  // SGD, and AdamW (§2c: its moments m and s and the step count t come back too).
  for (const auto& [name, kind] : {std::pair{"stash", ops::OptimizerKind::kSgd},
                                   std::pair{"ema_grad", ops::OptimizerKind::kSgd},
                                   std::pair{"lwp", ops::OptimizerKind::kAdamw},
                                   std::pair{"stash", ops::OptimizerKind::kAdamw}}) {
    SCOPED_TRACE(std::string(name) + (kind == ops::OptimizerKind::kAdamw ? " adamw" : " sgd"));
    EngineSettings settings = delayed(&policies::get(name));
    settings.reconstruction_diagnostic = true;
    settings.optimizer.kind = kind;
    if (kind == ops::OptimizerKind::kAdamw) {
      settings.optimizer.lr = 1e-3;
      settings.optimizer.weight_decay = 1e-2;
    }
    const auto step = [&](TaskEngine& e, std::int64_t n) {
      if (n < total) {
        e.load(n, images(n), {0, 1, 2, 3});
        for (int u = 0; u < 3; ++u) e.forward(u, n);
        e.loss(n);
      }
      for (int u = 2; u >= 0; --u) {
        const std::int64_t m = n - settings.delays[u];
        if (m < 0 || m >= total) continue;
        if (e.has_backward_activation(u)) e.backward_activation(u, m);
        e.backward_weight(u, m);
        e.update(u, m);
      }
    };
    TaskEngine a(s.net, s.units, settings, initial_parameters(s.net, s.units, 1));
    for (std::int64_t n = 0; n < 6; ++n) step(a, n);
    ASSERT_GT(a.minibatches_in_flight(), 1u);
    std::stringstream saved;
    a.save_state(saved);
    TaskEngine b(s.net, s.units, settings, initial_parameters(s.net, s.units, 2));
    b.load_state(saved, "state");
    EXPECT_EQ(b.minibatches_in_flight(), a.minibatches_in_flight());
    std::stringstream again;
    b.save_state(again);
    EXPECT_TRUE(again.str() == saved.str()) << again.str().size() << " vs " << saved.str().size();
    for (std::int64_t n = 6; n < total + max_delay; ++n) {
      step(a, n);
      step(b, n);
    }
    EXPECT_EQ(b.minibatches_in_flight(), 0u);
    const auto pa = a.parameters(), pb = b.parameters();
    for (std::size_t u = 0; u < pa.size(); ++u) {
      EXPECT_TRUE(same_bits(pa[u].weight, pb[u].weight)) << u;
      EXPECT_TRUE(same_bits(pa[u].bias, pb[u].bias)) << u;
    }
    EXPECT_FALSE(same_bits(pa[0].weight, initial_parameters(s.net, s.units, 1)[0].weight));
    ASSERT_EQ(b.minibatch_results().size(), static_cast<std::size_t>(total));
    for (std::int64_t n = 0; n < total; ++n) {
      EXPECT_EQ(a.minibatch_results()[n].loss, b.minibatch_results()[n].loss) << n;
    }
    for (int u = 0; u < 3; ++u) {
      EXPECT_EQ(a.reconstruction(u).error_sum, b.reconstruction(u).error_sum) << u;
    }
  }
}

}  // namespace
}  // namespace lpsim::reference
