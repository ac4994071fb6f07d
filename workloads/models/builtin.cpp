#include "workloads/models/builtin.h"

#include <cmath>

#include "core/errors.h"

namespace lpsim::models {
namespace {

core::Json input_json(const ops::Shape& s) {
  if (s.h == 1 && s.w == 1) return {{"shape", {s.c}}};
  return {{"shape", {s.c, s.h, s.w}}};
}

core::Json linear(const std::string& name, std::int64_t out) {
  return {{"name", name}, {"type", "linear"}, {"out_features", out}};
}

core::Json simple(const std::string& name, const std::string& type) {
  return {{"name", name}, {"type", type}};
}

core::Json conv(const std::string& name, std::int64_t out, std::int64_t k, std::int64_t stride,
                std::int64_t pad, bool bias, const std::string& input = "") {
  core::Json j = {{"name", name},     {"type", "conv2d"}, {"out_channels", out}, {"kernel_size", k},
                  {"stride", stride}, {"padding", pad},   {"bias", bias}};
  if (!input.empty()) j["inputs"] = {input};
  return j;
}

core::Json mlp(const std::string& name, const std::vector<std::int64_t>& hidden,
               const ops::Shape& in, std::int64_t classes) {
  core::Json layers = core::Json::array();
  layers.push_back(simple("flatten", "flatten"));
  for (std::size_t i = 0; i < hidden.size(); ++i) {
    layers.push_back(linear("fc" + std::to_string(i + 1), hidden[i]));
    layers.push_back(simple("relu" + std::to_string(i + 1), "relu"));
  }
  layers.push_back(linear("fc" + std::to_string(hidden.size() + 1), classes));
  layers.push_back(simple("loss", "softmax_cross_entropy"));
  return {{"name", name}, {"input", input_json(in)}, {"layers", layers}};
}

core::Json cnn3(const ops::Shape& in, std::int64_t classes) {
  core::Json pool = {{"type", "maxpool2d"}, {"kernel_size", 2}, {"stride", 2}};
  core::Json pool1 = pool, pool2 = pool;
  pool1["name"] = "pool1";
  pool2["name"] = "pool2";
  core::Json layers =
      core::Json::array({conv("conv1", 16, 3, 1, 1, true), simple("relu1", "relu"), pool1,
                         conv("conv2", 32, 3, 1, 1, true), simple("relu2", "relu"), pool2,
                         simple("flatten", "flatten"), linear("fc", classes),
                         simple("loss", "softmax_cross_entropy")});
  return {{"name", "cnn3"}, {"input", input_json(in)}, {"layers", layers}};
}

core::Json bn(const std::string& name, const std::string& input = "") {
  core::Json j = simple(name, "batchnorm2d");
  if (!input.empty()) j["inputs"] = {input};
  return j;
}

// Appends a BasicBlock (two 3x3 convs, identity or 1x1-conv shortcut) reading `input`;
// returns the name of its output layer.
std::string basic_block(core::Json& layers, const std::string& prefix, const std::string& input,
                        std::int64_t in_planes, std::int64_t planes, std::int64_t stride) {
  layers.push_back(conv(prefix + ".conv1", planes, 3, stride, 1, false, input));
  layers.push_back(bn(prefix + ".bn1"));
  layers.push_back(simple(prefix + ".relu1", "relu"));
  layers.push_back(conv(prefix + ".conv2", planes, 3, 1, 1, false));
  layers.push_back(bn(prefix + ".bn2"));
  std::string shortcut = input;
  if (stride != 1 || in_planes != planes) {
    layers.push_back(conv(prefix + ".downsample.0", planes, 1, stride, 0, false, input));
    layers.push_back(bn(prefix + ".downsample.1"));
    shortcut = prefix + ".downsample.1";
  }
  layers.push_back(
      {{"name", prefix + ".add"}, {"type", "add"}, {"inputs", {prefix + ".bn2", shortcut}}});
  layers.push_back(simple(prefix + ".relu2", "relu"));
  return prefix + ".relu2";
}

core::Json resnet18(const ops::Shape& in, std::int64_t classes) {
  core::Json layers =
      core::Json::array({conv("conv1", 64, 3, 1, 1, false), bn("bn1"), simple("relu", "relu")});
  std::string x = "relu";
  std::int64_t in_planes = 64;
  const std::int64_t widths[4] = {64, 128, 256, 512};
  for (int g = 0; g < 4; ++g) {
    for (int b = 0; b < 2; ++b) {
      const std::int64_t stride = (g > 0 && b == 0) ? 2 : 1;
      x = basic_block(layers, "layer" + std::to_string(g + 1) + "." + std::to_string(b), x,
                      in_planes, widths[g], stride);
      in_planes = widths[g];
    }
  }
  layers.push_back(simple("avgpool", "global_avgpool"));
  layers.push_back(linear("fc", classes));
  layers.push_back(simple("loss", "softmax_cross_entropy"));
  return {{"name", "resnet18"}, {"input", input_json(in)}, {"layers", layers}};
}

// CIFAR-style VGG-16 (13 3x3 convolutions in 5 blocks, max pooling between blocks, one
// linear classifier on the 512 features), named as torch.nn.Sequential would name it:
// features.<i> for the i-th module of the feature extractor, classifier for the head.
core::Json vgg16(const ops::Shape& in, std::int64_t classes, bool batch_norm) {
  const std::vector<std::int64_t> cfg = {64, 64,  0,   128, 128, 0,   256, 256, 256,
                                         0,  512, 512, 512, 0,   512, 512, 512, 0};  // 0: maxpool
  core::Json layers = core::Json::array();
  int index = 0;
  auto name = [&] { return "features." + std::to_string(index++); };
  for (std::int64_t c : cfg) {
    if (c == 0) {
      layers.push_back(
          {{"name", name()}, {"type", "maxpool2d"}, {"kernel_size", 2}, {"stride", 2}});
      continue;
    }
    layers.push_back(conv(name(), c, 3, 1, 1, !batch_norm));
    if (batch_norm) layers.push_back(bn(name()));
    layers.push_back(simple(name(), "relu"));
  }
  layers.push_back(simple("avgpool", "global_avgpool"));
  layers.push_back(linear("classifier", classes));
  layers.push_back(simple("loss", "softmax_cross_entropy"));
  return {
      {"name", batch_norm ? "vgg16" : "vgg16_nobn"}, {"input", input_json(in)}, {"layers", layers}};
}

core::Json encode(std::int64_t time_steps) {
  return {{"name", "encode"},
          {"type", "spike_encode"},
          {"time_steps", time_steps},
          {"encoding", "direct"},
          {"inputs", {"input"}}};
}

core::Json lif(const std::string& name) { return simple(name, "lif"); }

// Spiking MLP (SpikePipe's small networks): the image as a constant current for T steps,
// fc layers feeding LIF neurons, the last fc into a leaky-integrator readout averaged over T.
core::Json snn_mlp(const std::string& name, const std::vector<std::int64_t>& hidden,
                   const ops::Shape& in, std::int64_t classes, std::int64_t time_steps) {
  core::Json layers = core::Json::array({encode(time_steps), simple("flatten", "flatten")});
  for (std::size_t i = 0; i < hidden.size(); ++i) {
    layers.push_back(linear("fc" + std::to_string(i + 1), hidden[i]));
    layers.push_back(lif("lif" + std::to_string(i + 1)));
  }
  layers.push_back(linear("fc" + std::to_string(hidden.size() + 1), classes));
  layers.push_back(simple("readout", "leaky_readout"));
  layers.push_back(simple("loss", "softmax_cross_entropy"));
  return {{"name", name}, {"input", input_json(in)}, {"layers", layers}};
}

// cnn3 with LIF neurons in place of ReLU.
core::Json sconv3(const ops::Shape& in, std::int64_t classes, std::int64_t time_steps) {
  core::Json pool = {{"type", "maxpool2d"}, {"kernel_size", 2}, {"stride", 2}};
  core::Json pool1 = pool, pool2 = pool;
  pool1["name"] = "pool1";
  pool2["name"] = "pool2";
  core::Json layers = core::Json::array({encode(time_steps), conv("conv1", 16, 3, 1, 1, true),
                                         lif("lif1"), pool1, conv("conv2", 32, 3, 1, 1, true),
                                         lif("lif2"), pool2, simple("flatten", "flatten"),
                                         linear("fc", classes), simple("readout", "leaky_readout"),
                                         simple("loss", "softmax_cross_entropy")});
  return {{"name", "sconv3"}, {"input", input_json(in)}, {"layers", layers}};
}

// A GPT-style decoder (ARCHITECTURE.md §3b): nanoGPT's names without "transformer.", no
// dropout, an untied head without bias; GPT-2's initialisation.
core::Json gpt(const std::string& name, const GptShape& g) {
  const std::int64_t c = g.width;
  const double std = 0.02;
  const double proj_std = 0.02 / std::sqrt(2.0 * static_cast<double>(g.blocks));
  auto lin = [](const std::string& n, std::int64_t out, double init, const std::string& input) {
    core::Json j = {{"name", n}, {"type", "linear"}, {"out_features", out}, {"init_std", init}};
    if (!input.empty()) j["inputs"] = {input};
    return j;
  };
  auto with_inputs = [](core::Json j, std::vector<std::string> inputs) {
    j["inputs"] = inputs;
    return j;
  };
  core::Json layers = core::Json::array();
  layers.push_back({{"name", "wte"},
                    {"type", "embedding"},
                    {"num_embeddings", g.vocab},
                    {"embedding_dim", c},
                    {"init_std", std}});
  layers.push_back({{"name", "wpe"},
                    {"type", "position_embedding"},
                    {"context", g.context},
                    {"embedding_dim", c},
                    {"init_std", std}});
  std::string stream = "wpe";
  for (std::int64_t i = 0; i < g.blocks; ++i) {
    const std::string h = "h." + std::to_string(i) + ".";
    layers.push_back(with_inputs(simple(h + "ln_1", "layernorm"), {stream}));
    layers.push_back(lin(h + "attn.c_attn", 3 * c, std, ""));
    core::Json attn = simple(h + "attn.attention", "causal_self_attention");
    attn["heads"] = g.heads;
    layers.push_back(attn);
    layers.push_back(lin(h + "attn.c_proj", c, proj_std, ""));
    layers.push_back(with_inputs(simple(h + "add_1", "add"), {stream, h + "attn.c_proj"}));
    layers.push_back(simple(h + "ln_2", "layernorm"));
    layers.push_back(lin(h + "mlp.c_fc", 4 * c, std, ""));
    layers.push_back(simple(h + "mlp.gelu", "gelu"));
    layers.push_back(lin(h + "mlp.c_proj", c, proj_std, ""));
    layers.push_back(with_inputs(simple(h + "add_2", "add"), {h + "add_1", h + "mlp.c_proj"}));
    stream = h + "add_2";
  }
  layers.push_back(with_inputs(simple("ln_f", "layernorm"), {stream}));
  core::Json head = lin("lm_head", g.vocab, std, "");
  head["bias"] = false;
  layers.push_back(head);
  layers.push_back(simple("loss", "softmax_cross_entropy"));
  return {
      {"name", name}, {"input", {{"shape", {g.context}}, {"dtype", "int64"}}}, {"layers", layers}};
}

}  // namespace

const GptShape kGptTiny = {256, 64, 128, 4, 4};
const GptShape kGptSmall = {256, 128, 384, 6, 6};

const std::vector<BuiltinInfo>& builtin_models() {
  static const std::vector<BuiltinInfo> models = {
      {"mlp3", "MLP 784-256-128-10, ReLU (fc1..fc3)"},
      {"mlp6", "MLP 784-256-256-256-256-128-10, ReLU (fc1..fc6)"},
      {"cnn3", "conv 1->16, conv 16->32 (3x3, pad 1, ReLU, maxpool 2), fc 1568->10"},
      {"resnet18", "CIFAR-style ResNet-18: 3x3 stem, 4 groups of 2 basic blocks, batch norm"},
      {"vgg16", "CIFAR-style VGG-16 with batch norm: 13 3x3 convs, 5 max pools, fc 512->classes"},
      {"vgg16_nobn", "CIFAR-style VGG-16 without batch norm (conv biases instead)"},
      {"snn3",
       "spiking MLP 784-256-128-10: direct encoding over T = 8 steps, LIF after fc1 and "
       "fc2, leaky-integrator readout averaged over T"},
      {"sconv3",
       "spiking cnn3: direct encoding over T = 8 steps, LIF in place of ReLU, "
       "leaky-integrator readout"},
      {"gpt_tiny",
       "GPT decoder: byte vocabulary 256, context 64, width 128, 4 heads, 4 blocks (nanoGPT "
       "names, untied head)"},
      {"gpt_small",
       "GPT decoder: byte vocabulary 256, context 128, width 384, 6 heads, 6 blocks "
       "(nanoGPT's character-level shape, no dropout, untied head)"},
  };
  return models;
}

bool is_builtin_model(const std::string& name) {
  for (const auto& m : builtin_models()) {
    if (m.name == name) return true;
  }
  return false;
}

bool is_token_builtin(const std::string& name) { return name == "gpt_tiny" || name == "gpt_small"; }

bool is_spiking_builtin(const std::string& name) { return name == "snn3" || name == "sconv3"; }

core::Json builtin_model_json(const std::string& name, const ops::Shape& input_shape,
                              std::int64_t num_classes, const std::string& pointer,
                              std::int64_t time_steps) {
  const std::int64_t t = time_steps > 0 ? time_steps : kDefaultTimeSteps;
  if (name == "snn3") return snn_mlp("snn3", {256, 128}, input_shape, num_classes, t);
  if (name == "sconv3") return sconv3(input_shape, num_classes, t);
  if (name == "mlp3") return mlp("mlp3", {256, 128}, input_shape, num_classes);
  if (name == "mlp6") return mlp("mlp6", {256, 256, 256, 256, 128}, input_shape, num_classes);
  if (name == "cnn3") return cnn3(input_shape, num_classes);
  if (name == "resnet18") return resnet18(input_shape, num_classes);
  if (name == "vgg16") return vgg16(input_shape, num_classes, true);
  if (name == "vgg16_nobn") return vgg16(input_shape, num_classes, false);
  if (name == "gpt_tiny") return gpt(name, kGptTiny);
  if (name == "gpt_small") return gpt(name, kGptSmall);
  std::string known;
  for (const auto& m : builtin_models()) known += (known.empty() ? "" : ", ") + m.name;
  throw core::ConfigError("", pointer, "unknown model \"" + name + "\"; built-in models: " + known);
}

Network builtin_model(const std::string& name, const ops::Shape& input_shape,
                      std::int64_t num_classes, std::int64_t time_steps) {
  Network net = parse_network(builtin_model_json(name, input_shape, num_classes, "", time_steps),
                              "built-in model " + name);
  net.origin = "built-in model " + name;
  return net;
}

}  // namespace lpsim::models
