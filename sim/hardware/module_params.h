#pragma once
// The one place a configuration becomes the Params of a SystemC module. The cost model
// (cost_model.h: the scheduler's task cycles) and the elaboration (pipeline.cpp) both take
// their module parameters from here, and each module's own cost functions turn them into
// cycles, so the schedule and the simulation cost a task the same way.

#include <cstdint>
#include <systemc>

#include "hw_models/delay_buffer/delay_buffer_params.h"
#include "hw_models/link/link_params.h"
#include "hw_models/memory/memory_params.h"
#include "hw_models/pe/processing_element_params.h"
#include "hw_models/stash_unit/stash_unit_params.h"
#include "hw_models/vector_unit/vector_unit_params.h"
#include "sim/config/config.h"
#include "workloads/ops/tensor.h"
#include "workloads/policies/policy.h"

namespace lpsim::hardware {

// Bytes of one tensor element (ops::Scalar) as the hardware stores it.
inline constexpr std::uint64_t kScalarBytes = static_cast<std::uint64_t>(ops::kScalarBytes);

sc_core::sc_time clock_period(const config::HwConfig& hw);

hw::ProcessingElementParams pe_params(const config::HwConfig& hw);
hw::SramBankParams sram_params(const config::HwConfig& hw);
hw::DramParams dram_params(const config::HwConfig& hw);
hw::LinkParams link_params(const config::HwConfig& hw);
hw::DelayBufferParams buffer_params(const config::HwConfig& hw, std::size_t depth_entries,
                                    std::uint64_t bytes_per_entry);
// The stash of a layer holding `versions` versions of `weight_elements` elements.
// `bytes_per_element`: the stash's format (ARCHITECTURE.md §2d).
hw::WeightStashUnitParams stash_params(const config::HwConfig& hw, std::uint64_t versions,
                                       std::uint64_t weight_elements,
                                       std::uint64_t bytes_per_element);
// The vector unit of a layer of |W| = weight_elements and |W| + |b| = param_elements under a
// policy whose hardware does `work`, with an optimizer of `optimizer_state_tensors` state
// tensors (a prediction from m and s costs more): |W| elements per operation, |W| + |b| when
// it covers biases.
hw::VectorUnitParams vector_unit_params(const config::HwConfig& hw,
                                        const policies::HardwareWork& work,
                                        std::uint64_t weight_elements, std::uint64_t param_elements,
                                        std::uint64_t optimizer_state_tensors,
                                        std::uint64_t bytes_per_element);

}  // namespace lpsim::hardware
