// DelayBuffer: exact stalls in hand examples, reservations for in-flight tokens, in-order
// checking, and a differential test against a std::deque model and a closed-form timing
// recursion over random two-thread schedules.
#include "hw_models/delay_buffer/delay_buffer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <utility>
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

DelayBufferParams buffer_params(std::size_t depth, std::uint64_t bytes_per_entry) {
  DelayBufferParams params;
  params.depth_entries = depth;
  params.bytes_per_entry = bytes_per_entry;
  params.period = test_period();
  return params;
}

TEST(DelayBuffer, FullBufferStallsTheProducerExactly) {
  DelayBuffer buffer("buffer", buffer_params(2, 100));
  std::vector<std::uint64_t> push_returned;
  std::vector<std::uint64_t> popped_at;
  Driver producer("producer", [&] {
    for (std::int64_t token = 0; token < 4; ++token) {
      buffer.push(token);
      push_returned.push_back(now_cycles());
    }
  });
  Driver consumer("consumer", [&] {
    const std::uint64_t gaps[] = {10, 15, 0, 0};
    for (std::int64_t token = 0; token < 4; ++token) {
      wait_test_cycles(gaps[token]);
      buffer.wait_front(token);
      buffer.pop();
      popped_at.push_back(now_cycles());
    }
  });
  simulate();
  // Pushes 2 and 3 wait for the pops at cycles 10 and 25: 10 + 15 stall cycles.
  EXPECT_EQ(push_returned, (std::vector<std::uint64_t>{0, 0, 10, 25}));
  EXPECT_EQ(popped_at, (std::vector<std::uint64_t>{10, 25, 25, 25}));
  const DelayBufferStats& stats = buffer.stats();
  EXPECT_EQ(stats.pushes, 4u);
  EXPECT_EQ(stats.pops, 4u);
  EXPECT_EQ(stats.peak_entries, 2u);
  EXPECT_EQ(stats.peak_bytes, 200u);
  EXPECT_EQ(stats.stall_cycles, 25u);
  EXPECT_EQ(stats.bytes_written, 400u);
  EXPECT_EQ(buffer.size(), 0u);
}

TEST(DelayBuffer, ConsumerWaitsForTheFrontToken) {
  DelayBuffer buffer("buffer", buffer_params(4, 8));
  std::uint64_t front_at = 0;
  Driver producer("producer", [&] {
    wait_test_cycles(7);
    buffer.push(0);
  });
  Driver consumer("consumer", [&] {
    buffer.wait_front(0);
    front_at = now_cycles();
    buffer.pop();
  });
  simulate();
  EXPECT_EQ(front_at, 7u);
  EXPECT_EQ(buffer.stats().stall_cycles, 0u);
}

TEST(DelayBuffer, ReservedSlotsCountAsFullAndHoldTheFront) {
  DelayBuffer buffer("buffer", buffer_params(2, 10));
  std::vector<std::uint64_t> reserve_returned;
  std::vector<std::uint64_t> front_at;
  Driver sender("sender", [&] {
    for (int i = 0; i < 3; ++i) {
      buffer.reserve();
      reserve_returned.push_back(now_cycles());
    }
  });
  Driver wire("wire", [&] {
    wait_test_cycles(5);
    buffer.deliver(0);
    wait_test_cycles(4);  // cycle 9
    buffer.deliver(1);
    buffer.deliver(2);
  });
  Driver consumer("consumer", [&] {
    for (std::int64_t token = 0; token < 3; ++token) {
      buffer.wait_front(token);
      front_at.push_back(now_cycles());
      if (token == 0) {
        wait_test_cycles(2);  // hold token 0 until cycle 7
      }
      buffer.pop();
    }
  });
  simulate();
  // The third reservation waits for the pop at cycle 7.
  EXPECT_EQ(reserve_returned, (std::vector<std::uint64_t>{0, 0, 7}));
  EXPECT_EQ(front_at, (std::vector<std::uint64_t>{5, 9, 9}));
  EXPECT_EQ(buffer.stats().stall_cycles, 7u);
  EXPECT_EQ(buffer.stats().pushes, 3u);
  EXPECT_EQ(buffer.stats().bytes_written, 30u);
  EXPECT_EQ(buffer.stats().peak_entries, 2u);
}

