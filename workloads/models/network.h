#pragma once
// A network: a DAG of layers read from JSON (a file or a built-in model).
//
// Format (documented in README.md, "Network files"):
//   {"name": "mlp3", "input": {"shape": [1, 28, 28]},
//    "layers": [{"name": "fc1", "type": "linear", "out_features": 256, "inputs": ["input"]},
//               ...,
//               {"name": "loss", "type": "softmax_cross_entropy"}]}
// "inputs" defaults to the previous layer (or "input" for the first). The graph must be
// acyclic, have exactly one softmax_cross_entropy layer, and every layer must reach it.
// Shapes are inferred and checked; every fault throws core::ConfigError with the JSON pointer.
//
// Time (spiking networks, issue 8): every tensor also has a number of time steps T, 1 for
// the network input. A spike_encode layer (reading the network input) turns each sample
// into T time steps; layers after it run on all T steps at once (a tensor of B samples is
// [B*T, features], sample-major rows, see workloads/ops/spiking.h); a leaky_readout layer
// averages the time steps away again. The loss needs T = 1. A whole minibatch's T steps are
// one pipeline beat.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/json_reader.h"
#include "workloads/models/layer_type.h"
#include "workloads/ops/spiking.h"
#include "workloads/ops/tensor.h"

namespace lpsim::models {

enum class SpikeEncoding { kDirect, kPoisson };

// Every type name accepted in a network file (the registry's, workloads/models/layer_type.h).
const std::vector<std::string>& layer_type_names();

// Index of the network input in Layer::inputs.
constexpr int kNetworkInput = -1;

struct Layer {
  std::string name;
  const LayerType* type = nullptr;  // its kind (registered in workloads/layers)
  std::vector<int> inputs;          // producer layer indices, or kNetworkInput
  // linear
  std::int64_t out_features = 0;
  // conv2d (out_channels, kernel, stride, padding, bias); pools (kernel, stride, padding)
  std::int64_t out_channels = 0;
  std::int64_t kernel_h = 0;
  std::int64_t kernel_w = 0;
  std::int64_t stride = 1;
  std::int64_t padding = 0;
  bool bias = true;
  // linear, embedding, position_embedding: weights drawn from N(0, init_std²) and a zero
  // bias (GPT's initialisation); 0: the kind's PyTorch default.
  double init_std = 0.0;
  // spike_encode
  std::int64_t time_steps = 1;
  SpikeEncoding encoding = SpikeEncoding::kDirect;
  double gain = 1.0;  // Poisson: P(spike) = clamp(gain * x + offset, 0, 1)
  double offset = 0.0;
  // lif
  ops::LifParams lif;
  // leaky_readout: u[t] = readout_alpha * u[t-1] + I[t]
  double readout_alpha = 1.0;
  // inferred
  ops::Shape in_shape;        // shape of the first input (per sample and time step)
  ops::Shape out_shape;       // per sample and time step; for the loss: {1,1,1}
  std::int64_t in_time = 1;   // time steps of the input (rows per sample)
  std::int64_t out_time = 1;  // time steps of the output
  bool in_binary = false;     // the input holds only 0/1 spikes (accumulates, not MACs)
  bool out_binary = false;    // the output holds only 0/1 spikes
  // The rows of a sample are token positions (independent, one GEMM over all of them), not
  // time steps (a recurrence, one GEMM per step).
  bool in_sequence = false;
  bool out_sequence = false;

  // Elements of one sample's input / output over all its time steps.
  std::int64_t in_elements() const { return in_shape.size() * in_time; }
  std::int64_t out_elements() const { return out_shape.size() * out_time; }
  // Attributes of kinds that keep their own (heads, context, ...): read and written by the
  // kind alone.
  std::map<std::string, std::int64_t> attributes;
  std::int64_t attribute(const std::string& key) const;

  const std::string& type_name() const;
  // Whether the layer trains a bias vector: linear and conv2d with `bias`, and batch norm
  // (its beta; gamma is its weight).
  bool trains_bias() const;
  bool has_params() const;
  ParamLayout params() const;
  // Trainable parameters (weight + bias or gamma + beta).
  std::int64_t num_params() const;
  std::int64_t weight_size() const;  // elements of .weight
  std::int64_t bias_size() const;    // elements of .bias (0 when absent)
};

struct Network {
  std::string name;
  std::string origin;        // file it came from, or "built-in model NAME"
  ops::Shape input_shape;    // a token input: {T, 1, 1}
  bool token_input = false;  // "dtype": "int64": token ids [T] per sample
  std::int64_t num_classes = 0;
  // Labels per sample: 1, or T for a token model (a next-token target per position).
  std::int64_t labels_per_sample = 1;
  std::vector<Layer> layers;  // topological order (file order where it is one)
  int loss = -1;              // index of the loss layer

  std::vector<int> parametrised() const;
  std::int64_t num_params() const;
  int find(const std::string& layer_name) const;  // -1 when absent
  // consumers[i]: the layers reading layer i's output.
  std::vector<std::vector<int>> consumers() const;
};

// Reads and validates a network document. `file` names its origin in errors.
Network parse_network(const core::Json& doc, const std::string& file);
Network load_network_file(const std::string& path);
// The inverse of parse_network (inferred shapes are not written).
core::Json network_to_json(const Network& network);

}  // namespace lpsim::models
