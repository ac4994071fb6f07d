#include "hw_models/memory/gemm_memory.h"

#include <algorithm>

#include "core/errors.h"
#include "hw_models/memory/placement.h"

namespace lpsim::hw {

GemmMemoryTiming gemm_memory_timing(ArrayShape array, Dataflow dataflow, GemmShape gemm,
                                    const GemmMemoryParams& params) {
  constexpr std::uint64_t kBytes = 4;
  GemmMemoryTiming out;
  out.compute = gemm_timing(array, dataflow, gemm);
  out.staging_bytes = gemm_staging_bytes(array, dataflow, gemm);
  LPSIM_ASSERT(params.sram_bytes >= out.staging_bytes && params.dram_bytes_per_cycle >= 1,
               "gemm_memory_timing: SRAM below staging or zero bandwidth");
  const ArrayMapping map = map_gemm(dataflow, gemm);
  const auto sr = static_cast<std::uint64_t>(map.spatial_rows);
  const auto sc = static_cast<std::uint64_t>(map.spatial_cols);
  const auto t = static_cast<std::uint64_t>(map.temporal);
  const auto r = static_cast<std::uint64_t>(array.rows);
  const auto c = static_cast<std::uint64_t>(array.cols);
  const bool os = dataflow == Dataflow::kOutputStationary;
  // The matrix that is reused across row folds: B (T x Sc) for OS, the partial result
  // (T x Sc) for WS and IS.
  const std::uint64_t kept_bytes = kBytes * t * sc;
  out.kept_in_sram = params.sram_bytes - out.staging_bytes >= kept_bytes;
  const std::uint64_t bw = params.dram_bytes_per_cycle;
  std::uint64_t channel_free = 0;  // cycle the DRAM channel is free
  const auto transfer = [&](std::uint64_t issue, std::uint64_t bytes) -> std::uint64_t {
    if (bytes == 0) return issue;
    const std::uint64_t start = std::max(issue, channel_free);
    channel_free = start + memory_cycles(bytes, bw);
    return channel_free + params.dram_latency_cycles;
  };
  // Reads of fold (i, j): the Sr x T slice at each row fold's first column fold; the T x C
  // slice unless kept (OS) / the partial result read back (WS, IS); the stationary R x C
  // tile (WS, IS).
  const auto fold_reads = [&](std::uint64_t i, std::uint64_t j) {
    const std::uint64_t rows = std::min(r, sr - i * r), cols = std::min(c, sc - j * c);
    std::uint64_t bytes = j == 0 ? kBytes * rows * t : 0;
    if (os) {
      if (!out.kept_in_sram || i == 0) bytes += kBytes * t * cols;
    } else {
      bytes += kBytes * rows * cols;                               // stationary tile
      if (!out.kept_in_sram && i > 0) bytes += kBytes * t * cols;  // partial result back
    }
    return bytes;
  };
  const auto fold_writes = [&](std::uint64_t i, std::uint64_t j) {
    const std::uint64_t rows = std::min(r, sr - i * r), cols = std::min(c, sc - j * c);
    if (os) return kBytes * rows * cols;
    const bool last_row_fold = i + 1 == out.compute.row_folds;
    return (!out.kept_in_sram || last_row_fold) ? kBytes * t * cols : 0;
  };
  const std::uint64_t per_fold = out.compute.cycles_per_fold;
  const std::uint64_t folds = out.compute.folds;
  std::uint64_t now = 0;
  std::uint64_t next_ready = transfer(0, fold_reads(0, 0));
  out.dram_read_bytes += fold_reads(0, 0);
  for (std::uint64_t f = 0; f < folds; ++f) {
    const std::uint64_t i = f / out.compute.col_folds, j = f % out.compute.col_folds;
    const std::uint64_t start = std::max(now, next_ready);
    out.stall_cycles += start - now;
    if (f + 1 < folds) {
      const std::uint64_t ni = (f + 1) / out.compute.col_folds,
                          nj = (f + 1) % out.compute.col_folds;
      const std::uint64_t bytes = fold_reads(ni, nj);
      out.dram_read_bytes += bytes;
      next_ready = transfer(start, bytes);
    }
    now = start + per_fold;
    const std::uint64_t rows = std::min(r, sr - i * r), cols = std::min(c, sc - j * c);
    out.sram_read_bytes += kBytes * (rows * t + t * cols);
    out.sram_write_bytes += kBytes * rows * cols;
    const std::uint64_t w = fold_writes(i, j);
    out.dram_write_bytes += w;
    transfer(now, w);
  }
  // The last writes drain before the GEMM is done.
  const std::uint64_t end = std::max(now, channel_free);
  out.stall_cycles += end - now;
  out.cycles = end;
  LPSIM_ASSERT(out.cycles == out.compute.cycles + out.stall_cycles, "gemm_memory_timing: cycles");
  return out;
}

}  // namespace lpsim::hw
