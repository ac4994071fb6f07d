#include "sim/config/config.h"

#include <cstdio>
#include <cstdlib>

#include "core/errors.h"
#include "dataflow/schedule.h"
#include "hw_models/memory/placement.h"
#include "workloads/models/builtin.h"
#include "workloads/ops/parallel.h"

namespace lpsim::config {
namespace {

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
    try {
      (void)value.dump();  // a string must be UTF-8 to be written back (found by fuzzing)
    } catch (const core::Json::type_error&) {
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

ops::Shape read_shape(core::ObjectReader& r, const std::string& key, const ops::Shape& fallback) {
  if (!r.has(key)) return fallback;
  const core::Json& a = r.array(key);
  if (a.size() != 1 && a.size() != 3)
    r.fail(key, "expected [features] or [channels, height, width]");
  std::int64_t d[3] = {1, 1, 1};
  for (std::size_t i = 0; i < a.size(); ++i) {
    d[i] = core::json_integer(a[i], r.file(), core::pointer_append(r.pointer(key), i), 1, 4096);
  }
  return {d[0], d[1], d[2]};
}

}  // namespace

core::Json default_document() {
  core::Json doc = core::Json::parse(R"({
    "run": {"name": "default", "seed": 1, "threads": 0},
    "workload": {
      "model": "mlp3", "network_file": null, "time_steps": null,
      "dataset": {"kind": "fashion_mnist", "path": "/usr/share/datasets/fashion-mnist",
                  "train_limit": 0, "test_limit": 0, "shuffle": true},
      "batch_size": 32, "epochs": 1,
      "optimizer": {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.0},
      "init_from": null},
    "pipeline": {"stages": "per_layer", "policy": "ema_grad", "spike_compensation": false,
                 "processors": null,
                 "backward_split": "fused", "reconstruction_diagnostic": true,
                 "stability_check": true},
    "hw": {"clock": {"period_ns": 1.0},
           "pe": {"rows": 32, "cols": 32, "dataflow": "os"},
           "vector": {"lanes": 32},
           "sram": {"bytes_per_cycle": 256, "capacity_bytes": 67108864, "bank_bytes": 1048576,
                    "placement": ["weights", "optimizer", "gradients", "ema", "in_flight",
                                  "stash", "activations"]},
           "dram": {"bytes_per_cycle": 64, "channels": 1, "latency_cycles": 100},
           "link": {"latency_cycles": 20, "bytes_per_cycle": 32},
           "ema_unit": {"lanes": 16}}
  })");
  doc["hw"]["energy"] = reports::default_energy_document();
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
  core::Json doc = default_document();
  const std::string file = path.empty() ? "(defaults)" : path;
  if (!path.empty()) {
    const core::Json user = core::parse_json_file(path);
    if (!user.is_object()) throw core::ConfigError(path, "/", "expected a JSON object");
    merge_into(doc, user);
  }
  for (const auto& o : overrides) apply_override(doc, o);

