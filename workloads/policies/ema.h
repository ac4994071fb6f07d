#pragma once
// The EMA of applied updates that ema_grad (backward) and ema_lwp (forward) share
// (ARCHITECTURE.md sections 2 and 2b): ū ← (1−α)·ū + α·(W^(k) − W^(k+1)) after each update,
// α = 2/(d+1), and the bias-corrected step estimate c·ū / (1 − (1−α)^t), t the updates
// applied, c = min(d, t).

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace lpsim::policies {

inline double ema_alpha(std::int64_t d) { return 2.0 / static_cast<double>(d + 1); }

// c / (1 − (1−α)^t) for t >= 1 updates applied.
inline double ema_step_scale(std::int64_t d, std::int64_t t) {
  const double alpha = ema_alpha(d);
  const double c = static_cast<double>(std::min<std::int64_t>(d, t));
  return c / (1.0 - std::pow(1.0 - alpha, static_cast<double>(t)));
}

// ū ← (1−α)·ū + α·(before − after), in T.
template <typename M>
void ema_of_update(std::int64_t d, const M& before, const M& after, M& ema) {
  using T = typename M::Scalar;
  const T alpha = static_cast<T>(ema_alpha(d));
  ema = (T(1) - alpha) * ema + alpha * (before - after);
}

}  // namespace lpsim::policies
