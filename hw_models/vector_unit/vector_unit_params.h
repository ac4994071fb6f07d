#pragma once
// Parameters and statistics of an VectorUnit (vector_unit.h).

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <systemc>

namespace lpsim::hw {

// The vector unit beside a layer's PE that keeps a weight-version policy's tensors and does
// its element-wise work (workloads/policies/policy.h, HardwareWork): after each update
// (ema_grad, ema_weight, ema_lwp: ū ← (1−α)·ū + α·x, 2 lane-ops per element), before each
// backward (ema_grad: W̄ = W + c·ū, 1; ema_weight: W̄ = ū read as it is, 0) and before each
// forward (lwp: Ŵ = W − (lr·d)·v, 1; ema_lwp: Ŵ = W − c·ū, 1).
struct VectorUnitParams {
  std::uint64_t elements = 0;           // per operation: |W_l|, or |W_l| + |b_l| (biases too)
  std::uint64_t tensors = 1;            // tensors of `elements` it holds (0: lwp)
  std::uint64_t bytes_per_element = 0;  // of its tensors
  std::uint64_t lanes = 1;              // the unit's own vector lanes (>= 1)
  std::uint64_t update_lane_ops = 2;    // per element and update
  std::uint64_t backward_lane_ops = 1;  // per element and reconstruction (before Ba)
  std::uint64_t forward_lane_ops = 0;   // per element and prediction (before F)
  sc_core::sc_time period;              // one clock cycle (> 0)
};

// The unit's own cost model (the scheduler's task costs use it too): an operation of k
// lane-ops per element takes vector_cycles(elements, lanes, k) = ceil(elements / lanes) · k
// cycles.
std::uint64_t update_cycles(const VectorUnitParams& params);
std::uint64_t reconstruct_cycles(const VectorUnitParams& params);
std::uint64_t predict_cycles(const VectorUnitParams& params);

// Bytes count traffic to and from the tensors the unit holds: an update reads and writes
// them, a reconstruction or a prediction reads them.
struct VectorUnitStats {
  std::uint64_t updates = 0;  // completed updates
  std::uint64_t reconstructions = 0;
  std::uint64_t predictions = 0;
  std::uint64_t busy_cycles = 0;         // lanes working
  std::uint64_t caller_wait_cycles = 0;  // reconstruct()/predict() callers waiting for queued jobs
  std::uint64_t peak_bytes = 0;          // its tensors: tensors · elements · bytes_per_element
  std::uint64_t bytes_read = 0;          // (updates + reconstructions + predictions) · that
  std::uint64_t bytes_written = 0;       // updates · that
  std::uint64_t lane_ops = 0;            // element operations, by the lane-op counts above
};

nlohmann::json to_json(const VectorUnitStats& stats);

}  // namespace lpsim::hw
