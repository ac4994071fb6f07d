#pragma once
// The sequential reference trainer: the golden model every pipelined run is checked
// against (ARCHITECTURE.md §2). It computes each layer's delay from the partition by the
// formula d_l = 2·S(l) (independently of the retimed dataflow graph) and runs the tasks
// in local-beat order: in beat n every unit in topological order forwards minibatch n,
// the loss follows, then every unit in reverse order runs Ba, Bw and U of minibatch
// n - d_u. After the last forward the pipeline drains, so every minibatch updates every
// layer exactly once.

#include <cstdint>
#include <functional>
#include <vector>

#include "workloads/data/dataset.h"
#include "workloads/models/network.h"
#include "workloads/models/units.h"
#include "workloads/reference/engine.h"

namespace lpsim::reference {

struct TrainerSettings {
  const policies::Policy* policy = &policies::get("none");
  bool spike_compensation = false;  // ARCHITECTURE.md §2b
  std::vector<int> stage_of_unit;   // ignored under an unpipelined policy (sync: one stage)
  int num_stages = 1;
  // Per stage: its activations are recomputed (ARCHITECTURE.md §4c); empty: all kept.
  std::vector<bool> recompute_stage;
  ops::Numerics numerics;  // ARCHITECTURE.md §2d (hw.numerics)
  OptimizerSettings optimizer;
  std::int64_t batch_size = 32;
  std::int64_t epochs = 1;
  bool shuffle = true;
  std::uint64_t seed = 1;
  bool reconstruction_diagnostic = false;
  // Precise BN at every evaluation over the first N training minibatches
  // (TaskEngine::set_precise_bn); 0: batch norm evaluates with its running statistics.
  std::int64_t precise_bn_minibatches = 0;
};

struct EpochResult {
  std::int64_t epoch = 0;
  double train_loss = 0.0;      // mean over the epoch's minibatches
  double train_accuracy = 0.0;  // over the epoch's minibatches, as they were forwarded
  double test_loss = 0.0;
  double test_accuracy = 0.0;
  // Under precise BN (test_loss, test_accuracy are with the re-estimated statistics): the same
  // with batch norm's running statistics.
  bool precise_bn = false;
  double running_stats_test_loss = 0.0;
  double running_stats_test_accuracy = 0.0;
};

struct TrainingResult {
  bool interrupted = false;          // stopped early; `minibatches` ran (and drained)
  std::vector<std::int64_t> delays;  // per unit
  std::vector<EpochResult> epochs;
  std::vector<UnitParams> final_params;
  std::vector<ReconstructionStats> reconstruction;  // per unit
  std::vector<SpikeStats> spikes;                   // per network layer
  std::int64_t minibatches = 0;
  double final_test_accuracy = 0.0;
  double final_test_loss = 0.0;
};

// d_u = 2·(K-1-s(u)); all zero under sync.
std::vector<std::int64_t> layer_delays(const TrainerSettings& settings, int num_units);

// The task engine's settings for a run of `settings` (the reference trainer and the
// hardware model both build their engine from it).
EngineSettings engine_settings(const TrainerSettings& settings, int num_units,
                               std::int64_t batches_per_epoch, std::int64_t total_minibatches);

// Versions of the evaluation snapshots taken at the end of every epoch but the last:
// W^(N_e), the weights the first forward of the next epoch uses (N_e minibatches so far).
std::vector<std::int64_t> epoch_snapshot_versions(std::int64_t batches_per_epoch,
                                                  std::int64_t epochs);

// Collects per-epoch losses and accuracies of the epochs `minibatches` completed (all of
// them, normally); the last epoch run is evaluated on the final, drained weights.
std::vector<EpochResult> epoch_results(const TaskEngine& engine, const data::Dataset& test,
                                       std::int64_t batches_per_epoch, std::int64_t epochs,
                                       std::int64_t eval_batch, std::int64_t minibatches = -1);

// `progress` (may be empty) is called after each beat with (beat, total beats). When
// `stop` (may be empty) returns true, no further minibatch is loaded and the pipeline
// drains (the result is marked interrupted).
TrainingResult train_reference(const models::Network& network, const models::UnitGraph& units,
                               const TrainerSettings& settings, std::vector<UnitParams> init,
                               const data::Dataset& train, const data::Dataset& test,
                               const std::function<void(std::int64_t, std::int64_t)>& progress = {},
                               const std::function<bool()>& stop = {});

}  // namespace lpsim::reference
