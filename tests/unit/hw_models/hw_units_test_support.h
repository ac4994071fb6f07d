#pragma once
// Helpers for the SystemC unit tests of the storage and communication units: a driver
// module that runs a lambda as an SC_THREAD, the test clock, and a guard that each test
// elaborates and simulates one design per process (SystemC cannot do two; ctest runs each
// TEST in its own process).

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <systemc>
#include <utility>

#include "hw_models/common/clock.h"
#include "hw_models/common/simulate.h"

namespace lpsim::hw::test {

// One clock cycle of every test design.
inline sc_core::sc_time test_period() { return sc_core::sc_time(1, sc_core::SC_NS); }

// The current simulated time in test cycles.
inline std::uint64_t now_cycles() {
  return time_to_cycles(sc_core::sc_time_stamp(), test_period());
}

// Blocks the calling driver thread for `cycles` test cycles.
inline void wait_test_cycles(std::uint64_t cycles) { wait_cycles(cycles, test_period()); }

// Runs `body` once as an SC_THREAD starting at time 0.
class Driver : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(Driver);
  Driver(const sc_core::sc_module_name& name, std::function<void()> body)
      : sc_core::sc_module(name), body_(std::move(body)) {
    SC_THREAD(run);
  }

 private:
  void run() { body_(); }
  std::function<void()> body_;
};

// Runs the elaborated design until no event is left. Fails the test if this process has
// already simulated (run the binary through ctest, or one test with --gtest_filter).
inline void simulate() {
  static bool simulated = false;
  ASSERT_FALSE(simulated) << "SystemC simulates one design per process: run this test on "
                             "its own (ctest, or --gtest_filter)";
  simulated = true;
  lpsim::hw::simulate();
}

}  // namespace lpsim::hw::test
