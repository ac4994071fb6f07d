#pragma once
// DelayBuffer: a bounded FIFO of tokens on one edge of the training dataflow graph. A token
// is a minibatch index standing for a tensor of bytes_per_entry bytes.
//
// Contract: an entry is either a token or a slot reserved for a token in flight on a Link;
// the buffer holds at most depth_entries entries, initial tokens included. Operations take
// no cycles themselves. push() and reserve() block the calling SC_THREAD while the buffer is
// full (back-pressure: the producer stalls, and the stalled cycles are counted);
// deliver() fills the oldest reserved slot and never blocks. wait_front() blocks the
// consumer until the front entry is a token (not an empty reservation) and checks that it
// is the expected one: tokens arrive in order, and anything else is a broken invariant
// (lpsim::core::InternalError naming the buffer and both tokens). pop() removes the front token and
// wakes blocked producers in the same evaluation phase, so a producer blocked on a full
// buffer resumes in the cycle the consumer pops. Errors thrown inside an SC_THREAD reach
// sc_start() as an sc_report carrying the message.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <systemc>

#include "hw_models/delay_buffer/delay_buffer_params.h"

namespace lpsim::hw {

class DelayBuffer : public sc_core::sc_module {
 public:
  DelayBuffer(const sc_core::sc_module_name& name, const DelayBufferParams& params);

  // Appends a token; blocks while full.
  void push(std::int64_t token);
  // Blocks until the front entry is a token, then checks it equals `expected`.
  void wait_front(std::int64_t expected);
  // Removes the front token (it must be a token: call wait_front first).
  void pop();
  // Appends an empty slot for a token that deliver() will bring later; blocks while full.
  void reserve();
  // Fills the oldest reserved slot with `token`; never blocks.
  void deliver(std::int64_t token);

  // Entries held now (tokens and reserved slots).
  std::size_t size() const { return entries_.size(); }
  const DelayBufferParams& params() const { return params_; }
  const DelayBufferStats& stats() const { return stats_; }

 private:
  struct Entry {
    std::int64_t token = 0;
    bool filled = false;
  };

  void wait_for_space();
  void append(Entry entry);

  const DelayBufferParams params_;
  DelayBufferStats stats_;
  std::deque<Entry> entries_;
  std::size_t reserved_ = 0;  // entries not yet filled
  sc_core::sc_event space_freed_;
  sc_core::sc_event token_arrived_;
  // Threads waiting on each event now: an immediate notification with no waiter does
  // nothing, so it is skipped (most pushes and pops find nobody waiting).
  int space_waiters_ = 0;
  int token_waiters_ = 0;
};

}  // namespace lpsim::hw
