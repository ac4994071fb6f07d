#pragma once
// Errors and invariants.
//
// Contract: a user's mistake (a bad config, network, data or checkpoint file) throws a
// UserError naming the file, the JSON pointer (or byte offset) of the fault, the value
// found and what was expected. A broken internal invariant goes through LPSIM_ASSERT,
// which is always on. Only main() turns these into exit codes: 2 for UserError, 1 for
// anything else. Library code never calls exit().

#include <stdexcept>
#include <string>

namespace lpsim::core {

// A fault in something the user gave lpsim.
class UserError : public std::runtime_error {
 public:
  // file: path of the input ("" when it came from the command line);
  // where: JSON pointer ("/workload/batch_size"), byte offset or "" for the whole input;
  // problem: what is wrong, including the value found and what was expected.
  UserError(std::string file, std::string where, std::string problem);

  const std::string& file() const { return file_; }
  const std::string& where() const { return where_; }
  const std::string& problem() const { return problem_; }

 private:
  std::string file_;
  std::string where_;
  std::string problem_;
};

// A fault in a JSON document the user gave (config, network, grid, manifest).
class ConfigError : public UserError {
 public:
  using UserError::UserError;
};

// A fault in a binary data file (IDX, .npy).
class DataError : public UserError {
 public:
  using UserError::UserError;
};

// A broken invariant inside lpsim: a bug, never the user's fault.
class InternalError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

[[noreturn]] void assertion_failed(const char* expr, const char* file, int line,
                                   const std::string& message);

}  // namespace lpsim::core

// Always-on invariant check; message is any expression convertible to std::string.
#define LPSIM_ASSERT(cond, message)                                          \
  do {                                                                       \
    if (!(cond)) {                                                           \
      ::lpsim::core::assertion_failed(#cond, __FILE__, __LINE__, (message)); \
    }                                                                        \
  } while (false)
