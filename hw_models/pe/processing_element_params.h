#pragma once
// Parameters and raw counters of a ProcessingElement.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <systemc>

#include "hw_models/pe/pe_types.h"

namespace lpsim::hw {

struct ProcessingElementParams {
  ArrayShape array{32, 32};
  Dataflow dataflow = Dataflow::kOutputStationary;
  std::uint64_t vector_lanes = 32;
  std::uint64_t sram_bytes_per_cycle = 256;
  sc_core::sc_time period = sc_core::sc_time(1, sc_core::SC_NS);
};

// The work of one task (or task part): what the energy model counts.
struct ProcessingElementWork {
  std::uint64_t macs = 0;         // GEMM slots with two real operands
  std::uint64_t accumulates = 0;  // GEMM slots with a spike (0/1) operand
  std::uint64_t vector_ops = 0;   // element operations on the vector unit
  std::uint64_t sram_read_bytes = 0;
  std::uint64_t sram_write_bytes = 0;
};

struct ProcessingElementStats {
  std::uint64_t tasks = 0;
  std::uint64_t busy_cycles = 0;   // cycles spent computing tasks
  std::uint64_t stall_cycles = 0;  // cycles blocked on inputs, back-pressure or a unit
  std::uint64_t last_busy_cycle = 0;  // the cycle its last task ended
  ProcessingElementWork work;         // summed over the tasks run
  std::uint64_t dram_read_bytes = 0;    // its tasks' reads of residents placed in DRAM
  std::uint64_t dram_write_bytes = 0;   // and writes
  std::uint64_t dram_stall_cycles = 0;  // the part of stall_cycles waiting for DRAM reads
};

inline nlohmann::json to_json(const ProcessingElementStats& s) {
  return {{"tasks", s.tasks},
          {"busy_cycles", s.busy_cycles},
          {"stall_cycles", s.stall_cycles},
          {"last_busy_cycle", s.last_busy_cycle},
          {"macs", s.work.macs},
          {"accumulates", s.work.accumulates},
          {"vector_ops", s.work.vector_ops},
          {"sram_read_bytes", s.work.sram_read_bytes},
          {"sram_write_bytes", s.work.sram_write_bytes},
          {"dram_read_bytes", s.dram_read_bytes},
          {"dram_write_bytes", s.dram_write_bytes},
          {"dram_stall_cycles", s.dram_stall_cycles}};
}

}  // namespace lpsim::hw
