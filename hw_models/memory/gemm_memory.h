#pragma once
// One GEMM whose operands start in DRAM and whose result goes back there (`lpsim gemm
// --sram-bytes ... --dram-bytes-per-cycle ...`). Pure C++.
//
// Contract: the array runs the GEMM fold by fold as gemm_timing() does, row folds outer,
// column folds inner. With Sr x T, T x Sc and Sr x Sc the three matrices laid on the array
// (OS: A, B and the result C; WS and IS: the streamed operand, the partial result and the
// stationary operand), a fold reads its R x T and T x C slices and its R x C tile from
// DRAM, or writes them, except what the SRAM already holds: the Sr x T slice of a row fold
// is read once for all its column folds; the T x Sc matrix is kept for every row fold when
// it fits in the SRAM beside the staging tiles (gemm_staging_bytes), else read again per
// row fold; the result is written once (OS), or per row fold with a read back for every row
// fold after the first when the partial result does not fit (WS, IS: it accumulates over
// the row folds). One DRAM channel, `latency_cycles` to the first byte, bytes_per_cycle
// after it; double buffering: fold f + 1's reads are issued when fold f starts, fold f's
// writes drain behind it on the same channel (first come, first served), and a fold waits
// only for reads that have not arrived. 4-byte elements.

#include <cstdint>

#include "hw_models/pe/pe_timing.h"
#include "hw_models/pe/pe_types.h"

namespace lpsim::hw {

struct GemmMemoryParams {
  std::uint64_t sram_bytes = 0;  // >= the staging tiles (the caller checks)
  std::uint64_t dram_bytes_per_cycle = 1;
  std::uint64_t dram_latency_cycles = 0;
};

struct GemmMemoryTiming {
  GemmTiming compute;              // the array alone (SCALE-Sim v2)
  std::uint64_t cycles = 0;        // with the DRAM traffic: compute + stall cycles
  std::uint64_t stall_cycles = 0;  // folds waiting for their reads, and the last drain
  std::uint64_t staging_bytes = 0;
  std::uint64_t dram_read_bytes = 0;
  std::uint64_t dram_write_bytes = 0;
  std::uint64_t sram_read_bytes = 0;   // operand slices the array reads
  std::uint64_t sram_write_bytes = 0;  // result tiles it writes
  bool kept_in_sram = false;           // the T x Sc matrix (or partial result) stays in SRAM
};

GemmMemoryTiming gemm_memory_timing(ArrayShape array, Dataflow dataflow, GemmShape gemm,
                                    const GemmMemoryParams& params);

}  // namespace lpsim::hw