TEST(DelayBuffer, InitialTokensArePresentAtTimeZero) {
  DelayBufferParams params = buffer_params(3, 50);
  params.initial_tokens = {-2, -1};
  DelayBuffer buffer("buffer", params);
  EXPECT_EQ(buffer.size(), 2u);
  std::vector<std::uint64_t> front_at;
  Driver producer("producer", [&] {
    buffer.push(0);
    buffer.push(1);  // full until the first pop
  });
  Driver consumer("consumer", [&] {
    for (std::int64_t token = -2; token < 2; ++token) {
      wait_test_cycles(3);
      buffer.wait_front(token);
      front_at.push_back(now_cycles());
      buffer.pop();
    }
  });
  simulate();
  EXPECT_EQ(front_at, (std::vector<std::uint64_t>{3, 6, 9, 12}));
  EXPECT_EQ(buffer.stats().pushes, 2u);  // initial tokens are not pushes
  EXPECT_EQ(buffer.stats().pops, 4u);
  EXPECT_EQ(buffer.stats().peak_entries, 3u);
  EXPECT_EQ(buffer.stats().peak_bytes, 150u);
  EXPECT_EQ(buffer.stats().stall_cycles, 3u);
}

TEST(DelayBuffer, OutOfOrderTokenIsAnInternalError) {
  DelayBuffer buffer("edge_f3_f4", buffer_params(2, 1));
  std::string message;
  bool threw = false;
  Driver driver("driver", [&] {
    buffer.push(1);
    try {
      buffer.wait_front(0);
    } catch (const core::InternalError& error) {
      threw = true;
      message = error.what();
    }
  });
  simulate();
  ASSERT_TRUE(threw);
  EXPECT_NE(message.find("edge_f3_f4"), std::string::npos) << message;
  EXPECT_NE(message.find("front token is 1"), std::string::npos) << message;
  EXPECT_NE(message.find("expected 0"), std::string::npos) << message;
}

TEST(DelayBuffer, MisuseIsAnInternalError) {
  DelayBuffer buffer("buffer", buffer_params(2, 1));
  int errors = 0;
  Driver driver("driver", [&] {
    auto expect_internal = [&](auto&& call) {
      try {
        call();
      } catch (const core::InternalError&) {
        ++errors;
      }
    };
    expect_internal([&] { buffer.pop(); });       // empty
    expect_internal([&] { buffer.deliver(3); });  // nothing reserved
    buffer.reserve();
    expect_internal([&] { buffer.pop(); });  // front is an empty reservation
    buffer.deliver(0);
    buffer.pop();
  });
  simulate();
  EXPECT_EQ(errors, 3);
  EXPECT_EQ(buffer.stats().pops, 1u);
}

TEST(DelayBuffer, ZeroDepthIsAnInternalError) {
  EXPECT_THROW(DelayBuffer("zero_depth", buffer_params(0, 1)), core::InternalError);
}

// ---- differential test --------------------------------------------------------------

// One random schedule of tokens 0..n-1 through a buffer of `depth` entries. The producer
// waits produce_gap[i] cycles, then pushes token i, or (when reserved[i]) reserves a slot
// whose token a wire thread delivers `latency` cycles later. The consumer waits
// consume_gap[i] cycles, waits for token i, holds it hold[i] cycles and pops it.
struct Schedule {
  std::size_t depth = 1;
  std::uint64_t latency = 0;
  std::vector<std::uint64_t> produce_gap, consume_gap, hold;
  std::vector<bool> reserved;
};

Schedule random_schedule(std::mt19937_64& rng, std::size_t tokens) {
  auto below = [&](std::uint64_t n) { return n == 0 ? 0 : rng() % n; };
  Schedule schedule;
  schedule.depth = 1 + below(6);
  schedule.latency = below(5);
  // Each schedule leans one way, so both full and empty buffers happen often.
  const std::uint64_t produce_max = 1 + below(6);
  const std::uint64_t consume_max = 1 + below(6);
  const std::uint64_t reserve_percent = below(3) * 50;  // 0, 50 or 100
  for (std::size_t i = 0; i < tokens; ++i) {
    schedule.produce_gap.push_back(below(produce_max));
    schedule.consume_gap.push_back(below(consume_max));
    schedule.hold.push_back(below(3));
    schedule.reserved.push_back(below(100) < reserve_percent);
  }
  return schedule;
}

