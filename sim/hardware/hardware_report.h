#pragma once
// report.json of a hardware run (reports/schema/report.schema.json), from the job, its plan and
// the run's raw result. Every derived figure (utilisation, throughput, energy, DRAM energy by
// kind) is computed by reports/ from raw counters; this only assembles the document.

#include "core/json_reader.h"
#include "sim/hardware/hardware_plan.h"
#include "sim/hardware/pipeline.h"
#include "sim/run/job.h"

namespace lpsim::hardware {

// `math`: the run trained (false: timing only).
core::Json hardware_report(const run::Job& job, const HardwarePlan& plan,
                           const HardwareResult& result, bool math);

}  // namespace lpsim::hardware
