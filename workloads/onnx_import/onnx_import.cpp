#include "workloads/onnx_import/onnx_import.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <set>
#include <sstream>

#include "core/errors.h"
#include "core/json_reader.h"
#include "workloads/ops/batchnorm.h"

namespace lpsim::onnx_import {
namespace {

// The batch size inside a constant shape vector: a symbol, never a number (Shape of a tensor
// gives [N, C, H, W] with N unknown until a minibatch arrives).
constexpr std::int64_t kBatch = std::numeric_limits<std::int64_t>::min();

// Sizes beyond these are refused as absurd before any arithmetic can overflow (the network
// format's own limits).
constexpr std::int64_t kMaxDim = std::int64_t{1} << 24;
constexpr std::int64_t kMaxElements = std::int64_t{1} << 40;

// The product of dims[from..] into *out; false when a dimension is negative or the product of
// the non-zero ones passes kMaxElements (so no partial product can overflow either).
bool product_within(const std::vector<std::int64_t>& dims, std::size_t from, std::int64_t* out) {
  std::int64_t n = 1, nonzero = 1;
  for (std::size_t k = from; k < dims.size(); ++k) {
    if (dims[k] < 0) return false;
    nonzero *= std::max<std::int64_t>(dims[k], 1);
    if (nonzero > kMaxElements) return false;
    n *= dims[k];
  }
  *out = n;
  return true;
}

const char* const kSupportedOps =
    "Conv, Gemm, MatMul (+ Add as bias), Relu, MaxPool, AveragePool, GlobalAveragePool, "
    "BatchNormalization, Flatten, Reshape to [N, -1], Add of two tensors, a zero Pad before a "
    "Conv or AveragePool; folded: Identity, Constant and constant shape computations";

// A tensor of the graph as the importer knows it.
struct Value {
  enum class Kind {
    kActivation,   // computed from the network input: the output of `layer`
    kConstant,     // values known (initialiser, Constant node, folded computation)
    kPlaceholder,  // a weight without values (a graph input other than the network input)
  };
  Kind kind = Kind::kConstant;
  std::vector<std::int64_t> dims;  // activation: dims[0] is kBatch
  int layer = models::kNetworkInput;
  int bias_slot = -1;  // activation: a linear layer whose bias a following Add may still be
  // activation: zeros a Pad node put around H and W (dims include them), which the Conv or
  // AveragePool reading the tensor takes as its padding (torch.onnx.export writes AvgPool2d's
  // padding that way)
  std::int64_t pad = 0;
  bool integer = false;
  std::vector<float> f;         // float constant, C order
  std::vector<std::int64_t> i;  // integer constant (may hold kBatch)

