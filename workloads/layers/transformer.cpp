// The kinds of decoder-only transformers (ARCHITECTURE.md §3b; kernels in
// workloads/ops/transformer.h). A sample's T token positions are T consecutive rows
// (Layer::in_sequence): a per-token linear is one GEMM over B·T rows.
#include "workloads/ops/transformer.h"

#include "workloads/layers/geometry.h"
#include "workloads/models/cost.h"
#include "workloads/models/network.h"

namespace lpsim::models {
namespace {

template <typename T>
Eigen::Map<const ops::Vec<T>> as_vector(const ops::Mat<T>& m) {
  return Eigen::Map<const ops::Vec<T>>(m.data(), m.size());
}

// The update's lane operations, for every parametrised kind here.
Work update_work(const Layer& l, Task task, const UpdateCost& u) {
  Work w;
  if (task == Task::kUpdate) w.vector_ops = u.lane_ops * l.num_params();
  return w;
}

// What both embedding tables share: a weight [rows, C] (`rows_key` rows: the vocabulary or the
// context) drawn from N(0, init_std²) (1 by default, as nn.Embedding), no bias, a Ba that reads
// no weights, and one lane operation per output element in F (a gather or an add) and in Bw
// (a scatter-add or a sum over the batch).
template <class K>
class Table : public LayerKernels<K> {
 public:
  explicit Table(const char* rows_key) : rows_key_(rows_key) {}
  void read(core::ObjectReader& r, Layer& l, std::int64_t& /*declared_in*/) const override {
    l.attributes[rows_key_] = r.integer(rows_key_, 1, kMaxDim);
    l.attributes["embedding_dim"] = r.integer("embedding_dim", 1, kMaxDim);
    l.init_std = r.number("init_std", 1.0, 1e-12, 1e6);
  }
  void write(const Layer& l, core::Json& out) const override {
    out[rows_key_] = l.attribute(rows_key_);
    out["embedding_dim"] = l.attribute("embedding_dim");
    out["init_std"] = l.init_std;
  }
  bool has_params() const override { return true; }
  bool backward_reads_weights() const override { return false; }
  ParamLayout params(const Layer& l) const override {
    const std::int64_t rows = l.attribute(rows_key_), c = l.attribute("embedding_dim");
    return {{rows, c}, rows, c, 0, false, false};
  }
  Work work(const Layer& l, Task task, std::int64_t batch, const UpdateCost& u) const override {
    Work w = update_work(l, task, u);
    if (task == Task::kForward || task == Task::kBackwardWeight) {
      w.vector_ops = batch * l.out_elements();
    }
    return w;
  }
  template <typename T>
  void init_t(const Layer& l, ops::Rng& rng, LayerParams<T>& p) const {
    init_normal(rng, l.init_std, l.attribute(rows_key_), l.attribute("embedding_dim"), p.weight);
    p.bias.resize(0);
  }

