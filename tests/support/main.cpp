// The shared test suite's main: starts the backend's environment (an lwIP stack, say), runs Catch2, and fails
// the run if the process holds a different number of descriptors afterwards than before. Catch2's implementation
// is usock_catch_runner's (catch_runner.cpp).
#include "catch_runner.hpp"

#include <cstdio>
#include <filesystem>
#include <string_view>

#include "backend_under_test.hpp"
#include "skip.hpp"

namespace {
std::size_t open_descriptors() {
  std::size_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec))
    ++n;
  return n;
}
}  // namespace

int main(int argc, char** argv) {
  if (int rc = usock_test::catch_apply_command_line(argc, argv); rc != 0) return rc;
  int failed = 0;
  {
    usock_test::environment env;
    const std::size_t before = open_descriptors();
    failed = usock_test::catch_run();
    const std::size_t after = open_descriptors();
    if (after != before) {
      std::fprintf(stderr, "descriptor leak: %zu open before the tests, %zu after\n", before, after);
      return 1;
    }
    if (failed == 0 && !env.leak_free()) return 1;
  }
  if (failed == 0 && !usock_test::skip_reason().empty()) return usock_test::skip_exit_code;
  return failed;
}
