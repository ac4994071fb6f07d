#include "sim/hardware/pipeline.h"

#include <cstdlib>
#include <memory>
#include <systemc>

#include "core/errors.h"
#include "hw_models/common/simulate.h"
#include "sim/hardware/module_params.h"
#include "sim/hardware/pipeline_module.h"

namespace lpsim::hardware {

MemoryPeaks& MemoryPeaks::operator+=(const MemoryPeaks& other) {
  for (std::size_t k = 0; k < hw::kMemoryKinds; ++k) bytes[k] += other.bytes[k];
  return *this;
}

std::uint64_t MemoryPeaks::total() const {
  std::uint64_t sum = 0;
  for (std::uint64_t b : bytes) sum += b;
  return sum;
}

core::Json MemoryPeaks::to_json() const {
  core::Json out = core::Json::object();
  for (const hw::MemoryKind kind : hw::kAllMemoryKinds)
    out[hw::memory_kind_name(kind)] = (*this)[kind];
  out["total"] = total();
  return out;
}

Pipeline::Pipeline(const sc_core::sc_module_name& name, const run::Job& job,
                   const HardwarePlan& plan, const RunOptions& options, HardwareResult& result)
    : sc_core::sc_module(name),
      job_(job),
      plan_(plan),
      graph_(plan.graph),
      program_(plan.program),
      modules_(plan.elaboration),
      options_(options),
      r_(result),
      period_(clock_period(job.config.hw)),
      trace_(plan.graph, plan.program.num_processors, job.config.hw.period_ns) {
  const config::HwConfig& hw = job.config.hw;
  const dataflow::TrainingGraph& g = graph_;
  const int procs = modules_.processors;
  const int nu = static_cast<int>(g.layers.size());
  done_.assign(g.nodes.size(), 0);
  started_.assign(g.nodes.size(), 0);
  signal_cycle_.resize(g.nodes.size());
  for (std::size_t v = 0; v < g.nodes.size(); ++v) {
    if (modules_.sync_on_done[v]) signal_cycle_[v].assign(kSignalRing, 0);
    done_event_.push_back(std::make_unique<sc_core::sc_event>());
  }
  // A task's completion is notified only where a task on another processor can wait on it
  // (a task on the same PE runs after it in program order and finds it done).
  done_awaited_.assign(g.nodes.size(), false);
  for (std::size_t v = 0; v < g.nodes.size(); ++v) {
    for (const auto& d : modules_.deps[v]) {
      if (d.edge < 0 && program_.processor_of_node[d.src] != program_.processor_of_first_part[v]) {
        done_awaited_[d.src] = true;
      }
    }
  }
  for (int p = 0; p < procs; ++p) {
    pes_.push_back(
        std::make_unique<hw::ProcessingElement>(("pe" + std::to_string(p)).c_str(), pe_params(hw)));
    pes_.back()->set_program([this, p](hw::ProcessingElement& self) { program(p, self); });
    srams_.push_back(
        std::make_unique<hw::SramBank>(("sram" + std::to_string(p)).c_str(), sram_params(hw)));
  }
  dram_ = std::make_unique<hw::Dram>("dram", dram_params(hw));
  prefetched_for_.assign(procs, {-1, -1});
  prefetch_done_.assign(procs, 0);
  buffers_.resize(g.edges.size());
  for (const dataflow::BufferPlan& b : modules_.buffers) {
    buffers_[b.edge] = std::make_unique<hw::DelayBuffer>(
        b.name.c_str(), buffer_params(hw, static_cast<std::size_t>(b.depth),
                                      static_cast<std::uint64_t>(b.bytes_per_entry)));
  }
  split_buffers_.resize(g.nodes.size());
  for (const dataflow::BufferPlan& b : modules_.split_buffers) {
    split_buffers_[b.node] = std::make_unique<hw::DelayBuffer>(
        b.name.c_str(), buffer_params(hw, static_cast<std::size_t>(b.depth),
                                      static_cast<std::uint64_t>(b.bytes_per_entry)));
  }
  link_of_.assign(static_cast<std::size_t>(procs) * procs, nullptr);
  for (const auto& [from, to] : modules_.links) {
    auto& link = links_[{from, to}];
    link = std::make_unique<hw::Link>(
        ("link_pe" + std::to_string(from) + "_pe" + std::to_string(to)).c_str(), link_params(hw));
    link_of_[static_cast<std::size_t>(from) * procs + to] = link.get();
  }
  const policies::HardwareWork& work = g.policy->hardware;
  weight_units_.resize(nu);
  for (int u = 0; u < nu; ++u) {
    const WeightUnitSlot& slot = plan.weight_units[u];
    if (slot.kind != nullptr) {
      const WeightUnitSite site{modules_.backward_lag[u], modules_.layer_on_one_processor[u]};
      weight_units_[u] = slot.kind->make(work, slot.layer, hw, site);
    }
  }
  if (options.math) {
    // The reference trainer's settings, with the delays the hardware derived (the same).
    reference::EngineSettings es =
        reference::engine_settings(job.trainer, nu, job.batches_per_epoch, plan.minibatches);
    es.delays.clear();
    for (const auto& lt : g.layers) es.delays.push_back(lt.delay);
    engine_ = std::make_unique<reference::TaskEngine>(job.network, job.units, es, job.init);
    sampler_ = std::make_unique<data::BatchSampler>(job.train.size(), job.config.batch_size,
                                                    job.config.dataset.shuffle, job.config.seed);
  }
  if (!options.resume_dir.empty()) read_resume_point();
  r_.measured_staleness.assign(nu, -1);
  r_.min_staleness.assign(nu, -1);
  loss_cycle_.assign(plan.minibatches, 0);
  done_cycle_.assign(program_.num_processors, std::vector<std::uint64_t>(plan.minibatches, 0));
  limit_ = plan.minibatches;
}

HardwareResult run_hardware(const run::Job& job, const HardwarePlan& plan,
                            const RunOptions& options) {
  ::setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1);
  HardwareResult r;
  auto top = std::make_unique<Pipeline>("top", job, plan, options, r);
  try {
    hw::simulate();
  } catch (const sc_core::sc_report& e) {
    throw core::InternalError(std::string("simulation failed: ") + e.what());
  }
  top->collect();
  return r;
}

}  // namespace lpsim::hardware
