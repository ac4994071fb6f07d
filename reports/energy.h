#pragma once
// Energy: the count of every action a run's units report, times the energy of one action
// from an energy reference table (ARCHITECTURE.md section 4b; Accelergy's "ERT").
//
// Contract: the table is configuration (`hw.energy`, read strictly by read_energy_table);
// every figure here is derived from raw counters, never measured inside a module. Energies
// are in pJ; static power is in mW per PE and in nW per SRAM byte of capacity, and
// mW · ns = pJ. An SRAM access reaches one bank of min(bank, capacity) bytes; the energy per
// byte of a bank of capacity C comes from the table's
// (capacity, pJ/byte) points by linear interpolation in log(capacity)-log(energy) space,
// extended beyond the first and last point with the slope of the nearest segment (one
// point: constant).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/json_reader.h"
#include "core/param_table.h"

namespace lpsim::reports {

struct SramEnergyPoint {
  double capacity_bytes = 0;
  double read_pj_per_byte = 0;
  double write_pj_per_byte = 0;
};

// The arithmetic of one number format (ARCHITECTURE.md §2d): a multiply of two operands in it
// and an add of two values in it, with the publication (or derivation) they come from.
struct ArithmeticRow {
  double multiply_pj = 0;
  double add_pj = 0;
  std::string source;
};

struct EnergyTable {
  std::string source;  // the publication the table's numbers come from
  // A row per number format, by its config name (sim/config checks the names). A MAC costs
  // its product's multiply (the wider operand's format) plus an add in the `accumulate`
  // format; a GEMM slot with a spike operand costs the add alone.
  std::map<std::string, ArithmeticRow> arithmetic;
  double vector_op_pj = 0;            // one element operation of the vector unit or an EMA unit
  std::vector<SramEnergyPoint> sram;  // ascending capacity, at least one point
  double dram_pj_per_byte = 0;
  double link_pj_per_byte = 0;
  double pe_static_mw = 0;             // per PE, for the whole run
  double sram_static_nw_per_byte = 0;  // per byte of SRAM capacity
};

// The keys of hw.energy, declared once (pointers relative to the table; defaults: Horowitz,
// ISSCC 2014, 45 nm): the default document, the reader and README's table come from it.
const core::ParamTable<EnergyTable>& energy_parameters();
// The default table as a config document (hw.energy).
core::Json default_energy_document();
// Reads hw.energy strictly (every key required: the default document supplies them).
EnergyTable read_energy_table(core::ObjectReader& reader);

double sram_read_pj_per_byte(const EnergyTable& table, double capacity_bytes);
double sram_write_pj_per_byte(const EnergyTable& table, double capacity_bytes);

// What one PE did over a run: raw counters from the PE, its SRAM's capacity, the units
// attached to it (stash, EMA) and the links it sends on.
struct PeActivity {
  std::uint64_t macs = 0;  // GEMM slots with two real operands
  // macs by the format of their product (a row of the table each; they sum to macs), and the
  // accumulator's format.
  std::map<std::string, std::uint64_t> macs_by_format;
  std::string accumulate_format = "fp32";
  std::uint64_t accumulates = 0;  // GEMM slots with a spike operand
  std::uint64_t vector_ops = 0;
  std::uint64_t sram_read_bytes = 0;       // task operands
  std::uint64_t sram_write_bytes = 0;      // task results
  std::uint64_t unit_sram_read_bytes = 0;  // stash versions and EMA tensors
  std::uint64_t unit_sram_write_bytes = 0;
  std::uint64_t unit_lane_ops = 0;  // EMA update and reconstruction arithmetic
  std::uint64_t dram_bytes = 0;
  std::uint64_t link_bytes = 0;  // sent
  std::uint64_t sram_capacity_bytes = 0;
  std::uint64_t sram_bank_bytes = 0;  // the bank an access reaches: its energy per byte
  // The SRAM bytes above (tasks' and units'), by the memory kind they touch (kind names of
  // hw_models/common/memory_kind.h); each kind's read and write bytes.
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> sram_by_kind;
};

struct EnergyBreakdown {  // pJ
  double mac = 0, vector = 0, sram = 0, dram = 0, link = 0, units = 0, statics = 0;
  double total() const { return mac + vector + sram + dram + link + units + statics; }
  EnergyBreakdown& operator+=(const EnergyBreakdown& other);
};

// The energy of one PE over `time_ns` of simulated time.
EnergyBreakdown pe_energy(const EnergyTable& table, const PeActivity& activity, double time_ns);

// The energy of `bytes` DRAM bytes (every DRAM figure is this).
double dram_pj(const EnergyTable& table, std::uint64_t bytes);

// The report's `energy` block: totals, per minibatch and per sample, by component and per
// PE (names[p] is PE p's SystemC name), the SRAM access energy by memory kind
// (`sram_by_kind_pj`: the `sram` component plus the units' SRAM accesses, split by the kind
// each byte touches), and the DRAM energy of `dram_bytes_by_kind` (`dram_by_kind_pj`: the
// bytes the run moved, by the memory kind they belong to).
core::Json energy_json(const EnergyTable& table, const std::vector<PeActivity>& pes,
                       const std::vector<std::string>& names, double time_ns,
                       std::int64_t minibatches, std::int64_t batch_size,
                       const std::map<std::string, std::uint64_t>& dram_bytes_by_kind);

}  // namespace lpsim::reports
