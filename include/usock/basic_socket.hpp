#pragma once
/// \file
/// `usock::basic_socket<Backend>`: a TCP socket whose calls read like MicroPython's and CPython's `socket`.

#include <climits>
#include <cstddef>
#include <cstring>
#include <limits>
#include <new>
#include <optional>
#include <type_traits>
#include <string>
#include <system_error>
#include <utility>

#include "address.hpp"
#include "backend.hpp"
#include "buffer.hpp"
#include "constants.hpp"
#include "detail/chrono.hpp"
#include "detail/read_buffer.hpp"
#include "detail/platform.hpp"
#include "error.hpp"

#ifndef USOCK_LINE_LIMIT
#if USOCK_HOSTED_OS
#define USOCK_LINE_LIMIT 65536
#else
#define USOCK_LINE_LIMIT 4096
#endif
#endif

namespace usock {

/// The longest line `readline()` returns, its `\n` included (`USOCK_LINE_LIMIT`: 64 KiB on a hosted system, as
/// CPython's asyncio streams, 4 KiB on firmware); a longer one is `message_size`, losing nothing.
inline constexpr std::size_t default_line_limit = USOCK_LINE_LIMIT;

/// What `accept()` returns: `auto [conn, addr] = server.accept();`.
template <class Socket>
struct accept_result {
  Socket conn;   ///< the new connection; closed (`fileno()` invalid) when the call failed
  address addr;  ///< the peer's address; invalid when the call failed
};

/// A TCP socket on the network stack `Backend`. Move-only; the destructor closes it and ignores errors.
///
/// Every call has two forms: one that throws `usock::error` and a `noexcept` one taking a trailing
/// `usock::error_code&` (the only one in builds without exceptions). Errors are reported as `std::errc` values:
/// - a closed socket: `bad_file_descriptor`; an invalid `address`: `invalid_argument`;
/// - a timeout that runs out: `timed_out`; a non-blocking call that would block: `resource_unavailable_try_again`;
///   a non-blocking `connect`: `operation_in_progress`;
/// - `connection_refused`, `connection_reset` (after all data the peer sent before resetting), `address_in_use`,
///   `broken_pipe`, and whatever else the stack reports, by its `std::errc` name.
///
/// Timeouts (`settimeout`) work as in CPython: none (the default) blocks, zero never blocks, a duration is a
/// deadline for the whole call, `sendall` and the stream methods included. Signals never interrupt a call.
template <socket_backend Backend>
class basic_socket {
 public:
  using backend_type = Backend;
  using handle_type = typename Backend::handle_type;
  /// The unit of `gettimeout()`; `settimeout` accepts any duration and rounds it up to this unit.
  using duration = std::chrono::milliseconds;

#if USOCK_HAS_EXCEPTIONS
  /// `socket.socket(family, type)`: an open, blocking socket. Throws `usock::error` if the stack refuses
  /// (`too_many_files_open`, `not_enough_memory`, `address_family_not_supported`).
  explicit basic_socket(address_family family = af_inet, socket_type type = sock_stream) {
    usock::error_code ec;
    handle_ = Backend::open(family, type, ec);
    detail::throw_if(ec, "socket");
  }
#endif
  /// As above; on failure the socket is closed and `ec` says why.
  basic_socket(address_family family, socket_type type, usock::error_code& ec) noexcept
      : handle_(Backend::open(family, type, ec)) {}
  /// An `af_inet` stream socket; on failure the socket is closed and `ec` says why.
  explicit basic_socket(usock::error_code& ec) noexcept : basic_socket(af_inet, sock_stream, ec) {}

  basic_socket(basic_socket&& other) noexcept
      : handle_(std::exchange(other.handle_, Backend::invalid_handle)),
        timeout_ms_(other.timeout_ms_),
        buffer_(std::exchange(other.buffer_, nullptr)) {}
  basic_socket& operator=(basic_socket&& other) noexcept {
    if (this != &other) {
      release();
      handle_ = std::exchange(other.handle_, Backend::invalid_handle);
      timeout_ms_ = other.timeout_ms_;
      buffer_ = std::exchange(other.buffer_, nullptr);
    }
    return *this;
  }
  basic_socket(const basic_socket&) = delete;
  basic_socket& operator=(const basic_socket&) = delete;
  ~basic_socket() { release(); }

