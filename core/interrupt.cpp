#include "core/interrupt.h"

#include <csignal>

namespace lpsim::core {
namespace {

volatile std::sig_atomic_t g_requested = 0;

void on_signal(int signal) {
  g_requested = 1;
  std::signal(signal, SIG_DFL);  // a second signal ends the process
}

}  // namespace

void install_interrupt_handlers() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

bool interrupt_requested() { return g_requested != 0; }

}  // namespace lpsim::core
