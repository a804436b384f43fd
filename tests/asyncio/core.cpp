// The loop's own tests: what MicroPython's suite does not cover (the error-code forms, deep synchronous chains,
// the frame arena, timers, threads).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "out.hpp"

namespace asyncio = usock::asyncio;
using namespace std::chrono_literals;

namespace {

asyncio::task<int> immediate(int x) { co_return x; }

asyncio::task<long long> long_chain(int n) {
  long long sum = 0;
  std::error_code ec;
  for (int i = 0; i < n; ++i) {
    const int v = co_await immediate(1).result(ec);
    if (ec) co_return -1;
    sum += v;
  }
  co_return sum;
}

}  // namespace

TEST_CASE("a million synchronous completions in a row do not grow the stack") {
  std::error_code ec;
  const long long sum = asyncio::run(long_chain(1'000'000), ec);
  REQUIRE_FALSE(ec);
  CHECK(sum == 1'000'000);
}
