#pragma once
// Threads for the math inside one kernel call (issue 14). SystemC and the task order stay
// single-threaded; a kernel spreads its own work over `threads()` threads.
//
// Determinism: every kernel splits its work into parts by a rule that depends only on the
// shapes (never on the thread count), and each part writes only its own outputs, computed by
// the same code whichever thread runs it. So a result is the same, bit for bit, for every
// thread count (tests/unit/workloads/ops/parallel_test.cpp checks whole training runs).

#include <cstdint>
#include <functional>

namespace lpsim::ops {

// The number of threads kernels may use: 1 (the default) to 1024. The CLI sets it from
// `run.threads`. Not to be called from inside a kernel.
void set_threads(int n);
int threads();
// The cores this process may run on (at least 1): `run.threads` 0 means this many.
int available_cores();

// Calls body(i) for every i in [0, count), spread over up to threads() threads; in the
// calling thread alone when threads() is 1, count is 1 or the call is nested inside another
// parallel_for. Returns when all are done; the first exception a body throws is rethrown.
void parallel_for(std::int64_t count, const std::function<void(std::int64_t)>& body);

// Part i of [0, n) split into `parts` nearly equal ranges whose lengths are multiples of
// `align` (except the last): [begin, end). Empty when the parts outnumber the aligned runs.
struct IndexRange {
  std::int64_t begin = 0;
  std::int64_t end = 0;
  std::int64_t size() const { return end - begin; }
};
IndexRange part_range(std::int64_t n, std::int64_t parts, std::int64_t align, std::int64_t i);

// The parts an element-wise pass over `elements` values is split into (fixed chunks of
// 64 Ki values, at most 256 parts).
std::int64_t elementwise_parts(std::int64_t elements);

// Runs body(begin, end) over [0, n) in elementwise_parts(n * cost_per_index) parts (cost:
// the values one index touches).
void parallel_ranges(std::int64_t n, std::int64_t cost_per_index,
                     const std::function<void(std::int64_t, std::int64_t)>& body);

}  // namespace lpsim::ops
