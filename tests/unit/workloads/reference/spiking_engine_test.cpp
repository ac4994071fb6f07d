// The task engine on spiking networks: where the math says a spiking network must reduce
// to a non-spiking one it does, the Poisson encoders' spikes do not depend on task order,
// and a training state with LIF membranes in flight survives save_state/load_state.

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <sstream>

#include "workloads/models/builtin.h"
#include "workloads/models/network.h"
#include "workloads/ops/ops.h"
#include "workloads/reference/engine.h"

namespace lpsim::reference {
namespace {

using models::Network;

EngineSettings spiking_sync_settings(const models::UnitGraph& units) {
  EngineSettings s;
  s.policy = &policies::get("sync");
  s.delays.assign(units.units.size(), 0);
  return s;
}

template <typename T>
ops::Mat<T> random_images(std::int64_t batch, std::int64_t width, std::uint64_t seed) {
  ops::Rng rng(seed);
  ops::Mat<T> m(batch, width);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = static_cast<T>(rng.uniform());
  return m;
}

std::vector<std::int32_t> labels_for(std::int64_t batch, std::int64_t classes) {
  std::vector<std::int32_t> labels;
  for (std::int64_t b = 0; b < batch; ++b) labels.push_back(static_cast<std::int32_t>(b % classes));
  return labels;
}

// F of every unit, the loss, then Ba and Bw in reverse unit order for minibatch 0.
template <typename T>
void forward_backward(BasicTaskEngine<T>& e) {
  for (int u = 0; u < e.num_units(); ++u) e.forward(u, 0);
  e.loss(0);
  for (int u = e.num_units() - 1; u >= 0; --u) {
    if (e.has_backward_activation(u)) e.backward_activation(u, 0);
    e.backward_weight(u, 0);
  }
}

bool same_bits(const ops::Matrix& a, const ops::Matrix& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), sizeof(float) * static_cast<std::size_t>(a.size())) == 0;
}

Network parse(const std::string& text) {
  return models::parse_network(core::Json::parse(text), "test");
}

// One time step and a leaky readout: u = I, the time mean of one step is the step, and
// the backward hands dy through unchanged, so the network is the plain MLP bit for bit.
TEST(SpikingEngine, OneTimeStepWithAReadoutIsThePlainNetworkBitForBit) {
  const Network spiking = parse(R"({"input": {"shape": [12]}, "layers": [
    {"name": "enc", "type": "spike_encode", "time_steps": 1},
    {"name": "fc1", "type": "linear", "out_features": 7},
    {"name": "relu", "type": "relu"},
    {"name": "fc2", "type": "linear", "out_features": 4},
    {"name": "out", "type": "leaky_readout", "alpha": 0.5},
    {"name": "loss", "type": "softmax_cross_entropy"}]})");
  const Network plain = parse(R"({"input": {"shape": [12]}, "layers": [
    {"name": "fc1", "type": "linear", "out_features": 7},
    {"name": "relu", "type": "relu"},
    {"name": "fc2", "type": "linear", "out_features": 4},
    {"name": "loss", "type": "softmax_cross_entropy"}]})");
  const models::UnitGraph su = models::group_units(spiking), pu = models::group_units(plain);
  TaskEngine a(spiking, su, spiking_sync_settings(su), initial_parameters(spiking, su, 5));
  TaskEngine b(plain, pu, spiking_sync_settings(pu), initial_parameters(plain, pu, 5));
  const ops::Matrix images = random_images<float>(6, 12, 9);
  a.load(0, images, labels_for(6, 4));
  b.load(0, images, labels_for(6, 4));
  forward_backward(a);
  forward_backward(b);
  EXPECT_EQ(a.minibatch_results()[0].loss, b.minibatch_results()[0].loss);
  for (int u = 0; u < 2; ++u) {
    EXPECT_TRUE(same_bits(a.pending_gradient(u, 0).first, b.pending_gradient(u, 0).first)) << u;
  }
}

// A LIF layer whose threshold is never reached fires nothing, so fc2 sees zeros and the
// logits are fc2's bias; with a rectangular surrogate wider than every |u - theta| the
// backward is dI = dS / width exactly. With alpha = 0 (no memory) and a readout without
// leak, T steps give each step 1/T of the gradient, and fc1's gradient is the same for
// every T: dW1 = (1/width) (delta W2)^T x with delta = (softmax(b2) - onehot) / B. (With
// the reset's gradient, detach_reset false, the steps would couple through theta.)
TEST(SpikingEngine, ASilentLifLayerPassesTheSurrogateScaledGradient) {
  const double width = 1e4;
  const std::int64_t batch = 5;
  for (int steps : {1, 4}) {
    const std::string text = R"({"input": {"shape": [6]}, "layers": [
      {"name": "enc", "type": "spike_encode", "time_steps": )" +
                             std::to_string(steps) + R"(},
      {"name": "fc1", "type": "linear", "out_features": 4},
      {"name": "lif", "type": "lif", "alpha": 0, "threshold": 1000, "surrogate": "rectangle",
       "width": 10000, "detach_reset": true},
      {"name": "fc2", "type": "linear", "out_features": 3},
      {"name": "out", "type": "leaky_readout", "alpha": 0},
      {"name": "loss", "type": "softmax_cross_entropy"}]})";
    const Network net = parse(text);
    const models::UnitGraph units = models::group_units(net);
    const auto init = initial_parameters<double>(net, units, 3);
    BasicTaskEngine<double> e(net, units, spiking_sync_settings(units), init);
    const ops::Mat<double> x = random_images<double>(batch, 6, 4);
    const std::vector<std::int32_t> labels = labels_for(batch, 3);
    e.load(0, x, labels);
    forward_backward(e);
    // The expected gradient, from the parameters alone.
    ops::Mat<double> logits(batch, 3);
    for (std::int64_t b = 0; b < batch; ++b) logits.row(b) = init[1].bias.transpose();
    ops::Mat<double> probs, delta;
    ops::softmax_cross_entropy_forward<double>(logits, labels, probs);
    ops::softmax_cross_entropy_backward<double>(probs, labels, delta);
    const ops::Mat<double> dcurrent = (delta * init[1].weight) / width;
    const ops::Mat<double> expected = dcurrent.transpose() * x;
    const ops::Mat<double>& got = e.pending_gradient(0, 0).first;
    ASSERT_EQ(got.rows(), expected.rows());
    ASSERT_EQ(got.cols(), expected.cols());
    EXPECT_LE((got - expected).norm(), 1e-12 * expected.norm()) << "T = " << steps;
    EXPECT_GT(expected.norm(), 0.0);
    // fc2 read only zeros: no weight gradient, and the LIF layer never fired.
    EXPECT_EQ(e.pending_gradient(1, 0).first.norm(), 0.0);
    const SpikeStats& st = e.spike_stats()[static_cast<std::size_t>(net.find("lif"))];
    EXPECT_EQ(st.spikes, 0);
    EXPECT_EQ(st.elements, batch * steps * 4);
  }
}

