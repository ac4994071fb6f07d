#pragma once
// Placement of a PE's residents in its SRAM or in DRAM (ARCHITECTURE.md section 4b), and
// the staging buffers reserved before any resident.
//
// Contract: place() first reserves `staging_bytes` of the SRAM, then walks `order` and
// puts each kind in the SRAM whole, or the part that still fits, and the rest in DRAM; so
// the SRAM holds at most its capacity, and a kind split between the two has each access
// split in the same proportion (dram_part()). Staging: a task streams its operands through
// double-buffered tiles, one fold of the array at a time (as SCALE-Sim's double-buffered
// scratchpads do): for an R x C array and a GEMM mapped to temporal length T, a tile is an
// R x t and a t x C operand slice and the R x C result, t = min(T, R + C) temporal steps,
// in 4-byte elements, two of each; element-wise work streams 2 x lanes inputs and outputs.
// Pure C++: no SystemC, no math.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hw_models/common/memory_kind.h"
#include "hw_models/pe/pe_types.h"

namespace lpsim::hw {

// All kinds, in the order their bytes are most often accessed per byte held: weights
// (read by F and Ba, written by U every beat), optimizer, gradients, EMA, in-flight
// buffers, stash (one version in and out per beat of d held), activations (one in and out
// per beat of d + 1 held).
const std::vector<MemoryKind>& default_placement_order();

struct Placement {
  std::uint64_t capacity_bytes = 0;
  std::uint64_t staging_bytes = 0;
  ResidentBytes resident_bytes{};    // what the PE holds
  ResidentBytes sram_bytes{};        // the part in its SRAM
  ResidentBytes dram_bytes{};        // the rest, in DRAM
  std::uint64_t sram_total() const;  // staging included
  // The DRAM part of an access of `bytes` to kind `kind`: bytes · dram / resident, rounded
  // down (exact integer arithmetic).
  std::uint64_t dram_part(MemoryKind kind, std::uint64_t bytes) const;
};

// Requires staging_bytes <= capacity_bytes and `order` to name every kind once
// (LPSIM_ASSERT: the caller has checked both).
Placement place(std::uint64_t capacity_bytes, std::uint64_t staging_bytes,
                const ResidentBytes& resident, const std::vector<MemoryKind>& order);

// Staging of one GEMM and of element-wise work on `lanes` lanes, bytes (contract above).
std::uint64_t gemm_staging_bytes(ArrayShape array, Dataflow dataflow, GemmShape gemm);
std::uint64_t vector_staging_bytes(std::uint64_t lanes);

}  // namespace lpsim::hw
