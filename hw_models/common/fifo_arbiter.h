#pragma once
// A first-come, first-served lock for SC_THREADs sharing one resource (a memory port, the
// DRAM channel, a unit's vector lanes).
//
// Contract: acquire() blocks the calling thread until every thread that called acquire()
// before it has called release(); ties at the same simulated time go in call order.
// Holding the lock takes no time by itself; the holder spends the resource's cycles with
// wait_cycles() and then calls release(), which wakes the next caller in the same
// evaluation phase (no cycle is lost between holders). Not an sc_module: a member of one.

#include <cstdint>
#include <systemc>

namespace lpsim::hw {

class FifoArbiter {
 public:
  // Returns the simulated time the caller waited for earlier holders.
  sc_core::sc_time acquire();
  void release();

 private:
  std::uint64_t next_ticket_ = 0;
  std::uint64_t serving_ = 0;
  sc_core::sc_event released_;
};

// Releases on scope exit (also when the holder throws).
class ArbiterGuard {
 public:
  explicit ArbiterGuard(FifoArbiter& arbiter) : arbiter_(arbiter), waited_(arbiter.acquire()) {}
  ~ArbiterGuard() { arbiter_.release(); }
  ArbiterGuard(const ArbiterGuard&) = delete;
  ArbiterGuard& operator=(const ArbiterGuard&) = delete;
  const sc_core::sc_time& waited() const { return waited_; }

 private:
  FifoArbiter& arbiter_;
  sc_core::sc_time waited_;
};

}  // namespace lpsim::hw
