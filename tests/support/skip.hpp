#pragma once
// Skipping a case for a missing capability of the machine or an option the stack was built without.
// Catch2 v2 has no SKIP, so a skipped case prints its reason and the test program exits with
// usock_test::skip_exit_code, which CTest reports as "Skipped" (SKIP_RETURN_CODE).
#include <cstdio>
#include <string>

namespace usock_test {

inline constexpr int skip_exit_code = 77;

inline std::string& skip_reason() {
  static std::string reason;
  return reason;
}

/// Marks the running case skipped and prints why; the case must return right after.
inline void skip(const std::string& why) {
  skip_reason() = why;
  std::fprintf(stderr, "SKIPPED: %s\n", why.c_str());
}

}  // namespace usock_test

/// Skips the current case with a reason: `USOCK_SKIP("no IPv6 on this machine");`
#define USOCK_SKIP(why)          \
  do {                           \
    ::usock_test::skip(why);     \
    return;                      \
  } while (false)
