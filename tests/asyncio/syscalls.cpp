// System calls per ping-pong round trip, counted by a backend that wraps POSIX's: the loop tries a call first
// and waits only when it would block, and skips the try when the last read drained the socket. The peer is a
// blocking socket on a thread of its own (not counted).
#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "out.hpp"

namespace asyncio = usock::asyncio;

namespace {

std::atomic<long> calls{0}, polls{0}, recvs{0}, sends{0}, would_block{0}, registrations{0};
std::atomic<long> opens{0}, nonblocking_opens{0}, mode_changes{0}, connect_results{0}, accepts{0}, empty_accepts{0};

struct counts {
  double per_round = -1;
  long polls = 0, recvs = 0, sends = 0, would_block = 0, registrations = 0;
};

/// POSIX, counting every call the loop's thread makes on the I/O path.
struct counting_posix : usock::posix {
  static std::size_t send(handle_type h, usock::const_bytes d, std::error_code& ec) noexcept {
    ++calls;
    ++sends;
    return usock::posix::send(h, d, ec);
  }
  static handle_type open(usock::address_family f, usock::socket_type t, std::error_code& ec) noexcept {
    ++calls;
    ++opens;
    return usock::posix::open(f, t, ec);
  }
  static handle_type open_nonblocking(usock::address_family f, usock::socket_type t, std::error_code& ec) noexcept {
    ++calls;
    ++nonblocking_opens;
    return usock::posix::open_nonblocking(f, t, ec);
  }
  static void set_nonblocking(handle_type h, bool on, std::error_code& ec) noexcept {
    ++calls;
    ++mode_changes;
    usock::posix::set_nonblocking(h, on, ec);
  }
  static void connect_result(handle_type h, std::error_code& ec) noexcept {
    ++calls;
    ++connect_results;
    usock::posix::connect_result(h, ec);
  }
  static handle_type accept(handle_type h, usock::address& peer, bool nonblocking, std::error_code& ec) noexcept {
    ++calls;
    ++accepts;
    const handle_type conn = usock::posix::accept(h, peer, nonblocking, ec);
    if (ec) ++empty_accepts;
    return conn;
  }
  static std::size_t recv(handle_type h, usock::mutable_bytes b, std::error_code& ec) noexcept {
    ++calls;
    ++recvs;
    const std::size_t n = usock::posix::recv(h, b, ec);
    if (ec) ++would_block;
    return n;
  }
  /// The poller's readiness set (epoll on Linux), its waits and its registration changes counted: each makes
  /// at most one system call.
  template <std::size_t Capacity>
  struct poll_set : usock::posix::poll_set<Capacity> {
    using base = usock::posix::poll_set<Capacity>;
    void add(handle_type h, unsigned events, std::error_code& ec) noexcept {
      ++calls, ++registrations;
      base::add(h, events, ec);
    }
    void modify(handle_type h, unsigned events, std::error_code& ec) noexcept {
      ++calls, ++registrations;
      base::modify(h, events, ec);
    }
    void remove(handle_type h, std::error_code& ec) noexcept {
      ++calls, ++registrations;
      base::remove(h, ec);
    }
    std::span<const usock::poll_ready<handle_type>> wait(int timeout_ms, std::error_code& ec) noexcept {
      ++calls;
      ++polls;
      return base::wait(timeout_ms, ec);
    }
  };
};
static_assert(usock::polling_backend<counting_posix>);

using stream = asyncio::basic_stream<counting_posix>;

asyncio::task<counts> ping_pong(std::uint16_t port, int rounds) {
  std::error_code ec;
  stream s = co_await asyncio::open_connection<counting_posix>("127.0.0.1", port, ec);
  if (ec) co_return counts{};
  char byte[64];  // room for more than the reply, as a real reader has: a short read says the socket is drained
  for (int i = 0; i < 10; ++i) {  // warm up: the first waits register the socket
    s.write("p", ec);
    co_await s.readinto(usock::mutable_bytes(byte), ec);
  }
  const long before = calls.load(), polls_before = polls.load(), recvs_before = recvs.load(),
             sends_before = sends.load(), eagain_before = would_block.load(),
             registrations_before = registrations.load();
  for (int i = 0; i < rounds; ++i) {
    s.write("p", ec);
    const std::size_t n = co_await s.readinto(usock::mutable_bytes(byte), ec);
    if (ec || n != 1) co_return counts{};  // the peer echoes one byte per round
  }
  counts c;
  c.per_round = static_cast<double>(calls.load() - before) / rounds;
  c.polls = polls.load() - polls_before;
  c.recvs = recvs.load() - recvs_before;
  c.sends = sends.load() - sends_before;
  c.would_block = would_block.load() - eagain_before;
  c.registrations = registrations.load() - registrations_before;
  s.close(ec);
  co_return c;
}

/// What one `open_connection` to a server that closes at once, a read to the end and a close cost.
struct connection_counts {
  long opens = 0, nonblocking_opens = 0, mode_changes = 0, connect_results = 0, recvs = 0, would_block = 0;
  std::string error;
};

asyncio::task<> close_at_once(stream s) {
  std::error_code ec;
  s.close(ec);
  co_return;
}

/// One connection to a server that closes it at once: connect, read to the end, close. "" or what failed.
asyncio::task<std::string> connect_read_close_once(std::uint16_t port) {
  std::error_code ec;
  stream s = co_await asyncio::open_connection<counting_posix>("127.0.0.1", port, ec);
  if (ec) co_return "open_connection: " + ec.message();
  char b[1];
  const std::size_t got = co_await s.readinto(usock::mutable_bytes(b), ec);
  s.close(ec);
  co_return ec || got != 0 ? "readinto: not the end of the stream" : "";
}

asyncio::task<connection_counts> connect_read_close() {
  connection_counts c;
  std::error_code ec;
  auto srv = co_await asyncio::start_server<counting_posix>(close_at_once, "127.0.0.1", 0, ec);
  const std::uint16_t port = ec ? std::uint16_t{0} : srv.getsockname(ec).port();
  if (ec) co_return c.error = "server: " + ec.message(), c;
  const long o = opens, n = nonblocking_opens, m = mode_changes, r = connect_results, v = recvs, w = would_block;
  c.error = co_await connect_read_close_once(port);
  c.opens = opens - o;
  c.nonblocking_opens = nonblocking_opens - n;
  c.mode_changes = mode_changes - m;
  c.connect_results = connect_results - r;
  c.recvs = recvs - v;
  c.would_block = would_block - w;
  srv.close();
  co_await srv.wait_closed(ec);
  co_return c;
}

/// Accept calls, and the polls between the first connection queued and the last one's task run.
struct accept_counts {
  long accepts = 0, empty_accepts = 0, polls = 0;
  std::string error;
};

struct counting_handler {
  int* served;
  asyncio::task<> operator()(stream s) const {
    ++*served;
    std::error_code ec;
    s.close(ec);
    co_return;
  }
};

/// `connections` connections one after the other, as a churn makes them: connect, read the server's close,
/// close.
asyncio::task<accept_counts> accept_one_at_a_time(int connections) {
  accept_counts c;
  int served = 0;
  std::error_code ec;
  auto srv = co_await asyncio::start_server<counting_posix>(counting_handler{&served}, "127.0.0.1", 0, ec);
  const std::uint16_t port = ec ? std::uint16_t{0} : srv.getsockname(ec).port();
  if (ec) co_return c.error = "server: " + ec.message(), c;
  co_await asyncio::sleep_ms(0);  // the accepting task starts and waits
  const long a = accepts, e = empty_accepts;
  for (int i = 0; i < connections && c.error.empty(); ++i) c.error = co_await connect_read_close_once(port);
  c.accepts = accepts - a;
  c.empty_accepts = empty_accepts - e;
  if (c.error.empty() && served != connections) c.error = "served " + std::to_string(served);
  srv.close();
  co_await srv.wait_closed(ec);
  co_return c;
}

/// `connections` connections queued on the listener at once (blocking connects made while the loop waits in
/// this task), then served.
asyncio::task<accept_counts> accept_a_burst(int connections) {
  accept_counts c;
  int served = 0;
  std::error_code ec;
  auto srv = co_await asyncio::start_server<counting_posix>(counting_handler{&served}, "127.0.0.1", 0,
                                                            connections, ec);
  const std::uint16_t port = ec ? std::uint16_t{0} : srv.getsockname(ec).port();
  if (ec) co_return c.error = "server: " + ec.message(), c;
  co_await asyncio::sleep_ms(0);  // the accepting task starts and waits
  std::vector<usock::socket> clients;
  for (int i = 0; i < connections; ++i) {
    clients.emplace_back(usock::af_inet, usock::sock_stream, ec);
    if (!ec) clients.back().connect(usock::address("127.0.0.1", port), ec);  // the kernel queues it
    if (ec) co_return c.error = "connect: " + ec.message(), c;
  }
  const long a = accepts, e = empty_accepts, p = polls;
  for (int turns = 0; served < connections && turns < 10000; ++turns) co_await asyncio::sleep_ms(0);
  c.accepts = accepts - a;
  c.empty_accepts = empty_accepts - e;
  c.polls = polls - p;
  if (served != connections) c.error = "served " + std::to_string(served);
  srv.close();
  co_await srv.wait_closed(ec);
  co_return c;
}

}  // namespace

