// The shared test suite's main: starts the backend's environment (an lwIP stack, say), runs Catch2, and fails
// the run if the process holds a different number of descriptors afterwards than before.
#define CATCH_CONFIG_RUNNER
#include "catch.hpp"

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
  Catch::Session session;
  if (int rc = session.applyCommandLine(argc, argv); rc != 0) return rc;
  int failed = 0;
  {
    usock_test::environment env;
    const std::size_t before = open_descriptors();
    failed = session.run();
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
