#pragma once
// The test environment of programs that need no network stack (basic_socket on a scripted backend): nothing to
// start or check.
namespace usock_test {

struct environment {
  bool leak_free() const { return true; }
};

}  // namespace usock_test
