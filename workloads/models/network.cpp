#include "workloads/models/network.h"

#include <algorithm>
#include <map>
#include <queue>

#include "core/errors.h"

namespace lpsim::models {
namespace {

struct KindName {
  LayerKind kind;
  const char* name;
};

constexpr KindName kKindNames[] = {
    {LayerKind::kLinear, "linear"},
    {LayerKind::kConv2d, "conv2d"},
    {LayerKind::kBatchNorm2d, "batchnorm2d"},
    {LayerKind::kRelu, "relu"},
    {LayerKind::kMaxPool2d, "maxpool2d"},
    {LayerKind::kAvgPool2d, "avgpool2d"},
    {LayerKind::kGlobalAvgPool, "global_avgpool"},
    {LayerKind::kFlatten, "flatten"},
    {LayerKind::kAdd, "add"},
    {LayerKind::kSoftmaxCrossEntropy, "softmax_cross_entropy"},
    {LayerKind::kSpikeEncode, "spike_encode"},
    {LayerKind::kLif, "lif"},
    {LayerKind::kLeakyReadout, "leaky_readout"},
};

// Time steps beyond this are refused (a beat of 4096 steps is already far past any SNN).
constexpr std::int64_t kMaxTimeSteps = 4096;

// Sizes beyond this are refused as absurd before any arithmetic can overflow.
constexpr std::int64_t kMaxDim = 1 << 24;
constexpr std::int64_t kMaxElements = std::int64_t{1} << 40;

std::string shape_text(const ops::Shape& s) {
  return "[" + std::to_string(s.c) + ", " + std::to_string(s.h) + ", " + std::to_string(s.w) + "]";
}

std::int64_t checked_mul(std::int64_t a, std::int64_t b, const std::string& file,
                         const std::string& where) {
  std::int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r) || r > kMaxElements) {
    throw core::ConfigError(file, where, "the layer is absurdly large (more than 2^40 elements)");
  }
  return r;
}

// Reads "kernel_size" as an integer or a [h, w] pair.
void read_kernel(core::ObjectReader& r, Layer& layer) {
  const core::Json& k = r.at("kernel_size");
  if (k.is_array()) {
    if (k.size() != 2) r.fail("kernel_size", "expected an integer or [height, width]");
    layer.kernel_h =
        core::json_integer(k[0], r.file(), r.pointer("kernel_size") + "/0", 1, kMaxDim);
    layer.kernel_w =
        core::json_integer(k[1], r.file(), r.pointer("kernel_size") + "/1", 1, kMaxDim);
  } else {
    layer.kernel_h = layer.kernel_w =
        core::json_integer(k, r.file(), r.pointer("kernel_size"), 1, kMaxDim);
  }
}

struct RawLayer {
  Layer layer;
  std::vector<std::string> input_names;
  bool inputs_given = false;
  std::int64_t declared_in = 0;  // in_features / in_channels / num_features, 0 if absent
};