  /// Takes ownership of a handle the backend made (an accepted socket, say). The socket is blocking unless
  /// `timeout` says otherwise; the handle must already be in that mode.
  static basic_socket adopt(handle_type handle, std::optional<duration> timeout = std::nullopt) noexcept {
    basic_socket s{handle};
    s.timeout_ms_ = timeout ? static_cast<std::int32_t>(timeout->count()) : no_timeout;
    return s;
  }

  /// The stack's handle (a descriptor on POSIX); `Backend::invalid_handle` once closed, as CPython's -1.
  handle_type fileno() const noexcept { return handle_; }
  /// False once closed or moved from.
  bool is_open() const noexcept { return handle_ != Backend::invalid_handle; }
  explicit operator bool() const noexcept { return is_open(); }

  // ---- connection set-up -------------------------------------------------------------------------------

  /// `connect(addr)`: opens the connection, within the timeout if one is set. Errors: `connection_refused`,
  /// `timed_out`, `operation_in_progress` (timeout zero; the connection completes in the background),
  /// `connection_already_in_progress`, `already_connected`, `network_unreachable`, `invalid_argument`.
  void connect(const address& addr, usock::error_code& ec) noexcept {
    if (!check(addr, ec)) return;
    const auto deadline = start_deadline();
    Backend::connect(handle_, addr, ec);
    if (timeout_ms_ > 0 && detail::is(ec, std::errc::operation_in_progress)) {
      ec.clear();
      if (wait_until(wait_for::write, deadline, ec)) Backend::connect_result(handle_, ec);
    }
  }

  /// `bind(addr)`: `address{"", port}` or `{"0.0.0.0", port}` listens on every interface; port 0 picks a free
  /// port (read it back with `getsockname()`). Errors: `address_in_use`, `address_not_available`,
  /// `invalid_argument` (an invalid address, or a socket bound already).
  void bind(const address& addr, usock::error_code& ec) noexcept {
    if (check(addr, ec)) Backend::bind(handle_, addr, ec);
  }

  /// `listen(backlog)`: a negative backlog counts as 0.
  void listen(int backlog, usock::error_code& ec) noexcept {
    if (check(ec)) Backend::listen(handle_, backlog < 0 ? 0 : backlog, ec);
  }
  /// `listen()` with the backend's default backlog (`Backend::default_backlog`).
  void listen(usock::error_code& ec) noexcept { listen(Backend::default_backlog, ec); }

  /// `accept()`: waits for a connection (within the timeout) and returns it with the peer's address. The new
  /// socket inherits this socket's timeout. Errors: `resource_unavailable_try_again` (timeout zero),
  /// `timed_out`, `too_many_files_open`, `invalid_argument` (not listening).
  accept_result<basic_socket> accept(usock::error_code& ec) noexcept {
    accept_result<basic_socket> result{basic_socket{Backend::invalid_handle}, address{}};
    if (!check(ec)) return result;
    const bool nonblocking = timeout_ms_ != no_timeout;
    const handle_type h = retry(wait_for::read, start_deadline(), ec, [&] {
      return Backend::accept(handle_, result.addr, nonblocking, ec);
    });
    if (!ec) {
      result.conn.handle_ = h;
      result.conn.timeout_ms_ = timeout_ms_;
    } else {
      result.addr = address{};
    }
    return result;
  }

  // ---- sending ------------------------------------------------------------------------------------------

  /// `send(bytes)`: one call; returns how many bytes the stack took, which may be fewer than given.
  /// Never raises `SIGPIPE`: a closed peer is `broken_pipe` or `connection_reset`.
  std::size_t send(const_bytes data, usock::error_code& ec) noexcept {
    if (!check(ec)) return 0;
    return retry(wait_for::write, start_deadline(), ec, [&] { return Backend::send(handle_, data, ec); });
  }

  /// `sendall(bytes)`: sends everything, with one deadline for the whole call. Returns the bytes sent, which
  /// are all of them unless `ec` is set: then it is how many went out before the error.
  std::size_t sendall(const_bytes data, usock::error_code& ec) noexcept {
    if (!check(ec)) return 0;
    const auto deadline = start_deadline();
    std::size_t sent = 0;
    while (sent < data.size()) {
      sent += retry(wait_for::write, deadline, ec, [&] { return Backend::send(handle_, data.subspan(sent), ec); });
      if (ec) break;
    }
    return sent;
  }

