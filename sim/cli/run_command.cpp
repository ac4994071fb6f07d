// `lpsim run`: train a network on simulated pipelined hardware (or, with --reference, with
// the sequential reference trainer) and write a report.

#include <chrono>
#include <cstdio>
#include <iostream>

#include "reports/report_writer.h"
#include "sim/cli/command.h"
#include "sim/cli/options.h"
#include "sim/core/errors.h"
#include "sim/run/job.h"
#include "sim/run/report_parts.h"

namespace lpsim::cli {
namespace {

void print_progress(const char* what, std::int64_t done, std::int64_t total) {
  if (done != total && done % std::max<std::int64_t>(1, total / 20) != 0) return;
  std::fprintf(stderr, "\r%s: %lld/%lld beats", what, static_cast<long long>(done),
               static_cast<long long>(total));
  if (done == total) std::fprintf(stderr, "\n");
}

Json reference_report(run::Job& job, const reference::TrainingResult& r) {
  Json report;
  report["schema_version"] = reports::kReportSchemaVersion;
  report["status"] = "complete";
  report["mode"] = "reference";
  report["policy"] = models::weight_policy_name(job.config.policy);
  report["config_hash"] = config::config_hash(job.config.resolved);
  report["run"] = {{"name", job.config.run_name}, {"seed", job.config.seed}};
  report["network"] = run::network_json(job);
  report["hw"] = nullptr;
  report["summary"] = {{"total_cycles", nullptr},
                       {"cycles_per_minibatch", nullptr},
                       {"minibatches", r.minibatches},
                       {"final_test_accuracy", r.final_test_accuracy},
                       {"final_test_loss", r.final_test_loss}};
  report["layers"] = run::layers_json(job, r.delays, r.reconstruction, {});
  report["units"] = Json::object();
  report["training"] = run::training_json(r.epochs);
  report["stability"] = job.stability.to_json();
  return report;
}

}  // namespace

int run_run(const std::vector<std::string>& args) {
  po::options_description options("run options");
  options.add_options()("config", po::value<std::string>()->default_value(""),
                        "config JSON file (default: the built-in default job)")(
      "set", po::value<std::vector<std::string>>()->composing(),
      "override a config value: --set /workload/batch_size=64 (repeatable)")(
      "out", po::value<std::string>(), "output directory (default: out/<run.name>)")(
      "reference", "train with the sequential reference trainer (no hardware model)")(
      "init-from", po::value<std::string>()->default_value(""), "initial weights: a checkpoint directory")(
      "save-weights", po::value<std::string>(), "write the final weights as a checkpoint directory")(
      "quiet,q", "no progress on stderr");
  po::variables_map vm;
  if (!parse_options("run", "[--config FILE] [--set /pointer=value ...] [--out DIR] [--reference]",
                     options, args, vm)) {
    return 0;
  }
  const auto start = std::chrono::steady_clock::now();
  const std::vector<std::string> sets =
      vm.count("set") ? vm["set"].as<std::vector<std::string>>() : std::vector<std::string>{};
  run::Job job = run::prepare_job(vm["config"].as<std::string>(), sets,
                                  vm["init-from"].as<std::string>());
  const std::string out = vm.count("out") ? vm["out"].as<std::string>() : "out/" + job.config.run_name;
  const bool quiet = vm.count("quiet") > 0;

  run::advise_stability(job);
  if (job.stability.lr_exceeds) {
    std::fprintf(stderr,
                 "lpsim: warning: lr %.3g exceeds the largest stable learning rate %.3g for the "
                 "deepest delay (%lld) at the estimated curvature %.3g; training may diverge\n",
                 job.config.optimizer.lr, job.stability.max_lr,
                 static_cast<long long>(job.stability.max_delay), job.stability.lambda_max);
  }
  if (!vm.count("reference")) {
    throw UserError("", "run", "the hardware simulation is not available in this build yet; "
                               "use --reference");
  }
  const reference::TrainingResult result = reference::train_reference(
      job.network, job.units, job.trainer, job.init, job.train, job.test,
      quiet ? std::function<void(std::int64_t, std::int64_t)>()
            : [](std::int64_t d, std::int64_t t) { print_progress("reference", d, t); });
  Json report = reference_report(job, result);
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  report["meta"] = reports::report_meta(wall);
  if (vm.count("save-weights")) run::save_weights(job, result.final_params, vm["save-weights"].as<std::string>());
  reports::write_run_outputs(out, report, job.config.resolved);
  std::cout << run::summary_text(report) << "report: " << out << "/report.json\n";
  return 0;
}

}  // namespace lpsim::cli
