#pragma once
// What usock_bench_asyncio's translation units share: the plan (the sizes of every workload), the peers that
// run on a thread of their own beside the measured loop (identical for every contender), and the
// many-connection echo's job: the server contenders (usock's asyncio, Asio's awaitables) serve it on the
// calling thread while a client process the harness forks drives it.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <time.h>

#include <usock/usock.hpp>

#include "../alloc/counting_allocator.hpp"
#include "bench.hpp"

namespace usock_bench {

/// The many-connection echo: `connections` connections, each makes one warm-up round trip (all of them before
/// the timed part), then `rounds` timed round trips of `message` bytes, each connection on its own, every byte
/// checked by the client.
struct echo_plan {
  std::size_t connections = 1000;
  std::size_t rounds = 100;
  static constexpr std::size_t message = 64;
  bool read_timeout = false;  ///< the server gives every read `read_deadline` (wait_for / `read || timer`)
};

/// Every size of one run.
struct plan {
  sizes s;
  echo_plan echo;
};

/// A timed workload: returns the seconds its timed part took (the echo: the client's time for its round trips).
using plan_fn = double (*)(const plan&);

/// The seconds every read of the timeout workloads is given: far more than any round trip takes, so a timeout
/// is an error (the workload measures what arming and disarming the deadline costs).
inline constexpr std::chrono::seconds read_deadline{5};

// ---- peers: the far end of a connection, blocking usock on a thread of its own ---------------------------------

/// Echoes each byte back until the end of stream (the ping-pong workloads' peer, as usock_bench's).
inline void echo_bytes(usock::socket& server) {
  std::byte c[1];
  while (server.recv(c) == 1) expect(server.send(c) == 1, "peer send");
}

/// Sends the bulk stream's bytes, `bulk_chunk` at a time.
inline void send_bulk(usock::socket& client, const sizes& s) {
  const std::span<const char> chunk(s.bulk_out, s.bulk_chunk);
  for (std::size_t sent = 0; sent < s.bulk_bytes; sent += s.bulk_chunk) client.sendall(chunk);
}

/// Sends the lines in 64 KiB blocks, then shuts down the sending side.
inline void send_lines(usock::socket& client, const sizes& s) {
  const std::string& data = *s.line_data;
  for (std::size_t at = 0; at < data.size(); at += s.bulk_chunk)
    client.sendall(std::string_view(data).substr(at, s.bulk_chunk));
  client.shutdown(usock::shut_wr);
}

/// Both ends of a loopback connection (blocking usock sockets), TCP_NODELAY on both when `nodelay`.
struct socket_pair {
  usock::socket client;
  usock::socket server;
};
inline socket_pair connected_pair(bool nodelay) {
  usock::socket l(usock::af_inet, usock::sock_stream);
  l.bind({"127.0.0.1", 0});
  l.listen(8);
  usock::socket client(usock::af_inet, usock::sock_stream);
  client.connect(l.getsockname());
  auto [server, peer] = l.accept();
  if (nodelay) {
    client.setsockopt(usock::ipproto_tcp, usock::tcp_nodelay, 1);
    server.setsockopt(usock::ipproto_tcp, usock::tcp_nodelay, 1);
  }
  return {std::move(client), std::move(server)};
}

// ---- the many-connection echo's server side ---------------------------------------------------------------------

/// What an echo server records on its thread. The allocation window: counting starts (tests/alloc's counter,
/// on this thread only) when the server has echoed every connection's warm-up message (the client starts the
/// timed round trips only once every warm-up echo has come back, so nothing else is in flight), and stops at
/// the last byte of the last timed round trip, before any connection closes.
struct echo_job {
  echo_plan plan;
  int port_pipe = -1;                        ///< the server writes its port here once listening
  std::chrono::steady_clock::time_point give_up;  ///< the server stops here, whatever is left
  std::size_t bytes = 0;                     ///< bytes echoed
  std::size_t accepted = 0;                  ///< connections accepted
  std::size_t closed = 0;                    ///< connections ended
  std::size_t errors = 0;                    ///< anything unexpected (reset, failed write, out of time, ...)
  std::string first_error;
  bool counting = false, counted = false;
  usock_alloc::counts window{};              ///< allocations in the window (on the server's thread)
  double cpu_start = 0;                      ///< the server thread's CPU time when the window opened
  double cpu_window = 0;                     ///< the server thread's CPU seconds in the window

  std::size_t warm_bytes() const noexcept { return plan.connections * echo_plan::message; }
  std::size_t all_bytes() const noexcept { return warm_bytes() * (1 + plan.rounds); }
  /// The timed messages the window spans (round trips).
  std::size_t window_messages() const noexcept { return plan.connections * plan.rounds; }

  /// After `n` bytes have been echoed (written and drained).
  void echoed(std::size_t n) noexcept {
    bytes += n;
    if (!counting && !counted && bytes >= warm_bytes()) {
      counting = true;
      cpu_start = thread_cpu_seconds();
      usock_alloc::arm();
    }
    if (counting && bytes >= all_bytes()) {
      window = usock_alloc::disarm();
      cpu_window = thread_cpu_seconds() - cpu_start;
      counting = false;
      counted = true;
    }
  }
  static double thread_cpu_seconds() noexcept {
    timespec t{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
  }
  void fail(const char* what) {
    if (errors++ == 0) first_error = what;
  }
  /// After a connection has ended; true when it was the last.
  bool closed_one() noexcept { return ++closed == plan.connections; }
  /// Tells the harness the port (the client process waits for it).
  void listening(std::uint16_t port);
};

using echo_server_fn = void (*)(echo_job&);

// ---- the contenders, each in its own translation unit -------------------------------------------------------

// usock's asyncio (asyncio_usock.cpp): streams on the default backend, the throwing-free `ec` forms, heap-free
// reads (readinto, readline into a caller's buffer), write + drain.
double asyncio_bulk(const plan&);
double asyncio_lines(const plan&);
double asyncio_pingpong(const plan&);
double asyncio_pingpong_timeout(const plan&);
double asyncio_churn(const plan&);
void asyncio_echo_server(echo_job&);
/// The line buffer asyncio_lines reads into (the stream reads ahead in blocks of `USOCK_READ_BUFFER_SIZE`, as
/// the blocking `readline` does: see stream.hpp).
extern const std::size_t asyncio_line_buffer;

// Asio's awaitables (asyncio_asio.cpp): one io_context on the calling thread, co_spawn,
// as_tuple(use_awaitable); the timeout as `op || timer` (asio::experimental::awaitable_operators).
double asio_lines(const plan&);
double asio_pingpong(const plan&);
double asio_pingpong_timeout(const plan&);
double asio_churn(const plan&);
void asio_echo_server(echo_job&);

}  // namespace usock_bench
