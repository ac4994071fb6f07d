// The transformer kernels (workloads/ops/transformer.h) at gpt_small's sizes (batch 16,
// context 128, C 384, 6 heads; the MLP's 4C = 1536 for GELU), float, at 1 thread and at every
// core: milliseconds per call (the shortest of five after one untimed call; thread CPU time at
// 1 thread, so that a preempted thread does not count the wait, else wall time) and, for the
// attention, the GFLOP/s of the products it runs (causal tiles) and of the full T x T products it
// stands for. bench/transformer_kernels_torch.py times the same calls in PyTorch (its attention
// written as nanoGPT's), for comparison.

#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>

#include "workloads/ops/parallel.h"
#include "workloads/ops/transformer.h"

namespace {

using namespace lpsim::ops;

double now_seconds() {
  timespec ts{};
  clock_gettime(threads() == 1 ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

template <typename F>
double best_seconds(const F& f) {
  f();
  double best = 1e30;
  for (int r = 0; r < 5; ++r) {
    const double t0 = now_seconds();
    f();
    best = std::min(best, now_seconds() - t0);
  }
  return best;
}

// Multiply-adds x 2 of one (sample, head) block's products as the kernels tile them: the
// forward's S and O over query tiles; the backward's dP and dQ over query tiles, dV and dK
// over key tiles.
double attention_flops(std::int64_t context, std::int64_t hs, bool backward) {
  double flops = 0;
  for (std::int64_t i0 = 0; i0 < context; i0 += kAttentionTile) {
    const std::int64_t rows = std::min(kAttentionTile, context - i0);
    flops += 2.0 * 2.0 * static_cast<double>(rows * (i0 + rows) * hs);  // S, O / dP, dQ
    if (backward) flops += 2.0 * 2.0 * static_cast<double>(rows * (context - i0) * hs);  // dV, dK
  }
  return flops;
}

}  // namespace

int main() {
  const std::int64_t batch = 16, context = 128, c = 384, heads = 6, hs = c / heads;
  const std::int64_t n = batch * context;
  const Mat<float> qkv = Mat<float>::Random(n, 3 * c), dy = Mat<float>::Random(n, c);
  const Mat<float> x = Mat<float>::Random(n, c), xm = 3.0f * Mat<float>::Random(n, 4 * c);
  const Mat<float> dym = Mat<float>::Random(n, 4 * c);
  const Vec<float> gamma = Vec<float>::Random(c), beta = Vec<float>::Random(c);
  const double blocks = static_cast<double>(batch * heads);
  const double full_f = blocks * 4.0 * context * context * hs;  // Q K^T and P V, unmasked
  const double run_f = blocks * attention_flops(context, hs, false);
  const double run_b = blocks * attention_flops(context, hs, true);
  for (const int threads : {1, available_cores()}) {
    set_threads(threads);
    Mat<float> y, dqkv, ly, ldx, gy, gdx;
    Vec<float> dgamma, dbeta;
    AttentionSaved<float> saved;
    LayerNormSaved<float> lsaved;
    const double af =
        best_seconds([&] { causal_attention_forward(qkv, batch, context, heads, y, saved); });
    const double ab = best_seconds(
        [&] { causal_attention_backward(dy, qkv, saved, batch, context, heads, dqkv); });
    const double lf = best_seconds([&] { layernorm_forward(x, gamma, beta, ly, lsaved); });
    const double lb = best_seconds([&] {
      layernorm_backward_input(x, gamma, lsaved, ldx);
      layernorm_backward_weights(x, lsaved, dgamma, dbeta);
    });
    const double gf = best_seconds([&] { gelu_forward(xm, gy); });
    const double gb = best_seconds([&] { gelu_backward(dym, xm, gdx); });
    std::printf("%d thread(s), B %lld T %lld C %lld heads %lld\n", threads,
                static_cast<long long>(batch), static_cast<long long>(context),
                static_cast<long long>(c), static_cast<long long>(heads));
    std::printf("  attention F       %7.2f ms  %6.1f GFLOP/s run  %6.1f GFLOP/s full\n", af * 1e3,
                run_f / af * 1e-9, full_f / af * 1e-9);
    std::printf("  attention B       %7.2f ms  %6.1f GFLOP/s run  %6.1f GFLOP/s full\n", ab * 1e3,
                run_b / ab * 1e-9, 2.0 * full_f / ab * 1e-9);
    std::printf("  attention F+B     %7.2f ms\n", (af + ab) * 1e3);
    std::printf("  layernorm F       %7.2f ms  [%lld, %lld]\n", lf * 1e3, static_cast<long long>(n),
                static_cast<long long>(c));
    std::printf("  layernorm Ba+Bw   %7.2f ms\n", lb * 1e3);
    std::printf("  gelu F            %7.2f ms  [%lld, %lld]\n", gf * 1e3, static_cast<long long>(n),
                static_cast<long long>(4 * c));
    std::printf("  gelu B            %7.2f ms\n", gb * 1e3);
  }
}
