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
  prepare_firing();
  elaborate();
  if (options.math) prepare_training();
  if (!options.resume_dir.empty()) read_resume_point();
}

// The firing state: instance counts, completion events and signals, the measurements.
void Pipeline::prepare_firing() {
  const std::size_t nodes = graph_.nodes.size();
  done_.assign(nodes, 0);
  signal_cycle_.resize(nodes);
  for (std::size_t v = 0; v < nodes; ++v) {
    if (modules_.sync_on_done[v]) signal_cycle_[v].assign(kSignalRing, 0);
    done_event_.push_back(std::make_unique<sc_core::sc_event>());
  }
  // A task's completion is notified only where a task on another processor can wait on it
  // (a task on the same PE runs after it in program order and finds it done).
  done_awaited_.assign(nodes, false);
  for (std::size_t v = 0; v < nodes; ++v) {
    for (const auto& d : modules_.deps[v]) {
      if (d.edge < 0 && program_.processor_of_node[d.src] != program_.processor_of_first_part[v]) {
        done_awaited_[d.src] = true;
      }
    }
  }
  const std::size_t layers = graph_.layers.size();
  r_.measured_staleness.assign(layers, -1);
  r_.min_staleness.assign(layers, -1);
  loss_cycle_.assign(plan_.minibatches, 0);
  done_cycle_.assign(program_.num_processors, std::vector<std::uint64_t>(plan_.minibatches, 0));
  limit_ = plan_.minibatches;
}

// The modules of the plan, in this order: PEs and their SRAMs, the DRAM, the buffers, the
// links, the weight-version units.
void Pipeline::elaborate() {
  const config::HwConfig& hw = job_.config.hw;
  const int procs = modules_.processors;
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
  buffers_.resize(graph_.edges.size());
  for (const dataflow::BufferPlan& b : modules_.buffers) {
    buffers_[b.edge] = std::make_unique<hw::DelayBuffer>(
        b.name.c_str(), buffer_params(hw, static_cast<std::size_t>(b.depth),
                                      static_cast<std::uint64_t>(b.bytes_per_entry)));
  }
  split_buffers_.resize(graph_.nodes.size());
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
  const policies::HardwareWork& work = graph_.policy->hardware;
  weight_units_.resize(graph_.layers.size());
  for (std::size_t u = 0; u < graph_.layers.size(); ++u) {
    const WeightUnitSlot& slot = plan_.weight_units[u];
    if (slot.kind == nullptr) continue;
    const WeightUnitSite site{modules_.backward_lag[u], modules_.layer_on_one_processor[u]};
    weight_units_[u] = slot.kind->make(work, slot.layer, hw, site);
  }
}

// The task engine with the reference trainer's settings and the delays the hardware derived
// (the same), and the minibatch sampler.
void Pipeline::prepare_training() {
  reference::EngineSettings es =
      reference::engine_settings(job_.trainer, static_cast<int>(graph_.layers.size()),
                                 job_.batches_per_epoch, plan_.minibatches);
  es.delays.clear();
  for (const auto& lt : graph_.layers) es.delays.push_back(lt.delay);
  engine_ = std::make_unique<reference::TaskEngine>(job_.network, job_.units, es, job_.init);
  engine_->set_precise_bn(&job_.train.images, job_.trainer.precise_bn_minibatches,
                          job_.config.batch_size);
  sampler_ = std::make_unique<data::BatchSampler>(job_.train.size(), job_.config.batch_size,
                                                  job_.config.dataset.shuffle, job_.config.seed);
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
