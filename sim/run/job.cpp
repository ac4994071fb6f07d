#include "sim/run/job.h"

#include <filesystem>

#include "core/errors.h"
#include "workloads/data/checkpoint.h"
#include "workloads/data/synthetic.h"
#include "workloads/data/tokens.h"
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

std::int64_t limited(std::int64_t limit, std::int64_t count) {
  return limit > 0 ? std::min(limit, count) : count;
}

data::SyntheticTokensSpec synthetic_tokens_spec(const config::Config& c) {
  const config::DatasetConfig& d = c.dataset;
  data::SyntheticTokensSpec spec;
  spec.context = d.synthetic_tokens_context;
  spec.vocab = d.synthetic_tokens_vocab;
  spec.train_count = limited(d.train_limit, d.synthetic_tokens_train);
  spec.test_count = limited(d.test_limit, d.synthetic_tokens_test);
  spec.seed = c.seed;
  return spec;
}

// workload.dataset.path of a `tokens` set: a directory holding both splits' files.
void check_tokens_directory(const config::Config& c) {
  const std::string& dir = c.dataset.path;
  if (!std::filesystem::is_directory(dir)) {
    throw core::ConfigError(c.source, "/workload/dataset/path",
                            "\"" + dir +
                                "\" is not a directory (a tokens data set is a directory "
                                "holding train.npy and test.npy; `lpsim tokens` makes one)");
  }
  for (const data::Split split : {data::Split::kTrain, data::Split::kTest}) {
    const std::filesystem::path file = std::filesystem::path(dir) / data::tokens_file_name(split);
    if (!std::filesystem::is_regular_file(file)) {
      throw core::ConfigError(c.source, "/workload/dataset/path",
                              "\"" + dir + "\" holds no " + data::tokens_file_name(split) +
                                  " (a tokens data set is a directory holding train.npy and "
                                  "test.npy; `lpsim tokens` makes one)");
    }
  }
}

// The context T and vocabulary V of the model a token set is loaded for: its input [T] and its
// classes (the head's outputs, the embedding's rows).
struct TokenModelShape {
  std::int64_t context = 0;
  std::int64_t vocab = 0;
};

TokenModelShape token_model_shape(const models::Network& net, const config::Config& c) {
  const std::string file = c.network_file.value_or(c.source);
  const std::string where = c.network_file ? "/input/shape" : "/workload/model";
  if (net.input_shape.h != 1 || net.input_shape.w != 1) {
    throw core::ConfigError(file, where,
                            "the network's input is " + std::to_string(net.input_shape.c) + "x" +
                                std::to_string(net.input_shape.h) + "x" +
                                std::to_string(net.input_shape.w) +
                                ", but a tokens data set needs [T], T token ids (the context)");
  }
  if (net.num_classes > data::kMaxTokenVocab) {
    throw core::ConfigError(file, "/layers",
                            "the network's vocabulary of " + std::to_string(net.num_classes) +
                                " tokens exceeds 2^24 = " + std::to_string(data::kMaxTokenVocab) +
                                ": token ids are held as exact float32 values");
  }
  return {net.input_shape.c, net.num_classes};
}

// A token data set (labels per sample > 1) is read by a model that starts with an embedding of
// token ids; any other model would read the ids as features.
void check_token_model(const models::Network& net, const config::Config& c) {
  if (net.token_input) return;
  throw core::ConfigError(
      c.network_file.value_or(c.source), c.network_file ? "/layers" : "/workload/model",
      "workload.dataset.kind \"" + c.dataset.kind + "\" holds token windows, but the network \"" +
          net.name +
          "\" does not read token ids (its input is not {\"shape\": [T], \"dtype\": "
          "\"int64\"} read by an embedding layer; ARCHITECTURE.md §3b)");
}

void load_data(Job& job, bool need_samples) {
  const config::DatasetConfig& d = job.config.dataset;
  if (d.kind == "synthetic_tokens") {
    const data::SyntheticTokensSpec spec = synthetic_tokens_spec(job.config);
    if (!need_samples) {
      auto shape_only = [&](std::int64_t count) {
        data::Dataset ds;
        ds.sample_shape = ops::Shape{spec.context, 1, 1};
        ds.labels_per_sample = spec.context;
        ds.num_classes = static_cast<int>(spec.vocab);
        ds.labels.assign(static_cast<std::size_t>(count * spec.context), 0);
        ds.origin = "synthetic_tokens (shape only)";
        return ds;
      };
      job.train = shape_only(spec.train_count);
      job.test = shape_only(spec.test_count);
      return;
    }
    job.train = data::make_synthetic_tokens(spec, data::Split::kTrain);
    job.test = data::make_synthetic_tokens(spec, data::Split::kTest);
    return;
  }
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
  if (c.dataset.kind == "tokens") {
    // The context and vocabulary are the model's (the files do not state V).
    if (!models::is_token_builtin(c.model)) {
      throw core::ConfigError(c.source, "/workload/model",
                              "found \"" + c.model +
                                  "\", but workload.dataset.kind \"tokens\" needs a token model "
                                  "(gpt_tiny, gpt_small or a network file whose input is "
                                  "{\"shape\": [T], \"dtype\": \"int64\"})");
    }
    return models::builtin_model(c.model);
  }
  const bool synthetic = c.dataset.kind == "synthetic";
  const bool synthetic_tokens = c.dataset.kind == "synthetic_tokens";
  const ops::Shape shape = synthetic          ? c.dataset.synthetic_shape
                           : synthetic_tokens ? ops::Shape{c.dataset.synthetic_tokens_context, 1, 1}
                                              : ops::Shape{1, 28, 28};
  const std::int64_t classes = synthetic          ? c.dataset.synthetic_classes
                               : synthetic_tokens ? c.dataset.synthetic_tokens_vocab
                                                  : 10;
  try {
    return models::builtin_model(c.model, shape, classes, c.time_steps);
  } catch (const core::ConfigError& e) {
    throw core::ConfigError(c.source, "/workload/model", e.problem());
  }
}

