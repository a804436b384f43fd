// C10k: one thread with one usock::poller echoes for 10,000 concurrent loopback connections, 64-byte messages,
// every byte checked by the client, zero errors allowed. The clients run in a child process (one thread, its own
// poller), so each process needs a little over 10,000 descriptors: the case raises RLIMIT_NOFILE itself and
// says so, and skips only where the hard limit forbids it and cannot be raised.
//   [c10k]: 10,000 connections, 3 rounds each (the default run);  [c10k-soak]: 10,000 connections, 50 rounds.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <usock/poll.hpp>
#include <usock/usock.hpp>

#include "suite.hpp"

using namespace usock_test;
using std::chrono::steady_clock;

namespace {

constexpr std::size_t message = 64;

/// The 64 bytes connection `id` sends in round `round`: its identity in every byte, so a crossed stream shows.
void fill_message(char* out, std::size_t id, std::size_t round) {
  for (std::size_t i = 0; i < message; ++i) out[i] = static_cast<char>((id * 131 + round * 17 + i) & 0xff);
}

/// Raises the descriptor limit to `needed`, as root may; false (with the reason printed) if it cannot.
bool raise_descriptor_limit(rlim_t needed) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return false;
  if (limit.rlim_cur >= needed) return true;
  rlimit raised = limit;
  raised.rlim_cur = needed;
  if (raised.rlim_max < needed) raised.rlim_max = needed;
  if (::setrlimit(RLIMIT_NOFILE, &raised) != 0) {
    std::fprintf(stderr, "c10k: RLIMIT_NOFILE is %llu (hard %llu) and cannot be raised to %llu\n",
                 static_cast<unsigned long long>(limit.rlim_cur), static_cast<unsigned long long>(limit.rlim_max),
                 static_cast<unsigned long long>(needed));
    return false;
  }
  std::printf("c10k: raised RLIMIT_NOFILE from %llu (hard %llu) to %llu\n",
              static_cast<unsigned long long>(limit.rlim_cur), static_cast<unsigned long long>(limit.rlim_max),
              static_cast<unsigned long long>(needed));
  return true;
}

struct echo_result {
  std::atomic<std::size_t> errors{0};
  std::string first_error;
  std::size_t peak = 0;
  std::size_t echoed = 0;
  void fail(std::string what) {
    if (errors.fetch_add(1) == 0) first_error = std::move(what);
  }
};

/// The server: accepts and echoes on one poller until `connections` connections have come and gone.
void serve(socket_t& listener, std::size_t connections, echo_result& result, steady_clock::time_point give_up) {
  usock::poller p;
  std::vector<std::optional<socket_t>> conns(65536);  // by descriptor: descriptors are small numbers
  std::error_code ec;
  p.add(listener, usock::pollin, ec);
  if (ec) return result.fail("server: add listener: " + ec.message());
  std::size_t accepted = 0, closed = 0, open = 0;
  std::array<char, 4096> buf;
  while (closed < connections) {
    if (steady_clock::now() > give_up) return result.fail("server: out of time");
    const auto ready = p.poll(std::chrono::milliseconds(100), ec);
    if (ec) return result.fail("server: poll: " + ec.message());
    for (const auto [fd, events] : ready) {
      if (fd == listener.fileno()) {
        for (;;) {
          auto [sock, addr] = listener.accept(ec);
          if (ec == std::errc::resource_unavailable_try_again) break;
          if (ec) return result.fail("server: accept: " + ec.message());
          const int h = sock.fileno();
          if (static_cast<std::size_t>(h) >= conns.size()) return result.fail("server: descriptor out of range");
          p.add(h, usock::pollin, ec);
          if (ec) return result.fail("server: add: " + ec.message());
          conns[static_cast<std::size_t>(h)] = std::move(sock);
          ++accepted, ++open;
          result.peak = std::max(result.peak, open);
        }
        continue;
      }
      socket_t& c = *conns[static_cast<std::size_t>(fd)];
      if (events & (usock::pollerr | usock::pollnval)) result.fail("server: error event");
      const std::size_t n = c.recv(buf, ec);
      if (ec == std::errc::resource_unavailable_try_again) continue;
      if (ec || n == 0) {
        if (ec) result.fail("server: recv: " + ec.message());
        p.remove(fd, ec);
        conns[static_cast<std::size_t>(fd)].reset();
        ++closed, --open;
        continue;
      }
      // 64-byte messages into an empty send buffer: a send takes them whole, or the echo is broken.
      c.sendall(std::string_view(buf.data(), n), ec);
      if (ec) result.fail("server: send: " + ec.message());
      result.echoed += n;
    }
  }
}

