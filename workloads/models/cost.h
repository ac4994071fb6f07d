#pragma once
// The work of each layer's hardware tasks, as GEMMs and element-wise operations.
//
// A hardware cost model (hw_models/pe) turns this into cycles. Convolutions lower to GEMMs
// [M x K]·[K x N] exactly as workloads/ops computes them (im2col over the whole batch):
//   F : M = B·Ho·Wo, K = C·kh·kw, N = O
//   Ba: M = B·Ho·Wo, K = O,       N = C·kh·kw   (then col2im, element-wise)
//   Bw: M = O,       K = B·Ho·Wo, N = C·kh·kw
// and a linear layer is the 1x1 case with Ho = Wo = 1. Element-wise counts are lane
// operations (one element through one vector lane).
//
// Spiking layers (time steps T > 1, issue 8): F and Ba become T GEMMs, one per time step
// (M = B·Ho·Wo each, as SpikePipe maps them on a systolic array); Bw's T per-step products
// all accumulate into dW, so they stream through the array as one GEMM with K = T·B·Ho·Wo. A GEMM
// whose streamed operand is a spike tensor (0/1: F and Bw of a layer fed by LIF neurons or Poisson
// coding) does accumulates, not MACs (`binary`); the array takes the same cycles either way, the
// counts are reported apart. The LIF recursion and its adjoint are vector work.

#include <cstdint>
#include <vector>

#include "workloads/models/network.h"

namespace lpsim::models {

struct Gemm {
  std::int64_t m = 0;
  std::int64_t n = 0;
  std::int64_t k = 0;
  bool a_binary = false;  // A [m x k] holds only 0/1 spikes
  bool b_binary = false;  // B [k x n] holds only 0/1 spikes
  // Both operands are activations (an attention's products): B is not the layer's weights.
  bool streamed = false;
  std::int64_t macs() const { return m * n * k; }
  // A spike operand turns every MAC into an accumulate.
  bool binary() const { return a_binary || b_binary; }
};

struct Work {
  std::vector<Gemm> gemms;
  std::int64_t vector_ops = 0;

  // Every multiply-accumulate slot of the GEMMs (MACs and accumulates).
  std::int64_t macs() const;
  // The part of macs() on binary operands.
  std::int64_t accumulates() const;
  Work& operator+=(const Work& other);
};

// The four hardware tasks of a layer (LayerPipe's F, Ba, Bw, U).
enum class Task { kForward, kBackwardActivation, kBackwardWeight, kUpdate };

// The optimizer as the cost model sees it (reference::update_cost counts both from the rule;
// the defaults are SGD's).
struct UpdateCost {
  std::int64_t lane_ops = 2;       // U's lane operations per parameter and update
  std::int64_t state_tensors = 1;  // optimizer state: tensors of |W| + |b| elements
};

// Work of one task of one layer for a minibatch of `batch` samples. Layers without
// parameters have only F and Ba work (Ba is their backward); the loss has F and Ba. U's work
// is update.lane_ops per parameter.
Work layer_work(const Layer& layer, Task task, std::int64_t batch,
                const UpdateCost& update = UpdateCost{});

// The work of a layer lowered to GEMMs [B·Ho·Wo x patch]·[patch x O] (linear, conv2d; the
// header's comment), its bias and col2im as lane operations.
Work gemm_layer_work(const Layer& layer, Task task, std::int64_t batch, const UpdateCost& update,
                     std::int64_t patch, bool col2im);
// A parameter-free layer's work: lane operations in F and in Ba.
Work elementwise_work(Task task, std::int64_t forward_ops, std::int64_t backward_ops);

// Bytes of `elements` activation elements as they cross a link or wait in a buffer: one bit
// each for a spike tensor (packed), ops::Scalar otherwise.
std::int64_t tensor_bytes(std::int64_t elements, bool binary);
// The same with `element_bytes` per non-binary element (a number format's width, §2d).
std::int64_t tensor_bytes(std::int64_t elements, bool binary, int element_bytes);

}  // namespace lpsim::models
