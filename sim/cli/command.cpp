#include "sim/cli/command.h"

namespace lpsim::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"run", "train on simulated pipelined hardware and write a report", run_run},
      {"schedule", "LayerPipe task splits scheduled on 1..P processors", run_schedule},
      {"sweep", "run a grid of configs, one process per point, N at a time", run_sweep},
      {"check-config", "validate a config and everything it names, without running",
       run_check_config},
      {"graph", "print the retimed training dataflow graph (JSON or DOT)", run_graph},
      {"models", "list the built-in models with parameter counts", run_models},
      {"import", "import an ONNX model and its weights as a network file and checkpoint",
       run_import},
      {"tokens", "cut text files into a tokens data set (train.npy, test.npy) for a context",
       run_tokens},
      {"policies", "list the weight-version policies and their hardware work", run_policies},
      {"gemm", "cycles of one GEMM on the PE array (SCALE-Sim v2 compute model)", run_gemm},
  };
  return table;
}

}  // namespace lpsim::cli
