#include "hw_models/memory/placement.h"

#include <algorithm>

#include "core/errors.h"

namespace lpsim::hw {
namespace {

constexpr std::uint64_t kElementBytes = 4;

}  // namespace

const std::vector<MemoryKind>& default_placement_order() {
  static const std::vector<MemoryKind> order = {
      MemoryKind::kWeights,  MemoryKind::kOptimizer, MemoryKind::kGradients,  MemoryKind::kEma,
      MemoryKind::kInFlight, MemoryKind::kStash,     MemoryKind::kActivations};
  return order;
}

std::uint64_t Placement::sram_total() const {
  std::uint64_t total = staging_bytes;
  for (std::uint64_t b : sram_bytes) total += b;
  return total;
}

std::uint64_t Placement::dram_part(MemoryKind kind, std::uint64_t bytes) const {
  const auto k = static_cast<std::size_t>(kind);
  if (dram_bytes[k] == 0 || resident_bytes[k] == 0) return 0;
  __extension__ using Wide = unsigned __int128;
  return static_cast<std::uint64_t>(static_cast<Wide>(bytes) * dram_bytes[k] / resident_bytes[k]);
}

Placement place(std::uint64_t capacity_bytes, std::uint64_t staging_bytes,
                const ResidentBytes& resident, const std::vector<MemoryKind>& order) {
  LPSIM_ASSERT(staging_bytes <= capacity_bytes, "place: staging exceeds the SRAM");
  std::array<bool, kMemoryKinds> seen{};
  for (MemoryKind k : order) seen[static_cast<std::size_t>(k)] = true;
  LPSIM_ASSERT(order.size() == kMemoryKinds &&
                   std::all_of(seen.begin(), seen.end(), [](bool b) { return b; }),
               "place: the order must name every resident kind once");
  Placement p;
  p.capacity_bytes = capacity_bytes;
  p.staging_bytes = staging_bytes;
  p.resident_bytes = resident;
  std::uint64_t free = capacity_bytes - staging_bytes;
  for (MemoryKind kind : order) {
    const auto k = static_cast<std::size_t>(kind);
    p.sram_bytes[k] = std::min(free, resident[k]);
    p.dram_bytes[k] = resident[k] - p.sram_bytes[k];
    free -= p.sram_bytes[k];
  }
  return p;
}

std::uint64_t gemm_staging_bytes(ArrayShape array, Dataflow dataflow, GemmShape gemm) {
  if (gemm.m <= 0 || gemm.n <= 0 || gemm.k <= 0) return 0;
  const ArrayMapping map = map_gemm(dataflow, gemm);
  const auto r = static_cast<std::uint64_t>(std::min(array.rows, map.spatial_rows));
  const auto c = static_cast<std::uint64_t>(std::min(array.cols, map.spatial_cols));
  const auto t = static_cast<std::uint64_t>(std::min(map.temporal, array.rows + array.cols));
  return 2 * kElementBytes * (r * t + t * c + r * c);
}

std::uint64_t vector_staging_bytes(std::uint64_t lanes) { return 2 * kElementBytes * 2 * lanes; }

}  // namespace lpsim::hw
