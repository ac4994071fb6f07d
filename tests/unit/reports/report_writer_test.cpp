// reports/report_writer: the `meta` block against the schema's rules for it, the schema
// version, the per-epoch CSV, and the output directory: what is written round-trips through
// nlohmann::json, no temporary file stays behind, a failed write leaves the previous report
// whole, and the error names the file that could not be written.
#include "reports/report_writer.h"

#include <gtest/gtest.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/errors.h"

namespace lpsim::reports {
namespace {

namespace fs = std::filesystem;

const char* const kWriterSchemaPath = LPSIM_SOURCE_DIR "/reports/schema/report.schema.json";

core::Json writer_schema() {
  std::ifstream in(kWriterSchemaPath);
  EXPECT_TRUE(in) << kWriterSchemaPath;
  return core::Json::parse(in);
}

std::string writer_read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::set<std::string> writer_listing(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.insert(entry.path().filename());
  return names;
}

// A fresh, empty directory under the test's scratch area.
fs::path writer_scratch(const std::string& name) {
  const fs::path dir = fs::path(::testing::TempDir()) / ("report_writer_" + name);
  fs::remove_all(dir);
  return dir;
}

// A system_clock instant as report_meta stamps it: whole seconds since the epoch, floored.
std::time_t writer_whole_seconds(std::chrono::system_clock::time_point t) {
  return static_cast<std::time_t>(
      std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count());
}

core::Json writer_epoch(std::int64_t epoch, double train_loss, double train_accuracy,
                        double test_loss, double test_accuracy) {
  return {{"epoch", epoch},
          {"train_loss", train_loss},
          {"train_accuracy", train_accuracy},
          {"test_loss", test_loss},
          {"test_accuracy", test_accuracy}};
}

// A report with values that a sloppy writer would change: a double that is not a short
// decimal, an integer above 2^53, a non-ASCII string, null, nesting.
core::Json writer_report(double final_accuracy) {
  core::Json report = {{"schema_version", kReportSchemaVersion},
                       {"status", "complete"},
                       {"summary",
                        {{"total_cycles", (std::int64_t{1} << 53) + 1},
                         {"utilization", 0.1 + 0.2},
                         {"energy_per_minibatch_pj", nullptr}}},
                       {"units", {{"top.pe0", {{"busy_cycles", 12}, {"note", "µs ≠ us"}}}}},
                       {"training",
                        {{"epochs", {writer_epoch(1, 2.5, 0.125, 1.0 / 3.0, 2.0 / 3.0)}},
                         {"final_test_accuracy", final_accuracy}}}};
  return report;
}

TEST(ReportMeta, HoldsExactlyTheSchemasFieldsInTheirFormats) {
  const core::Json schema = writer_schema();
  const core::Json& rules = schema.at("properties").at("meta");
  // Bracketed by the clock report_meta reads: std::time may read a coarser clock that lags
  // system_clock by a tick at a second's edge, so it cannot bracket it.
  const std::time_t before = writer_whole_seconds(std::chrono::system_clock::now());
  const core::Json meta = report_meta(12.5);
  const std::time_t after = writer_whole_seconds(std::chrono::system_clock::now());

  // additionalProperties is false and every property is required: the keys are exactly those.
  std::set<std::string> keys, required, allowed;
  for (const auto& item : meta.items()) keys.insert(item.key());
  for (const auto& key : rules.at("required")) required.insert(key.get<std::string>());
  for (const auto& item : rules.at("properties").items()) allowed.insert(item.key());
  EXPECT_EQ(keys, required);
  EXPECT_EQ(keys, allowed);

  const core::Json& props = rules.at("properties");
  ASSERT_TRUE(meta.at("lpsim_version").is_string());
  EXPECT_TRUE(
      std::regex_search(meta.at("lpsim_version").get<std::string>(),
                        std::regex(props.at("lpsim_version").at("pattern").get<std::string>())))
      << meta.at("lpsim_version");
  const std::string stamp = meta.at("time_utc").get<std::string>();
  EXPECT_TRUE(
      std::regex_search(stamp, std::regex(props.at("time_utc").at("pattern").get<std::string>())))
      << stamp;
  // ... and it is now, in UTC.
  std::tm tm{};
  ASSERT_NE(strptime(stamp.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm), nullptr) << stamp;
  const std::time_t written = timegm(&tm);
  EXPECT_GE(written, before);
  EXPECT_LE(written, after);

  char host[256] = {0};
  ASSERT_EQ(::gethostname(host, sizeof(host) - 1), 0);
  EXPECT_EQ(meta.at("host"), std::string(host));
  EXPECT_EQ(meta.at("wall_seconds"), 12.5);
}

TEST(ReportMeta, TimeIsTheGivenInstantInUtcFlooredToTheSecond) {
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  using std::chrono::system_clock;
  const auto at = [](seconds s, milliseconds ms) {
    return report_meta(0.0, system_clock::time_point(s + ms)).at("time_utc").get<std::string>();
  };
  // date -u -d @<seconds> +%Y-%m-%dT%H:%M:%SZ
  EXPECT_EQ(at(seconds(1796519638), milliseconds(0)), "2026-12-06T01:13:58Z");
  EXPECT_EQ(at(seconds(1796519638), milliseconds(999)), "2026-12-06T01:13:58Z");
  EXPECT_EQ(at(seconds(951782400), milliseconds(0)), "2000-02-29T00:00:00Z");
  EXPECT_EQ(at(seconds(0), milliseconds(0)), "1970-01-01T00:00:00Z");
  // Floored, not truncated toward zero, before the epoch.
  EXPECT_EQ(at(seconds(0), milliseconds(-500)), "1969-12-31T23:59:59Z");
}

TEST(ReportMeta, VersionIsTheProjectsVersion) {
  // "lpsim's version" is the one CMakeLists.txt declares (project(lpsim VERSION x.y.z)).
  const std::string cmake = writer_read(fs::path(LPSIM_SOURCE_DIR) / "CMakeLists.txt");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(cmake, m, std::regex(R"(project\(lpsim VERSION ([0-9.]+))")));
  EXPECT_EQ(report_meta(0.0).at("lpsim_version"), m[1].str());
}

TEST(ReportSchema, VersionConstantIsTheSchemasConst) {
  const core::Json schema = writer_schema();
  const core::Json& version = schema.at("properties").at("schema_version");
  EXPECT_EQ(version.at("const"), kReportSchemaVersion);
  EXPECT_NE(std::find(schema.at("required").begin(), schema.at("required").end(),
                      core::Json("schema_version")),
            schema.at("required").end());
}

TEST(EpochsCsv, HeaderThenOneRowPerEpochInNineSignificantDigits) {
  core::Json report = {{"training", {{"epochs", core::Json::array()}}}};
  const std::string header = "epoch,train_loss,train_accuracy,test_loss,test_accuracy\n";
  EXPECT_EQ(epochs_csv(report), header);
  report["training"]["epochs"] = {writer_epoch(1, 0.5, 0.25, 1.0 / 3.0, 2.0 / 3.0),
                                  writer_epoch(12, 2.302585092994046, 1.0, 1e-10, 0.1)};
  // %.9g: 1/3 -> 0.333333333, 2/3 rounds to 0.666666667, ln 10 to 2.30258509; whole and
  // short values print without trailing zeros.
  EXPECT_EQ(epochs_csv(report), header +
                                    "1,0.5,0.25,0.333333333,0.666666667\n"
                                    "12,2.30258509,1,1e-10,0.1\n");
}

TEST(EpochsCsv, EveryFloatSurvivesTheTextRoundTrip) {
  // Losses and accuracies are float (ops::Scalar) values; nine significant digits identify
  // any float, so reading a field back gives the same float.
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> mantissa(1.0f, 2.0f);
  std::uniform_int_distribution<int> exponent(-30, 30);
  std::vector<float> values;
  core::Json epochs = core::Json::array();
  for (int e = 0; e < 200; ++e) {
    float v[4];
    for (float& x : v) {
      x = std::ldexp(mantissa(rng), exponent(rng));
      values.push_back(x);
    }
    epochs.push_back(writer_epoch(e, v[0], v[1], v[2], v[3]));
  }
  const std::string csv = epochs_csv({{"training", {{"epochs", epochs}}}});
  std::istringstream in(csv);
  std::string line;
  std::getline(in, line);  // header
  std::size_t next = 0;
  for (int e = 0; std::getline(in, line); ++e) {
    std::istringstream fields(line);
    std::string field;
    std::getline(fields, field, ',');
    EXPECT_EQ(field, std::to_string(e));
    while (std::getline(fields, field, ',')) {
      ASSERT_LT(next, values.size());
      EXPECT_EQ(std::strtof(field.c_str(), nullptr), values[next]) << field;
      ++next;
    }
  }
  EXPECT_EQ(next, values.size());
}

TEST(WriteRunOutputs, CreatesTheDirectoryAndEveryFileRoundTrips) {
  const fs::path dir = writer_scratch("round_trip") / "nested" / "out";
  const core::Json report = writer_report(0.875);
  const core::Json config = {{"run", {{"name", "t"}, {"seed", 1}}}, {"hw", {{"period_ns", 1.5}}}};
  write_run_outputs(dir.string(), report, config);

  EXPECT_EQ(writer_listing(dir),
            (std::set<std::string>{"report.json", "config.json", "epochs.csv"}));
  const std::string report_text = writer_read(dir / "report.json");
  const std::string config_text = writer_read(dir / "config.json");
  EXPECT_EQ(core::Json::parse(report_text), report);
  EXPECT_EQ(core::Json::parse(config_text), config);
  EXPECT_EQ(core::Json::parse(report_text).at("schema_version"), kReportSchemaVersion);
  // Indented by two, one trailing newline (a text file).
  EXPECT_EQ(report_text, report.dump(2) + "\n");
  EXPECT_EQ(config_text.substr(0, 4), "{\n  ");
  EXPECT_EQ(writer_read(dir / "epochs.csv"), epochs_csv(report));
}

TEST(WriteRunOutputs, ReplacesThePreviousRunsFilesWhole) {
  const fs::path dir = writer_scratch("replace");
  write_run_outputs(dir.string(), writer_report(0.5), {{"run", 1}});
  const core::Json second = writer_report(0.75);
  write_run_outputs(dir.string(), second, {{"run", 2}});
  EXPECT_EQ(core::Json::parse(writer_read(dir / "report.json")), second);
  EXPECT_EQ(core::Json::parse(writer_read(dir / "config.json")), (core::Json{{"run", 2}}));
  EXPECT_EQ(writer_listing(dir),
            (std::set<std::string>{"report.json", "config.json", "epochs.csv"}));
}

TEST(WriteRunOutputs, AFailedReportWriteLeavesThePreviousReportWhole) {
  const fs::path dir = writer_scratch("blocked_tmp");
  const core::Json first = writer_report(0.5);
  write_run_outputs(dir.string(), first, {{"run", 1}});
  const std::string before = writer_read(dir / "report.json");
  // The writer's temporary name (core/atomic_file.cpp: <path>.tmp.<pid>) is taken by a
  // directory, so the new report cannot be written (even as root).
  const fs::path blocker = dir / ("report.json.tmp." + std::to_string(::getpid()));
  fs::create_directory(blocker);
  try {
    write_run_outputs(dir.string(), writer_report(0.75), {{"run", 2}});
    FAIL() << "no error";
  } catch (const core::UserError& e) {
    EXPECT_EQ(e.file(), (dir / "report.json").string());
    EXPECT_NE(std::string(e.what()).find((dir / "report.json").string()), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(writer_read(dir / "report.json"), before);
  EXPECT_EQ(core::Json::parse(before), first);
  fs::remove(blocker);
}

TEST(WriteRunOutputs, AReportThatCannotReplaceItsTargetLeavesNoTemporaryFile) {
  const fs::path dir = writer_scratch("target_is_dir");
  // report.json is a non-empty directory: the rename fails (EISDIR) after the write.
  fs::create_directories(dir / "report.json");
  std::ofstream(dir / "report.json" / "keep") << "x";
  try {
    write_run_outputs(dir.string(), writer_report(0.5), {{"run", 1}});
    FAIL() << "no error";
  } catch (const core::UserError& e) {
    EXPECT_EQ(e.file(), (dir / "report.json").string());
    EXPECT_NE(std::string(e.what()).find((dir / "report.json").string()), std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(fs::is_directory(dir / "report.json"));
  EXPECT_EQ(writer_read(dir / "report.json" / "keep"), "x");
  for (const std::string& name : writer_listing(dir)) {
    EXPECT_EQ(name.find(".tmp."), std::string::npos) << name << " left behind";
  }
}

TEST(WriteRunOutputs, AnUncreatableDirectoryIsAUserErrorNamingIt) {
  const fs::path root = writer_scratch("not_a_dir");
  fs::create_directories(root);
  std::ofstream(root / "file") << "a regular file";
  const fs::path dir = root / "file" / "out";
  try {
    write_run_outputs(dir.string(), writer_report(0.5), {{"run", 1}});
    FAIL() << "no error";
  } catch (const core::UserError& e) {
    EXPECT_EQ(e.file(), dir.string());
    EXPECT_NE(std::string(e.what()).find(dir.string()), std::string::npos) << e.what();
    EXPECT_NE(e.problem().find("cannot create the output directory"), std::string::npos)
        << e.problem();
  }
  EXPECT_EQ(writer_listing(root), (std::set<std::string>{"file"}));
}

TEST(WriteRunOutputs, AReportWithoutEpochsWritesNoReport) {
  const fs::path dir = writer_scratch("no_epochs");
  core::Json report = writer_report(0.5);
  report.erase("training");
  EXPECT_ANY_THROW(write_run_outputs(dir.string(), report, {{"run", 1}}));
  EXPECT_FALSE(fs::exists(dir / "report.json"));
  EXPECT_FALSE(fs::exists(dir / "epochs.csv"));
}

}  // namespace
}  // namespace lpsim::reports