/// The clients, on one thread: connect all, then `rounds` times send one message on every connection and read
/// every echo back, checking each byte; then close all.
void run_clients(const usock::address& to, std::size_t connections, std::size_t rounds, echo_result& result,
                 steady_clock::time_point give_up) {
  std::vector<socket_t> clients;
  clients.reserve(connections);
  std::error_code ec;
  for (std::size_t i = 0; i < connections; ++i) {
    socket_t s(usock::af_inet, usock::sock_stream, ec);
    if (!ec) s.settimeout(std::chrono::seconds(10), ec);  // a server that gave up must not hang the clients
    if (!ec) s.connect(to, ec);
    if (!ec) s.setblocking(false, ec);
    if (ec) return result.fail("client " + std::to_string(i) + ": connect: " + ec.message());
    clients.push_back(std::move(s));
  }
  usock::poller p;
  std::vector<std::size_t> id_of(65536);
  for (std::size_t i = 0; i < connections; ++i) {
    id_of[static_cast<std::size_t>(clients[i].fileno())] = i;
    p.add(clients[i], usock::pollin, ec);
    if (ec) return result.fail("client: add: " + ec.message());
  }
  std::vector<std::size_t> got(connections);
  char expected[message], in[message];
  for (std::size_t round = 0; round < rounds; ++round) {
    for (std::size_t i = 0; i < connections; ++i) {
      fill_message(expected, i, round);
      if (clients[i].send(std::string_view(expected, message), ec) != message || ec)
        return result.fail("client: short send");
      got[i] = 0;
    }
    std::size_t complete = 0;
    while (complete < connections) {
      if (steady_clock::now() > give_up) return result.fail("client: out of time");
      const auto ready = p.poll(std::chrono::milliseconds(100), ec);
      if (ec) return result.fail("client: poll: " + ec.message());
      for (const auto [fd, events] : ready) {
        const std::size_t i = id_of[static_cast<std::size_t>(fd)];
        const std::size_t n = clients[i].recv(std::span(in, message - got[i]), ec);
        if (ec == std::errc::resource_unavailable_try_again) continue;
        if (ec || n == 0) return result.fail("client: recv: " + (ec ? ec.message() : std::string("EOF")));
        fill_message(expected, i, round);
        if (std::memcmp(in, expected + got[i], n) != 0) return result.fail("client: wrong bytes echoed");
        got[i] += n;
        if (got[i] == message) ++complete;
        if (got[i] > message) return result.fail("client: too many bytes");
      }
    }
  }
  for (auto& s : clients) s.close();
}

void c10k(std::size_t connections, std::size_t rounds, std::chrono::seconds bound) {
  if (!raise_descriptor_limit(static_cast<rlim_t>(connections + 256)))
    USOCK_SKIP("the descriptor limit cannot be raised to the connection count (a lower hard limit)");
  listener l(4096);
  l.sock.setblocking(false);
  const auto start = steady_clock::now();
  const auto give_up = start + bound;
  std::fflush(nullptr);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {  // the clients: report through the exit status and stderr, never through Catch2
    l.sock.close();
    echo_result clients;
    run_clients(l.addr, connections, rounds, clients, give_up);
    if (clients.errors) std::fprintf(stderr, "c10k clients: %zu errors, first: %s\n", clients.errors.load(),
                                     clients.first_error.c_str());
    std::fflush(nullptr);
    ::_exit(clients.errors ? 1 : 0);
  }
  echo_result server_result;
  serve(l.sock, connections, server_result, give_up);
  if (server_result.errors) ::kill(child, SIGKILL);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  const double seconds = std::chrono::duration<double>(steady_clock::now() - start).count();
  std::printf("c10k: %zu connections x %zu rounds of %zu bytes, peak %zu open on the server, %zu bytes echoed "
              "in %.2f s (bound %lld s)\n",
              connections, rounds, message, server_result.peak, server_result.echoed, seconds,
              static_cast<long long>(bound.count()));
  INFO("server: " << server_result.first_error);
  CHECK(server_result.errors == 0);
  CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  CHECK(server_result.peak == connections);
  CHECK(server_result.echoed == connections * rounds * message);
}

}  // namespace

TEST_CASE("one thread echoes for 10,000 concurrent connections, 3 rounds each, every byte checked", "[c10k]") {
  c10k(10000, 3, std::chrono::seconds(60));
}

TEST_CASE("one thread echoes for 10,000 concurrent connections, 50 rounds each, every byte checked", "[c10k-soak]") {
  c10k(10000, 50, std::chrono::seconds(240));
}
