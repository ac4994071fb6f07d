// The task engine refuses executions that would break the pipeline's semantics.

#include "workloads/reference/engine.h"

#include <gtest/gtest.h>

#include "core/errors.h"
#include "workloads/models/builtin.h"

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

}  // namespace
}  // namespace lpsim::reference
