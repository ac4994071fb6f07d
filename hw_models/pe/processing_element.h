#pragma once
// ProcessingElement: one processor of the pipeline (a systolic array plus a vector unit)
// executing a static program supplied by the builder.
//
// Contract: the PE runs one task at a time. compute(cycles) spends the task's cycles (the
// builder derives them from gemm_timing/vector_cycles and the SRAM stretch); time is kept
// lazily: cycles accumulate locally and the PE's thread only calls wait() when it must
// meet other modules, at sync() (before any interaction with another module: a link, a
// buffer another PE fills, a stash or EMA unit) and at block_until(). This is exact, not an
// approximation: nothing outside the PE can observe its time between two interactions.
// block_until() syncs, then waits on `event` until `ready()` holds, counting stall cycles.
// `ready` is any callable returning bool (a template: no std::function is built per call).
// The program is a callable run in the PE's SC_THREAD; it receives the PE itself.

#include <cstdint>
#include <functional>
#include <systemc>

#include "hw_models/pe/processing_element_params.h"

namespace lpsim::hw {

class ProcessingElement : public sc_core::sc_module {
 public:
  using ProgramFn = std::function<void(ProcessingElement&)>;
  // Stack of the PE's SystemC thread, which runs the program (and its training math).
  static constexpr std::size_t kThreadStackBytes = std::size_t{16} << 20;

  ProcessingElement(const sc_core::sc_module_name& name, const ProcessingElementParams& params);

  void set_program(ProgramFn program) { program_ = std::move(program); }

  // Spends `cycles` of computation (one task) doing `work` (counted, for energy).
  void compute(std::uint64_t cycles, const ProcessingElementWork& work = {});
  // Brings simulated time up to the PE's local time.
  void sync();
  // Blocks until ready() (re-checked whenever `event` fires); the wait counts as stall.
  template <class Ready>
  void block_until(const Ready& ready, const sc_core::sc_event& event) {
    if (ready()) return;
    sync();
    const sc_core::sc_time start = sc_core::sc_time_stamp();
    while (!ready()) sc_core::wait(event);
    add_stall_since(start);
  }
  // Counts time spent blocked inside another unit (the caller measured it).
  void add_stall(std::uint64_t cycles) { stats_.stall_cycles += cycles; }
  // Spends `cycles` blocked on a unit that works out lazily when it is done (an
  // VectorUnit used with reconstruct_at): stall, kept as local time like compute's.
  void stall(std::uint64_t cycles) {
    pending_cycles_ += cycles;
    stats_.stall_cycles += cycles;
  }
  // Counts DRAM traffic of its tasks, and time blocked waiting for DRAM reads (a stall).
  void add_dram_traffic(std::uint64_t read_bytes, std::uint64_t write_bytes) {
    stats_.dram_read_bytes += read_bytes;
    stats_.dram_write_bytes += write_bytes;
  }
  void add_dram_stall(std::uint64_t cycles) {
    stats_.stall_cycles += cycles;
    stats_.dram_stall_cycles += cycles;
  }
  // The PE's local time in cycles (simulated time plus unsynchronised work).
  std::uint64_t now_cycles() const;

  const ProcessingElementParams& params() const { return params_; }
  const ProcessingElementStats& stats() const { return stats_; }

 private:
  void run();
  // Counts the cycles since `start` as stall (block_until).
  void add_stall_since(const sc_core::sc_time& start);

  const ProcessingElementParams params_;
  ProcessingElementStats stats_;
  ProgramFn program_;
  std::uint64_t pending_cycles_ = 0;
};

}  // namespace lpsim::hw
