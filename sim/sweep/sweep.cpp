#include "sim/sweep/sweep.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/exit_codes.h"
#include "sim/config/config.h"
#include "workloads/ops/parallel.h"

extern char** environ;

namespace lpsim::sweep {
namespace {

std::string set_argument(const std::string& pointer, const core::Json& value) {
  return pointer + "=" + value.dump();
}

std::string read_tail(const std::string& path, std::size_t max_chars) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (text.size() > max_chars) text = "..." + text.substr(text.size() - max_chars);
  return text;
}

}  // namespace

void draw_progress(std::size_t done, std::size_t failed, std::size_t total) {
  const int width = 30;
  const int filled = total == 0 ? width : static_cast<int>(width * done / total);
  std::fprintf(stderr, "\rsweep [%s%s] %zu/%zu done, %zu failed", std::string(filled, '#').c_str(),
               std::string(width - filled, '.').c_str(), done, total, failed);
  if (done == total) std::fprintf(stderr, "\n");
}

std::string point_dir(const std::string& out_dir, const Point& point) {
  return out_dir + "/points/" + point.hash;
}

std::size_t foreign_point_dirs(const std::string& out_dir, const std::vector<Point>& points) {
  std::set<std::string> mine;
  for (const Point& p : points) mine.insert(p.hash);
  std::size_t n = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(out_dir + "/points", ec)) {
    if (e.is_directory() && mine.count(e.path().filename().string()) == 0) ++n;
  }
  return n;
}

std::vector<Point> expand_grid(const std::string& base_config, const std::string& grid_file,
                               const std::vector<std::string>& base_overrides) {
  const core::Json doc = core::parse_json_file(grid_file);
  core::ObjectReader top(doc, grid_file, "");
  std::vector<std::vector<std::pair<std::string, core::Json>>> combos;
  if (top.has("grid") == top.has("points")) {
    throw core::ConfigError(grid_file, "",
                            "expected exactly one of \"grid\" (a cartesian product) or "
                            "\"points\" (an explicit list)");
  }
  if (top.has("grid")) {
    core::ObjectReader grid = top.object("grid");
    combos.push_back({});
    const core::Json& g = top.at("grid");
    if (g.empty()) grid.fail("", "expected at least one /json/pointer");
    for (auto it = g.begin(); it != g.end(); ++it) {
      const core::Json& values = grid.array(it.key());
      if (values.empty()) grid.fail(it.key(), "expected a non-empty list of values");
      std::vector<std::vector<std::pair<std::string, core::Json>>> next;
      for (const auto& c : combos) {
        for (const auto& v : values) {
          auto e = c;
          e.emplace_back(it.key(), v);
          next.push_back(e);
        }
      }
      combos = std::move(next);
      if (combos.size() > 100000) grid.fail(it.key(), "the grid has more than 100,000 points");
    }
    grid.finish();
  } else {
    const core::Json& points = top.array("points");
    if (points.empty()) top.fail("points", "expected at least one point");
    for (std::size_t i = 0; i < points.size(); ++i) {
      core::ObjectReader p(points[i], grid_file, core::pointer_append("/points", i));
      std::vector<std::pair<std::string, core::Json>> values;
      for (auto it = points[i].begin(); it != points[i].end(); ++it) {
        values.emplace_back(it.key(), p.at(it.key()));
      }
      combos.push_back(values);
    }
  }
  top.finish();
  std::vector<Point> out;
  std::map<std::string, std::size_t> seen;
  for (std::size_t i = 0; i < combos.size(); ++i) {
    Point p;
    p.index = i;
    p.values = combos[i];
    std::vector<std::string> sets = base_overrides;
    for (const auto& [ptr, value] : p.values) {
      p.overrides.push_back(set_argument(ptr, value));
      sets.push_back(p.overrides.back());
    }
    try {
      const config::Config c = config::load_config(base_config, sets);
      p.hash = config::config_hash(c.resolved);
    } catch (const core::ConfigError& e) {
      // Name the grid file: the value came from there.
      throw core::ConfigError(grid_file, "point " + std::to_string(i), e.what());
    }
    if (seen.count(p.hash)) {
      throw core::ConfigError(
          grid_file, "point " + std::to_string(i),
          "resolves to the same config as point " + std::to_string(seen[p.hash]));
    }
    seen[p.hash] = i;
    out.push_back(std::move(p));
  }
  return out;
}

