// `lpsim schedule`: LayerPipe's task splits scheduled on 1..P processors, beside PipeDream.

#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "dataflow/schedule.h"
#include "sim/cli/command.h"
#include "sim/cli/options.h"
#include "sim/config/config.h"
#include "sim/hardware/cost_model.h"
#include "sim/hardware/memory_plan.h"
#include "sim/hardware/pipedream_plan.h"
#include "sim/run/job.h"

namespace lpsim::cli {
namespace {

std::vector<int> parse_procs(const std::string& text) {
  std::vector<int> out;
  std::stringstream in(text);
  std::string token;
  while (std::getline(in, token, ',')) {
    const auto dash = token.find('-');
    auto number = [&](const std::string& t) {
      if (t.empty() || t.size() > 4 || t.find_first_not_of("0123456789") != std::string::npos ||
          std::stoi(t) < 1 || std::stoi(t) > 4096) {
        throw core::UserError("", "--procs",
                              "found \"" + text + "\", expected counts such as 1,2,4 or 1-16");
      }
      return std::stoi(t);
    };
    if (dash != std::string::npos) {
      const int a = number(token.substr(0, dash)), b = number(token.substr(dash + 1));
      if (b < a) throw core::UserError("", "--procs", "empty range \"" + token + "\"");
      for (int p = a; p <= b; ++p) out.push_back(p);
    } else {
      out.push_back(number(token));
    }
  }
  if (out.empty()) throw core::UserError("", "--procs", "expected at least one processor count");
  return out;
}

}  // namespace

int run_schedule(const std::vector<std::string>& args) {
  po::options_description options("schedule options");
  options.add_options()("config", po::value<std::string>()->default_value(""),
                        "run config (network, stages, policy, batch, hw)")(
      "set", po::value<std::vector<std::string>>()->composing(), "override a config value")(
      "procs", po::value<std::string>()->default_value("1-16"), "processor counts: 1,2,4 or 1-16")(
      "json", "print JSON")("gantt", po::value<std::string>(),
                            "write the schedules as CSV (mode, processors, task, processor, "
                            "start, end, lag)");
  po::variables_map vm;
  if (!parse_options("schedule", "[--config FILE] [--procs 1-16] [--json] [--gantt FILE]", options,
                     args, vm)) {
    return 0;
  }
  const std::vector<int> procs = parse_procs(vm["procs"].as<std::string>());
  const std::string path = vm["config"].as<std::string>();
  const config::Config c =
      config::load_config(path, vm.count("set") ? vm["set"].as<std::vector<std::string>>()
                                                : std::vector<std::string>{});
  const models::Network network = run::network_of_config(c, path);
  const models::UnitGraph units = models::group_units(network);
  const dataflow::Partition partition =
      dataflow::partition_for_policy(units, *c.policy, c.stages, c.source, "/pipeline/stages");
  const dataflow::TrainingGraph graph =
      dataflow::build_training_graph(network, units, partition, *c.policy, c.batch_size,
                                     reference::update_cost(c.optimizer), {}, c.hw.numerics);
  const std::vector<hardware::WeightUnitSlot> weight_units =
      hardware::assign_weight_units(graph, network, units);
  const std::vector<hardware::TaskCost> costs = hardware::task_costs(graph, c.hw, weight_units);
  const hardware::NodeCycles cycles = hardware::node_cycles(costs);
  // Bytes every task moves through its PE's SRAM per minibatch (the same for every schedule).
  std::uint64_t sram_bytes = 0;
  for (const auto& k : costs) sram_bytes += k.sram_read_bytes + k.sram_write_bytes;
  const dataflow::LinkCost link = hardware::link_cost(c.hw);
  core::Json rows = core::Json::array();
  std::string gantt = "mode,processors,task,processor,start,end,lag\n";
  const dataflow::BackwardSplit modes[] = {dataflow::BackwardSplit::kFused,
                                           dataflow::BackwardSplit::kIntra,
                                           dataflow::BackwardSplit::kIntraInter};
  std::map<std::pair<int, int>, core::Json> by;  // (mode, P) -> row
  // The DRAM bytes a minibatch moves on this schedule's processors (hw.sram.capacity_bytes,
  // memory_plan.h), which its period does not count: a run stalls on them. Null when a
  // processor's SRAM cannot hold its largest task's tiles (lpsim run refuses the design).
  const auto dram_per_minibatch =
      [&](const dataflow::TrainingGraph& g, const std::vector<hardware::WeightUnitSlot>& slots,
          const dataflow::TaskGraph& tg, const dataflow::Schedule& s) -> core::Json {
    try {
      const hardware::MemoryPlan memory =
          hardware::plan_memory(g, dataflow::program_of(g, tg, s), slots, c.hw, c.source);
      std::uint64_t bytes = 0;
      for (const auto& n : memory.node) bytes += n.read_bytes + n.write_bytes;
      return bytes;
    } catch (const core::ConfigError&) {
      return nullptr;
    }
  };
  // A schedule's row and its Gantt lines, the same for every mode.
  const auto add = [&](int mi, const std::string& mode, int p, const dataflow::TaskGraph& tg,
                       const dataflow::Schedule& s, const core::Json& dram) {
    std::uint64_t busy = 0;
    for (auto b : s.busy_cycles) busy += b;
    by[{mi, p}] = {
        {"mode", mode},
        {"processors", p},
        {"tasks", tg.tasks.size()},
        {"period", s.period},
        {"modulo_period", s.modulo_period},
        {"lower_bound", s.lower_bound},
        {"speedup_vs_one", static_cast<double>(tg.total_cycles()) / s.period},
        {"utilization", static_cast<double>(busy) / (s.period * p)},
        {"bytes_per_minibatch", s.bytes_per_minibatch},
        {"link_bytes_fraction",
         static_cast<double>(s.bytes_per_minibatch) /
             static_cast<double>(std::max<std::uint64_t>(1, s.bytes_per_minibatch + sram_bytes))},
        {"dram_bytes_per_minibatch", dram},
        // The period the DRAM channels alone allow (their bytes per cycle, all busy):
        // a lower bound a run cannot beat, however the tasks are placed.
        {"dram_bound_period",
         dram.is_null() ? core::Json()
                        : core::Json(std::ceil(static_cast<double>(dram.get<std::uint64_t>()) /
                                               static_cast<double>(c.hw.dram_bytes_per_cycle *
                                                                   c.hw.dram_channels)))}};
    for (std::size_t v = 0; v < tg.tasks.size(); ++v) {
      gantt += mode + "," + std::to_string(p) + "," + tg.tasks[v].name + "," +
               std::to_string(s.processor[v]) + "," + std::to_string(s.start[v]) + "," +
               std::to_string(s.start[v] + tg.tasks[v].cycles) + "," +
               std::to_string(s.start[v] / s.modulo_period) + "\n";
    }
  };
  const int max_p = *std::max_element(procs.begin(), procs.end());
  const dataflow::ScheduleSweep sweep =
      dataflow::sweep_schedules(graph, cycles.node, cycles.tail, max_p, link, cycles.after_update);
  for (int mi = 0; mi < 3; ++mi) {
    for (int p : procs) {
      add(mi, dataflow::backward_split_name(modes[mi]), p, sweep.graphs[mi],
          sweep.schedules[mi][p - 1],
          dram_per_minibatch(graph, weight_units, sweep.graphs[mi], sweep.schedules[mi][p - 1]));
    }
  }
  // PipeDream (a pipelined policy only): its own contiguous stages on each P, 1F1B.
  const bool pipedream = c.policy->pipelined;
  if (pipedream) {
    for (int p : procs) {
      const hardware::PipeDreamPlan plan = hardware::plan_pipedream(network, units, c, p);
      add(3, "pipedream", p, plan.tasks, plan.schedule,
          dram_per_minibatch(plan.graph, hardware::assign_weight_units(plan.graph, network, units),
                             plan.tasks, plan.schedule));
      by[{3, p}]["stages"] = plan.partition.num_stages;
      by[{3, p}]["stage_of_unit"] = plan.partition.stage_of_unit;
      by[{3, p}]["partition_bottleneck"] = plan.partition.bottleneck;
    }
  }
  const int mode_count = pipedream ? 4 : 3;
  for (int p : procs) {
    for (int mi = 0; mi < mode_count; ++mi) {
      core::Json row = by[{mi, p}];
      const double period = row.at("period").get<double>();
      row["speedup_vs_fused"] = by[{0, p}].at("period").get<double>() / period;
      if (pipedream) row["speedup_vs_pipedream"] = by[{3, p}].at("period").get<double>() / period;
      rows.push_back(row);
    }
  }
  if (vm.count("gantt")) core::write_file_atomic(vm["gantt"].as<std::string>(), gantt);
  if (vm.count("json")) {
    std::cout << core::Json{{"model", network.name},
                            {"stages", partition.num_stages},
                            {"batch_size", c.batch_size},
                            {"schedules", rows}}
                     .dump(2)
              << "\n";
    return 0;
  }
  std::printf("%s, %d stages, batch %lld, %lldx%lld %s array; periods in cycles per minibatch\n",
              network.name.c_str(), partition.num_stages, static_cast<long long>(c.batch_size),
              static_cast<long long>(c.hw.pe_rows), static_cast<long long>(c.hw.pe_cols),
              hw::format_dataflow(c.hw.pe_dataflow));
  std::printf("%4s %14s %14s %14s %9s %9s %8s %14s %8s %14s %14s", "P", "fused", "intra",
              "intra+inter", "speedup", "vs fused", "util", "link B/mb", "link %", "DRAM B/mb",
              "DRAM bound");
  if (pipedream) std::printf(" %14s %6s %11s", "pipedream", "stages", "vs pipedr.");
  std::printf("\n");
  bool spills = false;
  for (int p : procs) {
    const core::Json& f = by[{0, p}];
    const core::Json& i = by[{1, p}];
    const core::Json& ii = by[{2, p}];
    std::printf("%4d %14.0f %14.0f %14.0f %9.2f %9.2f %7.1f%% %14llu %7.3f%%", p,
                f.at("period").get<double>(), i.at("period").get<double>(),
                ii.at("period").get<double>(), ii.at("speedup_vs_one").get<double>(),
                f.at("period").get<double>() / ii.at("period").get<double>(),
                100.0 * ii.at("utilization").get<double>(),
                static_cast<unsigned long long>(ii.at("bytes_per_minibatch").get<std::uint64_t>()),
                100.0 * ii.at("link_bytes_fraction").get<double>());
    const core::Json& dram = ii.at("dram_bytes_per_minibatch");
    if (dram.is_null()) {
      std::printf(" %14s %14s", "SRAM too small", "");
    } else {
      std::printf(" %14llu %14.0f", static_cast<unsigned long long>(dram.get<std::uint64_t>()),
                  ii.at("dram_bound_period").get<double>());
      spills = spills || dram.get<std::uint64_t>() > 0;
    }
    if (pipedream) {
      const core::Json& d = by[{3, p}];
      std::printf(" %14.0f %6d %11.2f", d.at("period").get<double>(), d.at("stages").get<int>(),
                  d.at("period").get<double>() / ii.at("period").get<double>());
    }
    std::printf("\n");
  }
  if (spills) {
    std::printf(
        "DRAM B/mb: residents beyond hw.sram.capacity_bytes (%llu per processor) move through "
        "DRAM; the periods do not count those stalls, lpsim run does. DRAM bound: the period "
        "the DRAM channels alone allow (%lld x %lld B/cycle), which no placement beats\n",
        static_cast<unsigned long long>(c.hw.sram_capacity_bytes),
        static_cast<long long>(c.hw.dram_channels),
        static_cast<long long>(c.hw.dram_bytes_per_cycle));
  }
  return 0;
}

}  // namespace lpsim::cli
