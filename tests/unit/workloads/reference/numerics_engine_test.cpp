// ARCHITECTURE.md §2d in the reference engine: what each class's format reaches. A stash
// version stored narrower than the master makes `stash` inexact (the consistency diagnostic,
// 0 with an fp32 stash, turns positive), and a bf16 master leaves every weight and optimizer
// tensor a bf16 value after training.

#include <gtest/gtest.h>

#include <cstdint>

#include "workloads/data/synthetic.h"
#include "workloads/models/builtin.h"
#include "workloads/ops/numerics.h"
#include "workloads/reference/trainer.h"

namespace lpsim::reference::numerics_engine_test {
namespace {

TrainingResult train(const ops::Numerics& numerics) {
  const models::Network net = models::builtin_model("mlp3");
  const models::UnitGraph units = models::group_units(net);
  data::SyntheticSpec spec;
  spec.sample_shape = {1, 28, 28};
  spec.num_classes = 10;
  spec.train_count = 256;
  spec.test_count = 64;
  spec.seed = 5;
  const data::Dataset train_set = data::make_synthetic(spec, data::Split::kTrain);
  const data::Dataset test_set = data::make_synthetic(spec, data::Split::kTest);
  TrainerSettings s;
  s.policy = &policies::get("stash");
  s.num_stages = 3;
  s.stage_of_unit = {0, 1, 2};
  s.batch_size = 16;
  s.epochs = 1;
  s.optimizer.lr = 0.05;
  s.optimizer.momentum = 0.9;
  s.seed = 2;
  s.reconstruction_diagnostic = true;
  s.numerics = numerics;
  return train_reference(net, units, s, initial_parameters(net, units, 9), train_set, test_set);
}

TEST(NumericsEngine, ANarrowStashMakesStashInexact) {
  const TrainingResult exact = train(ops::Numerics{});
  ops::Numerics narrow;
  narrow.of(ops::TensorClass::kStash) = ops::NumberFormat::kBf16;
  const TrainingResult rounded = train(narrow);
  const int fc2 = 1;  // delay 2, its Ba reads the stash (fc1 has no Ba)
  ASSERT_GT(exact.reconstruction[fc2].measured, 0);
  EXPECT_EQ(exact.reconstruction[fc2].mean(), 0.0);
  EXPECT_GT(rounded.reconstruction[fc2].mean(), 0.0);
}

TEST(NumericsEngine, ABf16MasterLeavesBf16Parameters) {
  ops::Numerics n;
  n.of(ops::TensorClass::kMaster) = ops::NumberFormat::kBf16;
  n.of(ops::TensorClass::kWeights) = ops::NumberFormat::kBf16;
  const TrainingResult r = train(n);
  std::int64_t off = 0, values = 0;
  for (const auto& p : r.final_params) {
    for (Eigen::Index i = 0; i < p.weight.size(); ++i, ++values) {
      off += ops::round_to(p.weight(i), ops::NumberFormat::kBf16) != p.weight(i) ? 1 : 0;
    }
    for (Eigen::Index i = 0; i < p.bias.size(); ++i, ++values) {
      off += ops::round_to(p.bias(i), ops::NumberFormat::kBf16) != p.bias(i) ? 1 : 0;
    }
  }
  EXPECT_GT(values, 0);
  EXPECT_EQ(off, 0);
  // And the run is not the fp32 one.
  const TrainingResult wide = train(ops::Numerics{});
  EXPECT_NE(wide.final_params[1].weight(0, 0), r.final_params[1].weight(0, 0));
}

}  // namespace
}  // namespace lpsim::reference::numerics_engine_test
