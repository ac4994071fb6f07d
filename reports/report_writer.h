#pragma once
// The one writer of lpsim's output directory: report.json (schema in
// reports/schema/report.schema.json; fields in README.md "Reports"),
// the resolved config beside it, and a per-epoch CSV. Files are written to a temporary
// name and renamed, so a killed run never leaves a half-written report.

#include <chrono>
#include <string>

#include "core/json_reader.h"

namespace lpsim::reports {

inline constexpr int kReportSchemaVersion = 7;

// The `meta` block: the only part of a report that differs between identical runs.
// time_utc is `now` floored to the second, as YYYY-MM-DDTHH:MM:SSZ. `now` is read from
// std::chrono::system_clock at the call unless given, so a test can pass its own instant or
// bracket the call with readings of that same clock.
core::Json report_meta(double wall_seconds, std::chrono::system_clock::time_point now =
                                                std::chrono::system_clock::now());

// Creates `dir` if needed and writes report.json, config.json and epochs.csv.
void write_run_outputs(const std::string& dir, const core::Json& report,
                       const core::Json& resolved_config);

// The per-epoch curve as CSV (header: epoch,train_loss,train_accuracy,test_loss,test_accuracy).
std::string epochs_csv(const core::Json& report);

}  // namespace lpsim::reports
