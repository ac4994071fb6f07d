// `lpsim check-config`: validates a configuration (and everything it names: network file,
// data set, checkpoint) without running it.

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "dataflow/training_graph.h"
#include "reports/energy.h"
#include "sim/cli/command.h"
#include "sim/cli/options.h"
#include "sim/config/config.h"
#include "sim/hardware/hardware_plan.h"
#include "sim/run/job.h"
#include "sim/run/resources.h"

namespace lpsim::cli {

int run_check_config(const std::vector<std::string>& args) {
  po::options_description options("check-config options");
  options.add_options()("config", po::value<std::string>()->default_value(""), "config JSON file")(
      "set", po::value<std::vector<std::string>>()->composing(), "override a config value")(
      "init-from", po::value<std::string>()->default_value(""), "a checkpoint to check as well")(
      "no-math", "check for a timing-only run")(
      "parameters",
      "print every configuration key (default, range, unit, meaning) as the "
      "markdown table of README \"Configuration\", and exit");
  po::variables_map vm;
  if (!parse_options("check-config", "--config FILE [--set /pointer=value ...]", options, args,
                     vm)) {
    return 0;
  }
  if (vm.count("parameters")) {
    std::fputs(config::parameters().markdown().c_str(), stdout);
    std::printf("\n`hw.energy`, the energy table (`reports/energy.cpp`), one key per row:\n\n");
    std::fputs(reports::energy_parameters().markdown("hw.energy.").c_str(), stdout);
    return 0;
  }
  const bool math = vm.count("no-math") == 0;
  const run::Job job = hardware::prepare_job(
      vm["config"].as<std::string>(),
      vm.count("set") ? vm["set"].as<std::vector<std::string>>() : std::vector<std::string>{},
      vm["init-from"].as<std::string>(), math);
  const run::MemoryEstimate mem = run::estimate_memory(job, math);
  run::check_resources(job, math);
  // The plan `lpsim run` would make: the SRAM must hold every task's staging tiles (refused
  // here as the run would be), on the processors the stage program or the schedule maps.
  const hardware::HardwarePlan hw_plan = hardware::plan_hardware(job);
  const dataflow::TrainingGraph& graph = hw_plan.graph;
  std::printf("%s: ok\n", job.config.source.c_str());
  std::printf("  network %s: %lld parameters, %zu parametrised layers, %d stages, max delay %lld\n",
              job.network.name.c_str(), static_cast<long long>(job.network.num_params()),
              job.units.units.size(), graph.num_stages,
              static_cast<long long>(graph.layers.empty() ? 0 : graph.layers.front().delay));
  std::printf("  data: %lld training and %lld test samples, %lld minibatches per epoch\n",
              static_cast<long long>(job.train.size()), static_cast<long long>(job.test.size()),
              static_cast<long long>(job.batches_per_epoch));
  std::printf("  estimated memory: %.3f GB (available %.3f GB)\n",
              static_cast<double>(mem.total()) / 1e9,
              static_cast<double>(run::available_memory()) / 1e9);
  {
    std::uint64_t staging = 0, dram = 0;
    for (const hw::Placement& pl : hw_plan.memory.pe) {
      staging = std::max(staging, pl.staging_bytes);
      for (auto b : pl.dram_bytes) dram += b;
    }
    std::printf(
        "  SRAM: %.3f MB per PE, at most %.3f MB of it staging; %.3f MB of residents in DRAM\n",
        static_cast<double>(job.config.hw.sram_capacity_bytes) / 1e6,
        static_cast<double>(staging) / 1e6, static_cast<double>(dram) / 1e6);
  }
  return 0;
}

}  // namespace lpsim::cli
