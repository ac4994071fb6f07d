#pragma once
// Where each PE's residents live (SRAM or DRAM) and the DRAM traffic every task instance
// makes because of it (ARCHITECTURE.md section 4b).
//
// Residents, at the PE that owns them: a unit's weights, momentum, weight-gradient register,
// stash versions (d_l·|W_l| under `stash`) and its policy's vector-unit tensors (kEma:
// HardwareWork::tensors of |W_l|, or |W_l| + |b_l| when the policy covers biases) at the PE of
// its update U_l; each data edge's buffer (buffer_depth · bytes_per_token) at the
// PE of its consumer, as `activations` for the input kept for Bw and `in_flight` for every
// activation or activation gradient in transit. Placement: hw::place() with the PE's
// staging (the largest of its tasks' double-buffered tiles) and hw.sram.placement.
// Accesses per task instance (the table of section 4b): F_l reads W_l, and a predicting
// policy's unit reads the momentum (lwp) or its tensor (ema_lwp) too; Ba_l reads the weight
// its policy names (W_l, the stash version, W_l and the EMA tensor for ema_grad, the EMA
// tensor for ema_weight); Bw_l writes the weight-gradient register; U_l reads it, reads and
// writes momentum and W_l, writes a stash version or reads and writes the unit's tensors;
// a data edge's producer writes a token and its consumer reads it. The DRAM bytes of an
// access are the DRAM part of the resident's kind at its owner (Placement::dram_part).

#include <cstdint>
#include <string>
#include <vector>

#include "dataflow/task_program.h"
#include "dataflow/training_graph.h"
#include "hw_models/memory/placement.h"
#include "sim/config/config.h"
#include "workloads/models/network.h"
#include "workloads/models/units.h"

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

// Throws core::ConfigError (naming `config_file` and /hw/sram/capacity_bytes) when a PE's SRAM
// cannot hold the staging tiles of its largest task.
MemoryPlan plan_memory(const dataflow::TrainingGraph& graph, const dataflow::Program& program,
                       const models::Network& network, const models::UnitGraph& units,
                       const config::HwConfig& hw, const std::string& config_file);

}  // namespace lpsim::hardware
