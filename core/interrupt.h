#pragma once
// SIGINT and SIGTERM ask a run to stop at the next minibatch boundary: no new minibatch
// enters the pipeline, the ones in flight finish, and the report says "interrupted". A
// second signal ends the process at once (the default action).

namespace lpsim::core {

void install_interrupt_handlers();
bool interrupt_requested();

}  // namespace lpsim::core