  /// `write(bytes)` (MicroPython's stream method): as `sendall`, except that a non-blocking socket returns
  /// the bytes it could send without an error, and reports `resource_unavailable_try_again` only when it could
  /// send none.
  std::size_t write(const_bytes data, usock::error_code& ec) noexcept {
    const std::size_t sent = sendall(data, ec);
    if (sent > 0 && timeout_ms_ == 0 && detail::is(ec, std::errc::resource_unavailable_try_again)) ec.clear();
    return sent;
  }

  // ---- receiving ----------------------------------------------------------------------------------------

  /// `recv(buffer)`: one call; returns the bytes received (at most `buffer.size()`), 0 when the peer has closed
  /// its side. After a reset, the data the peer sent first comes back, then `connection_reset`.
  std::size_t recv(mutable_bytes buffer, usock::error_code& ec) noexcept {
    if (!check(ec)) return 0;
    if (buffered() != 0) return take_buffered(buffer);
    if (buffer.empty()) return 0;
    return recv_direct(buffer, start_deadline(), ec);
  }

  /// `recv(max)`: as above, returning a string of at most `max` bytes ("" when the peer has closed).
  std::string recv(std::size_t max, usock::error_code& ec) {
    std::string data(max, '\0');
    data.resize(recv(mutable_bytes(data), ec));
    return data;
  }

  /// `readinto(buffer)`: reads until the buffer is full or the peer closes; returns the bytes read. On an
  /// error, the return value is how many bytes were read into `buffer` before it.
  std::size_t readinto(mutable_bytes buffer, usock::error_code& ec) noexcept {
    if (!check(ec)) return 0;
    const auto deadline = start_deadline();
    std::size_t got = take_buffered(buffer);
    while (got < buffer.size()) {
      const std::size_t n = recv_direct(buffer.subspan(got), deadline, ec);
      if (n == 0) break;
      got += n;
    }
    return got;
  }

  /// `read(n)`: reads until `n` bytes or the peer closes. On an error, returns what was read before it.
  std::string read(std::size_t n, usock::error_code& ec) {
    std::string data(n, '\0');
    data.resize(readinto(mutable_bytes(data), ec));
    return data;
  }

  /// `read()`: reads until the peer closes. On an error, returns what was read before it.
  std::string read(usock::error_code& ec) {
    std::string data;
    if (!check(ec)) return data;
    const auto deadline = start_deadline();
    std::size_t got = 0;
    for (;;) {
      if (data.size() - got < read_chunk) {
        const std::size_t doubled = data.size() * 2;
        data.resize(doubled > got + read_chunk ? doubled : got + read_chunk);
      }
      const std::size_t n = recv_some(mutable_bytes(data).subspan(got), deadline, ec);
      if (n == 0) break;
      got += n;
    }
    data.resize(got);
    return data;
  }

  /// `readline()`: reads through the next `\n` (included), or to EOF. Reads in blocks, keeping what follows
  /// the line in the socket for the next call (`recv` and the other reads return it first). On an error,
  /// returns the partial line read before it. A line longer than `usock::default_line_limit` bytes (a peer that
  /// never sends `\n` must not exhaust memory) is `message_size`, with the first `default_line_limit` bytes
  /// returned; the throwing form puts them back instead, so the next read returns them.
  std::string readline(usock::error_code& ec) {
    std::string line;
    readline(line, default_line_limit, ec);
    return line;
  }

  /// `readline()` into `line`, as `std::getline`: `line` is cleared first and its capacity reused, so reading
  /// many lines into one string allocates only when a line is longer than any before. Returns `line.size()`
  /// (0 at EOF). On an error, `line` holds the partial line read before it.
  std::size_t readline(std::string& line, usock::error_code& ec) { return readline(line, default_line_limit, ec); }

  /// `readline()` with a line limit of its own: a line of more than `limit` bytes, its `\n` included, is
  /// `message_size`, with its first `limit` bytes in `line` (nothing is lost: the rest stays in the socket).
  /// Errors: as `recv`; `invalid_argument` for a limit of 0.
  std::size_t readline(std::string& line, std::size_t limit, usock::error_code& ec) {
    if (buffered() != 0) {  // the usual case: the whole line is buffered already
      const std::string_view view = buffer_->view();
      if (const std::size_t nl = view.find('\n'); nl != std::string_view::npos && nl < limit) {
        line.assign(view.data(), nl + 1);
        buffer_->consume(nl + 1);
        if (ec) ec.clear();
        return line.size();
      }
    }
    line.clear();
    if (!check(ec)) return 0;
    if (limit == 0) return ec = detail::make_error(std::errc::invalid_argument), 0;
    const auto deadline = start_deadline();
    for (;;) {
      if (buffered() != 0) {
        const std::string_view view = buffer_->view();
        const std::size_t room = limit - line.size();
        const std::size_t nl = view.find('\n');
        if (nl != std::string_view::npos && nl < room) {
          line.append(view.data(), nl + 1);
          buffer_->consume(nl + 1);
          return line.size();
        }
        const std::size_t take = view.size() < room ? view.size() : room;
        line.append(view.data(), take);
        buffer_->consume(take);
        if (line.size() == limit) return ec = detail::make_error(std::errc::message_size), line.size();
      }
      if (!ensure_buffer(ec)) return line.size();
      const std::size_t n = recv_direct(buffer_->free_space(), deadline, ec);
      if (n == 0) return line.size();
      buffer_->commit(n);
    }
  }

