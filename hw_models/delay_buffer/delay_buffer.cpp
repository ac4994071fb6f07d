#include "hw_models/delay_buffer/delay_buffer.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>

#include "core/errors.h"
#include "hw_models/common/clock.h"

namespace lpsim::hw {

DelayBuffer::DelayBuffer(const sc_core::sc_module_name& name, const DelayBufferParams& params)
    : sc_core::sc_module(name), params_(params) {
  require_period(params_.period, this->name());
  LPSIM_ASSERT(params_.depth_entries >= 1,
               std::string(this->name()) + ": depth_entries must be >= 1");
  LPSIM_ASSERT(params_.initial_tokens.size() <= params_.depth_entries,
               std::string(this->name()) + ": " + std::to_string(params_.initial_tokens.size()) +
                   " initial tokens exceed depth_entries " + std::to_string(params_.depth_entries));
  for (const std::int64_t token : params_.initial_tokens) {
    entries_.push_back(Entry{token, true});
  }
  stats_.peak_entries = entries_.size();
  stats_.peak_bytes = stats_.peak_entries * params_.bytes_per_entry;
}

void DelayBuffer::wait_for_space() {
  if (entries_.size() < params_.depth_entries) {
    return;
  }
  const sc_core::sc_time start = sc_core::sc_time_stamp();
  while (entries_.size() >= params_.depth_entries) {
    ++space_waiters_;
    sc_core::wait(space_freed_);
    --space_waiters_;
  }
  stats_.stall_cycles += cycles_since(start, params_.period);
}

void DelayBuffer::append(Entry entry) {
  entries_.push_back(entry);
  stats_.peak_entries = std::max<std::uint64_t>(stats_.peak_entries, entries_.size());
  stats_.peak_bytes = stats_.peak_entries * params_.bytes_per_entry;
}

void DelayBuffer::push(std::int64_t token) {
  wait_for_space();
  append(Entry{token, true});
  ++stats_.pushes;
  stats_.bytes_written += params_.bytes_per_entry;
  if (token_waiters_ > 0) token_arrived_.notify();
}

void DelayBuffer::reserve() {
  wait_for_space();
  append(Entry{0, false});
  ++reserved_;
}

void DelayBuffer::deliver(std::int64_t token) {
  if (reserved_ == 0) {
    throw core::InternalError(std::string(name()) + ": deliver(" + std::to_string(token) +
                              ") without a reserved slot");
  }
  const auto slot = std::find_if(entries_.begin(), entries_.end(),
                                 [](const Entry& entry) { return !entry.filled; });
  LPSIM_ASSERT(slot != entries_.end(), std::string(name()) + ": reserved slot missing");
  slot->token = token;
  slot->filled = true;
  --reserved_;
  ++stats_.pushes;
  stats_.bytes_written += params_.bytes_per_entry;
  if (token_waiters_ > 0) token_arrived_.notify();
}

void DelayBuffer::wait_front(std::int64_t expected) {
  while (entries_.empty() || !entries_.front().filled) {
    ++token_waiters_;
    sc_core::wait(token_arrived_);
    --token_waiters_;
  }
  const std::int64_t found = entries_.front().token;
  if (found != expected) {
    throw core::InternalError(std::string(name()) + ": front token is " + std::to_string(found) +
                              ", expected " + std::to_string(expected) +
                              " (tokens must arrive in order)");
  }
}

void DelayBuffer::pop() {
  if (entries_.empty() || !entries_.front().filled) {
    throw core::InternalError(std::string(name()) + ": pop() with no token at the front");
  }
  entries_.pop_front();
  ++stats_.pops;
  if (space_waiters_ > 0) space_freed_.notify();
}

nlohmann::json to_json(const DelayBufferStats& stats) {
  return nlohmann::json{{"pushes", stats.pushes},
                        {"pops", stats.pops},
                        {"peak_entries", stats.peak_entries},
                        {"peak_bytes", stats.peak_bytes},
                        {"stall_cycles", stats.stall_cycles},
                        {"bytes_written", stats.bytes_written}};
}

}  // namespace lpsim::hw
