// The network format: built-in models and the faults a user's file can have.

#include "workloads/models/network.h"

#include <gtest/gtest.h>

#include "core/errors.h"
#include "network_test_util.h"
#include "workloads/models/builtin.h"

namespace lpsim::models {
namespace {

using testing::error_of;
using testing::mentions;

TEST(BuiltinModels, HaveThePyTorchParameterCounts) {
  // Counts as torch.nn.Module.parameters() gives them for the same architectures.
  EXPECT_EQ(builtin_model("mlp3").num_params(), 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10);
  EXPECT_EQ(builtin_model("mlp6").num_params(),
            784 * 256 + 256 + 3 * (256 * 256 + 256) + 256 * 128 + 128 + 128 * 10 + 10);
  EXPECT_EQ(builtin_model("cnn3").num_params(), 16 * 9 + 16 + 32 * 16 * 9 + 32 + 1568 * 10 + 10);
  // torchvision-style CIFAR ResNet-18 with 10 classes: 11,173,962 parameters.
  EXPECT_EQ(builtin_model("resnet18", {3, 32, 32}, 10).num_params(), 11173962);
}

TEST(BuiltinModels, ResNet18WorksOnFashionMnistShapes) {
  const Network net = builtin_model("resnet18", {1, 28, 28}, 10);
  const Layer& fc = net.layers[net.find("fc")];
  EXPECT_EQ(fc.in_shape.c, 512);
  EXPECT_EQ(net.layers[net.find("layer4.1.conv2")].out_shape, (ops::Shape{512, 4, 4}));
  EXPECT_EQ(net.parametrised().size(), 41u);
}

TEST(BuiltinModels, RoundTripThroughJson) {
  for (const auto& info : builtin_models()) {
    const Network a = builtin_model(info.name, {3, 32, 32}, 10);
    const Network b = parse_network(network_to_json(a), "roundtrip");
    ASSERT_EQ(a.layers.size(), b.layers.size()) << info.name;
    for (std::size_t i = 0; i < a.layers.size(); ++i) {
      EXPECT_EQ(a.layers[i].name, b.layers[i].name);
      EXPECT_EQ(a.layers[i].inputs, b.layers[i].inputs);
      EXPECT_EQ(a.layers[i].out_shape, b.layers[i].out_shape);
    }
  }
}

TEST(NetworkFile, AcceptsLayersOutOfOrderAndSortsThem) {
  const Network net = parse_network(core::Json::parse(R"({"input":{"shape":[4]},"layers":[
      {"name":"loss","type":"softmax_cross_entropy","inputs":["b"]},
      {"name":"b","type":"linear","out_features":3,"inputs":["a"]},
      {"name":"a","type":"linear","out_features":5,"inputs":["input"]}]})"),
                                    "net.json");
  EXPECT_EQ(net.layers[0].name, "a");
  EXPECT_EQ(net.layers[2].name, "loss");
  EXPECT_EQ(net.num_classes, 3);
}

TEST(NetworkFile, RejectsACycleWithItsPointer) {
  const std::string e = error_of(R"({"input":{"shape":[4]},"layers":[
      {"name":"a","type":"linear","out_features":4,"inputs":["b"]},
      {"name":"b","type":"linear","out_features":4,"inputs":["a"]},
      {"name":"loss","type":"softmax_cross_entropy","inputs":["b"]}]})");
  EXPECT_TRUE(mentions(e, "net.json: /layers/0/inputs"));
  EXPECT_TRUE(mentions(e, "cycle"));
}

TEST(NetworkFile, RejectsAnUnknownLayerType) {
  const std::string e = error_of(R"({"input":{"shape":[4]},"layers":[
      {"name":"a","type":"lstm"},{"name":"loss","type":"softmax_cross_entropy"}]})");
  EXPECT_TRUE(mentions(e, "/layers/0/type"));
  EXPECT_TRUE(mentions(e, "\"conv2d\""));
}

