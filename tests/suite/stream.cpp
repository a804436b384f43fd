// MicroPython's stream methods: read(), read(n), readinto, readline, write; and newline framing over a stream
// that splits and joins messages at will.
#include <array>
#include <string>
#include <vector>

#include "suite.hpp"

using namespace usock_test;

TEST_CASE("read() reads until the peer closes", "[stream]") {
  auto [client, server] = connected_pair();
  const std::string payload = pattern(300000);
  background writer([&] {
    client.sendall(payload);
    client.close();
  });
  CHECK(server.read() == payload);
  CHECK(server.read().empty());  // at EOF read() returns nothing, again and again
}

TEST_CASE("read(n) waits for n bytes that arrive in pieces, and stops short at EOF", "[stream]") {
  auto [client, server] = connected_pair();
  background writer([&] {
    for (const char* piece : {"ab", "cde", "f", "ghij"}) client.sendall(piece);
    client.close();
  });
  CHECK(server.read(4) == "abcd");
  CHECK(server.read(3) == "efg");
  CHECK(server.read(10) == "hij");
  CHECK(server.read(10).empty());
}

TEST_CASE("readinto fills the whole buffer or stops at EOF", "[stream]") {
  auto [client, server] = connected_pair();
  client.sendall("0123456789");
  client.close();
  std::array<char, 4> four;
  CHECK(server.readinto(four) == 4);
  CHECK(std::string_view(four.data(), 4) == "0123");
  std::vector<char> big(100);
  CHECK(server.readinto(big) == 6);
  CHECK(std::string_view(big.data(), 6) == "456789");
  CHECK(server.readinto(four) == 0);
}

TEST_CASE("readline returns each line with its newline, and the last one without", "[stream]") {
  auto [client, server] = connected_pair();
  client.sendall("one\ntwo\n\nthree");
  client.close();
  CHECK(server.readline() == "one\n");
  CHECK(server.readline() == "two\n");
  CHECK(server.readline() == "\n");
  CHECK(server.readline() == "three");
  CHECK(server.readline().empty());
}

TEST_CASE("bytes read ahead by readline come back from recv, read and readinto first", "[stream]") {
  auto [client, server] = connected_pair();
  client.sendall("header\nbody-bytes");
  client.close();
  CHECK(server.readline() == "header\n");
  std::array<char, 4> buf;
  REQUIRE(server.recv(buf) == 4);
  CHECK(std::string_view(buf.data(), 4) == "body");
  CHECK(server.read(1) == "-");
  CHECK(server.read() == "bytes");
}

TEST_CASE("write sends everything on a blocking socket and returns the count", "[stream]") {
  auto [client, server] = connected_pair();
  const std::string payload = pattern(2 << 20);
  std::string received;
  background reader([&] { received = server.read(); });
  CHECK(client.write(payload) == payload.size());
  client.close();
  reader.join();
  CHECK(received == payload);
}

TEST_CASE("newline framing recovers messages however the stream splits or joins them", "[stream]") {
  // The seed's pitfall: recv is not message-shaped. Send 2,000 lines cut at awkward places: byte by byte, joined
  // in pairs, and split across sends. readline must return exactly the lines that were sent.
  auto [client, server] = connected_pair();
  std::vector<std::string> lines;
  std::string stream;
  for (int i = 0; i < 2000; ++i) {
    lines.push_back("message " + std::to_string(i) + " " + std::string(static_cast<std::size_t>(i % 37), 'x') + "\n");
    stream += lines.back();
  }
  background writer([&] {
    std::size_t at = 0, cut = 1;
    while (at < stream.size()) {
      const std::size_t n = std::min(cut, stream.size() - at);
      client.sendall(std::string_view(stream).substr(at, n));
      at += n;
      cut = cut % 97 + 1;  // 1, 2, ..., 97, 1, ... bytes per send
    }
    client.close();
  });
  for (const std::string& expected : lines) REQUIRE(server.readline() == expected);
  CHECK(server.readline().empty());
}

TEST_CASE("readline handles lines longer than its read-ahead block", "[stream]") {
  auto [client, server] = connected_pair();
  const std::string line = std::string(60000, 'L') + "\n";  // over 7 blocks, under the line limit
  background writer([&] {
    client.sendall(line);
    client.sendall("tail");
    client.close();
  });
  CHECK(server.readline() == line);
  CHECK(server.readline() == "tail");
}

TEST_CASE("readline into a string reuses it, as std::getline", "[stream]") {
  auto [client, server] = connected_pair();
  client.sendall("first line\nsecond\nend");
  client.close();
  std::string line;
  CHECK(server.readline(line) == 11);
  CHECK(line == "first line\n");
  const auto capacity = line.capacity();
  const char* storage = line.data();
  CHECK(server.readline(line) == 7);
  CHECK(line == "second\n");
  CHECK(line.capacity() == capacity);  // a shorter line fits the same storage
  CHECK(line.data() == storage);
  CHECK(server.readline(line) == 3);
  CHECK(line == "end");
  CHECK(server.readline(line) == 0);
  CHECK(line.empty());
}

TEST_CASE("readline stops at its line limit with message_size and loses nothing", "[stream][errors]") {
  auto [client, server] = connected_pair();
  std::string long_line;
  for (int i = 0; i < 100; ++i) long_line += static_cast<char>('a' + i % 26);
  long_line += '\n';
  client.sendall(long_line);
  client.sendall("short\n");

  // error_code form: the first `limit` bytes come back with the error, the rest stays in the socket.
  std::string line;
  usock::error_code ec;
  CHECK(server.readline(line, 40, ec) == 40);
  CHECK(ec == std::errc::message_size);
  CHECK(line == long_line.substr(0, 40));
  CHECK(server.readline(line, 200, ec) == 61);
  CHECK(!ec);
  CHECK(line == long_line.substr(40));

  // A line of exactly `limit` bytes, its newline included, is within the limit.
  CHECK(server.readline(line, 6, ec) == 6);
  CHECK(!ec);
  CHECK(line == "short\n");

  // Throwing form: the bytes are put back, so the next read returns the whole line.
  client.sendall(long_line);
  try {
    server.readline(line, 50);
    FAIL("readline past its limit did not throw");
  } catch (const usock::error& e) {
    CHECK(e.code() == std::errc::message_size);
  }
  CHECK(server.readline() == long_line);

  CHECK(error_of([&](auto& code) { server.readline(line, 0, code); }) == std::errc::invalid_argument);
}

TEST_CASE("readline's default limit ends a line that never ends", "[stream][errors]") {
  auto [client, server] = connected_pair();
  const std::string endless(usock::default_line_limit + 1000, 'x');
  background writer([&] { client.sendall(endless); });
  usock::error_code ec;
  const std::string line = server.readline(ec);
  CHECK(ec == std::errc::message_size);
  CHECK(line.size() == usock::default_line_limit);
  writer.join();
  std::string rest(1000, '\0');
  CHECK(server.readinto(rest) == 1000);
  CHECK(rest == std::string(1000, 'x'));
}
