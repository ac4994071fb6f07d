// FifoArbiter (hw_models/common/fifo_arbiter.h): grants in request order (ties in call
// order), a holder that asks again queues behind the waiters, blocking until the earlier
// holders release, the hand-over in the same evaluation phase (no cycle lost), the guard's
// release on a throw and the broken invariant of a release without a holder. Expected times
// follow from the contract: a caller is granted at max(its request, previous grant + hold).
#include "hw_models/common/fifo_arbiter.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
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

// What one caller saw: when it was granted and how long acquire() said it waited.
struct ArbiterGrant {
  char who = '?';
  std::uint64_t granted_at = 0;
  std::uint64_t waited = 0;
};

// Requests at `request_at`, holds for `hold` cycles, releases; appends the grant to `log`.
void arbiter_hold_once(FifoArbiter& arbiter, char who, std::uint64_t request_at, std::uint64_t hold,
                       std::vector<ArbiterGrant>& log) {
  wait_test_cycles(request_at);
  const sc_core::sc_time waited = arbiter.acquire();
  log.push_back({who, now_cycles(), time_to_cycles(waited, test_period())});
  wait_test_cycles(hold);
  arbiter.release();
}

std::string arbiter_order(const std::vector<ArbiterGrant>& log) {
  std::string order;
  for (const ArbiterGrant& g : log) order += g.who;
  return order;
}

TEST(FifoArbiterGrants, UncontendedAcquireReturnsAtOnceWithZeroWait) {
  FifoArbiter arbiter;
  std::vector<std::uint64_t> waited, granted_at;
  std::vector<bool> same_delta;
  Driver only("only", [&] {
    wait_test_cycles(3);
    for (int i = 0; i < 2; ++i) {
      const sc_dt::uint64 delta = sc_core::sc_delta_count();
      waited.push_back(time_to_cycles(arbiter.acquire(), test_period()));
      same_delta.push_back(sc_core::sc_delta_count() == delta);
      granted_at.push_back(now_cycles());
      arbiter.release();
    }
  });
  simulate();
  EXPECT_EQ(waited, (std::vector<std::uint64_t>{0, 0}));
  EXPECT_EQ(granted_at, (std::vector<std::uint64_t>{3, 3}));
  // "Holding the lock takes no time by itself": not even a delta cycle.
  EXPECT_EQ(same_delta, (std::vector<bool>{true, true}));
  EXPECT_EQ(now_cycles(), 3u);
}

TEST(FifoArbiterGrants, GrantsInRequestOrderNotInCreationOrder) {
  FifoArbiter arbiter;
  std::vector<ArbiterGrant> log;
  // A holds [0, 10). Requests: C at 2, B at 4, D at 6, each holding 5 once granted, so
  // C gets [10, 15) after waiting 8, B [15, 20) after 11, D [20, 25) after 14.
  Driver a("a", [&] { arbiter_hold_once(arbiter, 'A', 0, 10, log); });
  Driver b("b", [&] { arbiter_hold_once(arbiter, 'B', 4, 5, log); });
  Driver c("c", [&] { arbiter_hold_once(arbiter, 'C', 2, 5, log); });
  Driver d("d", [&] { arbiter_hold_once(arbiter, 'D', 6, 5, log); });
  simulate();
  ASSERT_EQ(arbiter_order(log), "ACBD");
  const std::uint64_t granted[] = {0, 10, 15, 20};
  const std::uint64_t waited[] = {0, 8, 11, 14};
  for (std::size_t i = 0; i < log.size(); ++i) {
    EXPECT_EQ(log[i].granted_at, granted[i]) << log[i].who;
    EXPECT_EQ(log[i].waited, waited[i]) << log[i].who;
  }
  EXPECT_EQ(now_cycles(), 25u);
}

TEST(FifoArbiterGrants, TiesAtTheSameTimeGoInCallOrder) {
  FifoArbiter arbiter;
  std::string call_order;
  std::vector<ArbiterGrant> log;
  std::vector<std::unique_ptr<Driver>> drivers;
  for (char who = 'A'; who <= 'E'; ++who) {
    drivers.push_back(std::make_unique<Driver>(std::string(1, who).c_str(), [&, who] {
      // The scheduler picks the order in which same-time threads run; acquire() takes its
      // place in the queue before it can yield, so the call order is the order they ran in.
      call_order += who;
      const sc_core::sc_time waited = arbiter.acquire();
      log.push_back({who, now_cycles(), time_to_cycles(waited, test_period())});
      wait_test_cycles(2);
      arbiter.release();
    }));
  }
  simulate();
  ASSERT_EQ(call_order.size(), 5u);
  EXPECT_EQ(arbiter_order(log), call_order);
  for (std::size_t i = 0; i < log.size(); ++i) {
    EXPECT_EQ(log[i].granted_at, 2 * i) << log[i].who;
    EXPECT_EQ(log[i].waited, 2 * i) << log[i].who;
  }
  EXPECT_EQ(now_cycles(), 10u);
}

