#pragma once
// The `lpsim` subcommands. Each parses its own options (Boost.Program_options), prints its
// result on stdout, and returns an exit code; errors are thrown, and main() maps them:
// 0 success, 2 bad input (core::UserError, a bad option), 1 internal error.

#include <string>
#include <vector>

namespace lpsim::cli {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(const std::vector<std::string>& args);
};

const std::vector<Command>& commands();

int run_graph(const std::vector<std::string>& args);
int run_policies(const std::vector<std::string>& args);
int run_models(const std::vector<std::string>& args);
int run_gemm(const std::vector<std::string>& args);
int run_run(const std::vector<std::string>& args);
int run_schedule(const std::vector<std::string>& args);
int run_check_config(const std::vector<std::string>& args);
int run_sweep(const std::vector<std::string>& args);
int run_import(const std::vector<std::string>& args);
int run_tokens(const std::vector<std::string>& args);

}  // namespace lpsim::cli
