// hw::simulate(): after a simulation AddressSanitizer records the caller's own stack again,
// so LeakSanitizer scans the real stack and never the unmapped range of a coroutine stack
// (issue 12: "Tracer caught signal 11" after passing tests on some machines). Without
// AddressSanitizer there is nothing to check and these tests skip.
#include "hw_models/common/simulate.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "tests/unit/hw_models/hw_units_test_support.h"

#ifdef LPSIM_ASAN
#include <sanitizer/lsan_interface.h>
#endif

namespace lpsim::hw {
namespace {

using test::Driver;
using test::wait_test_cycles;

bool inside(const SanitizerStack& stack, const void* address) {
  const auto* bottom = static_cast<const char*>(stack.bottom);
  const auto* p = static_cast<const char*>(address);
  return p >= bottom && p < bottom + stack.size;
}

TEST(Simulate, LeavesTheCallersStackRecorded) {
  const SanitizerStack before = sanitizer_stack();
  if (before.size == 0) GTEST_SKIP() << "not built with AddressSanitizer";
  int local = 0;
  ASSERT_TRUE(inside(before, &local));
  std::vector<const void*> coroutine_locals;
  {
    Driver first("first", [&] {
      int on_coroutine = 0;
      coroutine_locals.push_back(&on_coroutine);
      EXPECT_TRUE(inside(sanitizer_stack(), &on_coroutine));
      wait_test_cycles(3);
    });
    Driver second("second", [&] {
      int on_coroutine = 0;
      coroutine_locals.push_back(&on_coroutine);
      wait_test_cycles(5);
    });
    test::simulate();
  }
  ASSERT_EQ(coroutine_locals.size(), 2u);
  const SanitizerStack after = sanitizer_stack();
  EXPECT_EQ(after.bottom, before.bottom);
  EXPECT_EQ(after.size, before.size);
  EXPECT_TRUE(inside(after, &local));
  for (const void* p : coroutine_locals) EXPECT_FALSE(inside(after, p));
}

// The failure of issue 12, made on purpose: once the design is gone, a readable page and an
// unreadable one are mapped where a coroutine's stack was. Had the sanitizer kept that
// stack as the thread's, the leak scan would read the first and fault on the second.
TEST(Simulate, LeakScanSurvivesAMapWhereACoroutineStackWas) {
#ifndef LPSIM_ASAN
  GTEST_SKIP() << "not built with AddressSanitizer";
#else
  const auto page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  std::uintptr_t coroutine_page = 0;
  {
    Driver driver("driver", [&] {
      int on_coroutine = 0;
      coroutine_page = reinterpret_cast<std::uintptr_t>(&on_coroutine) & ~(page - 1);
      wait_test_cycles(2);
    });
    test::simulate();
  }
  ASSERT_NE(coroutine_page, 0u);
  // Two pages below the one the thread ran on: inside its stack, below its frames.
  void* want = reinterpret_cast<void*>(coroutine_page - 2 * page);
  void* got = mmap(want, 2 * page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (got != want) {
    if (got != MAP_FAILED) munmap(got, 2 * page);
    GTEST_SKIP() << "the coroutine stack's addresses are still mapped";
  }
  ASSERT_EQ(mprotect(static_cast<char*>(got) + page, page, PROT_NONE), 0);
  const auto held = std::make_unique<std::vector<int> >(1000, 7);  // reachable from this stack
  EXPECT_EQ(__lsan_do_recoverable_leak_check(), 0);
  EXPECT_EQ(held->size(), 1000u);
  munmap(got, 2 * page);
#endif
}

}  // namespace
}  // namespace lpsim::hw
