// `lpsim run`: train a network on simulated pipelined hardware (or, with --reference, with
// the sequential reference trainer) and write a report.

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/exit_codes.h"
#include "core/interrupt.h"
#include "reports/report_writer.h"
#include "sim/cli/command.h"
#include "sim/cli/options.h"
#include "sim/hardware/hardware_plan.h"
#include "sim/hardware/hardware_report.h"
#include "sim/hardware/pipeline.h"
#include "sim/run/job.h"
#include "sim/run/report_parts.h"
#include "sim/run/resources.h"
#include "workloads/ops/parallel.h"

namespace lpsim::cli {
namespace {

void print_progress(const char* what, std::int64_t done, std::int64_t total) {
  if (done != total && done % std::max<std::int64_t>(1, total / 20) != 0) return;
  std::fprintf(stderr, "\r%s: %lld/%lld beats", what, static_cast<long long>(done),
               static_cast<long long>(total));
  if (done == total) std::fprintf(stderr, "\n");
}

core::Json reference_report(run::Job& job, const reference::TrainingResult& r) {
  core::Json report = run::report_head(job, "reference", r.interrupted);
  report["hw"] = nullptr;
  report["summary"] = {{"total_cycles", nullptr},
                       {"cycles_per_minibatch", nullptr},
                       {"minibatches", r.minibatches},
                       {"final_test_accuracy", r.final_test_accuracy},
                       {"final_test_loss", r.final_test_loss}};
  report["layers"] = run::layers_json(job, r.delays, r.reconstruction, {});
  report["ops"] = run::ops_json(job, r.spikes);
  report["units"] = core::Json::object();
  report["energy"] = nullptr;
  report["training"] = run::training_json(r.epochs, r.final_test_accuracy, job.network.token_input);
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
      "init-from", po::value<std::string>()->default_value(""),
      "initial weights: a checkpoint directory")(
      "save-weights", po::value<std::string>(),
      "write the final weights as a checkpoint directory")(
      "no-math", "timing only: skip the layer math (no training curve)")(
      "trace", po::value<std::string>(), "write a Chrome trace-event timeline (Perfetto) to FILE")(
      "trace-minibatches", po::value<std::string>()->default_value("0:16"),
      "the minibatches A:B the trace covers (half-open)")(
      "checkpoint-every", po::value<std::int64_t>()->default_value(0),
      "save the whole training state every N minibatches (hardware runs)")(
      "checkpoint-dir", po::value<std::string>(), "where (default: OUT/checkpoint)")(
      "resume", po::value<std::string>(), "continue from a checkpoint (same config and --set)")(
      "threads", po::value<int>(),
      "threads for the math of each task (same as --set /run/threads=N; 0: every core)")(
      "quiet,q", "no progress on stderr");
  po::variables_map vm;
  if (!parse_options("run", "[--config FILE] [--set /pointer=value ...] [--out DIR] [--reference]",
                     options, args, vm)) {
    return 0;
  }
  const auto start = std::chrono::steady_clock::now();
  core::install_interrupt_handlers();
  std::vector<std::string> sets =
      vm.count("set") ? vm["set"].as<std::vector<std::string>>() : std::vector<std::string>{};
  if (vm.count("threads"))
    sets.push_back("/run/threads=" + std::to_string(vm["threads"].as<int>()));
  run::Job job = hardware::prepare_job(vm["config"].as<std::string>(), sets,
                                       vm["init-from"].as<std::string>(), vm.count("no-math") == 0);
  const std::string out =
      vm.count("out") ? vm["out"].as<std::string>() : "out/" + job.config.run_name;
  const bool quiet = vm.count("quiet") > 0;
  ops::set_threads(config::resolved_threads(job.config));
  run::check_resources(job, vm.count("no-math") == 0);

