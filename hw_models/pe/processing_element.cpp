#include "hw_models/pe/processing_element.h"

#include "hw_models/common/clock.h"

namespace lpsim::hw {

ProcessingElement::ProcessingElement(const sc_core::sc_module_name& name,
                                     const ProcessingElementParams& params)
    : sc_core::sc_module(name), params_(params) {
  require_period(params_.period, this->name());
  SC_HAS_PROCESS(ProcessingElement);
  SC_THREAD(run);
  // The program runs the training math inside this thread: Eigen puts GEMM packing buffers
  // of up to 128 KiB on the stack (EIGEN_STACK_ALLOCATION_LIMIT), which overflows SystemC's
  // default coroutine stack (a segfault in gemm_pack_rhs for snn3's 256-row products).
  // Pages are committed only when touched, so a thread-sized stack costs little.
  set_stack_size(kThreadStackBytes);
}

void ProcessingElement::run() {
  if (program_) program_(*this);
  sync();
}

void ProcessingElement::compute(std::uint64_t cycles, const ProcessingElementWork& work) {
  pending_cycles_ += cycles;
  stats_.busy_cycles += cycles;
  ++stats_.tasks;
  stats_.work.macs += work.macs;
  stats_.work.accumulates += work.accumulates;
  stats_.work.vector_ops += work.vector_ops;
  stats_.work.sram_read_bytes += work.sram_read_bytes;
  stats_.work.sram_write_bytes += work.sram_write_bytes;
  stats_.last_busy_cycle = now_cycles();
}

void ProcessingElement::sync() {
  if (pending_cycles_ == 0) return;
  const std::uint64_t c = pending_cycles_;
  pending_cycles_ = 0;
  wait_cycles(c, params_.period);
}

void ProcessingElement::block_until(const std::function<bool()>& ready,
                                    const sc_core::sc_event& event) {
  if (ready()) return;
  sync();
  const sc_core::sc_time start = sc_core::sc_time_stamp();
  while (!ready()) sc_core::wait(event);
  stats_.stall_cycles += cycles_since(start, params_.period);
}

std::uint64_t ProcessingElement::now_cycles() const {
  return time_to_cycles(sc_core::sc_time_stamp(), params_.period) + pending_cycles_;
}

}  // namespace lpsim::hw
