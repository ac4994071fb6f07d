#pragma once
// The one writer of lpsim's output directory: report.json (schema in
// reports/schema/report.schema.json; fields in README.md "Reports"),
// the resolved config beside it, and a per-epoch CSV. Files are written to a temporary
// name and renamed, so a killed run never leaves a half-written report.

#include <string>

#include "core/json_reader.h"

namespace lpsim::reports {

inline constexpr int kReportSchemaVersion = 3;

// The `meta` block: the only part of a report that differs between identical runs.
core::Json report_meta(double wall_seconds);

// Creates `dir` if needed and writes report.json, config.json and epochs.csv.
void write_run_outputs(const std::string& dir, const core::Json& report,
                       const core::Json& resolved_config);

// The per-epoch curve as CSV (header: epoch,train_loss,train_accuracy,test_loss,test_accuracy).
std::string epochs_csv(const core::Json& report);

}  // namespace lpsim::reports
