#pragma once
// The math kernels of decoder-only transformers (ARCHITECTURE.md 3b): layer norm, exact GELU,
// token and position embeddings, and nanoGPT's causal self-attention between its c_attn and
// c_proj linears (those are ordinary linear layers with batch B*T, linear.h).
//
// Shapes (legend in tensor.h, plus T token positions per sample, V vocabulary size, N = B*T
// rows, heads attention heads of hs = C / heads features each): a token activation batch is
// a row-major matrix [B*T, C] whose rows are SAMPLE-MAJOR: row b*T + t is token t of sample
// b (as a contiguous torch tensor [B, T, C] viewed [B*T, C]). Token ids are a matrix [B, T]
// of exact integer values in [0, V). Layer norm and GELU act on each row alone, so they take
// any [N, C]. Outputs are resized by the kernel and must not alias inputs.

#include <cstdint>

#include "workloads/ops/tensor.h"

namespace lpsim::ops {

inline constexpr double kLayerNormEps = 1e-5;

// What the layer norm forward keeps for both backward tasks: N*C + N values (x_hat and
// rstd; the hardware counts the layer's input x [N, C], from which both follow).
template <typename T>
struct LayerNormSaved {
  Mat<T> x_hat;  // [N, C]: (x - mean) * rstd, per row
  Vec<T> rstd;   // [N]: 1 / sqrt(var + eps), var the biased variance of the row
  std::int64_t saved_elements() const { return x_hat.size() + rstd.size(); }
};

// F: x [N, C], gamma [C], beta [C] -> y [N, C] = gamma * x_hat + beta, saved; PyTorch's
// nn.LayerNorm(C) (biased variance; the mean, then the variance about it, summed in T as
// PyTorch does).
template <typename T>
void layernorm_forward(const MatIn<T>& x, const VecIn<T>& gamma, const VecIn<T>& beta, Mat<T>& y,
                       LayerNormSaved<T>& saved, double eps = kLayerNormEps);

// Ba: dy [N, C], gamma [C] (the weight version to use), saved -> dx [N, C]
//   = rstd * (g - mean(g) - x_hat * mean(g * x_hat)),  g = dy * gamma (means over the row).
template <typename T>
void layernorm_backward_input(const MatIn<T>& dy, const VecIn<T>& gamma,
                              const LayerNormSaved<T>& saved, Mat<T>& dx);

// Bw: dy [N, C], saved -> dgamma [C] = sum over rows of dy * x_hat, dbeta [C] = sum of dy
// (each column summed over the rows in order: in T within runs of 32 rows, the runs in double).
template <typename T>
void layernorm_backward_weights(const MatIn<T>& dy, const LayerNormSaved<T>& saved, Vec<T>& dgamma,
                                Vec<T>& dbeta);

// F: x [N, C] -> y [N, C] = x * Phi(x) = 0.5 * x * (1 + erf(x / sqrt(2))) (nn.GELU(), the
// exact form). Float uses Eigen's vectorised erf (a rational approximation, within a few
// ulp), double the C library's. The backward reads the forward's input x.
template <typename T>
void gelu_forward(const MatIn<T>& x, Mat<T>& y);

// B: dy [N, C], x [N, C] (the forward's input) -> dx [N, C] = dy * (Phi(x) + x * phi(x)),
// phi(x) = exp(-x^2 / 2) / sqrt(2 pi).
template <typename T>
void gelu_backward(const MatIn<T>& dy, const MatIn<T>& x, Mat<T>& dx);

// F: ids [B, T], weight [V, C] -> y [B*T, C], row b*T + t = weight row ids(b, t)
// (nn.Embedding). No input gradient exists (the ids are not differentiable).
template <typename T>
void embedding_forward(const MatIn<T>& ids, const MatIn<T>& weight, Mat<T>& y);

// Bw: ids [B, T], dy [B*T, C], vocab V -> gw [V, C]: row v = sum of the dy rows whose id is
// v, added in row order (rows never used stay 0).
template <typename T>
void embedding_backward_weights(const MatIn<T>& ids, const MatIn<T>& dy, std::int64_t vocab,
                                Mat<T>& gw);

// F: x [B*T, C], weight [T, C] -> y [B*T, C] = x + weight broadcast over the batch
// (nanoGPT's tok_emb + wpe(pos), pos = 0 .. T-1). T = weight.rows().
// Ba is the identity: dx = dy (no kernel exists; the layer passes its gradient through).
template <typename T>
void position_embedding_forward(const MatIn<T>& x, const MatIn<T>& weight, Mat<T>& y);

// Bw: dy [B*T, C], context T -> gw [T, C] = sum over b of the rows b*T + t (b in order).
template <typename T>
void position_embedding_backward_weights(const MatIn<T>& dy, std::int64_t context, Mat<T>& gw);

// Causal self-attention, nanoGPT's CausalSelfAttention between c_attn and c_proj, without
// dropout. qkv [B*T, 3C] holds q in columns [0, C), k in [C, 2C), v in [2C, 3C); head h uses
// columns [h*hs, (h+1)*hs) of each. Per sample b and head h (Q, K, V, O, dO: [T, hs]):
//   S = Q K^T / sqrt(hs),  S(i, j) = -inf for j > i (position i attends to j <= i),
//   P = softmax of each row of S,  O = P V  -> columns [h*hs, (h+1)*hs) of y.
// Backward (the adjoint of the same graph, as torch.autograd computes it):
//   dP = dO V^T,  dV = P^T dO,  dS = P o (dP - rowsum(dP o P)) / sqrt(hs),
//   dQ = dS K,  dK = dS^T Q  -> the q, k, v columns of dqkv.
// The products skip the masked half by tiles: query rows in tiles of kAttentionTile, each
// against the keys up to its last row (and the backward's dV, dK by key tiles against the
// queries from the tile's first row); the skipped entries of P and dS are exact zeros.
// The B*heads (sample, head) blocks are spread over threads; each block is computed by the
// same code on one thread, so the result does not depend on the thread count (parallel.h).
inline constexpr std::int64_t kAttentionTile = 32;

// What the attention forward keeps for the backward: P, B*heads*T*T values. The backward also
// reads q, k and v, the forward's input qkv, which the caller keeps.
template <typename T>
struct AttentionSaved {
  Mat<T> p;  // [B*heads*T, T]: row (b*heads + h)*T + i is P(i, :) of sample b, head h; 0 for j > i
  std::int64_t saved_elements() const { return p.size(); }
};

// F: qkv [B*T, 3C] (batch B, context T, heads dividing C) -> y [B*T, C], saved.
template <typename T>
void causal_attention_forward(const MatIn<T>& qkv, std::int64_t batch, std::int64_t context,
                              std::int64_t heads, Mat<T>& y, AttentionSaved<T>& saved);

// B: dy [B*T, C], qkv [B*T, 3C] (the forward's input), saved -> dqkv [B*T, 3C].
template <typename T>
void causal_attention_backward(const MatIn<T>& dy, const MatIn<T>& qkv,
                               const AttentionSaved<T>& saved, std::int64_t batch,
                               std::int64_t context, std::int64_t heads, Mat<T>& dqkv);

}  // namespace lpsim::ops
