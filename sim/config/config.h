#pragma once
// The run configuration (ARCHITECTURE.md §6): one JSON document, read strictly.
//
// Resolution: built-in defaults, then the user's file merged over them (objects merge key
// by key, other values replace), then every `--set /json/pointer=value`, then a strict
// read in which an unknown key, a wrong type or an out-of-range value is a core::ConfigError
// naming the file and the JSON pointer. The resolved document is what the report stores.
// Every key, with unit and default, is declared once in the parameter table (parameters()).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/json_reader.h"
#include "core/param_table.h"
#include "dataflow/activations.h"
#include "dataflow/partition.h"
#include "dataflow/pipedream.h"
#include "dataflow/schedule.h"
#include "hw_models/common/memory_kind.h"
#include "hw_models/pe/pe_types.h"
#include "reports/energy.h"
#include "workloads/ops/numerics.h"
#include "workloads/ops/tensor.h"
#include "workloads/policies/policy.h"
#include "workloads/reference/optimizer.h"

namespace lpsim::config {

// The defaults of every field are in one place, the parameter table (parameters() below);
// a Config comes from load_config, never from these structs' own initialisers.
struct DatasetConfig {
  std::string kind;              // fashion_mnist | synthetic | tokens | synthetic_tokens
  std::string path;              // fashion_mnist, tokens
  std::int64_t train_limit = 0;  // 0: the whole file
  std::int64_t test_limit = 0;
  bool shuffle = false;
  // synthetic only
  ops::Shape synthetic_shape;
  std::int64_t synthetic_classes = 0;
  std::int64_t synthetic_train = 0;
  std::int64_t synthetic_test = 0;
  double synthetic_noise_std = 0.0;
  // synthetic_tokens only (workloads/data/tokens.h)
  std::int64_t synthetic_tokens_context = 0;
  std::int64_t synthetic_tokens_vocab = 0;
  std::int64_t synthetic_tokens_train = 0;
  std::int64_t synthetic_tokens_test = 0;
};

// The most tokens (windows x (context + 1), both splits) a synthetic token set may hold.
inline constexpr std::int64_t kMaxSyntheticTokens = std::int64_t{1} << 28;

struct HwConfig {
  double period_ns = 0.0;
  std::int64_t pe_rows = 0;
  std::int64_t pe_cols = 0;
  hw::Dataflow pe_dataflow = hw::Dataflow::kOutputStationary;
  std::int64_t vector_lanes = 0;
  std::int64_t sram_bytes_per_cycle = 0;
  std::int64_t sram_capacity_bytes = 0;
  std::int64_t sram_bank_bytes = 0;
  std::int64_t dram_bytes_per_cycle = 0;  // per channel
  std::int64_t dram_channels = 0;
  std::int64_t dram_latency_cycles = 0;
  std::vector<hw::MemoryKind> sram_placement;  // SRAM first (hw.sram.placement)
  std::int64_t link_latency_cycles = 0;
  std::int64_t link_bytes_per_cycle = 0;
  std::int64_t vector_unit_lanes = 0;
  reports::EnergyTable energy;  // hw.energy
  ops::Numerics numerics;       // hw.numerics (ARCHITECTURE.md §2d)
  // hw.pe.macs_per_cycle_by_format, by ops::NumberFormat: MACs per PE per cycle.
  std::int64_t macs_per_cycle[5] = {1, 1, 1, 1, 1};
};

struct Config {
  std::string source;  // the config file, or "(defaults)"
  std::string run_name;
  std::uint64_t seed = 0;
  // Threads the math of one task runs on (ops::set_threads); 0: every core this process may
  // use. Results do not depend on it.
  int threads = 0;
  std::string model;
  std::optional<std::string> network_file;
  std::int64_t time_steps = 0;  // T of a built-in spiking model; 0: its default
  DatasetConfig dataset;
  std::int64_t batch_size = 0;
  std::int64_t epochs = 0;
  // Precise BN before each evaluation over the first N training minibatches; 0: off.
  std::int64_t precise_bn_minibatches = 0;
  reference::OptimizerSettings optimizer;
  std::optional<std::string> init_from;
  dataflow::StageSpec stages;
  // What each stage holds for its backward (ARCHITECTURE.md §4c); the job resolves it per stage.
  dataflow::ActivationSpec activations;
  const policies::Policy* policy = nullptr;
  bool spike_compensation = false;  // ARCHITECTURE.md §2b
  std::optional<std::int64_t> processors;
  dataflow::BackwardSplit backward_split = dataflow::BackwardSplit::kFused;
  dataflow::Scheduler scheduler = dataflow::Scheduler::kLayerPipe;
  bool reconstruction_diagnostic = false;
  bool stability_check = false;
  HwConfig hw;
  core::Json resolved;  // the document after defaults and overrides
};

// Every key of the document: default, accepted values, unit, meaning (README
// "Configuration" is its markdown(); `lpsim check-config --parameters` prints it).
const core::ParamTable<Config>& parameters();

// The threads a run uses: run.threads, or when it is 0 (automatic) the count in the
// environment variable kAutoThreadsVariable (set by `lpsim sweep` for its points: the cores
// divided by --jobs), else every core this process may use.
inline constexpr const char* kAutoThreadsVariable = "LPSIM_AUTO_THREADS";
int resolved_threads(const Config& c);

// The built-in defaults as a document (also the `lpsim run` default job): the table's defaults.
core::Json default_document();

// Resolves and reads a configuration. `path` may be empty (defaults only); `overrides`
// are "--set" arguments of the form /json/pointer=value (value parsed as JSON, or taken
// as a string when it is not JSON).
Config load_config(const std::string& path, const std::vector<std::string>& overrides);

// A short, stable hash of the resolved document (hex), keying sweep results.
std::string config_hash(const core::Json& resolved);

}  // namespace lpsim::config