bool point_complete(const std::string& out_dir, const Point& point) {
  const std::string report = point_dir(out_dir, point) + "/report.json";
  return std::filesystem::exists(report) &&
         core::parse_json_file(report).value("status", "") == "complete";
}

std::string resumable_checkpoint(const std::string& out_dir, const Point& point) {
  // `lpsim run --resume DIR` falls back to DIR.old, which a kill between the two renames
  // that replace a checkpoint leaves alone.
  const std::string dir = point_dir(out_dir, point) + "/checkpoint";
  for (const std::string& d : {dir, dir + ".old"}) {
    if (std::filesystem::exists(d + "/manifest.json")) return dir;
  }
  return "";
}

pid_t spawn_point(const Launch& launch, const Point& point) {
  const std::string dir = point_dir(launch.out_dir, point);
  std::filesystem::create_directories(dir);
  std::vector<std::string> args = {launch.binary, "run", "-q", "--out", dir};
  if (!launch.base_config.empty()) {
    args.push_back("--config");
    args.push_back(launch.base_config);
  }
  for (const auto& s : launch.overrides) {
    args.push_back("--set");
    args.push_back(s);
  }
  for (const auto& s : point.overrides) {
    args.push_back("--set");
    args.push_back(s);
  }
  if (launch.checkpoint_every > 0) {
    args.push_back("--checkpoint-every");
    args.push_back(std::to_string(launch.checkpoint_every));
  }
  const std::string resume = resumable_checkpoint(launch.out_dir, point);
  if (!resume.empty()) {
    args.push_back("--resume");
    args.push_back(resume);
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  const std::string err = dir + "/stderr.txt";
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, launch.binary.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw core::InternalError("cannot start " + launch.binary);
  return pid;
}

int wait_exit_code(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return 127;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

PointResult collect_point(const std::string& out_dir, const Point& point, int exit_code) {
  PointResult r;
  r.exit_code = exit_code;
  if (exit_code == 0 && point_complete(out_dir, point)) {
    r.status = "ok";
    r.report = core::parse_json_file(point_dir(out_dir, point) + "/report.json");
    // The run is done: its training state is no longer needed (it can be hundreds of MB).
    const std::string checkpoint = point_dir(out_dir, point) + "/checkpoint";
    std::filesystem::remove_all(checkpoint);
    std::filesystem::remove_all(checkpoint + ".old");
  } else {
    r.status = "failed";
    r.error = read_tail(point_dir(out_dir, point) + "/stderr.txt", 400);
  }
  return r;
}

std::vector<PointResult> run_points(const Launch& launch, const std::vector<Point>& points,
                                    int jobs, bool quiet, const ResultsCallback& on_results) {
  const std::string& out_dir = launch.out_dir;
  std::vector<PointResult> results(points.size());
  std::vector<std::size_t> todo;
  for (const auto& p : points) {
    if (point_complete(out_dir, p)) {
      results[p.index].status = "skipped";
      results[p.index].report = core::parse_json_file(point_dir(out_dir, p) + "/report.json");
    } else {
      todo.push_back(p.index);
    }
  }
  // Points that leave run.threads at 0 (automatic) share the cores instead of each taking all.
  const int per_point = std::max(1, ops::available_cores() / std::max(1, jobs));
  setenv(config::kAutoThreadsVariable, std::to_string(per_point).c_str(), 1);
  std::map<pid_t, std::size_t> running;
  std::vector<bool> resumed(points.size(), false);
  // A point refused for memory (exit kExitNotEnoughMemory) counted what the points beside it
  // held as it started: it is run again alone, once they have finished and before any other
  // point starts. Refused alone, it has failed.
  std::vector<bool> alone(points.size(), false), retried(points.size(), false);
  std::deque<std::size_t> retry;
  bool solo = false;  // a retried point is running
  std::size_t next = 0, done = points.size() - todo.size(), failed = 0;
  if (!quiet) draw_progress(done, failed, points.size());
  if (on_results) on_results(results);
  auto start = [&](std::size_t index) {
    const Point& p = points[index];
    resumed[index] = resumed[index] || !resumable_checkpoint(out_dir, p).empty();
    alone[index] = running.empty();
    running[spawn_point(launch, p)] = index;
  };
  while (next < todo.size() || !running.empty() || !retry.empty()) {
    if (!retry.empty() && running.empty()) {
      retried[retry.front()] = true;
      start(retry.front());
      retry.pop_front();
      solo = true;
    }
    while (retry.empty() && !solo && next < todo.size() &&
           static_cast<int>(running.size()) < jobs) {
      start(todo[next++]);
    }
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0) break;
    auto it = running.find(pid);
    if (it == running.end()) continue;
    const Point& p = points[it->second];
    running.erase(it);
    solo = false;  // a retried point runs alone, so it is the one that finished
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (code == core::kExitNotEnoughMemory && !alone[p.index]) {
      retry.push_back(p.index);
      continue;
    }
    results[p.index] = collect_point(out_dir, p, code);
    results[p.index].resumed = resumed[p.index];
    results[p.index].retried_alone = retried[p.index];
    if (results[p.index].status == "failed") ++failed;
    ++done;
    if (!quiet) draw_progress(done, failed, points.size());
    if (on_results) on_results(results);
  }
  return results;
}

const std::vector<std::string>& figure_names() {
  static const std::vector<std::string> names = {
      "total_cycles",     "cycles_per_minibatch",    "memory_total_bytes",
      "link_bytes",       "energy_per_minibatch_pj", "final_test_accuracy",
      "final_train_loss", "final_test_loss"};
  return names;
}

core::Json point_figure(const core::Json& report, const std::string& name) {
  if (report.is_null()) return core::Json();
  const core::Json summary = report.value("summary", core::Json::object());
  const core::Json training = report.value("training", core::Json::object());
  if (name == "memory_total_bytes") {
    return summary.contains("memory_peak_bytes")
               ? summary.at("memory_peak_bytes").value("total", core::Json())
               : core::Json();
  }
  if (name.rfind("final_", 0) == 0) return training.value(name, core::Json());
  return summary.value(name, core::Json());
}

namespace {

const char* const kSeedPointer = "/run/seed";

std::string csv_value(const core::Json& value) {
  std::string v = value.is_string() ? value.get<std::string>() : value.dump();
  for (char& c : v) c = c == ',' ? ';' : c;
  return v;
}

std::string csv_field(const core::Json& j) { return j.is_null() ? std::string() : j.dump(); }

core::Json figure_statistics(const std::vector<core::Json>& values) {
  std::vector<double> x;
  core::Json lo, hi;
  for (const auto& v : values) {
    if (!v.is_number()) continue;
    const double d = v.get<double>();
    if (x.empty() || d < lo.get<double>()) lo = v;
    if (x.empty() || d > hi.get<double>()) hi = v;
    x.push_back(d);
  }
  core::Json out = {
      {"count", x.size()}, {"mean", nullptr}, {"sd", nullptr}, {"min", lo}, {"max", hi}};
  if (x.empty()) return out;
  double sum = 0;
  for (double d : x) sum += d;
  const double mean = sum / static_cast<double>(x.size());
  out["mean"] = mean;
  if (x.size() > 1) {
    double squares = 0;
    for (double d : x) squares += (d - mean) * (d - mean);
    out["sd"] = std::sqrt(squares / static_cast<double>(x.size() - 1));
  }
  return out;
}

}  // namespace

core::Json group_points(const std::vector<Point>& points, const std::vector<PointResult>& results) {
  std::vector<core::Json> groups;
  std::vector<std::vector<std::size_t>> members;
  std::map<std::string, std::size_t> by_key;
  for (const auto& p : points) {
    core::Json values = core::Json::object();
    for (const auto& [ptr, value] : p.values) {
      if (ptr != kSeedPointer) values[ptr] = value;
    }
    const std::string key = values.dump();
    auto it = by_key.find(key);
    if (it == by_key.end()) {
      it = by_key.emplace(key, groups.size()).first;
      groups.push_back({{"values", values}});
      members.emplace_back();
    }
    members[it->second].push_back(p.index);
  }
  core::Json out = core::Json::array();
  for (std::size_t g = 0; g < groups.size(); ++g) {
    core::Json group = groups[g];
    core::Json indices = core::Json::array(), seeds = core::Json::array(),
               left_out = core::Json::array();
    std::vector<const core::Json*> reports;
    for (const std::size_t i : members[g]) {
      indices.push_back(i);
      const PointResult& r = results[i];
      if (r.report.is_null()) {
        left_out.push_back(i);
        continue;
      }
      reports.push_back(&r.report);
      core::Json seed =
          r.report.contains("run") ? r.report.at("run").value("seed", core::Json()) : core::Json();
      for (const auto& [ptr, value] : points[i].values) {
        if (ptr == kSeedPointer) seed = value;
      }
      seeds.push_back(seed);
    }
    core::Json figures = core::Json::object();
    for (const auto& name : figure_names()) {
      std::vector<core::Json> values;
      for (const core::Json* report : reports) values.push_back(point_figure(*report, name));
      figures[name] = figure_statistics(values);
    }
    group["points"] = indices;
    group["seeds"] = seeds;
    group["n"] = reports.size();
    group["left_out"] = left_out.size();
    group["left_out_points"] = left_out;
    group["figures"] = figures;
    out.push_back(group);
  }
  return out;
}

std::string groups_csv(const core::Json& groups) {
  std::vector<std::string> pointers;
  for (const auto& g : groups) {
    for (auto it = g.at("values").begin(); it != g.at("values").end(); ++it) {
      if (std::find(pointers.begin(), pointers.end(), it.key()) == pointers.end()) {
        pointers.push_back(it.key());
      }
    }
  }
  std::string csv = "group";
  for (const auto& ptr : pointers) csv += "," + ptr;
  csv += ",seeds,n,left_out";
  for (const auto& name : figure_names()) {
    csv += "," + name + "_mean," + name + "_sd," + name + "_min," + name + "_max";
  }
  csv += "\n";
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const core::Json& group = groups[g];
    csv += std::to_string(g);
    for (const auto& ptr : pointers) {
      const core::Json& values = group.at("values");
      csv += "," + (values.contains(ptr) ? csv_value(values.at(ptr)) : std::string());
    }
    std::string seeds;
    for (const auto& s : group.at("seeds")) seeds += (seeds.empty() ? "" : ";") + csv_value(s);
    csv += "," + seeds + "," + group.at("n").dump() + "," + group.at("left_out").dump();
    for (const auto& name : figure_names()) {
      const core::Json& f = group.at("figures").at(name);
      for (const char* stat : {"mean", "sd", "min", "max"}) csv += "," + csv_field(f.at(stat));
    }
    csv += "\n";
  }
  return csv;
}

