#pragma once
// Layer kinds as registered types (issue 30, STYLE.md "Extension points"): everything lpsim
// knows of a layer type is one implementation of LayerType in workloads/layers/<kind>.cpp,
// whose LPSIM_REGISTER_LAYER_TYPE line adds it to the registry. Nothing else names a kind:
// the network reader, the cost model, the reference engine (and through it the hardware run),
// the parameter files, the schema's enum and the fuzz dictionary all ask the registry.
//
//   name, summary       the "type" of a network file, and a line for `lpsim models --types`
//   read, write         its attributes in a network file (ObjectReader faults name the pointer)
//   inputs, infer       how many inputs it takes; its output's shape, time steps and spike-ness
//                       from its inputs' (faults: InferContext::fail, at the layer's pointer)
//   params              its parameter tensors (none for a parameter-free kind)
//   backward_reads_weights  whether its Ba reads its weights (only those layers get stash
//                       versions or EMA tensors)
//   work                its F, Ba, Bw and U as GEMMs and lane operations (cost.h)
//   saved_elements      what its backward holds beyond its input and output, per sample
//   host_saved_elements what lpsim's engine keeps for it (the simulator's memory estimate)
//   forward, backward_input, backward_weights, init
//                       its math, over float (training) and double (gradient checks): write
//                       one template of each and derive from LayerKernels (below)
//
// Tensors are [rows, features] matrices, a sample's time steps (or token positions) being
// consecutive rows (workloads/ops/tensor.h, spiking.h).

#include <cstdint>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/json_reader.h"
#include "workloads/ops/conv2d.h"
#include "workloads/ops/pool.h"
#include "workloads/ops/rng.h"
#include "workloads/ops/tensor.h"

namespace lpsim::models {

struct Layer;
struct Work;

// A dimension past this is refused as absurd before any arithmetic can overflow.
inline constexpr std::int64_t kMaxDim = 1 << 24;
// "[c, h, w]"
std::string shape_text(const ops::Shape& s);
struct UpdateCost;
enum class Task;

// What a layer reads from one of its inputs, for inference.
struct LayerInput {
  ops::Shape shape;  // per sample and time step
  std::int64_t time = 1;
  bool binary = false;  // only 0/1 spikes
  bool is_network_input = false;
  bool tokens = false;    // token ids (the network input of a token model)
  bool sequence = false;  // the rows of a sample are token positions, not time steps
  std::string name;       // as the file names it ("input" or a layer)
};

// Where a kind's inference runs: its inputs and the place of its faults.
class InferContext {
 public:
  InferContext(const std::vector<LayerInput>& inputs, std::string file, std::string pointer,
               std::int64_t declared)
      : in(inputs), declared_in(declared), file_(std::move(file)), pointer_(std::move(pointer)) {}
  const std::vector<LayerInput>& in;
  const std::int64_t declared_in;  // in_features / in_channels / num_features, 0 if absent

  // A ConfigError at the layer's `key` ("inputs", "kernel_size", ...).
  [[noreturn]] void fail(const std::string& key, const std::string& what) const;
  // The same, prefixed "shape mismatch: ".
  [[noreturn]] void mismatch(const std::string& key, const std::string& what) const;
  // a * b, refused past 2^40 elements (a layer absurdly large for any memory).
  std::int64_t checked_mul(std::int64_t a, std::int64_t b) const;
  // declared_in (when given) against the `found` width, "<found><unit>" in the message.
  void check_declared(const std::string& key, std::int64_t found, const std::string& unit) const;
  const std::string& file() const { return file_; }

