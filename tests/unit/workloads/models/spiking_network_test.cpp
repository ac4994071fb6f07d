// Spiking networks in the network format (time steps, spike-ness, their faults) and in the
// cost model (T GEMMs per task, accumulates apart from MACs).

#include <gtest/gtest.h>

#include "core/errors.h"
#include "network_test_util.h"
#include "workloads/models/builtin.h"
#include "workloads/models/cost.h"
#include "workloads/models/network.h"
#include "workloads/models/units.h"

namespace lpsim::models {
namespace {

using testing::error_of;
using testing::mentions;

const Layer& layer(const Network& net, const std::string& name) {
  const int i = net.find(name);
  EXPECT_GE(i, 0) << name;
  return net.layers[static_cast<std::size_t>(i)];
}

TEST(SpikingNetwork, Snn3CarriesTimeStepsFromTheEncoderToTheReadout) {
  const Network net = builtin_model("snn3");
  EXPECT_EQ(net.num_params(), 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10);
  EXPECT_EQ(layer(net, "encode").in_time, 1);
  EXPECT_EQ(layer(net, "encode").out_time, kDefaultTimeSteps);
  for (const char* name : {"flatten", "fc1", "lif1", "fc2", "lif2", "fc3"}) {
    EXPECT_EQ(layer(net, name).out_time, 8) << name;
  }
  EXPECT_EQ(layer(net, "readout").in_time, 8);
  EXPECT_EQ(layer(net, "readout").out_time, 1);
  // Direct coding feeds fc1 real values; fc2 and fc3 read spikes.
  EXPECT_FALSE(layer(net, "fc1").in_binary);
  EXPECT_TRUE(layer(net, "fc2").in_binary);
  EXPECT_TRUE(layer(net, "fc3").in_binary);
  EXPECT_TRUE(layer(net, "lif1").out_binary);
  EXPECT_FALSE(layer(net, "fc2").out_binary);
  EXPECT_EQ(layer(net, "fc1").in_elements(), 784 * 8);
  // Units: the encoder is input pre-processing, each LIF is its fc's tail, the readout is
  // fc3's tail (run by the loss).
  const UnitGraph units = group_units(net);
  ASSERT_EQ(units.units.size(), 3u);
  EXPECT_EQ(units.input_attached.size(), 2u);
  EXPECT_EQ(units.units[0].attached, std::vector<int>{net.find("lif1")});
  EXPECT_EQ(units.units[2].attached, std::vector<int>{net.find("readout")});
  EXPECT_EQ(units.units[2].tail_owner, kLossUnit);
  EXPECT_EQ(builtin_model("snn3", {1, 28, 28}, 10, 3).layers[net.find("fc2")].in_time, 3);
}

TEST(SpikingNetwork, Sconv3PoolsSpikesIntoSpikes) {
  const Network net = builtin_model("sconv3");
  EXPECT_EQ(net.num_params(), builtin_model("cnn3").num_params());
  EXPECT_TRUE(layer(net, "pool1").out_binary);  // max of 0/1 values
  EXPECT_TRUE(layer(net, "conv2").in_binary);
  EXPECT_TRUE(layer(net, "fc").in_binary);  // through pool2 and flatten
  EXPECT_EQ(layer(net, "fc").in_shape.c, 1568);
  EXPECT_EQ(layer(net, "fc").in_time, 8);
}

TEST(SpikingNetwork, RoundTripsThroughJsonWithEveryParameter) {
  const std::string text = R"({"name": "s", "input": {"shape": [6]}, "layers": [
    {"name": "enc", "type": "spike_encode", "time_steps": 5, "encoding": "poisson",
     "gain": 0.5, "offset": 0.25},
    {"name": "fc1", "type": "linear", "out_features": 4},
    {"name": "lif", "type": "lif", "alpha": 0.75, "threshold": 0.5, "surrogate": "rectangle",
     "width": 2.0, "detach_reset": false},
    {"name": "fc2", "type": "linear", "out_features": 3},
    {"name": "out", "type": "leaky_readout", "alpha": 0.6},
    {"name": "loss", "type": "softmax_cross_entropy"}]})";
  const Network a = parse_network(core::Json::parse(text), "s.json");
  const Network b = parse_network(network_to_json(a), "again");
  for (const Network* n : {&a, &b}) {
    const Layer& enc = layer(*n, "enc");
    EXPECT_EQ(enc.time_steps, 5);
    EXPECT_EQ(enc.encoding, SpikeEncoding::kPoisson);
    EXPECT_EQ(enc.gain, 0.5);
    EXPECT_EQ(enc.offset, 0.25);
    EXPECT_TRUE(enc.out_binary);  // Poisson spikes: fc1 accumulates
    EXPECT_TRUE(layer(*n, "fc1").in_binary);
    const Layer& lif = layer(*n, "lif");
    EXPECT_EQ(lif.lif.alpha, 0.75);
    EXPECT_EQ(lif.lif.threshold, 0.5);
    EXPECT_EQ(lif.lif.surrogate, ops::SurrogateKind::kRectangle);
    EXPECT_EQ(lif.lif.width, 2.0);
    EXPECT_FALSE(lif.lif.detach_reset);
    EXPECT_EQ(layer(*n, "out").readout_alpha, 0.6);
    EXPECT_EQ(layer(*n, "out").out_time, 1);
  }
}

