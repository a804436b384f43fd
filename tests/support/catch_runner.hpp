#pragma once
// Catch2's session, behind two functions: Catch2's implementation (and with Debian's single-header Catch2, the
// Session class) is compiled once, in catch_runner.cpp (usock_catch_runner), for every test program.
namespace usock_test {

/// Reads Catch2's command line: 0, or the exit status of a usage error (or of --help).
int catch_apply_command_line(int argc, char** argv);
/// Runs the selected cases; returns how many failed (at most 255).
int catch_run();

}  // namespace usock_test
