#pragma once
// lpsim's exit codes (README "Commands"). sim/main.cpp chooses them; `lpsim sweep` reads its
// points' codes to tell a point refused for memory from one that failed.

namespace lpsim::core {

inline constexpr int kExitOk = 0;
inline constexpr int kExitInternalError = 1;  // a bug
inline constexpr int kExitBadInput = 2;       // the input is wrong: nothing was written
inline constexpr int kExitInterrupted = 3;    // SIGINT/SIGTERM: drained, report "interrupted"
// The run's memory estimate exceeds the memory available as it starts (run::NotEnoughMemory):
// nothing was written, and the same command can run once less is running beside it.
inline constexpr int kExitNotEnoughMemory = 4;

}  // namespace lpsim::core