TEST(SpikingNetwork, RejectsTimeFaultsWithTheirPointers) {
  // The loss needs one time step.
  std::string e = error_of(R"({"input": {"shape": [4]}, "layers": [
    {"name": "enc", "type": "spike_encode", "time_steps": 3},
    {"name": "fc", "type": "linear", "out_features": 2},
    {"name": "loss", "type": "softmax_cross_entropy"}]})");
  EXPECT_TRUE(mentions(e, "/layers/2/inputs"));
  EXPECT_TRUE(mentions(e, "insert a leaky_readout"));
  // An encoder must read the network input.
  e = error_of(R"({"input": {"shape": [4]}, "layers": [
    {"name": "fc", "type": "linear", "out_features": 2},
    {"name": "enc", "type": "spike_encode", "time_steps": 3},
    {"name": "out", "type": "leaky_readout"},
    {"name": "loss", "type": "softmax_cross_entropy"}]})");
  EXPECT_TRUE(mentions(e, "/layers/1/inputs"));
  EXPECT_TRUE(mentions(e, "must read \"input\""));
  // An add of tensors with different time steps.
  e = error_of(R"({"input": {"shape": [4]}, "layers": [
    {"name": "enc", "type": "spike_encode", "time_steps": 3},
    {"name": "fc", "type": "linear", "out_features": 4},
    {"name": "fc0", "type": "linear", "out_features": 4, "inputs": ["input"]},
    {"name": "add", "type": "add", "inputs": ["fc", "fc0"]},
    {"name": "out", "type": "leaky_readout"},
    {"name": "loss", "type": "softmax_cross_entropy"}]})");
  EXPECT_TRUE(mentions(e, "/layers/3/inputs"));
  EXPECT_TRUE(mentions(e, "equal time steps"));
  // Parameter ranges.
  auto lif_error = [](const std::string& params) {
    return error_of(R"({"input": {"shape": [4]}, "layers": [
      {"name": "enc", "type": "spike_encode", "time_steps": 2},
      {"name": "fc", "type": "linear", "out_features": 3},
      {"name": "lif", "type": "lif", )" +
                    params + R"(},
      {"name": "fc2", "type": "linear", "out_features": 2},
      {"name": "out", "type": "leaky_readout"},
      {"name": "loss", "type": "softmax_cross_entropy"}]})");
  };
  EXPECT_TRUE(mentions(lif_error(R"("alpha": 1.5)"), "/layers/2/alpha"));
  EXPECT_TRUE(mentions(lif_error(R"("threshold": 0)"), "/layers/2/threshold"));
  EXPECT_TRUE(mentions(lif_error(R"("width": -1)"), "/layers/2/width"));
  EXPECT_TRUE(mentions(lif_error(R"("surrogate": "sigmoid")"), "/layers/2/surrogate"));
  EXPECT_TRUE(mentions(lif_error(R"("detach_reset": 1)"), "/layers/2/detach_reset"));
  EXPECT_TRUE(mentions(lif_error(R"("tau": 2)"), "/layers/2/tau"));
  EXPECT_EQ(lif_error(R"("alpha": 0.5)"), "(no error)");
  e = error_of(R"({"input": {"shape": [4]}, "layers": [
    {"name": "enc", "type": "spike_encode", "time_steps": 0},
    {"name": "fc", "type": "linear", "out_features": 2},
    {"name": "out", "type": "leaky_readout"},
    {"name": "loss", "type": "softmax_cross_entropy"}]})");
  EXPECT_TRUE(mentions(e, "/layers/0/time_steps"));
  e = error_of(R"({"input": {"shape": [4]}, "layers": [
    {"name": "enc", "type": "spike_encode", "time_steps": 2, "gain": 2},
    {"name": "fc", "type": "linear", "out_features": 2},
    {"name": "out", "type": "leaky_readout"},
    {"name": "loss", "type": "softmax_cross_entropy"}]})");
  EXPECT_TRUE(mentions(e, "/layers/0/gain"));  // gain is a Poisson key
}

