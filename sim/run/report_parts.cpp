#include "sim/run/report_parts.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "reports/report_writer.h"
#include "workloads/data/checkpoint.h"
#include "workloads/models/cost.h"
#include "workloads/ops/parallel.h"
#include "workloads/reference/params_io.h"

namespace lpsim::run {

core::Json report_head(const Job& job, const std::string& mode, bool interrupted) {
  core::Json report;
  report["schema_version"] = reports::kReportSchemaVersion;
  report["status"] = interrupted ? "interrupted" : "complete";
  report["mode"] = mode;
  report["policy"] = job.config.policy->name;
  report["spike_compensation"] = job.config.spike_compensation;
  report["config_hash"] = config::config_hash(job.config.resolved);
  report["run"] = {
      {"name", job.config.run_name}, {"seed", job.config.seed}, {"threads", ops::threads()}};
  report["network"] = network_json(job);
  // §2d: the formats the math ran under (and the hardware's bytes follow).
  core::Json numerics = core::Json::object();
  for (ops::TensorClass c : ops::kAllTensorClasses) {
    numerics[std::string(ops::tensor_class_name(c))] =
        std::string(ops::format_name(job.config.hw.numerics.of(c)));
  }
  numerics["rounding"] = std::string(ops::rounding_name(job.config.hw.numerics.rounding));
  report["numerics"] = numerics;
  return report;
}

core::Json training_json(const std::vector<reference::EpochResult>& epochs,
                         double final_test_accuracy, bool tokens) {
  // A token model's loss in bits per token (per byte for a byte vocabulary): nats / ln 2.
  auto bits = [](double nats) { return nats / std::log(2.0); };
  core::Json list = core::Json::array();
  for (const auto& e : epochs) {
    core::Json row = {{"epoch", e.epoch},
                      {"train_loss", e.train_loss},
                      {"train_accuracy", e.train_accuracy},
                      {"test_loss", e.test_loss},
                      {"test_accuracy", e.test_accuracy}};
    if (tokens) row["test_bits_per_token"] = bits(e.test_loss);
    if (e.precise_bn) {
      row["test_loss_running_stats"] = e.running_stats_test_loss;
      row["test_accuracy_running_stats"] = e.running_stats_test_accuracy;
    }
    list.push_back(row);
  }
  core::Json t = {{"epochs", list},
                  {"final_test_accuracy", final_test_accuracy},
                  {"final_test_loss",
                   epochs.empty() ? core::Json(nullptr) : core::Json(epochs.back().test_loss)},
                  {"final_train_loss",
                   epochs.empty() ? core::Json(nullptr) : core::Json(epochs.back().train_loss)}};
  if (!epochs.empty() && epochs.back().precise_bn) {
    t["final_test_accuracy_running_stats"] = epochs.back().running_stats_test_accuracy;
    t["final_test_loss_running_stats"] = epochs.back().running_stats_test_loss;
  }
  if (tokens) {
    t["final_test_bits_per_token"] =
        epochs.empty() ? core::Json(nullptr) : core::Json(bits(epochs.back().test_loss));
  }
  return t;
}

core::Json layers_json(const Job& job, const std::vector<std::int64_t>& delays,
                       const std::vector<reference::ReconstructionStats>& reconstruction,
                       const std::vector<std::int64_t>& measured_staleness) {
  core::Json rows = core::Json::array();
  for (std::size_t u = 0; u < job.units.units.size(); ++u) {
    const models::Layer& l = job.network.layers[job.units.units[u].layer];
    const bool measured = u < reconstruction.size() && reconstruction[u].measured > 0;
    rows.push_back(
        {{"name", l.name},
         {"type", l.type_name()},
         {"stage", job.partition.stage_of_unit[u]},
         {"delay", delays[u]},
         {"measured_staleness",
          u < measured_staleness.size() ? core::Json(measured_staleness[u]) : core::Json(nullptr)},
         {"parameters", l.num_params()},
         {"weight_elements", l.weight_size()},
         {"reconstruction_error",
          measured ? core::Json(reconstruction[u].mean()) : core::Json(nullptr)},
         {"reconstruction_samples", u < reconstruction.size() ? reconstruction[u].measured : 0}});
  }
  return rows;
}

core::Json network_json(const Job& job) {
  return {{"name", job.network.name},
          {"origin", job.network.origin},
          {"parameters", job.network.num_params()},
          {"parametrised_layers", job.units.units.size()},
          {"labels_per_sample", job.network.labels_per_sample},
          {"stages", job.partition.num_stages}};
}

namespace {

// The layer whose spikes a layer with a spike input reads: its input, followed back through
// ReLU and flatten (which pass spikes on unchanged and are not counted).
std::size_t spike_source(const models::Network& net, const models::Layer& layer) {
  int p = layer.inputs[0];
  while (!net.layers[p].type->counts_spikes()) {
    p = net.layers[p].inputs[0];
  }
  return static_cast<std::size_t>(p);
}

}  // namespace

core::Json ops_json(const Job& job, const std::vector<reference::SpikeStats>& spikes) {
  using models::Task;
  const std::int64_t batch = job.config.batch_size;
  const models::UpdateCost update = reference::update_cost(job.config.optimizer);
  const bool measured = spikes.size() == job.network.layers.size();
  std::int64_t slots = 0, accumulates = 0, vector_ops = 0;
  double events = 0.0;
  for (std::size_t i = 0; i < job.network.layers.size(); ++i) {
    const models::Layer& l = job.network.layers[i];
    for (Task t :
         {Task::kForward, Task::kBackwardActivation, Task::kBackwardWeight, Task::kUpdate}) {
      const models::Work w = models::layer_work(l, t, batch, update);
      slots += w.macs();
      accumulates += w.accumulates();
      vector_ops += w.vector_ops;
      // An event-driven array does an accumulate only where the spike operand is 1.
      if (w.accumulates() > 0 && measured) {
        events +=
            static_cast<double>(w.accumulates()) * spikes[spike_source(job.network, l)].rate();
      }
    }
  }
  core::Json rates = core::Json::array();
  for (std::size_t i = 0; measured && i < spikes.size(); ++i) {
    if (spikes[i].elements == 0) continue;
    const models::Layer& l = job.network.layers[i];
    rates.push_back({{"layer", l.name},
                     {"type", l.type_name()},
                     {"time_steps", l.out_time},
                     {"rate", spikes[i].rate()},
                     {"spikes", spikes[i].spikes},
                     {"elements", spikes[i].elements}});
  }
  return {{"per_minibatch",
           {{"gemm_slots", slots},
            {"multiply_accumulates", slots - accumulates},
            {"accumulates", accumulates},
            {"event_accumulates",
             accumulates > 0 && measured ? core::Json(events) : core::Json(nullptr)},
            {"vector_ops", vector_ops}}},
          {"spikes", rates}};
}

std::string summary_text(const core::Json& report) {
  std::string s;
  char line[512];
  const core::Json& net = report.at("network");
  std::snprintf(line, sizeof(line), "lpsim %s: %s, %lld parameters, %lld stages, policy %s\n",
                report.at("mode").get<std::string>().c_str(),
                net.at("name").get<std::string>().c_str(),
                static_cast<long long>(net.at("parameters").get<std::int64_t>()),
                static_cast<long long>(net.at("stages").get<std::int64_t>()),
                report.at("policy").get<std::string>().c_str());
  s += line;
  const core::Json& summary = report.at("summary");
  if (!summary.at("total_cycles").is_null()) {
    // Reference reports have no steady_state_from; hardware ones say whether one was found.
    const bool steady = summary.value("steady_state_from", std::int64_t{0}) >= 0;
    std::snprintf(line, sizeof(line),
                  "cycles: %lld total, %.0f per minibatch (%s), %.1f minibatches/s at %.3g ns\n",
                  static_cast<long long>(summary.at("total_cycles").get<std::int64_t>()),
                  summary.at("cycles_per_minibatch").get<double>(),
                  steady ? "steady state" : "no steady state: the slowest processor's rate",
                  summary.at("throughput_minibatches_per_s").get<double>(),
                  report.at("hw").at("period_ns").get<double>());
    s += line;
    std::snprintf(line, sizeof(line), "utilisation %.1f%%, bubble fraction %.1f%%\n",
                  100.0 * summary.at("utilization").get<double>(),
                  100.0 * summary.at("bubble_fraction").get<double>());
    s += line;
    const core::Json& mem = summary.at("memory_peak_bytes");
    std::snprintf(line, sizeof(line),
                  "memory peak: weights %.2f MB, optimizer %.2f MB, stash %.2f MB, EMA %.2f MB, "
                  "activations %.2f MB, total %.2f MB\n",
                  mem.at("weights").get<double>() / 1e6, mem.at("optimizer").get<double>() / 1e6,
                  mem.at("stash").get<double>() / 1e6, mem.at("ema").get<double>() / 1e6,
                  mem.at("activations").get<double>() / 1e6, mem.at("total").get<double>() / 1e6);
    s += line;
  }
  if (report.contains("energy") && !report.at("energy").is_null()) {
    const core::Json& en = report.at("energy");
    const core::Json& c = en.at("by_component_pj");
    const double total = std::max(1e-30, c.at("total").get<double>());
    auto pct = [&](const char* k) { return 100.0 * c.at(k).get<double>() / total; };
    std::snprintf(line, sizeof(line),
                  "energy: %.4g uJ per minibatch (%s): MAC %.1f%%, vector %.1f%%, SRAM %.1f%%, "
                  "DRAM %.1f%%, link %.1f%%, units %.1f%%, static %.1f%%\n",
                  en.at("per_minibatch_pj").get<double>() / 1e6,
                  en.at("source").get<std::string>().c_str(), pct("mac"), pct("vector"),
                  pct("sram"), pct("dram"), pct("link"), pct("units"), pct("static"));
    s += line;
  }
  const core::Json& ops = report.at("ops").at("per_minibatch");
  if (ops.at("accumulates").get<std::int64_t>() > 0) {
    std::snprintf(
        line, sizeof(line),
        "ops per minibatch: %.3g MACs, %.3g accumulates on spikes (%.3g if event-driven)\n",
        ops.at("multiply_accumulates").get<double>(), ops.at("accumulates").get<double>(),
        ops.at("event_accumulates").is_null() ? 0.0 : ops.at("event_accumulates").get<double>());
    s += line;
    for (const auto& sp : report.at("ops").at("spikes")) {
      std::snprintf(line, sizeof(line), "  %s (%s): firing rate %.4f\n",
                    sp.at("layer").get<std::string>().c_str(),
                    sp.at("type").get<std::string>().c_str(), sp.at("rate").get<double>());
      s += line;
    }
  }
  for (const auto& e : report.at("training").at("epochs")) {
    if (e.contains("test_bits_per_token")) {
      std::snprintf(line, sizeof(line),
                    "epoch %lld: train loss %.4f, test %.4f bits per token, next-token accuracy "
                    "%.2f%%\n",
                    static_cast<long long>(e.at("epoch").get<std::int64_t>()),
                    e.at("train_loss").get<double>(),
                    e.at("test_bits_per_token").is_number()
                        ? e.at("test_bits_per_token").get<double>()
                        : std::nan(""),
                    100.0 * e.at("test_accuracy").get<double>());
    } else if (e.contains("test_accuracy_running_stats")) {
      std::snprintf(line, sizeof(line),
                    "epoch %lld: train loss %.4f, test accuracy %.2f%% (precise BN; with the "
                    "running statistics %.2f%%)\n",
                    static_cast<long long>(e.at("epoch").get<std::int64_t>()),
                    e.at("train_loss").get<double>(), 100.0 * e.at("test_accuracy").get<double>(),
                    100.0 * e.at("test_accuracy_running_stats").get<double>());
    } else {
      std::snprintf(line, sizeof(line), "epoch %lld: train loss %.4f, test accuracy %.2f%%\n",
                    static_cast<long long>(e.at("epoch").get<std::int64_t>()),
                    e.at("train_loss").get<double>(), 100.0 * e.at("test_accuracy").get<double>());
    }
    s += line;
  }
  const core::Json& st = report.at("stability");
  if (st.value("computed", false) && !st.at("max_stable_lr").is_null()) {
    std::snprintf(line, sizeof(line),
                  "stability: lambda_max %.3g, largest stable lr at delay %lld is %.3g%s\n",
                  st.at("lambda_max").get<double>(),
                  static_cast<long long>(st.at("max_delay").get<std::int64_t>()),
                  st.at("max_stable_lr").get<double>(),
                  st.at("lr_exceeds_bound").get<bool>() ? " (the configured lr exceeds it)" : "");
    s += line;
  } else if (st.contains("skipped")) {
    s += "stability: not computed under " + st.at("skipped").get<std::string>() +
         " (the advisory models SGD with momentum)\n";
  }
  return s;
}

void save_weights(const Job& job, const std::vector<reference::UnitParams>& params,
                  const std::string& dir) {
  data::write_checkpoint(dir, reference::to_named_tensors(job.network, job.units, params),
                         core::Json{{"model", job.network.name}, {"run", job.config.run_name}});
}

}  // namespace lpsim::run