TEST_CASE("a server accepts once per readiness report, and at once again only while connections queue up") {
  std::error_code ec;
  // One at a time: an accept that finds nobody costs the kernel a socket made and freed, so after an accept
  // the server waits for the next report rather than trying again at once (MicroPython's order).
  const int sequential = 50;
  const accept_counts one = asyncio::run<counting_posix>(accept_one_at_a_time(sequential), ec);
  REQUIRE_FALSE(ec);
  REQUIRE(one.error.empty());
  std::printf("%d connections one at a time: %ld accept calls, %ld found nobody\n", sequential, one.accepts,
              one.empty_accepts);
  CHECK(one.accepts - one.empty_accepts == sequential);
  CHECK(one.empty_accepts <= 2);  // at most a guess at a queue, early on; not one per connection
  // A queue: once the listener is reported in two polls in a row, the server accepts until it is empty, not
  // one connection per poll.
  const int queued = 40;
  const accept_counts burst = asyncio::run<counting_posix>(accept_a_burst(queued), ec);
  REQUIRE_FALSE(ec);
  REQUIRE(burst.error.empty());
  std::printf("%d connections queued at once: %ld accept calls, %ld found nobody, %ld polls to serve them all\n",
              queued, burst.accepts, burst.empty_accepts, burst.polls);
  CHECK(burst.accepts - burst.empty_accepts == queued);
  CHECK(burst.empty_accepts <= 2);
  CHECK(burst.polls <= 6);
}