TEST(SpikingCost, ForwardAndBackwardGemmsRunOncePerTimeStepAndSpikeOperandsAccumulate) {
  const Network net = builtin_model("snn3");
  const std::int64_t batch = 32, t = 8;
  const Layer& fc1 = layer(net, "fc1");
  const Layer& fc2 = layer(net, "fc2");
  const Work f1 = layer_work(fc1, Task::kForward, batch);
  ASSERT_EQ(f1.gemms.size(), static_cast<std::size_t>(t));
  EXPECT_EQ(f1.gemms[0].m, batch);
  EXPECT_EQ(f1.macs(), t * batch * 784 * 256);
  EXPECT_EQ(f1.accumulates(), 0);  // direct coding: real inputs
  const Work f2 = layer_work(fc2, Task::kForward, batch);
  ASSERT_EQ(f2.gemms.size(), static_cast<std::size_t>(t));
  EXPECT_TRUE(f2.gemms[0].a_binary);
  EXPECT_EQ(f2.accumulates(), t * batch * 256 * 128);
  EXPECT_EQ(f2.accumulates(), f2.macs());
  const Work ba2 = layer_work(fc2, Task::kBackwardActivation, batch);
  EXPECT_EQ(ba2.gemms.size(), static_cast<std::size_t>(t));
  EXPECT_EQ(ba2.accumulates(), 0);  // gradients and weights are real
  const Work bw2 = layer_work(fc2, Task::kBackwardWeight, batch);
  ASSERT_EQ(bw2.gemms.size(), 1u);  // the T products accumulate into one dW: K = T*B
  EXPECT_EQ(bw2.gemms[0].k, t * batch);
  EXPECT_TRUE(bw2.gemms[0].b_binary);
  EXPECT_EQ(bw2.accumulates(), t * batch * 256 * 128);
  // The same layer without time steps: one GEMM with the whole batch.
  const Network mlp3 = builtin_model("mlp3");
  const Layer& mlp_fc2 = layer(mlp3, "fc2");
  const Work plain = layer_work(mlp_fc2, Task::kForward, batch);
  EXPECT_EQ(plain.gemms.size(), 1u);
  EXPECT_EQ(plain.macs() * t, f2.macs());
  // The neuron recursion is vector work over every neuron and time step.
  EXPECT_EQ(layer_work(layer(net, "lif1"), Task::kForward, batch).vector_ops, 4 * batch * t * 256);
  EXPECT_GT(layer_work(layer(net, "lif1"), Task::kBackwardActivation, batch).vector_ops, 0);
  // Spikes cross links as packed bits.
  EXPECT_EQ(tensor_bytes(16, true), 2);
  EXPECT_EQ(tensor_bytes(17, true), 3);
  EXPECT_EQ(tensor_bytes(16, false), 16 * 4);
}

}  // namespace
}  // namespace lpsim::models