 private:
  const char* rows_key_;
};

// embedding: token ids [B, T] -> [B*T, C]; weight [V, C] (nn.Embedding).
class Embedding : public Table<Embedding> {
 public:
  Embedding() : Table("num_embeddings") {}
  bool reads_tokens() const override { return true; }
  void infer(Layer& l, const InferContext& ctx) const override {
    if (!ctx.in[0].tokens) {
      ctx.fail("inputs",
               "embedding reads token ids: \"input\" of a network whose input is "
               "{\"shape\": [T], \"dtype\": \"int64\"}, found \"" +
                   ctx.in[0].name + "\"");
    }
    l.out_shape = {l.attribute("embedding_dim"), 1, 1};
    l.out_time = ctx.in[0].shape.c;  // T positions
    l.out_sequence = true;
    ctx.checked_mul(l.attribute("num_embeddings"), l.attribute("embedding_dim"));
  }
  template <typename T>
  void forward_t(const Layer& /*l*/, ForwardArgs<T>& a) const {
    ops::embedding_forward<T>(*a.x[0], *a.weight, *a.y);
  }
  template <typename T>
  void backward_input_t(const Layer& /*l*/, BackwardArgs<T>& /*a*/) const {
    throw core::InternalError("an embedding has no input gradient");
  }
  template <typename T>
  void backward_weights_t(const Layer& l, WeightGradArgs<T>& a) const {
    ops::embedding_backward_weights<T>(*a.x, *a.dy, l.attribute("num_embeddings"), a.gw);
    a.gb.resize(0);
  }
};

// position_embedding: x + weight [T, C] broadcast over the batch (nanoGPT's wpe, added).
class PositionEmbedding : public Table<PositionEmbedding> {
 public:
  PositionEmbedding() : Table("context") {}
  void infer(Layer& l, const InferContext& ctx) const override {
    const LayerInput& x = ctx.in[0];
    if (!x.sequence) {
      ctx.fail("inputs",
               "position_embedding needs a token sequence (an embedding's output), "
               "found \"" +
                   x.name + "\"");
    }
    if (x.time != l.attribute("context")) {
      ctx.mismatch("context", "declared " + std::to_string(l.attribute("context")) +
                                  " positions but \"" + x.name + "\" gives " +
                                  std::to_string(x.time));
    }
    if (x.shape != ops::Shape{l.attribute("embedding_dim"), 1, 1}) {
      ctx.mismatch("embedding_dim", "declared " + std::to_string(l.attribute("embedding_dim")) +
                                        " but \"" + x.name + "\" gives " + shape_text(x.shape));
    }
    l.out_shape = x.shape;
  }
  template <typename T>
  void forward_t(const Layer& /*l*/, ForwardArgs<T>& a) const {
    ops::position_embedding_forward<T>(*a.x[0], *a.weight, *a.y);
  }
  // Ba passes its gradient on.
  template <typename T>
  void backward_input_t(const Layer& /*l*/, BackwardArgs<T>& a) const {
    a.dx.assign(1, *a.dy);
  }
  template <typename T>
  void backward_weights_t(const Layer& l, WeightGradArgs<T>& a) const {
    ops::position_embedding_backward_weights<T>(*a.dy, l.attribute("context"), a.gw);
    a.gb.resize(0);
  }
};

// layernorm: over the last dimension, eps 1e-5; weight (gamma) [C] held as [1, C], bias [C].
class LayerNorm : public LayerKernels<LayerNorm> {
 public:
  void infer(Layer& l, const InferContext& ctx) const override {
    const ops::Shape x = ctx.in[0].shape;
    if (x.h != 1 || x.w != 1) {
      ctx.mismatch("inputs", "layernorm expects a flat input per position, found " + shape_text(x) +
                                 " from \"" + ctx.in[0].name + "\"");
    }
    l.out_shape = x;
  }
  // x̂ and one inverse deviation per position.
  std::int64_t host_saved_elements(const Layer& l) const override {
    return l.in_elements() + l.in_time;
  }
  bool has_params() const override { return true; }
  ParamLayout params(const Layer& l) const override {
    const std::int64_t c = l.in_shape.c;
    return {{c}, 1, c, c, true, false};
  }
  // As batch norm: F mean, variance, normalise, scale and shift; Ba 3, Bw 2 per element.
  Work work(const Layer& l, Task task, std::int64_t batch, const UpdateCost& u) const override {
    Work w = update_work(l, task, u);
    const std::int64_t out = batch * l.out_elements();
    if (task == Task::kForward) w.vector_ops = 4 * out;
    if (task == Task::kBackwardActivation) w.vector_ops = 3 * out;
    if (task == Task::kBackwardWeight) w.vector_ops = 2 * out;
    return w;
  }
  template <typename T>
  void forward_t(const Layer& /*l*/, ForwardArgs<T>& a) const {
    ops::LayerNormSaved<T> s;
    ops::layernorm_forward<T>(*a.x[0], as_vector(*a.weight), *a.bias, *a.y, s);
    a.saved->tensors.resize(2);
    a.saved->tensors[0] = std::move(s.x_hat);
    a.saved->tensors[1] = Eigen::Map<const ops::Mat<T>>(s.rstd.data(), 1, s.rstd.size());
  }
  template <typename T>
  void backward_input_t(const Layer& /*l*/, BackwardArgs<T>& a) const {
    a.dx.resize(1);
    ops::LayerNormSaved<T> s = take(*a.saved);
    ops::layernorm_backward_input<T>(*a.dy, as_vector(*a.weight), s, a.dx[0]);
    a.saved->tensors[0] = std::move(s.x_hat);
  }
  template <typename T>
  void backward_weights_t(const Layer& /*l*/, WeightGradArgs<T>& a) const {
    ops::LayerNormSaved<T> s = take(*a.saved);
    ops::Vec<T> dgamma;
    ops::layernorm_backward_weights<T>(*a.dy, s, dgamma, a.gb);
    a.saved->tensors[0] = std::move(s.x_hat);
    a.gw = Eigen::Map<const ops::Mat<T>>(dgamma.data(), 1, dgamma.size());
  }
  template <typename T>
  void init_t(const Layer& l, ops::Rng& /*rng*/, LayerParams<T>& p) const {
    p.weight.setOnes(1, l.in_shape.c);
    p.bias.setZero(l.in_shape.c);
  }

