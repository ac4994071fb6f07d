// libsystemc refers to sc_main; these tests take main() from GoogleTest.
extern "C" int sc_main(int, char*[]) { return 1; }
