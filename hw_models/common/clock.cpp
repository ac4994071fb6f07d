#include "hw_models/common/clock.h"

#include <limits>

#include "core/errors.h"

namespace lpsim::hw {

sc_core::sc_time cycles_to_time(std::uint64_t cycles, const sc_core::sc_time& period) {
  const std::uint64_t unit = period.value();
  LPSIM_ASSERT(unit > 0, "clock period is zero");
  std::uint64_t value = 0;  // cycles · unit, checked without a division (wait_cycles' path)
  LPSIM_ASSERT(!__builtin_mul_overflow(cycles, unit, &value),
               std::to_string(cycles) + " cycles of " + period.to_string() + " overflow sc_time");
  return sc_core::sc_time::from_value(value);
}

std::uint64_t time_to_cycles(const sc_core::sc_time& time, const sc_core::sc_time& period) {
  const std::uint64_t unit = period.value();
  LPSIM_ASSERT(unit > 0, "clock period is zero");
  LPSIM_ASSERT(time.value() % unit == 0,
               time.to_string() + " is not a whole number of periods of " + period.to_string());
  return time.value() / unit;
}

std::uint64_t cycles_since(const sc_core::sc_time& start, const sc_core::sc_time& period) {
  const sc_core::sc_time now = sc_core::sc_time_stamp();
  LPSIM_ASSERT(start <= now,
               "start time " + start.to_string() + " is after now " + now.to_string());
  return time_to_cycles(now - start, period);
}

void wait_cycles(std::uint64_t cycles, const sc_core::sc_time& period) {
  if (cycles > 0) {
    sc_core::wait(cycles_to_time(cycles, period));
  }
}

void require_period(const sc_core::sc_time& period, const std::string& owner) {
  LPSIM_ASSERT(period.value() > 0, owner + ": clock period must be > 0");
}

}  // namespace lpsim::hw
