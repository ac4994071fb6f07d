#pragma once
// Writing output files so that a kill never leaves a truncated one: the content goes to
// a temporary name in the same directory, is flushed, then renamed over the target.

#include <functional>
#include <ostream>
#include <string>

namespace lpsim::core {

// Throws UserError (naming the path) when the file cannot be written.
void write_file_atomic(const std::string& path, const std::string& content);

// The same with the content streamed by `write` into the file as it is made, so a large
// content (a training state of gigabytes) is never held in memory whole.
void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& write);

}  // namespace lpsim::core
