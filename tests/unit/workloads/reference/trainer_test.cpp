// The reference trainer's semantics: identities between policies, delays, drain.

#include "workloads/reference/trainer.h"

#include <gtest/gtest.h>

#include <cstring>

#include "workloads/data/synthetic.h"
#include "workloads/models/builtin.h"

namespace lpsim::reference {
namespace {

struct Fixture {
  models::Network net;
  models::UnitGraph units;
  data::Dataset train, test;
};

Fixture mlp_fixture(const std::string& model = "mlp3", std::int64_t train_count = 512) {
  data::SyntheticSpec spec;
  spec.sample_shape = {1, 28, 28};
  spec.num_classes = 10;
  spec.train_count = train_count;
  spec.test_count = 200;
  spec.seed = 7;
  Fixture f{models::builtin_model(model),
            {},
            data::make_synthetic(spec, data::Split::kTrain),
            data::make_synthetic(spec, data::Split::kTest)};
  f.units = models::group_units(f.net);
  return f;
}

TrainerSettings settings(const policies::Policy* policy, int num_units, bool per_layer) {
  TrainerSettings s;
  s.policy = policy;
  s.num_stages = per_layer ? num_units : 1;
  for (int u = 0; u < num_units; ++u) s.stage_of_unit.push_back(per_layer ? u : 0);
  s.batch_size = 16;
  s.epochs = 2;
  s.optimizer.lr = 0.01;
  s.optimizer.momentum = 0.9;
  s.optimizer.weight_decay = 1e-4;
  s.seed = 3;
  return s;
}

bool bit_equal(const std::vector<UnitParams>& a, const std::vector<UnitParams>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t u = 0; u < a.size(); ++u) {
    if (a[u].weight.size() != b[u].weight.size() || a[u].bias.size() != b[u].bias.size())
      return false;
    if (std::memcmp(a[u].weight.data(), b[u].weight.data(), a[u].weight.size() * sizeof(float)) !=
            0 ||
        std::memcmp(a[u].bias.data(), b[u].bias.data(), a[u].bias.size() * sizeof(float)) != 0) {
      return false;
    }
  }
  return true;
}

TrainingResult run(const Fixture& f, const TrainerSettings& s) {
  return train_reference(f.net, f.units, s, initial_parameters(f.net, f.units, 11), f.train,
                         f.test);
}

// Every policy with one stage equals sync, and every policy learns under the delays:
// tests/unit/workloads/policies (parametrised over the registry).

TEST(ReferenceTrainer, DelaysAreTwiceTheStagesAfter) {
  const Fixture f = mlp_fixture("mlp6");
  const TrainerSettings s = settings(&policies::get("stash"), 6, true);
  EXPECT_EQ(layer_delays(s, 6), (std::vector<std::int64_t>{10, 8, 6, 4, 2, 0}));
}

TEST(ReferenceTrainer, StashDiffersFromNoneOnlyOnceWeightsMoveDuringTheDelay) {
  Fixture f = mlp_fixture("mlp3", 16);  // one minibatch of 16: only m = 0, W^(0) = W^(d)
  const int nu = 3;
  TrainerSettings s = settings(&policies::get("stash"), nu, true);
  s.epochs = 1;
  const TrainingResult stash1 = run(f, s);
  s.policy = &policies::get("none");
  const TrainingResult none1 = run(f, s);
  EXPECT_TRUE(bit_equal(stash1.final_params, none1.final_params));

  f = mlp_fixture("mlp3", 512);
  s.policy = &policies::get("stash");
  const TrainingResult stash = run(f, s);
  s.policy = &policies::get("none");
  const TrainingResult none = run(f, s);
  EXPECT_FALSE(bit_equal(stash.final_params, none.final_params));
  // The last layer (d = 0) backward is the same under every policy, but the layers below
  // it receive different gradients, so fc1 differs.
  EXPECT_GT((stash.final_params[0].weight - none.final_params[0].weight).norm(), 0.0f);
}

TEST(ReferenceTrainer, ReconstructionErrorOrdersThePolicies) {
  const Fixture f = mlp_fixture();
  auto errors = [&](const policies::Policy* p) {
    TrainerSettings s = settings(p, 3, true);
    s.reconstruction_diagnostic = true;
    return run(f, s).reconstruction;
  };
  const auto none = errors(&policies::get("none"));
  const auto stash = errors(&policies::get("stash"));
  const auto ema = errors(&policies::get("ema_grad"));
  // fc2 (d = 2) has a Ba; fc1 has none; fc3 has d = 0.
  ASSERT_GT(none[1].measured, 0);
  EXPECT_DOUBLE_EQ(none[1].mean(), 1.0);  // W^(m+d) itself: the whole distance
  EXPECT_DOUBLE_EQ(stash[1].mean(), 0.0);
  EXPECT_LT(ema[1].mean(), 0.5);  // the EMA recovers most of the way back
  EXPECT_EQ(none[0].measured, 0);
  EXPECT_EQ(none[2].measured, 0);
}

TEST(ReferenceTrainer, RunsTwiceToTheSameBits) {
  const Fixture f = mlp_fixture();
  const TrainerSettings s = settings(&policies::get("ema_weight"), 3, true);
  EXPECT_TRUE(bit_equal(run(f, s).final_params, run(f, s).final_params));
}

}  // namespace
}  // namespace lpsim::reference
