#include "sim/run/resources.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <vector>

#include "core/errors.h"
#include "workloads/reference/trainer.h"

namespace lpsim::run {

namespace {

// The activations and gradients of the minibatches in flight, with `recompute` per stage.
std::uint64_t in_flight_bytes(const Job& job, const std::vector<bool>& recompute,
                              std::int64_t max_delay) {
  std::uint64_t activations_per_sample = job.network.input_shape.size();
  // §4c: what a recomputing stage drops after its forward is held by at most two minibatches
  // at a time (the one forwarding, and the rerun of the one in its backward).
  std::uint64_t recomputed_per_sample = 0;
  std::vector<bool> dropped(job.network.layers.size(), false);
  std::vector<bool> rerun(job.network.layers.size(), false);
  if (std::find(recompute.begin(), recompute.end(), true) != recompute.end()) {
    std::vector<int> stage_of_unit = job.partition.stage_of_unit;
    if (!job.config.policy->pipelined) stage_of_unit.assign(stage_of_unit.size(), 0);
    const auto stage = models::backward_stage_of_layers(job.network, job.units, stage_of_unit,
                                                        static_cast<int>(recompute.size()));
    const auto kept = models::read_by_other_stage(job.network, stage);
    for (std::size_t l = 0; l < dropped.size(); ++l) {
      rerun[l] = stage[l] >= 0 && recompute[stage[l]];
      dropped[l] = rerun[l] && !kept[l];
    }
  }
  for (std::size_t i = 0; i < job.network.layers.size(); ++i) {
    const models::Layer& l = job.network.layers[i];
    // its output, what the engine keeps for its backward (batch norm's x̂, max pooling's argmax,
    // a LIF layer's membrane, attention's P), and its output gradient (a unit's is held from
    // its tail until both its Ba and Bw ran; an element-wise layer's while its tail runs)
    const std::uint64_t elements = 2 * l.out_elements() + l.type->host_saved_elements(l);
    (dropped[i] ? recomputed_per_sample : activations_per_sample) += elements;
    // A kept output of a recomputing stage's layer is held twice: as the forward made it
    // (other stages read it) and as the rerun does (the stage's own backward reads that).
    if (rerun[i] && !dropped[i]) recomputed_per_sample += l.out_elements();
  }
  // A minibatch keeps every layer's output from its forward until its last backward task,
  // max_delay beats later, so max_delay + 1 are in flight; gradients of one more are live.
  return static_cast<std::uint64_t>(ops::kScalarBytes) *
         static_cast<std::uint64_t>(job.config.batch_size) *
         (activations_per_sample * static_cast<std::uint64_t>(max_delay + 2) +
          2 * recomputed_per_sample);
}

}  // namespace

MemoryEstimate estimate_memory(const Job& job, bool math) {
  MemoryEstimate e;
  constexpr std::uint64_t kBytes = static_cast<std::uint64_t>(ops::kScalarBytes);
  const std::vector<std::int64_t> delays =
      reference::layer_delays(job.trainer, static_cast<int>(job.units.units.size()));
  std::int64_t max_delay = 0;
  const auto state =
      static_cast<std::uint64_t>(ops::optimizer_state_tensors(job.config.optimizer.kind));
  for (std::size_t u = 0; u < job.units.units.size(); ++u) {
    const models::Layer& l = job.network.layers[job.units.units[u].layer];
    const std::uint64_t params = static_cast<std::uint64_t>(l.num_params());
    const std::uint64_t weight = static_cast<std::uint64_t>(l.weight_size());
    const std::uint64_t d = static_cast<std::uint64_t>(delays[u]);
    max_delay = std::max<std::int64_t>(max_delay, delays[u]);
    // weights, the optimizer's state (sgd 1, adamw 2 tensors), one pending gradient per
    // update in flight, an evaluation snapshot per epoch boundary, and a stash of d versions
    // (stash policy or diagnostic)
    e.parameters_bytes += kBytes * (params * (2 + state + d) + weight * (d + 1));
  }
  e.batch = job.config.batch_size;
  e.max_delay = max_delay;
  e.in_flight_bytes = in_flight_bytes(job, job.trainer.recompute_stage, max_delay);
  // What every stage recomputing would need instead (a refusal suggests it when it fits).
  e.in_flight_recompute_bytes = in_flight_bytes(
      job, std::vector<bool>(static_cast<std::size_t>(job.partition.num_stages), true), max_delay);
  // The samples and their labels (one per token of a token set: as many as its inputs).
  e.data_bytes =
      kBytes * static_cast<std::uint64_t>(job.train.images.size() + job.test.images.size()) +
      sizeof(std::int32_t) * (job.train.labels.size() + job.test.labels.size());
  if (!math) {
    e.parameters_bytes = kBytes * static_cast<std::uint64_t>(job.network.num_params());  // init
    e.in_flight_bytes = 0;
    e.in_flight_recompute_bytes = 0;
  }
  // Measured: a tiny run resides in 28 MB (issue 30); OpenBLAS keeps a 32 MiB GEMM buffer per
  // thread that multiplies.
  constexpr std::uint64_t kMiB = 1u << 20;
  const auto threads =
      static_cast<std::uint64_t>(std::max(1, config::resolved_threads(job.config)));
  e.runtime_bytes = 64 * kMiB + 32 * kMiB * threads;
  return e;
}

std::uint64_t available_memory() {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("MemAvailable:", 0) == 0) {
      std::istringstream fields(line.substr(13));
      std::uint64_t kib = 0;
      fields >> kib;
      return kib * 1024;
    }
  }
  return 0;
}