RawLayer read_layer(const core::Json& value, const std::string& file, const std::string& pointer) {
  core::ObjectReader r(value, file, pointer);
  RawLayer raw;
  Layer& layer = raw.layer;
  layer.name = r.string("name");
  if (layer.name.empty() || layer.name == "input") {
    r.fail("name", "found \"" + layer.name + "\", expected a non-empty name other than \"input\"");
  }
  std::vector<std::string> types = layer_type_names();
  const std::string type = r.choice("type", types);
  for (const auto& kn : kKindNames) {
    if (type == kn.name) layer.kind = kn.kind;
  }
  if (r.has("inputs")) {
    const core::Json& in = r.array("inputs");
    raw.inputs_given = true;
    for (std::size_t j = 0; j < in.size(); ++j) {
      raw.input_names.push_back(
          core::json_string(in[j], file, core::pointer_append(r.pointer("inputs"), j)));
    }
  }
  switch (layer.kind) {
    case LayerKind::kLinear:
      layer.out_features = r.integer("out_features", 1, kMaxDim);
      raw.declared_in = r.integer("in_features", 0, 1, kMaxDim);
      layer.bias = r.boolean("bias", true);
      break;
    case LayerKind::kConv2d:
      layer.out_channels = r.integer("out_channels", 1, kMaxDim);
      raw.declared_in = r.integer("in_channels", 0, 1, kMaxDim);
      read_kernel(r, layer);
      layer.stride = r.integer("stride", 1, 1, kMaxDim);
      layer.padding = r.integer("padding", 0, 0, kMaxDim);
      layer.bias = r.boolean("bias", true);
      break;
    case LayerKind::kMaxPool2d:
    case LayerKind::kAvgPool2d:
      read_kernel(r, layer);
      layer.stride = r.integer("stride", layer.kernel_h, 1, kMaxDim);
      layer.padding = r.integer("padding", 0, 0, kMaxDim);
      if (2 * layer.padding > std::min(layer.kernel_h, layer.kernel_w)) {
        r.fail("padding", "found " + std::to_string(layer.padding) +
                              ", expected at most half the kernel size (as PyTorch requires)");
      }
      break;
    case LayerKind::kBatchNorm2d:
      raw.declared_in = r.integer("num_features", 0, 1, kMaxDim);
      break;
    case LayerKind::kSpikeEncode:
      layer.time_steps = r.integer("time_steps", 1, kMaxTimeSteps);
      layer.encoding = r.choice("encoding", "direct", {"direct", "poisson"}) == "poisson"
                           ? SpikeEncoding::kPoisson
                           : SpikeEncoding::kDirect;
      if (layer.encoding == SpikeEncoding::kPoisson) {
        layer.gain = r.number("gain", 1.0, -1e6, 1e6);
        layer.offset = r.number("offset", 0.0, -1e6, 1e6);
      }
      break;
    case LayerKind::kLif: {
      ops::LifParams& p = layer.lif;
      p.alpha = r.number("alpha", p.alpha, 0.0, 1.0);
      p.threshold = r.number("threshold", p.threshold, 1e-6, 1e6);
      p.surrogate = r.choice("surrogate", "triangle", {"triangle", "rectangle"}) == "rectangle"
                        ? ops::SurrogateKind::kRectangle
                        : ops::SurrogateKind::kTriangle;
      p.width = r.number("width", p.width, 1e-6, 1e12);
      // false by default here (SpikingJelly's choice): snn3 on Fashion-MNIST reaches 85.1%
      // in 3 sync epochs with the reset's gradient and 77.7% without (README).
      p.detach_reset = r.boolean("detach_reset", false);
      break;
    }
    case LayerKind::kLeakyReadout:
      layer.readout_alpha = r.number("alpha", layer.readout_alpha, 0.0, 1.0);
      break;
    default:
      break;
  }
  r.finish();
  return raw;
}

// What a layer reads from one of its inputs.
struct InputInfo {
  ops::Shape shape;
  std::int64_t time = 1;
  bool binary = false;
  bool is_network_input = false;
};

// Infers the time steps and spike-ness of layer's output from its inputs (shapes come
// after, in infer_shape).
void infer_time(Layer& layer, const std::vector<InputInfo>& in, const std::string& file,
                const std::string& pointer, const std::vector<std::string>& input_names) {
  const InputInfo& x = in[0];
  layer.in_time = x.time;
  layer.in_binary = x.binary;
  layer.out_time = x.time;
  layer.out_binary = false;
  auto fail = [&](const std::string& key, const std::string& what) {
    throw core::ConfigError(file, core::pointer_append(pointer, key), what);
  };
  switch (layer.kind) {
    case LayerKind::kSpikeEncode:
      if (!x.is_network_input) {
        fail("inputs", "spike_encode must read \"input\" (the network input), found \"" +
                           input_names[0] + "\" (an encoder has no backward pass)");
      }
      layer.out_time = layer.time_steps;
      layer.out_binary = layer.encoding == SpikeEncoding::kPoisson;
      break;
    case LayerKind::kLif:
      layer.out_binary = true;
      break;
    case LayerKind::kLeakyReadout:
      layer.out_time = 1;
      break;
    case LayerKind::kRelu:
    case LayerKind::kMaxPool2d:
    case LayerKind::kFlatten:
      layer.out_binary = x.binary;  // max and ReLU of 0/1 values are 0/1
      break;
    case LayerKind::kAdd:
      if (in.size() == 2 && in[1].time != x.time) {
        fail("inputs", "add needs inputs with equal time steps, found " + std::to_string(x.time) +
                           " from \"" + input_names[0] + "\" and " + std::to_string(in[1].time) +
                           " from \"" + input_names[1] + "\"");
      }
      break;
    case LayerKind::kSoftmaxCrossEntropy:
      if (x.time != 1) {
        fail("inputs", "softmax_cross_entropy needs one time step, found " +
                           std::to_string(x.time) + " from \"" + input_names[0] +
                           "\" (insert a leaky_readout layer to average the time steps)");
      }
      break;
    default:
      break;
  }
}

