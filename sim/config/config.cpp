#include "sim/config/config.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <utility>

#include "core/errors.h"
#include "core/param_table.h"
#include "dataflow/schedule.h"
#include "hw_models/common/memory_kind.h"
#include "hw_models/memory/placement.h"
#include "hw_models/pe/pe_types.h"
#include "workloads/models/builtin.h"
#include "workloads/ops/optimizer.h"
#include "workloads/ops/parallel.h"

namespace lpsim::config {
namespace {

// "fp32, fp16, bf16, fp8_e4m3, fp8_e5m2": the formats of §2d, as the library names them.
std::string format_list() {
  std::string names;
  for (ops::NumberFormat f : ops::kAllNumberFormats) {
    names += (names.empty() ? "" : ", ") + std::string(ops::format_name(f));
  }
  return names;
}

void merge_into(core::Json& base, const core::Json& over) {
  if (!base.is_object() || !over.is_object()) {
    base = over;
    return;
  }
  for (auto it = over.begin(); it != over.end(); ++it) {
    if (base.contains(it.key()) && base[it.key()].is_object() && it.value().is_object()) {
      merge_into(base[it.key()], it.value());
    } else {
      base[it.key()] = it.value();
    }
  }
}

void apply_override(core::Json& doc, const std::string& text) {
  const auto eq = text.find('=');
  if (text.empty() || text[0] != '/' || eq == std::string::npos) {
    throw core::ConfigError("--set", text,
                            "expected /json/pointer=value, e.g. /workload/batch_size=64");
  }
  const std::string pointer = text.substr(0, eq);
  const std::string value_text = text.substr(eq + 1);
  core::Json value;
  try {
    value = core::Json::parse(value_text);
  } catch (const core::Json::parse_error&) {
    value = value_text;  // a bare word is a string: --set /pipeline/policy=stash
    // A string must be UTF-8 to be written back (found by fuzzing).
    if (!core::is_valid_utf8(value_text)) {
      throw core::ConfigError("--set", pointer, "the value is not valid UTF-8");
    }
  } catch (const core::Json::exception& e) {
    // e.g. a number beyond double ("1e400"; found by fuzzing)
    std::string what = e.what();
    const auto bracket = what.find("] ");
    if (bracket != std::string::npos) what = what.substr(bracket + 2);
    throw core::ConfigError("--set", pointer, "not a valid value: " + what);
  }
  core::Json::json_pointer ptr;
  try {
    ptr = core::Json::json_pointer(pointer);
  } catch (const core::Json::exception& e) {
    throw core::ConfigError("--set", pointer, std::string("not a JSON pointer: ") + e.what());
  }
  const core::Json::json_pointer parent = ptr.parent_pointer();
  if (!doc.contains(parent) || !doc.at(parent).is_object()) {
    throw core::ConfigError("--set", pointer,
                            "its parent " + parent.to_string() + " is not an object of the config");
  }
  doc[ptr] = value;
}

ops::Shape read_shape(core::ObjectReader& r, const std::string& key) {
  const core::Json& a = r.array(key);
  if (a.size() != 1 && a.size() != 3)
    r.fail(key, "expected [features] or [channels, height, width]");
  std::int64_t d[3] = {1, 1, 1};
  for (std::size_t i = 0; i < a.size(); ++i) {
    d[i] = core::json_integer(a[i], r.file(), core::pointer_append(r.pointer(key), i), 1, 4096);
  }
  return {d[0], d[1], d[2]};
}

// workload.optimizer.betas: [β1, β2], each in [0, 1) (torch.optim.AdamW's domain).
std::pair<double, double> read_betas(core::ObjectReader& r, const std::string& key) {
  const core::Json& a = r.array(key);
  if (a.size() != 2) r.fail(key, "found " + core::describe_value(a) + ", expected [β1, β2]");
  double b[2] = {0.0, 0.0};
  for (std::size_t i = 0; i < 2; ++i) {
    const std::string where = core::pointer_append(r.pointer(key), i);
    if (!a[i].is_number() || !(a[i].get<double>() >= 0.0 && a[i].get<double>() < 1.0)) {
      throw core::ConfigError(
          r.file(), where, "found " + core::describe_value(a[i]) + ", expected a number in [0, 1)");
    }
    b[i] = a[i].get<double>();
  }
  return {b[0], b[1]};
}

// hw.sram.placement's default: the order residents fill the SRAM (ARCHITECTURE.md §4b), as
// hw_models/memory/placement.h declares it.
core::Json default_placement() {
  core::Json order = core::Json::array();
  for (const hw::MemoryKind kind : hw::default_placement_order()) {
    order.push_back(hw::memory_kind_name(kind));
  }
  return order;
}

// "weights, optimizer, ... <last_joiner> activations": every kind, in the default order.
std::string kind_list(const char* last_joiner) {
  std::string out;
  const auto& order = hw::default_placement_order();
  for (std::size_t i = 0; i < order.size(); ++i) {
    if (i > 0) out += i + 1 == order.size() ? last_joiner : ", ";
    out += hw::memory_kind_name(order[i]);
  }
  return out;
}

std::vector<hw::MemoryKind> read_placement(core::ObjectReader& r, const std::string& key) {
  const core::Json& order = r.array(key);
  std::vector<bool> seen(hw::kMemoryKinds, false);
  std::vector<hw::MemoryKind> out;
  for (std::size_t i = 0; i < order.size(); ++i) {
    const std::string where = core::pointer_append(r.pointer(key), i);
    const auto kind = order[i].is_string() ? hw::try_parse_memory_kind(order[i].get<std::string>())
                                           : std::nullopt;
    if (!kind) {
      throw core::ConfigError(r.file(), where,
                              "found " + core::describe_value(order[i]) +
                                  ", expected a resident kind: " + kind_list(" or "));
    }
    if (seen[static_cast<std::size_t>(*kind)]) {
      throw core::ConfigError(r.file(), where,
                              "\"" + order[i].get<std::string>() + "\" appears twice");
    }
    seen[static_cast<std::size_t>(*kind)] = true;
    out.push_back(*kind);
  }
  if (out.size() != hw::kMemoryKinds) {
    throw core::ConfigError(r.file(), r.pointer(key),
                            "expected every resident kind once (" + kind_list(", ") + "), found " +
                                std::to_string(out.size()));
  }
  return out;
}

// Every key of the configuration, once: its default, what it accepts, its unit and meaning
// (README "Configuration" is this table: `lpsim check-config --parameters`), and where it goes.
// hw.numerics (ARCHITECTURE.md §2d): a format per tensor class, and the rounding.
std::vector<core::Param<Config>> with_numerics(std::vector<core::Param<Config>> params) {
  const auto formats = [] {
    std::vector<std::string> names;
    for (ops::NumberFormat f : ops::kAllNumberFormats) {
      names.emplace_back(ops::format_name(f));
    }
    return names;
  };
  const std::map<ops::TensorClass, std::string> meaning = {
      {ops::TensorClass::kWeights, "the copy of W and b that F and Ba read"},
      {ops::TensorClass::kActivations,
       "the network's input and every layer's output, as stored for Bw, sent and read"},
      {ops::TensorClass::kActivationGradients,
       "the loss gradient and every layer's input gradient, as sent and read"},
      {ops::TensorClass::kWeightGradients, "Bw's result, before the update reads it"},
      {ops::TensorClass::kMaster, "master weights and optimizer state: `fp32` or `bf16`"},
      {ops::TensorClass::kStash, "a stash version, the master W^(m) rounded when stored"},
      {ops::TensorClass::kEma, "the EMA tensor, rounded when stored"},
      {ops::TensorClass::kAccumulate,
       "the MAC array's accumulator: narrower than fp32, K is summed in fp32 in chunks of "
       "`hw.pe.rows` k, each added into it with a rounding (nearest even, unscaled)"}};
  for (ops::TensorClass tc : ops::kAllTensorClasses) {
    const std::string name(ops::tensor_class_name(tc));
    const bool master = tc == ops::TensorClass::kMaster;
    params.push_back(core::choice_param<Config>(
        "/hw/numerics/" + name, "fp32",
        master ? std::function<std::vector<std::string>()>([] {
          return std::vector<std::string>{"fp32", "bf16"};
        })
               : std::function<std::vector<std::string>()>(formats),
        meaning.at(tc) + " (§2d)",
        [tc](Config& c, const std::string& v) { c.hw.numerics.of(tc) = *ops::parse_format(v); }));
  }
  params.push_back(core::choice_param<Config>(
      "/hw/numerics/rounding", "nearest_even",
      [] {
        return std::vector<std::string>{"nearest_even", "stochastic"};
      },
      "every class's rounding; `stochastic` draws from a counter of (run.seed, tensor, element, "
      "minibatch), so runs repeat bit for bit",
      [](Config& c, const std::string& v) { c.hw.numerics.rounding = *ops::parse_rounding(v); }));
  return params;
}

const core::ParamTable<Config>& build_parameters() {
  using core::boolean_param;
  using core::choice_param;
  using core::integer_param;
  using core::nullable_integer_param;
  using core::nullable_string_param;
  using core::number_param;
  using core::optional;
  using core::Param;
  using core::string_param;
  constexpr std::int64_t k2p30 = std::int64_t{1} << 30;
  constexpr std::int64_t k2p40 = std::int64_t{1} << 40;
  constexpr std::int64_t k2p50 = std::int64_t{1} << 50;
  static const core::ParamTable<Config> table(with_numerics({
      string_param<Config>("/run/name", "default", "string", "output directory `out/<name>`",
                           [](Config& c, const std::string& v) { c.run_name = v; }),
      integer_param<Config>(
          "/run/seed", 1, 0, std::int64_t{1} << 53, "", "initialisation, shuffling, synthetic data",
          [](Config& c, std::int64_t v) { c.seed = static_cast<std::uint64_t>(v); }),
      integer_param<Config>(
          "/run/threads", 0, 0, 1024, "threads",
          "threads the math inside each task runs on (SystemC itself stays on one); 0: every "
          "core this process may use, or in a `lpsim sweep` point the cores divided by `-j`. "
          "Changes no result and not the config hash (see \"Threads\")",
          [](Config& c, std::int64_t v) { c.threads = static_cast<int>(v); }),
      string_param<Config>("/workload/model", "mlp3", "a built-in name (`lpsim models`)",
                           "ignored when `network_file` is set",
                           [](Config& c, const std::string& v) { c.model = v; }),
      nullable_string_param<Config>(
          "/workload/network_file", "path", "a network file (relative to the config file)",
          [](Config& c, const std::optional<std::string>& v) { c.network_file = v; }),
      nullable_integer_param<Config>(
          "/workload/time_steps", 1, 4096, "steps",
          "T of a built-in spiking model (`snn3`, `sconv3`) without a `network_file`; null: 8",
          [](Config& c, std::optional<std::int64_t> v) { c.time_steps = v.value_or(0); }),
      choice_param<Config>(
          "/workload/dataset/kind", "fashion_mnist",
          [] {
            return std::vector<std::string>{"fashion_mnist", "synthetic", "tokens",
                                            "synthetic_tokens"};
          },
          "`tokens`: windows of token ids for a model of context T and vocabulary V (its input "
          "[T] and its embedding's rows); see \"Data sets\"",
          [](Config& c, const std::string& v) { c.dataset.kind = v; }),
      string_param<Config>("/workload/dataset/path", "/usr/share/datasets/fashion-mnist",
                           "directory",
                           "`fashion_mnist`: IDX files, gzipped or not; `tokens`: `train.npy` and "
                           "`test.npy` (`lpsim tokens`)",
                           [](Config& c, const std::string& v) { c.dataset.path = v; }),
      integer_param<Config>("/workload/dataset/train_limit", 0, 0, k2p40, "samples",
                            "the first N training samples; 0: all",
                            [](Config& c, std::int64_t v) { c.dataset.train_limit = v; }),
      integer_param<Config>("/workload/dataset/test_limit", 0, 0, k2p40, "samples",
                            "the first N test samples; 0: all",
                            [](Config& c, std::int64_t v) { c.dataset.test_limit = v; }),
      boolean_param<Config>("/workload/dataset/shuffle", true,
                            "false: minibatch n is samples [n·B, (n+1)·B)",
                            [](Config& c, bool v) { c.dataset.shuffle = v; }),
      optional(Param<Config>{"/workload/dataset/synthetic/shape", core::Json::array({1, 28, 28}),
                             "`[features]` or `[channels, height, width]`, each 1..4096", "",
                             "synthetic data: seeded class prototypes plus noise, of this shape",
                             false,
                             [](core::ObjectReader& r, const std::string& key, Config& c) {
                               c.dataset.synthetic_shape = read_shape(r, key);
                             }}),
      optional(integer_param<Config>(
          "/workload/dataset/synthetic/classes", 10, 2, 1000, "", "synthetic data: classes",
          [](Config& c, std::int64_t v) { c.dataset.synthetic_classes = v; })),
      optional(
          integer_param<Config>("/workload/dataset/synthetic/train_samples", 2048, 1, 1 << 24,
                                "samples", "synthetic data: training set size",
                                [](Config& c, std::int64_t v) { c.dataset.synthetic_train = v; })),
      optional(
          integer_param<Config>("/workload/dataset/synthetic/test_samples", 512, 1, 1 << 24,
                                "samples", "synthetic data: test set size",
                                [](Config& c, std::int64_t v) { c.dataset.synthetic_test = v; })),
      optional(
          number_param<Config>("/workload/dataset/synthetic/noise_std", 1.2, 0.0, 100.0, "",
                               "standard deviation of the noise around each class prototype",
                               [](Config& c, double v) { c.dataset.synthetic_noise_std = v; })),
      optional(integer_param<Config>(
          "/workload/dataset/synthetic_tokens/context", 32, 1, 4096, "tokens",
          "synthetic token windows: T, the model's context (a seeded Markov chain, \"Data sets\")",
          [](Config& c, std::int64_t v) { c.dataset.synthetic_tokens_context = v; })),
      optional(integer_param<Config>(
          "/workload/dataset/synthetic_tokens/vocab", 64, 2, 65536, "tokens",
          "synthetic token windows: the vocabulary V",
          [](Config& c, std::int64_t v) { c.dataset.synthetic_tokens_vocab = v; })),
      optional(integer_param<Config>(
          "/workload/dataset/synthetic_tokens/train_samples", 4096, 1, 1 << 20, "windows",
          "synthetic token windows: training set size",
          [](Config& c, std::int64_t v) { c.dataset.synthetic_tokens_train = v; })),
      optional(integer_param<Config>(
          "/workload/dataset/synthetic_tokens/test_samples", 512, 1, 1 << 20, "windows",
          "synthetic token windows: test set size",
          [](Config& c, std::int64_t v) { c.dataset.synthetic_tokens_test = v; })),
      integer_param<Config>("/workload/batch_size", 32, 1, 1 << 16, "samples", "",
                            [](Config& c, std::int64_t v) { c.batch_size = v; }),
      integer_param<Config>("/workload/epochs", 1, 1, 100000, "epochs",
                            "minibatch n counts on across epochs; no flush between epochs",
                            [](Config& c, std::int64_t v) { c.epochs = v; }),
      optional(integer_param<Config>(
          "/workload/precise_bn_minibatches", 0, 0, 100000, "minibatches",
          "before each evaluation, every batch norm's statistics are re-estimated with the "
          "evaluated weights over the first N training minibatches (precise BN; the report "
          "also gives the running statistics' result); 0: the running statistics",
          [](Config& c, std::int64_t v) { c.precise_bn_minibatches = v; })),
      optional(choice_param<Config>(
          "/workload/optimizer/kind", "sgd", [] { return ops::optimizer_kind_names(); },
          "`sgd` (ARCHITECTURE.md §2) or `adamw` (torch.optim.AdamW, §2c); see \"Optimizers\"",
          [](Config& c, const std::string& v) {
            // optimizer_kind_names() lists the kinds in OptimizerKind's order.
            const auto& names = ops::optimizer_kind_names();
            c.optimizer.kind = static_cast<ops::OptimizerKind>(
                std::find(names.begin(), names.end(), v) - names.begin());
          })),
      number_param<Config>("/workload/optimizer/lr", 0.01, 0.0, 1e3, "",
                           "learning rate (of the schedule's start)",
                           [](Config& c, double v) { c.optimizer.lr = v; }),
      optional(
          number_param<Config>("/workload/optimizer/momentum", 0.9, 0.0, 0.999999, "",
                               "`sgd` only: μ (filled in when absent; a bad input under `adamw`)",
                               [](Config& c, double v) { c.optimizer.momentum = v; })),
      optional(
          Param<
              Config>{"/workload/optimizer/betas", core::Json::array({0.9, 0.999}),
                      "[β1, β2], each in [0, 1)", "",
                      "`adamw` only: the moments' decay rates (filled in when absent; a bad input "
                      "under "
                      "`sgd`)",
                      false,
                      [](core::ObjectReader& r, const std::string& key, Config& c) {
                        const auto [b1, b2] = read_betas(r, key);
                        c.optimizer.beta1 = b1;
                        c.optimizer.beta2 = b2;
                      }}),
      optional(
          Param<
              Config>{"/workload/optimizer/eps", 1e-8, "(0, 1]", "",
                      "`adamw` only: added to the denominator (filled in when absent; a bad input "
                      "under "
                      "`sgd`)",
                      false,
                      [](core::ObjectReader& r, const std::string& key, Config& c) {
                        const double v = r.number(key, 0.0, 1.0);
                        if (!(v > 0.0)) r.fail(key, "found 0, expected a number in (0, 1]");
                        c.optimizer.eps = v;
                      }}),
      number_param<Config>("/workload/optimizer/weight_decay", 0.0, 0.0, 10.0, "",
                           "λ, on every parameter: added to the gradient under `sgd`, decoupled "
                           "(W ← W·(1 − lr·λ)) under `adamw`",
                           [](Config& c, double v) { c.optimizer.weight_decay = v; }),
      optional(
          Param<
              Config>{"/workload/optimizer/clip_norm", nullptr,
                      core::describe_range(0.0, 1e6) + " or null", "",
                      "per-layer gradient clipping: each layer's gradient (weights and bias) "
                      "scaled by "
                      "min(1, clip_norm / ‖g‖) before its update; null or 0: off",
                      false,
                      [](core::ObjectReader& r, const std::string& key, Config& c) {
                        if (r.has_value(key)) {
                          c.optimizer.clip_norm = r.number(key, 0.0, 1e6);
                        } else {
                          r.at(key);  // null: off
                          c.optimizer.clip_norm = 0.0;
                        }
                      }}),
      optional(choice_param<Config>(
          "/workload/optimizer/schedule/kind", "constant",
          [] { return reference::lr_schedule_names(); },
          "the learning-rate schedule, indexed by the gradient's minibatch",
          [](Config& c, const std::string& v) {
            // lr_schedule_names() lists the kinds in LrSchedule::Kind's order.
            const auto& names = reference::lr_schedule_names();
            c.optimizer.schedule.kind = static_cast<reference::LrSchedule::Kind>(
                std::find(names.begin(), names.end(), v) - names.begin());
          })),
      optional(integer_param<Config>(
          "/workload/optimizer/schedule/step_epochs", 1, 1, 100000, "epochs",
          "`step`: multiply the rate by `gamma` every this many epochs",
          [](Config& c, std::int64_t v) { c.optimizer.schedule.step_epochs = v; })),
      optional(number_param<Config>("/workload/optimizer/schedule/gamma", 0.1, 0.0, 1.0, "",
                                    "`step`: the factor",
                                    [](Config& c, double v) { c.optimizer.schedule.gamma = v; })),
      optional(number_param<Config>("/workload/optimizer/schedule/min_lr", 0.0, 0.0, 1e3, "",
                                    "`cosine`: the rate reached at the last minibatch",
                                    [](Config& c, double v) { c.optimizer.schedule.min_lr = v; })),
      optional(integer_param<Config>(
          "/workload/optimizer/schedule/warmup_minibatches", 0, 0, k2p40, "minibatches",
          "linear warm-up on top of `kind`: the gradient of minibatch m gets the rate times "
          "min(1, (m+1)/warmup_minibatches); 0: none",
          [](Config& c, std::int64_t v) { c.optimizer.schedule.warmup_minibatches = v; })),
      nullable_string_param<Config>(
          "/workload/init_from", "checkpoint directory", "same as `--init-from`",
          [](Config& c, const std::optional<std::string>& v) { c.init_from = v; }),
      Param<Config>{"/pipeline/stages", "per_layer",
                    "`\"per_layer\"`, `[2,2,2]`, `[[\"fc1\",\"fc2\"],[\"fc3\"]]`", "",
                    "contiguous groups of parametrised layers", false,
                    [](core::ObjectReader& r, const std::string& key, Config& c) {
                      c.stages = dataflow::parse_stage_spec(r.at(key), r.file(), r.pointer(key));
                    }},
      Param<Config>{"/pipeline/activations", "keep",
                    "`keep`, `recompute`, `offload`, or a list with one per stage", "",
                    "what a stage holds for its backward: every saved tensor (`keep`), only its "
                    "input, rerunning its forward with the backward's weights (`recompute`), or "
                    "what `keep` holds, in DRAM (`offload`); see \"Activation memory\"",
                    false,
                    [](core::ObjectReader& r, const std::string& key, Config& c) {
                      c.activations =
                          dataflow::parse_activation_spec(r.at(key), r.file(), r.pointer(key));
                    }},
      choice_param<Config>(
          "/pipeline/policy", "ema_grad", [] { return policies::names(); },
          "the weights the forward and backward passes use (`sync` = one stage; `lpsim "
          "policies`); see \"Weight-version policies\"",
          [](Config& c, const std::string& v) { c.policy = &policies::get(v); }),
      boolean_param<Config>("/pipeline/spike_compensation", false,
                            "the update adds the momentum steps a late gradient missed "
                            "(ARCHITECTURE.md §2b); with every policy",
                            [](Config& c, bool v) { c.spike_compensation = v; }),
      nullable_integer_param<Config>(
          "/pipeline/processors", 1,
          4096, "processors",
          "null: one processor per stage (LayerPipe's stage mapping); P: run on P processors, "
          "mapped by `scheduler`",
          [](Config& c, std::optional<std::int64_t> v) { c.processors = v; }),
      choice_param<Config>(
          "/pipeline/backward_split", "fused", [] { return dataflow::backward_split_names(); },
          "task split used with `processors`",
          [](Config& c, const std::string& v) {
            dataflow::parse_backward_split(v, &c.backward_split);
          }),
      choice_param<Config>(
          "/pipeline/scheduler", "layerpipe", [] { return dataflow::scheduler_names(); },
          "with `processors`: `layerpipe`, the modulo schedule of the split (any task on any "
          "processor); `pipedream`, PipeDream's partitioner picks at most P contiguous stages, "
          "one per processor, 1F1B (fused split, `stages` per_layer); see \"LayerPipe against "
          "PipeDream\"",
          [](Config& c, const std::string& v) {
            const auto& names = dataflow::scheduler_names();
            c.scheduler = static_cast<dataflow::Scheduler>(
                std::find(names.begin(), names.end(), v) - names.begin());
          }),
      boolean_param<Config>(
          "/pipeline/reconstruction_diagnostic", true,
          "keep each minibatch's forward weight and report the consistency error ‖W_bwd − "
          "W_fwd(m)‖ / ‖W^(m+d) − W^(m)‖ (0: `stash`, 1: `none`)",
          [](Config& c, bool v) { c.reconstruction_diagnostic = v; }),
      boolean_param<Config>("/pipeline/stability_check", true,
                            "estimate curvature and the delay-limited learning rate before the run",
                            [](Config& c, bool v) { c.stability_check = v; }),
      number_param<Config>("/hw/clock/period_ns", 1.0, 1e-3, 1e6, "ns", "one cycle",
                           [](Config& c, double v) { c.hw.period_ns = v; }),
      integer_param<Config>("/hw/pe/rows", 32, 1, 65536, "MACs",
                            "systolic array rows per processor",
                            [](Config& c, std::int64_t v) { c.hw.pe_rows = v; }),
      integer_param<Config>("/hw/pe/cols", 32, 1, 65536, "MACs",
                            "systolic array columns per processor",
                            [](Config& c, std::int64_t v) { c.hw.pe_cols = v; }),
      choice_param<Config>(
          "/hw/pe/dataflow", "os", [] { return hw::dataflow_names(); },
          "output, weight or input stationary",
          [](Config& c, const std::string& v) { c.hw.pe_dataflow = hw::parse_dataflow(v); }),
      Param<Config>{"/hw/pe/macs_per_cycle_by_format",
                    core::Json{{"fp32", 1}, {"fp16", 1}, {"bf16", 1}, {"fp8_e4m3", 1},
                               {"fp8_e5m2", 1}},
                    "1..64 per format", "MACs/cycle",
                    "per PE, by the product's format (the wider of its operands', §2d): a "
                    "fold's temporal length is ceil(T / this)",
                    false,
                    [](core::ObjectReader& r, const std::string& key, Config& c) {
                      core::ObjectReader m = r.object(key);
                      for (ops::NumberFormat f : ops::kAllNumberFormats) {
                        c.hw.macs_per_cycle[static_cast<int>(f)] =
                            m.integer(std::string(ops::format_name(f)), 1, 64);
                      }
                      m.finish();
                    }},
      integer_param<Config>("/hw/vector/lanes", 32, 1, 1 << 20, "lanes", "element-wise unit",
                            [](Config& c, std::int64_t v) { c.hw.vector_lanes = v; }),
      integer_param<Config>("/hw/sram/bytes_per_cycle", 256, 1, k2p30, "B/cycle",
                            "per processor; a task takes max(compute, bytes / bandwidth)",
                            [](Config& c, std::int64_t v) { c.hw.sram_bytes_per_cycle = v; }),
      integer_param<Config>("/hw/sram/capacity_bytes", 64ll << 20, 1, k2p50, "B", "per processor",
                            [](Config& c, std::int64_t v) { c.hw.sram_capacity_bytes = v; }),
      integer_param<Config>(
          "/hw/sram/bank_bytes", 1ll << 20, 1, k2p50, "B",
          "the bank one access reaches: its energy per byte (`hw.energy.sram_pj_per_byte` at "
          "min(bank, capacity))",
          [](Config& c, std::int64_t v) { c.hw.sram_bank_bytes = v; }),
      Param<Config>{"/hw/sram/placement", default_placement(), "every resident kind once", "",
                    "the order residents fill the SRAM after the staging tiles (below)", false,
                    [](core::ObjectReader& r, const std::string& key, Config& c) {
                      c.hw.sram_placement = read_placement(r, key);
                    }},
      integer_param<Config>("/hw/dram/bytes_per_cycle", 64, 1, k2p30, "B/cycle", "per channel",
                            [](Config& c, std::int64_t v) { c.hw.dram_bytes_per_cycle = v; }),
      integer_param<Config>("/hw/dram/channels", 1, 1, 1024, "channels",
                            "shared by all PEs, first come first served",
                            [](Config& c, std::int64_t v) { c.hw.dram_channels = v; }),
      integer_param<Config>("/hw/dram/latency_cycles", 100, 0, k2p30, "cycles", "",
                            [](Config& c, std::int64_t v) { c.hw.dram_latency_cycles = v; }),
      integer_param<Config>("/hw/link/latency_cycles", 20, 0, k2p30, "cycles",
                            "one link per communicating pair of processors",
                            [](Config& c, std::int64_t v) { c.hw.link_latency_cycles = v; }),
      integer_param<Config>("/hw/link/bytes_per_cycle", 32, 1, k2p30, "B/cycle", "",
                            [](Config& c, std::int64_t v) { c.hw.link_bytes_per_cycle = v; }),
      integer_param<Config>("/hw/ema_unit/lanes", 16, 1, 1 << 20, "lanes",
                            "the policy's vector unit's own lanes (EMA updates, "
                            "reconstructions, predictions)",
                            [](Config& c, std::int64_t v) { c.hw.vector_unit_lanes = v; }),
      Param<Config>{
          "/hw/energy", reports::default_energy_document(), "the energy table (below)", "",
          "the energy table, read by `reports/energy.cpp`: its keys are in the next table", false,
          [](core::ObjectReader& r, const std::string& key, Config& c) {
            core::ObjectReader e = r.object(key);
            c.hw.energy = reports::read_energy_table(e);
            for (const auto& [name, row] : c.hw.energy.arithmetic) {
              if (!ops::parse_format(name)) {
                throw core::ConfigError(e.file(), core::pointer_append(e.pointer("arithmetic"), name),
                                        "found a row for \"" + name +
                                            "\", expected a number format (" +
                                            format_list() + ")");
              }
            }
          }},
  }));
  return table;
}

// A synthetic token set is held in memory as floats: at most kMaxSyntheticTokens tokens.
void check_synthetic_tokens(const Config& c, const std::string& file) {
  const DatasetConfig& d = c.dataset;
  const std::int64_t tokens =
      (d.synthetic_tokens_train + d.synthetic_tokens_test) * (d.synthetic_tokens_context + 1);
  if (tokens > kMaxSyntheticTokens) {
    throw core::ConfigError(
        file, "/workload/dataset/synthetic_tokens/train_samples",
        "found " + std::to_string(d.synthetic_tokens_train) + " training and " +
            std::to_string(d.synthetic_tokens_test) + " test windows of " +
            std::to_string(d.synthetic_tokens_context + 1) + " tokens: " + std::to_string(tokens) +
            " tokens, expected at most " + std::to_string(kMaxSyntheticTokens) + " (2^28)");
  }
}

// PipeDream chooses the stages and runs fused backward tasks on pipelined minibatches.
void check_pipedream(const Config& c, const std::string& file) {
  if (!c.processors) {
    throw core::ConfigError(file, "/pipeline/processors",
                            "found null, but pipeline.scheduler = pipedream needs the processor "
                            "count P to partition for");
  }
  if (c.backward_split != dataflow::BackwardSplit::kFused) {
    throw core::ConfigError(file, "/pipeline/backward_split",
                            std::string("found \"") +
                                dataflow::backward_split_name(c.backward_split) +
                                "\", but PipeDream runs fused backward tasks: use \"fused\"");
  }
  if (c.stages.kind != dataflow::StageSpec::Kind::kPerLayer) {
    throw core::ConfigError(file, "/pipeline/stages",
                            "found \"" + dataflow::format_stage_spec(c.stages) +
                                "\", but PipeDream's partitioner chooses the stages: use "
                                "\"per_layer\"");
  }
  if (!c.policy->pipelined) {
    throw core::ConfigError(file, "/pipeline/policy",
                            "found \"" + c.policy->name +
                                "\", which runs one stage; PipeDream pipelines minibatches "
                                "(its own is \"stash\")");
  }
}

// §2d: the weights F and Ba read are a rounding of the master copy, never wider; and what the
// math does not run under yet is refused rather than ignored.
void check_numerics(const Config& c, const std::string& file) {
  const ops::Numerics& n = c.hw.numerics;
  const auto bits = [&](ops::TensorClass tc) {
    return ops::format_info(n.of(tc)).significand_bits;
  };
  if (bits(ops::TensorClass::kWeights) > bits(ops::TensorClass::kMaster)) {
    throw core::ConfigError(file, "/hw/numerics/weights",
                            "found \"" +
                                std::string(ops::format_name(n.of(ops::TensorClass::kWeights))) +
                                "\", wider than master (\"" +
                                std::string(ops::format_name(n.of(ops::TensorClass::kMaster))) +
                                "\"): expected a format at most as wide as master");
  }
  if (!n.fp32(ops::TensorClass::kAccumulate) && n.rounding == ops::Rounding::kStochastic) {
    throw core::ConfigError(
        file, "/hw/numerics/rounding",
        "found \"stochastic\" with accumulate \"" +
            std::string(ops::format_name(n.of(ops::TensorClass::kAccumulate))) +
            "\": a narrow accumulator rounds to nearest even (stochastic rounding of the "
            "accumulator is not simulated); expected \"nearest_even\" or accumulate \"fp32\"");
  }
}

// The keys that belong to one optimizer kind (ARCHITECTURE.md §2c).
const std::vector<std::string>& optimizer_keys(ops::OptimizerKind kind) {
  static const std::vector<std::string> sgd = {"/workload/optimizer/momentum"};
  static const std::vector<std::string> adamw = {"/workload/optimizer/betas",
                                                 "/workload/optimizer/eps"};
  switch (kind) {
    case ops::OptimizerKind::kSgd:
      return sgd;
    case ops::OptimizerKind::kAdamw:
      return adamw;
  }
  return sgd;
}

// The kind a resolved document names (sgd when absent; a bad value is the strict read's to
// report, meanwhile sgd).
ops::OptimizerKind kind_named(const core::Json& doc) {
  const core::Json::json_pointer ptr("/workload/optimizer/kind");
  const auto& names = ops::optimizer_kind_names();
  if (!doc.contains(ptr) || !doc.at(ptr).is_string()) return ops::OptimizerKind::kSgd;
  const auto it = std::find(names.begin(), names.end(), doc.at(ptr).get<std::string>());
  return it == names.end() ? ops::OptimizerKind::kSgd
                           : static_cast<ops::OptimizerKind>(it - names.begin());
}

// An optimizer's own keys are optional in the table and absent from its defaults; once the
// document names its kind, the keys of that kind that are absent get their defaults here. So an
// sgd document resolves as it did before AdamW existed (momentum included: the same config
// hash), and a key of the other kind in the resolved document is one the user gave.
void fill_optimizer_defaults(core::Json& doc) {
  const core::Json::json_pointer optimizer("/workload/optimizer");
  if (!doc.contains(optimizer) || !doc.at(optimizer).is_object()) return;
  for (const std::string& key : optimizer_keys(kind_named(doc))) {
    const core::Json::json_pointer ptr(key);
    if (doc.contains(ptr)) continue;
    for (const auto& p : build_parameters().params()) {
      if (p.pointer == key) doc[ptr] = p.default_value;
    }
  }
}

// A key of the other optimizer kind (after the read: the kind is valid), and spike
// compensation, which is SGD's.
void check_optimizer_keys(const Config& c, const std::string& file) {
  const auto& names = ops::optimizer_kind_names();
  const std::string& kind = names[static_cast<std::size_t>(c.optimizer.kind)];
  for (std::size_t k = 0; k < names.size(); ++k) {
    const auto other = static_cast<ops::OptimizerKind>(k);
    if (other == c.optimizer.kind) continue;
    for (const std::string& key : optimizer_keys(other)) {
      const core::Json::json_pointer ptr(key);
      if (!c.resolved.contains(ptr)) continue;
      throw core::ConfigError(file, key,
                              "found " + core::describe_value(c.resolved.at(ptr)) +
                                  ", but this key belongs to the optimizer kind \"" + names[k] +
                                  "\" and workload.optimizer.kind is \"" + kind + "\"; remove it");
    }
  }
  if (c.spike_compensation && c.optimizer.kind != ops::OptimizerKind::kSgd) {
    throw core::ConfigError(file, "/pipeline/spike_compensation",
                            "found true, but spike compensation adds momentum steps and is "
                            "defined for sgd only; the optimizer is \"" +
                                kind + "\": use false");
  }
}

}  // namespace

const core::ParamTable<Config>& parameters() { return build_parameters(); }

core::Json default_document() {
  core::Json doc = parameters().default_document();
  fill_optimizer_defaults(doc);
  return doc;
}

int resolved_threads(const Config& c) {
  if (c.threads > 0) return c.threads;
  if (const char* v = std::getenv(kAutoThreadsVariable)) {
    char* end = nullptr;
    const long n = std::strtol(v, &end, 10);
    if (end != v && *end == '\0' && n >= 1 && n <= 1024) return static_cast<int>(n);
  }
  return ops::available_cores();
}

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  core::Json doc = parameters().default_document();
  const std::string file = path.empty() ? "(defaults)" : path;
  if (!path.empty()) {
    const core::Json user = core::parse_json_file(path);
    if (!user.is_object()) throw core::ConfigError(path, "/", "expected a JSON object");
    merge_into(doc, user);
  }
  for (const auto& o : overrides) apply_override(doc, o);
  fill_optimizer_defaults(doc);

