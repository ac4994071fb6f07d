#pragma once
// Cycles of every task of the training graph on the configured PE (ARCHITECTURE.md §4):
// the sum of its GEMMs on the systolic array (SCALE-Sim v2's compute model) and its
// element-wise work on the vector unit, stretched when the task's SRAM traffic (every GEMM
// operand read once, every result written once, element-wise operands read and written)
// exceeds the SRAM bandwidth: cycles = max(compute, bytes / bytes_per_cycle). Spike
// operands are read as packed bits (models::tensor_bytes). A task that
// runs other units' tails (LayerPipe's element-wise part of Ba, which intra+inter splitting
// moves) has that part costed on its own, so the two halves add up to the whole.

#include <cstdint>
#include <vector>

#include "dataflow/training_graph.h"
#include "dataflow/task_program.h"
#include "hw_models/pe/pe_types.h"
#include "hw_models/pe/processing_element_params.h"
#include "sim/config/config.h"

namespace lpsim::hardware {

struct TaskCost {
  std::uint64_t cycles = 0;       // PE compute: product_cycles + tail_cycles
  std::uint64_t unit_cycles = 0;  // the PE waiting on its stash or EMA unit (Ba, U)
  std::uint64_t async_cycles = 0; // after U: the EMA unit's update, which the next Ba's
                                  // reconstruction waits for
  std::uint64_t tail_cycles = 0;  // other units' tails run by this task (Ba, Loss)
  std::uint64_t gemm_cycles = 0;
  std::uint64_t vector_cycles = 0;
  std::uint64_t sram_bytes = 0;       // sram_read_bytes + sram_write_bytes
  std::uint64_t sram_read_bytes = 0;  // GEMM operands and element-wise inputs
  std::uint64_t sram_write_bytes = 0; // GEMM results and element-wise outputs
  std::uint64_t macs = 0;         // GEMM multiply-accumulate slots, accumulates included
  std::uint64_t accumulates = 0;  // the part of macs on spike (0/1) operands
  std::uint64_t vector_ops = 0;   // element operations, the tails' included
  std::uint64_t tail_vector_ops = 0;  // the part of vector_ops in other units' tails (each
                                      // element read and written once)
};

// The work of `part` of a task with cost `cost` (a kTail part is the tails alone).
hw::ProcessingElementWork part_work(const TaskCost& cost, dataflow::NodePart part);

std::vector<TaskCost> task_costs(const dataflow::TrainingGraph& graph, const config::HwConfig& hw);

// The same, with the weight-version units of the graph's policy (stash: a copy before each
// update, read in place by Ba;
// EMA: a reconstruction at Ba, an update after U), for units with a delayed Ba.
std::vector<TaskCost> task_costs(const dataflow::TrainingGraph& graph, const config::HwConfig& hw,
                                 const models::Network& network, const models::UnitGraph& units);

}  // namespace lpsim::hardware
