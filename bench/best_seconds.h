#pragma once
// The shortest of five timed calls of f, in seconds (after one untimed call when `warm_up`):
// what the two backend benchmarks report. Header-only, so gemm_backends/, which links no lpsim
// library, can use it too.

#include <algorithm>
#include <chrono>

namespace lpsim::bench {

template <typename F>
double best_seconds(const F& f, bool warm_up) {
  if (warm_up) f();
  double best = 1e30;
  for (int r = 0; r < 5; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    const std::chrono::duration<double> s = std::chrono::steady_clock::now() - t0;
    best = std::min(best, s.count());
  }
  return best;
}

}  // namespace lpsim::bench
