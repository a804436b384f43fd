// basic_socket over the scripted backend, one named situation per case: each shows, with exact counts and
// exact times, what a call reports when the stack misbehaves at one chosen point.
#include <array>
#include <string>

#include "catch.hpp"
#include "models.hpp"

using namespace usock_test;
using namespace usock_test::model;
using std::errc;

namespace {
scripted::state& fresh_world() {
  scripted::reset();
  return scripted::world();
}
}  // namespace

TEST_CASE("sendall's error_code form returns the bytes sent before a reset", "[scripted]") {
  auto& w = fresh_world();
  w.queue(call::send, {action::short_count(3), action::short_count(4), action::fail(errc::connection_reset)});
  socket_t s;
  std::error_code ec;
  CHECK(s.sendall("0123456789", ec) == 7);
  CHECK(ec == errc::connection_reset);
  CHECK(w.outbound == "0123456");
}

TEST_CASE("sendall with a deadline rides out early wake-ups and short sends without repeating a byte", "[scripted]") {
  auto& w = fresh_world();
  w.queue(call::send, {action::short_count(2), action::fail(errc::resource_unavailable_try_again),
                       action::short_count(2), action::fail(errc::resource_unavailable_try_again)});
  w.queue(call::wait, {action::spurious(ms(10)), action::ready(ms(5)), action::spurious(ms(1)), action::ready(ms(1))});
  socket_t s;
  s.settimeout(ms(100));
  std::error_code ec;
  CHECK(s.sendall("abcdefgh", ec) == 8);
  CHECK_FALSE(ec);
  CHECK(w.outbound == "abcdefgh");
  CHECK(w.now.time_since_epoch() == ms(17));
  // Each wait was given only what was left of the one deadline.
  CHECK(w.wait_timeouts == std::vector<int>{100, 90, 85, 84});
}

TEST_CASE("a non-blocking write returns what it could send, and try-again only when it sent nothing", "[scripted]") {
  auto& w = fresh_world();
  socket_t s;
  s.setblocking(false);
  w.queue(call::send, {action::short_count(5), action::fail(errc::resource_unavailable_try_again)});
  std::error_code ec;
  CHECK(s.write("0123456789", ec) == 5);
  CHECK_FALSE(ec);
  w.queue(call::send, action::fail(errc::resource_unavailable_try_again));
  CHECK(s.write("56789", ec) == 0);
  CHECK(ec == errc::resource_unavailable_try_again);
  CHECK(w.outbound == "01234");
}

TEST_CASE("readline's error_code form returns the partial line, and the throwing form puts it back", "[scripted]") {
  auto& w = fresh_world();
  w.inbound = "hello world\nnext line\n";
  w.queue(call::recv, {action::short_count(5), action::fail(errc::resource_unavailable_try_again),
                       action::short_count(7)});
  socket_t s;
  s.setblocking(false);
  std::error_code ec;
  CHECK(s.readline(ec) == "hello");
  CHECK(ec == errc::resource_unavailable_try_again);
  CHECK(s.readline(ec) == " world\n");
  CHECK_FALSE(ec);

  w.queue(call::recv, {action::short_count(2), action::fail(errc::resource_unavailable_try_again)});
  CHECK_THROWS_AS(s.readline(), usock::error);  // only "ne" had come, and no newline
  CHECK(s.readline() == "next line\n");          // the two bytes the throw put back, then the rest
}

TEST_CASE("read(n) with a deadline returns the bytes it had when the time ran out", "[scripted]") {
  auto& w = fresh_world();
  w.inbound = "abc";
  w.peer_closed = false;
  w.default_wait = ms(30);
  socket_t s;
  s.settimeout(ms(100));
  std::error_code ec;
  CHECK(s.read(10, ec) == "abc");
  CHECK(ec == errc::timed_out);
  CHECK(w.now.time_since_epoch() == ms(100));  // exactly the deadline: waits of 30, 30, 30, then the last 10
  CHECK(w.wait_timeouts == std::vector<int>{100, 70, 40, 10});
}

TEST_CASE("read() that throws puts everything back: nothing is lost to the exception", "[scripted]") {
  auto& w = fresh_world();
  w.inbound = std::string(10000, 'x') + "tail";
  w.queue(call::recv, {action::short_count(4000), action::short_count(4000), action::fail(errc::not_enough_memory)});
  socket_t s;
  CHECK_THROWS_AS(s.read(), usock::error);
  CHECK(s.read() == w.inbound);
}

TEST_CASE("a reset peer's data comes first, then connection_reset", "[scripted]") {
  auto& w = fresh_world();
  w.inbound = "last words";
  w.queue(call::recv, {action::short_count(4), action::pass(), action::fail(errc::connection_reset)});
  socket_t s;
  std::array<char, 32> buf{};
  std::error_code ec;
  CHECK(s.readinto(buf, ec) == 10);
  CHECK(ec == errc::connection_reset);
  CHECK(std::string_view(buf.data(), 10) == "last words");
}

TEST_CASE("EOF in the middle of a line ends readline without an error, and stays", "[scripted]") {
  auto& w = fresh_world();
  w.inbound = "partial line that never ends";
  w.queue(call::recv, {action::short_count(7), action::eof()});
  socket_t s;
  std::error_code ec;
  CHECK(s.readline(ec) == "partial");
  CHECK_FALSE(ec);
  CHECK(s.readline(ec).empty());
  CHECK(s.read(5, ec).empty());
  CHECK_FALSE(ec);
}

TEST_CASE("with no timeout nothing waits or switches modes, and ENOMEM from the stack is passed up", "[scripted]") {
  auto& w = fresh_world();
  w.inbound = "data";
  w.queue(call::recv, action::fail(errc::not_enough_memory));
  socket_t s;
  std::error_code ec;
  CHECK(s.read(4, ec).empty());
  CHECK(ec == errc::not_enough_memory);
  CHECK(s.read(4, ec) == "data");
  CHECK(w.count(call::wait) == 0);
  CHECK(w.count(call::set_nonblocking) == 0);
}

TEST_CASE("a socket that cannot be opened is closed and says why", "[scripted]") {
  auto& w = fresh_world();
  w.queue(call::open, action::fail(errc::too_many_files_open));
  std::error_code ec;
  socket_t s(usock::af_inet, usock::sock_stream, ec);
  CHECK(ec == errc::too_many_files_open);
  CHECK_FALSE(s.is_open());
  std::array<char, 4> buf;
  s.recv(buf, ec);
  CHECK(ec == errc::bad_file_descriptor);
}
