#pragma once
// A prepared job: everything a run needs, read and validated before any simulation
// starts (config, network, data set, partition, initial parameters, stability advisory).

#include <optional>
#include <string>
#include <vector>

#include "dataflow/activations.h"
#include "dataflow/partition.h"
#include "sim/config/config.h"
#include "workloads/data/dataset.h"
#include "workloads/models/network.h"
#include "workloads/models/units.h"
#include "workloads/reference/engine.h"
#include "workloads/reference/trainer.h"

namespace lpsim::run {

struct StabilityAdvice {
  bool computed = false;
  // Why it was not computed although pipeline.stability_check asked for it: "adamw" (the
  // advisory models SGD's recursion); empty otherwise.
  std::string skipped;
  double lambda_max = 0.0;  // estimated largest Hessian eigenvalue at initialisation
  std::int64_t samples = 0;
  std::int64_t max_delay = 0;
  double max_lr = 0.0;  // the largest stable lr at the deepest delay (bound / lambda)
  bool lr_exceeds = false;
  std::vector<double> layer_max_lr;  // per unit, for its own delay
  // The recursion the bound is for (workloads/reference/stability.h).
  policies::ForwardRule forward_rule = policies::ForwardRule::kCurrent;
  bool spike_compensation = false;
  core::Json to_json() const;
};

struct Job {
  config::Config config;
  models::Network network;
  models::UnitGraph units;
  dataflow::Partition partition;  // the stages every consumer of the job uses
  // pipeline.activations, one per stage of `partition` (ARCHITECTURE.md §4c).
  std::vector<dataflow::ActivationChoice> activations;
  // The partition is PipeDream's (pipeline.scheduler = pipedream: hardware::prepare_job).
  bool pipedream_stages = false;
  data::Dataset train;
  data::Dataset test;
  std::vector<reference::UnitParams> init;
  reference::TrainerSettings trainer;  // the reference trainer's view of the config
  std::int64_t batches_per_epoch = 0;
  StabilityAdvice stability;
};

// Reads everything; core::UserError on any bad input. `init_from` (may be empty) overrides
// workload.init_from. Without `need_samples` (a timing-only run) a synthetic data set is
// not generated: only its size and shape are known.
Job prepare_job(const std::string& config_path, const std::vector<std::string>& overrides,
                const std::string& init_from, bool need_samples = true);

// The network a config names, built for its data set's sample shape and classes without
// reading any data (for `lpsim graph --config`).
models::Network network_of_config(const config::Config& config, const std::string& config_path);

// Estimates curvature and fills job.stability (no-op when pipeline.stability_check is off;
// under adamw only job.stability.skipped is set: the bound is SGD's).
void advise_stability(Job& job);

}  // namespace lpsim::run