  // ---- options and state --------------------------------------------------------------------------------

  /// `setsockopt(level, option, value)`. A pair that does not belong together (`sol_socket, tcp_nodelay`) or
  /// that the stack lacks is `no_protocol_option`.
  void setsockopt(option_level level, socket_option option, int value, usock::error_code& ec) noexcept {
    if (check(ec)) Backend::setsockopt(handle_, level, option, value, ec);
  }
  /// `getsockopt(level, option)`.
  int getsockopt(option_level level, socket_option option, usock::error_code& ec) const noexcept {
    return check(ec) ? Backend::getsockopt(handle_, level, option, ec) : 0;
  }

  /// `settimeout(None)`: every call blocks until done.
  void settimeout(std::nullopt_t, usock::error_code& ec) noexcept { set_timeout_ms(no_timeout, ec); }
  /// `settimeout(t)`: zero makes every call non-blocking; a positive duration is a deadline for each call.
  /// Durations are rounded up to milliseconds; a negative one, or one longer than `INT32_MAX` ms, is
  /// `invalid_argument`.
  template <class Rep, class Period>
  void settimeout(std::chrono::duration<Rep, Period> timeout, usock::error_code& ec) noexcept {
    if (timeout < timeout.zero() || std::chrono::ceil<duration>(timeout).count() > INT32_MAX) {
      ec = detail::make_error(std::errc::invalid_argument);
      return;
    }
    set_timeout_ms(static_cast<std::int32_t>(std::chrono::ceil<duration>(timeout).count()), ec);
  }
  /// As above, taking what `gettimeout()` returns.
  void settimeout(std::optional<duration> timeout, usock::error_code& ec) noexcept {
    if (timeout) settimeout(*timeout, ec); else settimeout(std::nullopt, ec);
  }
  /// `gettimeout()`: `std::nullopt` when blocking.
  std::optional<duration> gettimeout() const noexcept {
    if (timeout_ms_ == no_timeout) return std::nullopt;
    return duration{timeout_ms_};
  }
  /// `setblocking(flag)`: `true` is `settimeout(std::nullopt)`, `false` is `settimeout(0s)`.
  void setblocking(bool blocking, usock::error_code& ec) noexcept { set_timeout_ms(blocking ? no_timeout : 0, ec); }

  /// `shutdown(how)`: ends reading, writing or both without closing. Errors: `not_connected`.
  void shutdown(shutdown_how how, usock::error_code& ec) noexcept {
    if (check(ec)) Backend::shutdown(handle_, how, ec);
  }
  /// `getsockname()`: the local address.
  address getsockname(usock::error_code& ec) const noexcept {
    return check(ec) ? Backend::local_address(handle_, ec) : address{};
  }
  /// `getpeername()`: the peer's address. Errors: `not_connected`.
  address getpeername(usock::error_code& ec) const noexcept {
    return check(ec) ? Backend::peer_address(handle_, ec) : address{};
  }

