// basic_socket over the scripted backend with randomized but seeded scripts: thousands of worlds of short
// counts, EAGAIN, ECONNRESET, ENOMEM, EOF and early wake-ups, each checked by the models in models.hpp.
// A failure prints its seed; rerun one world with USOCK_SEED=<seed> USOCK_ITERATIONS=1.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "catch.hpp"
#include "models.hpp"

namespace {

std::uint32_t env_or(const char* name, std::uint32_t fallback) {
  const char* v = std::getenv(name);
  return v ? static_cast<std::uint32_t>(std::strtoul(v, nullptr, 10)) : fallback;
}

/// Runs `check` on `iterations` seeded worlds (USOCK_SEED and USOCK_ITERATIONS override the defaults) and
/// stops at the first failure, reporting its seed.
template <class Check>
void for_each_seed(std::uint32_t first_seed, std::uint32_t iterations, Check check) {
  const std::uint32_t base = env_or("USOCK_SEED", first_seed);
  const std::uint32_t count = env_or("USOCK_ITERATIONS", iterations);
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::uint32_t seed = base + i;
    usock_test::model::random_choices choices(seed);
    const std::string problem = check(choices);
    if (!problem.empty()) {
      INFO("seed " << seed << " (rerun: USOCK_SEED=" << seed << " USOCK_ITERATIONS=1): " << problem);
      FAIL();
    }
  }
  SUCCEED(count << " worlds from seed " << base);
}

}  // namespace

TEST_CASE("reads never lose, duplicate or reorder a byte, and report what they read", "[scripted]") {
  for_each_seed(1000, 4000, [](auto& c) { return usock_test::model::check_reads(c); });
}

TEST_CASE("sends never lose, duplicate or reorder a byte, and report what they sent", "[scripted]") {
  for_each_seed(2000000, 4000, [](auto& c) { return usock_test::model::check_sends(c); });
}

TEST_CASE("timeouts, blocking mode and options stay consistent through any sequence", "[scripted]") {
  for_each_seed(3000000, 4000, [](auto& c) { return usock_test::model::check_options(c); });
}
