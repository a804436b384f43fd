// Every fault rule of the in-memory network, each shown to fire where it should, count itself, and leave the
// stream intact where the fault is one a stack may produce without losing data.
#include <array>
#include <vector>

#include "fixtures.hpp"

using namespace testing_test;
using ut::op;
using ut::rule;

TEST_CASE("short_send: matching sends take at most n bytes, and the stream stays whole", "[testing][faults]") {
  connected_pair p;
  const int r = p.net.add(rule::short_send(4).on(p.client.fileno()).times(2));
  CHECK(p.client.send("0123456789") == 4);
  CHECK(p.client.send("456789") == 4);
  CHECK(p.client.send("89") == 2);  // the rule has fired twice: sends are whole again
  CHECK(p.net.fired(r) == 2);
  CHECK(p.server.read(10) == "0123456789");
  CHECK(p.server.send("server side untouched") == 21);  // on(handle): only the client's sends
}

TEST_CASE("short_recv: matching recvs hand out at most n bytes", "[testing][faults]") {
  connected_pair p;
  p.client.sendall("abcdef");
  const int r = p.net.add(rule::short_recv(2).on(p.server.fileno()).always());
  std::array<char, 6> buf{};
  CHECK(p.server.readinto(buf) == 6);
  CHECK(std::string_view(buf.data(), 6) == "abcdef");
  CHECK(p.net.fired(r) == 3);
  CHECK(p.net.info(p.server.fileno()).recvs == 3);
}

TEST_CASE("after(k) lets k calls through, times(n) stops after n", "[testing][faults]") {
  connected_pair p;
  const int r = p.net.add(rule::short_send(1).after(2).times(1));
  CHECK(p.client.send("aa") == 2);
  CHECK(p.client.send("bb") == 2);
  CHECK(p.client.send("cc") == 1);
  CHECK(p.client.send("dd") == 2);
  CHECK(p.net.fired(r) == 1);
}

TEST_CASE("interrupt on send and recv: the stack retries, nothing is lost, the faults are counted",
          "[testing][faults]") {
  connected_pair p;
  const int r = p.net.add(rule::interrupt(op::send | op::recv).times(2));
  CHECK(p.client.send("abc") == 3);
  CHECK(p.server.read(3) == "abc");
  CHECK(p.net.fired(r) == 2);
  CHECK(p.net.stats().faults == 2);
  REQUIRE(p.net.fault_log().size() == 2);
  CHECK(p.net.fault_log()[0].call == op::send);
  CHECK(p.net.fault_log()[1].call == op::recv);
  CHECK(p.net.fault_log()[1].kind == ut::fault::interrupt);
}

TEST_CASE("interrupt on wait: the socket waits again for the time left, and the deadline holds exactly",
          "[testing][faults][clock]") {
  connected_pair p;
  p.server.settimeout(1s);
  const int r = p.net.add(rule::interrupt(op::wait).times(3));
  std::array<char, 4> buf;
  std::error_code ec;
  p.server.recv(buf, ec);
  CHECK(ec == std::errc::timed_out);
  CHECK(p.net.fired(r) == 3);
  CHECK(p.net.stats().waits == 4);  // three woken early with nothing ready, then the one that ran out
  CHECK(p.net.now() == 1s);         // not later (a restarted timeout) and not sooner (an early wake taken as done)
}

TEST_CASE("interrupt on poll: the poller waits again for the time left", "[testing][faults][poll]") {
  connected_pair p;
  ut::poller<4> poller;
  poller.add(p.server, usock::pollin);
  const int r = p.net.add(rule::interrupt(op::wait).times(2));
  CHECK(poller.poll(500ms).empty());
  CHECK(p.net.fired(r) == 2);
  CHECK(p.net.stats().polls >= 3);  // each early wake polled again
  CHECK(p.net.now() == 500ms);
}

TEST_CASE("would_block: a non-blocking call is told to try again, a socket with a timeout rides over it, a "
          "blocking one never sees it", "[testing][faults]") {
  connected_pair p;
  p.client.sendall("abc");
  const int r = p.net.add(rule::would_block(op::recv).on(p.server.fileno()).times(2));
  std::array<char, 1> buf;
  p.server.recv(buf);  // blocking: the rule does not apply
  CHECK(p.net.fired(r) == 0);
  p.server.setblocking(false);
  std::error_code ec;
  p.server.recv(buf, ec);
  CHECK(ec == std::errc::resource_unavailable_try_again);
  CHECK(p.net.fired(r) == 1);
  p.server.settimeout(1s);
  CHECK(p.server.read(2) == "bc");  // tried again after a wait that was ready at once
  CHECK(p.net.fired(r) == 2);
  CHECK(p.net.now() == 0ns);
}

