#include "sim/hardware/pipeline.h"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <systemc>

#include "core/errors.h"
#include "hw_models/common/simulate.h"
#include "sim/hardware/module_params.h"
#include "sim/hardware/pipedream_plan.h"
#include "sim/hardware/pipeline_module.h"

namespace lpsim::hardware {

core::Json MemoryPeaks::to_json() const {
  return {{"weights", weights},
          {"optimizer", optimizer},
          {"stash", stash},
          {"ema", ema},
          {"activations", activations},
          {"gradients", gradients},
          {"in_flight", in_flight},
          {"total", total()}};
}

Pipeline::Pipeline(const sc_core::sc_module_name& name, run::Job& job, const RunOptions& options,
                   HardwareResult& result)
    : sc_core::sc_module(name),
      job_(job),
      options_(options),
      r_(result),
      period_(clock_period(job.config.hw)),
      plan_(dataflow::plan_elaboration(r_.graph, r_.program, r_.schedule ? &r_.task_graph : nullptr,
                                       r_.schedule ? &*r_.schedule : nullptr)),
      trace_(r_.graph, r_.program.num_processors, job.config.hw.period_ns) {
  const config::HwConfig& hw = job.config.hw;
  const dataflow::TrainingGraph& g = r_.graph;
  const int procs = plan_.processors;
  const int nu = static_cast<int>(g.layers.size());
  done_.assign(g.nodes.size(), 0);
  signal_cycle_.resize(g.nodes.size());
  for (std::size_t v = 0; v < g.nodes.size(); ++v) {
    if (plan_.sync_on_done[v]) signal_cycle_[v].assign(kSignalRing, 0);
  }
  started_.assign(g.nodes.size(), 0);
  for (std::size_t v = 0; v < g.nodes.size(); ++v) {
    done_event_.push_back(std::make_unique<sc_core::sc_event>());
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
  for (const dataflow::BufferPlan& b : plan_.buffers) {
    buffers_[b.edge] = std::make_unique<hw::DelayBuffer>(
        b.name.c_str(), buffer_params(hw, static_cast<std::size_t>(b.depth),
                                      static_cast<std::uint64_t>(b.bytes_per_entry)));
  }
  for (const dataflow::BufferPlan& b : plan_.split_buffers) {
    split_buffers_[b.node] = std::make_unique<hw::DelayBuffer>(
        b.name.c_str(), buffer_params(hw, static_cast<std::size_t>(b.depth),
                                      static_cast<std::uint64_t>(b.bytes_per_entry)));
    split_bytes_[b.node] = static_cast<std::uint64_t>(b.bytes_per_entry);
  }
  for (const auto& [from, to] : plan_.links) {
    links_[{from, to}] = std::make_unique<hw::Link>(
        ("link_pe" + std::to_string(from) + "_pe" + std::to_string(to)).c_str(), link_params(hw));
  }
  const policies::HardwareWork& work = job.config.policy->hardware;
  stash_.resize(nu);
  ema_.resize(nu);
  for (int u = 0; u < nu; ++u) {
    if (!plan_.weight_unit[u]) continue;
    const models::Layer& layer = job.network.layers[job.units.units[u].layer];
    const std::string lname = dataflow::module_name(layer.name);
    if (work.stash && plan_.stash_versions[u] > 0) {
      stash_[u] = std::make_unique<hw::WeightStashUnit>(
          ("stash_" + lname).c_str(),
          stash_params(hw, static_cast<std::uint64_t>(plan_.stash_versions[u]),
                       static_cast<std::uint64_t>(layer.weight_size())));
    }
    if (work.needs_vector_unit()) {
      ema_[u] = std::make_unique<hw::EmaRecomputeUnit>(("ema_" + lname).c_str(),
                                                       ema_params(hw, work, layer));
    }
  }
  if (options.math) {
    // The reference trainer's settings, with the delays the hardware derived (the same).
    reference::EngineSettings es = reference::engine_settings(
        job.trainer, static_cast<int>(g.layers.size()), job.batches_per_epoch, r_.minibatches);
    es.delays.clear();
    for (const auto& lt : g.layers) es.delays.push_back(lt.delay);
    engine_ = std::make_unique<reference::TaskEngine>(job.network, job.units, es, job.init);
    sampler_ = std::make_unique<data::BatchSampler>(job.train.size(), job.config.batch_size,
                                                    job.config.dataset.shuffle, job.config.seed);
  }
  if (!options.resume_dir.empty()) read_resume_point();
  r_.measured_staleness.assign(nu, -1);
  r_.min_staleness.assign(nu, -1);
  loss_cycle_.assign(r_.minibatches, 0);
  done_cycle_.assign(r_.program.num_processors, std::vector<std::uint64_t>(r_.minibatches, 0));
  limit_ = r_.minibatches;
}

HardwareResult run_hardware(run::Job& job, const RunOptions& options) {
  ::setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1);
  HardwareResult r;
  if (job.config.scheduler == dataflow::Scheduler::kPipeDream) {
    // PipeDream: its stages, each on its own processor, 1F1B (the job takes them too, when
    // its caller has not given them already).
    PipeDreamPlan plan = plan_pipedream(job.network, job.units, job.config,
                                        static_cast<int>(*job.config.processors));
    apply_pipedream(job, plan);
    r.graph = std::move(plan.graph);
    r.costs = std::move(plan.costs);
    r.task_graph = std::move(plan.tasks);
    r.schedule = std::move(plan.schedule);
    r.program = dataflow::program_of(r.graph, r.task_graph, *r.schedule);
  } else {
    r.graph = dataflow::build_training_graph(job.network, job.units, job.partition,
                                             *job.config.policy, job.config.batch_size);
    r.costs = task_costs(r.graph, job.config.hw, job.network, job.units);
    if (job.config.processors) {
      const NodeCycles c = node_cycles(r.costs);
      const dataflow::BackwardSplit split = job.config.backward_split;
      const int procs = static_cast<int>(*job.config.processors);
      dataflow::ScheduleSweep sweep = dataflow::sweep_schedules(
          r.graph, c.node, c.tail, procs, link_cost(job.config.hw), c.after_update);
      const std::size_t mi = static_cast<std::size_t>(split);
      r.task_graph = sweep.graphs[mi];
      r.schedule = sweep.schedules[mi][procs - 1];
      r.program = dataflow::program_of(r.graph, r.task_graph, *r.schedule);
    } else {
      r.program = dataflow::stage_program(r.graph);
    }
  }
  r.memory_plan =
      plan_memory(r.graph, r.program, job.network, job.units, job.config.hw, job.config.source);
  r.minibatches = job.batches_per_epoch * job.config.epochs;
  // The delays the hardware realises (retimed graph) must be the ones the reference
  // trainer uses (formula 2·S(l)).
  const std::vector<std::int64_t> formula =
      reference::layer_delays(job.trainer, static_cast<int>(job.units.units.size()));
  for (std::size_t u = 0; u < formula.size(); ++u) {
    LPSIM_ASSERT(formula[u] == r.graph.layers[u].delay, "graph delay differs from 2·S(l)");
  }
  auto top = std::make_unique<Pipeline>("top", job, options, r);
  try {
    hw::simulate();
  } catch (const sc_core::sc_report& e) {
    throw core::InternalError(std::string("simulation failed: ") + e.what());
  }
  top->collect();
  return r;
}

}  // namespace lpsim::hardware
