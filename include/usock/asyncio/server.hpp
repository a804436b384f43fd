#pragma once
/// \file
/// `usock::asyncio::start_server` and `basic_server`: MicroPython's `asyncio.start_server` and `Server`.

#include <cstddef>
#include <cstdint>
#include <new>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

#include "../address.hpp"
#include "../basic_socket.hpp"
#include "arena.hpp"
#include "config.hpp"
#include "event.hpp"
#include "funcs.hpp"
#include "io_op.hpp"
#include "stream.hpp"
#include "task.hpp"

namespace usock::asyncio {

template <polling_backend Backend = default_backend, std::size_t Capacity = USOCK_ASYNCIO_CAPACITY>
class basic_server;

namespace detail {

/// What the server object, its accepting task and its running connections share; freed by the last of them
/// (the handler in it stays until every connection has finished).
template <polling_backend Backend, std::size_t Capacity>
struct server_state {
  basic_socket<Backend> listener = basic_socket<Backend>::adopt(Backend::invalid_handle);
  basic_loop<Backend, Capacity>* loop = nullptr;
  task_handle<> acceptor;
  event closed;        // the listener is closed
  std::size_t live = 0;       // connection tasks running
  std::size_t accepted = 0;   // connections accepted
  std::size_t dropped = 0;    // connections closed for want of a frame
  std::size_t failures = 0;   // accept calls that failed
  // Accept pacing (see `acceptor`): whether connections are queueing up, and the poll of the last accept.
  bool queueing = true;
  std::uint32_t accepted_at_poll = 0;  // 0: none yet
  std::size_t owners = 2;  // the server object, the accepting task, each running connection
  void (*destroy)(server_state*) noexcept = nullptr;

  void release() noexcept {
    if (--owners == 0) destroy(this);
  }
};

template <polling_backend Backend, std::size_t Capacity, class Handler>
struct server_state_for : server_state<Backend, Capacity> {
  Handler handler;
  explicit server_state_for(Handler&& h) : handler(std::move(h)) {}
};

/// `accept` on the listener, waiting when there is nobody.
///
/// Paced by what the last accepts found. Connections arriving one at a time are accepted once per readiness
/// report, the next accept waiting for the next report (MicroPython's order): trying again at once would find
/// nobody, and on Linux an accept that finds nobody still makes a socket and its file in the kernel, and frees
/// them. Connections queueing up (the listener reported in two polls in a row) are accepted back to back until
/// one finds nobody, not one per turn of the loop.
template <polling_backend Backend, std::size_t Capacity>
struct acceptor : io_op<acceptor<Backend, Capacity>, basic_loop<Backend, Capacity>> {
  static constexpr unsigned event = pollin;
  server_state<Backend, Capacity>* st;
  typename Backend::handle_type conn = Backend::invalid_handle;
  acceptor(server_state<Backend, Capacity>* s, usock::error_code* e) noexcept
      : io_op<acceptor, basic_loop<Backend, Capacity>>(s->loop, e), st(s) {}
  typename Backend::handle_type handle() const noexcept { return st->listener.fileno(); }
  bool attempt() noexcept {
    const bool after_report = this->reported != 0;  // false: the try before any wait
    if (!after_report && !st->queueing) return false;
    address peer;
    conn = accept_nowait<Backend>(st->listener.fileno(), peer, true, this->result);
    if (would_block(this->result)) {
      if (!after_report) st->queueing = false;
      return false;
    }
    const std::uint32_t poll = st->loop->polls();
    if (after_report) st->queueing = st->accepted_at_poll != 0 && poll == st->accepted_at_poll + 1;
    st->accepted_at_poll = poll;
    return true;
  }
  void finish() noexcept {}
  typename Backend::handle_type await_resume() {
    this->complete("accept");
    return this->result ? Backend::invalid_handle : conn;
  }
};

/// Counts a connection's task out of its server when the task finishes (returned, threw, or ended with the
/// loop), and lets go of the server's state (which holds the handler): told by the loop as a task awaiting it
/// would be, from a block of its own in the arena (64 bytes: a task awaiting the handler would take a frame).
/// A handler's exception ends its connection, not the server: it goes with the detached task's frame.
template <polling_backend Backend, std::size_t Capacity>
struct connection_node : join_node {
  server_state<Backend, Capacity>* st;
  explicit connection_node(server_state<Backend, Capacity>* s) noexcept : st(s) { done = &finished; }
  static void finished(join_node& j) noexcept {
    server_state<Backend, Capacity>* s = static_cast<connection_node&>(j).st;
    free_frame(&j, sizeof(connection_node));
    --s->live;
    s->release();
  }
};

template <polling_backend Backend, std::size_t Capacity, class Handler>
task<> accept_loop(server_state_for<Backend, Capacity, Handler>* st) {
  using socket_type = basic_socket<Backend>;
  for (;;) {
    usock::error_code ec;
    const auto h = co_await acceptor<Backend, Capacity>(st, &ec);
    if (is(ec, std::errc::operation_canceled) || !st->listener.is_open()) break;
    if (ec) {  // out of descriptors, say: count it, let the others run, go on
      ++st->failures;
      co_await sleep_ms(1, ec);
      if (is(ec, std::errc::operation_canceled)) break;
      continue;
    }
    ++st->accepted;
    // A task of its own, detached: runs until its handler returns.
    const auto frame =
        st->handler(basic_stream<Backend, Capacity>(socket_type::adopt(h, std::chrono::milliseconds(0)))).release();
    if (!frame) {  // no frame for it: the stream went with the call, closing the connection
      ++st->dropped;
      continue;
    }
    void* node = allocate_frame(sizeof(connection_node<Backend, Capacity>));
    if (!node) {
      frame.destroy();  // closes the connection
      ++st->dropped;
      continue;
    }
    task_state& conn = frame.promise().own_;
    conn.joiners = ::new (node) connection_node<Backend, Capacity>(st);
    ++st->live;
    ++st->owners;
    st->loop->spawn(conn, frame);
    conn.detached = true;
  }
  usock::error_code ignored;
  st->listener.close(ignored);
  st->closed.set();
  st->release();
}

}  // namespace detail

/// What `start_server` gives: `close()`, `await wait_closed()`, `getsockname()`. Destroying it closes the
/// server (running connections go on, with their handler).
template <polling_backend Backend, std::size_t Capacity>
class basic_server {
 public:
  basic_server() noexcept = default;
  basic_server(basic_server&& o) noexcept : st_(std::exchange(o.st_, nullptr)) {}
  basic_server& operator=(basic_server&& o) noexcept {
    if (this != &o) {
      reset();
      st_ = std::exchange(o.st_, nullptr);
    }
    return *this;
  }
  ~basic_server() { reset(); }

