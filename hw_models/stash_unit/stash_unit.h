#pragma once
// WeightStashUnit: the ring of older weight versions of one layer (PipeDream-style weight
// stashing). The layer's current weights live in its weight register; the stash holds the
// d_l older versions that backward passes of in-flight minibatches still need.
//
// Contract: the stash has one SRAM port of bytes_per_cycle bytes per cycle; one cycle moves
// up to bytes_per_cycle bytes of one version in or out. store(), load() and read() each hold
// the port for ceil(bytes_per_version / bytes_per_cycle) cycles and block the calling
// SC_THREAD for that long; concurrent calls are served first come, first served (the wait
// is counted as contention_cycles). A version occupies the stash from the cycle its store
// starts until the cycle its load ends (read() leaves it stored). Versions are stored in
// increasing order and read or loaded oldest first. There is no back-pressure: storing into
// a full stash, storing a version not newer than the newest stored, or reading or loading
// anything but the oldest stored version is a broken invariant of the schedule
// (lpsim::core::InternalError naming the unit and the versions).

#include <cstdint>
#include <deque>
#include <systemc>

#include "hw_models/common/fifo_arbiter.h"
#include "hw_models/stash_unit/stash_unit_params.h"

namespace lpsim::hw {

class WeightStashUnit : public sc_core::sc_module {
 public:
  WeightStashUnit(const sc_core::sc_module_name& name, const WeightStashUnitParams& params);

  // Writes `version` into the stash; blocks for the write cycles.
  void store(std::int64_t version);
  // Reads the oldest stored version, which must be `version`, and frees it; blocks for the
  // read cycles.
  void load(std::int64_t version);
  // Reads the oldest stored version, which must be `version`, without freeing it (one
  // stored tensor can serve several backward passes when no update happened in between);
  // blocks for the read cycles.
  void read(std::int64_t version);
  // Frees the oldest stored version, which must be `version`, without moving it (a
  // backward pass that reads the stashed weights as its GEMM operand, in place of the
  // weight register, or a version nobody needs any more); takes no cycles.
  void release(std::int64_t version);

  // Versions held now.
  std::uint64_t size() const { return versions_.size(); }
  // Cycles one store, load or read holds the port.
  std::uint64_t transfer_cycles() const;
  const WeightStashUnitParams& params() const { return params_; }
  const WeightStashUnitStats& stats() const { return stats_; }

 private:
  void transfer_out(std::int64_t version, bool release);

  const WeightStashUnitParams params_;
  WeightStashUnitStats stats_;
  std::deque<std::int64_t> versions_;  // oldest first
  FifoArbiter port_;
};

}  // namespace lpsim::hw
