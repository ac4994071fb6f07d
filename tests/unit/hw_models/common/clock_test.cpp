// The cycle <-> time helper every unit uses (hw_models/common/clock.h).
#include "hw_models/common/clock.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "core/errors.h"

namespace lpsim::hw {
namespace {

TEST(ClockHelpers, CyclesAndTimeRoundTripExactly) {
  const sc_core::sc_time period(2.5, sc_core::SC_NS);
  EXPECT_EQ(cycles_to_time(0, period), sc_core::SC_ZERO_TIME);
  EXPECT_EQ(cycles_to_time(4, period), sc_core::sc_time(10, sc_core::SC_NS));
  EXPECT_EQ(time_to_cycles(sc_core::sc_time(10, sc_core::SC_NS), period), 4u);
  const std::uint64_t big = std::uint64_t{1} << 40;
  EXPECT_EQ(time_to_cycles(cycles_to_time(big, period), period), big);
}

TEST(ClockHelpers, BrokenInvariantsThrowInternalError) {
  const sc_core::sc_time period(2, sc_core::SC_NS);
  EXPECT_THROW(time_to_cycles(sc_core::sc_time(3, sc_core::SC_NS), period), core::InternalError);
  EXPECT_THROW(cycles_to_time(1, sc_core::SC_ZERO_TIME), core::InternalError);
  EXPECT_THROW(cycles_to_time(std::numeric_limits<std::uint64_t>::max(), period),
               core::InternalError);
  EXPECT_THROW(require_period(sc_core::SC_ZERO_TIME, "unit"), core::InternalError);
  EXPECT_NO_THROW(require_period(period, "unit"));
}

}  // namespace
}  // namespace lpsim::hw