std::string what_would_fit(const MemoryEstimate& e, std::uint64_t available) {
  const std::uint64_t fixed = e.parameters_bytes + e.data_bytes + e.runtime_bytes;
  if (e.in_flight_bytes == 0 || fixed >= available) {
    return "the parameters, their stashes and the data alone exceed it: a smaller model or data "
           "set";
  }
  const std::uint64_t room = available - fixed;
  std::vector<std::string> ways;
  if (e.in_flight_recompute_bytes > 0 && e.in_flight_recompute_bytes < e.in_flight_bytes &&
      e.in_flight_recompute_bytes <= room) {
    ways.push_back("pipeline.activations \"recompute\"");
  }
  // The minibatches in flight scale with the batch and with the deepest delay + 2 (a stage
  // fewer shortens the deepest delay by 2); the stashes shrink too, which is not counted, so
  // these bounds are safe.
  const double per_sample = static_cast<double>(e.in_flight_bytes) / static_cast<double>(e.batch);
  const auto batch = static_cast<std::int64_t>(static_cast<double>(room) / per_sample);
  if (batch >= 1) ways.push_back("a batch of at most " + std::to_string(batch));
  const double per_minibatch =
      static_cast<double>(e.in_flight_bytes) / static_cast<double>(e.max_delay + 2);
  const auto delay = static_cast<std::int64_t>(static_cast<double>(room) / per_minibatch) - 2;
  if (delay >= 0 && delay < e.max_delay) {
    ways.push_back("at most " + std::to_string(delay / 2 + 1) + " stages (delays of at most " +
                   std::to_string(delay - delay % 2) + ") at this batch");
  }
  if (ways.empty()) return "a smaller model, batch or pipeline depth";
  std::string s = "it would fit with " + ways[0];
  for (std::size_t i = 1; i < ways.size(); ++i) s += " or with " + ways[i];
  return s;
}

void check_resources(const Job& job, bool math) {
  const MemoryEstimate e = estimate_memory(job, math);
  const std::uint64_t available = available_memory();
  if (available == 0 || e.total() <= available) return;
  auto gb = [](std::uint64_t b) {
    std::ostringstream s;
    s.precision(3);
    s << static_cast<double>(b) / 1e9 << " GB";
    return s.str();
  };
  throw NotEnoughMemory(
      job.config.source, "",
      "this run needs an estimated " + gb(e.total()) +
          " of memory (parameters and "
          "their stashes " +
          gb(e.parameters_bytes) + ", minibatches in flight " + gb(e.in_flight_bytes) + ", data " +
          gb(e.data_bytes) + ", the program " + gb(e.runtime_bytes) + ") but " + gb(available) +
          " are available; " + what_would_fit(e, available) + ", or use --no-math for timing only");
}

}  // namespace lpsim::run
