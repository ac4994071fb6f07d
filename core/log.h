#pragma once
// Debug messages for developers, off unless asked for: LPSIM_DEBUG=topic[,topic...] in the
// environment (LPSIM_DEBUG=all for every topic). Each message goes to stderr as one line,
// "lpsim debug [topic]: message". Topics: schedule (the modulo scheduler's failed attempts).

#include <string>
#include <string_view>

namespace lpsim::core {

// Whether LPSIM_DEBUG names `topic` (read once, at the first call).
bool debug_enabled(std::string_view topic);

// Writes the message when its topic is enabled.
void debug_log(std::string_view topic, const std::string& message);

}  // namespace lpsim::core
