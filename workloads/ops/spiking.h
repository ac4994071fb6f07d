#pragma once
// Spiking-network kernels (SpikePipe, issue 8): leaky integrate-and-fire (LIF) neurons with
// surrogate gradients, the non-spiking leaky-integrator readout, the time mean, input
// encoders and a spike counter for the cost model.
//
// Shapes (legend in tensor.h, plus T time steps): a spiking activation batch is a row-major
// matrix [B*T, F] whose rows are SAMPLE-MAJOR: row b*T + t is sample b at time step t
// (0 <= t < T). A linear layer on such a batch is an ordinary linear layer with batch B*T
// (one GEMM, M = B*T), so no spiking linear kernel exists. Every (sample, feature) pair is an
// independent sequence of length T. Outputs are resized by the kernel and must not alias
// inputs.
//
// LIF forward (per sequence, t = 0 .. T-1, u[-1] = 0, s[-1] = 0):
//   u[t] = alpha * u[t-1] + I[t] - theta * s[t-1]     (leak, input, soft reset by subtraction)
//   s[t] = H(u[t] - theta),   H(x) = 1 if x > 0 else 0   (H(0) = 0: u == theta does not fire)
// u[t] is the membrane potential BEFORE the reset that s[t] triggers (the reset is applied
// one step later through the -theta * s[t-1] term). This is a first-order IIR filter
// (pole alpha) driven by I[t] - theta * s[t-1].
//
// Surrogate gradient: backward replaces H'(x) by sigma'(x), x = u[t] - theta, w = width:
//   kTriangle:  sigma'(x) = max(0, 1 - |x| / w) / w        (support (-w, w), peak 1/w)
//   kRectangle: sigma'(x) = (|x| < w / 2 ? 1 : 0) / w      (support (-w/2, w/2))
// Both integrate to 1; their integral S(x) (surrogate_step) is the smoothed step whose exact
// derivative the backward is: the backward of lif_forward is the exact adjoint of the same
// graph with H replaced by S (the tests check it against finite differences of that
// smoothed forward).
//
// Reset gradient (LifParams::detach_reset):
//   true (default, as snntorch's mem_reset): the reset term theta * s[t-1] is a constant in
//     the backward graph, so BPTT is the same IIR run backwards (the adjoint of the filter):
//       g[T] = 0,  g[t] = alpha * g[t+1] + sigma'(u[t] - theta) * dS[t],  dI[t] = g[t]
//   false (SpikingJelly's detach_reset=False): the reset path carries gradient too:
//       g[t] = sigma'(u[t] - theta) * (dS[t] - theta * g[t+1]) + alpha * g[t+1]
//     (a time-varying pole alpha - theta * sigma'(u[t] - theta)).
// where dS = dL/ds (dspikes) and g[t] = dL/du[t].

#include <cstdint>

#include "workloads/ops/rng.h"
#include "workloads/ops/tensor.h"

namespace lpsim::ops {

enum class SurrogateKind { kTriangle, kRectangle };

struct LifParams {
  double alpha = 0.9;      // leak per time step, 0 <= alpha <= 1 (1: no leak, 0: no memory)
  double threshold = 1.0;  // theta > 0: firing threshold and the soft-reset amount
  SurrogateKind surrogate = SurrogateKind::kTriangle;
  double width = 1.0;        // w > 0: surrogate window width (see the formulas above)
  bool detach_reset = true;  // the reset term carries no gradient (see above)
};

// LPSIM_ASSERT that p is legal: 0 <= alpha <= 1, threshold > 0, width > 0, all finite.
// Config readers must reject user values with a core::ConfigError before they get here.
void validate_lif_params(const LifParams& p);

// sigma'(x): the surrogate derivative of the step (formulas above).
double surrogate_derivative(SurrogateKind kind, double width, double x);

// S(x) = integral of sigma' from -inf to x: the smoothed step in [0, 1] with S' = sigma'.
//   kTriangle:  0 (x <= -w); (x + w)^2 / (2 w^2) (-w < x <= 0); 1 - (w - x)^2 / (2 w^2)
//               (0 < x < w); 1 (x >= w).
//   kRectangle: clamp(x / w + 1/2, 0, 1).
// Not used by the kernels: it defines the smooth forward that the backward differentiates.
double surrogate_step(SurrogateKind kind, double width, double x);

// What lif_backward needs from lif_forward.
template <typename T>
struct LifSaved {
  Mat<T> membrane;  // [B*T, F]: u[t] before reset (so s[t] = membrane > theta)
};

// F: current I [B*T, F] -> spikes s [B*T, F] of 0/1, saved.membrane u [B*T, F].
// current.rows() must be a multiple of time_steps >= 1.
template <typename T>
void lif_forward(const MatIn<T>& current, std::int64_t time_steps, const LifParams& p,
                 Mat<T>& spikes, LifSaved<T>& saved);

// B: dspikes dL/ds [B*T, F], saved from the forward -> dcurrent dL/dI [B*T, F]
// (backpropagation through time, reverse-time recursion above).
template <typename T>
void lif_backward(const MatIn<T>& dspikes, const LifSaved<T>& saved, std::int64_t time_steps,
                  const LifParams& p, Mat<T>& dcurrent);

// F: current I [B*T, F] -> membrane u [B*T, F] of a non-spiking leaky integrator (the output
// layer): u[t] = alpha * u[t-1] + I[t], u[-1] = 0 (no threshold, no reset). Linear, so the
// backward needs nothing saved.
template <typename T>
void leaky_integrator_forward(const MatIn<T>& current, std::int64_t time_steps, double alpha,
                              Mat<T>& membrane);

// B: dmembrane [B*T, F] -> dcurrent [B*T, F]: g[t] = alpha * g[t+1] + dmembrane[t],
// g[T] = 0, dcurrent[t] = g[t] (the same IIR run backwards in time).
template <typename T>
void leaky_integrator_backward(const MatIn<T>& dmembrane, std::int64_t time_steps, double alpha,
                               Mat<T>& dcurrent);

// F: x [B*T, F] -> y [B, F], y[b] = (1/T) * sum_t x[b*T + t] (summed in T, then scaled).
// The readout is time_mean(leaky_integrator(I)) into softmax cross-entropy.
template <typename T>
void time_mean_forward(const MatIn<T>& x, std::int64_t time_steps, Mat<T>& y);

// B: dy [B, F] -> dx [B*T, F], dx[b*T + t] = dy[b] / T.
template <typename T>
void time_mean_backward(const MatIn<T>& dy, std::int64_t time_steps, Mat<T>& dx);

// Direct encoding: x [B, F] -> y [B*T, F], y[b*T + t] = x[b] (the input as a constant current).
template <typename T>
void encode_direct(const MatIn<T>& x, std::int64_t time_steps, Mat<T>& y);

// Poisson rate coding: x [B, F] -> y [B*T, F] of 0/1 with P(y[b*T + t, f] = 1) =
// p = clamp(gain * x[b, f] + offset, 0, 1), y = (rng.uniform() < p). Exactly one uniform()
// is drawn per output entry, in row-major output order: sample b, then time step t, then
// feature f (so B*T*F draws whatever the values; p = 0 never fires, p = 1 always does).
// A NaN x gives p = NaN and y = 0.
template <typename T>
void encode_poisson(const MatIn<T>& x, std::int64_t time_steps, double gain, double offset,
                    Rng& rng, Mat<T>& y);

// Number of non-zero entries of x (spike count: accumulates instead of MACs in the cost model).
template <typename T>
std::int64_t count_nonzero(const MatIn<T>& x);

}  // namespace lpsim::ops
