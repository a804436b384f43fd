// Asio's awaitables, written as Asio's documentation and examples show them: one io_context run on the calling
// thread, coroutines started with co_spawn, every operation awaited with as_tuple(use_awaitable) (errors as
// values, as usock's `ec` forms), a read with a timeout as `read || timer` (awaitable_operators). The far end
// of each connection is the blocking peer of asyncio_bench.hpp, the same as for usock's asyncio.
#include <unistd.h>

#include <cstddef>
#include <string>
#include <system_error>
#include <thread>
#include <tuple>
#include <variant>

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>

#include "asyncio_bench.hpp"

namespace usock_bench {

namespace {

using tcp = asio::ip::tcp;
using asio::awaitable;
// Debian's Asio 1.22 has as_tuple in asio::experimental (asio::as_tuple from 1.24 on).
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

struct outcome {
  double seconds = 0;
  const char* error = nullptr;
  asio::error_code ec;
};

double finish(const outcome& o) {
  if (o.error) throw workload_failed(std::string(o.error) + (o.ec ? ": " + o.ec.message() : std::string()));
  return o.seconds;
}

/// The client end of a usock pair as an Asio socket (a duplicate of its descriptor; usock's is closed).
tcp::socket adopt(asio::io_context& io, usock::socket& s) {
  const int fd = ::dup(s.fileno());
  expect(fd >= 0, "dup");
  s.close();
  return tcp::socket(io, tcp::v4(), fd);
}

void run_io(asio::io_context& io) {
  try {
    io.run();
  } catch (const std::exception& e) {
    throw workload_failed(std::string("Asio: ") + e.what());
  }
}

awaitable<void> line_reader(tcp::socket sock, const sizes* s, outcome* out) {
  line_tally tally;
  std::string buffer;
  const auto start = clock::now();
  for (;;) {
    auto [ec, n] = co_await asio::async_read_until(sock, asio::dynamic_buffer(buffer), '\n', use_tuple);
    if (ec == asio::error::eof && buffer.empty()) break;
    if (ec) {
      out->error = "lines: async_read_until";
      out->ec = ec;
      co_return;
    }
    tally.add(buffer.data(), n);
    buffer.erase(0, n);
  }
  out->seconds = seconds_since(start);
  if (!tally.matches(*s)) out->error = "lines: content";
}

template <bool WithTimeout>
awaitable<void> pingpong_client(tcp::socket sock, std::size_t rounds, outcome* out) {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer timer(sock.get_executor());
  const char ping = 'p';
  char in[64];
  const auto start = clock::now();
  for (std::size_t i = 0; i < rounds; ++i) {
    auto [wec, wn] = co_await asio::async_write(sock, asio::buffer(&ping, 1), use_tuple);
    if (wec || wn != 1) {
      out->error = "ping-pong: async_write";
      out->ec = wec;
      co_return;
    }
    std::size_t n = 0;
    asio::error_code ec;
    if constexpr (WithTimeout) {
      timer.expires_after(read_deadline);
      auto either = co_await (sock.async_read_some(asio::buffer(in), use_tuple) || timer.async_wait(use_tuple));
      if (either.index() != 0) {
        out->error = "ping-pong: the read timed out";
        co_return;
      }
      std::tie(ec, n) = std::get<0>(either);
    } else {
      auto [rec, rn] = co_await sock.async_read_some(asio::buffer(in), use_tuple);
      ec = rec;
      n = rn;
    }
    if (ec || n != 1) {
      out->error = "ping-pong: async_read_some";
      out->ec = ec;
      co_return;
    }
  }
  out->seconds = seconds_since(start);
  asio::error_code ignored;
  sock.close(ignored);
}

template <bool WithTimeout>
double pingpong(const plan& p) {
  auto [client, server] = connected_pair(true);
  asio::io_context io(1);
  tcp::socket sock = adopt(io, client);
  std::thread echo = peer_thread([&] { echo_bytes(server); });
  outcome o;
  asio::co_spawn(io, pingpong_client<WithTimeout>(std::move(sock), p.s.pingpong_rounds, &o), asio::detached);
  run_io(io);
  echo.join();
  return finish(o);
}

/// The churn's server: accepts `connections` connections and closes each at once.
awaitable<void> churn_acceptor(tcp::acceptor* acceptor, std::size_t connections, outcome* out) {
  for (std::size_t i = 0; i < connections; ++i) {
    auto [ec, conn] = co_await acceptor->async_accept(use_tuple);
    if (ec) {
      out->error = "churn: async_accept";
      out->ec = ec;
      co_return;
    }
    conn.close();
  }
}
awaitable<void> churn_client(tcp::endpoint to, std::size_t connections, outcome* out) {
  auto executor = co_await asio::this_coro::executor;
  const auto start = clock::now();
  for (std::size_t i = 0; i < connections; ++i) {
    tcp::socket c(executor);
    auto [cec] = co_await c.async_connect(to, use_tuple);
    if (cec) {
      out->error = "churn: async_connect";
      out->ec = cec;
      co_return;
    }
    char b[1];
    auto [ec, n] = co_await c.async_read_some(asio::buffer(b), use_tuple);
    if (ec != asio::error::eof || n != 0) {
      out->error = "churn: async_read_some: end of stream";
      out->ec = ec;
      co_return;
    }
    c.close();
  }
  out->seconds = seconds_since(start);
}

// ---- the many-connection echo ---------------------------------------------------------------------------------

struct echo_state {
  echo_job* job;
  asio::steady_timer* deadline;
};

awaitable<void> echo_connection(tcp::socket s, echo_state* st) {
  using namespace asio::experimental::awaitable_operators;
  char buf[512];
  asio::steady_timer timer(s.get_executor());
  const bool with_timeout = st->job->plan.read_timeout;
  for (;;) {
    asio::error_code ec;
    std::size_t n = 0;
    if (with_timeout) {
      timer.expires_after(read_deadline);
      auto either = co_await (s.async_read_some(asio::buffer(buf), use_tuple) || timer.async_wait(use_tuple));
      if (either.index() != 0) {
        st->job->fail("server: the read timed out");
        break;
      }
      std::tie(ec, n) = std::get<0>(either);
    } else {
      auto [rec, rn] = co_await s.async_read_some(asio::buffer(buf), use_tuple);
      ec = rec;
      n = rn;
    }
    if (ec == asio::error::eof) break;
    if (ec) {
      st->job->fail("server: async_read_some");
      break;
    }
    auto [wec, wn] = co_await asio::async_write(s, asio::buffer(buf, n), use_tuple);
    if (wec) {
      st->job->fail("server: async_write");
      break;
    }
    st->job->echoed(wn);
  }
  asio::error_code ignored;
  s.close(ignored);
  if (st->job->closed_one()) st->deadline->cancel();
}

awaitable<void> echo_acceptor(tcp::acceptor* acceptor, echo_state* st) {
  for (std::size_t i = 0; i < st->job->plan.connections; ++i) {
    auto [ec, conn] = co_await acceptor->async_accept(use_tuple);
    if (ec) {
      st->job->fail("server: async_accept");
      co_return;
    }
    ++st->job->accepted;
    asio::co_spawn(acceptor->get_executor(), echo_connection(std::move(conn), st), asio::detached);
  }
}

}  // namespace

double asio_lines(const plan& p) {
  auto [client, server] = connected_pair(false);
  asio::io_context io(1);
  tcp::socket sock = adopt(io, server);
  std::thread sender = peer_thread([&] { send_lines(client, p.s); });
  outcome o;
  asio::co_spawn(io, line_reader(std::move(sock), &p.s, &o), asio::detached);
  run_io(io);
  sender.join();
  return finish(o);
}

double asio_pingpong(const plan& p) { return pingpong<false>(p); }
double asio_pingpong_timeout(const plan& p) { return pingpong<true>(p); }

double asio_churn(const plan& p) {
  asio::io_context io(1);
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  outcome o;
  asio::co_spawn(io, churn_acceptor(&acceptor, p.s.churn_connections, &o), asio::detached);
  asio::co_spawn(io, churn_client(acceptor.local_endpoint(), p.s.churn_connections, &o), asio::detached);
  run_io(io);
  return finish(o);
}

void asio_echo_server(echo_job& job) {
  asio::io_context io(1);
  tcp::acceptor acceptor(io);
  asio::error_code ec;
  const tcp::endpoint where(asio::ip::address_v4::loopback(), 0);
  acceptor.open(where.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(where, ec);
  if (!ec) acceptor.listen(4096, ec);
  if (ec) {
    job.fail("server: listen");
    job.listening(0);
    return;
  }
  job.listening(acceptor.local_endpoint().port());
  asio::steady_timer deadline(io, job.give_up);
  echo_state st{&job, &deadline};
  deadline.async_wait([&](const asio::error_code& e) {
    if (e) return;  // cancelled: every connection has ended
    job.fail("server: out of time");
    io.stop();
  });
  asio::co_spawn(io, echo_acceptor(&acceptor, &st), asio::detached);
  run_io(io);
}

}  // namespace usock_bench
