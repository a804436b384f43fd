// usock::lwip_raw as main-loop firmware uses it: one thread, no lock hooks, non-blocking calls between turns
// of the loop, and blocking calls that run the poll hook. Also what only this backend has: the fixed socket
// pool, the accept queue, the close linger, sticky errors and stale handles.
//
// Built with USOCK_LWIP_RAW_MAX_SOCKETS=6 and USOCK_LWIP_RAW_CLOSE_TIMEOUT_MS=300 (see CMakeLists.txt).
#include <array>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <usock/basic_socket.hpp>
#include <usock/lwip_raw.hpp>
#include <usock/poll.hpp>

#include "catch.hpp"
#include "main_loop_env.hpp"

using socket_t = usock::basic_socket<usock::lwip_raw>;
using namespace std::chrono_literals;
using std::chrono::steady_clock;

static_assert(sizeof(socket_t) <= 16, "a socket is a handle, a timeout and a pointer");
static_assert(USOCK_LWIP_RAW_MAX_SOCKETS == 6);

namespace {

const usock::address loopback{"127.0.0.1", 0};

std::string pattern(std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>((i * 7 + i / 251) & 0xff);
  return s;
}

/// A listener on an ephemeral loopback port.
socket_t listen_on_loopback(int backlog, usock::address& where) {
  socket_t s;
  s.bind(loopback);
  s.listen(backlog);
  where = s.getsockname();
  return s;
}

/// A listener and one connection to it, made with blocking calls (2 s timeouts) that run the poll hook.
struct connected {
  socket_t server, client, conn;
  usock::address client_addr;
};
connected connect_through_listener() {
  usock::address where;
  connected c{listen_on_loopback(1, where), socket_t{}, socket_t::adopt(usock::lwip_raw::invalid_handle), {}};
  c.client.settimeout(2s);
  c.client.connect(where);  // needs the handshake: only the poll hook can drive it in one thread
  c.server.settimeout(2s);
  auto [conn, addr] = c.server.accept();
  c.conn = std::move(conn);
  c.client_addr = addr;
  return c;
}

/// Turns the main loop until `done()` or 5 s; true if `done()`.
template <class Done>
bool run_main_loop(Done done) {
  const auto deadline = steady_clock::now() + 5s;
  while (!done()) {
    if (steady_clock::now() > deadline) return false;
    usock_test::stack().service();
  }
  return true;
}

/// True when `s` has data (or EOF, or an error) to read.
bool readable(const socket_t& s) {
  usock::basic_poller<usock::lwip_raw, 1> p;
  p.add(s, usock::pollin);
  return !p.poll(0ms).empty();
}

/// Lets connections closed by earlier cases finish, so that a case starts with an empty socket pool.
void settle() { REQUIRE(run_main_loop([] { return usock::lwip_raw::sockets_in_use() == 0; })); }

bool would_block(const usock::error_code& ec) { return ec == std::errc::resource_unavailable_try_again; }

}  // namespace

TEST_CASE("main loop: a non-blocking client and echo server in one thread move 256 KiB exactly",
          "[lwip_raw][main_loop]") {
  usock::address where;
  socket_t server = listen_on_loopback(2, where);
  server.setblocking(false);
  socket_t client;
  client.setblocking(false);
  usock::error_code ec;
  client.connect(where, ec);
  CHECK(ec == std::errc::operation_in_progress);

  const std::string payload = pattern(256 * 1024);
  std::string echoed;
  std::size_t sent = 0;
  std::optional<socket_t> conn;  // (a default-constructed socket_t would be an open socket)
  std::array<char, 2048> buf;
  std::string pending;  // bytes the server has read but not yet echoed
  const std::uint64_t polls_before = usock_test::stack().poll_calls();

  const bool finished = run_main_loop([&] {
    if (!conn) {
      auto [c, addr] = server.accept(ec);
      if (!ec) {
        CHECK(addr == client.getsockname());
        conn.emplace(std::move(c));
      } else {
        REQUIRE(would_block(ec));
      }
    }
    if (sent < payload.size()) {  // "never write while connecting": try-again until the handshake is done
      sent += client.send(std::string_view(payload).substr(sent, 4096), ec);
      REQUIRE((!ec || would_block(ec)));
    }
    if (conn) {
      if (pending.empty()) {
        const std::size_t n = conn->recv(buf, ec);
        REQUIRE((!ec || would_block(ec)));
        pending.assign(buf.data(), ec ? 0 : n);
      }
      if (!pending.empty()) {
        const std::size_t n = conn->send(pending, ec);
        REQUIRE((!ec || would_block(ec)));
        pending.erase(0, n);
      }
    }
    const std::size_t n = client.recv(buf, ec);
    REQUIRE((!ec || would_block(ec)));
    if (!ec) echoed.append(buf.data(), n);
    return echoed.size() == payload.size();
  });
  REQUIRE(finished);
  CHECK(echoed == payload);
  // Non-blocking calls never run the poll hook: the main loop services the stack.
  CHECK(usock_test::stack().poll_calls() == polls_before);

  client.shutdown(usock::shut_wr);
  std::size_t got = 0;
  REQUIRE(run_main_loop([&] {
    got = conn->recv(buf, ec);
    return !ec;
  }));
  CHECK(got == 0);  // EOF after all the data
}

