#pragma once
// Crash-safe file writing for data and checkpoint files.
//
// Contract: the bytes go to a temporary file next to the target ("<path>.tmp-<pid>"), are
// flushed to disk (fsync), and the temporary is renamed over the target, so a kill or a
// crash leaves either the old file or the complete new one, never a truncated one. Every
// fault throws core::DataError naming the target and the system's reason; the temporary is
// removed.

#include <fstream>
#include <string>

namespace lpsim::data {

void write_file_atomically(const std::string& path, const std::string& bytes);

// The file opened for binary reading; core::DataError naming it and the system's reason if not.
std::ifstream open_for_reading(const std::string& path);

// Flushes a directory's entries (after renames) to disk; best effort, never throws.
void sync_directory(const std::string& dir);

}  // namespace lpsim::data
