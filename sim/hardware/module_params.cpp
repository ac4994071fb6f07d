#include "sim/hardware/module_params.h"

#include "core/errors.h"

namespace lpsim::hardware {

namespace {

std::uint64_t u64(std::int64_t v) { return static_cast<std::uint64_t>(v); }

}  // namespace

sc_core::sc_time clock_period(const config::HwConfig& hw) {
  return sc_core::sc_time(hw.period_ns, sc_core::SC_NS);
}

hw::ProcessingElementParams pe_params(const config::HwConfig& hw) {
  hw::ProcessingElementParams p;
  p.array = {hw.pe_rows, hw.pe_cols};
  p.dataflow = hw.pe_dataflow;
  p.vector_lanes = u64(hw.vector_lanes);
  p.sram_bytes_per_cycle = u64(hw.sram_bytes_per_cycle);
  p.period = clock_period(hw);
  return p;
}

hw::SramBankParams sram_params(const config::HwConfig& hw) {
  hw::SramBankParams p;
  p.capacity_bytes = u64(hw.sram_capacity_bytes);
  p.bytes_per_cycle = u64(hw.sram_bytes_per_cycle);
  p.period = clock_period(hw);
  return p;
}

hw::DramParams dram_params(const config::HwConfig& hw) {
  hw::DramParams p;
  p.bytes_per_cycle = u64(hw.dram_bytes_per_cycle);
  p.channels = u64(hw.dram_channels);
  p.latency_cycles = u64(hw.dram_latency_cycles);
  p.period = clock_period(hw);
  return p;
}

hw::LinkParams link_params(const config::HwConfig& hw) {
  hw::LinkParams p;
  p.latency_cycles = u64(hw.link_latency_cycles);
  p.bytes_per_cycle = u64(hw.link_bytes_per_cycle);
  p.period = clock_period(hw);
  return p;
}

hw::DelayBufferParams buffer_params(const config::HwConfig& hw, std::size_t depth_entries,
                                    std::uint64_t bytes_per_entry) {
  hw::DelayBufferParams p;
  p.depth_entries = depth_entries;
  p.bytes_per_entry = bytes_per_entry;
  p.period = clock_period(hw);
  return p;
}

hw::WeightStashUnitParams stash_params(const config::HwConfig& hw, std::uint64_t versions,
                                       std::uint64_t weight_elements,
                                       std::uint64_t bytes_per_element) {
  hw::WeightStashUnitParams p;
  p.versions = versions;
  p.bytes_per_version = weight_elements * bytes_per_element;
  p.bytes_per_cycle = u64(hw.sram_bytes_per_cycle);  // the stash sits in the PE's SRAM
  p.period = clock_period(hw);
  return p;
}

hw::VectorUnitParams vector_unit_params(const config::HwConfig& hw,
                                        const policies::HardwareWork& work,
                                        std::uint64_t weight_elements, std::uint64_t param_elements,
                                        std::uint64_t optimizer_state_tensors,
                                        std::uint64_t bytes_per_element) {
  hw::VectorUnitParams p;
  p.elements = work.covers_bias ? param_elements : weight_elements;
  p.tensors = u64(work.tensors);
  p.bytes_per_element = bytes_per_element;
  p.lanes = u64(hw.vector_unit_lanes);
  p.update_lane_ops = u64(work.update_lane_ops);
  p.backward_lane_ops = u64(work.backward_lane_ops);
  p.forward_lane_ops = u64(optimizer_state_tensors > 1 && work.forward_lane_ops_adamw >= 0
                               ? work.forward_lane_ops_adamw
                               : work.forward_lane_ops);
  p.period = clock_period(hw);
  return p;
}

}  // namespace lpsim::hardware