// Times (cycles) each token's operations complete, by the closed-form recursion: entry i
// enters once the consumer has popped token i - depth, and the consumer takes tokens in
// order.
struct Timeline {
  std::vector<std::uint64_t> entered, front, popped;
  std::uint64_t stall_cycles = 0;
};

Timeline expected_timeline(const Schedule& s) {
  const std::size_t n = s.produce_gap.size();
  Timeline t;
  t.entered.resize(n);
  t.front.resize(n);
  t.popped.resize(n);
  std::uint64_t producer_free = 0;
  std::uint64_t consumer_free = 0;
  // Producer and consumer interleave: entry i depends on pop i - depth, pop i on entry i.
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t ready = producer_free + s.produce_gap[i];
    const std::uint64_t space = i >= s.depth ? t.popped[i - s.depth] : 0;
    t.entered[i] = std::max(ready, space);
    t.stall_cycles += t.entered[i] - ready;
    producer_free = t.entered[i];
    const std::uint64_t arrived = t.entered[i] + (s.reserved[i] ? s.latency : 0);
    t.front[i] = std::max(consumer_free + s.consume_gap[i], arrived);
    t.popped[i] = t.front[i] + s.hold[i];
    consumer_free = t.popped[i];
  }
  return t;
}

// The plain model: the buffer's entries as (token, filled), updated by the test threads
// right after each call returns, with no simulated time in between.
struct DequeModel {
  std::deque<std::pair<std::int64_t, bool>> entries;
  std::uint64_t peak = 0;
  std::uint64_t pushes = 0;
  void append(std::int64_t token, bool filled) {
    entries.emplace_back(token, filled);
    peak = std::max<std::uint64_t>(peak, entries.size());
  }
};

class DifferentialBench {
 public:
  DifferentialBench(const std::string& name, Schedule schedule, std::uint64_t bytes_per_entry)
      : schedule_(std::move(schedule)),
        buffer_((name + "_buffer").c_str(), buffer_params(schedule_.depth, bytes_per_entry)),
        producer_((name + "_producer").c_str(), [this] { produce(); }),
        wire_((name + "_wire").c_str(), [this] { carry(); }),
        consumer_((name + "_consumer").c_str(), [this] { consume(); }) {
    const std::size_t n = schedule_.produce_gap.size();
    seen_.entered.resize(n);
    seen_.front.resize(n);
    seen_.popped.resize(n);
  }

  const Schedule& schedule() const { return schedule_; }

  void check(const std::string& label) const {
    const std::size_t n = schedule_.produce_gap.size();
    const Timeline expected = expected_timeline(schedule_);
    EXPECT_EQ(mismatches_, 0) << label << ": " << first_mismatch_;
    EXPECT_EQ(consumed_, n) << label;
    EXPECT_EQ(seen_.entered, expected.entered) << label;
    EXPECT_EQ(seen_.front, expected.front) << label;
    EXPECT_EQ(seen_.popped, expected.popped) << label;
    const DelayBufferStats& stats = buffer_.stats();
    EXPECT_EQ(stats.stall_cycles, expected.stall_cycles) << label;
    EXPECT_EQ(stats.pushes, model_.pushes) << label;
    EXPECT_EQ(stats.pops, n) << label;
    EXPECT_EQ(stats.peak_entries, model_.peak) << label;
    EXPECT_LE(stats.peak_entries, schedule_.depth) << label;
    EXPECT_EQ(stats.peak_bytes, model_.peak * buffer_.params().bytes_per_entry) << label;
    EXPECT_EQ(stats.bytes_written, n * buffer_.params().bytes_per_entry) << label;
    EXPECT_TRUE(model_.entries.empty()) << label;
  }

 private:
  void compare(const char* where, std::int64_t token) {
    if (buffer_.size() != model_.entries.size() && mismatches_++ == 0) {
      first_mismatch_ = std::string(where) + " of token " + std::to_string(token) + ": size " +
                        std::to_string(buffer_.size()) + ", model " +
                        std::to_string(model_.entries.size());
    }
  }

