// Link: exact arrival time of one transfer, pipelining of back-to-back transfers, zero-byte
// sends, and back-pressure from a full destination reaching the sender.
#include "hw_models/link/link.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "hw_models/delay_buffer/delay_buffer.h"
#include "tests/unit/hw_models/hw_units_test_support.h"

namespace lpsim::hw {
namespace {

using test::Driver;
using test::now_cycles;
using test::simulate;
using test::test_period;
using test::wait_test_cycles;

LinkParams link_params(std::uint64_t latency_cycles) {
  LinkParams params;
  params.latency_cycles = latency_cycles;
  params.bytes_per_cycle = 64;  // 1000 bytes: ceil(1000 / 64) = 16 cycles
  params.period = test_period();
  return params;
}

DelayBufferParams destination_params(std::size_t depth) {
  DelayBufferParams params;
  params.depth_entries = depth;
  params.bytes_per_entry = 1000;
  params.period = test_period();
  return params;
}

TEST(Link, OneTransferArrivesAfterSerialisationPlusLatency) {
  Link link("link", link_params(5));
  DelayBuffer destination("destination", destination_params(2));
  std::vector<std::uint64_t> arrivals;
  std::uint64_t send_returned = 99;
  Driver sender("sender", [&] {
    wait_test_cycles(3);
    link.send(1000, destination, 0);
    send_returned = now_cycles();
  });
  Driver receiver("receiver", [&] {
    destination.wait_front(0);
    arrivals.push_back(now_cycles());
    destination.pop();
  });
  simulate();
  EXPECT_EQ(send_returned, 3u);
  EXPECT_EQ(arrivals, (std::vector<std::uint64_t>{3 + 16 + 5}));
  EXPECT_EQ(link.stats().transfers, 1u);
  EXPECT_EQ(link.stats().bytes, 1000u);
  EXPECT_EQ(link.stats().busy_cycles, 16u);
  EXPECT_EQ(link.stats().peak_queue, 1u);
}

TEST(Link, BackToBackTransfersPipeline) {
  Link link("link", link_params(50));
  DelayBuffer destination("destination", destination_params(4));
  std::vector<std::uint64_t> arrivals;
  Driver sender("sender", [&] {
    link.send(1000, destination, 0);
    link.send(1000, destination, 1);
    link.send(64, destination, 2);
  });
  Driver receiver("receiver", [&] {
    for (std::int64_t token = 0; token < 3; ++token) {
      destination.wait_front(token);
      arrivals.push_back(now_cycles());
      destination.pop();
    }
  });
  simulate();
  // Last bytes leave at 16, 32, 33; each arrives 50 cycles later (not 66 + 66 + ...).
  EXPECT_EQ(arrivals, (std::vector<std::uint64_t>{66, 82, 83}));
  EXPECT_EQ(link.stats().transfers, 3u);
  EXPECT_EQ(link.stats().bytes, 2064u);
  EXPECT_EQ(link.stats().busy_cycles, 33u);
  EXPECT_EQ(link.stats().peak_queue, 3u);
}

TEST(Link, ZeroByteSendStillCostsTheLatency) {
  Link link("link", link_params(7));
  DelayBuffer destination("destination", destination_params(1));
  std::vector<std::uint64_t> arrivals;
  Driver sender("sender", [&] { link.send(0, destination, 0); });
  Driver receiver("receiver", [&] {
    destination.wait_front(0);
    arrivals.push_back(now_cycles());
    destination.pop();
  });
  simulate();
  EXPECT_EQ(arrivals, (std::vector<std::uint64_t>{7}));
  EXPECT_EQ(link.stats().busy_cycles, 0u);
}

TEST(Link, FullDestinationBlocksTheSender) {
  Link link("link", link_params(5));
  DelayBuffer destination("destination", destination_params(1));
  std::vector<std::uint64_t> send_returned;
  std::vector<std::uint64_t> arrivals;
  Driver sender("sender", [&] {
    for (std::int64_t token = 0; token < 2; ++token) {
      link.send(1000, destination, token);
      send_returned.push_back(now_cycles());
    }
  });
  Driver receiver("receiver", [&] {
    for (std::int64_t token = 0; token < 2; ++token) {
      destination.wait_front(token);
      arrivals.push_back(now_cycles());
      wait_test_cycles(9);  // token 0 arrives at 21 and leaves at 30
      destination.pop();
    }
  });
  simulate();
  // Token 0's reservation fills the buffer, so the second send waits for the pop at 30;
  // token 1 then takes 16 + 5 cycles.
  EXPECT_EQ(send_returned, (std::vector<std::uint64_t>{0, 30}));
  EXPECT_EQ(arrivals, (std::vector<std::uint64_t>{21, 51}));
  EXPECT_EQ(destination.stats().stall_cycles, 30u);
  EXPECT_EQ(destination.stats().peak_entries, 1u);
  EXPECT_EQ(link.stats().peak_queue, 1u);
}

TEST(Link, StatsJsonHasRawCounters) {
  LinkStats stats;
  stats.transfers = 1;
  stats.bytes = 2;
  stats.busy_cycles = 3;
  stats.peak_queue = 4;
  EXPECT_EQ(to_json(stats), nlohmann::json::parse(
                                R"({"transfers": 1, "bytes": 2, "busy_cycles": 3,
                                    "peak_queue": 4})"));
}

}  // namespace
}  // namespace lpsim::hw
