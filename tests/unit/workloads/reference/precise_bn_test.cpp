// Precise BN (workload.precise_bn_minibatches, TaskEngine::set_precise_bn): the statistics it
// evaluates with are the mean over the first K training minibatches of each batch norm's batch
// statistics (checked by hand where the batch norm reads the input), and it changes nothing but
// the evaluation.

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "workloads/data/synthetic.h"
#include "workloads/models/network.h"
#include "workloads/reference/engine.h"
#include "workloads/reference/trainer.h"

namespace lpsim::reference::precise_bn_test {
namespace {

data::Dataset synthetic(data::Split split, const ops::Shape& shape, std::int64_t train,
                        std::int64_t test) {
  data::SyntheticSpec spec;
  spec.sample_shape = shape;
  spec.num_classes = 10;
  spec.train_count = train;
  spec.test_count = test;
  spec.seed = 7;
  return data::make_synthetic(spec, split);
}

// Batch norm first: its batch statistics are the input's, per channel.
TEST(PreciseBn, EvaluatesWithTheMeanOfTheFirstMinibatchesBatchStatistics) {
  const models::Network net = models::parse_network(core::Json::parse(R"({"name": "bn_first",
    "input": {"shape": [2, 3, 3]}, "layers": [
      {"name": "bn", "type": "batchnorm2d"},
      {"name": "flat", "type": "flatten"},
      {"name": "fc", "type": "linear", "out_features": 10},
      {"name": "loss", "type": "softmax_cross_entropy"}]})"),
                                                    "bn_first");
  const models::UnitGraph units = models::group_units(net);
  const data::Dataset train = synthetic(data::Split::kTrain, {2, 3, 3}, 16, 12);
  const data::Dataset test = synthetic(data::Split::kTest, {2, 3, 3}, 16, 12);
  const ops::Mat<double> train_x = train.images.cast<double>();
  const ops::Mat<double> test_x = test.images.cast<double>();
  std::vector<BasicUnitParams<double>> init = initial_parameters<double>(net, units, 3);
  const int bn = units.unit_of_layer[0];
  // Running statistics far from the data's, so that the two evaluations differ.
  init[bn].running_mean.setConstant(2.0);
  init[bn].running_var.setConstant(9.0);

  // By hand: minibatches of 4 rows, the first K = 2; per channel, 4 x 9 values per batch.
  const std::int64_t batch = 4, k = 2, hw = 9;
  BasicUnitParams<double> expected = init[bn];
  for (int c = 0; c < 2; ++c) {
    double mean_sum = 0.0, var_sum = 0.0;
    for (std::int64_t m = 0; m < k; ++m) {
      double sum = 0.0;
      for (std::int64_t r = m * batch; r < (m + 1) * batch; ++r) {
        for (std::int64_t i = 0; i < hw; ++i) sum += train_x(r, c * hw + i);
      }
      const double mean = sum / static_cast<double>(batch * hw);
      double squares = 0.0;
      for (std::int64_t r = m * batch; r < (m + 1) * batch; ++r) {
        for (std::int64_t i = 0; i < hw; ++i) {
          squares += (train_x(r, c * hw + i) - mean) * (train_x(r, c * hw + i) - mean);
        }
      }
      mean_sum += mean;
      var_sum += squares / static_cast<double>(batch * hw - 1);  // unbiased, as PyTorch's
    }
    expected.running_mean(c) = mean_sum / static_cast<double>(k);
    expected.running_var(c) = var_sum / static_cast<double>(k);
  }
  EngineSettings settings;
  settings.delays.assign(units.units.size(), 0);
  BasicTaskEngine<double> precise(net, units, settings, init);
  precise.set_precise_bn(&train_x, k, batch);
  const EvalResult r = precise.evaluate(test_x, test.labels, std::nullopt, 1000);

