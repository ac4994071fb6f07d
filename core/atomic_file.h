#pragma once
// Writing output files so that a kill never leaves a truncated one: the content goes to
// a temporary name in the same directory, is flushed, then renamed over the target.

#include <string>

namespace lpsim::core {

// Throws UserError (naming the path) when the file cannot be written.
void write_file_atomic(const std::string& path, const std::string& content);

}  // namespace lpsim::core