// Infers layer.out_shape from its inputs' shapes; `in` holds the shapes of its inputs.
void infer_shape(Layer& layer, const std::vector<ops::Shape>& in, std::int64_t declared_in,
                 const std::string& file, const std::string& pointer,
                 const std::vector<std::string>& input_names) {
  const std::size_t want_inputs = layer.kind == LayerKind::kAdd ? 2 : 1;
  if (in.size() != want_inputs) {
    throw core::ConfigError(file, core::pointer_append(pointer, "inputs"),
                            "a " + std::string(layer_kind_name(layer.kind)) + " layer takes " +
                                std::to_string(want_inputs) + " input(s), found " +
                                std::to_string(in.size()));
  }
  const ops::Shape x = in[0];
  layer.in_shape = x;
  auto mismatch = [&](const std::string& key, const std::string& what) {
    throw core::ConfigError(file, core::pointer_append(pointer, key), "shape mismatch: " + what);
  };
  auto spatial = [&](std::int64_t size, std::int64_t kernel) -> std::int64_t {
    const std::int64_t span = size + 2 * layer.padding - kernel;
    if (span < 0) {
      mismatch("kernel_size", "kernel " + std::to_string(kernel) +
                                  " is larger than the padded input " + shape_text(x) + " from \"" +
                                  input_names[0] + "\"");
    }
    return span / layer.stride + 1;
  };
  switch (layer.kind) {
    case LayerKind::kLinear:
      if (x.h != 1 || x.w != 1) {
        mismatch("inputs", "linear expects a flat input, found " + shape_text(x) + " from \"" +
                               input_names[0] + "\" (insert a flatten layer)");
      }
      if (declared_in != 0 && declared_in != x.c) {
        mismatch("in_features", "declared " + std::to_string(declared_in) + " but \"" +
                                    input_names[0] + "\" gives " + std::to_string(x.c));
      }
      layer.out_shape = {layer.out_features, 1, 1};
      checked_mul(layer.out_features, x.c, file, pointer);
      break;
    case LayerKind::kConv2d:
      if (declared_in != 0 && declared_in != x.c) {
        mismatch("in_channels", "declared " + std::to_string(declared_in) + " but \"" +
                                    input_names[0] + "\" gives " + std::to_string(x.c) +
                                    " channels");
      }
      layer.out_shape = {layer.out_channels, spatial(x.h, layer.kernel_h),
                         spatial(x.w, layer.kernel_w)};
      checked_mul(checked_mul(layer.out_channels, x.c, file, pointer),
                  checked_mul(layer.kernel_h, layer.kernel_w, file, pointer), file, pointer);
      break;
    case LayerKind::kMaxPool2d:
    case LayerKind::kAvgPool2d:
      layer.out_shape = {x.c, spatial(x.h, layer.kernel_h), spatial(x.w, layer.kernel_w)};
      break;
    case LayerKind::kBatchNorm2d:
      if (declared_in != 0 && declared_in != x.c) {
        mismatch("num_features", "declared " + std::to_string(declared_in) + " but \"" +
                                     input_names[0] + "\" gives " + std::to_string(x.c) +
                                     " channels");
      }
      layer.out_shape = x;
      break;
    case LayerKind::kRelu:
    case LayerKind::kLif:
    case LayerKind::kLeakyReadout:
    case LayerKind::kSpikeEncode:
      layer.out_shape = x;
      break;
    case LayerKind::kGlobalAvgPool:
      layer.out_shape = {x.c, 1, 1};
      break;
    case LayerKind::kFlatten:
      layer.out_shape = {x.size(), 1, 1};
      break;
    case LayerKind::kAdd:
      if (in[0] != in[1]) {
        mismatch("inputs", "add needs equal shapes, found " + shape_text(in[0]) + " from \"" +
                               input_names[0] + "\" and " + shape_text(in[1]) + " from \"" +
                               input_names[1] + "\"");
      }
      layer.out_shape = x;
      break;
    case LayerKind::kSoftmaxCrossEntropy:
      if (x.h != 1 || x.w != 1 || x.c < 2) {
        mismatch("inputs",
                 "softmax_cross_entropy expects flat logits of at least 2 classes, found " +
                     shape_text(x) + " from \"" + input_names[0] + "\"");
      }
      layer.out_shape = {1, 1, 1};
      break;
  }
  checked_mul(
      checked_mul(layer.out_shape.c,
                  checked_mul(layer.out_shape.h, layer.out_shape.w, file, pointer), file, pointer),
      layer.out_time, file, pointer);
}

}  // namespace

