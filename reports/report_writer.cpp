#include "reports/report_writer.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <system_error>

#include "core/atomic_file.h"
#include "core/errors.h"

namespace lpsim::reports {

core::Json report_meta(double wall_seconds, std::chrono::system_clock::time_point now) {
  char host[256] = {0};
  if (::gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  const std::time_t seconds = static_cast<std::time_t>(
      std::chrono::floor<std::chrono::seconds>(now.time_since_epoch()).count());
  char stamp[32];
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return {{"lpsim_version", "0.1.0"},
          {"time_utc", stamp},
          {"host", host},
          {"wall_seconds", wall_seconds}};
}

std::string epochs_csv(const core::Json& report) {
  std::string csv = "epoch,train_loss,train_accuracy,test_loss,test_accuracy\n";
  for (const auto& e : report.at("training").at("epochs")) {
    char line[256];
    std::snprintf(line, sizeof(line), "%lld,%.9g,%.9g,%.9g,%.9g\n",
                  static_cast<long long>(e.at("epoch").get<std::int64_t>()),
                  e.at("train_loss").get<double>(), e.at("train_accuracy").get<double>(),
                  e.at("test_loss").get<double>(), e.at("test_accuracy").get<double>());
    csv += line;
  }
  return csv;
}

void write_run_outputs(const std::string& dir, const core::Json& report,
                       const core::Json& resolved_config) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw core::UserError(dir, "", "cannot create the output directory: " + ec.message());
  core::write_file_atomic(dir + "/config.json", resolved_config.dump(2) + "\n");
  core::write_file_atomic(dir + "/epochs.csv", epochs_csv(report));
  core::write_file_atomic(dir + "/report.json", report.dump(2) + "\n");
}

}  // namespace lpsim::reports
