#pragma once
// What the connection-limit cases of both lwIP backends share: connections made through a listener, and a
// one-byte echo on each that checks every byte arrives where it was sent.
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "suite.hpp"

namespace usock_test {

/// Both ends of one connection, with 5 s timeouts.
struct pair {
  socket_t client;
  socket_t server;
};

/// A new connection to `l`, accepted.
inline pair connect_through(listener& l) {
  socket_t client(usock::af_inet, usock::sock_stream);
  client.settimeout(std::chrono::seconds(5));
  client.connect(l.addr);
  l.sock.settimeout(std::chrono::seconds(5));
  auto [server, peer] = l.sock.accept();
  server.settimeout(std::chrono::seconds(5));
  return {std::move(client), std::move(server)};
}

/// Sends one byte each way on every connection, `round` telling the bytes apart, and checks each arrives.
inline void echo_all(std::vector<pair>& pairs, std::size_t round) {
  auto byte = [round](std::size_t i) { return std::string(1, pattern_byte(i + round)); };
  for (std::size_t i = 0; i < pairs.size(); ++i) pairs[i].client.sendall(byte(i));
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    REQUIRE(pairs[i].server.read(1) == byte(i));
    pairs[i].server.sendall(byte(i));
  }
  for (std::size_t i = 0; i < pairs.size(); ++i) REQUIRE(pairs[i].client.read(1) == byte(i));
}

}  // namespace usock_test
