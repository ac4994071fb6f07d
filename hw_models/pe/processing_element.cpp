#include "hw_models/pe/processing_element.h"

#include <numeric>

#include "core/errors.h"
#include "hw_models/common/clock.h"
#include "hw_models/pe/pe_timing.h"

namespace lpsim::hw {

std::uint64_t ProcessingElementWork::sram_read_bytes() const {
  return std::accumulate(sram_read.begin(), sram_read.end(), std::uint64_t{0});
}

std::uint64_t ProcessingElementWork::sram_write_bytes() const {
  return std::accumulate(sram_write.begin(), sram_write.end(), std::uint64_t{0});
}

ProcessingElementWork& ProcessingElementWork::operator+=(const ProcessingElementWork& other) {
  macs += other.macs;
  for (std::size_t f = 0; f < kProductFormats; ++f) macs_by_format[f] += other.macs_by_format[f];
  accumulates += other.accumulates;
  vector_ops += other.vector_ops;
  for (std::size_t k = 0; k < kMemoryKinds; ++k) {
    sram_read[k] += other.sram_read[k];
    sram_write[k] += other.sram_write[k];
  }
  return *this;
}

PeTaskCost task_cost(const ProcessingElementParams& params, const PeTask& task) {
  PeTaskCost c;
  // The GEMMs of `gemms` into c; their cycles and SRAM bytes.
  struct Sums {
    std::uint64_t cycles = 0, macs = 0, read = 0, write = 0;
  };
  auto run = [&](const std::vector<PeGemm>& gemms, MacsByFormat& by_format) {
    Sums s;
    for (const PeGemm& g : gemms) {
      if (g.shape.m == 0 || g.shape.n == 0 || g.shape.k == 0) continue;
      const GemmTiming t = gemm_timing(params.array, params.dataflow, g.shape, g.macs_per_cycle);
      s.cycles += t.cycles;
      s.macs += t.macs;
      if (g.binary) {
        c.accumulates += t.macs;
      } else {
        LPSIM_ASSERT(g.format < kProductFormats, "a GEMM's product format code out of range");
        by_format[g.format] += t.macs;
      }
      s.read += g.read_bytes;
      s.write += g.write_bytes;
    }
    c.gemm_cycles += s.cycles;
    c.macs += s.macs;
    c.sram_read_bytes += s.read;
    c.sram_write_bytes += s.write;
    return s;
  };
  const Sums own = run(task.gemms, c.macs_by_format);
  const Sums tail = run(task.tail_gemms, c.tail_macs_by_format);
  for (std::size_t f = 0; f < kProductFormats; ++f) c.macs_by_format[f] += c.tail_macs_by_format[f];
  c.tail_macs = tail.macs;
  c.tail_gemm_read_bytes = tail.read;
  c.tail_gemm_write_bytes = tail.write;
  const std::uint64_t bytes = task.bytes_per_element;
  const std::uint64_t own_vector = vector_cycles(task.vector_ops, params.vector_lanes);
  const std::uint64_t tail_vector = vector_cycles(task.tail_vector_ops, params.vector_lanes);
  const std::uint64_t own_bytes = own.read + own.write + 2 * bytes * task.vector_ops;
  c.vector_cycles = own_vector + tail_vector;
  c.tail_cycles = stretch_for_memory(tail.cycles + tail_vector,
                                     tail.read + tail.write + 2 * bytes * task.tail_vector_ops,
                                     params.sram_bytes_per_cycle);
  c.cycles = stretch_for_memory(own.cycles + own_vector, own_bytes, params.sram_bytes_per_cycle) +
             c.tail_cycles;
  c.vector_ops = task.vector_ops + task.tail_vector_ops;
  c.tail_vector_ops = task.tail_vector_ops;
  c.sram_read_bytes += bytes * c.vector_ops;
  c.sram_write_bytes += bytes * c.vector_ops;
  return c;
}

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
  stats_.work += work;
  stats_.last_busy_cycle = now_cycles();
}

void ProcessingElement::sync() {
  if (pending_cycles_ == 0) return;
  const std::uint64_t c = pending_cycles_;
  pending_cycles_ = 0;
  wait_cycles(c, params_.period);
}

void ProcessingElement::add_stall_since(const sc_core::sc_time& start) {
  stats_.stall_cycles += cycles_since(start, params_.period);
}

std::uint64_t ProcessingElement::now_cycles() const {
  return time_to_cycles(sc_core::sc_time_stamp(), params_.period) + pending_cycles_;
}

}  // namespace lpsim::hw
