#pragma once
// Design-space sweeps: every point of a grid runs as its own `lpsim run` process
// (SystemC elaborates one design per process), N at a time.
//
// A grid file is {"grid": {"/json/pointer": [values, ...], ...}} (the cartesian product,
// in the order of the pointers sorted as strings, the last varying fastest) or {"points": [{"/json/pointer": value, ...},
// ...]}. Each point is keyed by the hash of its resolved config; its outputs go to
// OUT/points/<hash>/. A point whose report.json is complete is not run again, so
// re-running a sweep resumes it. A failed point is recorded with its error and does not stop
// the others. The aggregate is OUT/sweep.json and OUT/sweep.csv, in point order.

#include <cstdint>
#include <string>
#include <vector>

#include "sim/core/json_reader.h"

namespace lpsim::sweep {

struct Point {
  std::size_t index = 0;
  std::vector<std::pair<std::string, Json>> values;  // pointer -> value
  std::vector<std::string> overrides;                // "--set" arguments
  std::string hash;                                  // of the resolved config
};

// Reads the grid and resolves every point against the base config (ConfigError on any
// fault, naming the grid file and the pointer, before anything runs).
std::vector<Point> expand_grid(const std::string& base_config, const std::string& grid_file,
                               const std::vector<std::string>& base_overrides);

struct PointResult {
  std::string status;  // "ok", "failed", "skipped" (already done)
  int exit_code = 0;
  std::string error;   // last lines of the point's stderr when it failed
  Json report;         // the point's report.json (null when failed)
};

// Runs the points not yet done with `lpsim_binary run`, `jobs` at a time, and returns the
// results in point order. `progress` prints a bar on stderr unless quiet.
std::vector<PointResult> run_points(const std::string& lpsim_binary, const std::string& base_config,
                                    const std::vector<std::string>& base_overrides,
                                    const std::vector<Point>& points, const std::string& out_dir,
                                    int jobs, bool quiet);

// Writes OUT/sweep.json and OUT/sweep.csv (atomically).
void write_aggregate(const std::string& out_dir, const std::string& base_config,
                     const std::string& grid_file, const std::vector<Point>& points,
                     const std::vector<PointResult>& results);

std::string point_dir(const std::string& out_dir, const Point& point);

}  // namespace lpsim::sweep