 private:
  std::string file_;
  std::string pointer_;
};

// A layer's parameter tensors as the engine holds them: weight [rows, cols] and bias [bias]
// (kept at zero and never trained when !trains_bias), and batch norm's running statistics.
struct ParamLayout {
  std::vector<std::int64_t> weight_shape;  // as a parameter file and PyTorch name it
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::int64_t bias = 0;
  bool trains_bias = false;
  bool running_stats = false;  // running_mean and running_var, of `bias` elements each
  std::int64_t weight_size() const { return rows * cols; }
};

// The trainable state of one parametrised layer (reference::BasicUnitParams).
template <typename T>
struct LayerParams {
  ops::Mat<T> weight;
  ops::Vec<T> bias;
  ops::Vec<T> running_mean;
  ops::Vec<T> running_var;
};

// What a layer's forward keeps for its backward, per minibatch (checkpointed with it).
template <typename T>
struct LayerSaved {
  std::vector<ops::Mat<T>> tensors;
  ops::ArgmaxIndices indices;
  void clear() {
    tensors.clear();
    indices.resize(0, 0);
  }
};

template <typename T>
struct ForwardArgs {
  std::vector<const ops::Mat<T>*> x;  // the inputs
  ops::Mat<T>* y = nullptr;
  LayerSaved<T>* saved = nullptr;
  bool train = true;  // false: evaluation (batch norm uses its running statistics)
  // Parametrised layers: the weights this forward uses; the running statistics evaluation
  // reads, and those training updates.
  const ops::Mat<T>* weight = nullptr;
  const ops::Vec<T>* bias = nullptr;
  const ops::Vec<T>* running_mean = nullptr;
  const ops::Vec<T>* running_var = nullptr;
  ops::Vec<T>* updated_mean = nullptr;
  ops::Vec<T>* updated_var = nullptr;
  std::uint64_t stream = 0;               // seed of this layer's random draws this minibatch
  ops::Conv2dWorkspace<T>* ws = nullptr;  // scratch (null in evaluation)
};

template <typename T>
struct BackwardArgs {
  const ops::Mat<T>* dy = nullptr;
  std::vector<const ops::Mat<T>*> x;  // the inputs
  const ops::Mat<T>* y = nullptr;     // the output
  LayerSaved<T>* saved = nullptr;
  const ops::Mat<T>* weight = nullptr;  // a parametrised Ba: the weight the policy gives it
  ops::Conv2dWorkspace<T>* ws = nullptr;
  std::vector<ops::Mat<T>> dx;  // out: the gradient at each input
};

template <typename T>
struct WeightGradArgs {
  const ops::Mat<T>* dy = nullptr;
  const ops::Mat<T>* x = nullptr;
  LayerSaved<T>* saved = nullptr;
  ops::Conv2dWorkspace<T>* ws = nullptr;
  ops::Mat<T> gw;  // out: [rows, cols]
  ops::Vec<T> gb;  // out: [bias] (anything when !trains_bias: the engine zeroes it)
};

class LayerType {
 public:
  virtual ~LayerType() = default;
  const std::string& name() const { return name_; }
  const std::string& summary() const { return summary_; }

  // Network file.
  virtual void read(core::ObjectReader& /*r*/, Layer& /*layer*/,
                    std::int64_t& /*declared_in*/) const {}
  virtual void write(const Layer& /*layer*/, core::Json& /*out*/) const {}
  virtual std::size_t inputs() const { return 1; }
  // Sets layer.out_shape, out_time and out_binary (in_shape, in_time and in_binary are set).
  virtual void infer(Layer& layer, const InferContext& ctx) const = 0;
  virtual bool is_loss() const { return false; }
  // Whether it reads token ids (only such a kind may read a token input).
  virtual bool reads_tokens() const { return false; }
  // Whether its output spikes count as made here (ReLU and flatten pass spikes on).
  virtual bool counts_spikes() const { return true; }

  // Parameters.
  virtual bool has_params() const { return false; }
  virtual ParamLayout params(const Layer& layer) const;
  virtual bool backward_reads_weights() const { return has_params(); }

  // Cost and memory.
  virtual Work work(const Layer& layer, Task task, std::int64_t batch,
                    const UpdateCost& update) const = 0;
  virtual std::int64_t saved_elements(const Layer& /*layer*/) const { return 0; }
  // What lpsim's own engine keeps per sample in the layer's LayerSaved (4 bytes each), for the
  // estimate of the simulator's memory: it may keep more than the hardware must (batch norm's
  // x̂, which hardware recomputes from the input) or less (what is another layer's output).
  virtual std::int64_t host_saved_elements(const Layer& /*layer*/) const { return 0; }
  // ARCHITECTURE.md §2d: the indices of the LayerSaved tensors that are activations as stored
  // (rounded to hw.numerics.activations when the forward writes them): attention's P.
  virtual std::vector<int> saved_activations() const { return {}; }

