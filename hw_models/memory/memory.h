#pragma once
// Memories: a per-PE SramBank and the shared Dram. Both account allocation (current and
// peak bytes per kind and in total, and how far the peak exceeds the capacity) and traffic.
//
// Contract: allocate() and release() take no time and never block: a memory that is too
// small is reported (over_capacity_bytes = max(0, peak − capacity)), not refused, so a run
// shows how much it would need. Releasing more bytes of a kind than are allocated, or
// naming an unknown kind, is a broken invariant (lpsim::core::InternalError).
// SramBank: one cycle moves up to bytes_per_cycle bytes between the bank and its PE.
// access_cycles(bytes) = ceil(bytes / bytes_per_cycle) does not block; the PE overlaps it with
// its compute (stretch_for_memory in pe_timing.h) and the bank counts the bytes.
// Dram: `channels` channels shared by all callers; a channel moves up to bytes_per_cycle
// bytes a cycle. reserve(bytes) does not block: at the current simulated time it takes the
// channel that frees first (first come, first served; the wait is contention_cycles), holds
// it for ceil(bytes / bytes_per_cycle) cycles (busy_cycles) and returns the cycle the last
// byte arrives: start + latency_cycles + that transfer time. Callers that reserve at the same
// simulated time are served in call order. transfer() is reserve() and a wait until then.

#include <cstdint>
#include <systemc>
#include <vector>

#include "hw_models/memory/memory_params.h"

namespace lpsim::hw {

// Allocation bookkeeping shared by the memories (not a module). `owner` names the memory in
// error messages.
class FootprintTracker {
 public:
  void allocate(std::uint64_t bytes, MemoryKind kind);
  void release(std::uint64_t bytes, MemoryKind kind, const char* owner);
  const MemoryFootprint& footprint() const { return footprint_; }
  // max(0, total peak − capacity); 0 when capacity is 0 and `zero_is_unbounded`.
  std::uint64_t over_capacity_bytes(std::uint64_t capacity, bool zero_is_unbounded) const;

 private:
  MemoryFootprint footprint_;
};

class SramBank : public sc_core::sc_module {
 public:
  SramBank(const sc_core::sc_module_name& name, const SramBankParams& params);

  void allocate(std::uint64_t bytes, MemoryKind kind);
  void allocate(std::uint64_t bytes, const char* kind);  // kind: memory_kind_name()
  void release(std::uint64_t bytes, MemoryKind kind);
  void release(std::uint64_t bytes, const char* kind);
  // ceil(bytes / bytes_per_cycle); counts the bytes; does not block.
  std::uint64_t access_cycles(std::uint64_t bytes);

  const SramBankParams& params() const { return params_; }
  const SramBankStats& stats() const { return stats_; }

 private:
  void refresh();

  const SramBankParams params_;
  SramBankStats stats_;
  FootprintTracker tracker_;
};

class Dram : public sc_core::sc_module {
 public:
  Dram(const sc_core::sc_module_name& name, const DramParams& params);

  void allocate(std::uint64_t bytes, MemoryKind kind);
  void allocate(std::uint64_t bytes, const char* kind);
  void release(std::uint64_t bytes, MemoryKind kind);
  void release(std::uint64_t bytes, const char* kind);
  enum class Direction { kRead, kWrite };
  // Books `bytes` on a channel now; returns the cycle the transfer completes.
  std::uint64_t reserve(std::uint64_t bytes, Direction direction);
  // Moves `bytes` (a read); blocks for the wait, the latency and the transfer.
  void transfer(std::uint64_t bytes);

  const DramParams& params() const { return params_; }
  const DramStats& stats() const { return stats_; }

 private:
  void refresh();

  const DramParams params_;
  DramStats stats_;
  FootprintTracker tracker_;
  std::vector<std::uint64_t> channel_free_at_;  // cycle each channel becomes free
};

}  // namespace lpsim::hw
