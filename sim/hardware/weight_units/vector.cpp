// The vector unit (hw::VectorUnit) as a weight-version unit (weight_unit.h): under the
// EMA and prediction policies, beside every delayed layer with a Ba, and beside the others
// too when it predicts the forward's weight. It holds HardwareWork::tensors tensors of |W|
// elements (|W| + |b| when the policy covers biases); it predicts before F (lwp, ema_lwp),
// reconstructs before Ba (ema_grad, ema_weight) and updates its tensors after U, on its own
// lanes while the PE goes on.

#include "hw_models/vector_unit/vector_unit.h"
#include "sim/hardware/module_params.h"
#include "sim/hardware/weight_unit.h"

namespace lpsim::hardware {

namespace {

// Bytes of the unit's tensors (every one of them).
std::uint64_t tensor_bytes(const policies::HardwareWork& work, const WeightUnitLayer& layer) {
  return static_cast<std::uint64_t>(work.tensors) *
         (work.covers_bias ? layer.param_elements : layer.weight_elements) * layer.ema_bytes;
}

// When the layer's F, Ba and U run on one PE (`lazy`), that PE works the unit's queue out on
// its own time (hw::VectorUnit's lazy use): a prediction or reconstruction is a stall the PE
// adds to its local time, an update is booked at the PE's cycle, and no thread switches.
// Otherwise the PE syncs and waits on the unit's own thread.
class VectorUnit : public WeightUnit {
 public:
  VectorUnit(const policies::HardwareWork& work, const WeightUnitLayer& layer,
             const hw::VectorUnitParams& params, bool lazy)
      : work_(work), layer_(layer), lazy_(lazy), unit_(("ema_" + layer.name).c_str(), params) {}

  const sc_core::sc_module& module() const override { return unit_; }

  void at_forward(WeightUnitHost& host, hw::ProcessingElement& pe, std::int64_t m) override {
    // A prediction streams W (and v or ū) through the lanes, after every update queued
    // before it (U(m-1-d)).
    if (work_.forward_lane_ops == 0) return;
    if (lazy_) {
      wait_lazily(host, pe, m, "predict", &hw::VectorUnit::predict_at);
    } else {
      host.stall_on(pe, m, layer_.unit, unit_, "predict", "ema", [this] { unit_.predict(); });
    }
  }

  void at_backward(WeightUnitHost& host, hw::ProcessingElement& pe, std::int64_t m) override {
    if (!work_.backward_reads_tensor) return;
    if (lazy_) {
      wait_lazily(host, pe, m, "reconstruct", &hw::VectorUnit::reconstruct_at);
    } else {
      host.stall_on(pe, m, layer_.unit, unit_, "reconstruct", "ema",
                    [this] { unit_.reconstruct(); });
    }
  }

  void at_update(WeightUnitHost&, hw::ProcessingElement& pe, std::int64_t) override {
    if (lazy_) {
      unit_.update_at(pe.now_cycles());
      return;
    }
    pe.sync();
    unit_.update();
  }

  std::uint64_t idle_at_cycle() const override { return lazy_ ? unit_.idle_at() : 0; }

  core::Json counters() const override { return hw::to_json(unit_.stats()); }

  WeightUnitActivity activity() const override {
    const hw::VectorUnitStats& s = unit_.stats();
    return {hw::MemoryKind::kEma, s.peak_bytes, s.bytes_read, s.bytes_written, s.lane_ops};
  }

 private:
  // The same wait as stall_on's, worked out on the PE's own time: it resumes when the job ends.
  void wait_lazily(WeightUnitHost& host, hw::ProcessingElement& pe, std::int64_t m,
                   const char* label, std::uint64_t (hw::VectorUnit::*job)(std::uint64_t)) {
    const std::uint64_t begin = pe.now_cycles();
    const std::uint64_t end = (unit_.*job)(begin);
    pe.stall(end - begin);
    host.trace_unit(m, layer_.unit, unit_, label, "ema", begin, end);
  }

  const policies::HardwareWork& work_;
  WeightUnitLayer layer_;
  bool lazy_;
  hw::VectorUnit unit_;
};

class Vector : public WeightUnitKind {
 public:
  bool serves(const policies::HardwareWork& work, const WeightUnitLayer& layer) const override {
    return layer.has_backward() || work.forward_lane_ops > 0;
  }
  WeightUnitCycles cycles(const policies::HardwareWork& work, const WeightUnitLayer& layer,
                          const config::HwConfig& hw) const override {
    const hw::VectorUnitParams p =
        vector_unit_params(hw, work, layer.weight_elements, layer.param_elements,
                           layer.optimizer_state_tensors, layer.ema_bytes);
    WeightUnitCycles c;
    if (work.forward_lane_ops > 0) c.forward = hw::predict_cycles(p);
    if (layer.has_backward() && work.backward_reads_tensor) c.backward = hw::reconstruct_cycles(p);
    c.after_update = hw::update_cycles(p);
    return c;
  }
  hw::MemoryKind backward_operand(const policies::HardwareWork& work) const override {
    // ema_grad: the PE streams W and the unit adds c·ū (counted as the unit's traffic);
    // ema_weight: the EMA tensor; lwp and ema_lwp: the register.
    return work.backward_reads_register ? hw::MemoryKind::kWeights : hw::MemoryKind::kEma;
  }
  void residents(const policies::HardwareWork& work, const WeightUnitLayer& layer,
                 hw::ResidentBytes& bytes) const override {
    bytes[static_cast<std::size_t>(hw::MemoryKind::kEma)] += tensor_bytes(work, layer);
  }
  std::vector<WeightUnitAccess> accesses(const policies::HardwareWork& work,
                                         const WeightUnitLayer& layer) const override {
    using dataflow::NodeKind;
    const std::uint64_t tensors = tensor_bytes(work, layer);
    // One tensor of the optimizer's state (in `master`), which a prediction reads.
    const std::uint64_t one =
        (work.covers_bias ? layer.param_elements : layer.weight_elements) * layer.master_bytes;
    std::vector<WeightUnitAccess> out;
    if (work.forward_lane_ops > 0) {      // the prediction
      if (work.forward_reads_momentum) {  // the optimizer's state: v, or m and s
        out.push_back({NodeKind::kForward, false, hw::MemoryKind::kOptimizer,
                       layer.optimizer_state_tensors * one});
      }
      out.push_back({NodeKind::kForward, false, hw::MemoryKind::kEma, tensors});
    }
    if (layer.has_backward() && work.backward_reads_tensor) {  // the reconstruction
      out.push_back({NodeKind::kBackwardActivation, false, hw::MemoryKind::kEma, tensors});
    }
    if (work.update_lane_ops > 0) {  // the update of its tensors
      out.push_back({NodeKind::kUpdate, false, hw::MemoryKind::kEma, tensors});
      out.push_back({NodeKind::kUpdate, true, hw::MemoryKind::kEma, tensors});
    }
    return out;
  }
  std::unique_ptr<WeightUnit> make(const policies::HardwareWork& work, const WeightUnitLayer& layer,
                                   const config::HwConfig& hw,
                                   const WeightUnitSite& site) const override {
    return std::make_unique<VectorUnit>(
        work, layer,
        vector_unit_params(hw, work, layer.weight_elements, layer.param_elements,
                           layer.optimizer_state_tensors, layer.ema_bytes),
        site.one_processor);
  }
};

}  // namespace

LPSIM_REGISTER_WEIGHT_UNIT(Vector, "vector",
                           "vector lanes beside the PE: an EMA tensor or a prediction of W")

}  // namespace lpsim::hardware
