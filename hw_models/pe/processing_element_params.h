#pragma once
// Parameters and raw counters of a ProcessingElement.

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <systemc>
#include <vector>

#include "hw_models/common/memory_kind.h"
#include "hw_models/pe/pe_types.h"

namespace lpsim::hw {

struct ProcessingElementParams {
  ArrayShape array{32, 32};
  Dataflow dataflow = Dataflow::kOutputStationary;
  std::uint64_t vector_lanes = 32;
  std::uint64_t sram_bytes_per_cycle = 256;
  sc_core::sc_time period = sc_core::sc_time(1, sc_core::SC_NS);
};

// MACs by the number format of their product: a code the caller gives each GEMM (lpsim's is
// ops::NumberFormat, ARCHITECTURE.md §2d), which the PE carries into its counts without
// reading it; the energy model costs each at its format's multiply.
inline constexpr std::size_t kProductFormats = 5;
using MacsByFormat = std::array<std::uint64_t, kProductFormats>;

// The work of one task (or task part): what the energy model counts. SRAM traffic is kept
// by the memory kind it touches (hw_models/common/memory_kind.h).
struct ProcessingElementWork {
  std::uint64_t macs = 0;         // GEMM slots with two real operands
  MacsByFormat macs_by_format{};  // macs by product format (they sum to macs)
  std::uint64_t accumulates = 0;  // GEMM slots with a spike (0/1) operand
  std::uint64_t vector_ops = 0;   // element operations on the vector unit
  ResidentBytes sram_read{};      // bytes read from the PE's SRAM, by kind
  ResidentBytes sram_write{};     // bytes written, by kind
  std::uint64_t sram_read_bytes() const;
  std::uint64_t sram_write_bytes() const;
  ProcessingElementWork& operator+=(const ProcessingElementWork& other);
};

// One task as the PE runs it: its GEMMs on the systolic array, its own element-wise work on
// the vector unit, and the tails of other units it runs (LayerPipe's element-wise part of Ba,
// which intra+inter splitting moves; each element read and written once): element-wise work,
// and, for an attention's backward, GEMMs with both operands streamed. Bytes are as stored (a spike
// operand packed one bit per element).
struct PeGemm {
  GemmShape shape;
  std::uint64_t read_bytes = 0;     // A and B
  std::uint64_t write_bytes = 0;    // C
  bool binary = false;              // a spike operand: accumulates, not MACs
  std::int64_t macs_per_cycle = 1;  // per PE, in the product's number format (§2d)
  std::uint8_t format = 0;          // the product's format code (< kProductFormats)
};
struct PeTask {
  std::vector<PeGemm> gemms;          // own
  std::vector<PeGemm> tail_gemms;     // other units' tails
  std::uint64_t vector_ops = 0;       // own element operations
  std::uint64_t tail_vector_ops = 0;  // other units' tails
  std::uint64_t bytes_per_element = 4;
};

// What the PE's cost model gives a task (ARCHITECTURE.md §4): the sum of its GEMMs on the
// array (SCALE-Sim v2's compute model, pe_timing.h) and its element-wise work on the
// vector unit, stretched when its SRAM traffic (every GEMM operand read once, every result
// written once, element-wise operands read and written) exceeds the SRAM bandwidth:
// cycles = max(compute, bytes / sram_bytes_per_cycle). The tails are costed on their own,
// so a task split into its product and its tail adds up to the whole.
struct PeTaskCost {
  std::uint64_t cycles = 0;       // product part + tail_cycles
  std::uint64_t tail_cycles = 0;  // the tails alone
  std::uint64_t gemm_cycles = 0;
  std::uint64_t vector_cycles = 0;
  std::uint64_t macs = 0;         // GEMM multiply-accumulate slots, accumulates included
  std::uint64_t accumulates = 0;  // the part of macs on spike (0/1) operands
  std::uint64_t vector_ops = 0;   // element operations, the tails' included
  std::uint64_t tail_vector_ops = 0;
  std::uint64_t tail_macs = 0;              // the tails' GEMM slots (included in macs)
  MacsByFormat macs_by_format{};            // slots with two real operands, by product format
  MacsByFormat tail_macs_by_format{};       // the tails' part of it
  std::uint64_t tail_gemm_read_bytes = 0;   // the tails' GEMM operands (included below)
  std::uint64_t tail_gemm_write_bytes = 0;  // the tails' GEMM results (included below)
  std::uint64_t sram_read_bytes = 0;        // GEMM operands and element-wise inputs
  std::uint64_t sram_write_bytes = 0;       // GEMM results and element-wise outputs
};

PeTaskCost task_cost(const ProcessingElementParams& params, const PeTask& task);

struct ProcessingElementStats {
  std::uint64_t tasks = 0;
  std::uint64_t busy_cycles = 0;        // cycles spent computing tasks
  std::uint64_t stall_cycles = 0;       // cycles blocked on inputs, back-pressure or a unit
  std::uint64_t last_busy_cycle = 0;    // the cycle its last task ended
  ProcessingElementWork work;           // summed over the tasks run
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
          {"sram_read_bytes", s.work.sram_read_bytes()},
          {"sram_write_bytes", s.work.sram_write_bytes()},
          {"dram_read_bytes", s.dram_read_bytes},
          {"dram_write_bytes", s.dram_write_bytes},
          {"dram_stall_cycles", s.dram_stall_cycles}};
}

}  // namespace lpsim::hw
