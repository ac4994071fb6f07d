#pragma once
// Up-front resource checks: a design whose simulation would not fit in this machine's
// memory is refused with the estimate, before anything runs (never an out-of-memory kill).

#include <cstdint>
#include <string>

#include "core/errors.h"
#include "sim/run/job.h"

namespace lpsim::run {

// A run refused because its memory estimate exceeds the memory available now (exit
// core::kExitNotEnoughMemory, not kExitBadInput: the input may be right, and the same command
// can run on a quieter machine; `lpsim sweep` retries such a point alone).
class NotEnoughMemory : public core::UserError {
 public:
  using core::UserError::UserError;
};

struct MemoryEstimate {
  std::uint64_t parameters_bytes = 0;  // weights, optimizer state, EMA, stashes, pending gradients
  std::uint64_t in_flight_bytes = 0;   // activations and gradients of minibatches in flight
  // The same if every stage recomputed its activations (ARCHITECTURE.md §4c); 0: not known.
  std::uint64_t in_flight_recompute_bytes = 0;
  std::uint64_t data_bytes = 0;  // the data sets in memory
  // The program itself: code, libraries, SystemC, and OpenBLAS's buffers per thread.
  std::uint64_t runtime_bytes = 0;
  // What in_flight_bytes scales with: the batch, and the deepest delay (+2 minibatches).
  std::int64_t batch = 1;
  std::int64_t max_delay = 0;
  std::uint64_t total() const {
    return parameters_bytes + in_flight_bytes + data_bytes + runtime_bytes;
  }
};

// What a run of `job` needs in host memory (math on) or for the timing model alone.
MemoryEstimate estimate_memory(const Job& job, bool math);

// For a run that does not fit `available` bytes: recompute in every stage, the largest batch,
// and the fewest stages' worth of delay, with which its estimate would ("it would fit with
// pipeline.activations "recompute" or with a batch of at most 12 or with at most 5 stages
// (delays of at most 8) at this batch").
std::string what_would_fit(const MemoryEstimate& e, std::uint64_t available);

// MemAvailable from /proc/meminfo (bytes); 0 when unknown.
std::uint64_t available_memory();

// Throws NotEnoughMemory naming the estimate when it exceeds the available memory.
void check_resources(const Job& job, bool math);

}  // namespace lpsim::run