const char* layer_kind_name(LayerKind kind) {
  for (const auto& kn : kKindNames) {
    if (kn.kind == kind) return kn.name;
  }
  return "?";
}

const std::vector<std::string>& layer_type_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& kn : kKindNames) v.emplace_back(kn.name);
    return v;
  }();
  return names;
}

std::int64_t Layer::weight_size() const {
  switch (kind) {
    case LayerKind::kLinear:
      return out_features * in_shape.c;
    case LayerKind::kConv2d:
      return out_channels * in_shape.c * kernel_h * kernel_w;
    case LayerKind::kBatchNorm2d:
      return in_shape.c;
    default:
      return 0;
  }
}

std::int64_t Layer::bias_size() const {
  switch (kind) {
    case LayerKind::kLinear:
      return bias ? out_features : 0;
    case LayerKind::kConv2d:
      return bias ? out_channels : 0;
    case LayerKind::kBatchNorm2d:
      return in_shape.c;
    default:
      return 0;
  }
}

std::int64_t Layer::num_params() const { return weight_size() + bias_size(); }

std::vector<int> Network::parametrised() const {
  std::vector<int> out;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    if (layers[i].has_params()) out.push_back(static_cast<int>(i));
  }
  return out;
}

std::int64_t Network::num_params() const {
  std::int64_t n = 0;
  for (const auto& l : layers) n += l.num_params();
  return n;
}

int Network::find(const std::string& layer_name) const {
  for (std::size_t i = 0; i < layers.size(); ++i) {
    if (layers[i].name == layer_name) return static_cast<int>(i);
  }
  return -1;
}

std::vector<std::vector<int>> Network::consumers() const {
  std::vector<std::vector<int>> out(layers.size());
  for (std::size_t i = 0; i < layers.size(); ++i) {
    for (int p : layers[i].inputs) {
      if (p != kNetworkInput) out[p].push_back(static_cast<int>(i));
    }
  }
  return out;
}

