// `lpsim sweep`: runs every point of a grid as its own `lpsim run` process.

#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "core/errors.h"
#include "sim/cli/command.h"
#include "sim/cli/options.h"
#include "sim/sweep/sweep.h"

namespace lpsim::cli {

int run_sweep(const std::vector<std::string>& args) {
  po::options_description options("sweep options");
  options.add_options()("config", po::value<std::string>()->default_value(""),
                        "base config (default: the built-in default job)")(
      "grid", po::value<std::string>()->required(), "grid JSON file")(
      "set", po::value<std::vector<std::string>>()->composing(), "override the base config")(
      "out", po::value<std::string>()->required(), "output directory")(
      "jobs,j", po::value<int>()->default_value(1),
      "points run at the same time (a point refused for memory beside others runs again alone)")(
      "checkpoint-every", po::value<std::int64_t>()->default_value(0),
      "each point saves its training state every N minibatches; a sweep run again continues "
      "a killed point from it")(
      "mpi", "spread the points across MPI ranks (run under mpirun or srun)")("quiet,q",
                                                                              "no progress bar");
  po::variables_map vm;
  if (!parse_options("sweep", "--config BASE.json --grid GRID.json --out DIR [-j N]", options, args,
                     vm)) {
    return 0;
  }
  const int jobs = vm["jobs"].as<int>();
  if (jobs < 1 || jobs > 1024) {
    throw core::UserError("", "--jobs", "found " + std::to_string(jobs) + ", expected 1..1024");
  }
  const std::string base = vm["config"].as<std::string>();
  const std::string grid = vm["grid"].as<std::string>();
  const std::string out = vm["out"].as<std::string>();
  const std::vector<std::string> sets =
      vm.count("set") ? vm["set"].as<std::vector<std::string>>() : std::vector<std::string>{};
  const std::vector<sweep::Point> points = sweep::expand_grid(base, grid, sets);
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) throw core::InternalError("cannot find the lpsim executable");
  self[n] = '\0';
  // A point's directory is the hash of its resolved config, defaults included: a sweep run
  // again by a build whose defaults differ finds none of its points and starts afresh.
  // (Under --mpi every rank runs this line: only rank 0 warns, after the run.)
  const std::size_t strangers = sweep::foreign_point_dirs(out, points);
  const auto warn = [&] {
    if (strangers == 0 || vm.count("quiet") > 0) return;
    std::fprintf(stderr,
                 "lpsim: warning: %zu directories in %s/points belong to no point of this grid "
                 "(another grid, config or lpsim build: a point's directory is the hash of its "
                 "resolved config, defaults included)\n",
                 strangers, out.c_str());
  };
  if (vm.count("mpi") == 0) warn();
  sweep::Launch launch{self, base, sets, out, vm["checkpoint-every"].as<std::int64_t>()};
  if (launch.checkpoint_every < 0) {
    throw core::UserError("", "--checkpoint-every",
                          "found " + std::to_string(launch.checkpoint_every) +
                              ", expected a number of minibatches >= 0");
  }
  // The aggregate is rewritten as each point finishes: a long sweep can be read mid-way.
  const auto write = [&](const std::vector<sweep::PointResult>& so_far) {
    sweep::write_aggregate(out, base, grid, points, so_far);
  };
  std::vector<sweep::PointResult> results;
  if (vm.count("mpi")) {
    bool root = true;
    results = sweep::run_mpi_sweep(launch, points, vm.count("quiet") > 0, &root, write);
    if (!root) return 0;
    warn();
  } else {
    results = sweep::run_points(launch, points, jobs, vm.count("quiet") > 0, write);
  }
  sweep::write_aggregate(out, base, grid, points, results);
  std::size_t ok = 0, failed = 0, skipped = 0, resumed = 0, retried = 0;
  for (const auto& r : results) {
    if (r.resumed) ++resumed;
    if (r.retried_alone) ++retried;
    if (r.status == "failed") {
      ++failed;
    } else {
      ++ok;
      if (r.status == "skipped") ++skipped;
    }
  }
  std::printf(
      "%zu points: %zu ok (%zu already done, %zu resumed from a checkpoint, %zu run again alone "
      "after a refusal for memory), %zu failed; %s/sweep.json, %s/sweep.csv, "
      "%s/sweep_groups.csv\n",
      points.size(), ok, skipped, resumed, retried, failed, out.c_str(), out.c_str(), out.c_str());
  return 0;
}

}  // namespace lpsim::cli