TEST(NetworkFile, RejectsAShapeMismatch) {
  const std::string e = error_of(R"({"input":{"shape":[1,28,28]},"layers":[
      {"name":"flatten","type":"flatten"},
      {"name":"fc","type":"linear","in_features":1568,"out_features":10},
      {"name":"loss","type":"softmax_cross_entropy"}]})");
  EXPECT_TRUE(mentions(e, "/layers/1/in_features"));
  EXPECT_TRUE(mentions(e, "784"));
  const std::string add = error_of(R"({"input":{"shape":[4]},"layers":[
      {"name":"a","type":"linear","out_features":4},
      {"name":"b","type":"linear","out_features":5,"inputs":["input"]},
      {"name":"sum","type":"add","inputs":["a","b"]},
      {"name":"loss","type":"softmax_cross_entropy"}]})");
  EXPECT_TRUE(mentions(add, "/layers/2/inputs"));
  const std::string linear_on_image = error_of(R"({"input":{"shape":[1,28,28]},"layers":[
      {"name":"fc","type":"linear","out_features":10},
      {"name":"loss","type":"softmax_cross_entropy"}]})");
  EXPECT_TRUE(mentions(linear_on_image, "flatten"));
  const std::string kernel = error_of(R"({"input":{"shape":[1,4,4]},"layers":[
      {"name":"c","type":"conv2d","out_channels":2,"kernel_size":7},
      {"name":"f","type":"flatten"},
      {"name":"loss","type":"softmax_cross_entropy"}]})");
  EXPECT_TRUE(mentions(kernel, "/layers/0/kernel_size"));
}

TEST(NetworkFile, RejectsAnUnknownInput) {
  const std::string e = error_of(R"({"input":{"shape":[4]},"layers":[
      {"name":"a","type":"linear","out_features":4,"inputs":["ghost"]},
      {"name":"loss","type":"softmax_cross_entropy"}]})");
  EXPECT_TRUE(mentions(e, "/layers/0/inputs/0"));
  EXPECT_TRUE(mentions(e, "ghost"));
}

TEST(NetworkFile, RejectsStructuralFaults) {
  EXPECT_TRUE(mentions(error_of(R"({"input":{"shape":[4]},"layers":[
      {"name":"a","type":"linear","out_features":4}]})"),
                       "no softmax_cross_entropy"));
  EXPECT_TRUE(mentions(error_of(R"({"input":{"shape":[4]},"layers":[
      {"name":"a","type":"linear","out_features":4},
      {"name":"dead","type":"linear","out_features":4,"inputs":["input"]},
      {"name":"loss","type":"softmax_cross_entropy","inputs":["a"]}]})"),
                       "/layers/1: layer \"dead\" does not lead to the loss"));
  EXPECT_TRUE(mentions(error_of(R"({"input":{"shape":[4]},"layers":[
      {"name":"a","type":"linear","out_features":4},
      {"name":"a","type":"linear","out_features":4},
      {"name":"loss","type":"softmax_cross_entropy"}]})"),
                       "/layers/1/name"));
  EXPECT_TRUE(mentions(error_of(R"({"input":{"shape":[4]},"layers":[
      {"name":"a","type":"linear","out_features":4,"activation":"relu"},
      {"name":"loss","type":"softmax_cross_entropy"}]})"),
                       "/layers/0/activation: unknown key"));
  EXPECT_TRUE(mentions(error_of(R"({"input":{"shape":[4]},"layers":[
      {"name":"a","type":"linear","out_features":-3},
      {"name":"loss","type":"softmax_cross_entropy"}]})"),
                       "/layers/0/out_features: found -3"));
  EXPECT_TRUE(mentions(error_of(R"({"input":{"shape":[0]},"layers":[]})"), "/input/shape/0"));
  EXPECT_TRUE(mentions(error_of(R"({"input":{"shape":[4]},"layers":[
      {"name":"a","type":"linear","out_features":16777216},
      {"name":"b","type":"linear","out_features":16777216},
      {"name":"loss","type":"softmax_cross_entropy"}]})"),
                       "absurdly large"));
}

}  // namespace
}  // namespace lpsim::models
