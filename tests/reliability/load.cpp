// Load: a multi-client echo server built on usock (one thread, usock::poller, non-blocking sockets) holds 1,000
// concurrent loopback connections while client threads (also usock, each with its own poller) run mixed traffic
// through them: small request/response messages, medium ones and bulk ones, each connection verifying every
// echoed byte against its own stream. The run is bounded in time; at the end every connection is half-closed,
// drained and closed, and the process's descriptor count is back where it started.
//   [load]: 5 s (the default ctest run);  [soak]: 30 s (label soak).
#include <sys/resource.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include <usock/poll.hpp>
#include <usock/usock.hpp>

#include "suite.hpp"

using namespace usock_test;
using std::chrono::steady_clock;

namespace {

constexpr std::size_t connections = 1000;
constexpr std::size_t client_threads = 4;
constexpr std::size_t stream_period = 1 << 20;  // each connection's bytes: a window of `stream_bytes()`

const std::string& stream_bytes() {
  static const std::string bytes = pattern(stream_period);
  return bytes;
}
std::size_t stream_pos(std::size_t id, std::size_t offset) { return (id * 7919 + offset) % stream_period; }

std::size_t open_descriptors() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

/// Errors seen by any thread, reported on the main thread.
struct error_log {
  std::atomic<std::size_t> count{0};
  std::mutex mutex;
  std::string first;
  void add(const std::string& what) {
    if (count.fetch_add(1) == 0) {
      std::lock_guard lock(mutex);
      first = what;
    }
  }
};

struct stats {
  std::atomic<std::size_t> bytes{0};
  std::atomic<std::size_t> round_trips{0};
  std::size_t peak_server_connections = 0;
};

/// The echo server: one thread, one poller, every socket non-blocking. Echoes what it reads; closes a
/// connection once the client has half-closed and everything has been echoed back.
void serve(socket_t& listener, const std::atomic<bool>& clients_done, error_log& errors, stats& st,
           steady_clock::time_point give_up) {
  struct conn {
    socket_t sock;
    std::string pending;  // read, not yet echoed
    std::size_t offset = 0;
    bool eof = false;
  };
  constexpr std::size_t max_pending = 1 << 20;
  auto p = std::make_unique<usock::poller>();
  std::unordered_map<int, conn> conns;
  std::vector<char> buf(65536);
  std::error_code ec;
  p->add(listener, usock::pollin, ec);
  if (ec) return errors.add("server: poller.add(listener): " + ec.message());

  while (!(clients_done.load() && conns.empty())) {
    if (steady_clock::now() > give_up) return errors.add("server: did not finish in time");
    const auto ready = p->poll(std::chrono::milliseconds(50), ec);
    if (ec) return errors.add("server: poll: " + ec.message());
    for (const auto [fd, events] : ready) {
      if (fd == listener.fileno()) {
        for (;;) {
          auto [sock, addr] = listener.accept(ec);
          if (ec == std::errc::resource_unavailable_try_again) break;
          if (ec) return errors.add("server: accept: " + ec.message());
          const int h = sock.fileno();
          p->add(sock, usock::pollin, ec);
          if (ec) return errors.add("server: poller.add: " + ec.message());
          conns.emplace(h, conn{std::move(sock), {}, 0, false});
        }
        st.peak_server_connections = std::max(st.peak_server_connections, conns.size());
        continue;
      }
      conn& c = conns.at(fd);
      if (events & (usock::pollerr | usock::pollnval)) errors.add("server: pollerr/pollnval on a connection");
      while (!c.eof && c.pending.size() - c.offset < max_pending) {
        const std::size_t n = c.sock.recv(buf, ec);
        if (ec == std::errc::resource_unavailable_try_again) break;
        if (ec) {
          errors.add("server: recv: " + ec.message());
          c.eof = true;
          break;
        }
        if (n == 0) c.eof = true;
        c.pending.append(buf.data(), n);
      }
      while (c.offset < c.pending.size()) {
        const std::size_t n = c.sock.send(std::string_view(c.pending).substr(c.offset), ec);
        if (ec == std::errc::resource_unavailable_try_again) break;
        if (ec) {
          errors.add("server: send: " + ec.message());
          c.offset = c.pending.size();
          break;
        }
        c.offset += n;
      }
      if (c.offset == c.pending.size()) c.pending.clear(), c.offset = 0;
      if (c.eof && c.pending.empty()) {
        p->remove(c.sock, ec);
        conns.erase(fd);  // closes it
        continue;
      }
      unsigned want = c.pending.empty() ? 0u : unsigned(usock::pollout);
      if (!c.eof && c.pending.size() - c.offset < max_pending) want |= usock::pollin;
      p->modify(c.sock, want, ec);
    }
  }
}

/// One client thread: `count` connections through one poller, each running rounds (send a message of a random
/// size, read all of its echo, check every byte) until `stop_at`, then half-closing and draining.
void run_clients(std::size_t first_id, std::size_t count, const usock::address& server, steady_clock::time_point stop_at,
                 steady_clock::time_point give_up, error_log& errors, stats& st) {
  struct conn {
    socket_t sock;
    std::size_t id = 0, sent = 0, received = 0, round_end = 0;
    bool closing = false;
  };
  std::mt19937 rng(static_cast<std::uint32_t>(first_id));
  auto message_size = [&]() -> std::size_t {
    const auto kind = rng() % 10;
    if (kind < 6) return 1 + rng() % 100;               // small request/response
    if (kind < 9) return 100 + rng() % 8000;            // medium
    return 8192 + rng() % (256 << 10);                  // bulk
  };
  std::vector<conn> conns(count);
  std::unordered_map<int, conn*> by_fd;
  auto p = std::make_unique<usock::poller>();
  std::error_code ec;
  for (std::size_t i = 0; i < count; ++i) {
    conn& c = conns[i];
    c.id = first_id + i;
    c.sock = socket_t(usock::af_inet, usock::sock_stream, ec);
    if (!ec) c.sock.settimeout(std::chrono::seconds(10), ec);
    if (!ec) c.sock.connect(server, ec);
    if (!ec) c.sock.setblocking(false, ec);
    if (ec) return errors.add("client: open/connect: " + ec.message());
    c.round_end = message_size();
    by_fd[c.sock.fileno()] = &c;
    p->add(c.sock, usock::pollin | usock::pollout, ec);
    if (ec) return errors.add("client: poller.add: " + ec.message());
  }
  const std::string& bytes = stream_bytes();
  std::vector<char> buf(65536);
  std::size_t active = count;
  while (active > 0) {
    if (steady_clock::now() > give_up) return errors.add("client: did not finish in time");
    const bool stopping = steady_clock::now() >= stop_at;
    const auto ready = p->poll(std::chrono::milliseconds(50), ec);
    if (ec) return errors.add("client: poll: " + ec.message());
    for (const auto [fd, events] : ready) {
      conn& c = *by_fd.at(fd);
      if (events & (usock::pollerr | usock::pollnval)) errors.add("client: pollerr/pollnval");
      bool eof = false;
      for (;;) {  // read and check the echo
        const std::size_t n = c.sock.recv(buf, ec);
        if (ec == std::errc::resource_unavailable_try_again) break;
        if (ec) {
          errors.add("client: recv: " + ec.message());
          eof = true;
          break;
        }
        if (n == 0) {
          eof = true;
          break;
        }
        for (std::size_t k = 0; k < n; ++k) {
          if (buf[k] != bytes[stream_pos(c.id, c.received + k)]) {
            errors.add("client " + std::to_string(c.id) + ": echoed byte " + std::to_string(c.received + k) +
                       " differs");
            break;
          }
        }
        c.received += n;
        st.bytes.fetch_add(n, std::memory_order_relaxed);
      }
      if (c.received > c.sent) errors.add("client: more echoed than sent");
      if (eof) {
        if (!c.closing || c.received != c.sent)
          errors.add("client " + std::to_string(c.id) + ": connection ended early (sent " + std::to_string(c.sent) +
                     ", echoed " + std::to_string(c.received) + ")");
        p->remove(c.sock, ec);
        c.sock.close(ec);
        --active;
        continue;
      }
      if (!c.closing && c.received == c.round_end) {  // the round's echo is complete
        st.round_trips.fetch_add(1, std::memory_order_relaxed);
        if (stopping) {
          c.closing = true;
          c.sock.shutdown(usock::shut_wr, ec);
          if (ec) errors.add("client: shutdown: " + ec.message());
        } else {
          c.round_end = c.sent + message_size();
        }
      }
      while (!c.closing && c.sent < c.round_end) {  // send the rest of the round's message
        const std::size_t pos = stream_pos(c.id, c.sent);
        const std::size_t len = std::min(c.round_end - c.sent, stream_period - pos);
        const std::size_t n = c.sock.send(std::string_view(bytes).substr(pos, len), ec);
        if (ec == std::errc::resource_unavailable_try_again) break;
        if (ec) {
          errors.add("client: send: " + ec.message());
          break;
        }
        c.sent += n;
      }
      const unsigned want = usock::pollin | (!c.closing && c.sent < c.round_end ? unsigned(usock::pollout) : 0u);
      p->modify(c.sock, want, ec);
    }
  }
}

void echo_load(std::chrono::seconds duration) {
  const std::size_t fds_before = open_descriptors();
  rlimit old{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &old) == 0);
  const rlim_t needed = 2 * connections + 64;
  if (old.rlim_cur < needed) {
    if (old.rlim_max < needed)
      USOCK_SKIP("RLIMIT_NOFILE hard limit " + std::to_string(old.rlim_max) + " is below the " +
                 std::to_string(needed) + " descriptors this test needs");
    rlimit raised = old;
    raised.rlim_cur = needed;
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &raised) == 0);
  }
  error_log errors;
  stats st;
  const auto start = steady_clock::now();
  const auto give_up = start + duration + std::chrono::seconds(60);
  {
    socket_t listener;
    listener.bind(loopback());
    listener.listen(static_cast<int>(connections));
    listener.settimeout(std::chrono::seconds(0));
    const usock::address addr = listener.getsockname();
    std::atomic<bool> clients_done{false};
    background server([&] { serve(listener, clients_done, errors, st, give_up); });
    {
      std::vector<background> clients;
      const std::size_t per_thread = connections / client_threads;
      for (std::size_t t = 0; t < client_threads; ++t)
        clients.emplace_back([&, t] {
          run_clients(t * per_thread, per_thread, addr, start + duration, give_up, errors, st);
        });
    }  // joins the clients
    clients_done = true;
    server.join();
  }
  const double seconds = std::chrono::duration<double>(steady_clock::now() - start).count();
  ::setrlimit(RLIMIT_NOFILE, &old);
  const std::size_t fds_after = open_descriptors();
  std::printf("echo load: %zu connections (peak %zu held by the server) for %.1f s: %.1f MiB echoed in %zu round "
              "trips, %zu errors, descriptors %zu before and %zu after\n",
              connections, st.peak_server_connections, seconds, double(st.bytes.load()) / (1 << 20),
              st.round_trips.load(), errors.count.load(), fds_before, fds_after);
  INFO("first error: " << errors.first);
  CHECK(errors.count.load() == 0);
  CHECK(st.peak_server_connections == connections);
  CHECK(st.round_trips.load() >= connections);
  CHECK(fds_after == fds_before);
}

}  // namespace

TEST_CASE("an echo server on the poller holds 1,000 connections of mixed traffic for 5 s, losing nothing", "[load]") {
  echo_load(std::chrono::seconds(5));
}

TEST_CASE("an echo server on the poller holds 1,000 connections of mixed traffic for 30 s, losing nothing", "[soak]") {
  echo_load(std::chrono::seconds(30));
}
