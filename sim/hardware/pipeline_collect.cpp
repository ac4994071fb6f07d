// After sc_start: the hardware run's result (pipeline_module.h).

#include <algorithm>

#include "core/errors.h"
#include "hw_models/common/clock.h"
#include "reports/derived.h"
#include "sim/hardware/module_params.h"
#include "sim/hardware/pipeline_module.h"

namespace lpsim::hardware {

namespace {

// Which memory kind an edge's buffer holds.
enum class BufferKind { kActivations, kGradients, kInFlight };

BufferKind buffer_kind(dataflow::EdgeKind kind) {
  switch (kind) {
    case dataflow::EdgeKind::kStoredActivation:
      return BufferKind::kActivations;
    case dataflow::EdgeKind::kGradient:
      return BufferKind::kGradients;
    case dataflow::EdgeKind::kActivation:
    case dataflow::EdgeKind::kWeightGradient:
    case dataflow::EdgeKind::kWeights:
    case dataflow::EdgeKind::kStashedWeights:
      return BufferKind::kInFlight;
  }
  return BufferKind::kInFlight;
}

void add_to(MemoryPeaks& m, BufferKind kind, std::uint64_t bytes) {
  switch (kind) {
    case BufferKind::kActivations:
      m.activations += bytes;
      break;
    case BufferKind::kGradients:
      m.gradients += bytes;
      break;
    case BufferKind::kInFlight:
      m.in_flight += bytes;
      break;
  }
}

}  // namespace

void Pipeline::collect() {
  const dataflow::TrainingGraph& g = r_.graph;
  for (std::size_t v = 0; v < g.nodes.size(); ++v) {
    if (static_cast<int>(v) == g.input_node) continue;
    if (done_[v] != limit_) {
      throw core::InternalError("the simulation stopped with " + g.nodes[v].name + " at " +
                                std::to_string(done_[v]) + " of " + std::to_string(limit_) +
                                " minibatches (a deadlock)");
    }
  }
  r_.total_cycles = hw::time_to_cycles(sc_core::sc_time_stamp(), period_);
  r_.interrupted = limit_ < r_.minibatches;
  r_.minibatches = limit_;
  // Steady state: minibatches whose every stage runs full beats. The longest lag fills the
  // pipeline; allow as long again for the transient to settle. At the end, the last max_lag
  // windows lack the tasks of minibatches past the limit and run faster: a minibatch's loss
  // is measured up to n - 1 - max_lag, its last task on each processor up to max_lag before.
  const std::int64_t n = r_.minibatches;
  const std::int64_t lag = r_.program.max_lag;
  const std::int64_t first = 2 * lag;
  const std::int64_t last = n - 1 - 2 * lag;
  if (n == 0) {
    r_.cycles_per_minibatch = 0.0;
    r_.steady_state_from = -1;
  } else if (last - first >= 4) {
    // A self-timed pipeline settles into an exactly periodic pattern (period c minibatches,
    // c small) after a transient that can be long; when the run ends in it, the rate is
    // exact: the smallest c whose last three strides agree, at the loss and at each
    // processor's last task of the minibatch alike. The loss alone can look periodic while
    // a later stage falls behind (its backlog grows until the delayed weights throttle the
    // forwards): that is not yet the rate. Without such a c, no steady state, and the rate
    // of the slowest processor over the window (the pipeline can go no faster in the long
    // run; one that is falling behind shows a longer stride than the loss).
    r_.cycles_per_minibatch = 0.0;
    for (std::size_t p = 0; p < done_cycle_.size(); ++p) {
      if (r_.program.entries[p].empty()) continue;
      r_.cycles_per_minibatch =
          std::max(r_.cycles_per_minibatch,
                   static_cast<double>(done_cycle_[p][last] - done_cycle_[p][first]) /
                       static_cast<double>(last - first));
    }
    r_.steady_state_from = -1;
    for (std::int64_t c = 1; c <= 16 && last - 3 * c >= first; ++c) {
      const auto stride = [&](const std::vector<std::uint64_t>& at, std::int64_t k) {
        return at[last - k * c] - at[last - (k + 1) * c];
      };
      const std::uint64_t s = stride(loss_cycle_, 0);
      bool periodic = true;
      for (std::int64_t k = 0; k < 3; ++k) {
        periodic = periodic && stride(loss_cycle_, k) == s;
        for (std::size_t p = 0; p < done_cycle_.size(); ++p) {
          periodic = periodic && (r_.program.entries[p].empty() || stride(done_cycle_[p], k) == s);
        }
      }
      if (periodic) {
        r_.cycles_per_minibatch = static_cast<double>(s) / static_cast<double>(c);
        r_.steady_state_from = last - 3 * c;
        break;
      }
    }
  } else {
    r_.cycles_per_minibatch = static_cast<double>(r_.total_cycles) / static_cast<double>(n);
    r_.steady_state_from = -1;
  }
  // Memory: measured peaks of every module, and the analytic figure of ARCHITECTURE.md §5.
  const int procs = r_.program.num_processors;
  r_.stage_memory.assign(procs, {});
  r_.stage_memory_analytic.assign(procs, {});
  const std::int64_t batch = job_.config.batch_size;
  for (std::size_t u = 0; u < g.layers.size(); ++u) {
    const models::Layer& layer = job_.network.layers[job_.units.units[u].layer];
    const int p = r_.program.processor_of_node[g.forward_node[u]];
    const std::uint64_t params = static_cast<std::uint64_t>(layer.num_params()) * kScalarBytes;
    const std::uint64_t weight = static_cast<std::uint64_t>(layer.weight_size()) * kScalarBytes;
    const std::uint64_t d = static_cast<std::uint64_t>(g.layers[u].delay);
    MemoryPeaks& m = r_.stage_memory[p];
    MemoryPeaks& a = r_.stage_memory_analytic[p];
    m.weights += params;
    m.optimizer += params;
    m.gradients += params;
    a.weights += params;
    a.optimizer += params;
    a.gradients += params;
    if (stash_[u]) m.stash += stash_[u]->stats().peak_bytes;
    if (ema_[u]) m.ema += ema_[u]->stats().peak_bytes;
    // ARCHITECTURE.md §5: d·|W| under stash; the vector unit's tensors (|W|, or |W| + |b|).
    const policies::HardwareWork& work = job_.config.policy->hardware;
    const bool delayed_ba = d > 0 && g.ba_node[u] >= 0;
    if (delayed_ba && work.stash) a.stash += d * weight;
    if (d > 0 && work.needs_vector_unit() && (delayed_ba || work.on_layers_without_backward())) {
      a.ema += static_cast<std::uint64_t>(work.tensors) * (work.covers_bias ? params : weight);
    }
    a.activations += (d + 1) * static_cast<std::uint64_t>(models::tensor_bytes(
                                   batch * layer.in_elements(), layer.in_binary));
  }
  core::Json units = core::Json::object();
  std::uint64_t link_bytes = 0;
  for (const auto& [e, buf] : buffers_) {
    const dataflow::Edge& edge = g.edges[e];
    const int p = r_.program.processor_of_first_part[edge.dst];
    const BufferKind kind = buffer_kind(edge.kind);
    add_to(r_.stage_memory[p], kind, buf->stats().peak_bytes);
    if (kind != BufferKind::kActivations) {
      add_to(r_.stage_memory_analytic[p], kind,
             static_cast<std::uint64_t>(edge.buffer_depth * edge.bytes_per_token));
    }
    units[buf->name()] = hw::to_json(buf->stats());
  }
  for (const auto& [key, link] : links_) {
    units[link->name()] = hw::to_json(link->stats());
    link_bytes += link->stats().bytes;
  }
  for (std::size_t u = 0; u < g.layers.size(); ++u) {
    if (stash_[u]) units[stash_[u]->name()] = hw::to_json(stash_[u]->stats());
    if (ema_[u]) units[ema_[u]->name()] = hw::to_json(ema_[u]->stats());
  }
  // The residents as placed (memory_plan.h): the SRAM part in the PE's bank, the rest in
  // DRAM. Staging is reported apart.
  for (int p = 0; p < procs; ++p) {
    const hw::Placement& placed = r_.memory_plan.pe[p];
    for (std::size_t k = 0; k < hw::kMemoryKinds; ++k) {
      const auto kind = static_cast<hw::MemoryKind>(k);
      if (placed.sram_bytes[k] > 0) srams_[p]->allocate(placed.sram_bytes[k], kind);
      if (placed.dram_bytes[k] > 0) dram_->allocate(placed.dram_bytes[k], kind);
    }
    units[srams_[p]->name()] = hw::to_json(srams_[p]->stats());
    const hw::ProcessingElementStats& st = pes_[p]->stats();
    r_.processors.push_back(
        reports::processor_row(hw::to_json(st), pes_[p]->name(), r_.total_cycles));
    units[pes_[p]->name()] = hw::to_json(st);
  }
  units[dram_->name()] = hw::to_json(dram_->stats());
  r_.units = units;
  // What each PE did, for the energy model: its own work, the stash and EMA units of the
  // layers it updates, the links it sends on.
  r_.pe_activity.assign(procs, {});
  r_.pe_names.clear();
  for (int p = 0; p < procs; ++p) {
    const hw::ProcessingElementWork& w = pes_[p]->stats().work;
    reports::PeActivity& a = r_.pe_activity[p];
    a.macs = w.macs;
    a.accumulates = w.accumulates;
    a.vector_ops = w.vector_ops;
    a.sram_read_bytes = w.sram_read_bytes();
    a.sram_write_bytes = w.sram_write_bytes();
    for (const hw::MemoryKind kind : hw::kAllMemoryKinds) {
      const auto k = static_cast<std::size_t>(kind);
      if (w.sram_read[k] + w.sram_write[k] > 0) {
        a.sram_by_kind[hw::memory_kind_name(kind)] = {w.sram_read[k], w.sram_write[k]};
      }
    }
    a.sram_capacity_bytes = srams_[p]->params().capacity_bytes;
    a.sram_bank_bytes = static_cast<std::uint64_t>(job_.config.hw.sram_bank_bytes);
    a.dram_bytes = pes_[p]->stats().dram_read_bytes + pes_[p]->stats().dram_write_bytes;
    r_.pe_names.push_back(pes_[p]->name());
  }
  for (std::size_t u = 0; u < g.layers.size(); ++u) {
    reports::PeActivity& a = r_.pe_activity[r_.program.processor_of_node[g.update_node[u]]];
    // A unit's SRAM bytes, in the totals and under the kind it holds.
    const auto unit_traffic = [&a](hw::MemoryKind kind, std::uint64_t read, std::uint64_t written) {
      a.unit_sram_read_bytes += read;
      a.unit_sram_write_bytes += written;
      auto& s = a.sram_by_kind[hw::memory_kind_name(kind)];
      s.first += read;
      s.second += written;
    };
    if (stash_[u]) {
      unit_traffic(hw::MemoryKind::kStash, stash_[u]->stats().bytes_read,
                   stash_[u]->stats().bytes_written);
    }
    if (ema_[u]) {
      unit_traffic(hw::MemoryKind::kEma, ema_[u]->stats().bytes_read,
                   ema_[u]->stats().bytes_written);
      a.unit_lane_ops += ema_[u]->stats().lane_ops;
    }
  }
  for (const auto& [key, link] : links_)
    r_.pe_activity[key.first].link_bytes += link->stats().bytes;
  // Every instance of a node moves its plan's DRAM bytes.
  for (std::size_t v = 0; v < g.nodes.size(); ++v) {
    if (static_cast<int>(v) == g.input_node) continue;
    for (std::size_t k = 0; k < hw::kMemoryKinds; ++k) {
      r_.dram_bytes_by_kind[k] +=
          r_.memory_plan.node[v].bytes_by_kind[k] * static_cast<std::uint64_t>(done_[v]);
    }
  }
  r_.link_bytes = link_bytes;
  if (options_.trace_end > options_.trace_begin) {
    r_.trace =
        trace_.document(r_.pe_names, job_.network.name, options_.trace_begin, options_.trace_end);
  }
  if (engine_) {
    LPSIM_ASSERT(engine_->minibatches_in_flight() == 0, "the pipeline did not drain");
    r_.epochs = reference::epoch_results(*engine_, job_.test, job_.batches_per_epoch,
                                         job_.config.epochs, 1000, limit_);
    const reference::EvalResult final_eval = engine_->evaluate(
        job_.test.images, job_.test.labels, std::nullopt, reference::kEvaluationBatch);
    r_.final_test_accuracy = final_eval.accuracy;
    r_.final_params = engine_->parameters();
    for (std::size_t u = 0; u < g.layers.size(); ++u) {
      r_.reconstruction.push_back(engine_->reconstruction(static_cast<int>(u)));
    }
    r_.spikes = engine_->spike_stats();
  }
}

}  // namespace lpsim::hardware
