#include "workloads/reference/trainer.h"

#include <algorithm>

#include "core/errors.h"
#include "workloads/data/sampler.h"

namespace lpsim::reference {

std::vector<std::int64_t> layer_delays(const TrainerSettings& settings, int num_units) {
  std::vector<std::int64_t> d(num_units, 0);
  if (!settings.policy->pipelined) return d;
  LPSIM_ASSERT(static_cast<int>(settings.stage_of_unit.size()) == num_units, "one stage per unit");
  for (int u = 0; u < num_units; ++u) {
    d[u] = 2 * (settings.num_stages - 1 - settings.stage_of_unit[u]);
  }
  return d;
}

EngineSettings engine_settings(const TrainerSettings& settings, int num_units,
                               std::int64_t batches_per_epoch, std::int64_t total_minibatches) {
  EngineSettings es;
  es.policy = settings.policy;
  es.spike_compensation = settings.spike_compensation;
  es.delays = layer_delays(settings, num_units);
  es.optimizer = settings.optimizer;
  es.batches_per_epoch = batches_per_epoch;
  es.total_minibatches = total_minibatches;
  es.reconstruction_diagnostic = settings.reconstruction_diagnostic;
  es.snapshot_versions = epoch_snapshot_versions(batches_per_epoch, settings.epochs);
  es.seed = settings.seed;
  es.stage_of_unit.assign(num_units, 0);
  if (settings.policy->pipelined) es.stage_of_unit = settings.stage_of_unit;
  es.recompute_stage = settings.recompute_stage;
  es.numerics = settings.numerics;
  return es;
}

std::vector<std::int64_t> epoch_snapshot_versions(std::int64_t batches_per_epoch,
                                                  std::int64_t epochs) {
  std::vector<std::int64_t> v;
  for (std::int64_t e = 0; e + 1 < epochs; ++e) v.push_back((e + 1) * batches_per_epoch);
  return v;
}

std::vector<EpochResult> epoch_results(const TaskEngine& engine, const data::Dataset& test,
                                       std::int64_t batches_per_epoch, std::int64_t epochs,
                                       std::int64_t eval_batch, std::int64_t minibatches) {
  std::vector<EpochResult> out;
  const auto& mb = engine.minibatch_results();
  const std::int64_t completed =
      minibatches >= 0 ? std::min(epochs, minibatches / batches_per_epoch) : epochs;
  for (std::int64_t e = 0; e < completed; ++e) {
    EpochResult r;
    r.epoch = e;
    double loss = 0.0;
    std::int64_t correct = 0, samples = 0;
    for (std::int64_t n = e * batches_per_epoch; n < (e + 1) * batches_per_epoch; ++n) {
      loss += mb.at(n).loss;
      correct += mb.at(n).correct;
      samples += mb.at(n).samples;
    }
    r.train_loss = loss / static_cast<double>(batches_per_epoch);
    r.train_accuracy =
        samples > 0 ? static_cast<double>(correct) / static_cast<double>(samples) : 0.0;
    const std::optional<std::int64_t> version =
        e + 1 < epochs ? std::optional<std::int64_t>((e + 1) * batches_per_epoch) : std::nullopt;
    const EvalResult ev = engine.evaluate(test.images, test.labels, version, eval_batch);
    r.test_loss = ev.loss;
    r.test_accuracy = ev.accuracy;
    r.precise_bn = ev.precise_bn;
    r.running_stats_test_loss = ev.running_stats_loss;
    r.running_stats_test_accuracy = ev.running_stats_accuracy;
    out.push_back(r);
  }
  return out;
}

TrainingResult train_reference(const models::Network& network, const models::UnitGraph& units,
                               const TrainerSettings& settings, std::vector<UnitParams> init,
                               const data::Dataset& train, const data::Dataset& test,
                               const std::function<void(std::int64_t, std::int64_t)>& progress,
                               const std::function<bool()>& stop) {
  const int nu = static_cast<int>(units.units.size());
  const data::BatchSampler sampler(train.size(), settings.batch_size, settings.shuffle,
                                   settings.seed);
  const std::int64_t bpe = sampler.batches_per_epoch();
  LPSIM_ASSERT(bpe >= 1, "at least one minibatch per epoch");
  const std::int64_t total = bpe * settings.epochs;

  const EngineSettings es = engine_settings(settings, nu, bpe, total);
  TaskEngine engine(network, units, es, std::move(init));
  engine.set_precise_bn(&train.images, settings.precise_bn_minibatches, settings.batch_size);

  const std::int64_t max_delay = *std::max_element(es.delays.begin(), es.delays.end());
  const int last = engine.num_stages() - 1;
  std::int64_t limit = total;  // minibatches that enter the pipeline
  for (std::int64_t n = 0; n < limit + max_delay; ++n) {
    if (n < limit && stop && stop()) limit = n;
    if (n < limit) {
      data::Batch b = data::gather(train, sampler.minibatch(n));
      engine.load(n, std::move(b.images), std::move(b.labels));
      for (int u = 0; u < nu; ++u) engine.forward(u, n);
      // §4c: a recomputing stage reruns its forward just before its backward (the last
      // stage's backward begins with the loss).
      if (engine.recomputes(last)) engine.recompute(last, n);
      engine.loss(n);
    }
    for (int u = nu - 1; u >= 0; --u) {
      const std::int64_t m = n - es.delays[u];
      if (m < 0 || m >= limit) continue;
      const int st = es.stage_of_unit[u];
      const bool stage_begins = u == nu - 1 || es.stage_of_unit[u + 1] != st;
      if (st != last && stage_begins && engine.recomputes(st)) engine.recompute(st, m);
      if (engine.has_backward_activation(u)) engine.backward_activation(u, m);
      engine.backward_weight(u, m);
      engine.update(u, m);
    }
    if (progress) progress(n + 1, total + max_delay);
  }
  LPSIM_ASSERT(engine.minibatches_in_flight() == 0, "the pipeline did not drain");

  TrainingResult result;
  result.interrupted = limit < total;
  result.delays = es.delays;
  result.minibatches = limit;
  result.epochs = epoch_results(engine, test, bpe, settings.epochs, 1000, limit);
  result.final_params = engine.parameters();
  for (int u = 0; u < nu; ++u) result.reconstruction.push_back(engine.reconstruction(u));
  result.spikes = engine.spike_stats();
  if (!result.epochs.empty() && !result.interrupted) {
    result.final_test_accuracy = result.epochs.back().test_accuracy;
    result.final_test_loss = result.epochs.back().test_loss;
  } else {
    const EvalResult ev = engine.evaluate(test.images, test.labels, std::nullopt, kEvaluationBatch);
    result.final_test_accuracy = ev.accuracy;
    result.final_test_loss = ev.loss;
  }
  return result;
}

}  // namespace lpsim::reference
