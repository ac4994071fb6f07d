#pragma once
// Where each PE's residents live (SRAM or DRAM) and the DRAM traffic every task instance
// makes because of it (ARCHITECTURE.md section 4b).
//
// Residents, at the PE that owns them: a layer's weights, optimizer state (|W| + |b| per
// tensor of TrainingGraph::update: sgd's momentum, adamw's m and s) and weight-gradient
// register, and its weight-version unit's residents (weight_unit.h: the stash's d_l·|W_l|,
// the vector unit's tensors) at the PE of its update U_l; each data edge's buffer
// (buffer_depth · bytes_per_token) at the PE of its consumer, of the kind buffer_kind()
// names. Placement: hw::place() with the PE's staging (the largest of its tasks'
// double-buffered tiles) and hw.sram.placement.
// Accesses per task instance (the table of section 4b): F_l reads W_l; Ba_l reads W_l unless
// its delayed operand comes from its unit alone (HardwareWork::backward_reads_register);
// Bw_l writes the weight-gradient register; U_l reads it, reads and writes the optimizer state
// and W_l;
// the unit's accesses (a stash version, its tensors, the momentum a prediction reads); a
// data edge's producer writes a token and its consumer reads it. The DRAM bytes of an access
// are the DRAM part of the resident's kind at its owner (Placement::dram_part).

#include <cstdint>
#include <string>
#include <vector>

#include "dataflow/task_program.h"
#include "dataflow/training_graph.h"
#include "hw_models/memory/placement.h"
#include "sim/config/config.h"
#include "sim/hardware/weight_unit.h"

namespace lpsim::hardware {

struct NodeDram {  // per instance of a node
  std::uint64_t read_bytes = 0;
  std::uint64_t write_bytes = 0;
  hw::ResidentBytes bytes_by_kind{};  // read + written, by the resident kind accessed
};

struct MemoryPlan {
  std::vector<hw::Placement> pe;          // per processor
  std::vector<std::string> staging_task;  // per processor: the task that sets its staging
  std::vector<NodeDram> node;             // per graph node
};

// The kind of memory a data edge's buffer holds: `activations` for the input kept for Bw,
// `in_flight` for every activation or activation gradient in transit. The memory plan and the
// measured peaks (pipeline_collect.cpp) both ask this.
hw::MemoryKind buffer_kind(dataflow::EdgeKind kind);

// `units`: per layer, its weight-version unit (assign_weight_units). Throws core::ConfigError
// (naming `config_file` and /hw/sram/capacity_bytes) when a PE's SRAM cannot hold the staging
// tiles of its largest task.
MemoryPlan plan_memory(const dataflow::TrainingGraph& graph, const dataflow::Program& program,
                       const std::vector<WeightUnitSlot>& units, const config::HwConfig& hw,
                       const std::string& config_file);

}  // namespace lpsim::hardware