void write_aggregate(const std::string& out_dir, const std::string& base_config,
                     const std::string& grid_file, const std::vector<Point>& points,
                     const std::vector<PointResult>& results) {
  core::Json list = core::Json::array();
  std::string csv = "index,hash";
  if (!points.empty()) {
    for (const auto& [ptr, value] : points.front().values) csv += "," + ptr;
  }
  csv += ",status";
  for (const auto& name : figure_names()) csv += "," + name;
  csv += "\n";
  for (const auto& p : points) {
    const PointResult& r = results[p.index];
    core::Json values = core::Json::object();
    for (const auto& [ptr, value] : p.values) values[ptr] = value;
    const bool ok = !r.report.is_null();
    // A point not yet run (status ""): the aggregate is rewritten as each point finishes.
    const char* status = ok ? "ok" : r.status.empty() ? "pending" : "failed";
    const core::Json summary = ok ? r.report.at("summary") : core::Json();
    const core::Json training = ok ? r.report.at("training") : core::Json();
    list.push_back({{"index", p.index},
                    {"hash", p.hash},
                    {"values", values},
                    {"status", status},
                    {"resumed", r.resumed},
                    {"retried_alone", r.retried_alone},
                    {"exit_code", r.exit_code},
                    {"error", r.error.empty() ? core::Json(nullptr) : core::Json(r.error)},
                    {"summary", summary},
                    {"final_test_accuracy", ok ? training.at("final_test_accuracy") : core::Json()},
                    {"final_train_loss", point_figure(r.report, "final_train_loss")},
                    {"final_test_loss", point_figure(r.report, "final_test_loss")}});
    csv += std::to_string(p.index) + "," + p.hash;
    for (const auto& [ptr, value] : p.values) csv += "," + csv_value(value);
    csv += std::string(",") + status;
    for (const auto& name : figure_names()) csv += "," + csv_field(point_figure(r.report, name));
    csv += "\n";
  }
  const core::Json groups = group_points(points, results);
  const core::Json doc = {
      {"base_config", base_config}, {"grid", grid_file}, {"points", list}, {"groups", groups}};
  std::filesystem::create_directories(out_dir);
  core::write_file_atomic(out_dir + "/sweep.csv", csv);
  core::write_file_atomic(out_dir + "/sweep_groups.csv", groups_csv(groups));
  core::write_file_atomic(out_dir + "/sweep.json", doc.dump(2) + "\n");
}

}  // namespace lpsim::sweep
