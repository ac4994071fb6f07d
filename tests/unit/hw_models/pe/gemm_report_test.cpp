// Does the GEMM report carry exactly the fields `lpsim gemm` prints, with the fast model's
// numbers?
#include "hw_models/pe/gemm_report.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace lpsim::hw {
namespace {

TEST(GemmReportFields, CarryTheFastModelsCounts) {
  // 3x2 WS, M=4 N=5 K=7: 3x3 folds of 10 cycles (see pe_timing_test).
  const nlohmann::json report = gemm_report({3, 2}, Dataflow::kWeightStationary, {4, 5, 7});
  ASSERT_TRUE(report.is_object());
  std::set<std::string> keys;
  for (const auto& item : report.items()) keys.insert(item.key());
  EXPECT_EQ(keys,
            (std::set<std::string>{"rows", "cols", "dataflow", "m", "n", "k", "cycles", "folds",
                                   "row_folds", "col_folds", "macs", "utilization"}));
  EXPECT_EQ(report.at("rows"), 3);
  EXPECT_EQ(report.at("cols"), 2);
  EXPECT_EQ(report.at("dataflow"), "ws");
  EXPECT_EQ(report.at("m"), 4);
  EXPECT_EQ(report.at("n"), 5);
  EXPECT_EQ(report.at("k"), 7);
  EXPECT_EQ(report.at("cycles"), 90);
  EXPECT_EQ(report.at("folds"), 9);
  EXPECT_EQ(report.at("row_folds"), 3);
  EXPECT_EQ(report.at("col_folds"), 3);
  EXPECT_EQ(report.at("macs"), 140);
  EXPECT_DOUBLE_EQ(report.at("utilization").get<double>(), 140.0 / (3.0 * 2.0 * 90.0));
}

TEST(GemmReportFields, FullyUsedArrayReportsUtilizationOne) {
  const nlohmann::json report = gemm_report({1, 1}, Dataflow::kOutputStationary, {3, 4, 5});
  EXPECT_EQ(report.at("cycles"), 60);
  EXPECT_DOUBLE_EQ(report.at("utilization").get<double>(), 1.0);
}

}  // namespace
}  // namespace lpsim::hw
