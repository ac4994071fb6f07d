// The debug log: off unless LPSIM_DEBUG names the topic (or "all").
#include "core/log.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace lpsim {
namespace {

// LPSIM_DEBUG is read once per process, and ctest runs each case in its own.
TEST(DebugLog, WritesOnlyTheTopicsLpsimDebugNames) {
  ASSERT_EQ(::setenv("LPSIM_DEBUG", "memory,,schedule", 1), 0);
  EXPECT_TRUE(core::debug_enabled("schedule"));
  EXPECT_TRUE(core::debug_enabled("memory"));
  EXPECT_FALSE(core::debug_enabled("sched"));
  EXPECT_FALSE(core::debug_enabled(""));
  ::testing::internal::CaptureStderr();
  core::debug_log("schedule", "T=10: F:fc1 ends at 12");
  core::debug_log("other", "not shown");
  EXPECT_EQ(::testing::internal::GetCapturedStderr(),
            "lpsim debug [schedule]: T=10: F:fc1 ends at 12\n");
  // Read once: a later change of the environment changes nothing.
  ASSERT_EQ(::setenv("LPSIM_DEBUG", "other", 1), 0);
  EXPECT_FALSE(core::debug_enabled("other"));
}

TEST(DebugLog, AllEnablesEveryTopic) {
  ASSERT_EQ(::setenv("LPSIM_DEBUG", "all", 1), 0);
  EXPECT_TRUE(core::debug_enabled("schedule"));
  EXPECT_TRUE(core::debug_enabled("anything"));
}

}  // namespace
}  // namespace lpsim
