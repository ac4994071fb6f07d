// A layer kind added the way a new one is added (workloads/models/layer_type.h): its kernel
// and one registration, in this file, and nothing else in lpsim told about it. A network file
// that uses it is read and written back, costed, trained by the reference trainer with the
// exact gradient (a finite-difference check in double), and run on the SystemC hardware
// with the weights bit for bit the reference trainer's.

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <string>

#include "system_test_util.h"
#include "workloads/models/cost.h"
#include "workloads/models/layer_type.h"
#include "workloads/reference/engine.h"

namespace lpsim {
namespace {

// --- the new kind: y = x·|x| (odd, smooth enough for a gradient check), dx = 2|x|·dy.
constexpr std::int64_t kForwardLaneOps = 2;   // |x|, then the product
constexpr std::int64_t kBackwardLaneOps = 3;  // |x|, 2·, the product

class SignedSquare : public models::LayerKernels<SignedSquare> {
 public:
  void infer(models::Layer& l, const models::InferContext& ctx) const override {
    l.out_shape = ctx.in[0].shape;
  }
  models::Work work(const models::Layer& l, models::Task task, std::int64_t batch,
                    const models::UpdateCost& /*u*/) const override {
    return models::elementwise_work(task, kForwardLaneOps * batch * l.in_elements(),
                                    kBackwardLaneOps * batch * l.in_elements());
  }
  template <typename T>
  void forward_t(const models::Layer& /*l*/, models::ForwardArgs<T>& a) const {
    *a.y = a.x[0]->cwiseProduct(a.x[0]->cwiseAbs());
  }
  template <typename T>
  void backward_input_t(const models::Layer& /*l*/, models::BackwardArgs<T>& a) const {
    a.dx.resize(1);
    a.dx[0] = (a.x[0]->cwiseAbs() * T(2)).cwiseProduct(*a.dy);
  }
};

}  // namespace
LPSIM_REGISTER_LAYER_TYPE(SignedSquare, "signed_square", "x·|x| (a kind of this test)")
namespace {

const char* kNetwork = R"({"name": "sq", "input": {"shape": [1, 28, 28]},
 "layers": [
   {"name": "flatten", "type": "flatten"},
   {"name": "fc1", "type": "linear", "out_features": 32},
   {"name": "sq1", "type": "signed_square"},
   {"name": "fc2", "type": "linear", "out_features": 16},
   {"name": "sq2", "type": "signed_square"},
   {"name": "fc3", "type": "linear", "out_features": 10},
   {"name": "loss", "type": "softmax_cross_entropy"}]})";

std::string network_file() {
  const std::string path =
      std::string(std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp") +
      "/signed_square_net.json";
  std::ofstream(path) << kNetwork;
  return path;
}

TEST(NewLayerKind, IsReadWrittenAndCosted) {
  const models::Network net = models::parse_network(core::Json::parse(kNetwork), "net.json");
  const int sq = net.find("sq1");
  ASSERT_GE(sq, 0);
  EXPECT_EQ(net.layers[sq].type_name(), "signed_square");
  EXPECT_EQ(net.layers[sq].out_shape, (ops::Shape{32, 1, 1}));
  EXPECT_FALSE(net.layers[sq].has_params());
  const models::Network again = models::parse_network(models::network_to_json(net), "written.json");
  EXPECT_EQ(models::network_to_json(again), models::network_to_json(net));
  EXPECT_EQ(models::layer_work(net.layers[sq], models::Task::kForward, 4).vector_ops,
            4 * 32 * kForwardLaneOps);
  EXPECT_EQ(models::layer_work(net.layers[sq], models::Task::kBackwardActivation, 4).vector_ops,
            4 * 32 * kBackwardLaneOps);
  // It joins the accepted types, so a wrong name still lists it.
  const auto& names = models::layer_type_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "signed_square"), names.end());
}

// Bw of fc1 (whose backward runs through both new layers) against central differences of the
// double engine's loss.
TEST(NewLayerKind, BackwardIsTheLossGradient) {
  const models::Network net = models::parse_network(core::Json::parse(kNetwork), "net.json");
  const models::UnitGraph units = models::group_units(net);
  ASSERT_EQ(units.units.size(), 3u);
  const auto params = reference::initial_parameters<double>(net, units, 7);
  ops::Rng rng(11);
  ops::Mat<double> x(4, 784);
  for (std::int64_t i = 0; i < x.size(); ++i) x.data()[i] = rng.normal();
  const std::vector<std::int32_t> labels = {1, 3, 5, 7};
  auto loss_and_grad = [&](const std::vector<reference::BasicUnitParams<double>>& p,
                           ops::Mat<double>* grad) {
    reference::EngineSettings s;
    s.delays = {0, 0, 0};
    reference::BasicTaskEngine<double> e(net, units, s, p);
    e.load(0, x, labels);
    for (int u = 0; u < 3; ++u) e.forward(u, 0);
    e.loss(0);
    for (int u = 2; u >= 0; --u) {
      if (e.has_backward_activation(u)) e.backward_activation(u, 0);
      e.backward_weight(u, 0);
    }
    if (grad != nullptr) *grad = e.pending_gradient(0, 0).first;
    return e.minibatch_results()[0].loss;
  };
  ops::Mat<double> g;
  loss_and_grad(params, &g);
  const double h = 1e-5;
  for (int k = 0; k < 8; ++k) {
    const std::int64_t r = (k * 7) % 32, c = 300 + 37 * k;
    auto plus = params, minus = params;
    plus[0].weight(r, c) += h;
    minus[0].weight(r, c) -= h;
    const double fd = (loss_and_grad(plus, nullptr) - loss_and_grad(minus, nullptr)) / (2 * h);
    EXPECT_NEAR(g(r, c), fd, 1e-7 * std::max(1.0, std::abs(fd))) << r << "," << c;
  }
}

// Trained on the hardware, pipelined under stash: the reference trainer's weights.
TEST(NewLayerKind, RunsOnTheHardwareAsTheReference) {
  const run::Job job = testing::synthetic_job("mlp3", "stash", "per_layer", 1,
                                              {"/workload/network_file=" + network_file()});
  ASSERT_EQ(job.network.layers[job.network.find("sq2")].type_name(), "signed_square");
  const auto [plan, hw] = testing::run_planned(job);
  const reference::TrainingResult ref = reference::train_reference(
      job.network, job.units, job.trainer, job.init, job.train, job.test);
  EXPECT_TRUE(testing::bit_equal(ref.final_params, hw.final_params));
  EXPECT_GT(hw.minibatches, 0);
}

}  // namespace
}  // namespace lpsim
