// Catch2's implementation, compiled once into usock_catch_runner and linked into every test program (with
// Debian's single-header Catch2 it is the costliest file of the tests to compile); each program's main() is
// its own (tests/support/main.cpp, or the program's), and reaches Catch2's session through catch_runner.hpp.
#define CATCH_CONFIG_RUNNER
#include "catch.hpp"
#include "catch_runner.hpp"

namespace usock_test {
namespace {
Catch::Session& session() {
  static Catch::Session s;
  return s;
}
}  // namespace

int catch_apply_command_line(int argc, char** argv) { return session().applyCommandLine(argc, argv); }
int catch_run() { return session().run(); }

}  // namespace usock_test
