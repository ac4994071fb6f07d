// Does the fast model reproduce SCALE-Sim v2's own output? The reference CSV holds
// SCALE-Sim v2's "Total Cycles" for random GEMMs; SCALE-Sim prints the index of the last
// cycle, so our count must be exactly that plus one on every row.
#include <gtest/gtest.h>

#include <charconv>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "hw_models/pe/pe_timing.h"
#include "hw_models/pe/pe_types.h"

namespace lpsim::hw {
namespace {

const char* const kReferencePath =
    LPSIM_SOURCE_DIR "/../shared/reference/scalesim_v2_gemm_cycles.csv";
const char* const kHeader =
    "rows,cols,dataflow,M,N,K,scalesim_v2_total_cycles,scalesim_v2_stall_cycles";

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> fields;
  std::string::size_type start = 0;
  while (true) {
    const std::string::size_type comma = line.find(',', start);
    fields.push_back(line.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return fields;
}

// The whole field must be a decimal integer >= min.
bool parse_int(const std::string& field, std::int64_t min, std::int64_t& value) {
  const char* first = field.data();
  const char* last = field.data() + field.size();
  const auto [end, error] = std::from_chars(first, last, value);
  return !field.empty() && error == std::errc() && end == last && value >= min;
}

TEST(FastModelMatchesScaleSimV2, EveryReferenceRowIsTotalCyclesPlusOne) {
  std::ifstream in(kReferencePath);
  if (!in) GTEST_SKIP() << "reference not found: " << kReferencePath;
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();  // trailing newlines
  ASSERT_FALSE(lines.empty()) << kReferencePath << " is empty";
  ASSERT_EQ(lines[0], kHeader) << kReferencePath << ": unexpected header";

  int rows_checked = 0;
  for (std::size_t number = 2; number <= lines.size(); ++number) {
    const std::string& line = lines[number - 1];
    SCOPED_TRACE(std::string(kReferencePath) + ":" + std::to_string(number) + ": " + line);
    const std::vector<std::string> fields = split(line);
    ASSERT_EQ(fields.size(), 8u) << "malformed row: expected 8 fields";
    std::int64_t r = 0, c = 0, m = 0, n = 0, k = 0, total = 0, stall = 0;
    ASSERT_TRUE(parse_int(fields[0], 1, r)) << "malformed rows: \"" << fields[0] << "\"";
    ASSERT_TRUE(parse_int(fields[1], 1, c)) << "malformed cols: \"" << fields[1] << "\"";
    const std::optional<Dataflow> dataflow = try_parse_dataflow(fields[2]);
    ASSERT_TRUE(dataflow.has_value()) << "malformed dataflow: \"" << fields[2] << "\"";
    ASSERT_TRUE(parse_int(fields[3], 1, m)) << "malformed M: \"" << fields[3] << "\"";
    ASSERT_TRUE(parse_int(fields[4], 1, n)) << "malformed N: \"" << fields[4] << "\"";
    ASSERT_TRUE(parse_int(fields[5], 1, k)) << "malformed K: \"" << fields[5] << "\"";
    ASSERT_TRUE(parse_int(fields[6], 0, total)) << "malformed total: \"" << fields[6] << "\"";
    ASSERT_TRUE(parse_int(fields[7], 0, stall)) << "malformed stall: \"" << fields[7] << "\"";
    // Our model has no memory stalls; a row with stalls would not be a compute-only case.
    ASSERT_EQ(stall, 0) << "reference row has stall cycles";

    const GemmTiming timing = gemm_timing({r, c}, *dataflow, {m, n, k});
    EXPECT_EQ(timing.cycles, static_cast<std::uint64_t>(total) + 1);
    ++rows_checked;
  }
  EXPECT_GT(rows_checked, 0);
  std::cout << "checked " << rows_checked << " SCALE-Sim v2 rows\n";
}

}  // namespace
}  // namespace lpsim::hw
