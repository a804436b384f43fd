#pragma once
// What the in-memory backend's own tests share: a fresh network (manual time, no sockets, no rules) and a
// connected pair on it.
#include <cstddef>
#include <string>

#include <usock/testing.hpp>

#include "catch.hpp"

namespace testing_test {

namespace ut = usock::testing;
using namespace std::chrono_literals;

/// Resets the network before anything else in a fixture is made.
struct fresh_network {
  fresh_network() { ut::network().reset(); }
};

/// A listener on 127.0.0.1 and one connection to it, both ends open.
struct connected_pair : fresh_network {
  ut::network_type& net = ut::network();
  ut::socket listener;
  usock::address addr;
  ut::socket client;
  ut::socket server = ut::socket::adopt(ut::backend::invalid_handle);

  connected_pair() {
    listener.bind({"127.0.0.1", 0});
    listener.listen(4);
    addr = listener.getsockname();
    client.connect(addr);
    server = std::move(listener.accept().conn);
  }
};

/// A byte pattern whose every offset is checkable.
inline std::string pattern(std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>((i * 7 + i / 251) & 0xff);
  return s;
}

}  // namespace testing_test
