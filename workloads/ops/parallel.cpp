#include "workloads/ops/parallel.h"

#include <omp.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <string>

#include "core/errors.h"

#if LPSIM_OPENBLAS
extern "C" void openblas_set_num_threads(int);  // OpenBLAS's own (cblas.h would bring CBLAS)
// The pthread build's: stops its worker threads (absent from a serial build, hence weak).
extern "C" int blas_thread_shutdown_(void) __attribute__((weak));
#endif

namespace lpsim::ops {
namespace {

std::atomic<int> g_threads{1};

#if LPSIM_OPENBLAS
// Eigen's products call OpenBLAS (EIGEN_USE_BLAS). Its pthread build would split each call
// over its own threads, by their count; here every call runs on the thread that makes it, and
// the split is gemm.h's, a rule of the shapes alone. Set before main(), so before any product.
// The pthread build starts its workers when it loads, and an idle worker spins on
// sched_yield for about 2^28 cycles before it sleeps: 0.06 s of a core in every run, math or
// not, for threads no call uses; they are stopped (a one-thread call never needs them).
const bool g_openblas_single_threaded = [] {
  openblas_set_num_threads(1);
  if (blas_thread_shutdown_ != nullptr) blas_thread_shutdown_();
  return true;
}();
#endif

}  // namespace

void set_threads(int n) {
  LPSIM_ASSERT(n >= 1 && n <= 1024, "thread count " + std::to_string(n) + " outside [1, 1024]");
  g_threads.store(n);
}

int threads() { return g_threads.load(); }

int available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1, omp_get_num_procs());
}

void parallel_for(std::int64_t count, const std::function<void(std::int64_t)>& body) {
  const int t = static_cast<int>(std::min<std::int64_t>(threads(), count));
  if (t <= 1 || omp_in_parallel()) {
    for (std::int64_t i = 0; i < count; ++i) body(i);
    return;
  }
  std::exception_ptr error;
  std::mutex error_mutex;
#pragma omp parallel for num_threads(t) schedule(dynamic, 1)
  for (std::int64_t i = 0; i < count; ++i) {
    try {
      body(i);
    } catch (...) {
      const std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

IndexRange part_range(std::int64_t n, std::int64_t parts, std::int64_t align, std::int64_t i) {
  const std::int64_t runs = (n + align - 1) / align;  // aligned runs, the last maybe short
  const std::int64_t per = runs / parts, extra = runs % parts;
  const std::int64_t first = i * per + std::min(i, extra);
  const std::int64_t count = per + (i < extra ? 1 : 0);
  return {std::min(n, first * align), std::min(n, (first + count) * align)};
}

std::int64_t elementwise_parts(std::int64_t elements) {
  constexpr std::int64_t kChunk = 64 * 1024;
  return std::clamp<std::int64_t>(elements / kChunk, 1, 256);
}

void parallel_ranges(std::int64_t n, std::int64_t cost_per_index,
                     const std::function<void(std::int64_t, std::int64_t)>& body) {
  const std::int64_t parts =
      std::min(n, elementwise_parts(n * std::max<std::int64_t>(cost_per_index, 1)));
  if (parts <= 1) {
    if (n > 0) body(0, n);
    return;
  }
  parallel_for(parts, [&](std::int64_t i) {
    const IndexRange r = part_range(n, parts, 1, i);
    if (r.size() > 0) body(r.begin, r.end);
  });
}

}  // namespace lpsim::ops