 private:
  template <typename T>
  static ops::LayerNormSaved<T> take(LayerSaved<T>& saved) {
    LPSIM_ASSERT(saved.tensors.size() == 2, "layer norm's saved tensors");
    ops::LayerNormSaved<T> s;
    s.x_hat = std::move(saved.tensors[0]);
    s.rstd = as_vector(saved.tensors[1]);
    return s;
  }
};

// causal_self_attention: [B*T, 3C] (q, k, v) -> [B*T, C], `heads` heads (nanoGPT).
class CausalSelfAttention : public LayerKernels<CausalSelfAttention> {
 public:
  void read(core::ObjectReader& r, Layer& l, std::int64_t& /*declared_in*/) const override {
    l.attributes["heads"] = r.integer("heads", 1, kMaxDim);
  }
  void write(const Layer& l, core::Json& out) const override {
    out["heads"] = l.attribute("heads");
  }
  void infer(Layer& l, const InferContext& ctx) const override {
    const LayerInput& x = ctx.in[0];
    if (!x.sequence) {
      ctx.fail("inputs", "causal_self_attention needs a token sequence, found \"" + x.name + "\"");
    }
    if (x.shape.h != 1 || x.shape.w != 1 || x.shape.c % 3 != 0) {
      ctx.mismatch("inputs",
                   "causal_self_attention expects [T, 3C] (q, k and v side by side), "
                   "found a width of " +
                       shape_text(x.shape) + " from \"" + x.name + "\", not divisible by 3");
    }
    const std::int64_t c = x.shape.c / 3, heads = l.attribute("heads");
    if (c % heads != 0) {
      ctx.fail("heads", "found " + std::to_string(heads) +
                            " heads, which do not divide the width " + std::to_string(c));
    }
    l.out_shape = {c, 1, 1};
    ctx.checked_mul(ctx.checked_mul(heads, x.time), x.time);
  }
  // P, B·heads·T² values, and q, k, v (its input, which no unit holds for its Bw).
  std::int64_t saved_elements(const Layer& l) const override {
    return l.attribute("heads") * l.in_time * l.in_time + l.in_elements();
  }
  // P (q, k and v are c_attn's output, which the engine keeps as such).
  std::int64_t host_saved_elements(const Layer& l) const override {
    return l.attribute("heads") * l.in_time * l.in_time;
  }
  // §2d: P as stored for the backward is an activation (O = P·V is computed before storing).
  std::vector<int> saved_activations() const override { return {0}; }
  // Per sample and head: F S = Q·Kᵀ [T x hs]·[hs x T] and O = P·V [T x T]·[T x hs]; Ba
  // dP = dO·Vᵀ, dV = Pᵀ·dO, dQ = dS·K, dK = dSᵀ·Q; both operands streamed, the whole T x T
  // with the mask applied. Softmax (scale, mask, max, exp, sum, divide: 6 per score) and its
  // adjoint (dS = P∘(dP − rowsum(dP∘P)): 4 per score) on the vector unit.
  Work work(const Layer& l, Task task, std::int64_t batch, const UpdateCost& /*u*/) const override {
    Work w;
    const std::int64_t t = l.in_time, heads = l.attribute("heads");
    const std::int64_t hs = l.out_shape.c / heads, blocks = batch * heads;
    if (task == Task::kForward) {
      for (std::int64_t i = 0; i < blocks; ++i) {
        w.gemms.push_back({t, t, hs, false, false, true});
        w.gemms.push_back({t, hs, t, false, false, true});
      }
      w.vector_ops = 6 * blocks * t * t;
    }
    if (task == Task::kBackwardActivation) {
      for (std::int64_t i = 0; i < blocks; ++i) {
        w.gemms.push_back({t, t, hs, false, false, true});
        w.gemms.push_back({t, hs, t, false, false, true});
        w.gemms.push_back({t, hs, t, false, false, true});
        w.gemms.push_back({t, hs, t, false, false, true});
      }
      w.vector_ops = 4 * blocks * t * t;
    }
    return w;
  }
  template <typename T>
  void forward_t(const Layer& l, ForwardArgs<T>& a) const {
    ops::AttentionSaved<T> s;
    ops::causal_attention_forward<T>(*a.x[0], a.x[0]->rows() / l.in_time, l.in_time,
                                     l.attribute("heads"), *a.y, s);
    a.saved->tensors.resize(1);
    a.saved->tensors[0] = std::move(s.p);
  }
  template <typename T>
  void backward_input_t(const Layer& l, BackwardArgs<T>& a) const {
    a.dx.resize(1);
    ops::AttentionSaved<T> s;
    s.p = std::move(a.saved->tensors.at(0));
    ops::causal_attention_backward<T>(*a.dy, *a.x[0], s, a.x[0]->rows() / l.in_time, l.in_time,
                                      l.attribute("heads"), a.dx[0]);
  }
};

// gelu: exact (erf) GELU, element-wise.
class Gelu : public LayerKernels<Gelu> {
 public:
  void infer(Layer& l, const InferContext& ctx) const override { l.out_shape = ctx.in[0].shape; }
  // Its input, which its backward reads.
  std::int64_t saved_elements(const Layer& l) const override { return l.in_elements(); }
  // erf by a rational approximation (about 8 operations per element) and the product; the
  // backward Φ(x) + x·φ(x) (an erf and an exp) and the product with dy.
  Work work(const Layer& l, Task task, std::int64_t batch, const UpdateCost& /*u*/) const override {
    return elementwise_work(task, 10 * batch * l.in_elements(), 14 * batch * l.in_elements());
  }
  template <typename T>
  void forward_t(const Layer& /*l*/, ForwardArgs<T>& a) const {
    ops::gelu_forward<T>(*a.x[0], *a.y);
  }
  template <typename T>
  void backward_input_t(const Layer& /*l*/, BackwardArgs<T>& a) const {
    a.dx.resize(1);
    ops::gelu_backward<T>(*a.dy, *a.x[0], a.dx[0]);
  }
};

}  // namespace

LPSIM_REGISTER_LAYER_TYPE(Embedding, "embedding", "token ids [T] -> [T, C] (nn.Embedding)")
LPSIM_REGISTER_LAYER_TYPE(PositionEmbedding, "position_embedding",
                          "x + a learned [T, C] table (GPT's wpe)")
LPSIM_REGISTER_LAYER_TYPE(LayerNorm, "layernorm", "over the last dimension, eps 1e-5")
LPSIM_REGISTER_LAYER_TYPE(CausalSelfAttention, "causal_self_attention",
                          "[T, 3C] q, k, v -> [T, C], masked softmax per head (nanoGPT)")
LPSIM_REGISTER_LAYER_TYPE(Gelu, "gelu", "exact (erf) GELU")

}  // namespace lpsim::models
