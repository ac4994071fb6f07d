#pragma once
// What the three libFuzzer entry points share: a scratch directory for the process and the
// oracle "only core::UserError may leave".
//
// Contract: expect_only_user_errors runs one reader; a core::UserError is the expected outcome
// of bad input and is swallowed; any other exception is printed (its type and message) and
// the process aborts, which libFuzzer reports as a crash and saves the input.

#include <cxxabi.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>
#include <typeinfo>

#include "core/errors.h"

namespace lpsim::fuzz {

inline const std::string& scratch_dir();

// Before abort() too: a crash leaves its directory behind (scripts/fuzz gives the harnesses
// a $TMPDIR it removes).
inline void remove_scratch_dir() {
  std::error_code ec;
  std::filesystem::remove_all(scratch_dir(), ec);
}

// A directory made once per process and removed at exit, under $TMPDIR, else /dev/shm,
// else /tmp. Every input is written to a file, so a disk-backed directory costs up to 50x
// in executions per second (ext4 flushes a truncated-and-rewritten file on close).
inline const std::string& scratch_dir() {
  static const std::string dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::error_code ec;
    const std::string base = tmp != nullptr && *tmp != '\0'                  ? tmp
                             : std::filesystem::is_directory("/dev/shm", ec) ? "/dev/shm"
                                                                             : "/tmp";
    std::string pattern = base + "/lpsim-fuzz-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      std::perror("lpsim fuzz: mkdtemp");
      std::abort();
    }
    return pattern;
  }();
  static const bool cleanup_registered = [] {
    std::atexit([] { remove_scratch_dir(); });
    return true;
  }();
  (void)cleanup_registered;
  return dir;
}

// The demangled name of an exception's dynamic type.
inline std::string type_name(const std::exception& e) {
  int status = 0;
  char* name = abi::__cxa_demangle(typeid(e).name(), nullptr, nullptr, &status);
  std::string text = status == 0 && name != nullptr ? name : typeid(e).name();
  std::free(name);
  return text;
}

template <typename Read>
void expect_only_user_errors(const char* what, const Read& read) {
  try {
    read();
  } catch (const core::UserError&) {
    // The expected outcome of bad input.
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\nlpsim fuzz finding: %s threw %s, not a core::UserError:\n%s\n", what,
                 type_name(e).c_str(), e.what());
    remove_scratch_dir();
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "\nlpsim fuzz finding: %s threw a non-std::exception\n", what);
    remove_scratch_dir();
    std::abort();
  }
}

}  // namespace lpsim::fuzz
