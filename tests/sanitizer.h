#pragma once
// LPSIM_TEST_ASAN is 1 when the unit is built with AddressSanitizer (the asan preset), else 0.
// A property test that sweeps many random cases sweeps fewer under it: the release run covers
// the cases, the sanitizer run covers the code paths, and the suite must fit CI's 15 minutes.

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LPSIM_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(LPSIM_TEST_ASAN)
#define LPSIM_TEST_ASAN 1
#endif
#ifndef LPSIM_TEST_ASAN
#define LPSIM_TEST_ASAN 0
#endif