  std::vector<BasicUnitParams<double>> by_hand = init;
  by_hand[bn] = expected;
  const EvalResult hand = BasicTaskEngine<double>(net, units, settings, by_hand)
                              .evaluate(test_x, test.labels, std::nullopt, 1000);
  const EvalResult running = BasicTaskEngine<double>(net, units, settings, init)
                                 .evaluate(test_x, test.labels, std::nullopt, 1000);
  EXPECT_TRUE(r.precise_bn);
  EXPECT_NEAR(r.loss, hand.loss, 1e-12);
  EXPECT_EQ(r.accuracy, hand.accuracy);
  EXPECT_EQ(r.running_stats_loss, running.loss);
  EXPECT_EQ(r.running_stats_accuracy, running.accuracy);
  EXPECT_GT(std::abs(r.loss - running.loss), 1e-3);  // the statistics did change
  EXPECT_FALSE(running.precise_bn);
}

// Precise BN is evaluation only: training under it is the same bit for bit, and its
// running-statistics results are the evaluation without it (a residual CNN whose batch norms
// sit after convolutions, 2 stages of `stash`, 2 epochs: a snapshot and the final weights).
TEST(PreciseBn, ChangesOnlyTheEvaluation) {
  const models::Network net = models::parse_network(core::Json::parse(R"({"name": "bn_cnn",
    "input": {"shape": [1, 8, 8]}, "layers": [
      {"name": "c1", "type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1,
       "bias": false},
      {"name": "bn1", "type": "batchnorm2d"},
      {"name": "r1", "type": "relu"},
      {"name": "c2", "type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1,
       "bias": false},
      {"name": "bn2", "type": "batchnorm2d"},
      {"name": "sum", "type": "add", "inputs": ["r1", "bn2"]},
      {"name": "r2", "type": "relu"},
      {"name": "flat", "type": "flatten"},
      {"name": "fc", "type": "linear", "out_features": 10},
      {"name": "loss", "type": "softmax_cross_entropy"}]})"),
                                                    "bn_cnn");
  const models::UnitGraph units = models::group_units(net);
  const data::Dataset train = synthetic(data::Split::kTrain, {1, 8, 8}, 48, 24);
  const data::Dataset test = synthetic(data::Split::kTest, {1, 8, 8}, 48, 24);
  TrainerSettings s;
  s.policy = &policies::get("stash");
  s.num_stages = 2;
  s.stage_of_unit.assign(units.units.size(), 0);
  s.stage_of_unit.back() = 1;
  s.batch_size = 8;
  s.epochs = 2;
  s.optimizer.lr = 0.05;
  s.optimizer.momentum = 0.9;
  s.seed = 3;
  const auto init = initial_parameters(net, units, 5);
  const TrainingResult plain = train_reference(net, units, s, init, train, test);
  s.precise_bn_minibatches = 3;
  const TrainingResult precise = train_reference(net, units, s, init, train, test);
  ASSERT_EQ(plain.epochs.size(), 2u);
  ASSERT_EQ(precise.epochs.size(), 2u);
  for (std::size_t e = 0; e < 2; ++e) {
    SCOPED_TRACE(e);
    EXPECT_EQ(precise.epochs[e].train_loss, plain.epochs[e].train_loss);
    EXPECT_FALSE(plain.epochs[e].precise_bn);
    EXPECT_TRUE(precise.epochs[e].precise_bn);
    EXPECT_EQ(precise.epochs[e].running_stats_test_loss, plain.epochs[e].test_loss);
    EXPECT_EQ(precise.epochs[e].running_stats_test_accuracy, plain.epochs[e].test_accuracy);
    EXPECT_NE(precise.epochs[e].test_loss, plain.epochs[e].test_loss);
  }
  for (std::size_t u = 0; u < init.size(); ++u) {
    EXPECT_EQ(precise.final_params[u].weight, plain.final_params[u].weight) << u;
    EXPECT_EQ(precise.final_params[u].running_mean, plain.final_params[u].running_mean) << u;
  }
}

}  // namespace
}  // namespace lpsim::reference::precise_bn_test
