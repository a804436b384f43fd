// usock's asyncio as a user writes it: one task (or a server's tasks) on a loop on the calling thread, the `ec`
// forms, reads into the caller's buffers (`readinto`, `readline(buf)`), `write` + `drain`. The far end of each
// connection is the blocking peer of asyncio_bench.hpp, on a thread of its own, as for every contender.
#include <cstddef>
#include <string>
#include <system_error>
#include <thread>

#include <usock/asyncio.hpp>
#include <usock/usock.hpp>

#include "asyncio_bench.hpp"

namespace usock_bench {

namespace asyncio = usock::asyncio;

namespace {

/// What a measuring task hands back: its time, or what went wrong.
struct outcome {
  double seconds = 0;
  const char* error = nullptr;
  std::error_code ec;
};

double finish(const outcome& o, const std::error_code& run_ec) {
  if (run_ec) throw workload_failed(std::string("asyncio run: ") + run_ec.message());
  if (o.error) throw workload_failed(std::string(o.error) + (o.ec ? ": " + o.ec.message() : std::string()));
  return o.seconds;
}

asyncio::task<> bulk_reader(usock::socket sock, const sizes* s, outcome* out) {
  asyncio::stream st(std::move(sock));
  std::error_code ec;
  const usock::mutable_bytes in(reinterpret_cast<std::byte*>(s->bulk_in), s->bulk_chunk);
  const auto start = clock::now();
  std::size_t got = 0;
  while (got < s->bulk_bytes) {
    const std::size_t n = co_await st.readinto(in, ec);
    if (ec || n == 0) {
      out->error = "bulk: readinto";
      out->ec = ec;
      co_return;
    }
    got += n;
  }
  out->seconds = seconds_since(start);
  if (got != s->bulk_bytes) out->error = "bulk: byte count";
}

asyncio::task<> line_reader(usock::socket sock, const sizes* s, outcome* out) {
  asyncio::stream st(std::move(sock));
  std::error_code ec;
  std::byte line[4096];
  const usock::mutable_bytes into(line, asyncio_line_buffer);
  line_tally tally;
  const auto start = clock::now();
  for (;;) {
    const std::size_t n = co_await st.readline(into, ec);
    if (ec) {
      out->error = "lines: readline";
      out->ec = ec;
      co_return;
    }
    if (n == 0) break;
    tally.add(reinterpret_cast<const char*>(line), n);
  }
  out->seconds = seconds_since(start);
  if (!tally.matches(*s)) out->error = "lines: content";
}

template <bool WithTimeout>
asyncio::task<> pingpong_client(usock::socket sock, std::size_t rounds, outcome* out) {
  asyncio::stream st(std::move(sock));
  std::error_code ec, timeout_ec;
  const std::byte ping[1] = {std::byte{'p'}};
  std::byte in[64];  // room for more than the reply, as a reader has: a short read says the socket is drained
  const auto start = clock::now();
  for (std::size_t i = 0; i < rounds; ++i) {
    st.write(ping, ec);
    if (ec) {
      out->error = "ping-pong: write";
      out->ec = ec;
      co_return;
    }
    co_await st.drain(ec);
    if (ec) {
      out->error = "ping-pong: drain";
      out->ec = ec;
      co_return;
    }
    std::size_t n = 0;
    if constexpr (WithTimeout) {
      n = co_await asyncio::wait_for(st.readinto(in, ec), read_deadline, timeout_ec);
    } else {
      n = co_await st.readinto(in, ec);
    }
    if (ec || timeout_ec || n != 1) {
      out->error = timeout_ec ? "ping-pong: wait_for" : "ping-pong: readinto";
      out->ec = timeout_ec ? timeout_ec : ec;
      co_return;
    }
  }
  out->seconds = seconds_since(start);
  st.close(ec);
}

template <bool WithTimeout>
double pingpong(const plan& p) {
  auto [client, server] = connected_pair(true);
  std::thread echo = peer_thread([&] { echo_bytes(server); });
  outcome o;
  std::error_code ec;
  asyncio::run(pingpong_client<WithTimeout>(std::move(client), p.s.pingpong_rounds, &o), ec);
  echo.join();
  return finish(o, ec);
}

/// The churn's server: each connection's task closes it at once (the server's end closes first, as in
/// usock_bench's churn, so the TIME_WAIT stays with the server's port).
asyncio::task<> close_at_once(asyncio::stream s) {
  std::error_code ec;
  s.close(ec);
  co_return;
}
struct closer {
  asyncio::task<> operator()(asyncio::stream s) const { return close_at_once(std::move(s)); }
};

asyncio::task<> churn_main(std::size_t connections, outcome* out) {
  std::error_code ec;
  asyncio::server srv = co_await asyncio::start_server(closer{}, "127.0.0.1", 0, 128, ec);
  if (ec) {
    out->error = "churn: start_server";
    out->ec = ec;
    co_return;
  }
  const std::uint16_t port = srv.getsockname(ec).port();
  const auto start = clock::now();
  for (std::size_t i = 0; i < connections; ++i) {
    asyncio::stream c = co_await asyncio::open_connection("127.0.0.1", port, ec);
    if (ec) {
      out->error = "churn: open_connection";
      out->ec = ec;
      break;
    }
    std::byte b[1];
    const std::size_t n = co_await c.readinto(b, ec);
    if (ec || n != 0) {
      out->error = "churn: readinto: end of stream";
      out->ec = ec;
      break;
    }
    c.close(ec);
  }
  out->seconds = seconds_since(start);
  srv.close();
  co_await srv.wait_closed(ec);
}

// ---- the many-connection echo ---------------------------------------------------------------------------------

struct echo_state {
  echo_job* job;
  asyncio::event all_closed;
};

asyncio::task<> echo_connection(asyncio::stream s, echo_state* st) {
  std::byte buf[512];
  std::error_code ec, timeout_ec;
  const bool with_timeout = st->job->plan.read_timeout;
  for (;;) {
    std::size_t n = 0;
    if (with_timeout) {
      n = co_await asyncio::wait_for(s.readinto(buf, ec), read_deadline, timeout_ec);
    } else {
      n = co_await s.readinto(buf, ec);
    }
    if (ec || timeout_ec) {
      st->job->fail(timeout_ec ? "server: wait_for" : "server: readinto");
      break;
    }
    if (n == 0) break;
    s.write(usock::const_bytes(buf, n), ec);
    if (ec) {
      st->job->fail("server: write");
      break;
    }
    co_await s.drain(ec);
    if (ec) {
      st->job->fail("server: drain");
      break;
    }
    st->job->echoed(n);
  }
  s.close(ec);
  if (st->job->closed_one()) st->all_closed.set();
}
struct echo_handler {
  echo_state* st;
  asyncio::task<> operator()(asyncio::stream s) const { return echo_connection(std::move(s), st); }
};

asyncio::task<> echo_main(echo_state* st) {
  std::error_code ec;
  asyncio::server srv = co_await asyncio::start_server(echo_handler{st}, "127.0.0.1", 0, 4096, ec);
  if (ec) {
    st->job->fail("server: start_server");
    st->job->listening(0);
    co_return;
  }
  st->job->listening(srv.getsockname(ec).port());
  std::error_code wait_ec, timeout_ec;
  const auto left = st->job->give_up - std::chrono::steady_clock::now();
  co_await asyncio::wait_for(st->all_closed.wait(wait_ec), left, timeout_ec);
  if (timeout_ec) st->job->fail("server: out of time");
  st->job->accepted = srv.accepted();
  if (srv.dropped() != 0) st->job->fail("server: connections dropped (no frame)");
  if (srv.failures() != 0) st->job->fail("server: accept failed");
  srv.close();
  co_await srv.wait_closed(ec);
}

}  // namespace

const std::size_t asyncio_line_buffer = 4096;

double asyncio_bulk(const plan& p) {
  auto [client, server] = connected_pair(false);
  std::thread sender = peer_thread([&] { send_bulk(client, p.s); });
  outcome o;
  std::error_code ec;
  asyncio::run(bulk_reader(std::move(server), &p.s, &o), ec);
  sender.join();
  return finish(o, ec);
}

double asyncio_lines(const plan& p) {
  auto [client, server] = connected_pair(false);
  std::thread sender = peer_thread([&] { send_lines(client, p.s); });
  outcome o;
  std::error_code ec;
  asyncio::run(line_reader(std::move(server), &p.s, &o), ec);
  sender.join();
  return finish(o, ec);
}

double asyncio_pingpong(const plan& p) { return pingpong<false>(p); }
double asyncio_pingpong_timeout(const plan& p) { return pingpong<true>(p); }

double asyncio_churn(const plan& p) {
  outcome o;
  std::error_code ec;
  asyncio::run(churn_main(p.s.churn_connections, &o), ec);
  return finish(o, ec);
}

void asyncio_echo_server(echo_job& job) {
  echo_state st{&job, {}};
  std::error_code ec;
  asyncio::run(echo_main(&st), ec);
  if (ec) job.fail("server: asyncio run");
}

}  // namespace usock_bench
