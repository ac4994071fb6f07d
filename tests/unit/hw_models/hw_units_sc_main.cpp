// libsystemc defines main(), which calls sc_main(); the tests take main() from
// GoogleTest instead, but the linker still needs an sc_main for libsystemc's reference.
// It is never called.
#include <systemc>

extern "C" int sc_main(int /*argc*/, char* /*argv*/[]) { return 1; }
