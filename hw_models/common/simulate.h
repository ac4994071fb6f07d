#pragma once
// The one call that runs a SystemC simulation: sc_start() until no event is left.
//
// Contract: simulate() runs the elaborated design to completion on the calling (main)
// thread and rethrows whatever sc_start() throws. Whether it returns or throws, it leaves
// AddressSanitizer's record of the calling thread's stack as it was before: the stack the
// caller runs on.
//
// Why: SystemC 2.3.4's QuickThreads coroutines announce each switch to the sanitizers
// (__sanitizer_start/finish_switch_fiber), but when control comes back to sc_main the
// thread is left recorded as running on the last coroutine's stack. That stack is unmapped
// when its process is destroyed, yet LeakSanitizer's exit-time scan reads the recorded
// range in place of the real stack: it skips leading pages it cannot read and faults
// ("Tracer caught signal 11") on the first unreadable page after a readable one, which
// depends on how the machine has reused those addresses, and it never scans the real
// stack's roots. Restoring the record after sc_start() returns fixes both, for every
// executable that simulates. Without AddressSanitizer this is plain sc_start().

#include <cstddef>

// LPSIM_ASAN is defined when this translation unit is built with AddressSanitizer.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LPSIM_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(LPSIM_ASAN)
#define LPSIM_ASAN 1
#endif

namespace lpsim::hw {

void simulate();

// The stack AddressSanitizer records for the calling thread ({nullptr, 0} without it).
struct SanitizerStack {
  const void* bottom = nullptr;
  std::size_t size = 0;
};
SanitizerStack sanitizer_stack();

}  // namespace lpsim::hw