  /// False for a server that failed to start.
  explicit operator bool() const noexcept { return st_ != nullptr; }

  /// `server.close()`: stops accepting (the listener closes as the accepting task ends); connection tasks go on.
  void close() noexcept {
    if (st_ && !st_->acceptor.done()) st_->acceptor.cancel();
  }
  /// `await server.wait_closed()`: until the accepting task has closed the listener.
  auto wait_closed(usock::error_code& ec) noexcept { return closed_event().wait(ec); }
#if USOCK_HAS_EXCEPTIONS
  auto wait_closed() noexcept { return closed_event().wait(); }
#endif
  /// The listening address (port 0 picked a free port: read it here). Errors: `bad_file_descriptor` (closed).
  address getsockname(usock::error_code& ec) const noexcept {
    if (!st_) return ec = usock::detail::make_error(std::errc::bad_file_descriptor), address{};
    return st_->listener.getsockname(ec);
  }
#if USOCK_HAS_EXCEPTIONS
  address getsockname() const {
    usock::error_code ec;
    address a = getsockname(ec);
    usock::detail::throw_if(ec, "server.getsockname");
    return a;
  }
#endif
  /// Connections accepted; connections closed at once because no frame could be allocated for their task;
  /// failed accepts; connection tasks running now.
  std::size_t accepted() const noexcept { return st_ ? st_->accepted : 0; }
  std::size_t dropped() const noexcept { return st_ ? st_->dropped : 0; }
  std::size_t failures() const noexcept { return st_ ? st_->failures : 0; }
  std::size_t running() const noexcept { return st_ ? st_->live : 0; }

