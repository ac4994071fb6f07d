#include "sim/run/job.h"

#include <filesystem>

#include "core/errors.h"
#include "workloads/data/checkpoint.h"
#include "workloads/data/synthetic.h"
#include "workloads/models/builtin.h"
#include "workloads/reference/params_io.h"
#include "workloads/reference/stability.h"

namespace lpsim::run {

core::Json StabilityAdvice::to_json() const {
  if (!computed) {
    if (!skipped.empty()) return {{"computed", false}, {"skipped", skipped}};
    return {{"computed", false}};
  }
  // Without positive curvature the quadratic model gives no bound: null, not 0.
  const bool bounded = lambda_max > 0.0;
  core::Json layers = core::Json::array();
  for (double v : layer_max_lr) layers.push_back(bounded ? core::Json(v) : core::Json(nullptr));
  return {{"computed", true},
          {"lambda_max", lambda_max},
          {"samples", samples},
          {"max_delay", max_delay},
          {"max_stable_lr", bounded ? core::Json(max_lr) : core::Json(nullptr)},
          {"lr_exceeds_bound", lr_exceeds},
          {"forward_rule", policies::forward_rule_name(forward_rule)},
          {"spike_compensation", spike_compensation},
          {"layer_max_stable_lr", layers}};
}

namespace {

std::string relative_to(const std::string& path, const std::string& config_path) {
  if (path.empty() || config_path.empty() || std::filesystem::path(path).is_absolute()) return path;
  const std::filesystem::path base = std::filesystem::path(config_path).parent_path();
  return (base / path).string();
}

void load_data(Job& job, bool need_samples) {
  const config::DatasetConfig& d = job.config.dataset;
  if (d.kind == "synthetic" && !need_samples) {
    auto shape_only = [&](std::int64_t count, const char* origin) {
      data::Dataset ds;
      ds.sample_shape = d.synthetic_shape;
      ds.num_classes = static_cast<int>(d.synthetic_classes);
      ds.labels.assign(static_cast<std::size_t>(count), 0);
      ds.origin = origin;
      return ds;
    };
    job.train = shape_only(
        d.train_limit > 0 ? std::min(d.train_limit, d.synthetic_train) : d.synthetic_train,
        "synthetic (shape only)");
    job.test =
        shape_only(d.test_limit > 0 ? std::min(d.test_limit, d.synthetic_test) : d.synthetic_test,
                   "synthetic (shape only)");
    return;
  }
  if (d.kind == "synthetic") {
    data::SyntheticSpec spec;
    spec.sample_shape = d.synthetic_shape;
    spec.num_classes = static_cast<int>(d.synthetic_classes);
    spec.train_count =
        d.train_limit > 0 ? std::min(d.train_limit, d.synthetic_train) : d.synthetic_train;
    spec.test_count =
        d.test_limit > 0 ? std::min(d.test_limit, d.synthetic_test) : d.synthetic_test;
    spec.seed = job.config.seed;
    spec.noise_std = d.synthetic_noise_std;
    job.train = data::make_synthetic(spec, data::Split::kTrain);
    job.test = data::make_synthetic(spec, data::Split::kTest);
    return;
  }
  if (!std::filesystem::is_directory(d.path)) {
    throw core::ConfigError(
        job.config.source, "/workload/dataset/path",
        "\"" + d.path +
            "\" is not a directory (Fashion-MNIST is in Debian's "
            "dataset-fashion-mnist package: /usr/share/datasets/fashion-mnist)");
  }
  job.train = data::load_fashion_mnist(d.path, data::Split::kTrain, d.train_limit);
  job.test = data::load_fashion_mnist(d.path, data::Split::kTest, d.test_limit);
}

}  // namespace

models::Network network_of_config(const config::Config& c, const std::string& config_path) {
  if (c.network_file) return models::load_network_file(relative_to(*c.network_file, config_path));
  const bool synthetic = c.dataset.kind == "synthetic";
  const ops::Shape shape = synthetic ? c.dataset.synthetic_shape : ops::Shape{1, 28, 28};
  const std::int64_t classes = synthetic ? c.dataset.synthetic_classes : 10;
  try {
    return models::builtin_model(c.model, shape, classes, c.time_steps);
  } catch (const core::ConfigError& e) {
    throw core::ConfigError(c.source, "/workload/model", e.problem());
  }
}

Job prepare_job(const std::string& config_path, const std::vector<std::string>& overrides,
                const std::string& init_from, bool need_samples) {
  Job job;
  job.config = config::load_config(config_path, overrides);
  config::Config& c = job.config;
  load_data(job, need_samples);
  if (c.network_file) {
    job.network = models::load_network_file(relative_to(*c.network_file, config_path));
    if (job.network.input_shape != job.train.sample_shape) {
      throw core::ConfigError(*c.network_file, "/input/shape",
                              "the network's input does not match the data set's samples (" +
                                  std::to_string(job.train.sample_shape.c) + "x" +
                                  std::to_string(job.train.sample_shape.h) + "x" +
                                  std::to_string(job.train.sample_shape.w) + ")");
    }
    if (job.network.num_classes != job.train.num_classes) {
      throw core::ConfigError(*c.network_file, "/layers",
                              "the network has " + std::to_string(job.network.num_classes) +
                                  " outputs but the data set " +
                                  std::to_string(job.train.num_classes) + " classes");
    }
  } else {
    try {
      job.network = models::builtin_model(c.model, job.train.sample_shape, job.train.num_classes,
                                          c.time_steps);
    } catch (const core::ConfigError& e) {
      throw core::ConfigError(c.source, "/workload/model", e.problem());
    }
  }
  job.units = models::group_units(job.network);
  job.partition =
      dataflow::partition_for_policy(job.units, *c.policy, c.stages, c.source, "/pipeline/stages");
  if (c.batch_size > job.train.size()) {
    throw core::ConfigError(c.source, "/workload/batch_size",
                            "found " + std::to_string(c.batch_size) + ", larger than the " +
                                std::to_string(job.train.size()) + " training samples");
  }
  job.batches_per_epoch = job.train.size() / c.batch_size;

  const std::string init_dir = !init_from.empty() ? init_from : c.init_from.value_or("");
  if (!init_dir.empty()) {
    const data::Checkpoint ck = data::read_checkpoint(init_dir);
    job.init = reference::params_from_checkpoint(job.network, job.units, ck);
  } else if (need_samples || job.train.images.rows() > 0) {
    // Without samples (a timing-only run on synthetic data) nothing reads the initial weights
    // (no math, no stability estimate): ResNet-18's 11 M random draws are skipped.
    job.init = reference::initial_parameters(job.network, job.units, c.seed);
  }

  reference::TrainerSettings& t = job.trainer;
  t.policy = c.policy;
  t.spike_compensation = c.spike_compensation;
  t.stage_of_unit = job.partition.stage_of_unit;
  t.num_stages = job.partition.num_stages;
  t.optimizer = c.optimizer;
  t.batch_size = c.batch_size;
  t.epochs = c.epochs;
  t.shuffle = c.dataset.shuffle;
  t.seed = c.seed;
  t.reconstruction_diagnostic = c.reconstruction_diagnostic;
  return job;
}

void advise_stability(Job& job) {
  if (!job.config.stability_check || job.train.images.rows() == 0) return;
  StabilityAdvice& a = job.stability;
  switch (job.config.optimizer.kind) {
    case ops::OptimizerKind::kSgd:
      break;
    case ops::OptimizerKind::kAdamw:  // the delay model is SGD's recursion (stability.h)
      a.skipped = "adamw";
      return;
  }
  const std::int64_t n = std::min<std::int64_t>(256, job.train.size());
  std::vector<std::int32_t> labels(job.train.labels.begin(), job.train.labels.begin() + n);
  const reference::CurvatureEstimate est = reference::estimate_curvature(
      job.network, job.units, job.init, job.train.images.topRows(n), labels, 12, job.config.seed);
  a.computed = true;
  a.lambda_max = est.lambda_max;
  a.samples = n;
  const std::vector<std::int64_t> delays =
      reference::layer_delays(job.trainer, static_cast<int>(job.units.units.size()));
  // The recursion of the policy's forward rule and of the update (stability.h).
  reference::DelayModel model;
  model.momentum = job.config.optimizer.momentum;
  model.forward = job.config.policy->forward;
  model.spike_compensation = job.config.spike_compensation;
  a.forward_rule = model.forward;
  a.spike_compensation = model.spike_compensation;
  const auto bound = [&](std::int64_t d) {
    model.delay = d;
    return a.lambda_max > 0.0 ? reference::max_stable_lr_curvature(model) / a.lambda_max : 0.0;
  };
  for (std::int64_t d : delays) {
    a.max_delay = std::max(a.max_delay, d);
    a.layer_max_lr.push_back(bound(d));
  }
  a.max_lr = bound(a.max_delay);
  a.lr_exceeds = a.lambda_max > 0.0 && job.config.optimizer.lr > a.max_lr;
}

}  // namespace lpsim::run
