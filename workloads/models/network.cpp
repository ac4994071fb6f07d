#include "workloads/models/network.h"

#include <algorithm>
#include <map>
#include <queue>

#include "core/errors.h"

namespace lpsim::models {
namespace {

std::int64_t checked_mul(std::int64_t a, std::int64_t b, const std::string& file,
                         const std::string& where) {
  return InferContext({}, file, where, 0).checked_mul(a, b);
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
  const std::string type = r.choice("type", layer_type_names());
  layer.type = find_layer_type(type);
  if (r.has("inputs")) {
    const core::Json& in = r.array("inputs");
    raw.inputs_given = true;
    for (std::size_t j = 0; j < in.size(); ++j) {
      raw.input_names.push_back(
          core::json_string(in[j], file, core::pointer_append(r.pointer("inputs"), j)));
    }
  }
  layer.type->read(r, layer, raw.declared_in);
  r.finish();
  return raw;
}

// Infers layer's output from its inputs (the kind's rule), and checks its size.
void infer(Layer& layer, const std::vector<LayerInput>& in, std::int64_t declared_in,
           const std::string& file, const std::string& pointer) {
  const std::size_t want_inputs = layer.type->inputs();
  if (in.size() != want_inputs) {
    throw core::ConfigError(file, core::pointer_append(pointer, "inputs"),
                            "a " + layer.type_name() + " layer takes " +
                                std::to_string(want_inputs) + " input(s), found " +
                                std::to_string(in.size()));
  }
  const LayerInput& x = in[0];
  layer.in_shape = x.shape;
  layer.in_time = x.time;
  layer.in_binary = x.binary;
  layer.in_sequence = x.sequence;
  layer.out_time = x.time;
  layer.out_binary = false;
  layer.out_sequence = x.sequence;
  const InferContext ctx(in, file, pointer, declared_in);
  layer.type->infer(layer, ctx);
  ctx.checked_mul(
      ctx.checked_mul(layer.out_shape.c, ctx.checked_mul(layer.out_shape.h, layer.out_shape.w)),
      layer.out_time);
}

}  // namespace

const std::vector<std::string>& layer_type_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const LayerType* t : layer_types()) v.push_back(t->name());
    return v;
  }();
  return names;
}

const std::string& Layer::type_name() const { return type->name(); }

bool Layer::has_params() const { return type->has_params(); }

ParamLayout Layer::params() const { return type->params(*this); }

bool Layer::trains_bias() const { return has_params() && params().trains_bias; }

std::int64_t Layer::weight_size() const { return has_params() ? params().weight_size() : 0; }

std::int64_t Layer::bias_size() const {
  if (!has_params()) return 0;
  const ParamLayout p = params();
  return p.trains_bias ? p.bias : 0;
}

std::int64_t Layer::attribute(const std::string& key) const {
  auto it = attributes.find(key);
  LPSIM_ASSERT(it != attributes.end(), "layer " + name + " has no attribute " + key);
  return it->second;
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
    // A token sequence [T]: int64 ids, read by an embedding layer.
    net.token_input = input.choice("dtype", "float32", {"float32", "int64"}) == "int64";
    if (net.token_input && shape.size() != 1) {
      input.fail("shape", "found " + core::describe_value(shape) +
                              ", expected [T] (a token sequence) for dtype int64");
    }
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
    std::vector<LayerInput> in_info;
    for (std::size_t j = 0; j < in_file[i].size(); ++j) {
      const int p = in_file[i][j];
      if (p != kNetworkInput && raw[p].layer.type->is_loss()) {
        throw core::ConfigError(
            file, core::pointer_append(ptr, "inputs"),
            "the loss layer \"" + raw[p].layer.name + "\" cannot feed another layer");
      }
      LayerInput info;
      info.name = raw[i].input_names[j];
      if (p == kNetworkInput) {
        info.shape = net.input_shape;
        info.is_network_input = true;
        info.tokens = net.token_input;
        if (info.tokens && !raw[i].layer.type->reads_tokens()) {
          throw core::ConfigError(file, core::pointer_append(ptr, "inputs"),
                                  "the network input holds token ids (dtype int64): only an "
                                  "embedding layer can read it, found a " +
                                      raw[i].layer.type_name() + " layer");
        }
      } else {
        info.shape = raw[p].layer.out_shape;
        info.time = raw[p].layer.out_time;
        info.binary = raw[p].layer.out_binary;
        info.sequence = raw[p].layer.out_sequence;
      }
      in_info.push_back(info);
    }
    infer(raw[i].layer, in_info, raw[i].declared_in, file, ptr);
  }
  // Exactly one loss, and every layer reaches it.
  int loss_file = -1;
  for (std::size_t i = 0; i < n; ++i) {
    if (!raw[i].layer.type->is_loss()) continue;
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
  net.labels_per_sample = net.layers[net.loss].in_time;
  return net;
}

Network load_network_file(const std::string& path) {
  return parse_network(core::parse_json_file(path), path);
}

core::Json network_to_json(const Network& network) {
  core::Json layers = core::Json::array();
  for (const auto& layer : network.layers) {
    core::Json l = {{"name", layer.name}, {"type", layer.type_name()}};
    core::Json inputs = core::Json::array();
    for (int p : layer.inputs) {
      inputs.push_back(p == kNetworkInput ? std::string("input") : network.layers[p].name);
    }
    l["inputs"] = inputs;
    layer.type->write(layer, l);
    layers.push_back(l);
  }
  core::Json shape = network.input_shape.h == 1 && network.input_shape.w == 1
                         ? core::Json::array({network.input_shape.c})
                         : core::Json::array({network.input_shape.c, network.input_shape.h,
                                              network.input_shape.w});
  core::Json input = {{"shape", shape}};
  if (network.token_input) input["dtype"] = "int64";
  return {{"name", network.name}, {"input", input}, {"layers", layers}};
}

}  // namespace lpsim::models