  /// Starts a server (see `start_server`).
  template <class Handler>
  static basic_server start(Handler handler, std::string_view host, std::uint16_t port, int backlog,
                            usock::error_code& ec) {
    return start(std::move(handler), where(host, port), backlog, ec);
  }
  /// As above, on an address already parsed (`where(host, port)`: an invalid one gives `invalid_argument`).
  template <class Handler>
  static basic_server start(Handler handler, const address& where, int backlog, usock::error_code& ec) {
    using state = detail::server_state_for<Backend, Capacity, Handler>;
    auto* loop = detail::current_loop<Backend, Capacity>();
    if (!loop) return ec = usock::detail::make_error(std::errc::operation_not_permitted), basic_server{};
    if (!where.valid()) return ec = usock::detail::make_error(std::errc::invalid_argument), basic_server{};
    void* block = detail::allocate_frame(sizeof(state));
    if (!block) return ec = usock::detail::make_error(std::errc::not_enough_memory), basic_server{};
    auto* st = ::new (block) state(std::move(handler));
    st->destroy = [](detail::server_state<Backend, Capacity>* s) noexcept {
      static_cast<state*>(s)->~state();
      detail::free_frame(s, sizeof(state));
    };
    st->loop = loop;
    st->listener = basic_socket<Backend>(where.family(), sock_stream, ec);
    if (!ec) st->listener.setsockopt(sol_socket, so_reuseaddr, 1, ec);
    if (!ec) st->listener.bind(where, ec);
    if (!ec) st->listener.listen(backlog, ec);
    if (!ec) st->listener.setblocking(false, ec);
    if (!ec) {
      const auto frame = detail::accept_loop<Backend, Capacity, Handler>(st).release();
      if (frame) {
        loop->spawn(frame.promise().own_, frame);
        st->acceptor = task_handle<>(frame);
      } else {
        ec = usock::detail::make_error(std::errc::not_enough_memory);
      }
    }
    if (ec) {
      st->destroy(st);
      return basic_server{};
    }
    basic_server s;
    s.st_ = st;
    return s;
  }

 private:
  event& closed_event() noexcept {
    static USOCK_ASYNCIO_THREAD_LOCAL event always_set;  // a server that never started is closed
    always_set.set();
    return st_ ? st_->closed : always_set;
  }
  void reset() noexcept {
    if (!st_) return;
    close();
    std::exchange(st_, nullptr)->release();
  }
  detail::server_state<Backend, Capacity>* st_ = nullptr;

 public:
  /// The address `start` listens on: `host` (`""`: `0.0.0.0`) and `port`. Inline, so that for a literal host
  /// the compiler settles which parser runs (a firmware naming only IPv4 addresses links no IPv6 parser).
  static address where(std::string_view host, std::uint16_t port) noexcept {
    return address(host.empty() ? std::string_view("0.0.0.0") : host, port);
  }
};

namespace detail {
/// The result of `start_server`, ready at once (the server starts synchronously; awaitable as in MicroPython).
template <polling_backend Backend, std::size_t Capacity>
struct started_server {
  basic_server<Backend, Capacity> server;
  usock::error_code result;
  usock::error_code* ec;
  bool await_ready() const noexcept { return true; }
  void await_suspend(std::coroutine_handle<>) const noexcept {}
  basic_server<Backend, Capacity> await_resume() {
    report(ec, result, "start_server");
    return std::move(server);
  }
};
}  // namespace detail

/// `await asyncio.start_server(handler, host, port, backlog=5)`: listens on `host:port` (SO_REUSEADDR; port 0
/// picks a free port, `getsockname()` tells which) and runs `handler(stream)` as a task of its own for each
/// connection; `handler` is any callable taking `basic_stream` by value and returning `task<>`. A connection
/// whose task cannot get a frame is closed and counted (`dropped()`), and the server goes on. Errors:
/// `address_in_use`, `invalid_argument` (a bad address), `not_enough_memory`, `operation_not_permitted` (no
/// loop runs on this thread).
template <polling_backend Backend = default_backend, std::size_t Capacity = USOCK_ASYNCIO_CAPACITY, class Handler>
detail::started_server<Backend, Capacity> start_server(Handler handler, std::string_view host, std::uint16_t port,
                                                       int backlog, usock::error_code& ec) {
  usock::error_code result;
  using server = basic_server<Backend, Capacity>;
  auto s = server::start(std::move(handler), server::where(host, port), backlog, result);
  return {std::move(s), result, &ec};
}
template <polling_backend Backend = default_backend, std::size_t Capacity = USOCK_ASYNCIO_CAPACITY, class Handler>
detail::started_server<Backend, Capacity> start_server(Handler handler, std::string_view host, std::uint16_t port,
                                                       usock::error_code& ec) {
  return start_server<Backend, Capacity>(std::move(handler), host, port, 5, ec);
}
#if USOCK_HAS_EXCEPTIONS
template <polling_backend Backend = default_backend, std::size_t Capacity = USOCK_ASYNCIO_CAPACITY, class Handler>
detail::started_server<Backend, Capacity> start_server(Handler handler, std::string_view host, std::uint16_t port,
                                                       int backlog = 5) {
  usock::error_code result;
  using server = basic_server<Backend, Capacity>;
  auto s = server::start(std::move(handler), server::where(host, port), backlog, result);
  return {std::move(s), result, nullptr};
}
#endif

}  // namespace usock::asyncio