TEST_CASE("fail: a call reports the chosen error, and no_buffers is send's no_buffer_space",
          "[testing][faults]") {
  connected_pair p;
  p.net.add(rule::fail(op::recv, std::errc::io_error));
  p.net.add(rule::no_buffers());
  std::error_code ec;
  CHECK(p.client.sendall("x", ec) == 0);
  CHECK(ec == std::errc::no_buffer_space);
  p.client.sendall("y");
  std::array<char, 1> buf;
  p.server.recv(buf, ec);
  CHECK(ec == std::errc::io_error);
  CHECK(p.server.recv(1) == "y");
}

TEST_CASE("no_sockets: open and accept report too_many_files_open until the rule is gone", "[testing][faults]") {
  connected_pair p;
  ut::socket second_client;
  second_client.connect(p.addr);  // waits in the listener's queue
  p.net.add(rule::no_sockets().always());
  std::error_code ec;
  ut::socket refused(usock::af_inet, usock::sock_stream, ec);
  CHECK(ec == std::errc::too_many_files_open);
  CHECK_FALSE(refused.is_open());
  p.listener.accept(ec);
  CHECK(ec == std::errc::too_many_files_open);
  p.net.clear_rules();
  auto [conn, peer] = p.listener.accept();  // the queued connection was kept
  CHECK(peer == second_client.getsockname());
}

TEST_CASE("the socket table runs out: open reports too_many_files_open, and a connect waits for room",
          "[testing][faults]") {
  connected_pair p;
  std::vector<ut::socket> fillers;
  std::error_code ec;
  for (std::size_t i = 0; i < ut::network_type::socket_capacity && !ec; ++i) {
    ut::socket s(usock::af_inet, usock::sock_stream, ec);
    if (!ec) fillers.push_back(std::move(s));
  }
  CHECK(ec == std::errc::too_many_files_open);
  CHECK(fillers.size() == ut::network_type::socket_capacity - 3);  // the pair holds three
  // The table has no slot for the server's end of a new connection: the client's SYN goes unanswered.
  fillers.back().settimeout(1s);
  fillers.back().connect(p.addr, ec);
  CHECK(ec == std::errc::timed_out);
  CHECK(p.net.now() == 1s);
  fillers.front().close();  // room again: the pending connection completes in the background
  auto [conn, peer] = p.listener.accept();
  CHECK(peer == fillers.back().getsockname());
}

TEST_CASE("reset_after: the peer reads the first n bytes, then connection_reset, and the sender is told too",
          "[testing][faults]") {
  connected_pair p;
  const int r = p.net.add(rule::reset_after(1000).toward(p.addr.port()));
  const std::string payload = pattern(2000);
  std::error_code ec;
  CHECK(p.client.sendall(payload, ec) == 1000);
  CHECK(ec == std::errc::connection_reset);
  CHECK(p.server.read(ec) == payload.substr(0, 1000));
  CHECK(ec == std::errc::connection_reset);
  CHECK(p.net.fired(r) == 1);
  CHECK(p.net.fault_log().back().size == 1000);
}

TEST_CASE("half_close_after: the peer reads n bytes then EOF, and can still send back", "[testing][faults]") {
  connected_pair p;
  p.net.add(rule::half_close_after(5).at(p.addr.port()));  // the server's end
  std::error_code ec;
  CHECK(p.server.sendall("hello world", ec) == 5);
  CHECK(ec == std::errc::broken_pipe);
  CHECK(p.client.read() == "hello");  // then EOF
  p.client.sendall("still here");
  CHECK(p.server.read(10) == "still here");
}

TEST_CASE("refuse_connect: refused although someone listens, once", "[testing][faults]") {
  connected_pair p;
  p.net.add(rule::refuse_connect().toward(p.addr.port()));
  ut::socket a, b;
  std::error_code ec;
  a.connect(p.addr, ec);
  CHECK(ec == std::errc::connection_refused);
  b.connect(p.addr, ec);
  CHECK_FALSE(ec);
}

TEST_CASE("drop_connect: a connect nobody answers times out at the socket's deadline, or after 75 s",
          "[testing][faults][clock]") {
  connected_pair p;
  p.net.add(rule::drop_connect().toward(p.addr.port()).always());
  ut::socket timed, blocking;
  timed.settimeout(2s);
  std::error_code ec;
  timed.connect(p.addr, ec);
  CHECK(ec == std::errc::timed_out);
  CHECK(p.net.now() == 2s);
  blocking.connect(p.addr, ec);
  CHECK(ec == std::errc::timed_out);
  CHECK(p.net.now() == 77s);
}

TEST_CASE("a full rule table is reported, not overwritten", "[testing][faults]") {
  fresh_network fresh;
  auto& net = ut::network();
  for (std::size_t i = 0; i < ut::network_type::rule_capacity; ++i) CHECK(net.add(rule::no_buffers()) == int(i));
  CHECK(net.add(rule::no_buffers()) == -1);
}