  void produce() {
    for (std::size_t i = 0; i < schedule_.produce_gap.size(); ++i) {
      const auto token = static_cast<std::int64_t>(i);
      wait_test_cycles(schedule_.produce_gap[i]);
      if (schedule_.reserved[i]) {
        buffer_.reserve();
        model_.append(token, false);
        in_flight_.emplace_back(now_cycles() + schedule_.latency, token);
        sent_.notify();
      } else {
        buffer_.push(token);
        model_.append(token, true);
        ++model_.pushes;
      }
      seen_.entered[i] = now_cycles();
      compare("entry", token);
    }
  }

  void carry() {
    for (;;) {
      while (in_flight_.empty()) {
        sc_core::wait(sent_);
      }
      const auto [arrival, token] = in_flight_.front();
      in_flight_.pop_front();
      wait_test_cycles(arrival - now_cycles());
      buffer_.deliver(token);
      const auto slot = std::find_if(model_.entries.begin(), model_.entries.end(),
                                     [](const auto& entry) { return !entry.second; });
      if (slot == model_.entries.end() || slot->first != token) {
        ++mismatches_;
      } else {
        slot->second = true;
        ++model_.pushes;
      }
      compare("delivery", token);
    }
  }

  void consume() {
    for (std::size_t i = 0; i < schedule_.consume_gap.size(); ++i) {
      const auto token = static_cast<std::int64_t>(i);
      wait_test_cycles(schedule_.consume_gap[i]);
      buffer_.wait_front(token);
      seen_.front[i] = now_cycles();
      if (model_.entries.empty() || model_.entries.front() != std::make_pair(token, true)) {
        if (mismatches_++ == 0) {
          first_mismatch_ = "model front differs at token " + std::to_string(token);
        }
      }
      wait_test_cycles(schedule_.hold[i]);
      buffer_.pop();
      if (!model_.entries.empty()) {
        model_.entries.pop_front();
      }
      seen_.popped[i] = now_cycles();
      compare("pop", token);
      ++consumed_;
    }
  }

  Schedule schedule_;
  DelayBuffer buffer_;
  Driver producer_, wire_, consumer_;
  DequeModel model_;
  Timeline seen_;
  std::deque<std::pair<std::uint64_t, std::int64_t>> in_flight_;  // (arrival, token)
  sc_core::sc_event sent_;
  std::size_t consumed_ = 0;
  int mismatches_ = 0;
  std::string first_mismatch_;
};

std::uint64_t test_seed() {
  const char* text = std::getenv("LPSIM_SEED");
  return text != nullptr ? std::strtoull(text, nullptr, 0) : 20240611;
}

TEST(DelayBuffer, RandomSchedulesMatchDequeModel) {
  const std::uint64_t seed = test_seed();
  std::cout << "seed " << seed << " (replay: LPSIM_SEED=" << seed << ")\n";
  RecordProperty("seed", std::to_string(seed));
  std::mt19937_64 rng(seed);
  constexpr int kBenches = 12;
  constexpr std::size_t kTokens = 1000;
  std::vector<std::unique_ptr<DifferentialBench>> benches;
  std::vector<std::string> labels;
  for (int b = 0; b < kBenches; ++b) {
    const Schedule schedule = random_schedule(rng, kTokens);
    labels.push_back("seed " + std::to_string(seed) + " bench " + std::to_string(b) + " depth " +
                     std::to_string(schedule.depth) + " latency " +
                     std::to_string(schedule.latency));
    benches.push_back(
        std::make_unique<DifferentialBench>("b" + std::to_string(b), schedule, 1 + rng() % 1000));
  }
  simulate();
  std::uint64_t stalls = 0;
  for (int b = 0; b < kBenches; ++b) {
    benches[b]->check(labels[b]);
    stalls += expected_timeline(benches[b]->schedule()).stall_cycles;
  }
  EXPECT_GT(stalls, 0u) << "the schedules never filled a buffer";
}

TEST(DelayBuffer, StatsJsonHasRawCounters) {
  DelayBufferStats stats;
  stats.pushes = 1;
  stats.pops = 2;
  stats.peak_entries = 3;
  stats.peak_bytes = 4;
  stats.stall_cycles = 5;
  stats.bytes_written = 6;
  EXPECT_EQ(to_json(stats), nlohmann::json::parse(R"({"pushes": 1, "pops": 2,
      "peak_entries": 3, "peak_bytes": 4, "stall_cycles": 5, "bytes_written": 6})"));
}

}  // namespace
}  // namespace lpsim::hw
