// libsystemc (linked through lpsim_config, via lpsim_hw_memory) refers to sc_main; the
// harnesses take main() from libFuzzer and never start a simulation.
extern "C" int sc_main(int, char*[]) { return 1; }