TEST_CASE("main loop: blocking calls and timeouts run the poll hook, which services the stack",
          "[lwip_raw][main_loop]") {
  const std::uint64_t polls_before = usock_test::stack().poll_calls();
  auto [server, client, conn, addr] = connect_through_listener();
  CHECK(addr == client.getsockname());
  client.sendall("ping\n");
  CHECK(conn.readline() == "ping\n");
  CHECK(usock_test::stack().poll_calls() > polls_before);

  conn.settimeout(100ms);
  std::array<char, 8> buf;
  const auto start = steady_clock::now();
  usock::error_code ec;
  CHECK(conn.recv(buf, ec) == 0);
  CHECK(ec == std::errc::timed_out);
  CHECK(steady_clock::now() - start >= 100ms);

  conn.settimeout(std::nullopt);  // blocking: waits in the poll hook until the data is there
  client.sendall("pong");
  CHECK(conn.read(4) == "pong");
}

TEST_CASE("main loop: a non-blocking send on a full window reports try-again at once", "[lwip_raw][main_loop]") {
  auto [server, client, conn, addr] = connect_through_listener();
  client.setblocking(false);
  const std::string chunk = pattern(16 * 1024);
  usock::error_code ec;
  std::size_t total = 0;
  for (int i = 0; i < 1000 && !ec; ++i) {
    total += client.send(chunk, ec);
    usock_test::stack().service();  // let the peer acknowledge what fits in its window
  }
  REQUIRE(would_block(ec));
  const std::uint64_t polls_before = usock_test::stack().poll_calls();
  const auto start = steady_clock::now();
  for (int i = 0; i < 100; ++i) {
    CHECK(client.send(chunk, ec) == 0);
    CHECK(would_block(ec));
  }
  CHECK(steady_clock::now() - start < 1s);  // MicroPython's binding waits up to 10 s per call here
  CHECK(usock_test::stack().poll_calls() == polls_before);
  std::string expected;
  while (expected.size() < total) expected += chunk;
  expected.resize(total);
  conn.settimeout(std::nullopt);
  CHECK(conn.read(total) == expected);
}