constexpr const char* kPoissonNetwork = R"({"input": {"shape": [20]}, "layers": [
  {"name": "enc", "type": "spike_encode", "time_steps": 6, "encoding": "poisson"},
  {"name": "fc1", "type": "linear", "out_features": 8},
  {"name": "lif", "type": "lif", "threshold": 0.3},
  {"name": "fc2", "type": "linear", "out_features": 3},
  {"name": "out", "type": "leaky_readout", "alpha": 0.9},
  {"name": "loss", "type": "softmax_cross_entropy"}]})";

// The Poisson spikes of minibatch n come from (seed, layer, n): loading minibatches in
// another order gives the same spikes, another seed other spikes, and the firing rate is
// the rate the encoder was asked for.
TEST(SpikingEngine, PoissonSpikesDependOnSeedAndMinibatchNotOnOrder) {
  const Network net = parse(kPoissonNetwork);
  const models::UnitGraph units = models::group_units(net);
  const auto init = initial_parameters(net, units, 1);
  auto losses = [&](std::uint64_t seed, bool reverse) {
    // Delay 1 everywhere: F of minibatches 0 and 1 both use the initial weights.
    EngineSettings s;
    s.policy = &policies::get("none");
    s.delays.assign(units.units.size(), 1);
    s.seed = seed;
    TaskEngine e(net, units, s, init);
    const std::int64_t order[2] = {reverse ? 1 : 0, reverse ? 0 : 1};
    for (std::int64_t n : order) {
      e.load(n, ops::Matrix::Constant(50, 20, 0.5f), labels_for(50, 3));
    }
    for (std::int64_t n : order) {
      for (int u = 0; u < e.num_units(); ++u) e.forward(u, n);
      e.loss(n);
    }
    const SpikeStats st = e.spike_stats()[0];
    EXPECT_EQ(st.elements, 2 * 50 * 6 * 20);
    // p = 0.5 for every draw: within 6 standard deviations of half.
    const double n = static_cast<double>(st.elements);
    EXPECT_NEAR(st.rate(), 0.5, 6.0 * std::sqrt(0.25 / n));
    return std::make_pair(e.minibatch_results()[0].loss, e.minibatch_results()[1].loss);
  };
  const auto forward_order = losses(7, false);
  const auto reverse_order = losses(7, true);
  EXPECT_EQ(forward_order, reverse_order);
  EXPECT_NE(forward_order.first, forward_order.second);  // minibatches get their own spikes
  EXPECT_NE(losses(8, false), forward_order);
}

// A state saved with minibatches in flight (LIF membranes held for the backward) and
// loaded into a fresh engine continues to the same bits.
TEST(SpikingEngine, StateWithMembranesInFlightSurvivesSaveAndLoad) {
  const Network net = models::builtin_model("snn3", {1, 28, 28}, 10, 4);
  const models::UnitGraph units = models::group_units(net);
  const auto init = initial_parameters(net, units, 2);
  EngineSettings s = spiking_sync_settings(units);
  s.optimizer.lr = 0.05;
  const ops::Matrix images = random_images<float>(8, 784, 3);
  TaskEngine a(net, units, s, init);
  a.load(0, images, labels_for(8, 10));
  for (int u = 0; u < a.num_units(); ++u) a.forward(u, 0);
  std::stringstream state;
  a.save_state(state);
  TaskEngine b(net, units, s, initial_parameters(net, units, 99));
  b.load_state(state, "state");
  for (TaskEngine* e : {&a, &b}) {
    e->loss(0);
    for (int u = e->num_units() - 1; u >= 0; --u) {
      if (e->has_backward_activation(u)) e->backward_activation(u, 0);
      e->backward_weight(u, 0);
      e->update(u, 0);
    }
  }
  EXPECT_EQ(a.minibatch_results()[0].loss, b.minibatch_results()[0].loss);
  const auto pa = a.parameters(), pb = b.parameters();
  for (std::size_t u = 0; u < pa.size(); ++u)
    EXPECT_TRUE(same_bits(pa[u].weight, pb[u].weight)) << u;
  const int lif1 = net.find("lif1");
  EXPECT_EQ(a.spike_stats()[lif1].spikes, b.spike_stats()[lif1].spikes);
  EXPECT_GT(a.spike_stats()[lif1].spikes, 0);
  EXPECT_EQ(a.minibatches_in_flight(), 0u);
}

}  // namespace
}  // namespace lpsim::reference
