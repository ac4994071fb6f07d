#pragma once
// Built-in networks. Names are part of the interface; parametrised layers are named as in
// the PyTorch state_dict of the equivalent torch.nn model.
//   mlp3      784-256-128-10, ReLU                        fc1..fc3
//   mlp6      784-256-256-256-256-128-10, ReLU            fc1..fc6
//   cnn3      conv 1->16, conv 16->32 (3x3 pad 1, ReLU, maxpool 2), fc 1568->10
//   resnet18  CIFAR-style ResNet-18 (3x3 stem, widths 64-128-256-512, batch norm,
//             global average pool, fc), torchvision names (layerN.B.convK, downsample.0/1)
//   vgg16     CIFAR-style VGG-16 with batch norm (features.<i>, classifier); needs
//             inputs of at least 32x32; vgg16_nobn the same without batch norm
//   snn3      spiking 784-256-128-10: encode (direct, T steps), fc1, lif1, fc2, lif2, fc3,
//             readout (leaky_readout), loss
//   sconv3    spiking cnn3: encode, conv1, lif1, pool1, conv2, lif2, pool2, flatten, fc,
//             readout, loss
//   gpt_tiny, gpt_small  decoder-only transformers (GptShape): wte, wpe, h.<i>.{ln_1,
//             attn.c_attn, attn.attention, attn.c_proj, add_1, ln_2, mlp.c_fc, mlp.gelu,
//             mlp.c_proj, add_2}, ln_f, lm_head, loss
// Every model is generated as a network document and read by parse_network, so it obeys
// the same rules as a user's file. The input shape and class count come from the data set.

#include <string>
#include <vector>

#include "workloads/models/network.h"

namespace lpsim::models {

struct BuiltinInfo {
  std::string name;
  std::string description;
};

const std::vector<BuiltinInfo>& builtin_models();
bool is_builtin_model(const std::string& name);
// Time steps of the spiking models when none are asked for.
constexpr std::int64_t kDefaultTimeSteps = 8;
bool is_spiking_builtin(const std::string& name);

// The decoder-only transformers (ARCHITECTURE.md §3b): their input is a token window of
// `context` ids and their classes the vocabulary, whatever the data set (which must match).
struct GptShape {
  std::int64_t vocab = 256;
  std::int64_t context = 64;
  std::int64_t width = 128;
  std::int64_t heads = 4;
  std::int64_t blocks = 4;
};
extern const GptShape kGptTiny;   // gpt_tiny
extern const GptShape kGptSmall;  // gpt_small
bool is_token_builtin(const std::string& name);

// Throws core::ConfigError (file "", pointer `pointer`) for an unknown name. `time_steps` (> 0)
// sets T of a spiking model; 0 keeps kDefaultTimeSteps; other models ignore it.
core::Json builtin_model_json(const std::string& name, const ops::Shape& input_shape,
                              std::int64_t num_classes, const std::string& pointer = "",
                              std::int64_t time_steps = 0);
Network builtin_model(const std::string& name, const ops::Shape& input_shape = {1, 28, 28},
                      std::int64_t num_classes = 10, std::int64_t time_steps = 0);

}  // namespace lpsim::models
