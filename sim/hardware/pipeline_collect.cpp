// After sc_start: the hardware run's raw result (pipeline_module.h), in named steps.

#include <algorithm>
#include <map>
#include <string>

#include "core/errors.h"
#include "hw_models/common/clock.h"
#include "sim/hardware/module_params.h"
#include "sim/hardware/pipeline_module.h"

namespace lpsim::hardware {

namespace {

// A PE's MACs with two real operands, by the name of their product's format (nonzero ones).
std::map<std::string, std::uint64_t> macs_by_format(const hw::ProcessingElementWork& w) {
  std::map<std::string, std::uint64_t> out;
  for (ops::NumberFormat f : ops::kAllNumberFormats) {
    const std::uint64_t n = w.macs_by_format[static_cast<std::size_t>(f)];
    if (n > 0) out[std::string(ops::format_name(f))] = n;
  }
  return out;
}

}  // namespace

void Pipeline::collect() {
  check_drained();
  r_.total_cycles = hw::time_to_cycles(sc_core::sc_time_stamp(), period_);
  // A unit working on its caller's time has no event of its own: the run ends when its last
  // job does, if that is later than everything else.
  for (const auto& unit : weight_units_) {
    if (unit) r_.total_cycles = std::max(r_.total_cycles, unit->idle_at_cycle());
  }
  r_.interrupted = limit_ < plan_.minibatches;
  r_.minibatches = limit_;
  measure_rate();
  measure_memory();
  collect_counters();
  collect_activity();
  if (options_.trace_end > options_.trace_begin) {
    r_.trace =
        trace_.document(r_.pe_names, job_.network.name, options_.trace_begin, options_.trace_end);
  }
  if (engine_) collect_training();
}

// Every task of every minibatch that entered ran: otherwise the model deadlocked.
void Pipeline::check_drained() const {
  for (std::size_t v = 0; v < graph_.nodes.size(); ++v) {
    if (static_cast<int>(v) == graph_.input_node) continue;
    if (done_[v] != limit_) {
      throw core::InternalError("the simulation stopped with " + graph_.nodes[v].name + " at " +
                                std::to_string(done_[v]) + " of " + std::to_string(limit_) +
                                " minibatches (a deadlock)");
    }
  }
}

// Steady state: minibatches whose every stage runs full beats. The longest lag fills the
// pipeline; allow as long again for the transient to settle. At the end, the last max_lag
// windows lack the tasks of minibatches past the limit and run faster: a minibatch's loss
// is measured up to n - 1 - max_lag, its last task on each processor up to max_lag before.
void Pipeline::measure_rate() {
  const std::int64_t n = r_.minibatches;
  const std::int64_t lag = program_.max_lag;
  const std::int64_t first = 2 * lag;
  const std::int64_t last = n - 1 - 2 * lag;
  r_.cycles_per_minibatch = 0.0;
  r_.steady_state_from = -1;
  if (n == 0) return;
  if (last - first < 4) {
    r_.cycles_per_minibatch = static_cast<double>(r_.total_cycles) / static_cast<double>(n);
    return;
  }
  // A self-timed pipeline settles into an exactly periodic pattern (period c minibatches,
  // c small) after a transient that can be long; when the run ends in it, the rate is
  // exact: the smallest c whose last three strides agree, at the loss and at each
  // processor's last task of the minibatch alike. The loss alone can look periodic while
  // a later stage falls behind (its backlog grows until the delayed weights throttle the
  // forwards): that is not yet the rate. Without such a c, no steady state, and the rate
  // of the slowest processor over the window (the pipeline can go no faster in the long
  // run; one that is falling behind shows a longer stride than the loss).
  for (std::size_t p = 0; p < done_cycle_.size(); ++p) {
    if (program_.entries[p].empty()) continue;
    r_.cycles_per_minibatch = std::max(
        r_.cycles_per_minibatch, static_cast<double>(done_cycle_[p][last] - done_cycle_[p][first]) /
                                     static_cast<double>(last - first));
  }
  for (std::int64_t c = 1; c <= 16 && last - 3 * c >= first; ++c) {
    const auto stride = [&](const std::vector<std::uint64_t>& at, std::int64_t k) {
      return at[last - k * c] - at[last - (k + 1) * c];
    };
    const std::uint64_t s = stride(loss_cycle_, 0);
    bool periodic = true;
    for (std::int64_t k = 0; k < 3; ++k) {
      periodic = periodic && stride(loss_cycle_, k) == s;
      for (std::size_t p = 0; p < done_cycle_.size(); ++p) {
        periodic = periodic && (program_.entries[p].empty() || stride(done_cycle_[p], k) == s);
      }
    }
    if (periodic) {
      r_.cycles_per_minibatch = static_cast<double>(s) / static_cast<double>(c);
      r_.steady_state_from = last - 3 * c;
      return;
    }
  }
}

// Memory per processor: the measured peaks of every module, and the analytic figure of
// ARCHITECTURE.md §5 (the plan's residents), each buffer under the kind buffer_kind() names.
void Pipeline::measure_memory() {
  const int procs = program_.num_processors;
  r_.stage_memory.assign(procs, {});
  r_.stage_memory_analytic.assign(procs, {});
  const policies::HardwareWork& work = graph_.policy->hardware;
  const std::int64_t batch = job_.config.batch_size;
  for (std::size_t u = 0; u < graph_.layers.size(); ++u) {
    const WeightUnitSlot& slot = plan_.weight_units[u];
    const int p = program_.processor_of_node[graph_.forward_node[u]];
    const std::uint64_t params = slot.layer.param_elements * slot.layer.master_bytes;
    MemoryPeaks& m = r_.stage_memory[p];
    MemoryPeaks& a = r_.stage_memory_analytic[p];
    for (MemoryPeaks* peaks : {&m, &a}) {
      (*peaks)[hw::MemoryKind::kWeights] += params;
      (*peaks)[hw::MemoryKind::kOptimizer] +=
          static_cast<std::uint64_t>(graph_.update.state_tensors) * params;
      (*peaks)[hw::MemoryKind::kGradients] += slot.layer.param_elements * slot.layer.gradient_bytes;
    }
    if (weight_units_[u]) {
      const WeightUnitActivity unit = weight_units_[u]->activity();
      m[unit.kind] += unit.peak_bytes;
    }
    if (slot.kind != nullptr) slot.kind->residents(work, slot.layer, a.bytes);
    const models::Layer& layer = job_.network.layers[job_.units.units[u].layer];
    // Under recompute (§4c, GPipe's figure) one minibatch's; the stage's input below.
    const auto held = graph_.recomputes(graph_.layers[u].stage)
                          ? std::uint64_t{1}
                          : static_cast<std::uint64_t>(graph_.layers[u].delay) + 1;
    a[hw::MemoryKind::kActivations] +=
        held * static_cast<std::uint64_t>(
                   models::tensor_bytes(batch * layer.in_elements(), layer.in_binary,
                                        graph_.numerics.bytes(ops::TensorClass::kActivations)));
  }
  for (const dataflow::BufferPlan& b : modules_.buffers) {
    const dataflow::Edge& edge = graph_.edges[b.edge];
    const hw::MemoryKind kind = buffer_kind(edge.kind);
    r_.stage_memory[b.consumer][kind] += buffers_[b.edge]->stats().peak_bytes;
    if (kind != hw::MemoryKind::kActivations || edge.kind == dataflow::EdgeKind::kStageInput) {
      r_.stage_memory_analytic[b.consumer][kind] +=
          static_cast<std::uint64_t>(edge.buffer_depth * edge.bytes_per_token);
    }
  }
}

// Every module's raw counters, keyed by its SystemC name; the bytes the links carried.
void Pipeline::collect_counters() {
  core::Json units = core::Json::object();
  for (const auto& buf : buffers_) {
    if (buf) units[buf->name()] = hw::to_json(buf->stats());
  }
  r_.link_bytes = 0;
  for (const auto& [key, link] : links_) {
    units[link->name()] = hw::to_json(link->stats());
    r_.link_bytes += link->stats().bytes;
  }
  for (const auto& unit : weight_units_) {
    if (unit) units[unit->module().name()] = unit->counters();
  }
  // The residents as placed (memory_plan.h): the SRAM part in the PE's bank, the rest in
  // DRAM. Staging is reported apart.
  for (std::size_t p = 0; p < pes_.size(); ++p) {
    const hw::Placement& placed = plan_.memory.pe[p];
    for (const hw::MemoryKind kind : hw::kAllMemoryKinds) {
      const auto k = static_cast<std::size_t>(kind);
      if (placed.sram_bytes[k] > 0) srams_[p]->allocate(placed.sram_bytes[k], kind);
      if (placed.dram_bytes[k] > 0) dram_->allocate(placed.dram_bytes[k], kind);
    }
    units[srams_[p]->name()] = hw::to_json(srams_[p]->stats());
    core::Json pe = hw::to_json(pes_[p]->stats());
    pe["macs_by_format"] = macs_by_format(pes_[p]->stats().work);
    units[pes_[p]->name()] = pe;
    r_.processors.push_back(pe);
    r_.pe_names.push_back(pes_[p]->name());
  }
  units[dram_->name()] = hw::to_json(dram_->stats());
  r_.units = std::move(units);
  // Every instance of a node moves its plan's DRAM bytes.
  for (std::size_t v = 0; v < graph_.nodes.size(); ++v) {
    if (static_cast<int>(v) == graph_.input_node) continue;
    for (std::size_t k = 0; k < hw::kMemoryKinds; ++k) {
      r_.dram_bytes_by_kind[k] +=
          plan_.memory.node[v].bytes_by_kind[k] * static_cast<std::uint64_t>(done_[v]);
    }
  }
}

// What each PE did, for the energy model: its own work, the weight-version units of the
// layers it updates, the links it sends on.
void Pipeline::collect_activity() {
  r_.pe_activity.assign(pes_.size(), {});
  for (std::size_t p = 0; p < pes_.size(); ++p) {
    const hw::ProcessingElementStats& st = pes_[p]->stats();
    const hw::ProcessingElementWork& w = st.work;
    reports::PeActivity& a = r_.pe_activity[p];
    a.macs = w.macs;
    a.macs_by_format = macs_by_format(w);
    a.accumulate_format = std::string(
        ops::format_info(job_.config.hw.numerics.of(ops::TensorClass::kAccumulate)).name);
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
    a.dram_bytes = st.dram_read_bytes + st.dram_write_bytes;
  }
  for (std::size_t u = 0; u < graph_.layers.size(); ++u) {
    if (!weight_units_[u]) continue;
    const WeightUnitActivity unit = weight_units_[u]->activity();
    reports::PeActivity& a = r_.pe_activity[program_.processor_of_node[graph_.update_node[u]]];
    a.unit_sram_read_bytes += unit.sram_read_bytes;
    a.unit_sram_write_bytes += unit.sram_write_bytes;
    auto& by_kind = a.sram_by_kind[hw::memory_kind_name(unit.kind)];
    by_kind.first += unit.sram_read_bytes;
    by_kind.second += unit.sram_write_bytes;
    a.unit_lane_ops += unit.lane_ops;
  }
  for (const auto& [key, link] : links_)
    r_.pe_activity[key.first].link_bytes += link->stats().bytes;
}

// The training outcome: epochs, the final test accuracy with the drained weights, the
// weights themselves, reconstruction and spike statistics.
void Pipeline::collect_training() {
  LPSIM_ASSERT(engine_->minibatches_in_flight() == 0, "the pipeline did not drain");
  r_.epochs = reference::epoch_results(*engine_, job_.test, job_.batches_per_epoch,
                                       job_.config.epochs, 1000, limit_);
  const reference::EvalResult final_eval = engine_->evaluate(
      job_.test.images, job_.test.labels, std::nullopt, reference::kEvaluationBatch);
  r_.final_test_accuracy = final_eval.accuracy;
  r_.final_params = engine_->parameters();
  for (std::size_t u = 0; u < graph_.layers.size(); ++u) {
    r_.reconstruction.push_back(engine_->reconstruction(static_cast<int>(u)));
  }
  r_.spikes = engine_->spike_stats();
}

}  // namespace lpsim::hardware
