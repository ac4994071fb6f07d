#include "hw_models/common/simulate.h"

#include <cstddef>
#include <systemc>

#ifdef LPSIM_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

namespace lpsim::hw {
namespace {

#ifdef LPSIM_ASAN
// A "switch" from the current stack to `next`, returning the stack that was recorded. The
// fake stack (detect_stack_use_after_return) is saved and restored around it.
SanitizerStack switch_recorded_stack(const SanitizerStack& next) {
  void* fake_stack = nullptr;
  __sanitizer_start_switch_fiber(&fake_stack, next.bottom, next.size);
  const void* bottom = nullptr;
  std::size_t size = 0;
  __sanitizer_finish_switch_fiber(fake_stack, &bottom, &size);
  return {bottom, size};
}
#endif

// Puts `recorded` back as the calling thread's stack when it goes out of scope.
class RecordedStackGuard {
 public:
  RecordedStackGuard() : recorded_(sanitizer_stack()) {}
  ~RecordedStackGuard() {
#ifdef LPSIM_ASAN
    switch_recorded_stack(recorded_);
#endif
  }
  RecordedStackGuard(const RecordedStackGuard&) = delete;
  RecordedStackGuard& operator=(const RecordedStackGuard&) = delete;

 private:
  SanitizerStack recorded_;
};

}  // namespace

SanitizerStack sanitizer_stack() {
#ifdef LPSIM_ASAN
  const SanitizerStack recorded = switch_recorded_stack({});
  switch_recorded_stack(recorded);
  return recorded;
#else
  return {};
#endif
}

void simulate() {
  const RecordedStackGuard guard;
  sc_core::sc_start();
}

}  // namespace lpsim::hw