  Config c;
  c.source = file;
  c.resolved = doc;
  parameters().read(doc, file, c);
  if (c.time_steps != 0 && (!models::is_spiking_builtin(c.model) || c.network_file)) {
    throw core::ConfigError(file, "/workload/time_steps",
                            "found " + std::to_string(c.time_steps) +
                                ", but time steps apply only to a built-in spiking model "
                                "(snn3, sconv3) without a network_file; use null");
  }
  if (c.dataset.kind == "synthetic_tokens") check_synthetic_tokens(c, file);
  if (c.scheduler == dataflow::Scheduler::kPipeDream) check_pipedream(c, file);
  if (c.processors && !c.activations.all_keep()) {
    // §4c: recompute and offload are defined for stage-program runs.
    throw core::ConfigError(file, "/pipeline/activations",
                            "found " + dataflow::activation_spec_json(c.activations).dump() +
                                ", but with pipeline.processors set (" +
                                std::to_string(*c.processors) +
                                ") only \"keep\" is supported: set processors to null");
  }
  check_optimizer_keys(c, file);
  check_numerics(c, file);
  c.hw.numerics.accumulate_chunk = c.hw.pe_rows;  // §2d: a chunk of K per array row
  return c;
}

std::string config_hash(const core::Json& resolved) {
  // run.threads changes no result (ops/parallel.h), so a run may resume on another count.
  core::Json hashed = resolved;
  if (hashed.contains("run") && hashed["run"].is_object()) hashed["run"].erase("threads");
  // FNV-1a over the canonical dump (nlohmann sorts object keys).
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : hashed.dump()) {
    h ^= ch;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace lpsim::config