Network parse_network(const core::Json& doc, const std::string& file) {
  core::ObjectReader top(doc, file, "");
  Network net;
  net.origin = file;
  net.name = top.string("name", "network");
  top.string("description", "");
  {
    core::ObjectReader input = top.object("input");
    const core::Json& shape = input.array("shape");
    const std::string sp = input.pointer("shape");
    if (shape.size() != 1 && shape.size() != 3) {
      input.fail("shape", "found " + core::describe_value(shape) +
                              ", expected [features] or [channels, height, width]");
    }
    std::int64_t dims[3] = {1, 1, 1};
    for (std::size_t j = 0; j < shape.size(); ++j) {
      dims[j] = core::json_integer(shape[j], file, core::pointer_append(sp, j), 1, kMaxDim);
    }
    net.input_shape = {dims[0], dims[1], dims[2]};
    checked_mul(dims[0], checked_mul(dims[1], dims[2], file, sp), file, sp);
    input.finish();
  }
  const core::Json& layers_json = top.array("layers");
  const std::string lp = top.pointer("layers");
  if (layers_json.empty()) top.fail("layers", "expected at least one layer");
  top.finish();

  const std::size_t n = layers_json.size();
  std::vector<RawLayer> raw;
  std::map<std::string, int> index_of;
  for (std::size_t i = 0; i < n; ++i) {
    raw.push_back(read_layer(layers_json[i], file, core::pointer_append(lp, i)));
    const std::string& name = raw.back().layer.name;
    if (!index_of.emplace(name, static_cast<int>(i)).second) {
      throw core::ConfigError(
          file, core::pointer_append(core::pointer_append(lp, i), "name"),
          "duplicate layer name \"" + name + "\" (first at " +
              core::pointer_append(lp, static_cast<std::size_t>(index_of[name])) + ")");
    }
  }
  // Resolve inputs (file indices).
  std::vector<std::vector<int>> in_file(n);
  for (std::size_t i = 0; i < n; ++i) {
    RawLayer& rl = raw[i];
    if (!rl.inputs_given) rl.input_names = {i == 0 ? std::string("input") : raw[i - 1].layer.name};
    const std::string ip = core::pointer_append(core::pointer_append(lp, i), "inputs");
    for (std::size_t j = 0; j < rl.input_names.size(); ++j) {
      const std::string& nm = rl.input_names[j];
      if (nm == "input") {
        in_file[i].push_back(kNetworkInput);
        continue;
      }
      auto it = index_of.find(nm);
      if (it == index_of.end()) {
        throw core::ConfigError(file, rl.inputs_given ? core::pointer_append(ip, j) : ip,
                                "unknown input \"" + nm + "\": expected \"input\" or a layer name");
      }
      in_file[i].push_back(it->second);
    }
  }
  // Topological order (Kahn, taking the lowest file index first so file order is kept).
  std::vector<int> indegree(n, 0);
  std::vector<std::vector<int>> out_file(n);
  for (std::size_t i = 0; i < n; ++i) {
    for (int p : in_file[i]) {
      if (p == kNetworkInput) continue;
      ++indegree[i];
      out_file[p].push_back(static_cast<int>(i));
    }
  }
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (std::size_t i = 0; i < n; ++i) {
    if (indegree[i] == 0) ready.push(static_cast<int>(i));
  }
  std::vector<int> order;
  while (!ready.empty()) {
    const int i = ready.top();
    ready.pop();
    order.push_back(i);
    for (int c : out_file[i]) {
      if (--indegree[c] == 0) ready.push(c);
    }
  }
  if (order.size() != n) {
    for (std::size_t i = 0; i < n; ++i) {
      if (indegree[i] > 0) {
        throw core::ConfigError(file, core::pointer_append(core::pointer_append(lp, i), "inputs"),
                                "the network has a cycle through layer \"" + raw[i].layer.name +
                                    "\" (a network must be a DAG)");
      }
    }
  }
  std::vector<int> new_index(n);
  for (std::size_t k = 0; k < n; ++k) new_index[order[k]] = static_cast<int>(k);

  // Shape inference in topological order.
  for (int i : order) {
    const std::string ptr = core::pointer_append(lp, static_cast<std::size_t>(i));
    std::vector<ops::Shape> in_shapes;
    std::vector<InputInfo> in_info;
    for (int p : in_file[i]) {
      if (p != kNetworkInput && raw[p].layer.kind == LayerKind::kSoftmaxCrossEntropy) {
        throw core::ConfigError(
            file, core::pointer_append(ptr, "inputs"),
            "the loss layer \"" + raw[p].layer.name + "\" cannot feed another layer");
      }
      InputInfo info;
      if (p == kNetworkInput) {
        info.shape = net.input_shape;
        info.is_network_input = true;
      } else {
        info.shape = raw[p].layer.out_shape;
        info.time = raw[p].layer.out_time;
        info.binary = raw[p].layer.out_binary;
      }
      in_shapes.push_back(info.shape);
      in_info.push_back(info);
    }
    infer_shape(raw[i].layer, in_shapes, raw[i].declared_in, file, ptr, raw[i].input_names);
    infer_time(raw[i].layer, in_info, file, ptr, raw[i].input_names);
  }
  // Exactly one loss, and every layer reaches it.
  int loss_file = -1;
  for (std::size_t i = 0; i < n; ++i) {
    if (raw[i].layer.kind != LayerKind::kSoftmaxCrossEntropy) continue;
    if (loss_file >= 0) {
      throw core::ConfigError(
          file, core::pointer_append(core::pointer_append(lp, i), "type"),
          "a second softmax_cross_entropy layer; a network has exactly one loss");
    }
    loss_file = static_cast<int>(i);
  }
  if (loss_file < 0) {
    top.fail("layers", "no softmax_cross_entropy layer; a network needs exactly one loss");
  }
  std::vector<bool> reaches(n, false);
  reaches[loss_file] = true;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    for (int c : out_file[*it]) {
      if (reaches[c]) reaches[*it] = true;
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (!reaches[i]) {
      throw core::ConfigError(file, core::pointer_append(lp, i),
                              "layer \"" + raw[i].layer.name +
                                  "\" does not lead to the loss (dead branches are not allowed)");
    }
  }
  if (net.parametrised().empty()) {
    bool any = false;
    for (const auto& rl : raw) any = any || rl.layer.has_params();
    if (!any) top.fail("layers", "no layer with parameters (linear, conv2d or batchnorm2d)");
  }
  for (int i : order) {
    Layer layer = raw[i].layer;
    layer.inputs.clear();
    for (int p : in_file[i])
      layer.inputs.push_back(p == kNetworkInput ? kNetworkInput : new_index[p]);
    net.layers.push_back(std::move(layer));
  }
  net.loss = new_index[loss_file];
  net.num_classes = net.layers[net.loss].in_shape.c;
  return net;
}