TEST_CASE("main loop: connect_nowait, accept_nowait, recv_nowait and send_nowait never wait, even on blocking "
          "sockets",
          "[lwip_raw][main_loop]") {
  using usock::lwip_raw;
  const std::uint64_t polls_at_start = usock_test::stack().poll_calls();
  usock::address where;
  socket_t listener = listen_on_loopback(1, where);
  socket_t early;  // blocking: a plain connect would wait for the handshake in the poll hook
  usock::error_code ec;
  lwip_raw::connect_nowait(early.fileno(), where, ec);
  CHECK(ec == std::errc::operation_in_progress);
  CHECK(usock_test::stack().poll_calls() == polls_at_start);
  REQUIRE(run_main_loop([&] {
    lwip_raw::connect_result(early.fileno(), ec);
    return ec != std::errc::operation_in_progress;
  }));
  CHECK(!ec);
  early.close();
  listener.close();  // resets the connection nobody accepted
  settle();

  auto [server, client, conn, addr] = connect_through_listener();
  server.settimeout(std::nullopt);  // all three blocking: the plain calls would wait in the poll hook
  client.settimeout(std::nullopt);
  conn.settimeout(std::nullopt);
  const std::uint64_t polls_before = usock_test::stack().poll_calls();

  usock::address peer;
  CHECK(lwip_raw::accept_nowait(server.fileno(), peer, false, ec) == lwip_raw::invalid_handle);
  CHECK(would_block(ec));
  std::array<char, 64> buf;
  CHECK(lwip_raw::recv_nowait(conn.fileno(), buf, ec) == 0);
  CHECK(would_block(ec));

  // Fills lwIP's send buffer without servicing the stack: the call that finds it full reports try-again.
  const std::string chunk = pattern(4096);
  std::string sent;  // each call takes a prefix of `chunk`
  for (int i = 0; i < 1000; ++i) {
    const std::size_t n = lwip_raw::send_nowait(client.fileno(), chunk, ec);
    if (ec) break;
    REQUIRE(n > 0);
    sent.append(chunk, 0, n);
  }
  CHECK(would_block(ec));
  CHECK(!sent.empty());
  CHECK(usock_test::stack().poll_calls() == polls_before);

  // What was taken arrives, every byte.
  std::string received;
  REQUIRE(run_main_loop([&] {
    const std::size_t n = lwip_raw::recv_nowait(conn.fileno(), buf, ec);
    if (!ec) received.append(buf.data(), n);
    else REQUIRE(would_block(ec));
    return received.size() >= sent.size();
  }));
  CHECK(received == sent);
}

TEST_CASE("without a poll hook, a call that would wait reports operation_not_supported instead of hanging",
          "[lwip_raw][main_loop]") {
  usock::address where;
  socket_t server = listen_on_loopback(1, where);
  usock::lwip_raw::set_poll_hook(nullptr);
  usock::error_code ec;
  auto [conn, addr] = server.accept(ec);  // blocking, nothing pending
  CHECK(ec == std::errc::operation_not_supported);
  server.settimeout(50ms);
  server.accept(ec);
  CHECK(ec == std::errc::operation_not_supported);
  server.setblocking(false);
  server.accept(ec);
  CHECK(ec == std::errc::resource_unavailable_try_again);  // non-blocking calls need no hook
  usock_test::stack().install_hooks();
}

TEST_CASE("the socket pool: exhaustion is too_many_files_open and a closed slot is reusable",
          "[lwip_raw][pool]") {
  settle();
  std::vector<socket_t> sockets;
  usock::error_code ec;
  for (int i = 0; i < USOCK_LWIP_RAW_MAX_SOCKETS; ++i) {
    sockets.emplace_back(usock::af_inet, usock::sock_stream, ec);
    REQUIRE_FALSE(ec);
  }
  CHECK(usock::lwip_raw::sockets_in_use() == USOCK_LWIP_RAW_MAX_SOCKETS);
  socket_t extra(usock::af_inet, usock::sock_stream, ec);
  CHECK(ec == std::errc::too_many_files_open);
  CHECK_FALSE(extra.is_open());
  const auto old_handle = sockets.back().fileno();
  sockets.pop_back();
  socket_t again(usock::af_inet, usock::sock_stream, ec);
  REQUIRE_FALSE(ec);
  // The same slot, a different handle: the old one is stale and reaches nothing.
  CHECK((again.fileno() & 0xff) == (old_handle & 0xff));
  CHECK(again.fileno() != old_handle);
  CHECK(usock::lwip_raw::send(old_handle, usock::const_bytes("x"), ec) == 0);
  CHECK(ec == std::errc::bad_file_descriptor);
  usock::lwip_raw::close(old_handle, ec);
  CHECK(ec == std::errc::bad_file_descriptor);
  CHECK(again.is_open());
}

TEST_CASE("the socket pool: a connection that finds the pool full is reset", "[lwip_raw][pool]") {
  settle();
  usock::address where;
  socket_t server = listen_on_loopback(2, where);
  socket_t client;
  std::vector<socket_t> filler;
  usock::error_code ec;
  while (usock::lwip_raw::sockets_in_use() < USOCK_LWIP_RAW_MAX_SOCKETS) filler.emplace_back();
  client.settimeout(2s);
  client.connect(where, ec);  // the handshake completes in lwIP before the server side needs a slot
  if (!ec) {
    std::array<char, 4> buf;
    client.recv(buf, ec);
  }
  INFO(ec.message());
  CHECK((ec == std::errc::connection_reset || ec == std::errc::connection_refused));
}

