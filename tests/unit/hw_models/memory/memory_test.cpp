// SramBank and Dram: allocation peaks per kind and in total, over-capacity, access cycles,
// and first-come first-served DRAM transfers with exact contention.
#include "hw_models/memory/memory.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/errors.h"
#include "hw_models/pe/pe_timing.h"
#include "tests/unit/hw_models/hw_units_test_support.h"

namespace lpsim::hw {
namespace {

using test::Driver;
using test::now_cycles;
using test::simulate;
using test::test_period;
using test::wait_test_cycles;

std::uint64_t at(const MemoryFootprint& footprint, MemoryKind kind, bool peak) {
  const auto i = static_cast<std::size_t>(kind);
  return peak ? footprint.peak_bytes[i] : footprint.current_bytes[i];
}

TEST(SramBank, TracksPeaksPerKindAndOverCapacity) {
  SramBankParams params;
  params.capacity_bytes = 1000;
  params.bytes_per_cycle = 64;
  params.period = test_period();
  SramBank sram("sram", params);
  sram.allocate(600, MemoryKind::kWeights);
  sram.allocate(300, "stash");
  EXPECT_EQ(sram.stats().over_capacity_bytes, 0u);
  sram.release(300, "stash");
  sram.allocate(200, MemoryKind::kActivations);  // total 800
  sram.allocate(400, "gradients");               // total 1200: 200 over
  sram.release(400, MemoryKind::kGradients);
  const MemoryFootprint& footprint = sram.stats().footprint;
  EXPECT_EQ(at(footprint, MemoryKind::kWeights, true), 600u);
  EXPECT_EQ(at(footprint, MemoryKind::kStash, true), 300u);
  EXPECT_EQ(at(footprint, MemoryKind::kStash, false), 0u);
  EXPECT_EQ(at(footprint, MemoryKind::kActivations, true), 200u);
  EXPECT_EQ(at(footprint, MemoryKind::kGradients, true), 400u);
  EXPECT_EQ(at(footprint, MemoryKind::kEma, true), 0u);
  EXPECT_EQ(footprint.total_peak_bytes, 1200u);
  EXPECT_EQ(footprint.total_current_bytes, 800u);
  EXPECT_EQ(footprint.allocations, 4u);
  EXPECT_EQ(footprint.releases, 2u);
  EXPECT_EQ(sram.stats().over_capacity_bytes, 200u);

  // A task with 100 compute cycles moving 10000 bytes is stretched to ceil(10000/64).
  const std::uint64_t memory = sram.access_cycles(10000);
  EXPECT_EQ(memory, 157u);
  EXPECT_EQ(stretch_for_memory(100, 10000, params.bytes_per_cycle), memory);
  EXPECT_EQ(sram.access_cycles(64), 1u);
  EXPECT_EQ(sram.stats().accesses, 2u);
  EXPECT_EQ(sram.stats().bytes_accessed, 10064u);

  EXPECT_THROW(sram.release(601, MemoryKind::kWeights), core::InternalError);
  EXPECT_THROW(sram.allocate(1, "weight"), core::InternalError);
  EXPECT_THROW(sram.release(1, nullptr), core::InternalError);
  EXPECT_EQ(sram.stats().footprint.total_current_bytes, 800u);
}

TEST(SramBank, StatsJsonNamesEveryKind) {
  SramBankStats stats;
  stats.footprint.current_bytes[static_cast<std::size_t>(MemoryKind::kEma)] = 5;
  stats.footprint.peak_bytes[static_cast<std::size_t>(MemoryKind::kOptimizer)] = 7;
  stats.footprint.total_current_bytes = 5;
  stats.footprint.total_peak_bytes = 9;
  stats.footprint.allocations = 2;
  stats.over_capacity_bytes = 1;
  stats.accesses = 3;
  stats.bytes_accessed = 4;
  EXPECT_EQ(to_json(stats), nlohmann::json::parse(R"({
      "current_bytes": {"weights": 0, "optimizer": 0, "stash": 0, "ema": 5,
                        "activations": 0, "gradients": 0, "in_flight": 0, "total": 5},
      "peak_bytes": {"weights": 0, "optimizer": 7, "stash": 0, "ema": 0,
                     "activations": 0, "gradients": 0, "in_flight": 0, "total": 9},
      "allocations": 2, "releases": 0, "over_capacity_bytes": 1, "accesses": 3,
      "bytes_accessed": 4})"));
}

TEST(MemoryKinds, NamesRoundTrip) {
  for (const char* name : {"weights", "optimizer", "stash", "ema", "activations", "gradients"}) {
    const std::optional<MemoryKind> kind = try_parse_memory_kind(name);
    ASSERT_TRUE(kind.has_value()) << name;
    EXPECT_STREQ(memory_kind_name(*kind), name);
  }
  EXPECT_FALSE(try_parse_memory_kind("Weights").has_value());
}

TEST(Dram, TransfersSerialiseFirstComeFirstServed) {
  DramParams params;
  params.bytes_per_cycle = 32;
  params.period = test_period();
  Dram dram("dram", params);
  std::vector<std::uint64_t> done(3);
  Driver a("a", [&] {
    dram.transfer(320);  // 0..10
    done[0] = now_cycles();
  });
  Driver b("b", [&] {
    wait_test_cycles(2);
    dram.transfer(64);  // waits 8, then 10..12
    done[1] = now_cycles();
  });
  Driver c("c", [&] {
    wait_test_cycles(3);
    dram.transfer(1);  // waits 9, then 12..13
    done[2] = now_cycles();
  });
  simulate();
  EXPECT_EQ(done, (std::vector<std::uint64_t>{10, 12, 13}));
  EXPECT_EQ(dram.stats().transfers, 3u);
  EXPECT_EQ(dram.stats().bytes_transferred, 385u);
  EXPECT_EQ(dram.stats().busy_cycles, 13u);
  EXPECT_EQ(dram.stats().contention_cycles, 17u);
}

TEST(Dram, ChannelsServeInParallelAfterTheirLatency) {
  DramParams params;
  params.bytes_per_cycle = 10;
  params.channels = 2;
  params.latency_cycles = 5;
  params.period = test_period();
  Dram dram("dram", params);
  std::vector<std::uint64_t> done;
  Driver d("d", [&] {
    done.push_back(dram.reserve(100, Dram::Direction::kRead));  // ch0 0..10, data at 15
    done.push_back(dram.reserve(50, Dram::Direction::kWrite));  // ch1 0..5, at 10
    done.push_back(dram.reserve(20, Dram::Direction::kRead));   // ch1 5..7 (waits 5), at 12
    wait_test_cycles(20);
    done.push_back(dram.reserve(10, Dram::Direction::kRead));  // ch1 (freed first) 20..21
  });
  simulate();
  EXPECT_EQ(done, (std::vector<std::uint64_t>{15, 10, 12, 26}));
  EXPECT_EQ(dram.stats().bytes_read, 130u);
  EXPECT_EQ(dram.stats().bytes_written, 50u);
  EXPECT_EQ(dram.stats().channel_busy_cycles, (std::vector<std::uint64_t>{10, 8}));
  EXPECT_EQ(dram.stats().channel_contention_cycles, (std::vector<std::uint64_t>{0, 5}));
  EXPECT_EQ(dram.stats().contention_cycles, 5u);
  EXPECT_EQ(to_json(dram.stats()).at("channels").at("channel1").at("busy_cycles"), 8);
}

TEST(Dram, ZeroCapacityIsUnbounded) {
  DramParams params;
  params.period = test_period();
  Dram unbounded("unbounded", params);
  unbounded.allocate(1u << 30, MemoryKind::kActivations);
  EXPECT_EQ(unbounded.stats().over_capacity_bytes, 0u);
  params.capacity_bytes = 1000;
  Dram bounded("bounded", params);
  bounded.allocate(1500, "weights");
  EXPECT_EQ(bounded.stats().over_capacity_bytes, 500u);
  const nlohmann::json json = to_json(bounded.stats());
  EXPECT_EQ(json.at("peak_bytes").at("weights"), 1500);
  EXPECT_EQ(json.at("over_capacity_bytes"), 500);
  for (const char* key : {"transfers", "bytes_transferred", "busy_cycles", "contention_cycles",
                          "allocations", "releases", "current_bytes"}) {
    EXPECT_TRUE(json.contains(key)) << key;
  }
}

}  // namespace
}  // namespace lpsim::hw