  /// `close()`: idempotent; afterwards every call reports `bad_file_descriptor`. Unread buffered data is
  /// dropped.
  void close(usock::error_code& ec) noexcept {
    ec.clear();
    drop_buffer();
    if (is_open()) Backend::close(std::exchange(handle_, Backend::invalid_handle), ec);
  }

#if USOCK_HAS_EXCEPTIONS
  // The throwing forms: each calls the `error_code` form above and throws `usock::error` if it reported an
  // error. The reading calls lose nothing when they throw: what they had read before the error is put back
  // into the socket, and the next read returns it first. `sendall` cannot take bytes back: use its
  // `error_code` form to learn how many went out before an error.
  void connect(const address& addr) {
    throwing("connect", [&](usock::error_code& ec) { connect(addr, ec); });
  }
  void bind(const address& addr) {
    throwing("bind", [&](usock::error_code& ec) { bind(addr, ec); });
  }
  void listen(int backlog) {
    throwing("listen", [&](usock::error_code& ec) { listen(backlog, ec); });
  }
  void listen() { listen(Backend::default_backlog); }
  accept_result<basic_socket> accept() {
    return throwing("accept", [&](usock::error_code& ec) { return accept(ec); });
  }
  std::size_t send(const_bytes data) {
    return throwing("send", [&](usock::error_code& ec) { return send(data, ec); });
  }
  void sendall(const_bytes data) {
    throwing("sendall", [&](usock::error_code& ec) { sendall(data, ec); });
  }
  std::size_t write(const_bytes data) {
    return throwing("write", [&](usock::error_code& ec) { return write(data, ec); });
  }
  std::size_t recv(mutable_bytes buffer) {
    return throwing("recv", [&](usock::error_code& ec) { return recv(buffer, ec); });
  }
  std::string recv(std::size_t max) {
    return throwing("recv", [&](usock::error_code& ec) { return recv(max, ec); });
  }
  std::size_t readinto(mutable_bytes buffer) {
    usock::error_code ec;
    const std::size_t got = readinto(buffer, ec);
    if (ec) put_back_and_throw(buffer.first(got), ec, "readinto");
    return got;
  }
  std::string read(std::size_t n) {
    usock::error_code ec;
    std::string data = read(n, ec);
    if (ec) put_back_and_throw(data, ec, "read");
    return data;
  }
  std::string read() {
    usock::error_code ec;
    std::string data = read(ec);
    if (ec) put_back_and_throw(data, ec, "read");
    return data;
  }
  std::string readline() {
    std::string line;
    readline(line);
    return line;
  }
  std::size_t readline(std::string& line) { return readline(line, default_line_limit); }
  std::size_t readline(std::string& line, std::size_t limit) {
    usock::error_code ec;
    readline(line, limit, ec);
    if (ec) {
      put_back_and_throw(line, ec, "readline");
    }
    return line.size();
  }
  void setsockopt(option_level level, socket_option option, int value) {
    throwing("setsockopt", [&](usock::error_code& ec) { setsockopt(level, option, value, ec); });
  }
  int getsockopt(option_level level, socket_option option) const {
    return throwing("getsockopt", [&](usock::error_code& ec) { return getsockopt(level, option, ec); });
  }
  void settimeout(std::nullopt_t) {
    throwing("settimeout", [&](usock::error_code& ec) { settimeout(std::nullopt, ec); });
  }
  template <class Rep, class Period>
  void settimeout(std::chrono::duration<Rep, Period> timeout) {
    throwing("settimeout", [&](usock::error_code& ec) { settimeout(timeout, ec); });
  }
  void settimeout(std::optional<duration> timeout) {
    throwing("settimeout", [&](usock::error_code& ec) { settimeout(timeout, ec); });
  }
  void setblocking(bool blocking) {
    throwing("setblocking", [&](usock::error_code& ec) { setblocking(blocking, ec); });
  }
  void shutdown(shutdown_how how) {
    throwing("shutdown", [&](usock::error_code& ec) { shutdown(how, ec); });
  }
  address getsockname() const {
    return throwing("getsockname", [&](usock::error_code& ec) { return getsockname(ec); });
  }
  address getpeername() const {
    return throwing("getpeername", [&](usock::error_code& ec) { return getpeername(ec); });
  }
  void close() {
    throwing("close", [&](usock::error_code& ec) { close(ec); });
  }
#endif

 private:
  static constexpr std::int32_t no_timeout = -1;
  static constexpr std::size_t read_chunk = 4096;
  using clock = typename Backend::clock;
  using time_point = typename clock::time_point;

  explicit basic_socket(handle_type handle) noexcept : handle_(handle) {}

  void release() noexcept {
    drop_buffer();
    if (is_open()) {
      usock::error_code ignored;
      Backend::close(handle_, ignored);
      handle_ = Backend::invalid_handle;
    }
  }

  bool check(usock::error_code& ec) const noexcept {
    if (is_open()) {
      ec.clear();
      return true;
    }
    ec = detail::make_error(std::errc::bad_file_descriptor);
    return false;
  }
  bool check(const address& addr, usock::error_code& ec) const noexcept {
    if (!check(ec)) return false;
    if (addr.valid()) return true;
    ec = detail::make_error(std::errc::invalid_argument);
    return false;
  }

