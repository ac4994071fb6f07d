// WeightStashUnit: exact port cycles in a hand example, first-come first-served port
// sharing, and the schedule invariants (capacity, order) as InternalErrors.
#include "hw_models/stash_unit/stash_unit.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/errors.h"
#include "tests/unit/hw_models/hw_units_test_support.h"

namespace lpsim::hw {
namespace {

using test::Driver;
using test::now_cycles;
using test::simulate;
using test::test_period;
using test::wait_test_cycles;

WeightStashUnitParams stash_params(std::uint64_t versions) {
  WeightStashUnitParams params;
  params.versions = versions;
  params.bytes_per_version = 1000;
  params.bytes_per_cycle = 64;  // ceil(1000 / 64) = 16 cycles per store or load
  params.period = test_period();
  return params;
}

TEST(WeightStashUnit, StoresAndLoadsTakeExactPortCycles) {
  WeightStashUnit stash("stash", stash_params(2));
  EXPECT_EQ(stash.transfer_cycles(), 16u);
  std::vector<std::uint64_t> done_at;
  std::vector<std::uint64_t> held;
  Driver driver("driver", [&] {
    auto mark = [&] {
      done_at.push_back(now_cycles());
      held.push_back(stash.size());
    };
    stash.store(0);
    mark();
    stash.store(1);
    mark();
    stash.load(0);
    mark();
    stash.store(2);
    mark();
    stash.load(1);
    mark();
    stash.load(2);
    mark();
  });
  simulate();
  EXPECT_EQ(done_at, (std::vector<std::uint64_t>{16, 32, 48, 64, 80, 96}));
  EXPECT_EQ(held, (std::vector<std::uint64_t>{1, 2, 1, 2, 1, 0}));
  const WeightStashUnitStats& stats = stash.stats();
  EXPECT_EQ(stats.stores, 3u);
  EXPECT_EQ(stats.loads, 3u);
  EXPECT_EQ(stats.bytes_written, 3000u);
  EXPECT_EQ(stats.bytes_read, 3000u);
  EXPECT_EQ(stats.peak_versions, 2u);
  EXPECT_EQ(stats.peak_bytes, 2000u);
  EXPECT_EQ(stats.busy_cycles, 96u);
  EXPECT_EQ(stats.contention_cycles, 0u);
}

TEST(WeightStashUnit, ReadKeepsTheOldestVersion) {
  WeightStashUnit stash("stash", stash_params(2));
  std::vector<std::uint64_t> done_at;
  std::vector<std::uint64_t> held;
  std::string message;
  Driver driver("driver", [&] {
    stash.store(0);  // 0..16
    stash.store(1);  // 16..32
    stash.read(0);   // 32..48, keeps 0
    done_at.push_back(now_cycles());
    held.push_back(stash.size());
    stash.read(0);  // 48..64
    stash.load(0);  // 64..80, frees 0
    done_at.push_back(now_cycles());
    held.push_back(stash.size());
    try {
      stash.read(0);
    } catch (const core::InternalError& error) {
      message = error.what();
    }
  });
  simulate();
  EXPECT_EQ(done_at, (std::vector<std::uint64_t>{48, 80}));
  EXPECT_EQ(held, (std::vector<std::uint64_t>{2, 1}));
  EXPECT_NE(message.find("read(0) but the oldest stored version is 1"), std::string::npos)
      << message;
  const WeightStashUnitStats& stats = stash.stats();
  EXPECT_EQ(stats.reads, 2u);
  EXPECT_EQ(stats.loads, 1u);
  EXPECT_EQ(stats.bytes_read, 3000u);
  EXPECT_EQ(stats.busy_cycles, 80u);  // five transfers; the failed read took none
}

TEST(WeightStashUnit, ConcurrentCallersShareThePortInArrivalOrder) {
  WeightStashUnit stash("stash", stash_params(3));
  std::uint64_t first_done = 0;
  std::uint64_t second_done = 0;
  std::uint64_t third_done = 0;
  Driver updater("updater", [&] {
    stash.store(0);  // cycles 0..16
    first_done = now_cycles();
  });
  Driver late_updater("late_updater", [&] {
    wait_test_cycles(4);
    stash.store(1);  // waits 12 cycles, then 16..32
    second_done = now_cycles();
  });
  Driver backward("backward", [&] {
    wait_test_cycles(5);
    stash.load(0);  // waits 27 cycles, then 32..48
    third_done = now_cycles();
  });
  simulate();
  EXPECT_EQ(first_done, 16u);
  EXPECT_EQ(second_done, 32u);
  EXPECT_EQ(third_done, 48u);
  EXPECT_EQ(stash.stats().contention_cycles, 12u + 27u);
  EXPECT_EQ(stash.stats().busy_cycles, 48u);
  EXPECT_EQ(stash.stats().peak_versions, 2u);
}

TEST(WeightStashUnit, ScheduleViolationsAreInternalErrors) {
  WeightStashUnit stash("layer3_stash", stash_params(2));
  std::vector<std::string> messages;
  Driver driver("driver", [&] {
    auto expect_internal = [&](auto&& call) {
      try {
        call();
        messages.push_back("no error");
      } catch (const core::InternalError& error) {
        messages.push_back(error.what());
      }
    };
    expect_internal([&] { stash.load(0); });  // empty
    stash.store(4);
    expect_internal([&] { stash.store(4); });  // not newer
    stash.store(5);
    expect_internal([&] { stash.store(6); });  // full
    expect_internal([&] { stash.load(5); });   // not the oldest
    stash.load(4);
  });
  simulate();
  ASSERT_EQ(messages.size(), 4u);
  for (const std::string& message : messages) {
    EXPECT_NE(message.find("layer3_stash"), std::string::npos) << message;
  }
  EXPECT_NE(messages[0].find("empty"), std::string::npos) << messages[0];
  EXPECT_NE(messages[1].find("not newer"), std::string::npos) << messages[1];
  EXPECT_NE(messages[2].find("full stash of 2"), std::string::npos) << messages[2];
  EXPECT_NE(messages[3].find("oldest stored version is 4"), std::string::npos) << messages[3];
  EXPECT_EQ(stash.stats().stores, 2u);
  EXPECT_EQ(stash.stats().loads, 1u);
  EXPECT_EQ(stash.size(), 1u);
}

TEST(WeightStashUnit, ReleaseFreesInPlaceWithoutCycles) {
  WeightStashUnitParams params;
  params.versions = 2;
  params.bytes_per_version = 64;
  params.bytes_per_cycle = 4;
  params.period = test::test_period();
  WeightStashUnit stash("stash", params);
  std::uint64_t released_at = 0;
  std::string message;
  test::Driver driver("driver", [&] {
    stash.store(3);  // 16 cycles
    stash.store(4);  // 16 cycles
    stash.release(3);
    released_at = test::now_cycles();
    try {
      stash.release(3);
    } catch (const lpsim::core::InternalError& e) {
      message = e.what();
    }
  });
  simulate();
  EXPECT_EQ(released_at, 32u);
  EXPECT_EQ(stash.stats().releases, 1u);
  EXPECT_EQ(stash.size(), 1u);
  EXPECT_NE(message.find("release(3) but the oldest stored version is 4"), std::string::npos)
      << message;
}

TEST(WeightStashUnit, StatsJsonHasRawCounters) {
  WeightStashUnitStats stats;
  stats.stores = 1;
  stats.loads = 2;
  stats.reads = 9;
  stats.releases = 10;
  stats.bytes_written = 3;
  stats.bytes_read = 4;
  stats.peak_versions = 5;
  stats.peak_bytes = 6;
  stats.busy_cycles = 7;
  stats.contention_cycles = 8;
  EXPECT_EQ(to_json(stats),
            nlohmann::json::parse(R"({"stores": 1, "loads": 2, "reads": 9, "releases": 10,
      "bytes_written": 3, "bytes_read": 4, "peak_versions": 5, "peak_bytes": 6,
      "busy_cycles": 7, "contention_cycles": 8})"));
}

}  // namespace
}  // namespace lpsim::hw
