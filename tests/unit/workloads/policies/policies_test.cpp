// The weight-version policies: registry, exact rules (ARCHITECTURE.md sections 2 and 2b),
// and the properties every registered policy must have, with and without spike compensation.

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "core/errors.h"
#include "workloads/data/synthetic.h"
#include "workloads/models/builtin.h"
#include "workloads/policies/ema.h"
#include "workloads/policies/policy.h"
#include "workloads/reference/engine.h"
#include "workloads/reference/optimizer.h"
#include "workloads/reference/trainer.h"

namespace lpsim {
namespace {

using policies::Policy;
using MatD = ops::Mat<double>;
using VecD = ops::Vec<double>;

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

TEST(PolicyRegistry, ListsSyncFirstThenEveryPolicyByName) {
  const std::vector<std::string> names = policies::names();
  ASSERT_GE(names.size(), 7u);
  EXPECT_EQ(names.front(), "sync");
  EXPECT_TRUE(std::is_sorted(names.begin() + 1, names.end()));
  for (const char* n : {"none", "stash", "ema_grad", "ema_weight", "lwp", "ema_lwp"}) {
    ASSERT_NE(policies::find(n), nullptr) << n;
    EXPECT_EQ(&policies::get(n), policies::find(n));
    EXPECT_EQ(policies::get(n).name, n);
  }
  EXPECT_EQ(policies::find("ema"), nullptr);
  for (const Policy* p : policies::all()) {
    EXPECT_FALSE(p->description.empty()) << p->name;
    EXPECT_NE(p->make_float, nullptr) << p->name;
    EXPECT_NE(p->make_double, nullptr) << p->name;
    EXPECT_EQ(p->pipelined, p->name != "sync") << p->name;
    const policies::HardwareWork& w = p->hardware;
    // A policy's backward operand comes from somewhere, and a version or a tensor needs a
    // unit to hold it (sim/hardware's weight-unit tests check that the unit is registered).
    EXPECT_TRUE(w.stash || w.backward_reads_register || w.backward_reads_tensor) << p->name;
    if (w.backward_reads_tensor || w.tensors > 0 || w.forward_lane_ops > 0) {
      EXPECT_EQ(w.unit, "vector") << p->name;
    }
    if (w.stash) {
      EXPECT_EQ(w.unit, "stash") << p->name;
    }
    if (!p->pipelined) {
      EXPECT_EQ(w.unit, "") << p->name;
    }
  }
}

// Whatever lists policies for users lists the registry's: the report schema's enum and the
// config fuzzer's dictionary.
TEST(PolicyRegistry, SchemaEnumAndFuzzDictionaryAreTheRegistry) {
  const nlohmann::json schema = nlohmann::json::parse(
      slurp(std::string(LPSIM_SOURCE_DIR) + "/reports/schema/report.schema.json"));
  EXPECT_EQ(schema.at("properties").at("policy").at("enum").get<std::vector<std::string>>(),
            policies::names());
  const std::string dict = slurp(std::string(LPSIM_SOURCE_DIR) + "/fuzz/config.dict");
  for (const std::string& n : policies::names()) {
    EXPECT_NE(dict.find("\"\\\"" + n + "\\\"\""), std::string::npos) << n;
  }
}

struct Layer {
  MatD weight = MatD::Zero(2, 3);
  VecD bias = VecD::Zero(2);
  MatD momentum_w = MatD::Zero(2, 3);
  VecD momentum_b = VecD::Zero(2);
  std::int64_t updates = 0;
  MatD second_w;  // adamw's s
  VecD second_b;
  ops::UpdateRule optimizer;  // sgd unless a test says otherwise
  policies::UnitView<double> view(std::int64_t d) const {
    return {weight, bias, momentum_w, momentum_b, d, updates, second_w, second_b, optimizer};
  }
};

Layer random_layer(unsigned seed) {
  std::srand(seed);
  Layer l;
  l.weight = MatD::Random(2, 3);
  l.bias = VecD::Random(2);
  l.momentum_w = MatD::Random(2, 3);
  l.momentum_b = VecD::Random(2);
  return l;
}

TEST(Lwp, ForwardUsesTheMomentumPredictionForWeightsAndBiases) {
  const std::int64_t d = 4;
  Layer l = random_layer(1);
  auto unit = policies::get("lwp").make<double>({d, true}, l.view(d));
  MatD w;
  VecD b;
  // No update applied yet: v = 0, no prediction.
  EXPECT_FALSE(unit->forward_weights(l.view(d), 0, 0.05, w, b));
  l.updates = 3;
  ASSERT_TRUE(unit->forward_weights(l.view(d), 7, 0.05, w, b));
  EXPECT_EQ(w, (l.weight - (0.05 * 4.0) * l.momentum_w).eval());
  EXPECT_EQ(b, (l.bias - (0.05 * 4.0) * l.momentum_b).eval());
  // The backward uses the current weights.
  MatD scratch;
  EXPECT_TRUE(unit->reads_current_at_backward());
  EXPECT_EQ(&unit->backward_weight(l.view(d), 3, scratch), &l.weight);
}

// §2c: under adamw the prediction is the latest AdamW step d times, Ŵ = W − lr·d·(m̂/(√ŝ + eps)
// + λ·W), m̂ = m/(1−β1^t), ŝ = s/(1−β2^t), t the updates applied; written out per element here.
TEST(Lwp, UnderAdamwForwardUsesTheLatestAdamwStepDTimes) {
  const std::int64_t d = 4;
  Layer l = random_layer(5);
  l.optimizer.kind = ops::OptimizerKind::kAdamw;
  l.optimizer.beta1 = 0.8;
  l.optimizer.beta2 = 0.95;
  l.optimizer.eps = 1e-3;
  l.optimizer.weight_decay = 0.1;
  l.second_w = MatD::Random(2, 3).cwiseAbs();
  l.second_b = VecD::Random(2).cwiseAbs();
  auto unit = policies::get("lwp").make<double>({d, true}, l.view(d));
  MatD w;
  VecD b;
  EXPECT_FALSE(unit->forward_weights(l.view(d), 0, 0.05, w, b));  // before the first update
  l.updates = 3;
  ASSERT_TRUE(unit->forward_weights(l.view(d), 7, 0.05, w, b));
  const double c1 = 1.0 - 0.8 * 0.8 * 0.8, c2 = 1.0 - 0.95 * 0.95 * 0.95;
  const auto predicted = [&](double w0, double m, double s) {
    return w0 - 0.05 * 4.0 * ((m / c1) / (std::sqrt(s / c2) + 1e-3) + 0.1 * w0);
  };
  for (Eigen::Index i = 0; i < w.size(); ++i) {
    EXPECT_NEAR(w.data()[i],
                predicted(l.weight.data()[i], l.momentum_w.data()[i], l.second_w.data()[i]), 1e-15)
        << i;
  }
  for (Eigen::Index i = 0; i < b.size(); ++i) {
    EXPECT_NEAR(b[i], predicted(l.bias[i], l.momentum_b[i], l.second_b[i]), 1e-15) << i;
  }
  EXPECT_GT((w - l.weight).norm(), 1e-3);  // it does predict
  MatD scratch;
  EXPECT_EQ(&unit->backward_weight(l.view(d), 3, scratch), &l.weight);
}

// Drives a policy through updates of a layer by plain momentum SGD on random gradients.
void apply_update(Layer& l, policies::UnitPolicy<double>& unit, unsigned seed) {
  std::srand(seed);
  const MatD before_w = l.weight;
  const VecD before_b = l.bias;
  l.momentum_w = 0.9 * l.momentum_w + MatD::Random(2, 3);
  l.momentum_b = 0.9 * l.momentum_b + VecD::Random(2);
  l.weight -= 0.01 * l.momentum_w;
  l.bias -= 0.01 * l.momentum_b;
  ++l.updates;
  unit.updated(l.view(0), &before_w, &before_b);
}

TEST(EmaLwp, ForwardExtrapolatesTheBiasCorrectedEmaOfTheUpdates) {
  const std::int64_t d = 3;
  Layer l = random_layer(2);
  auto unit = policies::get("ema_lwp").make<double>({d, false}, l.view(d));
  ASSERT_TRUE(unit->wants_parameters_before_update());
  MatD w;
  VecD b;
  EXPECT_FALSE(unit->forward_weights(l.view(d), 0, 0.01, w, b));  // t = 0
  // The EMA by hand: alpha = 2/(d+1) = 0.5.
  MatD ema_w = MatD::Zero(2, 3);
  VecD ema_b = VecD::Zero(2);
  for (unsigned k = 0; k < 5; ++k) {
    const MatD bw = l.weight;
    const VecD bb = l.bias;
    apply_update(l, *unit, 10 + k);
    ema_w = 0.5 * ema_w + 0.5 * (bw - l.weight);
    ema_b = 0.5 * ema_b + 0.5 * (bb - l.bias);
    ASSERT_TRUE(unit->forward_weights(l.view(d), l.updates + d, 0.01, w, b));
    const double t = static_cast<double>(l.updates);
    const double scale =
        static_cast<double>(std::min<std::int64_t>(d, l.updates)) / (1.0 - std::pow(0.5, t));
    EXPECT_LT((w - (l.weight - scale * ema_w)).norm(), 1e-15) << k;
    EXPECT_LT((b - (l.bias - scale * ema_b)).norm(), 1e-15) << k;
  }
  MatD scratch;
  EXPECT_EQ(&unit->backward_weight(l.view(d), 5, scratch), &l.weight);
}

TEST(EmaGrad, BackwardAddsTheBiasCorrectedEmaBack) {
  const std::int64_t d = 2;
  Layer l = random_layer(3);
  auto unit = policies::get("ema_grad").make<double>({d, true}, l.view(d));
  MatD scratch;
  EXPECT_EQ(&unit->backward_weight(l.view(d), 0, scratch), &l.weight);  // t = 0: W itself
  MatD ema = MatD::Zero(2, 3);
  for (unsigned k = 0; k < 3; ++k) {
    const MatD before = l.weight;
    apply_update(l, *unit, 20 + k);
    ema = (1.0 - 2.0 / 3.0) * ema + (2.0 / 3.0) * (before - l.weight);
  }
  const double scale = 2.0 / (1.0 - std::pow(1.0 / 3.0, 3.0));
  const MatD& used = unit->backward_weight(l.view(d), 3, scratch);
  EXPECT_LT((used - (l.weight + scale * ema)).norm(), 1e-15);
  MatD w;
  VecD b;
  EXPECT_FALSE(unit->forward_weights(l.view(d), 5, 0.01, w, b));  // the forward is W^(n)
}

TEST(SpikeCompensation, CoefficientsKeepTheTotalWeightOfAGradient) {
  for (double mu : {0.0, 0.5, 0.9, 0.99}) {
    for (std::int64_t d : {1, 2, 7, 10}) {
      const reference::SpikeCoefficients c = reference::spike_coefficients(mu, d);
      EXPECT_DOUBLE_EQ(c.a, std::pow(mu, static_cast<double>(d)));
      // b = (1 - mu^d) / (1 - mu), and a / (1 - mu) + b = 1 / (1 - mu): the same total step
      // lr / (1 - mu) a gradient gets without the delay.
      EXPECT_NEAR(c.b, (1.0 - c.a) / (1.0 - mu), 1e-12);
      EXPECT_NEAR(c.a / (1.0 - mu) + c.b, 1.0 / (1.0 - mu), 1e-9);
    }
  }
  const reference::SpikeCoefficients one = reference::spike_coefficients(1.0, 3);
  EXPECT_EQ(one.a, 1.0);
  EXPECT_EQ(one.b, 3.0);
}

// Training runs on mlp3, per layer (delays 4, 2, 0).
struct Mlp3Run {
  models::Network net = models::builtin_model("mlp3");
  models::UnitGraph units = models::group_units(net);
  data::Dataset train, test;
  Mlp3Run() {
    data::SyntheticSpec spec;
    spec.sample_shape = {1, 28, 28};
    spec.num_classes = 10;
    spec.train_count = 256;
    spec.test_count = 100;
    spec.seed = 5;
    train = data::make_synthetic(spec, data::Split::kTrain);
    test = data::make_synthetic(spec, data::Split::kTest);
  }
  // Under adamw (§2c) at lr 1e-3 and decoupled weight decay 1e-2.
  reference::TrainerSettings settings(const Policy& p, bool spike, bool per_layer,
                                      bool adamw = false) const {
    reference::TrainerSettings s;
    s.policy = &p;
    s.spike_compensation = spike;
    s.num_stages = per_layer ? 3 : 1;
    s.stage_of_unit = per_layer ? std::vector<int>{0, 1, 2} : std::vector<int>{0, 0, 0};
    s.batch_size = 16;
    s.epochs = 2;
    s.optimizer.lr = 0.01;
    s.optimizer.momentum = 0.9;
    s.optimizer.weight_decay = 1e-4;
    if (adamw) {
      s.optimizer.kind = ops::OptimizerKind::kAdamw;
      s.optimizer.lr = 1e-3;
      s.optimizer.weight_decay = 1e-2;
    }
    s.seed = 3;
    s.reconstruction_diagnostic = true;
    return s;
  }
  reference::TrainingResult run(const reference::TrainerSettings& s) const {
    return reference::train_reference(net, units, s, reference::initial_parameters(net, units, 11),
                                      train, test);
  }
};

bool bit_equal(const std::vector<reference::UnitParams>& a,
               const std::vector<reference::UnitParams>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t u = 0; u < a.size(); ++u) {
    if (a[u].weight.size() != b[u].weight.size() || a[u].bias.size() != b[u].bias.size() ||
        std::memcmp(a[u].weight.data(), b[u].weight.data(), a[u].weight.size() * sizeof(float)) ||
        std::memcmp(a[u].bias.data(), b[u].bias.data(), a[u].bias.size() * sizeof(float))) {
      return false;
    }
  }
  return true;
}

struct PolicyCase {
  const Policy* policy;
  bool spike;
  bool adamw;  // §2c (spike compensation is sgd's)
};

std::vector<PolicyCase> every_policy() {
  std::vector<PolicyCase> out;
  for (const Policy* p : policies::all()) {
    for (bool spike : {false, true}) out.push_back({p, spike, false});
    out.push_back({p, false, true});
  }
  return out;
}

std::string case_label(const ::testing::TestParamInfo<PolicyCase>& info) {
  return info.param.policy->name + (info.param.spike ? "_spike" : "") +
         (info.param.adamw ? "_adamw" : "");
}

class EveryPolicy : public ::testing::TestWithParam<PolicyCase> {};

// ARCHITECTURE.md §2: with one stage every delay is 0, and every rule is plain SGD (or plain
// AdamW, §2c).
TEST_P(EveryPolicy, OneStageEqualsSyncBitForBit) {
  static const Mlp3Run r;
  const bool adamw = GetParam().adamw;
  const reference::TrainingResult sync =
      r.run(r.settings(policies::get("sync"), false, false, adamw));
  const reference::TrainingResult one =
      r.run(r.settings(*GetParam().policy, GetParam().spike, false, adamw));
  EXPECT_TRUE(bit_equal(sync.final_params, one.final_params));
  EXPECT_EQ(sync.final_test_accuracy, one.final_test_accuracy);
}

// A state saved with minibatches in flight, loaded into an engine built from other weights,
// continues to the uninterrupted run's bits: the policy's own state (stash queue, EMA
// tensors) and the consistency diagnostic's come back with it.
TEST_P(EveryPolicy, StateSavedMidFlightResumesToTheSameBits) {
  static const Mlp3Run r;
  const Policy& p = *GetParam().policy;
  const bool per_layer = p.pipelined;
  const reference::TrainerSettings ts =
      r.settings(p, GetParam().spike, per_layer, GetParam().adamw);
  reference::EngineSettings es;
  es.policy = &p;
  es.spike_compensation = GetParam().spike;
  es.delays = reference::layer_delays(ts, 3);
  es.optimizer = ts.optimizer;
  es.batches_per_epoch = 16;
  es.total_minibatches = 16;
  es.reconstruction_diagnostic = true;
  const std::int64_t total = 16, max_delay = per_layer ? 4 : 0;
  const auto step = [&](reference::TaskEngine& e, std::int64_t n) {
    if (n < total) {
      e.load(n, r.train.images.middleRows(16 * n, 16),
             std::vector<std::int32_t>(r.train.labels.begin() + 16 * n,
                                       r.train.labels.begin() + 16 * (n + 1)));
      for (int u = 0; u < 3; ++u) e.forward(u, n);
      e.loss(n);
    }
    for (int u = 2; u >= 0; --u) {
      const std::int64_t m = n - es.delays[u];
      if (m < 0 || m >= total) continue;
      if (e.has_backward_activation(u)) e.backward_activation(u, m);
      e.backward_weight(u, m);
      e.update(u, m);
    }
  };
  reference::TaskEngine a(r.net, r.units, es, reference::initial_parameters(r.net, r.units, 11));
  reference::TaskEngine b(r.net, r.units, es, reference::initial_parameters(r.net, r.units, 12));
  for (std::int64_t n = 0; n < 9; ++n) step(a, n);
  if (per_layer) {
    EXPECT_GT(a.minibatches_in_flight(), 0u);
  }
  std::stringstream state;
  a.save_state(state);
  b.load_state(state, "state");
  for (std::int64_t n = 9; n < total + max_delay; ++n) {
    step(a, n);
    step(b, n);
  }
  EXPECT_TRUE(bit_equal(a.parameters(), b.parameters()));
  for (int u = 0; u < 3; ++u) {
    EXPECT_EQ(a.reconstruction(u).error_sum, b.reconstruction(u).error_sum) << u;
    EXPECT_EQ(a.reconstruction(u).measured, b.reconstruction(u).measured) << u;
  }
  // A state is refused by an engine of another policy.
  const Policy& other = policies::get(p.name == "stash" ? "none" : "stash");
  reference::EngineSettings os = es;
  os.policy = &other;
  if (!other.pipelined) os.delays.assign(3, 0);
  reference::TaskEngine c(r.net, r.units, os, reference::initial_parameters(r.net, r.units, 11));
  std::stringstream again;
  a.save_state(again);
  EXPECT_THROW(c.load_state(again, "state"), core::DataError);
  // And by an engine of the other optimizer.
  if (GetParam().spike) return;
  reference::EngineSettings oo = es;
  oo.optimizer.kind = GetParam().adamw ? ops::OptimizerKind::kSgd : ops::OptimizerKind::kAdamw;
  reference::TaskEngine d(r.net, r.units, oo, reference::initial_parameters(r.net, r.units, 11));
  std::stringstream third;
  a.save_state(third);
  EXPECT_THROW(d.load_state(third, "state"), core::DataError);
}

// Every pipelined policy still trains the synthetic task under the delays.
TEST_P(EveryPolicy, StillLearnsTheSyntheticTaskPerLayer) {
  static const Mlp3Run r;
  const reference::TrainingResult t = r.run(r.settings(
      *GetParam().policy, GetParam().spike, GetParam().policy->pipelined, GetParam().adamw));
  EXPECT_GT(t.final_test_accuracy, 0.8);
  EXPECT_LT(t.epochs.back().train_loss, t.epochs.front().train_loss);
}

INSTANTIATE_TEST_SUITE_P(Policies, EveryPolicy, ::testing::ValuesIn(every_policy()), case_label);

// The consistency error (§2b) of fc2 (d = 2): 0 for stash, 1 for none, in between for the
// schemes that estimate the forward's weight, and the predictions really reach the forward.
TEST(ConsistencyError, OrdersThePolicies) {
  const Mlp3Run r;
  auto run = [&](const char* name) { return r.run(r.settings(policies::get(name), false, true)); };
  const auto none = run("none"), stash = run("stash"), lwp = run("lwp"), ema_lwp = run("ema_lwp");
  ASSERT_GT(none.reconstruction[1].measured, 0);
  EXPECT_DOUBLE_EQ(none.reconstruction[1].mean(), 1.0);
  EXPECT_DOUBLE_EQ(stash.reconstruction[1].mean(), 0.0);
  for (const auto* t : {&lwp, &ema_lwp}) {
    EXPECT_GT(t->reconstruction[1].mean(), 0.0);
    EXPECT_LT(t->reconstruction[1].mean(), 0.5);  // the prediction lands most of the way
    EXPECT_FALSE(bit_equal(t->final_params, none.final_params));
  }
  // The first layer (no Ba) still forwards with the prediction: its weights differ too.
  EXPECT_GT((lwp.final_params[0].weight - none.final_params[0].weight).norm(), 0.0f);
}

// Spike compensation without momentum is plain SGD (a = 0, b = 1), bit for bit; with it, the
// update differs.
TEST(SpikeCompensation, IsPlainSgdWithoutMomentumAndChangesTheRunWithIt) {
  const Mlp3Run r;
  reference::TrainerSettings s = r.settings(policies::get("stash"), false, true);
  s.optimizer.momentum = 0.0;
  const auto plain0 = r.run(s);
  s.spike_compensation = true;
  const auto spike0 = r.run(s);
  EXPECT_TRUE(bit_equal(plain0.final_params, spike0.final_params));
  s.optimizer.momentum = 0.9;
  const auto spike9 = r.run(s);
  s.spike_compensation = false;
  const auto plain9 = r.run(s);
  EXPECT_FALSE(bit_equal(plain9.final_params, spike9.final_params));
  EXPECT_GT((plain9.final_params[1].weight - spike9.final_params[1].weight).norm(), 0.0f);
}

}  // namespace
}  // namespace lpsim
