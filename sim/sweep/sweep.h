#pragma once
// Design-space sweeps: every point of a grid runs as its own `lpsim run` process
// (SystemC elaborates one design per process), N at a time.
//
// A grid file is {"grid": {"/json/pointer": [values, ...], ...}} (the cartesian product,
// in the order of the pointers sorted as strings, the last varying fastest) or {"points":
// [{"/json/pointer": value, ...},
// ...]}. Each point is keyed by the hash of its resolved config; its outputs go to
// OUT/points/<hash>/. A point whose report.json is complete is not run again, so
// re-running a sweep resumes it. A failed point is recorded with its error and does not stop
// the others. With a checkpoint interval every point saves its training state as it runs
// (OUT/points/<hash>/checkpoint); a point killed or interrupted mid-run continues from its
// last checkpoint when the sweep is run again, to the report an uninterrupted run writes, and
// a complete point's checkpoint is removed. The aggregate is OUT/sweep.json and OUT/sweep.csv,
// in point order (rewritten as each point finishes; points not yet run are "pending"), and the
// seed groups (points that differ only in /run/seed, with each figure's mean, sd, min, max and
// count over their complete points) in sweep.json's "groups" and OUT/sweep_groups.csv.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/json_reader.h"

namespace lpsim::sweep {

struct Point {
  std::size_t index = 0;
  std::vector<std::pair<std::string, core::Json>> values;  // pointer -> value
  std::vector<std::string> overrides;                      // "--set" arguments
  std::string hash;                                        // of the resolved config
};

// Reads the grid and resolves every point against the base config (core::ConfigError on any
// fault, naming the grid file and the pointer, before anything runs).
std::vector<Point> expand_grid(const std::string& base_config, const std::string& grid_file,
                               const std::vector<std::string>& base_overrides);

// How the points are started: `binary run --config base_config --set ...` into the point's
// directory under out_dir, saving a checkpoint every checkpoint_every minibatches (0: never).
struct Launch {
  std::string binary;
  std::string base_config;
  std::vector<std::string> overrides;
  std::string out_dir;
  std::int64_t checkpoint_every = 0;
};

struct PointResult {
  std::string status;  // "ok", "failed", "skipped" (already done)
  int exit_code = 0;
  std::string error;     // last lines of the point's stderr when it failed
  core::Json report;     // the point's report.json (null when failed)
  bool resumed = false;  // continued from a checkpoint an earlier sweep left
  // Refused for memory beside other points (exit core::kExitNotEnoughMemory), then run again
  // alone.
  bool retried_alone = false;
};

// Called with every point's result so far (status "" for a point not yet run) before the first
// point starts and after each one finishes: the sweep rewrites its aggregate there.
using ResultsCallback = std::function<void(const std::vector<PointResult>&)>;

// Runs the points not yet done with `lpsim_binary run`, `jobs` at a time, and returns the
// results in point order. `progress` prints a bar on stderr unless quiet. A point refused for
// memory while others ran (exit core::kExitNotEnoughMemory: its estimate counted what they
// held) is run again alone, after they finish and before any other point starts.
std::vector<PointResult> run_points(const Launch& launch, const std::vector<Point>& points,
                                    int jobs, bool quiet, const ResultsCallback& on_results = {});

// The pieces of run_points, for other drivers (MPI): whether a point's report is complete,
// the checkpoint it would continue from ("" when none), starting its `lpsim run` process
// (resuming when it can), waiting for one, and reading its outcome (which removes the
// checkpoint of a complete point).
bool point_complete(const std::string& out_dir, const Point& point);
std::string resumable_checkpoint(const std::string& out_dir, const Point& point);
pid_t spawn_point(const Launch& launch, const Point& point);
int wait_exit_code(pid_t pid);
PointResult collect_point(const std::string& out_dir, const Point& point, int exit_code);
void draw_progress(std::size_t done, std::size_t failed, std::size_t total);

// Runs the points across MPI ranks (initialising and finalising MPI): rank 0 hands out
// points as ranks finish (running points itself between requests) and returns every
// result; other ranks return nothing and set *is_root false. Throws core::UserError when lpsim
// was built without MPI.
std::vector<PointResult> run_mpi_sweep(const Launch& launch, const std::vector<Point>& points,
                                       bool quiet, bool* is_root,
                                       const ResultsCallback& on_results = {});

// The numeric figures the aggregate reports per point and per seed group, in column order.
const std::vector<std::string>& figure_names();

// One figure (a name from figure_names) of a point's report.json; null when the report is
// null or does not have it (e.g. the accuracy of a timing-only run).
core::Json point_figure(const core::Json& report, const std::string& name);

// Groups the points that differ only in /run/seed, in the order of their first point. Each
// group is {"values": the other coordinates, "points": indices, "seeds": the complete points'
// seeds, "n": complete points, "left_out": failed, interrupted or pending points,
// "left_out_points", "figures": {name: {"count", "mean", "sd" (n-1; null below 2), "min", "max"}}};
// a figure counts the complete points where it is a number.
core::Json group_points(const std::vector<Point>& points, const std::vector<PointResult>& results);

// sweep_groups.csv of group_points' groups: group, the coordinates, seeds, n, left_out,
// then <figure>_mean, _sd, _min, _max per figure.
std::string groups_csv(const core::Json& groups);

// Writes OUT/sweep.json, OUT/sweep.csv and OUT/sweep_groups.csv (atomically). A point's
// status is "ok", "failed", or "pending" when its result's status is "" (not yet run).
void write_aggregate(const std::string& out_dir, const std::string& base_config,
                     const std::string& grid_file, const std::vector<Point>& points,
                     const std::vector<PointResult>& results);

std::string point_dir(const std::string& out_dir, const Point& point);

// The directories in OUT/points that are no point of `points` (left by another grid, config
// or build).
std::size_t foreign_point_dirs(const std::string& out_dir, const std::vector<Point>& points);

}  // namespace lpsim::sweep
