// libsystemc (linked through lpsim_sim, which load_config lives in) refers to sc_main; the
// harnesses take main() from libFuzzer and never start a simulation.
extern "C" int sc_main(int, char*[]) { return 1; }
