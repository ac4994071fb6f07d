#include "hw_models/common/fifo_arbiter.h"

#include "core/errors.h"

namespace lpsim::hw {

sc_core::sc_time FifoArbiter::acquire() {
  const sc_core::sc_time start = sc_core::sc_time_stamp();
  const std::uint64_t ticket = next_ticket_++;
  while (ticket != serving_) {
    sc_core::wait(released_);
  }
  return sc_core::sc_time_stamp() - start;
}

void FifoArbiter::release() {
  LPSIM_ASSERT(serving_ < next_ticket_, "FifoArbiter::release without a holder");
  ++serving_;
  if (serving_ < next_ticket_) {
    released_.notify();
  }
}

}  // namespace lpsim::hw
