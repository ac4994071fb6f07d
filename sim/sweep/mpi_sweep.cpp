// The MPI driver of sweeps: dynamic load balancing across ranks, gathering on rank 0.
// Compiled with MPI when CMake finds it (LPSIM_HAVE_MPI); without it, --mpi is refused.

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "core/errors.h"
#include "sim/sweep/sweep.h"

#ifdef LPSIM_HAVE_MPI
#include <mpi.h>
#endif

namespace lpsim::sweep {

#ifndef LPSIM_HAVE_MPI

std::vector<PointResult> run_mpi_sweep(const Launch&, const std::vector<Point>&, bool, bool*,
                                       const ResultsCallback&) {
  throw core::UserError("", "--mpi",
                        "this lpsim was built without MPI (install libopenmpi-dev and "
                        "rebuild)");
}

#else

namespace {

constexpr int kRequest = 1;  // worker -> root: {finished point or -1, exit code}
constexpr int kAssign = 2;   // root -> worker: {point index or -1 (stop)}

std::vector<PointResult> run_points_mpi(const Launch& launch, const std::vector<Point>& points,
                                        bool quiet, const ResultsCallback& on_results,
                                        bool* is_root) {
  const std::string& out_dir = launch.out_dir;
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  *is_root = rank == 0;
  if (rank != 0) {
    long long message[2] = {-1, 0};
    for (;;) {
      MPI_Send(message, 2, MPI_LONG_LONG, 0, kRequest, MPI_COMM_WORLD);
      long long index = -1;
      MPI_Recv(&index, 1, MPI_LONG_LONG, 0, kAssign, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      if (index < 0) return {};
      const Point& p = points[static_cast<std::size_t>(index)];
      message[0] = index;
      message[1] = wait_exit_code(spawn_point(launch, p));
    }
  }
  std::vector<PointResult> results(points.size());
  std::vector<std::size_t> todo;
  for (const auto& p : points) {
    if (point_complete(out_dir, p)) {
      results[p.index] = collect_point(out_dir, p, 0);
      results[p.index].status = "skipped";
    } else {
      todo.push_back(p.index);
    }
  }
  std::vector<bool> resumed(points.size(), false);
  std::size_t next = 0, done = points.size() - todo.size(), failed = 0;
  int workers_left = size - 1;
  pid_t own = -1;
  std::size_t own_index = 0;
  auto finish = [&](std::size_t index, int code) {
    results[index] = collect_point(out_dir, points[index], code);
    results[index].resumed = resumed[index];
    if (results[index].status == "failed") ++failed;
    ++done;
    if (!quiet) draw_progress(done, failed, points.size());
    if (on_results) on_results(results);
  };
  if (!quiet) draw_progress(done, failed, points.size());
  if (on_results) on_results(results);
  while (workers_left > 0 || own >= 0 || next < todo.size()) {
    int pending = 0;
    MPI_Status status;
    MPI_Iprobe(MPI_ANY_SOURCE, kRequest, MPI_COMM_WORLD, &pending, &status);
    if (pending) {
      long long message[2];
      MPI_Recv(message, 2, MPI_LONG_LONG, status.MPI_SOURCE, kRequest, MPI_COMM_WORLD,
               MPI_STATUS_IGNORE);
      if (message[0] >= 0)
        finish(static_cast<std::size_t>(message[0]), static_cast<int>(message[1]));
      long long index = next < todo.size() ? static_cast<long long>(todo[next++]) : -1;
      if (index >= 0) {
        const auto i = static_cast<std::size_t>(index);
        resumed[i] = !resumable_checkpoint(out_dir, points[i]).empty();
      }
      MPI_Send(&index, 1, MPI_LONG_LONG, status.MPI_SOURCE, kAssign, MPI_COMM_WORLD);
      if (index < 0) --workers_left;
      continue;
    }
    // Rank 0 runs points too between requests.
    if (own >= 0) {
      int wstatus = 0;
      if (::waitpid(own, &wstatus, WNOHANG) == own) {
        finish(own_index, WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus));
        own = -1;
      }
    } else if (next < todo.size()) {
      own_index = todo[next++];
      resumed[own_index] = !resumable_checkpoint(out_dir, points[own_index]).empty();
      own = spawn_point(launch, points[own_index]);
      continue;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return results;
}

struct MpiSession {
  MpiSession() { MPI_Init(nullptr, nullptr); }
  ~MpiSession() { MPI_Finalize(); }
};

}  // namespace

std::vector<PointResult> run_mpi_sweep(const Launch& launch, const std::vector<Point>& points,
                                       bool quiet, bool* is_root,
                                       const ResultsCallback& on_results) {
  MpiSession session;
  return run_points_mpi(launch, points, quiet, on_results, is_root);
}

#endif

}  // namespace lpsim::sweep
