#include "sim/hardware/hardware_report.h"

#include "reports/derived.h"
#include "reports/energy.h"
#include "sim/run/report_parts.h"

namespace lpsim::hardware {

namespace {

core::Json placement_json(const MemoryPlan& memory) {
  core::Json placement = core::Json::array();
  for (std::size_t p = 0; p < memory.pe.size(); ++p) {
    const hw::Placement& pl = memory.pe[p];
    core::Json sram = core::Json::object(), dram = core::Json::object();
    for (const hw::MemoryKind kind : hw::kAllMemoryKinds) {
      const auto k = static_cast<std::size_t>(kind);
      sram[hw::memory_kind_name(kind)] = pl.sram_bytes[k];
      dram[hw::memory_kind_name(kind)] = pl.dram_bytes[k];
    }
    placement.push_back({{"processor", p},
                         {"capacity_bytes", pl.capacity_bytes},
                         {"staging_bytes", pl.staging_bytes},
                         {"staging_task", memory.staging_task[p]},
                         {"sram_bytes", sram},
                         {"dram_bytes", dram},
                         {"sram_total_bytes", pl.sram_total()}});
  }
  return placement;
}

}  // namespace

core::Json hardware_report(const run::Job& job, const HardwarePlan& plan, const HardwareResult& r,
                           bool math) {
  const config::HwConfig& hw = job.config.hw;
  const int procs = plan.program.num_processors;
  core::Json report =
      run::report_head(job, math ? "hardware" : "hardware_timing_only", r.interrupted);
  report["hw"] = {{"period_ns", hw.period_ns},
                  {"processors", procs},
                  {"pe",
                   {{"rows", hw.pe_rows},
                    {"cols", hw.pe_cols},
                    {"dataflow", hw::format_dataflow(hw.pe_dataflow)}}}};
  core::Json processors = core::Json::array();
  std::uint64_t busy = 0;
  for (std::size_t p = 0; p < r.processors.size(); ++p) {
    busy += r.processors[p].at("busy_cycles").get<std::uint64_t>();
    processors.push_back(reports::processor_row(r.processors[p], r.pe_names[p], r.total_cycles));
  }
  const double utilization =
      reports::utilization(busy, static_cast<std::uint64_t>(procs), r.total_cycles);
  const double per_s = reports::minibatches_per_second(r.cycles_per_minibatch, hw.period_ns);
  MemoryPeaks mem, analytic;
  core::Json stages = core::Json::array();
  for (std::size_t s = 0; s < r.stage_memory.size(); ++s) {
    const MemoryPeaks& m = r.stage_memory[s];
    const MemoryPeaks& a = r.stage_memory_analytic[s];
    // §4c: the stage's activation choice (one processor per stage; with pipeline.processors
    // set every stage keeps), its rerun's cycles per minibatch and its DRAM traffic.
    const bool per_stage = !job.config.processors;
    const dataflow::ActivationChoice choice =
        per_stage ? plan.graph.activations.at(s) : dataflow::ActivationChoice::kKeep;
    std::uint64_t rerun_cycles = 0;
    if (per_stage && plan.graph.recomputes(static_cast<int>(s))) {
      const TaskCost& c = plan.costs[plan.graph.recompute_node[s]];
      rerun_cycles = c.cycles + c.unit_cycles;
    }
    stages.push_back({{"stage", s},
                      {"activations", dataflow::activation_choice_name(choice)},
                      {"recompute_cycles_per_minibatch", rerun_cycles},
                      {"dram_bytes", r.pe_activity.at(s).dram_bytes},
                      {"measured", m.to_json()},
                      {"analytic", a.to_json()}});
    mem += m;
    analytic += a;
  }
  std::map<std::string, std::uint64_t> dram_by_kind;
  for (const hw::MemoryKind kind : hw::kAllMemoryKinds) {
    dram_by_kind[hw::memory_kind_name(kind)] = r.dram_bytes_by_kind[static_cast<std::size_t>(kind)];
  }
  const core::Json energy = reports::energy_json(
      hw.energy, r.pe_activity, r.pe_names, static_cast<double>(r.total_cycles) * hw.period_ns,
      r.minibatches, job.config.batch_size, dram_by_kind);
  std::uint64_t dram_bytes = 0;
  for (const auto& a : r.pe_activity) dram_bytes += a.dram_bytes;
  report["summary"] = {
      {"total_cycles", r.total_cycles},
      {"cycles_per_minibatch", r.cycles_per_minibatch},
      {"steady_state_from", r.steady_state_from},
      {"throughput_minibatches_per_s", per_s},
      {"throughput_samples_per_s", per_s * static_cast<double>(job.config.batch_size)},
      {"utilization", utilization},
      {"bubble_fraction", 1.0 - utilization},
      {"memory_peak_bytes", mem.to_json()},
      {"memory_analytic_bytes", analytic.to_json()},
      {"link_bytes", r.link_bytes},
      {"minibatches", r.minibatches},
      {"task_instances", r.task_instances},
      {"final_test_accuracy", math ? core::Json(r.final_test_accuracy) : core::Json(nullptr)},
      {"energy_per_minibatch_pj", energy.at("per_minibatch_pj")},
      {"dram_bytes", dram_bytes}};
  report["processors"] = processors;
  report["memory_by_stage"] = stages;
  report["memory_placement"] = placement_json(plan.memory);
  std::vector<std::int64_t> delays;
  for (const auto& l : plan.graph.layers) delays.push_back(l.delay);
  report["layers"] = run::layers_json(job, delays, r.reconstruction, r.measured_staleness);
  report["units"] = r.units;
  report["energy"] = energy;
  report["ops"] = run::ops_json(job, r.spikes);
  report["training"] =
      math ? run::training_json(r.epochs, r.final_test_accuracy, job.network.token_input)
           : core::Json{{"epochs", core::Json::array()}, {"final_test_accuracy", nullptr}};
  report["stability"] = job.stability.to_json();
  return report;
}

}  // namespace lpsim::hardware
