#pragma once
// Cycles and SRAM traffic of every task of the training graph (ARCHITECTURE.md §4), as the
// modules' own cost models give them from their Params (module_params.h): a task's GEMMs
// and element-wise work on the PE (hw::task_cost), and the waits its layer's weight-version
// unit adds (weight_unit.h: the stash's copy before an update, the vector unit's prediction
// before F, reconstruction before Ba and update after U). Spike operands are read as packed
// bits (models::tensor_bytes).
//
// SRAM traffic by memory kind (for energy by kind): a GEMM's A operand is the activation or
// activation gradient in flight, its B operand the weights under F, under a delayed Ba the
// kind its unit names (the stash's version under `stash`, the EMA tensor under `ema_weight`;
// under `ema_grad` the PE streams W and the vector unit adds c·ū, counted as the unit's
// traffic; under `lwp` and `ema_lwp` the register, the unit having predicted F's) and the
// input kept for Bw (`activations`) under Bw; C is in flight, or the weight-gradient register
// under Bw. Element-wise work reads and writes in-flight tensors, except Bw's (bias and
// batch-norm gradients: read in flight, written to `gradients`) and U's operations
// (TrainingGraph::update: sgd's two per parameter, adamw's twelve), which read the gradient and
// the optimizer state and write the state and the weight, each in proportion to its tensors
// (sgd: the gradient and the momentum; adamw: the gradient, m and s).

#include <cstdint>
#include <vector>

#include "dataflow/schedule.h"
#include "dataflow/task_program.h"
#include "dataflow/training_graph.h"
#include "hw_models/pe/processing_element_params.h"
#include "sim/config/config.h"
#include "sim/hardware/weight_unit.h"

namespace lpsim::hardware {

struct TaskCost : hw::PeTaskCost {
  std::uint64_t unit_cycles = 0;   // the PE waiting on its stash or vector unit (F, Ba, U)
  std::uint64_t async_cycles = 0;  // after U: the vector unit's update, which the next Ba's
                                   // reconstruction (or F's prediction) waits for
  hw::ResidentBytes sram_read{};   // sram_read_bytes by kind (the tails' included)
  hw::ResidentBytes sram_write{};  // sram_write_bytes by kind
  std::uint64_t vector_bytes = 4;  // per element of its element-wise work (its format, §2d)
};

// The work of `part` of a task with cost `cost` (a kTail part is the tails alone).
hw::ProcessingElementWork part_work(const TaskCost& cost, dataflow::NodePart part);

// Every node's cost, with the weight-version units of `units` (weight_unit.h: per layer,
// assign_weight_units; empty: none, every Ba reading the weight register): the cycles F, Ba
// and U wait on a unit (unit_cycles) and its work after U (async_cycles), and a delayed Ba's
// weight operand read from the kind its unit names.
std::vector<TaskCost> task_costs(const dataflow::TrainingGraph& graph, const config::HwConfig& hw,
                                 const std::vector<WeightUnitSlot>& units = {});

// What the scheduler needs of the costs (dataflow/schedule.h): per node its cycles (the PE's
// and its units' waits), the tail part of a Ba or the loss, and the vector unit's work after U.
struct NodeCycles {
  std::vector<std::uint64_t> node, tail, after_update;
};
NodeCycles node_cycles(const std::vector<TaskCost>& costs);

// The link model as the scheduler sees it.
dataflow::LinkCost link_cost(const config::HwConfig& hw);

}  // namespace lpsim::hardware