  Config c;
  c.source = file;
  c.resolved = doc;
  core::ObjectReader top(doc, file, "");
  {
    core::ObjectReader run = top.object("run");
    c.run_name = run.string("name");
    c.seed = static_cast<std::uint64_t>(run.integer("seed", 0, std::int64_t{1} << 53));
    c.threads = static_cast<int>(run.integer("threads", 0, 1024));
    run.finish();
  }
  {
    core::ObjectReader w = top.object("workload");
    c.model = w.string("model");
    c.network_file = w.nullable_string("network_file");
    if (w.has_value("time_steps")) {
      c.time_steps = w.integer("time_steps", 1, 4096);
      if (!models::is_spiking_builtin(c.model) || c.network_file) {
        w.fail("time_steps", "found " + std::to_string(c.time_steps) +
                                 ", but time steps apply only to a built-in spiking model "
                                 "(snn3, sconv3) without a network_file; use null");
      }
    } else {
      w.at("time_steps");
    }
    {
      core::ObjectReader d = w.object("dataset");
      DatasetConfig& ds = c.dataset;
      ds.kind = d.choice("kind", {"fashion_mnist", "synthetic"});
      ds.path = d.string("path");
      ds.train_limit = d.integer("train_limit", 0, std::int64_t{1} << 40);
      ds.test_limit = d.integer("test_limit", 0, std::int64_t{1} << 40);
      ds.shuffle = d.boolean("shuffle");
      if (d.has("synthetic")) {
        core::ObjectReader s = d.object("synthetic");
        ds.synthetic_shape = read_shape(s, "shape", ds.synthetic_shape);
        ds.synthetic_classes = s.integer("classes", ds.synthetic_classes, 2, 1000);
        ds.synthetic_train = s.integer("train_samples", ds.synthetic_train, 1, 1 << 24);
        ds.synthetic_test = s.integer("test_samples", ds.synthetic_test, 1, 1 << 24);
        ds.synthetic_noise_std = s.number("noise_std", ds.synthetic_noise_std, 0.0, 100.0);
        s.finish();
      }
      d.finish();
    }
    c.batch_size = w.integer("batch_size", 1, 1 << 16);
    c.epochs = w.integer("epochs", 1, 100000);
    {
      core::ObjectReader o = w.object("optimizer");
      c.optimizer.lr = o.number("lr", 0.0, 1e3);
      c.optimizer.momentum = o.number("momentum", 0.0, 0.999999);
      c.optimizer.weight_decay = o.number("weight_decay", 0.0, 10.0);
      if (o.has("schedule")) {
        core::ObjectReader s = o.object("schedule");
        const std::string kind = s.choice("kind", reference::lr_schedule_names());
        c.optimizer.schedule.kind = kind == "constant" ? reference::LrSchedule::Kind::kConstant
                                    : kind == "step"   ? reference::LrSchedule::Kind::kStep
                                                       : reference::LrSchedule::Kind::kCosine;
        c.optimizer.schedule.step_epochs = s.integer("step_epochs", 1, 1, 100000);
        c.optimizer.schedule.gamma = s.number("gamma", 0.1, 0.0, 1.0);
        c.optimizer.schedule.min_lr = s.number("min_lr", 0.0, 0.0, 1e3);
        s.finish();
      }
      o.finish();
    }
    c.init_from = w.nullable_string("init_from");
    w.finish();
  }
  {
    core::ObjectReader p = top.object("pipeline");
    c.stages = dataflow::parse_stage_spec(p.at("stages"), file, p.pointer("stages"));
    c.policy = &policies::get(p.choice("policy", policies::names()));
    c.spike_compensation = p.boolean("spike_compensation");
    if (p.has_value("processors")) {
      c.processors = p.integer("processors", 1, 4096);
    } else {
      p.at("processors");
    }
    c.backward_split = p.choice("backward_split", dataflow::backward_split_names());
    c.reconstruction_diagnostic = p.boolean("reconstruction_diagnostic");
    c.stability_check = p.boolean("stability_check");
    p.finish();
  }
  {
    core::ObjectReader hw = top.object("hw");
    HwConfig& h = c.hw;
    {
      core::ObjectReader clk = hw.object("clock");
      h.period_ns = clk.number("period_ns", 1e-3, 1e6);
      clk.finish();
    }
    {
      core::ObjectReader pe = hw.object("pe");
      h.pe_rows = pe.integer("rows", 1, 65536);
      h.pe_cols = pe.integer("cols", 1, 65536);
      h.pe_dataflow = pe.choice("dataflow", {"os", "ws", "is"});
      pe.finish();
    }
    {
      core::ObjectReader v = hw.object("vector");
      h.vector_lanes = v.integer("lanes", 1, 1 << 20);
      v.finish();
    }
    {
      core::ObjectReader s = hw.object("sram");
      h.sram_bytes_per_cycle = s.integer("bytes_per_cycle", 1, std::int64_t{1} << 30);
      h.sram_capacity_bytes = s.integer("capacity_bytes", 1, std::int64_t{1} << 50);
      h.sram_bank_bytes = s.integer("bank_bytes", 1, std::int64_t{1} << 50);
      const core::Json& order = s.array("placement");
      std::vector<bool> seen(hw::kMemoryKinds, false);
      h.sram_placement.clear();
      for (std::size_t i = 0; i < order.size(); ++i) {
        const std::string where = core::pointer_append(s.pointer("placement"), i);
        const auto kind = order[i].is_string()
                              ? hw::try_parse_memory_kind(order[i].get<std::string>())
                              : std::nullopt;
        if (!kind) {
          throw core::ConfigError(file, where,
                                  "found " + core::describe_value(order[i]) +
                                      ", expected a resident kind: weights, optimizer, gradients, "
                                      "ema, in_flight, stash or activations");
        }
        if (seen[static_cast<std::size_t>(*kind)]) {
          throw core::ConfigError(file, where,
                                  "\"" + order[i].get<std::string>() + "\" appears twice");
        }
        seen[static_cast<std::size_t>(*kind)] = true;
        h.sram_placement.push_back(order[i].get<std::string>());
      }
      if (h.sram_placement.size() != hw::kMemoryKinds) {
        throw core::ConfigError(
            file, s.pointer("placement"),
            "expected every resident kind once (weights, optimizer, gradients, ema, "
            "in_flight, stash, activations), found " +
                std::to_string(h.sram_placement.size()));
      }
      s.finish();
    }
    {
      core::ObjectReader d = hw.object("dram");
      h.dram_bytes_per_cycle = d.integer("bytes_per_cycle", 1, std::int64_t{1} << 30);
      h.dram_channels = d.integer("channels", 1, 1024);
      h.dram_latency_cycles = d.integer("latency_cycles", 0, std::int64_t{1} << 30);
      d.finish();
    }
    {
      core::ObjectReader l = hw.object("link");
      h.link_latency_cycles = l.integer("latency_cycles", 0, std::int64_t{1} << 30);
      h.link_bytes_per_cycle = l.integer("bytes_per_cycle", 1, std::int64_t{1} << 30);
      l.finish();
    }
    {
      core::ObjectReader e = hw.object("ema_unit");
      h.ema_lanes = e.integer("lanes", 1, 1 << 20);
      e.finish();
    }
    {
      core::ObjectReader e = hw.object("energy");
      h.energy = reports::read_energy_table(e);
    }
    hw.finish();
  }
  top.finish();
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
