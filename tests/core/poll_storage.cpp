// The readiness sets' storage: the handle map (open addressing, backward-shift removal) against std::map under a
// seeded random mix of insertions and removals, fixed and growing; a fixed map reports full, never overwrites.
#include <cstdint>
#include <map>
#include <random>

#include <usock/detail/poll_storage.hpp>

#include "catch.hpp"

namespace {
struct value {
  std::uint32_t tag;
};

/// Applies `steps` random operations on handles [0, range) to `map` and to a std::map, checking after each
/// that every handle is found exactly when the reference has it, with the same value.
template <class Map>
void agree_with_reference(Map& map, std::size_t capacity, int range, int steps, std::uint32_t seed) {
  std::mt19937 random(seed);
  std::map<int, std::uint32_t> reference;
  std::error_code ec;
  for (int step = 0; step < steps; ++step) {
    const int h = static_cast<int>(random() % static_cast<unsigned>(range));
    if (reference.count(h)) {
      if (random() % 2) {
        map.erase(h);
        reference.erase(h);
      } else {
        value* v = map.find(h);
        REQUIRE(v != nullptr);
        REQUIRE(v->tag == reference[h]);
      }
    } else if (reference.size() < capacity) {
      value* v = map.insert(h, ec);
      REQUIRE(!ec);
      REQUIRE(v != nullptr);
      v->tag = static_cast<std::uint32_t>(step);
      reference[h] = v->tag;
    }
    REQUIRE(map.size() == reference.size());
    if (step % 4999 == 0) {
      for (int k = 0; k < range; ++k) {
        value* v = map.find(k);
        REQUIRE((v != nullptr) == (reference.count(k) == 1));
        if (v) REQUIRE(v->tag == reference[k]);
      }
    }
  }
}
}  // namespace

TEST_CASE("poll storage: a fixed handle map agrees with std::map and reports full", "[core][poll]") {
  usock::detail::handle_map<int, -1, value, 100> map;
  agree_with_reference(map, 100, 300, 20000, 1);
  while (map.size() < 100) {
    std::error_code ec;
    for (int h = 1000; map.size() < 100; ++h)
      if (!map.find(h)) map.insert(h, ec);
  }
  std::error_code ec;
  CHECK(map.insert(5000, ec) == nullptr);
  CHECK(ec == std::errc::no_buffer_space);
  CHECK(map.size() == 100);
}

TEST_CASE("poll storage: a growing handle map agrees with std::map across growth", "[core][poll]") {
  usock::detail::handle_map<int, -1, value, usock::dynamic_capacity> map;
  agree_with_reference(map, 70000, 100000, 300000, 2);
  // Dense handles, as descriptors are: 70,000 of them, all found.
  usock::detail::handle_map<int, -1, value, usock::dynamic_capacity> dense;
  std::error_code ec;
  for (int h = 0; h < 70000; ++h) REQUIRE(dense.insert(h, ec) != nullptr);
  for (int h = 0; h < 70000; ++h) REQUIRE(dense.find(h) != nullptr);
  CHECK(dense.size() == 70000);
  CHECK(dense.find(70000) == nullptr);
  for (int h = 0; h < 70000; h += 2) dense.erase(h);
  for (int h = 0; h < 70000; ++h) REQUIRE((dense.find(h) != nullptr) == (h % 2 == 1));
}