namespace {

// The network for a data set already loaded: a network file (which must match the samples'
// shape and classes) or a built-in model built for them.
models::Network network_for_data(const config::Config& c, const std::string& config_path,
                                 const data::Dataset& train) {
  if (c.network_file) {
    models::Network net = models::load_network_file(relative_to(*c.network_file, config_path));
    if (net.input_shape != train.sample_shape) {
      throw core::ConfigError(*c.network_file, "/input/shape",
                              "the network's input does not match the data set's samples (" +
                                  std::to_string(train.sample_shape.c) + "x" +
                                  std::to_string(train.sample_shape.h) + "x" +
                                  std::to_string(train.sample_shape.w) + ")");
    }
    if (net.num_classes != train.num_classes) {
      throw core::ConfigError(*c.network_file, "/layers",
                              "the network has " + std::to_string(net.num_classes) +
                                  " outputs but the data set " + std::to_string(train.num_classes) +
                                  " classes");
    }
    return net;
  }
  models::Network net;
  try {
    net = models::builtin_model(c.model, train.sample_shape, train.num_classes, c.time_steps);
  } catch (const core::ConfigError& e) {
    throw core::ConfigError(c.source, "/workload/model", e.problem());
  }
  // A built-in token model has its own context and vocabulary: the synthetic set must agree.
  if (net.token_input && c.dataset.kind == "synthetic_tokens") {
    if (net.input_shape != train.sample_shape) {
      throw core::ConfigError(c.source, "/workload/dataset/synthetic_tokens/context",
                              "found windows of " + std::to_string(train.sample_shape.c) +
                                  " tokens, but " + c.model + "'s context is " +
                                  std::to_string(net.input_shape.c));
    }
    if (net.num_classes != train.num_classes) {
      throw core::ConfigError(c.source, "/workload/dataset/synthetic_tokens/vocab",
                              "found a vocabulary of " + std::to_string(train.num_classes) +
                                  ", but " + c.model + "'s is " + std::to_string(net.num_classes));
    }
  }
  return net;
}

// A `tokens` set: the windows' length and the ids' range are the model's (ARCHITECTURE.md §3b),
// so the network comes first, then the files are loaded and checked for its context T and
// vocabulary V.
void load_token_data(Job& job, const std::string& config_path) {
  const config::Config& c = job.config;
  check_tokens_directory(c);
  job.network = network_of_config(c, config_path);
  check_token_model(job.network, c);
  const TokenModelShape shape = token_model_shape(job.network, c);
  job.train = data::load_tokens(c.dataset.path, data::Split::kTrain, shape.context, shape.vocab,
                                c.dataset.train_limit);
  job.test = data::load_tokens(c.dataset.path, data::Split::kTest, shape.context, shape.vocab,
                               c.dataset.test_limit);
}

}  // namespace

Job prepare_job(const std::string& config_path, const std::vector<std::string>& overrides,
                const std::string& init_from, bool need_samples) {
  Job job;
  job.config = config::load_config(config_path, overrides);
  config::Config& c = job.config;
  if (c.dataset.kind == "tokens") {
    load_token_data(job, config_path);
  } else {
    load_data(job, need_samples);
    job.network = network_for_data(c, config_path, job.train);
    if (c.dataset.kind == "synthetic_tokens") {
      check_token_model(job.network, c);
    } else if (job.network.token_input) {
      throw core::ConfigError(c.source, "/workload/dataset/kind",
                              "found \"" + c.dataset.kind + "\", but the network \"" +
                                  job.network.name +
                                  "\" reads token ids: give a tokens or synthetic_tokens set");
    }
  }
  job.units = models::group_units(job.network);
  job.partition =
      dataflow::partition_for_policy(job.units, *c.policy, c.stages, c.source, "/pipeline/stages");
  job.activations = dataflow::activations_per_stage(c.activations, job.partition.num_stages,
                                                    c.source, "/pipeline/activations");
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
  t.recompute_stage.clear();
  for (dataflow::ActivationChoice a : job.activations) {
    t.recompute_stage.push_back(a == dataflow::ActivationChoice::kRecompute);
  }
  t.optimizer = c.optimizer;
  t.numerics = c.hw.numerics;
  t.batch_size = c.batch_size;
  t.epochs = c.epochs;
  t.shuffle = c.dataset.shuffle;
  t.seed = c.seed;
  t.reconstruction_diagnostic = c.reconstruction_diagnostic;
  t.precise_bn_minibatches = c.precise_bn_minibatches;
  if (c.precise_bn_minibatches * c.batch_size > job.train.size()) {
    throw core::ConfigError(c.source, "/workload/precise_bn_minibatches",
                            "found " + std::to_string(c.precise_bn_minibatches) +
                                " minibatches of " + std::to_string(c.batch_size) +
                                " samples, expected at most the " +
                                std::to_string(job.train.size()) + " training samples");
  }
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
  std::vector<std::int32_t> labels(
      job.train.labels.begin(),
      job.train.labels.begin() + static_cast<std::ptrdiff_t>(n * job.train.labels_per_sample));
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
