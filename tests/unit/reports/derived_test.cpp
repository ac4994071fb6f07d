// reports/derived: throughput, utilisation and a PE's report row from raw counters.
#include "reports/derived.h"

#include <gtest/gtest.h>

#include <cmath>

namespace lpsim::reports {
namespace {

TEST(Derived, ThroughputAtTheClock) {
  EXPECT_DOUBLE_EQ(minibatches_per_second(1000.0, 2.0), 5e5);  // 2 us per minibatch
  EXPECT_TRUE(std::isinf(minibatches_per_second(0.0, 1.0)));   // written as null
}

TEST(Derived, UtilisationIsBusyOverAllSlots) {
  EXPECT_DOUBLE_EQ(utilization(300, 2, 200), 0.75);
  EXPECT_DOUBLE_EQ(utilization(0, 4, 0), 0.0);  // an empty run divides by 1, not 0
}

TEST(Derived, ProcessorRowAddsIdleAndUtilisation) {
  const core::Json row =
      processor_row({{"busy_cycles", 60}, {"stall_cycles", 15}, {"tasks", 3}}, "top.pe1", 100);
  EXPECT_EQ(row.at("name"), "top.pe1");
  EXPECT_EQ(row.at("idle_cycles"), 25);
  EXPECT_DOUBLE_EQ(row.at("utilization").get<double>(), 0.6);
  EXPECT_EQ(row.at("tasks"), 3);
}

}  // namespace
}  // namespace lpsim::reports