  bool is_activation() const { return kind == Kind::kActivation; }
  bool is_constant() const { return kind == Kind::kConstant; }
  std::int64_t elements() const {
    std::int64_t n = 1;
    for (std::int64_t d : dims) n *= d;
    return n;
  }
};
using ValuePtr = std::shared_ptr<const Value>;

std::string dims_text(const std::vector<std::int64_t>& dims) {
  std::string s = "[";
  for (std::size_t k = 0; k < dims.size(); ++k) {
    s += (k ? ", " : "") + (dims[k] == kBatch ? std::string("N") : std::to_string(dims[k]));
  }
  return s + "]";
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool is_digits(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

// A name usable as a layer and checkpoint file name: no '/', not "." or "..".
// A name the network document and the checkpoint can carry as it is: one path component,
// valid UTF-8 (ONNX strings are bytes; a JSON string cannot hold others; found by fuzzing).
bool is_plain_name(const std::string& s) {
  return !s.empty() && s != "." && s != ".." && s.find('/') == std::string::npos &&
         s.find('\0') == std::string::npos && s != "input" && core::is_valid_utf8(s);
}

// One parametrised layer's tensors while the graph is read.
struct LayerTensors {
  data::NamedTensor weight;
  bool has_bias = false;
  data::NamedTensor bias;
  bool batch_norm = false;
  data::NamedTensor running_mean;
  data::NamedTensor running_var;
  std::vector<std::pair<std::string, std::string>> sources;  // ONNX name -> checkpoint name
  std::string first_placeholder;  // a tensor without values, "" when every one has them
  bool any_values = false;
};

struct PendingLayer {
  core::Json json;
  std::string node;  // "node \"NAME\" (OpType)", for errors
  bool has_params = false;
  LayerTensors tensors;
};

class Converter {
 public:
  Converter(const onnx::ModelProto& model, std::string origin)
      : model_(model), graph_(model.graph()), origin_(std::move(origin)) {}

  ImportedModel run();

 private:
  using Node = onnx::NodeProto;

  [[noreturn]] void fail(const Node& node, const std::string& why) const {
    throw core::ConfigError(origin_, describe(node), why);
  }
  [[noreturn]] void fail_at(const std::string& where, const std::string& why) const {
    throw core::ConfigError(origin_, where, why);
  }
  std::string describe(const Node& node) const {
    return "node \"" + node_name(node) + "\" (" + node.op_type() + ")";
  }
  std::string node_name(const Node& node) const {
    if (!node.name().empty()) return node.name();
    return node.output_size() > 0 ? "output " + node.output(0)
                                  : "#" + std::to_string(index_of(node));
  }
  int index_of(const Node& node) const {
    for (int k = 0; k < graph_.node_size(); ++k) {
      if (&graph_.node(k) == &node) return k;
    }
    return -1;
  }

  // Attributes.
  const onnx::AttributeProto* attribute(const Node& n, const std::string& name) const {
    for (const auto& a : n.attribute()) {
      if (a.name() == name) return &a;
    }
    return nullptr;
  }
  void allow_attributes(const Node& n, std::initializer_list<const char*> allowed) const {
    for (const auto& a : n.attribute()) {
      bool ok = false;
      for (const char* name : allowed) ok = ok || a.name() == name;
      if (!ok) fail(n, "attribute " + a.name() + " is not supported (lpsim would ignore it)");
    }
  }
  std::int64_t attr_int(const Node& n, const std::string& name, std::int64_t fallback) const {
    const onnx::AttributeProto* a = attribute(n, name);
    if (a == nullptr) return fallback;
    if (a->type() != onnx::AttributeProto::INT) fail(n, "attribute " + name + " is not an integer");
    return a->i();
  }
  double attr_float(const Node& n, const std::string& name, double fallback) const {
    const onnx::AttributeProto* a = attribute(n, name);
    if (a == nullptr) return fallback;
    if (a->type() != onnx::AttributeProto::FLOAT) fail(n, "attribute " + name + " is not a float");
    return a->f();
  }
  std::string attr_string(const Node& n, const std::string& name,
                          const std::string& fallback) const {
    const onnx::AttributeProto* a = attribute(n, name);
    if (a == nullptr) return fallback;
    if (a->type() != onnx::AttributeProto::STRING)
      fail(n, "attribute " + name + " is not a string");
    return a->s();
  }
  std::vector<std::int64_t> attr_ints(const Node& n, const std::string& name,
                                      std::vector<std::int64_t> fallback) const {
    const onnx::AttributeProto* a = attribute(n, name);
    if (a == nullptr) return fallback;
    if (a->type() != onnx::AttributeProto::INTS) fail(n, "attribute " + name + " is not integers");
    return {a->ints().begin(), a->ints().end()};
  }

  // Values.
  bool has_input(const Node& n, int k) const { return k < n.input_size() && !n.input(k).empty(); }
  const Value& input(const Node& n, int k) const {
    if (!has_input(n, k)) fail(n, "input " + std::to_string(k) + " is missing");
    auto it = values_.find(n.input(k));
    if (it == values_.end()) {
      fail(n, "reads \"" + n.input(k) +
                  "\", which no earlier node, initialiser or graph input produces (the graph "
                  "must be in topological order)");
    }
    return *it->second;
  }
  const Value& activation(const Node& n, int k, bool padded_ok = false) const {
    const Value& v = input(n, k);
    if (!v.is_activation()) {
      fail(n, "input \"" + n.input(k) +
                  "\" is a constant where lpsim needs a tensor computed from the network input");
    }
    if (v.pad > 0 && !padded_ok) {
      fail(n,
           "reads the output of a Pad; lpsim takes a zero Pad only as the padding of the "
           "Conv or AveragePool that reads it");
    }
    return v;
  }
  const Value& activation_of_rank(const Node& n, int k, std::size_t rank, const std::string& what,
                                  bool padded_ok = false) const {
    const Value& v = activation(n, k, padded_ok);
    if (v.dims.size() != rank) {
      fail(n, "input \"" + n.input(k) + "\" is " + dims_text(v.dims) + ", " + what);
    }
    return v;
  }
  // A constant whose values the import needs (shape computations).
  const Value& known(const Node& n, int k) const {
    const Value& v = input(n, k);
    if (v.is_activation()) {
      fail(n, "input \"" + n.input(k) +
                  "\" is computed from the network input at run time: a dynamic shape or value "
                  "lpsim cannot resolve");
    }
    if (v.kind == Value::Kind::kPlaceholder) {
      fail(n,
           "input \"" + n.input(k) + "\" is a graph input without values: lpsim cannot resolve it");
    }
    return v;
  }
  std::vector<std::int64_t> known_ints(const Node& n, int k) const {
    const Value& v = known(n, k);
    if (!v.integer) fail(n, "input \"" + n.input(k) + "\" must be an integer tensor");
    return v.i;
  }
  void set_output(const Node& n, int k, Value v) {
    std::int64_t size = 0;
    if (!product_within(v.dims, v.is_activation() ? 1 : 0, &size)) {
      fail(n, "its output " + dims_text(v.dims) + " is absurdly large (more than 2^40 elements)");
    }
    if (k < n.output_size() && !n.output(k).empty()) {
      values_[n.output(k)] = std::make_shared<const Value>(std::move(v));
    }
  }
  void alias_output(const Node& n, const std::string& from) {
    values_[n.output(0)] = values_.at(from);
  }
  // The outputs after the first must be unused (BatchNormalization's statistics, MaxPool's
  // indices, Dropout's mask).
  void only_first_output(const Node& n) const {
    for (int k = 1; k < n.output_size(); ++k) {
      if (!n.output(k).empty() && uses_.count(n.output(k))) {
        fail(n, "its output " + std::to_string(k) + " (\"" + n.output(k) +
                    "\") is used; lpsim computes only the first");
      }
    }
  }
  void fold(const Node& n) { ++folded_[n.op_type()]; }

  // Names.
  std::string scope_base(const Node& n) const;
  std::string unique_name(const std::string& base);
  std::string parameter_layer_name(const Node& n, int weight_input);

  // Layers.
  int add_layer(const Node& n, core::Json json, const std::string& name,
                const std::vector<const Value*>& inputs);
  std::string layer_input_name(const Value& v) const {
    return v.layer == models::kNetworkInput ? std::string("input")
                                            : layers_[v.layer].json["name"].get<std::string>();
  }
  // Records weight/bias/statistic `slot` of layer `layer` from input k of n, in `layout` dims.
  void take_parameter(const Node& n, int k, data::NamedTensor& out, const std::string& name,
                      const std::vector<std::int64_t>& dims, int layer, bool transpose);
  const Value& parameter(const Node& n, int k) const {
    const Value& v = input(n, k);
    if (v.is_activation()) {
      fail(n, "input \"" + n.input(k) +
                  "\" is computed from the network input; lpsim needs its weights to be "
                  "initialisers or constants");
    }
    if (v.is_constant() && v.integer)
      fail(n, "weight \"" + n.input(k) + "\" is not a float tensor");
    return v;
  }

  // Ops.
  void dispatch(const Node& n);
  void conv(const Node& n);
  void gemm(const Node& n);
  void matmul(const Node& n);
  void add(const Node& n);
  void unary_layer(const Node& n, const char* type);
  void pool(const Node& n, bool max);
  void global_avgpool(const Node& n);
  void batchnorm(const Node& n);
  void flatten(const Node& n);
  void reshape(const Node& n);
  void constant_node(const Node& n);
  void shape(const Node& n);
  void gather(const Node& n);
  void unsqueeze(const Node& n, bool squeeze);
  void concat(const Node& n);
  void cast(const Node& n);
  void slice(const Node& n);
  void arithmetic(const Node& n);
  void pad(const Node& n);
  // Spatial attributes shared by Conv and the pools: one padding and one stride for both axes.
  struct Window {
    std::int64_t kh = 1, kw = 1, stride = 1, padding = 0;
  };
  Window window(const Node& n, std::int64_t kh, std::int64_t kw, bool kernel_attr_required);
  void linear_layer(const Node& n, const Value& x, int weight_input, bool transpose,
                    int bias_input);
  // A flat tensor: [N, F] or [N, C, 1, 1], whose flatten changes nothing in lpsim.
  static bool is_flat(const Value& v) {
    return v.dims.size() == 2 || (v.dims.size() == 4 && v.dims[2] == 1 && v.dims[3] == 1);
  }
  void flatten_to(const Node& n, const Value& x);

  Value constant_from_tensor(const onnx::TensorProto& t, const std::string& where) const;

  const onnx::ModelProto& model_;
  const onnx::GraphProto& graph_;
  std::string origin_;
  std::int64_t opset_ = 0;
  std::int64_t static_batch_ = 0;  // the input's declared batch size, 0 when symbolic
  std::map<std::string, ValuePtr> values_;
  std::map<std::string, int> uses_;  // tensor -> readers among the nodes kept, plus outputs
  std::vector<PendingLayer> layers_;
  std::set<std::string> used_names_;
  std::set<std::string> reserved_names_;  // stems of "<stem>.weight" tensors
  std::map<std::string, std::int64_t> folded_;
};

// Decodes an initialiser or a Constant node's tensor.
Value Converter::constant_from_tensor(const onnx::TensorProto& t, const std::string& where) const {
  Value v;
  v.kind = Value::Kind::kConstant;
  v.dims.assign(t.dims().begin(), t.dims().end());
  for (std::int64_t d : v.dims) {
    if (d < 0) fail_at(where, "has a negative dimension " + dims_text(v.dims));
  }
  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    fail_at(where,
            "keeps its data in an external file, which lpsim does not read (save the model "
            "with its weights inside: onnx.save(model, path, save_as_external_data=False))");
  }
  if (t.has_segment()) fail_at(where, "is segmented, which lpsim does not read");
  std::int64_t n = 0;
  if (!product_within(v.dims, 0, &n)) {
    fail_at(where, "has dims " + dims_text(v.dims) + ": absurdly large (more than 2^40 elements)");
  }
  const std::string& raw = t.raw_data();
  auto check_count = [&](std::int64_t found) {
    if (found != n) {
      fail_at(where, "holds " + std::to_string(found) + " values for dims " + dims_text(v.dims));
    }
  };
  switch (t.data_type()) {
    case onnx::TensorProto::FLOAT:
      if (!raw.empty()) {
        check_count(static_cast<std::int64_t>(raw.size() / 4));
        if (raw.size() % 4 != 0) fail_at(where, "raw data is not a whole number of floats");
        v.f.resize(n);
        std::memcpy(v.f.data(), raw.data(), raw.size());
      } else {
        check_count(t.float_data_size());
        v.f.assign(t.float_data().begin(), t.float_data().end());
      }
      return v;
    case onnx::TensorProto::DOUBLE: {
      std::vector<double> d;
      if (!raw.empty()) {
        check_count(static_cast<std::int64_t>(raw.size() / 8));
        if (raw.size() % 8 != 0) fail_at(where, "raw data is not a whole number of doubles");
        d.resize(n);
        std::memcpy(d.data(), raw.data(), raw.size());
      } else {
        check_count(t.double_data_size());
        d.assign(t.double_data().begin(), t.double_data().end());
      }
      v.f.assign(d.begin(), d.end());
      return v;
    }
    case onnx::TensorProto::INT64:
      v.integer = true;
      if (!raw.empty()) {
        check_count(static_cast<std::int64_t>(raw.size() / 8));
        if (raw.size() % 8 != 0) fail_at(where, "raw data is not a whole number of int64");
        v.i.resize(n);
        std::memcpy(v.i.data(), raw.data(), raw.size());
      } else {
        check_count(t.int64_data_size());
        v.i.assign(t.int64_data().begin(), t.int64_data().end());
      }
      return v;
    case onnx::TensorProto::INT32:
      v.integer = true;
      if (!raw.empty()) {
        check_count(static_cast<std::int64_t>(raw.size() / 4));
        if (raw.size() % 4 != 0) fail_at(where, "raw data is not a whole number of int32");
        std::vector<std::int32_t> d(n);
        std::memcpy(d.data(), raw.data(), raw.size());
        v.i.assign(d.begin(), d.end());
      } else {
        check_count(t.int32_data_size());
        v.i.assign(t.int32_data().begin(), t.int32_data().end());
      }
      return v;
    default:
      fail_at(where, "has data type " + onnx::TensorProto::DataType_Name(t.data_type()) +
                         "; lpsim reads FLOAT and DOUBLE weights and INT64 and INT32 shapes");
  }
}

// "/layer1/layer1.0/conv1/Conv" -> "layer1.0.conv1"; "/Relu" -> "relu";
// "/layer1/layer1.0/Add" -> "layer1.0.add"; a name without scopes is kept.
std::string Converter::scope_base(const Node& n) const {
  const std::string& name = n.name();
  if (name.empty()) return lower(n.op_type());
  if (name[0] != '/') {
    std::string s = name;
    std::replace(s.begin(), s.end(), '/', '.');
    return s;
  }
  std::vector<std::string> parts;
  std::stringstream in(name.substr(1));
  std::string part;
  while (std::getline(in, part, '/')) {
    if (!part.empty()) parts.push_back(part);
  }
  bool op_last = false;
  if (!parts.empty() && parts.back().rfind(n.op_type(), 0) == 0) {
    parts.pop_back();
    op_last = true;
  }
  // Each scope is a module's qualified name or its attribute name inside the last one.
  std::string path;
  for (const std::string& p : parts) {
    if (!path.empty() && p.rfind(path + ".", 0) == 0) {
      path = p;
    } else {
      path += (path.empty() ? "" : ".") + p;
    }
  }
  const std::string leaf =
      path.substr(path.rfind('.') == std::string::npos ? 0 : path.rfind('.') + 1);
  if (path.empty()) return lower(n.op_type());
  if (op_last && is_digits(leaf)) return path + "." + lower(n.op_type());  // inside a container
  return path;
}

std::string Converter::unique_name(const std::string& base_in) {
  std::string base = is_plain_name(base_in) ? base_in : "layer";
  std::string name = base;
  for (int k = 2; used_names_.count(name) || reserved_names_.count(name); ++k) {
    name = base + "_" + std::to_string(k);
  }
  used_names_.insert(name);
  return name;
}

std::string Converter::parameter_layer_name(const Node& n, int weight_input) {
  const std::string& w = n.input(weight_input);
  if (ends_with(w, ".weight")) {
    const std::string stem = w.substr(0, w.size() - 7);
    if (is_plain_name(stem) && !used_names_.count(stem)) {
      used_names_.insert(stem);
      return stem;
    }
  }
  return unique_name(scope_base(n));
}

int Converter::add_layer(const Node& n, core::Json json, const std::string& name,
                         const std::vector<const Value*>& inputs) {
  // The op table (Converter::dispatch) maps ONNX ops onto registered layer kinds only.
  LPSIM_ASSERT(models::find_layer_type(json.at("type").get<std::string>()) != nullptr,
               "the importer made a layer of an unregistered type");
  json["name"] = name;
  core::Json in = core::Json::array();
  for (const Value* v : inputs) in.push_back(layer_input_name(*v));
  json["inputs"] = in;
  PendingLayer p;
  p.json = std::move(json);
  p.node = describe(n);
  layers_.push_back(std::move(p));
  return static_cast<int>(layers_.size()) - 1;
}

void Converter::take_parameter(const Node& n, int k, data::NamedTensor& out,
                               const std::string& name, const std::vector<std::int64_t>& dims,
                               int layer, bool transpose) {
  const Value& v = parameter(n, k);
  std::vector<std::int64_t> expect = dims;
  if (transpose) std::swap(expect[0], expect[1]);
  std::vector<std::int64_t> got = v.dims;
  // A [1, O] bias broadcasts like [O].
  if (expect.size() == 1 && got.size() == 2 && got[0] == 1) got = {got[1]};
  if (got != expect) {
    fail(n, "input \"" + n.input(k) + "\" is " + dims_text(v.dims) + ", expected " +
                dims_text(expect));
  }
  LayerTensors& t = layers_[layer].tensors;
  out.name = name;
  out.shape = dims;
  if (v.kind == Value::Kind::kPlaceholder) {
    if (t.first_placeholder.empty()) t.first_placeholder = n.input(k);
  } else {
    t.any_values = true;
    if (transpose) {
      const std::int64_t rows = v.dims[0], cols = v.dims[1];
      out.data.resize(v.f.size());
      for (std::int64_t r = 0; r < rows; ++r) {
        for (std::int64_t c = 0; c < cols; ++c) out.data[c * rows + r] = v.f[r * cols + c];
      }
    } else {
      out.data = v.f;
    }
  }
  t.sources.emplace_back(n.input(k), name);
}

Converter::Window Converter::window(const Node& n, std::int64_t kh, std::int64_t kw,
                                    bool kernel_attr_required) {
  const std::string auto_pad = attr_string(n, "auto_pad", "NOTSET");
  if (auto_pad != "NOTSET") {
    fail(n, "auto_pad " + auto_pad + " is not supported (only NOTSET, with explicit pads)");
  }
  const std::vector<std::int64_t> dil = attr_ints(n, "dilations", {1, 1});
  if (dil.size() != 2 || dil[0] != 1 || dil[1] != 1) {
    fail(n, "dilations " + dims_text(dil) + " are not supported (lpsim has no dilation)");
  }
  if (kernel_attr_required && attribute(n, "kernel_shape") == nullptr) {
    fail(n, "has no kernel_shape attribute");
  }
  const std::vector<std::int64_t> kernel = attr_ints(n, "kernel_shape", {kh, kw});
  if (kernel.size() != 2) {
    fail(n, "kernel_shape " + dims_text(kernel) + " is not 2-D (lpsim has 2-D windows only)");
  }
  if (!kernel_attr_required && (kernel[0] != kh || kernel[1] != kw)) {
    fail(n, "kernel_shape " + dims_text(kernel) + " disagrees with the weight's " +
                dims_text({kh, kw}));
  }
  Window w;
  w.kh = kernel[0];
  w.kw = kernel[1];
  if (w.kh < 1 || w.kw < 1 || w.kh > kMaxDim || w.kw > kMaxDim) {
    fail(n, "kernel " + dims_text(kernel) + " is not 1..2^24");
  }
  const std::vector<std::int64_t> pads = attr_ints(n, "pads", {0, 0, 0, 0});
  if (pads.size() != 4 || pads[1] != pads[0] || pads[2] != pads[0] || pads[3] != pads[0] ||
      pads[0] < 0 || pads[0] > kMaxDim) {
    fail(n, "pads " + dims_text(pads) +
                " are not supported (lpsim pads every side of both axes by the same amount)");
  }
  w.padding = pads[0];
  const std::vector<std::int64_t> strides = attr_ints(n, "strides", {1, 1});
  if (strides.size() != 2 || strides[0] != strides[1] || strides[0] < 1 || strides[0] > kMaxDim) {
    fail(n, "strides " + dims_text(strides) +
                " are not supported (lpsim strides both axes by the same amount)");
  }
  w.stride = strides[0];
  return w;
}

void Converter::conv(const Node& n) {
  allow_attributes(n, {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"});
  const Value& x =
      activation_of_rank(n, 0, 4, "expected [N, C, H, W] (lpsim has 2-D convolutions only)", true);
  const Value& w = parameter(n, 1);
  if (w.dims.size() != 4)
    fail(n, "weight \"" + n.input(1) + "\" is " + dims_text(w.dims) + ", expected 4-D");
  const std::int64_t group = attr_int(n, "group", 1);
  if (group != 1) {
    fail(n, "group " + std::to_string(group) +
                " is not supported (lpsim has no grouped or depthwise convolution)");
  }
  Window win = window(n, w.dims[2], w.dims[3], false);
  const std::int64_t out = w.dims[0];
  if (w.dims[1] != x.dims[1]) {
    fail(n, "weight \"" + n.input(1) + "\" is " + dims_text(w.dims) + " but the input has " +
                std::to_string(x.dims[1]) + " channels");
  }
  const std::int64_t ho = (x.dims[2] + 2 * win.padding - win.kh);
  const std::int64_t wo = (x.dims[3] + 2 * win.padding - win.kw);
  if (ho < 0 || wo < 0) fail(n, "the kernel is larger than the padded input " + dims_text(x.dims));
  win.padding += x.pad;  // a Pad before it (x.dims include that padding already)
  const bool bias = has_input(n, 2);
  core::Json j = {
      {"type", "conv2d"},
      {"out_channels", out},
      {"kernel_size", win.kh == win.kw ? core::Json(win.kh) : core::Json::array({win.kh, win.kw})},
      {"stride", win.stride},
      {"padding", win.padding},
      {"bias", bias}};
  const std::string name = parameter_layer_name(n, 1);
  const int layer = add_layer(n, j, name, {&x});
  layers_[layer].has_params = true;
  LayerTensors& t = layers_[layer].tensors;
  take_parameter(n, 1, t.weight, name + ".weight", w.dims, layer, false);
  if (bias) {
    t.has_bias = true;
    take_parameter(n, 2, layers_[layer].tensors.bias, name + ".bias", {out}, layer, false);
  }
  Value y;
  y.kind = Value::Kind::kActivation;
  y.layer = layer;
  y.dims = {kBatch, out, ho / win.stride + 1, wo / win.stride + 1};
  set_output(n, 0, std::move(y));
}

void Converter::linear_layer(const Node& n, const Value& x, int weight_input, bool transpose,
                             int bias_input) {
  const Value& w = parameter(n, weight_input);
  if (w.dims.size() != 2) {
    fail(n, "weight \"" + n.input(weight_input) + "\" is " + dims_text(w.dims) + ", expected 2-D");
  }
  const std::int64_t in = transpose ? w.dims[0] : w.dims[1];
  const std::int64_t out = transpose ? w.dims[1] : w.dims[0];
  if (in != x.dims[1]) {
    fail(n, "weight \"" + n.input(weight_input) + "\" is " + dims_text(w.dims) +
                " but the input has " + std::to_string(x.dims[1]) + " features");
  }
  const bool bias = bias_input >= 0 && has_input(n, bias_input);
  core::Json j = {{"type", "linear"}, {"out_features", out}, {"bias", bias}};
  const std::string name = parameter_layer_name(n, weight_input);
  const int layer = add_layer(n, j, name, {&x});
  layers_[layer].has_params = true;
  LayerTensors& t = layers_[layer].tensors;
  take_parameter(n, weight_input, t.weight, name + ".weight", {out, in}, layer, transpose);
  if (bias) {
    layers_[layer].tensors.has_bias = true;
    take_parameter(n, bias_input, layers_[layer].tensors.bias, name + ".bias", {out}, layer, false);
  }
  Value y;
  y.kind = Value::Kind::kActivation;
  y.layer = layer;
  y.dims = {kBatch, out};
  y.bias_slot = bias ? -1 : layer;
  set_output(n, 0, std::move(y));
}

void Converter::gemm(const Node& n) {
  allow_attributes(n, {"alpha", "beta", "transA", "transB"});
  const Value& a = activation_of_rank(n, 0, 2, "expected [N, features]");
  if (attr_float(n, "alpha", 1.0) != 1.0) fail(n, "alpha must be 1 (lpsim's linear has no scale)");
  if (has_input(n, 2) && attr_float(n, "beta", 1.0) != 1.0) {
    fail(n, "beta must be 1 (lpsim's linear adds its bias unscaled)");
  }
  if (attr_int(n, "transA", 0) != 0)
    fail(n, "transA 1 is not supported (the input is [N, features])");
  linear_layer(n, a, 1, attr_int(n, "transB", 0) == 0, 2);
}

void Converter::matmul(const Node& n) {
  allow_attributes(n, {});
  const Value& a = activation_of_rank(n, 0, 2, "expected [N, features] (lpsim's linear layer)");
  linear_layer(n, a, 1, true, -1);
}

void Converter::add(const Node& n) {
  allow_attributes(n, {});
  const Value& a = input(n, 0);
  const Value& b = input(n, 1);
  if (!a.is_activation() && !b.is_activation()) {
    arithmetic(n);
    return;
  }
  if (a.is_activation() && b.is_activation()) {
    activation(n, 0);
    activation(n, 1);
    if (a.dims != b.dims) {
      fail(n, "adds " + dims_text(a.dims) + " and " + dims_text(b.dims) +
                  " (lpsim adds tensors of equal shape only, without broadcasting)");
    }
    const int layer = add_layer(n, {{"type", "add"}}, unique_name(scope_base(n)), {&a, &b});
    Value y = a;
    y.layer = layer;
    y.bias_slot = -1;
    set_output(n, 0, std::move(y));
    return;
  }
  const int k = a.is_activation() ? 1 : 0;
  const Value& x = activation(n, 1 - k);
  const std::string& x_name = n.input(1 - k);
  if (x.bias_slot < 0 || uses_.at(x_name) != 1) {
    fail(n, "adds the constant \"" + n.input(k) +
                "\" to a tensor; lpsim takes that only as the bias of the MatMul (or bias-free "
                "Gemm) that produces the tensor and nothing else reads");
  }
  const int layer = x.bias_slot;
  LayerTensors& t = layers_[layer].tensors;
  take_parameter(n, k, t.bias, layers_[layer].json["name"].get<std::string>() + ".bias",
                 {x.dims[1]}, layer, false);
  t.has_bias = true;
  layers_[layer].json["bias"] = true;
  Value y = x;
  y.bias_slot = -1;
  set_output(n, 0, std::move(y));
}

void Converter::unary_layer(const Node& n, const char* type) {
  allow_attributes(n, {});
  const Value& x = activation(n, 0);
  const int layer = add_layer(n, {{"type", type}}, unique_name(scope_base(n)), {&x});
  Value y = x;
  y.layer = layer;
  y.bias_slot = -1;
  set_output(n, 0, std::move(y));
}

void Converter::pool(const Node& n, bool max) {
  if (max) {
    allow_attributes(n, {"auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads",
                         "storage_order", "strides"});
    only_first_output(n);
  } else {
    allow_attributes(n, {"auto_pad", "ceil_mode", "count_include_pad", "dilations", "kernel_shape",
                         "pads", "strides"});
  }
  // A zero Pad before an AveragePool is its padding with the zeros counted (max pooling pads
  // with -inf, so a Pad before it is refused).
  const Value& x =
      activation_of_rank(n, 0, 4, "expected [N, C, H, W] (lpsim pools 2-D only)", !max);
  const std::int64_t ceil_mode = attr_int(n, "ceil_mode", 0);
  if (ceil_mode != 0) {
    fail(n, "ceil_mode " + std::to_string(ceil_mode) +
                " is not supported (lpsim's output size rounds down)");
  }
  Window win = window(n, 0, 0, true);
  if (!max && win.padding > 0 && attr_int(n, "count_include_pad", 0) != 1) {
    fail(n,
         "count_include_pad 0 with pads is not supported (lpsim divides by the whole window, "
         "padding included)");
  }
  const std::int64_t ho = x.dims[2] + 2 * win.padding - win.kh;
  const std::int64_t wo = x.dims[3] + 2 * win.padding - win.kw;
  if (ho < 0 || wo < 0) fail(n, "the window is larger than the padded input " + dims_text(x.dims));
  win.padding += x.pad;
  if (2 * win.padding > std::min(win.kh, win.kw)) {
    fail(n, "padding " + std::to_string(win.padding) +
                " exceeds half the kernel (lpsim keeps PyTorch's rule)");
  }
  core::Json j = {
      {"type", max ? "maxpool2d" : "avgpool2d"},
      {"kernel_size", win.kh == win.kw ? core::Json(win.kh) : core::Json::array({win.kh, win.kw})},
      {"stride", win.stride},
      {"padding", win.padding}};
  const int layer = add_layer(n, j, unique_name(scope_base(n)), {&x});
  Value y;
  y.kind = Value::Kind::kActivation;
  y.layer = layer;
  y.dims = {kBatch, x.dims[1], ho / win.stride + 1, wo / win.stride + 1};
  set_output(n, 0, std::move(y));
}

void Converter::global_avgpool(const Node& n) {
  allow_attributes(n, {});
  const Value& x = activation_of_rank(n, 0, 4, "expected [N, C, H, W]");
  const int layer = add_layer(n, {{"type", "global_avgpool"}}, unique_name(scope_base(n)), {&x});
  Value y;
  y.kind = Value::Kind::kActivation;
  y.layer = layer;
  y.dims = {kBatch, x.dims[1], 1, 1};
  set_output(n, 0, std::move(y));
}

void Converter::batchnorm(const Node& n) {
  allow_attributes(n, {"epsilon", "momentum", "spatial", "training_mode"});
  only_first_output(n);
  const Value& x = activation(n, 0);
  if (x.dims.size() != 4 && x.dims.size() != 2) {
    fail(n, "input is " + dims_text(x.dims) + ", expected [N, C, H, W] or [N, C]");
  }
  if (attr_int(n, "training_mode", 0) != 0) {
    fail(n, "training_mode 1 is not supported (export the model in inference mode)");
  }
  if (attr_int(n, "spatial", 1) != 1) fail(n, "spatial 0 is not supported (per-channel only)");
  const double eps = attr_float(n, "epsilon", 1e-5);
  if (std::abs(eps - ops::kBatchNormEps) > 1e-9) {
    fail(n, "epsilon " + std::to_string(eps) + " is not supported (lpsim's batch norm uses 1e-5)");
  }
  const double momentum = attr_float(n, "momentum", 0.9);
  if (std::abs(momentum - 0.9) > 1e-6) {
    fail(n, "momentum " + std::to_string(momentum) +
                " is not supported (lpsim's running statistics use ONNX momentum 0.9, PyTorch's "
                "0.1)");
  }
  const std::int64_t c = x.dims[1];
  const std::string name = parameter_layer_name(n, 1);
  const int layer = add_layer(n, {{"type", "batchnorm2d"}}, name, {&x});
  layers_[layer].has_params = true;
  layers_[layer].tensors.batch_norm = true;
  layers_[layer].tensors.has_bias = true;
  take_parameter(n, 1, layers_[layer].tensors.weight, name + ".weight", {c}, layer, false);
  take_parameter(n, 2, layers_[layer].tensors.bias, name + ".bias", {c}, layer, false);
  take_parameter(n, 3, layers_[layer].tensors.running_mean, name + ".running_mean", {c}, layer,
                 false);
  take_parameter(n, 4, layers_[layer].tensors.running_var, name + ".running_var", {c}, layer,
                 false);
  for (float v : layers_[layer].tensors.running_var.data) {
    if (!(v >= 0.0f)) fail(n, "running variance \"" + n.input(4) + "\" holds a negative value");
  }
  Value y = x;
  y.layer = layer;
  y.bias_slot = -1;
  set_output(n, 0, std::move(y));
}

void Converter::flatten_to(const Node& n, const Value& x) {
  std::int64_t features = 1;
  for (std::size_t k = 1; k < x.dims.size(); ++k) features *= x.dims[k];
  Value y = x;
  y.dims = {kBatch, features};
  if (is_flat(x)) {
    fold(n);  // the same matrix in lpsim
  } else {
    y.layer = add_layer(n, {{"type", "flatten"}}, unique_name(scope_base(n)), {&x});
    y.bias_slot = -1;
  }
  set_output(n, 0, std::move(y));
}

void Converter::flatten(const Node& n) {
  allow_attributes(n, {"axis"});
  const Value& x = input(n, 0);
  std::int64_t axis = attr_int(n, "axis", 1);
  const auto rank = static_cast<std::int64_t>(x.dims.size());
  if (axis < 0) axis += rank;
  if (!x.is_activation()) {
    known(n, 0);
    Value y = x;
    std::int64_t outer = 1, inner = 1;
    for (std::int64_t k = 0; k < rank; ++k) (k < axis ? outer : inner) *= x.dims[k];
    y.dims = {outer, inner};
    fold(n);
    set_output(n, 0, std::move(y));
    return;
  }
  activation(n, 0);
  if (axis != 1) {
    fail(n, "axis " + std::to_string(attr_int(n, "axis", 1)) +
                " is not supported (lpsim flattens each sample: axis 1)");
  }
  flatten_to(n, x);
}

void Converter::reshape(const Node& n) {
  allow_attributes(n, {"allowzero"});
  const Value& x = input(n, 0);
  const std::vector<std::int64_t> target = known_ints(n, 1);
  const bool allowzero = attr_int(n, "allowzero", 0) != 0;
  if (!x.is_activation()) {
    known(n, 0);
    // A constant reshaped: resolve 0 and -1 as ONNX does.
    std::vector<std::int64_t> dims = target;
    std::int64_t product = 1, unknown = -1;
    for (std::size_t k = 0; k < dims.size(); ++k) {
      if (dims[k] == 0 && !allowzero && k < x.dims.size()) dims[k] = x.dims[k];
      if (dims[k] == -1 && unknown < 0) {
        unknown = static_cast<std::int64_t>(k);
      } else if (dims[k] < 0 || __builtin_mul_overflow(product, dims[k], &product) ||
                 product > kMaxElements) {
        fail(n, "reshapes a constant to " + dims_text(target) + ", which lpsim cannot resolve");
      }
    }
    if (unknown >= 0) dims[unknown] = product > 0 ? x.elements() / product : 0;
    Value y = x;
    y.dims = dims;
    std::int64_t size = 0;
    if (!product_within(y.dims, 0, &size) || size != x.elements()) {
      fail(n, "reshapes a constant of " + dims_text(x.dims) + " to " + dims_text(target));
    }
    fold(n);
    set_output(n, 0, std::move(y));
    return;
  }
  activation(n, 0);
  std::int64_t features = 1;
  for (std::size_t k = 1; k < x.dims.size(); ++k) features *= x.dims[k];
  bool ok = target.size() == 2;
  if (ok) {
    const std::int64_t t0 = target[0], t1 = target[1];
    const bool batch =
        t0 == kBatch || (t0 == 0 && !allowzero) || (static_batch_ > 0 && t0 == static_batch_);
    const bool rest = t1 == -1 || t1 == features || (t1 == 0 && !allowzero && x.dims.size() == 2);
    ok = (batch && rest) || (t0 == -1 && t1 == features);
  }
  if (!ok) {
    fail(n, "reshapes " + dims_text(x.dims) + " to " + dims_text(target) +
                " (lpsim reshapes only to [N, -1], a flatten of each sample)");
  }
  flatten_to(n, x);
}

void Converter::constant_node(const Node& n) {
  if (n.attribute_size() != 1) fail(n, "expected exactly one value attribute");
  const onnx::AttributeProto& a = n.attribute(0);
  Value v;
  if (a.name() == "value" && a.type() == onnx::AttributeProto::TENSOR) {
    v = constant_from_tensor(a.t(), describe(n));
  } else if (a.name() == "value_float") {
    v.f = {a.f()};
  } else if (a.name() == "value_floats") {
    v.f.assign(a.floats().begin(), a.floats().end());
    v.dims = {static_cast<std::int64_t>(v.f.size())};
  } else if (a.name() == "value_int") {
    v.integer = true;
    v.i = {a.i()};
  } else if (a.name() == "value_ints") {
    v.integer = true;
    v.i.assign(a.ints().begin(), a.ints().end());
    v.dims = {static_cast<std::int64_t>(v.i.size())};
  } else {
    fail(n, "attribute " + a.name() + " is not supported (lpsim reads numeric constants)");
  }
  fold(n);
  set_output(n, 0, std::move(v));
}

void Converter::shape(const Node& n) {
  allow_attributes(n, {"start", "end"});
  const Value& x = input(n, 0);
  const auto rank = static_cast<std::int64_t>(x.dims.size());
  auto clamp = [&](std::int64_t k) {
    return std::clamp(k < 0 ? k + rank : k, std::int64_t{0}, rank);
  };
  const std::int64_t start = clamp(attr_int(n, "start", 0));
  const std::int64_t end = clamp(attr_int(n, "end", rank));
  Value v;
  v.integer = true;
  for (std::int64_t k = start; k < end; ++k) v.i.push_back(x.dims[k]);
  v.dims = {static_cast<std::int64_t>(v.i.size())};
  fold(n);
  set_output(n, 0, std::move(v));
}

void Converter::gather(const Node& n) {
  allow_attributes(n, {"axis"});
  const Value& data = known(n, 0);
  const Value& idx = known(n, 1);
  if (data.dims.size() != 1 || !idx.integer || idx.dims.size() > 1 ||
      (attr_int(n, "axis", 0) != 0 && attr_int(n, "axis", 0) != -1)) {
    fail(n, "gathers from " + dims_text(data.dims) +
                "; lpsim folds a Gather only from a 1-D constant (a shape)");
  }
  Value v;
  v.integer = data.integer;
  v.dims = idx.dims;
  const auto size = static_cast<std::int64_t>(data.integer ? data.i.size() : data.f.size());
  for (std::int64_t k : idx.i) {
    if (k < 0) k += size;
    if (k < 0 || k >= size) fail(n, "index " + std::to_string(k) + " is out of range");
    if (data.integer) {
      v.i.push_back(data.i[k]);
    } else {
      v.f.push_back(data.f[k]);
    }
  }
  fold(n);
  set_output(n, 0, std::move(v));
}

void Converter::unsqueeze(const Node& n, bool squeeze) {
  allow_attributes(n, {"axes"});
  const Value& x = known(n, 0);
  std::vector<std::int64_t> axes = has_input(n, 1) ? known_ints(n, 1) : attr_ints(n, "axes", {});
  Value v = x;
  if (squeeze) {
    const auto rank = static_cast<std::int64_t>(x.dims.size());
    std::set<std::int64_t> drop;
    for (std::int64_t a : axes) drop.insert(a < 0 ? a + rank : a);
    v.dims.clear();
    for (std::int64_t k = 0; k < rank; ++k) {
      const bool gone = axes.empty() ? x.dims[k] == 1 : drop.count(k) > 0;
      if (gone && x.dims[k] != 1) fail(n, "squeezes an axis of size " + std::to_string(x.dims[k]));
      if (!gone) v.dims.push_back(x.dims[k]);
    }
  } else {
    const auto rank = static_cast<std::int64_t>(x.dims.size() + axes.size());
    std::vector<std::int64_t> sorted;
    for (std::int64_t a : axes) sorted.push_back(a < 0 ? a + rank : a);
    std::sort(sorted.begin(), sorted.end());
    for (std::int64_t a : sorted) {
      if (a < 0 || a > static_cast<std::int64_t>(v.dims.size())) fail(n, "axis out of range");
      v.dims.insert(v.dims.begin() + a, 1);
    }
  }
  fold(n);
  set_output(n, 0, std::move(v));
}

void Converter::concat(const Node& n) {
  allow_attributes(n, {"axis"});
  Value v;
  v.integer = true;
  for (int k = 0; k < n.input_size(); ++k) {
    const Value& x = known(n, k);
    if (x.dims.size() != 1) {
      fail(n, "concatenates " + dims_text(x.dims) + "; lpsim folds Concat of 1-D constants only");
    }
    if (!x.integer) v.integer = false;
  }
  for (int k = 0; k < n.input_size(); ++k) {
    const Value& x = known(n, k);
    if (v.integer) {
      v.i.insert(v.i.end(), x.i.begin(), x.i.end());
    } else if (x.integer) {
      for (std::int64_t e : x.i) v.f.push_back(static_cast<float>(e));
    } else {
      v.f.insert(v.f.end(), x.f.begin(), x.f.end());
    }
  }
  v.dims = {static_cast<std::int64_t>(v.integer ? v.i.size() : v.f.size())};
  fold(n);
  set_output(n, 0, std::move(v));
}

void Converter::cast(const Node& n) {
  allow_attributes(n, {"to", "saturate"});
  const Value& x = known(n, 0);
  const std::int64_t to = attr_int(n, "to", 0);
  Value v;
  v.dims = x.dims;
  if (to == onnx::TensorProto::INT64 || to == onnx::TensorProto::INT32) {
    v.integer = true;
    if (x.integer) {
      v.i = x.i;
    } else {
      for (float e : x.f) {
        if (!(std::abs(e) < 9e18f)) fail(n, "casts " + std::to_string(e) + " to an integer");
        v.i.push_back(static_cast<std::int64_t>(e));
      }
    }
  } else if (to == onnx::TensorProto::FLOAT || to == onnx::TensorProto::DOUBLE) {
    if (x.integer) {
      for (std::int64_t e : x.i) {
        if (e == kBatch) fail(n, "casts the batch size: a dynamic shape lpsim cannot resolve");
        v.f.push_back(static_cast<float>(e));
      }
    } else {
      v.f = x.f;
    }
  } else {
    fail(n, "casts to " +
                onnx::TensorProto::DataType_Name(static_cast<onnx::TensorProto::DataType>(to)) +
                "; lpsim folds casts to integers and floats only");
  }
  fold(n);
  set_output(n, 0, std::move(v));
}

void Converter::slice(const Node& n) {
  allow_attributes(n, {"starts", "ends", "axes"});
  const Value& x = known(n, 0);
  if (x.dims.size() != 1) fail(n, "slices " + dims_text(x.dims) + "; lpsim folds 1-D slices only");
  std::vector<std::int64_t> starts, ends, axes = {0}, steps = {1};
  if (has_input(n, 1)) {
    starts = known_ints(n, 1);
    ends = known_ints(n, 2);
    if (has_input(n, 3)) axes = known_ints(n, 3);
    if (has_input(n, 4)) steps = known_ints(n, 4);
  } else {
    starts = attr_ints(n, "starts", {});
    ends = attr_ints(n, "ends", {});
    axes = attr_ints(n, "axes", {0});
  }
  if (starts.size() != 1 || ends.size() != 1 || axes.size() != 1 || steps.size() != 1 ||
      (axes[0] != 0 && axes[0] != -1) || steps[0] == 0) {
    fail(n, "is not a 1-D slice lpsim can fold");
  }
  const std::int64_t size = x.dims[0], step = steps[0];
  auto clamp = [&](std::int64_t k, std::int64_t lo, std::int64_t hi) {
    if (k < 0) k += size;
    return std::clamp(k, lo, hi);
  };
  std::int64_t b = step > 0 ? clamp(starts[0], 0, size) : clamp(starts[0], -1, size - 1);
  const std::int64_t e = step > 0 ? clamp(ends[0], 0, size) : clamp(ends[0], -1, size - 1);
  Value v;
  v.integer = x.integer;
  for (; step > 0 ? b < e : b > e; b += step) {
    if (x.integer) {
      v.i.push_back(x.i[b]);
    } else {
      v.f.push_back(x.f[b]);
    }
  }
  v.dims = {static_cast<std::int64_t>(x.integer ? v.i.size() : v.f.size())};
  fold(n);
  set_output(n, 0, std::move(v));
}

// A zero Pad of H and W: nothing when it pads nothing, else the padding of the Conv or
// AveragePool that reads it (Value::pad).
void Converter::pad(const Node& n) {
  allow_attributes(n, {"mode", "pads", "value"});
  const Value& x = activation(n, 0);
  const std::string mode = attr_string(n, "mode", "constant");
  if (mode != "constant") fail(n, "mode " + mode + " is not supported (lpsim pads with zeros)");
  if (has_input(n, 3)) fail(n, "the axes input is not supported");
  const std::vector<std::int64_t> pads =
      has_input(n, 1) ? known_ints(n, 1) : attr_ints(n, "pads", {});
  double value = attr_float(n, "value", 0.0);
  if (has_input(n, 2)) {
    const Value& c = known(n, 2);
    if (c.integer ? c.i.size() != 1 : c.f.size() != 1) fail(n, "constant_value is not one value");
    value = c.integer ? static_cast<double>(c.i[0]) : c.f[0];
  }
  if (pads.size() != 2 * x.dims.size()) {
    fail(n, "pads " + dims_text(pads) + " do not match the input " + dims_text(x.dims));
  }
  if (std::all_of(pads.begin(), pads.end(), [](std::int64_t p) { return p == 0; })) {
    alias_output(n, n.input(0));
    return fold(n);
  }
  const std::int64_t p = x.dims.size() == 4 ? pads[2] : -1;
  if (x.dims.size() != 4 || pads[0] != 0 || pads[1] != 0 || pads[4] != 0 || pads[5] != 0 ||
      pads[3] != p || pads[6] != p || pads[7] != p || p < 0 || p > kMaxDim) {
    fail(n, "pads " + dims_text(pads) +
                " are not supported (lpsim pads H and W of [N, C, H, W] by the same amount on "
                "every side)");
  }
  if (value != 0.0) {
    fail(n, "pads with " + std::to_string(value) + " (lpsim pads with zeros only)");
  }
  Value y = x;
  y.pad = p;
  y.dims[2] += 2 * p;
  y.dims[3] += 2 * p;
  y.bias_slot = -1;
  fold(n);
  set_output(n, 0, std::move(y));
}

// Add, Sub, Mul, Div over constants (same dims, or one a single value).
void Converter::arithmetic(const Node& n) {
  allow_attributes(n, {});
  const Value& a = input(n, 0);
  const Value& b = input(n, 1);
  if (a.is_activation() || b.is_activation()) {
    fail(n, "computes on a tensor; lpsim has no element-wise " + n.op_type() +
                " layer (only Add of two tensors and a MatMul's bias Add)");
  }
  known(n, 0);
  known(n, 1);
  const std::int64_t na = a.elements(), nb = b.elements();
  if (na != nb && na != 1 && nb != 1) {
    fail(n, "broadcasts " + dims_text(a.dims) + " with " + dims_text(b.dims) +
                "; lpsim folds element-wise constants of equal shape or a single value");
  }
  Value v;
  v.dims = na >= nb ? a.dims : b.dims;
  v.integer = a.integer && b.integer;
  const std::string& op = n.op_type();
  const std::int64_t count = std::max(na, nb);
  for (std::int64_t k = 0; k < count; ++k) {
    const std::int64_t ka = na == 1 ? 0 : k, kb = nb == 1 ? 0 : k;
    if (v.integer) {
      const std::int64_t x = a.i[ka], y = b.i[kb];
      if (x == kBatch || y == kBatch) {
        fail(n, "computes with the batch size: a dynamic shape lpsim cannot resolve");
      }
      if (op == "Div" && y == 0) fail(n, "divides by zero");
      std::int64_t r = 0;
      const bool overflow = op == "Add"   ? __builtin_add_overflow(x, y, &r)
                            : op == "Sub" ? __builtin_sub_overflow(x, y, &r)
                            : op == "Mul" ? __builtin_mul_overflow(x, y, &r)
                                          : (r = x / y, false);
      if (overflow || r == kBatch) fail(n, "overflows 64-bit integers");
      v.i.push_back(r);
    } else {
      const double x = a.integer ? static_cast<double>(a.i[ka]) : a.f[ka];
      const double y = b.integer ? static_cast<double>(b.i[kb]) : b.f[kb];
      v.f.push_back(static_cast<float>(op == "Add"   ? x + y
                                       : op == "Sub" ? x - y
                                       : op == "Mul" ? x * y
                                                     : x / y));
    }
  }
  fold(n);
  set_output(n, 0, std::move(v));
}

void Converter::dispatch(const Node& n) {
  const std::string& op = n.op_type();
  if (!n.domain().empty() && n.domain() != "ai.onnx") {
    fail(n, "is in domain \"" + n.domain() + "\"; lpsim imports the default ONNX domain only");
  }
  if (op == "Conv") return conv(n);
  if (op == "Gemm") return gemm(n);
  if (op == "MatMul") return matmul(n);
  if (op == "Add") return add(n);
  if (op == "Relu") return unary_layer(n, "relu");
  if (op == "MaxPool") return pool(n, true);
  if (op == "AveragePool") return pool(n, false);
  if (op == "GlobalAveragePool") return global_avgpool(n);
  if (op == "BatchNormalization") return batchnorm(n);
  if (op == "Flatten") return flatten(n);
  if (op == "Reshape") return reshape(n);
  if (op == "Identity") {
    allow_attributes(n, {});
    input(n, 0);
    alias_output(n, n.input(0));
    return fold(n);
  }
  if (op == "Constant") return constant_node(n);
  if (op == "Shape") return shape(n);
  if (op == "Gather") return gather(n);
  if (op == "Unsqueeze") return unsqueeze(n, false);
  if (op == "Squeeze") return unsqueeze(n, true);
  if (op == "Concat") return concat(n);
  if (op == "Cast") return cast(n);
  if (op == "Slice") return slice(n);
  if (op == "Sub" || op == "Mul" || op == "Div") return arithmetic(n);
  if (op == "Pad") return pad(n);
  if (op == "Softmax" || op == "LogSoftmax") {
    fail(n, "op type " + op +
                " is not supported: lpsim's softmax_cross_entropy loss applies the softmax "
                "itself (export the logits)");
  }
  fail(n, "op type " + op + " is not supported (lpsim imports " + kSupportedOps + ")");
}

ImportedModel Converter::run() {
  for (const auto& o : model_.opset_import()) {
    if (o.domain().empty() || o.domain() == "ai.onnx") opset_ = o.version();
  }
  // Initialisers, then the graph inputs without one: the first is the network input, the
  // others are weights exported without values.
  for (const auto& t : graph_.initializer()) {
    values_[t.name()] =
        std::make_shared<const Value>(constant_from_tensor(t, "initialiser \"" + t.name() + "\""));
  }
  if (graph_.sparse_initializer_size() > 0) {
    fail_at("initialiser \"" + graph_.sparse_initializer(0).values().name() + "\"",
            "is sparse, which lpsim does not read");
  }
  std::string input_name;
  ops::Shape input_shape;
  for (const auto& in : graph_.input()) {
    if (values_.count(in.name())) continue;
    const std::string where = "input \"" + in.name() + "\"";
    if (!in.type().has_tensor_type()) fail_at(where, "is not a tensor");
    const auto& tt = in.type().tensor_type();
    if (!tt.has_shape()) fail_at(where, "has no shape: a dynamic shape lpsim cannot resolve");
    std::vector<std::int64_t> dims;
    for (int k = 0; k < tt.shape().dim_size(); ++k) {
      const auto& d = tt.shape().dim(k);
      if (d.has_dim_value() && d.dim_value() > kMaxDim) {
        fail_at(where, "dimension " + std::to_string(k) + " is " + std::to_string(d.dim_value()) +
                           ", more than lpsim's 2^24");
      } else if (d.has_dim_value() && d.dim_value() > 0) {
        dims.push_back(d.dim_value());
      } else if (k == 0 && input_name.empty()) {
        dims.push_back(kBatch);  // the batch: any size
      } else {
        fail_at(where, "dimension " + std::to_string(k) + " is " +
                           (d.has_dim_param() ? "\"" + d.dim_param() + "\"" : "unknown") +
                           ": a dynamic shape lpsim cannot resolve (every dimension but the "
                           "batch must be fixed; export with a fixed input size)");
      }
    }
    std::int64_t size = 0;
    if (!product_within(dims, input_name.empty() ? 1 : 0, &size)) {
      fail_at(where, "is " + dims_text(dims) + ": absurdly large (more than 2^40 elements)");
    }
    if (input_name.empty()) {
      if (tt.elem_type() != onnx::TensorProto::FLOAT) {
        fail_at(where, "has element type " +
                           onnx::TensorProto::DataType_Name(
                               static_cast<onnx::TensorProto::DataType>(tt.elem_type())) +
                           "; lpsim's network input is FLOAT");
      }
      if (dims.size() != 2 && dims.size() != 4) {
        fail_at(where, "is " + dims_text(dims) +
                           "; lpsim's network input is [N, features] or [N, C, H, W]");
      }
      static_batch_ = dims[0] == kBatch ? 0 : dims[0];
      dims[0] = kBatch;
      input_name = in.name();
      input_shape =
          dims.size() == 2 ? ops::Shape{dims[1], 1, 1} : ops::Shape{dims[1], dims[2], dims[3]};
      Value v;
      v.kind = Value::Kind::kActivation;
      v.dims = dims;
      values_[in.name()] = std::make_shared<const Value>(std::move(v));
    } else {
      Value v;
      v.kind = Value::Kind::kPlaceholder;
      v.dims = dims;
      values_[in.name()] = std::make_shared<const Value>(std::move(v));
    }
  }
  if (input_name.empty()) fail_at("", "the graph has no input without an initialiser");
  if (graph_.output_size() != 1) {
    fail_at("", "the graph has " + std::to_string(graph_.output_size()) +
                    " outputs; lpsim imports a network with one, the logits [N, classes]");
  }
  const std::string output = graph_.output(0).name();

  // The nodes the output needs, and the readers of each tensor among them.
  std::map<std::string, int> producer;
  for (int k = 0; k < graph_.node_size(); ++k) {
    for (const auto& o : graph_.node(k).output()) {
      if (!o.empty()) producer[o] = k;
    }
  }
  std::vector<bool> needed(graph_.node_size(), false);
  std::vector<std::string> todo = {output};
  std::set<std::string> seen;
  while (!todo.empty()) {
    const std::string t = todo.back();
    todo.pop_back();
    if (!seen.insert(t).second) continue;
    auto it = producer.find(t);
    if (it == producer.end() || needed[it->second]) continue;
    needed[it->second] = true;
    for (const auto& in : graph_.node(it->second).input()) {
      if (!in.empty()) todo.push_back(in);
    }
  }
  uses_[output] = 1;
  for (int k = 0; k < graph_.node_size(); ++k) {
    if (!needed[k]) continue;
    for (const auto& in : graph_.node(k).input()) {
      if (!in.empty()) ++uses_[in];
    }
    for (const auto& in : graph_.node(k).input()) {
      if (ends_with(in, ".weight")) reserved_names_.insert(in.substr(0, in.size() - 7));
    }
  }

  for (int k = 0; k < graph_.node_size(); ++k) {
    if (needed[k]) dispatch(graph_.node(k));
  }

  auto out = values_.find(output);
  if (out == values_.end()) fail_at("output \"" + output + "\"", "no node produces it");
  const Value& y = *out->second;
  if (!y.is_activation() || y.layer == models::kNetworkInput || y.pad > 0) {
    fail_at("output \"" + output + "\"", "is not computed by any layer lpsim imports");
  }
  if (!is_flat(y)) {
    fail_at("output \"" + output + "\"",
            "is " + dims_text(y.dims) + "; lpsim's loss reads logits [N, classes]");
  }
  PendingLayer loss;
  loss.json = {{"name", unique_name("loss")},
               {"type", "softmax_cross_entropy"},
               {"inputs", {layer_input_name(y)}}};
  loss.node = "output \"" + output + "\"";
  layers_.push_back(loss);

  // The network document, read back by the network format's own parser.
  core::Json layers = core::Json::array();
  for (const PendingLayer& p : layers_) layers.push_back(p.json);
  core::Json shape = input_shape.h == 1 && input_shape.w == 1
                         ? core::Json::array({input_shape.c})
                         : core::Json::array({input_shape.c, input_shape.h, input_shape.w});
  // The graph's name, unless it is an exporter's placeholder: then the file's.
  std::string name = graph_.name();
  if (!is_plain_name(name) || name == "torch_jit" || name == "main_graph") {
    name = origin_.substr(origin_.rfind('/') == std::string::npos ? 0 : origin_.rfind('/') + 1);
    if (ends_with(name, ".onnx")) name.resize(name.size() - 5);
    if (!is_plain_name(name)) name = "imported";
  }
  core::Json doc = {{"name", name}, {"input", {{"shape", shape}}}, {"layers", layers}};
  ImportedModel result;
  try {
    result.network = models::parse_network(doc, origin_);
  } catch (const core::ConfigError& e) {
    // "/layers/<k>/...": name the node that made layer k.
    const std::string& where = e.where();
    std::string node = "";
    if (where.rfind("/layers/", 0) == 0 && where.size() > 8 && std::isdigit(where[8])) {
      const std::size_t k = std::stoul(where.substr(8));
      if (k < layers_.size()) node = layers_[k].node;
    }
    throw core::ConfigError(origin_, node, e.problem());
  }
  result.document = models::network_to_json(result.network);
  std::string producer_text = model_.producer_name();
  if (!model_.producer_version().empty()) producer_text += " " + model_.producer_version();
  result.document["description"] =
      core::utf8_lossy("imported from " + origin_ + " (ONNX opset " + std::to_string(opset_) +
                       (producer_text.empty() ? "" : ", " + producer_text) + ")");
  result.folded = folded_;

  // Weights: every parametrised layer's, or none.
  std::string with_values, without_values;
  for (const PendingLayer& p : layers_) {
    if (!p.has_params) continue;
    if (p.tensors.any_values && with_values.empty()) with_values = p.node;
    if (!p.tensors.first_placeholder.empty() && without_values.empty()) {
      without_values = p.node + " reads \"" + p.tensors.first_placeholder + "\"";
    }
  }
  if (!with_values.empty() && !without_values.empty()) {
    fail_at("", "some weights have values (" + with_values + ") and some do not (" +
                    without_values +
                    ", a graph input without an initialiser): lpsim imports "
                    "all of a model's weights or none");
  }
  if (without_values.empty()) {
    for (const PendingLayer& p : layers_) {
      if (!p.has_params) continue;
      const LayerTensors& t = p.tensors;
      result.tensors.push_back(t.weight);
      if (t.has_bias) result.tensors.push_back(t.bias);
      if (t.batch_norm) {
        result.tensors.push_back(t.running_mean);
        result.tensors.push_back(t.running_var);
      }
      for (const auto& [from, to] : t.sources) {
        if (from != to) result.renamed[core::utf8_lossy(from)] = to;
      }
    }
  }
  return result;
}

}  // namespace

ImportedModel import_onnx_bytes(const std::string& bytes, const std::string& origin) {
  onnx::ModelProto model;
  if (!model.ParseFromString(bytes)) {
    throw core::ConfigError(origin, "", "not an ONNX model (the protobuf does not parse)");
  }
  if (!model.has_graph()) throw core::ConfigError(origin, "", "the ONNX model has no graph");
  return Converter(model, origin).run();
}

ImportedModel import_onnx(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw core::ConfigError(path, "", "cannot open the ONNX model");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return import_onnx_bytes(bytes.str(), path);
}

}  // namespace lpsim::onnx_import