  void set_timeout_ms(std::int32_t ms, usock::error_code& ec) noexcept {
    if (!check(ec)) return;
    const bool was_blocking = timeout_ms_ == no_timeout, blocking = ms == no_timeout;
    if (was_blocking != blocking) {
      Backend::set_nonblocking(handle_, !blocking, ec);
      if (ec) return;
    }
    timeout_ms_ = ms;
  }

  /// The deadline of a call that starts now; only read when the timeout is positive.
  time_point start_deadline() const noexcept { return timeout_ms_ > 0 ? deadline_in(timeout_ms_) : time_point{}; }
  // Apart and never inlined, so that start_deadline stays small enough to inline: where the compiler sees a
  // socket that never gets a timeout (a firmware's echo loop), the clock then drops out of the code.
  [[gnu::noinline]] static time_point deadline_in(std::int32_t ms) noexcept {
    return clock::now() + std::chrono::milliseconds(ms);
  }

  /// Waits until the socket is ready for `what` or the deadline passes (`timed_out`). Signals and early
  /// wake-ups wait again for the time that is left.
  bool wait_until(wait_for what, time_point deadline, usock::error_code& ec) noexcept {
    for (;;) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now()).count();
      if (left <= 0) {
        ec = detail::make_error(std::errc::timed_out);
        return false;
      }
      if (Backend::wait(handle_, what, static_cast<int>(left < INT_MAX ? left : INT_MAX), ec)) return true;
      if (ec) return false;
    }
  }

  /// Runs one backend call; with a positive timeout, waits and runs it again while it would block. With no
  /// timeout the descriptor blocks, so this is exactly one call; with timeout zero, `EAGAIN` is the answer.
  template <class Call>
  auto retry(wait_for what, time_point deadline, usock::error_code& ec, Call call) noexcept {
    for (;;) {
      auto result = call();
      if (timeout_ms_ <= 0 || !detail::is(ec, std::errc::resource_unavailable_try_again)) return result;
      ec.clear();
      if (!wait_until(what, deadline, ec)) return result;
    }
  }

  std::size_t recv_direct(mutable_bytes buffer, time_point deadline, usock::error_code& ec) noexcept {
    return retry(wait_for::read, deadline, ec, [&] { return Backend::recv(handle_, buffer, ec); });
  }
  /// Buffered bytes first, else one receive.
  std::size_t recv_some(mutable_bytes buffer, time_point deadline, usock::error_code& ec) noexcept {
    if (buffered() != 0) return take_buffered(buffer);
    return recv_direct(buffer, deadline, ec);
  }

  std::size_t buffered() const noexcept { return buffer_ ? buffer_->size() : 0; }
  std::size_t take_buffered(mutable_bytes out) noexcept { return buffer_ ? buffer_->take(out) : 0; }
  void drop_buffer() noexcept {
    detail::read_buffer::destroy(buffer_);
    buffer_ = nullptr;
  }
  bool ensure_buffer(usock::error_code& ec) noexcept {
    if (!buffer_) buffer_ = detail::read_buffer::create();
    if (buffer_) return true;
    ec = detail::make_error(std::errc::not_enough_memory);
    return false;
  }

#if USOCK_HAS_EXCEPTIONS
  /// Puts `data` back in front of anything buffered, so the next read returns it, then throws.
  [[noreturn]] void put_back_and_throw(const_bytes data, const usock::error_code& ec, const char* operation) {
    if (!data.empty()) {
      if (!buffer_) buffer_ = detail::read_buffer::create();
      if (!buffer_) throw std::bad_alloc();
      buffer_->unread(data);
    }
    throw error(ec, operation);
  }

  /// Runs the `error_code` form `call` and throws `usock::error` naming `operation` if it failed.
  template <class Call>
  static auto throwing(const char* operation, Call&& call) {
    usock::error_code ec;
    if constexpr (std::is_void_v<std::invoke_result_t<Call&, usock::error_code&>>) {
      call(ec);
      detail::throw_if(ec, operation);
    } else {
      auto result = call(ec);
      detail::throw_if(ec, operation);
      return result;
    }
  }
#endif

  handle_type handle_ = Backend::invalid_handle;
  std::int32_t timeout_ms_ = no_timeout;  // -1: blocking; 0: non-blocking; > 0: deadline per call
  // Owned; allocated by the first readline(), which is the only filler (a plain pointer: no <memory>).
  detail::read_buffer* buffer_ = nullptr;
};

}  // namespace usock
