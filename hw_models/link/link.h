#pragma once
// Link: a point-to-point link from one processor to another, carrying tensors into
// DelayBuffers on the far side.
//
// Contract: one cycle puts up to bytes_per_cycle bytes of one transfer on the wire.
// send() first reserves a slot in the destination buffer, blocking the sending SC_THREAD
// while that buffer is full (back-pressure reaches the sender at send time, and the stall is
// counted by the buffer), then queues the transfer and returns at once. The link's own
// SC_THREADs serialise queued transfers one after another in send order, each occupying the
// link for ceil(bytes / bytes_per_cycle) cycles, and deliver each token into its reserved
// slot latency_cycles after its last byte left. Transfers pipeline: the next one is
// serialised while earlier ones are still in flight; deliveries stay in send order because
// the latency is constant. A transfer sent at cycle t with nothing queued arrives at cycle
// t + ceil(bytes / bytes_per_cycle) + latency_cycles; a zero-byte send still costs the
// latency. The queue of accepted transfers is unbounded: only the destinations push back.

#include <cstdint>
#include <deque>
#include <systemc>

#include "hw_models/delay_buffer/delay_buffer.h"
#include "hw_models/link/link_params.h"

namespace lpsim::hw {

class Link : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(Link);
  Link(const sc_core::sc_module_name& name, const LinkParams& params);

  // Reserves a slot in `destination` (blocks while it is full), then queues the transfer of
  // `bytes` carrying `token` and returns.
  void send(std::uint64_t bytes, DelayBuffer& destination, std::int64_t token);

  // Cycles a transfer of `bytes` occupies the link.
  std::uint64_t serialisation_cycles(std::uint64_t bytes) const;
  const LinkParams& params() const { return params_; }
  const LinkStats& stats() const { return stats_; }

 private:
  struct Transfer {
    std::uint64_t bytes = 0;
    DelayBuffer* destination = nullptr;
    std::int64_t token = 0;
    sc_core::sc_time arrival;  // set when the last byte has left
  };

  void serialise();  // SC_THREAD: the wire
  void deliver();    // SC_THREAD: arrivals after the latency

  const LinkParams params_;
  LinkStats stats_;
  std::deque<Transfer> queued_;     // accepted, not fully serialised; front is on the wire
  std::deque<Transfer> in_flight_;  // serialised, waiting for their arrival time
  sc_core::sc_event transfer_queued_;
  sc_core::sc_event transfer_serialised_;
};

}  // namespace lpsim::hw
