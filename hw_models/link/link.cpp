#include "hw_models/link/link.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>

#include "core/errors.h"
#include "hw_models/common/clock.h"
#include "hw_models/pe/pe_timing.h"

namespace lpsim::hw {

Link::Link(const sc_core::sc_module_name& name, const LinkParams& params)
    : sc_core::sc_module(name), params_(params) {
  require_period(params_.period, this->name());
  LPSIM_ASSERT(params_.bytes_per_cycle >= 1,
               std::string(this->name()) + ": bytes_per_cycle must be >= 1");
  SC_THREAD(serialise);
  SC_THREAD(deliver);
}

std::uint64_t Link::serialisation_cycles(std::uint64_t bytes) const {
  return memory_cycles(bytes, params_.bytes_per_cycle);
}

void Link::send(std::uint64_t bytes, DelayBuffer& destination, std::int64_t token) {
  destination.reserve();
  queued_.push_back(Transfer{bytes, &destination, token, sc_core::SC_ZERO_TIME});
  ++stats_.transfers;
  stats_.bytes += bytes;
  stats_.peak_queue = std::max<std::uint64_t>(stats_.peak_queue, queued_.size());
  transfer_queued_.notify();
}

void Link::serialise() {
  for (;;) {
    while (queued_.empty()) {
      sc_core::wait(transfer_queued_);
    }
    const std::uint64_t cycles = serialisation_cycles(queued_.front().bytes);
    wait_cycles(cycles, params_.period);
    stats_.busy_cycles += cycles;
    Transfer transfer = queued_.front();
    queued_.pop_front();
    transfer.arrival =
        sc_core::sc_time_stamp() + cycles_to_time(params_.latency_cycles, params_.period);
    in_flight_.push_back(transfer);
    transfer_serialised_.notify();
  }
}

void Link::deliver() {
  for (;;) {
    while (in_flight_.empty()) {
      sc_core::wait(transfer_serialised_);
    }
    const Transfer transfer = in_flight_.front();
    const sc_core::sc_time now = sc_core::sc_time_stamp();
    if (transfer.arrival > now) {
      sc_core::wait(transfer.arrival - now);
    }
    in_flight_.pop_front();
    transfer.destination->deliver(transfer.token);
  }
}

nlohmann::json to_json(const LinkStats& stats) {
  return nlohmann::json{{"transfers", stats.transfers},
                        {"bytes", stats.bytes},
                        {"busy_cycles", stats.busy_cycles},
                        {"peak_queue", stats.peak_queue}};
}

}  // namespace lpsim::hw
