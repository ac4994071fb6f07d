// lpsim: cycle-accurate simulation of pipelined neural-network training hardware.
// The one place that chooses exit codes (core/exit_codes.h): 0 success, 2 bad input, 1
// internal error, 4 not enough memory available; `run` returns 3 when interrupted.

#include <malloc.h>

#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/exit_codes.h"
#include "core/json_reader.h"
#include "sim/cli/command.h"
#include "sim/run/resources.h"

namespace {

void usage(std::ostream& out) {
  out << "usage: lpsim <command> [options]   (lpsim <command> --help for its options)\n\n"
         "commands:\n";
  for (const auto& c : lpsim::cli::commands()) {
    char line[160];
    std::snprintf(line, sizeof(line), "  %-14s %s\n", c.name, c.summary);
    out << line;
  }
  out << "\nexit codes: 0 success, 2 bad input, 1 internal error, 3 interrupted (SIGINT/SIGTERM: "
         "the\n"
         "run stopped at a minibatch boundary, drained, and wrote a report marked interrupted),\n"
         "4 not enough memory available now for the run's estimate (nothing written)\n";
}

// Each minibatch allocates its activations afresh (tensors of several MB). glibc returns freed
// memory at the top of the heap to the kernel once it exceeds the trim threshold, so every
// minibatch faulted its pages in again: 66,000 page faults per ResNet-18 step (batch 32),
// 7,000 with these settings, 1.90 -> 1.81 s a step (bench/README.md). Allocations up to 32 MiB
// (glibc's largest mmap threshold) come from the heap, which is never trimmed.
void keep_freed_memory() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

}  // namespace

int main(int argc, char** argv) {
  keep_freed_memory();
  if (argc < 2) {
    usage(std::cerr);
    return lpsim::core::kExitBadInput;
  }
  const std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    usage(std::cout);
    return lpsim::core::kExitOk;
  }
  if (name == "--version") {
    std::cout << "lpsim 0.1.0\n";
    return lpsim::core::kExitOk;
  }
  const std::vector<std::string> args(argv + 2, argv + argc);
  // Paths and values from the command line go into JSON reports and summaries, which hold
  // only UTF-8: refuse other bytes here rather than fail while a report is written.
  for (std::size_t k = 0; k < args.size(); ++k) {
    if (!lpsim::core::is_valid_utf8(args[k])) {
      std::cerr << "lpsim " << name << ": error: argument " << k + 1
                << " is not valid UTF-8 (lpsim writes its arguments into JSON)\n";
      return lpsim::core::kExitBadInput;
    }
  }
  try {
    for (const auto& c : lpsim::cli::commands()) {
      if (name == c.name) return c.run(args);
    }
    std::cerr << "lpsim: error: unknown command \"" << name << "\"\n";
    usage(std::cerr);
    return lpsim::core::kExitBadInput;
  } catch (const lpsim::run::NotEnoughMemory& e) {
    std::cerr << "lpsim: error: " << e.what() << "\n";
    return lpsim::core::kExitNotEnoughMemory;
  } catch (const lpsim::core::UserError& e) {
    std::cerr << "lpsim: error: " << e.what() << "\n";
    return lpsim::core::kExitBadInput;
  } catch (const boost::program_options::error& e) {
    std::cerr << "lpsim " << name << ": error: " << e.what() << " (see lpsim " << name
              << " --help)\n";
    return lpsim::core::kExitBadInput;
  } catch (const std::exception& e) {
    std::cerr << "lpsim: internal error: " << e.what() << "\n";
    return lpsim::core::kExitInternalError;
  }
}

// libsystemc refers to sc_main (its own main() would call it); lpsim has its own main()
// and starts the simulation with sc_start() from the run command, so this is never called.
extern "C" int sc_main(int, char*[]) { return 0; }