Network load_network_file(const std::string& path) {
  return parse_network(core::parse_json_file(path), path);
}

core::Json network_to_json(const Network& network) {
  core::Json layers = core::Json::array();
  for (const auto& layer : network.layers) {
    core::Json l = {{"name", layer.name}, {"type", layer_kind_name(layer.kind)}};
    core::Json inputs = core::Json::array();
    for (int p : layer.inputs) {
      inputs.push_back(p == kNetworkInput ? std::string("input") : network.layers[p].name);
    }
    l["inputs"] = inputs;
    switch (layer.kind) {
      case LayerKind::kLinear:
        l["out_features"] = layer.out_features;
        if (!layer.bias) l["bias"] = false;
        break;
      case LayerKind::kConv2d:
        l["out_channels"] = layer.out_channels;
        l["kernel_size"] = layer.kernel_h == layer.kernel_w
                               ? core::Json(layer.kernel_h)
                               : core::Json::array({layer.kernel_h, layer.kernel_w});
        l["stride"] = layer.stride;
        l["padding"] = layer.padding;
        if (!layer.bias) l["bias"] = false;
        break;
      case LayerKind::kMaxPool2d:
      case LayerKind::kAvgPool2d:
        l["kernel_size"] = layer.kernel_h == layer.kernel_w
                               ? core::Json(layer.kernel_h)
                               : core::Json::array({layer.kernel_h, layer.kernel_w});
        l["stride"] = layer.stride;
        l["padding"] = layer.padding;
        break;
      case LayerKind::kSpikeEncode:
        l["time_steps"] = layer.time_steps;
        l["encoding"] = layer.encoding == SpikeEncoding::kPoisson ? "poisson" : "direct";
        if (layer.encoding == SpikeEncoding::kPoisson) {
          l["gain"] = layer.gain;
          l["offset"] = layer.offset;
        }
        break;
      case LayerKind::kLif:
        l["alpha"] = layer.lif.alpha;
        l["threshold"] = layer.lif.threshold;
        l["surrogate"] =
            layer.lif.surrogate == ops::SurrogateKind::kRectangle ? "rectangle" : "triangle";
        l["width"] = layer.lif.width;
        l["detach_reset"] = layer.lif.detach_reset;
        break;
      case LayerKind::kLeakyReadout:
        l["alpha"] = layer.readout_alpha;
        break;
      default:
        break;
    }
    layers.push_back(l);
  }
  core::Json shape = network.input_shape.h == 1 && network.input_shape.w == 1
                         ? core::Json::array({network.input_shape.c})
                         : core::Json::array({network.input_shape.c, network.input_shape.h,
                                              network.input_shape.w});
  return {{"name", network.name}, {"input", {{"shape", shape}}}, {"layers", layers}};
}

}  // namespace lpsim::models
