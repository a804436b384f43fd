// No heap on the in-memory network's I/O paths: open, connect, accept, send, recv, wait, poll and close, with
// rules and a seeded schedule firing and manual time jumping, counted by tests/alloc's counting allocator on the
// calling thread.
#include <array>
#include <string>

#include "counting_allocator.hpp"
#include "fixtures.hpp"

using namespace testing_test;

TEST_CASE("the in-memory network's socket calls allocate nothing, faults and time jumps included",
          "[testing][alloc]") {
  fresh_network fresh;
  auto& net = ut::network();
  ut::poller<8> poller;
  std::array<char, 64> buf{};
  std::error_code listen_ec, connect_ec, accept_ec, send_ec, timeout_ec, poll_ec, eof_ec;
  std::size_t sent = 0, got = 0, after_close = 1, ready = 1;
  const usock_alloc::counts c = usock_alloc::allocations_in([&] {
    ut::socket listener(usock::af_inet, usock::sock_stream, listen_ec);
    listener.bind({"127.0.0.1", 9000}, listen_ec);
    listener.listen(4, listen_ec);
    ut::socket client(usock::af_inet, usock::sock_stream, connect_ec);
    client.settimeout(1s, connect_ec);
    client.connect({"127.0.0.1", 9000}, connect_ec);
    auto [conn, peer] = listener.accept(accept_ec);
    net.add(ut::rule::short_send(2));
    net.add(ut::rule::interrupt(ut::op::wait).times(2));
    net.randomize(ut::chaos{7, 200, 200, 100, 100});
    sent = client.sendall("hello, world", send_ec);
    got = conn.readinto(std::span(buf).first(12), send_ec);
    conn.settimeout(500ms, timeout_ec);
    conn.recv(buf, timeout_ec);  // nothing comes: time jumps to the deadline
    poller.add(conn, usock::pollin, poll_ec);
    ready = poller.poll(100ms, poll_ec).size();
    client.close(eof_ec);
    after_close = conn.recv(buf, eof_ec);
    poller.remove(conn, poll_ec);
  });
  INFO("operator new calls: " << c.news << ", malloc-family calls: " << c.mallocs);
  CHECK(c.total() == 0);
  CHECK_FALSE(listen_ec);
  CHECK_FALSE(connect_ec);
  CHECK_FALSE(accept_ec);
  CHECK_FALSE(send_ec);
  CHECK(sent == 12);
  CHECK(got == 12);
  CHECK(std::string_view(buf.data(), 12) == "hello, world");
  CHECK(timeout_ec == std::errc::timed_out);
  CHECK_FALSE(poll_ec);
  CHECK(ready == 0);
  CHECK_FALSE(eof_ec);
  CHECK(after_close == 0);
  CHECK(net.now() == 600ms);
  CHECK(net.stats().faults >= 3);  // the rules fired (and whatever the schedule drew)
}

TEST_CASE("the allocation counter sees an allocation on this thread", "[testing][alloc]") {
  std::string s;
  const usock_alloc::counts c = usock_alloc::allocations_in([&] { s.assign(1000, 'x'); });
  CHECK(c.total() >= 1);
}
