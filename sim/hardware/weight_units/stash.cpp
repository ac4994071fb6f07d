// The weight-stash unit (hw::WeightStashUnit) as a weight-version unit (weight_unit.h): under
// `stash`, on every delayed layer with a Ba. U copies the version it overwrites into the
// stash first (the copy is U's wait); Ba reads its version in place as the product's operand
// (no extra cycles) and frees it.

#include <string>

#include "hw_models/common/clock.h"
#include "hw_models/stash_unit/stash_unit.h"
#include "sim/hardware/module_params.h"
#include "sim/hardware/weight_unit.h"

namespace lpsim::hardware {

namespace {

std::uint64_t version_bytes(const WeightUnitLayer& layer) {
  return layer.weight_elements * layer.stash_bytes;
}

class StashUnit : public WeightUnit {
 public:
  StashUnit(const WeightUnitLayer& layer, const hw::WeightStashUnitParams& params)
      : layer_(layer), stash_(("stash_" + layer.name).c_str(), params) {}

  const sc_core::sc_module& module() const override { return stash_; }

  // Exactly one of Ba(m) and the U that stashes W^(m) frees it, whichever comes second. Both
  // decide on this unit's own counts, each set in the same step as its check (a SystemC
  // process runs uninterrupted between waits): the host's started/done counts move at other
  // points of a task, and a Ba that waited for DRAM between its check and its start left a
  // version nobody freed (ResNet-18 on 14 scheduled processors: "release(3) but the oldest
  // stored version is 2").
  void at_backward(WeightUnitHost& host, hw::ProcessingElement& pe, std::int64_t m) override {
    (void)host;
    (void)pe;
    // W^(m) went to the stash when U(m - d) overwrote it (versions 0..d are all W^(0),
    // stashed once as version d and freed by Ba(d)); before that it is still the register.
    const std::int64_t d = layer_.delay;
    backward_from_ = m + 1;
    if (m >= d && stored_ >= m - d + 1) stash_.release(m);
  }

  void at_update(WeightUnitHost& host, hw::ProcessingElement& pe, std::int64_t m) override {
    // U(m) overwrites W^(m+d): copied to the stash first. When Ba(m+d) has already run from
    // the register, nobody needs it: freed at once.
    const std::int64_t version = m + layer_.delay;
    host.stall_on(pe, m, layer_.unit, stash_, "store W^(" + std::to_string(version) + ")", "stash",
                  [&] { stash_.store(version); });
    stored_ = m + 1;
    if (backward_from_ > version) stash_.release(version);
  }

  core::Json counters() const override { return hw::to_json(stash_.stats()); }

  WeightUnitActivity activity() const override {
    const hw::WeightStashUnitStats& s = stash_.stats();
    return {hw::MemoryKind::kStash, s.peak_bytes, s.bytes_read, s.bytes_written, 0};
  }

 private:
  WeightUnitLayer layer_;
  hw::WeightStashUnit stash_;
  std::int64_t backward_from_ = 0;  // Ba(m) (or the stage's rerun) has taken W^(m), m < this
  std::int64_t stored_ = 0;         // U(m) has stashed W^(m + d), m < this
};

class Stash : public WeightUnitKind {
 public:
  bool serves(const policies::HardwareWork&, const WeightUnitLayer& layer) const override {
    return layer.has_backward();
  }
  WeightUnitCycles cycles(const policies::HardwareWork&, const WeightUnitLayer& layer,
                          const config::HwConfig& hw) const override {
    WeightUnitCycles c;
    c.update = hw::transfer_cycles(stash_params(hw, 1, layer.weight_elements, layer.stash_bytes));
    return c;
  }
  hw::MemoryKind backward_operand(const policies::HardwareWork&) const override {
    return hw::MemoryKind::kStash;
  }
  void residents(const policies::HardwareWork&, const WeightUnitLayer& layer,
                 hw::ResidentBytes& bytes) const override {
    bytes[static_cast<std::size_t>(hw::MemoryKind::kStash)] +=
        static_cast<std::uint64_t>(layer.delay) * version_bytes(layer);
  }
  std::vector<WeightUnitAccess> accesses(const policies::HardwareWork&,
                                         const WeightUnitLayer& layer) const override {
    return {{dataflow::NodeKind::kBackwardActivation, false, hw::MemoryKind::kStash,
             version_bytes(layer)},
            {dataflow::NodeKind::kUpdate, true, hw::MemoryKind::kStash, version_bytes(layer)}};
  }
  std::unique_ptr<WeightUnit> make(const policies::HardwareWork&, const WeightUnitLayer& layer,
                                   const config::HwConfig& hw,
                                   const WeightUnitSite& site) const override {
    // d versions, plus those of the iterations a schedule runs Ba later than U, and one.
    const std::int64_t versions = layer.delay + (site.backward_lag > 0 ? site.backward_lag + 1 : 0);
    return std::make_unique<StashUnit>(
        layer, stash_params(hw, static_cast<std::uint64_t>(versions), layer.weight_elements,
                            layer.stash_bytes));
  }
};

}  // namespace

LPSIM_REGISTER_WEIGHT_UNIT(Stash, "stash",
                           "a ring of the d weight versions in flight, read in place by Ba")

}  // namespace lpsim::hardware