  // Math.
  virtual void forward(const Layer& layer, ForwardArgs<float>& a) const = 0;
  virtual void forward(const Layer& layer, ForwardArgs<double>& a) const = 0;
  virtual void backward_input(const Layer& layer, BackwardArgs<float>& a) const = 0;
  virtual void backward_input(const Layer& layer, BackwardArgs<double>& a) const = 0;
  virtual void backward_weights(const Layer& layer, WeightGradArgs<float>& a) const = 0;
  virtual void backward_weights(const Layer& layer, WeightGradArgs<double>& a) const = 0;
  // PyTorch's default initialisation from `rng` (each draw rounded to T).
  virtual void init(const Layer& layer, ops::Rng& rng, LayerParams<float>& p) const = 0;
  virtual void init(const Layer& layer, ops::Rng& rng, LayerParams<double>& p) const = 0;

 private:
  friend bool register_layer_type(LayerType* type, const char* name, const char* summary);
  std::string name_;
  std::string summary_;
};

// The math's virtuals over both scalars, from one template of each in K (CRTP):
//   template <typename T> void forward_t(const Layer&, ForwardArgs<T>&) const;
//   template <typename T> void backward_input_t(const Layer&, BackwardArgs<T>&) const;
// and, for a parametrised kind,
//   template <typename T> void backward_weights_t(const Layer&, WeightGradArgs<T>&) const;
//   template <typename T> void init_t(const Layer&, ops::Rng&, LayerParams<T>&) const;
// (a parameter-free kind inherits the two that fail).
template <class K>
class LayerKernels : public LayerType {
 public:
  void forward(const Layer& l, ForwardArgs<float>& a) const override { self().forward_t(l, a); }
  void forward(const Layer& l, ForwardArgs<double>& a) const override { self().forward_t(l, a); }
  void backward_input(const Layer& l, BackwardArgs<float>& a) const override {
    self().backward_input_t(l, a);
  }
  void backward_input(const Layer& l, BackwardArgs<double>& a) const override {
    self().backward_input_t(l, a);
  }
  void backward_weights(const Layer& l, WeightGradArgs<float>& a) const override {
    self().backward_weights_t(l, a);
  }
  void backward_weights(const Layer& l, WeightGradArgs<double>& a) const override {
    self().backward_weights_t(l, a);
  }
  void init(const Layer& l, ops::Rng& rng, LayerParams<float>& p) const override {
    self().init_t(l, rng, p);
  }
  void init(const Layer& l, ops::Rng& rng, LayerParams<double>& p) const override {
    self().init_t(l, rng, p);
  }

 protected:
  template <typename T>
  void backward_weights_t(const Layer& /*l*/, WeightGradArgs<T>& /*a*/) const {
    throw core::InternalError("Bw of the parameter-free layer type " + name());
  }
  template <typename T>
  void init_t(const Layer& /*l*/, ops::Rng& /*rng*/, LayerParams<T>& /*p*/) const {
    throw core::InternalError("init of the parameter-free layer type " + name());
  }

 private:
  const K& self() const { return static_cast<const K&>(*this); }
};

// The registry. Registration happens in static initialisers (workloads/layers is linked whole).
bool register_layer_type(LayerType* type, const char* name, const char* summary);
// nullptr when no kind has that name.
const LayerType* find_layer_type(const std::string& name);
// Every kind, by name.
const std::vector<const LayerType*>& layer_types();

#define LPSIM_REGISTER_LAYER_TYPE(CLASS, NAME, SUMMARY)                                        \
  namespace {                                                                                  \
  CLASS lpsim_layer_type_instance_##CLASS{};                                                   \
  [[maybe_unused]] const bool lpsim_layer_type_registered_##CLASS =                            \
      ::lpsim::models::register_layer_type(&lpsim_layer_type_instance_##CLASS, NAME, SUMMARY); \
  }

}  // namespace lpsim::models