TEST(FifoArbiterGrants, ReleaseHandsOverInTheSameEvaluationPhase) {
  FifoArbiter arbiter;
  sc_dt::uint64 released_in_delta = 0, granted_in_delta = 1;
  std::uint64_t released_at = 0, granted_at = 0;
  Driver holder("holder", [&] {
    arbiter.acquire();
    wait_test_cycles(7);
    released_at = now_cycles();
    released_in_delta = sc_core::sc_delta_count();
    arbiter.release();
  });
  Driver waiter("waiter", [&] {
    wait_test_cycles(1);
    arbiter.acquire();
    granted_at = now_cycles();
    granted_in_delta = sc_core::sc_delta_count();
    arbiter.release();
  });
  simulate();
  EXPECT_EQ(released_at, 7u);
  EXPECT_EQ(granted_at, 7u);
  // No cycle and no delta cycle between holders (a delayed notification would add one).
  EXPECT_EQ(granted_in_delta, released_in_delta);
}

TEST(FifoArbiterFairness, AHolderAskingAgainQueuesBehindTheWaiters) {
  FifoArbiter arbiter;
  std::vector<ArbiterGrant> log;
  // A asks three times in a row, each time at once after its release; B asks at cycle 1.
  // Holds of 4: A [0, 4), B [4, 8) (waited 3), A [8, 12) (waited 4), A [12, 16) (0).
  Driver a("a", [&] {
    for (int i = 0; i < 3; ++i) arbiter_hold_once(arbiter, 'A', 0, 4, log);
  });
  Driver b("b", [&] { arbiter_hold_once(arbiter, 'B', 1, 4, log); });
  simulate();
  ASSERT_EQ(arbiter_order(log), "ABAA");
  const std::uint64_t granted[] = {0, 4, 8, 12};
  const std::uint64_t waited[] = {0, 3, 4, 0};
  for (std::size_t i = 0; i < log.size(); ++i) {
    EXPECT_EQ(log[i].granted_at, granted[i]) << i;
    EXPECT_EQ(log[i].waited, waited[i]) << i;
  }
  EXPECT_EQ(now_cycles(), 16u);
}

TEST(FifoArbiterGrants, ZeroCycleHoldsPassTheLockOnAtTheSameTime) {
  FifoArbiter arbiter;
  std::vector<ArbiterGrant> log;
  std::string call_order;
  // A holds [0, 5); B, C and D ask at cycle 1 and release at once when granted. Each release
  // happens while the next waiters may already have been woken: all three still get the
  // lock at cycle 5, in the order they asked.
  Driver a("a", [&] { arbiter_hold_once(arbiter, 'A', 0, 5, log); });
  std::vector<std::unique_ptr<Driver>> drivers;
  for (char who = 'B'; who <= 'D'; ++who) {
    drivers.push_back(std::make_unique<Driver>(std::string(1, who).c_str(), [&, who] {
      wait_test_cycles(1);
      call_order += who;
      const sc_core::sc_time waited = arbiter.acquire();
      log.push_back({who, now_cycles(), time_to_cycles(waited, test_period())});
      arbiter.release();
    }));
  }
  simulate();
  ASSERT_EQ(log.size(), 4u);
  EXPECT_EQ(arbiter_order(log), "A" + call_order);
  for (std::size_t i = 1; i < log.size(); ++i) {
    EXPECT_EQ(log[i].granted_at, 5u) << log[i].who;
    EXPECT_EQ(log[i].waited, 4u) << log[i].who;
  }
  EXPECT_EQ(now_cycles(), 5u);
}

TEST(FifoArbiterGuard, ReleasesWhenTheHolderThrowsAndReportsTheWait) {
  FifoArbiter arbiter;
  bool caught = false;
  std::uint64_t b_granted_at = 0, b_waited = 0, c_granted_at = 0;
  Driver a("a", [&] {
    try {
      const ArbiterGuard guard(arbiter);
      wait_test_cycles(3);
      throw std::runtime_error("holder failed");
    } catch (const std::runtime_error&) {
      caught = true;
    }
  });
  Driver b("b", [&] {
    wait_test_cycles(1);
    const ArbiterGuard guard(arbiter);
    b_granted_at = now_cycles();
    b_waited = time_to_cycles(guard.waited(), test_period());
    wait_test_cycles(2);
  });
  Driver c("c", [&] {
    wait_test_cycles(2);
    const ArbiterGuard guard(arbiter);
    c_granted_at = now_cycles();
  });
  simulate();
  EXPECT_TRUE(caught);
  EXPECT_EQ(b_granted_at, 3u);
  EXPECT_EQ(b_waited, 2u);
  // B's guard released on scope exit at 5.
  EXPECT_EQ(c_granted_at, 5u);
}

TEST(FifoArbiterInvariants, ReleaseWithoutAHolderIsAnInternalError) {
  FifoArbiter arbiter;
  EXPECT_THROW(arbiter.release(), core::InternalError);
  // Uncontended, acquire() never waits, so it can be called outside a thread.
  EXPECT_EQ(arbiter.acquire(), sc_core::SC_ZERO_TIME);
  EXPECT_NO_THROW(arbiter.release());
  EXPECT_THROW(arbiter.release(), core::InternalError);
}

}  // namespace
}  // namespace lpsim::hw