  run::advise_stability(job);
  if (job.stability.lr_exceeds) {
    std::fprintf(stderr,
                 "lpsim: warning: lr %.3g exceeds the largest stable learning rate %.3g for the "
                 "deepest delay (%lld) at the estimated curvature %.3g; training may diverge\n",
                 job.config.optimizer.lr, job.stability.max_lr,
                 static_cast<long long>(job.stability.max_delay), job.stability.lambda_max);
  }
  core::Json report;
  core::Json trace;
  std::vector<reference::UnitParams> final_params;
  if (vm.count("reference")) {
    if (vm.count("no-math"))
      throw core::UserError("", "--no-math", "the reference trainer is all math");
    reference::TrainingResult result = reference::train_reference(
        job.network, job.units, job.trainer, job.init, job.train, job.test,
        quiet ? std::function<void(std::int64_t, std::int64_t)>()
              : [](std::int64_t d, std::int64_t t) { print_progress("reference", d, t); },
        core::interrupt_requested);
    report = reference_report(job, result);
    final_params = std::move(result.final_params);
  } else {
    hardware::RunOptions ro;
    ro.math = vm.count("no-math") == 0;
    ro.stop = core::interrupt_requested;
    ro.config_hash = config::config_hash(job.config.resolved);
    ro.checkpoint_every = vm["checkpoint-every"].as<std::int64_t>();
    if (ro.checkpoint_every < 0) {
      throw core::UserError("", "--checkpoint-every",
                            "found " + std::to_string(ro.checkpoint_every) +
                                ", expected a number of minibatches >= 0");
    }
    ro.checkpoint_dir =
        vm.count("checkpoint-dir") ? vm["checkpoint-dir"].as<std::string>() : out + "/checkpoint";
    if (vm.count("resume")) {
      if (!ro.math)
        throw core::UserError("", "--resume", "a timing-only run has no training state to resume");
      ro.resume_dir = vm["resume"].as<std::string>();
      // A kill between the two renames that replace a checkpoint leaves only DIR.old.
      if (!std::filesystem::exists(ro.resume_dir) &&
          std::filesystem::exists(ro.resume_dir + ".old")) {
        ro.resume_dir += ".old";
      }
    }
    if (vm.count("trace")) {
      const std::string window = vm["trace-minibatches"].as<std::string>();
      const auto colon = window.find(':');
      auto number = [&](const std::string& t) -> std::int64_t {
        if (t.empty() || t.size() > 12 || t.find_first_not_of("0123456789") != std::string::npos) {
          throw core::UserError("", "--trace-minibatches",
                                "found \"" + window + "\", expected A:B such as 0:16");
        }
        return std::stoll(t);
      };
      if (colon == std::string::npos) {
        throw core::UserError("", "--trace-minibatches",
                              "found \"" + window + "\", expected A:B such as 0:16");
      }
      ro.trace_begin = number(window.substr(0, colon));
      ro.trace_end = number(window.substr(colon + 1));
      if (ro.trace_end <= ro.trace_begin || ro.trace_end - ro.trace_begin > 10000) {
        throw core::UserError(
            "", "--trace-minibatches",
            "found \"" + window + "\", expected A < B with at most 10000 minibatches");
      }
    }
    if (!quiet)
      ro.progress = [](std::int64_t d, std::int64_t t) { print_progress("hardware", d, t); };
    const hardware::HardwarePlan plan = hardware::plan_hardware(job);
    hardware::HardwareResult result = hardware::run_hardware(job, plan, ro);
    report = hardware::hardware_report(job, plan, result, ro.math);
    final_params = std::move(result.final_params);
    trace = std::move(result.trace);
  }
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  report["meta"] = reports::report_meta(wall);
  if (vm.count("save-weights")) {
    if (final_params.empty())
      throw core::UserError("", "--save-weights", "a --no-math run has no weights");
    run::save_weights(job, final_params, vm["save-weights"].as<std::string>());
  }
  if (vm.count("trace") && vm.count("reference")) {
    throw core::UserError("", "--trace", "the reference trainer has no hardware timeline");
  }
  reports::write_run_outputs(out, report, job.config.resolved);
  if (vm.count("trace"))
    core::write_file_atomic(vm["trace"].as<std::string>(), trace.dump() + "\n");
  std::cout << run::summary_text(report) << "report: " << out << "/report.json\n";
  if (report.at("status") == "interrupted") {
    std::cerr << "lpsim: interrupted: " << report.at("summary").at("minibatches")
              << " minibatches trained and drained; the report is marked \"interrupted\"\n";
    return core::kExitInterrupted;
  }
  return core::kExitOk;
}

}  // namespace lpsim::cli
