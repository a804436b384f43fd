// No heap allocation per message in the steady state: an asyncio echo server on this thread's loop serves 2,000
// concurrent loopback connections (readinto, write, drain), and the heap calls of the loop's thread are counted
// (tests/alloc's counting allocator, linked into this program only) from the moment every connection has made
// a warm-up round trip to the last byte of the last of 10 more round trips each. The clients are a plain epoll
// loop on a thread of their own (their allocations are not counted: the counter is per thread). The bench
// (usock_bench_asyncio) does the same with 10,000 connections, the clients in a process of their own.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "../alloc/counting_allocator.hpp"
#include "catch.hpp"
#include "out.hpp"

namespace asyncio = usock::asyncio;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t connections = 2000;
constexpr std::size_t rounds = 10;
constexpr std::size_t message = 64;

void fill_message(char* out, std::size_t id, std::size_t round) {
  for (std::size_t i = 0; i < message; ++i) out[i] = static_cast<char>((id * 131 + round * 17 + i) & 0xff);
}

/// The clients: connect all, one warm-up round trip on each (all before going on), then `rounds` round trips on
/// each, every byte checked; then close all. Returns what went wrong, or "".
std::string run_clients(std::uint16_t port) {
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(port);
  std::vector<int> fds;
  struct closer {
    std::vector<int>& fds;
    int ep = -1;
    ~closer() {
      for (int fd : fds) ::close(fd);
      if (ep >= 0) ::close(ep);
    }
  } guard{fds};
  guard.ep = ::epoll_create1(EPOLL_CLOEXEC);
  if (guard.ep < 0) return "epoll_create1";
  for (std::size_t i = 0; i < connections; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return std::string("socket: ") + std::strerror(errno);
    fds.push_back(fd);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0)
      return std::string("connect: ") + std::strerror(errno);
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    if (::epoll_ctl(guard.ep, EPOLL_CTL_ADD, fd, &ev) != 0) return "epoll_ctl";
  }
  std::vector<std::size_t> done(connections), got(connections);
  std::vector<char> in(connections * message);
  char expected[message];
  auto round_trips = [&](std::size_t first, std::size_t count) -> std::string {
    std::fill(done.begin(), done.end(), 0);
    for (std::size_t i = 0; i < connections; ++i) {
      fill_message(expected, i, first);
      if (::send(fds[i], expected, message, MSG_NOSIGNAL) != static_cast<ssize_t>(message)) return "send";
    }
    std::size_t finished = 0;
    epoll_event events[256];
    while (finished < connections) {
      const int k = ::epoll_wait(guard.ep, events, 256, 10000);
      if (k <= 0) return "no progress in 10 s";
      for (int e = 0; e < k; ++e) {
        const std::size_t i = events[e].data.u64;
        char* buf = &in[i * message];
        const ssize_t r = ::recv(fds[i], buf + got[i], message - got[i], 0);
        if (r < 0 && errno == EAGAIN) continue;
        if (r <= 0) return "recv: the server closed or failed";
        got[i] += static_cast<std::size_t>(r);
        if (got[i] < message) continue;
        got[i] = 0;
        fill_message(expected, i, first + done[i]);
        if (std::memcmp(buf, expected, message) != 0) return "wrong bytes echoed";
        if (++done[i] == count) {
          ++finished;
          continue;
        }
        fill_message(expected, i, first + done[i]);
        if (::send(fds[i], expected, message, MSG_NOSIGNAL) != static_cast<ssize_t>(message)) return "send";
      }
    }
    return "";
  };
  std::string error = round_trips(0, 1);
  if (error.empty()) error = round_trips(1, rounds);
  return error;
}

struct echo_state {
  std::size_t bytes = 0, closed = 0, errors = 0;
  bool counting = false, counted = false;
  usock_alloc::counts window{};
  asyncio::event all_closed;
  std::thread clients;
  std::string client_error = "not run";

  void echoed(std::size_t n) noexcept {
    bytes += n;
    if (!counting && !counted && bytes >= connections * message) {  // every warm-up message is echoed
      counting = true;
      usock_alloc::arm();
    }
    if (counting && bytes >= connections * message * (1 + rounds)) {  // the last timed one
      window = usock_alloc::disarm();
      counting = false;
      counted = true;
    }
  }
};

asyncio::task<> echo(asyncio::stream s, echo_state* st) {
  std::byte buf[256];
  std::error_code ec;
  for (;;) {
    const std::size_t n = co_await s.readinto(buf, ec);
    if (ec) ++st->errors;
    if (ec || n == 0) break;
    s.write(usock::const_bytes(buf, n), ec);
    if (ec) {
      ++st->errors;
      break;
    }
    co_await s.drain(ec);
    if (ec) {
      ++st->errors;
      break;
    }
    st->echoed(n);
  }
  s.close(ec);
  if (++st->closed == connections) st->all_closed.set();
}
struct handler {
  echo_state* st;
  asyncio::task<> operator()(asyncio::stream s) const { return echo(std::move(s), st); }
};

asyncio::task<> serve(echo_state* st) {
  std::error_code ec;
  asyncio::server srv = co_await asyncio::start_server(handler{st}, "127.0.0.1", 0, 4096, ec);
  CHECK_FALSE(ec);
  if (ec) co_return;
  const std::uint16_t port = srv.getsockname(ec).port();
  st->clients = std::thread([st, port] { st->client_error = run_clients(port); });
  std::error_code wait_ec, timeout_ec;
  co_await asyncio::wait_for(st->all_closed.wait(wait_ec), 30s, timeout_ec);
  CHECK_FALSE(timeout_ec);
  CHECK(srv.accepted() == connections);
  CHECK(srv.dropped() == 0);
  CHECK(srv.failures() == 0);
  srv.close();
  co_await srv.wait_closed(ec);
}

}  // namespace

TEST_CASE("2,000 connections echo on one loop thread with no heap allocation per message in the steady state") {
  rlimit limit{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &limit) == 0);
  if (limit.rlim_cur < 2 * connections + 64 && limit.rlim_max >= 2 * connections + 64) {
    limit.rlim_cur = 2 * connections + 64;
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &limit) == 0);
  }
  if (limit.rlim_cur < 2 * connections + 64) {
    std::printf("skipped: RLIMIT_NOFILE (hard %llu) is below %zu\n", static_cast<unsigned long long>(limit.rlim_max),
                2 * connections + 64);
    return;
  }
  echo_state st;
  std::error_code ec;
  const auto start = std::chrono::steady_clock::now();
  asyncio::run(serve(&st), ec);
  if (st.clients.joinable()) st.clients.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("steady state: %zu connections x %zu round trips of %zu bytes after a warm-up one, %.2f s; heap calls on "
              "the loop's thread in the window: %zu (operator new %zu, malloc family %zu; malloc counted: %s)\n",
              connections, rounds, message, seconds, st.window.total(), st.window.news, st.window.mallocs,
              usock_alloc::counts_malloc() ? "yes" : "no");
  CHECK_FALSE(ec);
  INFO("client: " << st.client_error);
  CHECK(st.client_error.empty());
  CHECK(st.errors == 0);
  CHECK(st.bytes == connections * message * (1 + rounds));
  REQUIRE(st.counted);
  CHECK(st.window.total() == 0);
}