TEST_CASE("the accept queue drops a connection that dies before accept, and keeps one at EOF",
          "[lwip_raw][accept]") {
  settle();
  usock::address where;
  socket_t server = listen_on_loopback(2, where);
  // A client on lwIP's raw API that connects and then resets, while its server side waits in the queue.
  bool up = false;
  tcp_pcb* raw = tcp_new_ip_type(IPADDR_TYPE_V4);
  REQUIRE(raw);
  tcp_arg(raw, &up);
  ip_addr_t ip;
  IP_ADDR4(&ip, 127, 0, 0, 1);
  REQUIRE(tcp_connect(raw, &ip, where.port(), [](void* arg, tcp_pcb*, err_t) {
            *static_cast<bool*>(arg) = true;
            return err_t{ERR_OK};
          }) == ERR_OK);
  REQUIRE(run_main_loop([&] { return up && usock::lwip_raw::sockets_in_use() == 2; }));  // listener + queued
  tcp_abort(raw);
  REQUIRE(run_main_loop([] { return usock::lwip_raw::sockets_in_use() == 1; }));
  server.setblocking(false);
  usock::error_code ec;
  server.accept(ec);
  CHECK(ec == std::errc::resource_unavailable_try_again);

  // A client that closes cleanly before being accepted: still accepted, at EOF.
  {
    socket_t client;
    client.settimeout(2s);
    client.connect(where);
    client.sendall("bye");
  }
  server.settimeout(2s);
  auto [conn, addr] = server.accept();
  CHECK(conn.read() == "bye");
}

TEST_CASE("a reset is sticky: data first, then connection_reset on every later call", "[lwip_raw][errors]") {
  auto [server, client, conn, addr] = connect_through_listener();
  conn.sendall("unread by the client");
  client.sendall("last words");
  REQUIRE(run_main_loop([&] { return readable(client); }));
  client.close();  // unread data: a reset after "last words"
  CHECK(conn.read(10) == "last words");
  std::array<char, 8> buf;
  for (int i = 0; i < 3; ++i) {
    usock::error_code ec;
    CHECK(conn.recv(buf, ec) == 0);
    CHECK(ec == std::errc::connection_reset);
    conn.send("x", ec);
    CHECK(ec == std::errc::connection_reset);
  }
}

TEST_CASE("close keeps sending queued data, then hands the connection to lwIP", "[lwip_raw][close]") {
  settle();
  auto [server, client, conn, addr] = connect_through_listener();
  const std::string payload = pattern(200 * 1024);  // far more than the peer's window
  conn.setblocking(false);
  std::size_t sent = 0;
  usock::error_code ec;
  while (!ec) sent += conn.send(std::string_view(payload).substr(sent), ec);
  REQUIRE(would_block(ec));
  conn.close();  // returns at once; the slot keeps the data going
  CHECK(usock::lwip_raw::sockets_in_use() == 3);
  CHECK(client.read() == std::string_view(payload).substr(0, sent));  // everything, then EOF
  CHECK(usock::lwip_raw::sockets_in_use() == 2);
}

TEST_CASE("close gives up on a peer that stops reading after the close timeout, with a reset",
          "[lwip_raw][close]") {
  settle();
  auto [server, client, conn, addr] = connect_through_listener();
  const std::string payload = pattern(200 * 1024);
  conn.setblocking(false);
  std::size_t sent = 0;
  usock::error_code ec;
  while (!ec) {
    sent += conn.send(std::string_view(payload).substr(sent), ec);
    usock_test::stack().service();
  }
  conn.close();
  const auto start = steady_clock::now();
  REQUIRE(run_main_loop([] { return usock::lwip_raw::sockets_in_use() == 2; }));
  CHECK(steady_clock::now() - start >= 300ms);  // USOCK_LWIP_RAW_CLOSE_TIMEOUT_MS
  std::vector<char> buf(sent);
  client.readinto(buf, ec);
  CHECK(ec == std::errc::connection_reset);
}
