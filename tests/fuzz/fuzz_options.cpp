// libFuzzer target: settimeout/gettimeout/setblocking sequences with durations of any value and unit, and
// setsockopt/getsockopt on every level/option pair, over the scripted backend (whose set_nonblocking and
// setsockopt fail where the input says). The checks are check_options in tests/scripted/models.hpp.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "models.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  usock_test::model::byte_choices choices{data, size};
  const std::string problem = usock_test::model::check_options(choices);
  if (!problem.empty()) {
    std::fprintf(stderr, "fuzz_options: %s\n", problem.c_str());
    std::abort();
  }
  return 0;
}