TEST_CASE("open_connection: the socket is non-blocking from socket(), a clean writable report is the connection") {
  std::error_code ec;
  const connection_counts c = asyncio::run<counting_posix>(connect_read_close(), ec);
  REQUIRE_FALSE(ec);
  REQUIRE(c.error.empty());
  std::printf("open_connection, a read to the end, close: %ld plain opens, %ld non-blocking opens, %ld mode changes, "
              "%ld connect_result calls, %ld receives (%ld would have blocked)\n",
              c.opens, c.nonblocking_opens, c.mode_changes, c.connect_results, c.recvs, c.would_block);
  CHECK(c.opens == 0);
  CHECK(c.nonblocking_opens == 1);  // SOCK_NONBLOCK at socket(): no ioctl after it
  CHECK(c.mode_changes == 0);
  CHECK(c.connect_results == 0);    // writable with no error reported: connected, nothing to ask
  // The connect was reported writable, not readable: the first read waits instead of trying (and the server's
  // close arrives as one receive of the end of the stream).
  CHECK(c.would_block == 0);
  CHECK(c.recvs == 1);
}

TEST_CASE("a ping-pong round trip costs one send, one wait and one receive on the loop's side (3 system calls)") {
  std::error_code ec;
  usock::socket listener(usock::af_inet, usock::sock_stream, ec);
  listener.bind(usock::address("127.0.0.1", 0), ec);
  listener.listen(1, ec);
  REQUIRE_FALSE(ec);
  const auto port = listener.getsockname(ec).port();
  std::thread peer([&] {  // echoes each byte back, blocking
    std::error_code e;
    auto [conn, addr] = listener.accept(e);
    char b[1];
    while (conn.recv(usock::mutable_bytes(b), e) == 1 && !e) conn.sendall(usock::const_bytes(std::string_view(b, 1)), e);
  });
  const int rounds = 2000;
  const counts c = asyncio::run<counting_posix>(ping_pong(port, rounds), ec);
  peer.join();
  std::printf("system calls per ping-pong round trip: %.4f (over %d rounds: %ld sends, %ld polls, %ld recvs, %ld of "
              "them would have blocked, %ld registration changes)\n",
              c.per_round, rounds, c.sends, c.polls, c.recvs, c.would_block, c.registrations);
  CHECK_FALSE(ec);
  CHECK(c.sends == rounds);        // one send per round
  CHECK(c.recvs == rounds);        // one receive per round: no try that would block,
  CHECK(c.would_block == 0);
  CHECK(c.polls >= rounds);        // and one wait; a wait a signal cut short is tried again (a handful at most)
  CHECK(c.polls <= rounds + 5);
  CHECK(c.registrations == 0);     // registration persists between waits: no epoll_ctl per round
  CHECK(c.per_round <= 3.0025);
}
