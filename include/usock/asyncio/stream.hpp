#pragma once
/// \file
/// `usock::asyncio::basic_stream<Backend>` and `open_connection`: MicroPython's `asyncio.Stream`, one object
/// for both directions.

#include <cstddef>
#include <cstdint>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

#include "../address.hpp"
#include "../basic_socket.hpp"
#include "../error.hpp"
#include "../usock.hpp"
#include "io_op.hpp"
#include "loop/loop.hpp"
#include "stream_buffer.hpp"

#ifndef USOCK_ASYNCIO_LINE_LIMIT
/// The longest line `readline` returns by default (bytes, `\n` included); `set_line_limit` changes it per
/// stream. The read-ahead block of a stream is this big.
#define USOCK_ASYNCIO_LINE_LIMIT 4096
#endif
#ifndef USOCK_ASYNCIO_WRITE_BUFFER
/// How many bytes `write` may queue beyond what the stack takes at once, per stream.
#define USOCK_ASYNCIO_WRITE_BUFFER 16384
#endif

namespace usock::asyncio {

template <polling_backend Backend, std::size_t Capacity = USOCK_ASYNCIO_CAPACITY>
class basic_stream;

namespace detail {
template <polling_backend Backend, std::size_t Capacity>
struct connector;
template <polling_backend Backend, std::size_t Capacity>
basic_loop<Backend, Capacity>* current_loop() noexcept {
  return static_cast<basic_loop<Backend, Capacity>*>(loop_core::current());
}
using usock::detail::is;
inline bool would_block(const usock::error_code& ec) noexcept {
  return is(ec, std::errc::resource_unavailable_try_again);
}
}  // namespace detail

/// A TCP connection for tasks, as MicroPython's `Stream` (the reader and the writer in one). Move-only; the
/// destructor closes it. Reads try the socket first and wait only when it has nothing, so a read of data
/// already there costs one system call; a read that is cancelled while waiting takes no bytes.
///
/// Errors (through `ec`, or thrown as `usock::error` by the forms without it): `operation_canceled`,
/// `connection_reset` (after the data the peer sent before resetting), `bad_file_descriptor` (closed),
/// `no_message_available` (`readexactly`: the peer closed first), `message_size` (`readline`: the line is
/// longer than the limit; the bytes stay readable), `no_buffer_space` (`write`: the queue is full),
/// `not_enough_memory` (a stream's block could not be allocated), and the stack's others.
///
/// Awaiting two reads (or two writes) on one stream at once is `device_or_resource_busy`. A stream belongs to
/// the loop it was made on; close it before that loop's `run` ends.
template <polling_backend Backend, std::size_t Capacity>
class basic_stream {
 public:
  using socket_type = basic_socket<Backend>;
  using loop_type = basic_loop<Backend, Capacity>;
  using handle_type = typename Backend::handle_type;

  /// Takes a connected socket (made non-blocking here) for the loop running on this thread.
  explicit basic_stream(socket_type s) noexcept : sock_(std::move(s)), loop_(detail::current_loop<Backend, Capacity>()) {
    usock::error_code ignored;
    if (sock_.is_open()) sock_.setblocking(false, ignored);
  }
  basic_stream(basic_stream&& o) noexcept
      : sock_(std::move(o.sock_)), loop_(o.loop_), in_(std::move(o.in_)), out_(std::move(o.out_)),
        line_limit_(o.line_limit_), maybe_empty_(o.maybe_empty_) {}
  basic_stream& operator=(basic_stream&& o) noexcept {
    if (this != &o) {
      forget();
      sock_ = std::move(o.sock_);
      loop_ = o.loop_;
      in_ = std::move(o.in_);
      out_ = std::move(o.out_);
      line_limit_ = o.line_limit_;
      maybe_empty_ = o.maybe_empty_;
    }
    return *this;
  }
  ~basic_stream() { forget(); }

  /// The smallest read-ahead block `readline` allocates: the blocking `readline`'s (`USOCK_READ_BUFFER_SIZE`).
  /// A block given with `set_read_buffer` is used whatever its size.
  static constexpr std::size_t read_ahead_block = USOCK_READ_BUFFER_SIZE;

  /// True while open.
  bool is_open() const noexcept { return sock_.is_open(); }
  /// The socket's handle.
  handle_type fileno() const noexcept { return sock_.fileno(); }

  // ---- reading ----------------------------------------------------------------------------------------------

  /// `readinto(buf)`: one read of up to `buf.size()` bytes (buffered bytes first); 0 at EOF.
  auto readinto(mutable_bytes buf, usock::error_code& ec) noexcept { return some_reader(this, buf, &ec); }
  /// `read(n)`: one read of up to `n` bytes, as MicroPython's (not "until n"); "" at EOF.
  auto read(std::size_t n, usock::error_code& ec) { return string_reader(this, n, &ec); }
  /// `read()` / `read(-1)`: everything until EOF. On an error, returns what came before it.
  auto read(usock::error_code& ec) { return all_reader(this, &ec); }
  /// `readexactly(n)`: exactly `n` bytes; `no_message_available` if EOF comes first (this form returns the
  /// bytes read before it; the throwing form leaves them readable). Cancelled: nothing is taken.
  auto readexactly(std::size_t n, usock::error_code& ec) { return exact_reader(this, n, &ec); }
  /// `readexactly` into the caller's buffer (no allocation): fills all of `buf`; returns the bytes read.
  auto readexactly(mutable_bytes buf, usock::error_code& ec) noexcept { return exact_into_reader(this, buf, &ec); }
  /// `readline()`: through the next `\n` (included), or the partial last line, or "" at EOF. Reads in blocks
  /// into the stream's read-ahead block and keeps what follows the line for the next read. A line longer than
  /// the limit (`set_line_limit`) is `message_size`, and its bytes stay readable.
  auto readline(usock::error_code& ec) { return line_awaiter<false>(this, {}, &ec); }
  /// `readline` into the caller's buffer (no allocation per line): returns the line's length; a line longer
  /// than `buf` (or the limit) is `message_size` and stays readable.
  auto readline(mutable_bytes buf, usock::error_code& ec) noexcept { return line_awaiter<true>(this, buf, &ec); }

  /// The longest line `readline` accepts (bytes, `\n` included): `USOCK_ASYNCIO_LINE_LIMIT` (4096) unless
  /// changed. The read-ahead block is allocated on the first `readline`: the limit's size, or the blocking
  /// `readline`'s block (`USOCK_READ_BUFFER_SIZE`, 8 KiB) if that is bigger.
  std::size_t line_limit() const noexcept { return line_limit_; }
  /// Changes the limit (at least 1; the block in use grows on the next `readline` if needed).
  void set_line_limit(std::size_t n) noexcept { line_limit_ = n ? n : 1; }
  /// Gives the stream its read-ahead block (for a build with no heap); the line limit becomes at most its
  /// size. Errors: `no_buffer_space` (the bytes it holds now do not fit).
  void set_read_buffer(std::span<std::byte> storage, usock::error_code& ec) noexcept {
    if (!in_.use(storage)) return void(ec = usock::detail::make_error(std::errc::no_buffer_space));
    if (line_limit_ > storage.size()) line_limit_ = storage.size();
    ec.clear();
  }

  // ---- writing ----------------------------------------------------------------------------------------------

  /// `write(buf)`: sends what the stack takes now and queues the rest (up to `USOCK_ASYNCIO_WRITE_BUFFER`
  /// bytes, or the block given with `set_write_buffer`). Returns the bytes accepted: all of them, or (with
  /// `no_buffer_space`) those that fit; `drain()` and write the rest. Not a coroutine, as in MicroPython.
  std::size_t write(const_bytes data, usock::error_code& ec) noexcept {
    if (!check(ec)) return 0;
    std::size_t sent = 0;
    if (out_.empty()) {
      sent = detail::send_nowait<Backend>(sock_.fileno(), data, ec);
      if (detail::would_block(ec)) sent = 0, ec.clear();
      if (ec) return 0;
      if (sent == data.size()) return sent;
    }
    if (!out_.reserve(USOCK_ASYNCIO_WRITE_BUFFER)) return ec = usock::detail::make_error(std::errc::not_enough_memory), sent;
    const std::size_t queued = out_.append(data.subspan(sent));
    if (sent + queued < data.size()) ec = usock::detail::make_error(std::errc::no_buffer_space);
    return sent + queued;
  }
  /// Gives the stream its write queue block (for a build with no heap). Errors: `no_buffer_space`.
  void set_write_buffer(std::span<std::byte> storage, usock::error_code& ec) noexcept {
    ec = out_.use(storage) ? usock::error_code{} : usock::detail::make_error(std::errc::no_buffer_space);
  }
  /// Bytes queued by `write` and not yet sent.
  std::size_t pending() const noexcept { return out_.size(); }
  /// `await drain()`: sends everything queued, waiting as needed; always yields to the other tasks, so a
  /// write-and-drain loop cannot starve them. Cancelled: what was sent is sent, the rest stays queued.
  auto drain(usock::error_code& ec) noexcept { return drainer(this, &ec); }

  // ---- the connection ---------------------------------------------------------------------------------------

  /// `close()`: closes the socket now; unread and unsent bytes are dropped. Idempotent.
  void close(usock::error_code& ec) noexcept {
    forget();
    sock_.close(ec);
  }
  /// `await wait_closed()`: completes at once (the socket closed in `close()`).
  auto wait_closed(usock::error_code& ec) noexcept { return ready_awaiter{&ec}; }
  /// `get_extra_info("peername")`. Errors: `not_connected`, `bad_file_descriptor`.
  address getpeername(usock::error_code& ec) const noexcept { return sock_.getpeername(ec); }
  /// The local address.
  address getsockname(usock::error_code& ec) const noexcept { return sock_.getsockname(ec); }

#if USOCK_HAS_EXCEPTIONS
  auto readinto(mutable_bytes buf) noexcept { return some_reader(this, buf, nullptr); }
  auto read(std::size_t n) { return string_reader(this, n, nullptr); }
  auto read() { return all_reader(this, nullptr); }
  auto readexactly(std::size_t n) { return exact_reader(this, n, nullptr); }
  auto readexactly(mutable_bytes buf) noexcept { return exact_into_reader(this, buf, nullptr); }
  auto readline() { return line_awaiter<false>(this, {}, nullptr); }
  auto readline(mutable_bytes buf) noexcept { return line_awaiter<true>(this, buf, nullptr); }
  std::size_t write(const_bytes data) {
    usock::error_code ec;
    const std::size_t n = write(data, ec);
    usock::detail::throw_if(ec, "stream.write");
    return n;
  }
  auto drain() noexcept { return drainer(this, nullptr); }
  void close() {
    usock::error_code ec;
    close(ec);
    usock::detail::throw_if(ec, "stream.close");
  }
  auto wait_closed() noexcept { return ready_awaiter{nullptr}; }
  address getpeername() const { return sock_.getpeername(); }
  address getsockname() const { return sock_.getsockname(); }
#endif

 private:
  bool check(usock::error_code& ec) const noexcept {
    if (sock_.is_open()) return ec.clear(), true;
    ec = usock::detail::make_error(std::errc::bad_file_descriptor);
    return false;
  }
  void forget() noexcept {
    if (sock_.is_open() && loop_ && detail::loop_core::current() == loop_) loop_->forget(sock_.fileno());
  }
  /// One receive into `buf`; false when it would block (`maybe_empty_` makes the first try a wait: the last
  /// receive drained the socket, so the try would only cost a system call).
  bool recv_once(mutable_bytes buf, bool& first, std::size_t& got, usock::error_code& result) noexcept {
    if (!sock_.is_open()) return result = usock::detail::make_error(std::errc::bad_file_descriptor), true;
    if (first && maybe_empty_) return first = false, false;
    first = false;
    usock::error_code err;
    got = detail::recv_nowait<Backend>(sock_.fileno(), buf, err);
    if (detail::would_block(err)) return maybe_empty_ = false, false;
    maybe_empty_ = !err && got != 0 && got < buf.size();
    result = err;
    return true;
  }

  template <class Op>
  using io_base = detail::io_op<Op, loop_type>;

  /// A read that ends cancelled (any form), or failing in the throwing form, puts back what it had read, so
  /// the next read returns it: nothing is lost. True if it did.
  template <class Op>
  bool put_back(const Op& op, const_bytes data) noexcept {
    return op.result && (!op.ec || detail::is(op.result, std::errc::operation_canceled)) && in_.unread(data);
  }

  struct ready_awaiter {
    usock::error_code* ec;
    bool await_ready() const noexcept { return true; }
    void await_suspend(std::coroutine_handle<>) const noexcept {}
    void await_resume() const noexcept {
      if (ec) ec->clear();
    }
  };

  /// What every read shares: the stream, the readiness it waits for, whether its first try is still to come.
  template <class Derived>
  struct reader_base : io_base<Derived> {
    static constexpr unsigned event = pollin;
    basic_stream* s;
    bool first = true;
    reader_base(basic_stream* st, usock::error_code* e) noexcept : io_base<Derived>(st->loop_, e), s(st) {}
    handle_type handle() const noexcept { return s->sock_.fileno(); }
  };

  /// One read into `target()` (buffered bytes first): `readinto` and `read(n)`.
  template <class Derived>
  struct one_read : reader_base<Derived> {
    std::size_t got = 0;
    using reader_base<Derived>::reader_base;
    bool attempt() noexcept {
      const mutable_bytes buf = static_cast<Derived*>(this)->target();
      if (!this->s->in_.empty()) return got = this->s->in_.take(buf), true;
      if (buf.empty()) return true;
      return this->s->recv_once(buf, this->first, got, this->result);
    }
    void finish() noexcept {}
    std::size_t count() noexcept { return this->result ? 0 : got; }
  };
  struct some_reader : one_read<some_reader> {
    mutable_bytes buf;
    some_reader(basic_stream* st, mutable_bytes b, usock::error_code* e) noexcept : one_read<some_reader>(st, e), buf(b) {}
    mutable_bytes target() noexcept { return buf; }
    std::size_t await_resume() {
      this->complete("stream.readinto");
      return this->count();
    }
  };
  struct string_reader : one_read<string_reader> {
    std::string data;
    string_reader(basic_stream* st, std::size_t n, usock::error_code* e) : one_read<string_reader>(st, e), data(n, '\0') {}
    mutable_bytes target() noexcept { return mutable_bytes(data); }
    std::string await_resume() {
      this->complete("stream.read");
      data.resize(this->count());
      return std::move(data);
    }
  };

  struct all_reader : reader_base<all_reader> {
    std::string data;
    std::size_t got = 0;
    all_reader(basic_stream* st, usock::error_code* e) : reader_base<all_reader>(st, e) {}
    bool attempt() noexcept {
      basic_stream* const st = this->s;
      for (;;) {
        if (data.size() - got < 4096) data.resize(data.size() * 2 > got + 4096 ? data.size() * 2 : got + 4096);
        std::size_t n = 0;
        if (!st->in_.empty()) {
          got += st->in_.take(mutable_bytes(data).subspan(got));
          continue;
        }
        if (!st->recv_once(mutable_bytes(data).subspan(got), this->first, n, this->result)) return false;
        if (this->result || n == 0) return true;
        got += n;
      }
    }
    void finish() noexcept {
      data.resize(got);
      if (this->s->put_back(*this, const_bytes(std::string_view(data)))) data.clear();
    }
    std::string await_resume() {
      this->complete("stream.read");
      return std::move(data);
    }
  };

  /// `readexactly` into a span; the string form owns its buffer.
  template <class Derived>
  struct exact_base : reader_base<Derived> {
    std::size_t got = 0;
    using reader_base<Derived>::reader_base;
    bool attempt() noexcept {
      basic_stream* const st = this->s;
      mutable_bytes buf = static_cast<Derived*>(this)->target();
      got += st->in_.take(buf.subspan(got));
      while (got < buf.size()) {
        std::size_t n = 0;
        if (!st->recv_once(buf.subspan(got), this->first, n, this->result)) return false;
        if (this->result) return true;
        if (n == 0) return this->result = usock::detail::make_error(std::errc::no_message_available), true;
        got += n;
      }
      return true;
    }
    void finish() noexcept {
      if (this->s->put_back(*this, static_cast<Derived*>(this)->target().first(got))) got = 0;
    }
  };
  struct exact_reader : exact_base<exact_reader> {
    std::string data;
    exact_reader(basic_stream* st, std::size_t n, usock::error_code* e) : exact_base<exact_reader>(st, e), data(n, '\0') {}
    mutable_bytes target() noexcept { return mutable_bytes(data); }
    std::string await_resume() {
      this->complete("stream.readexactly");
      data.resize(this->got);
      return std::move(data);
    }
  };
  struct exact_into_reader : exact_base<exact_into_reader> {
    mutable_bytes buf;
    exact_into_reader(basic_stream* st, mutable_bytes b, usock::error_code* e) noexcept
        : exact_base<exact_into_reader>(st, e), buf(b) {}
    mutable_bytes target() noexcept { return buf; }
    std::size_t await_resume() {
      this->complete("stream.readexactly");
      return this->got;
    }
  };

  struct no_line {};
  template <bool Into>
  struct line_awaiter;

  /// `readline`'s socket await, built by `line_awaiter` only when the line is not all in the read-ahead yet.
  template <bool Into>
  struct line_reader : reader_base<line_reader<Into>> {
    line_awaiter<Into>* line;
    explicit line_reader(line_awaiter<Into>* w) noexcept : reader_base<line_reader>(w->s, w->ec), line(w) {}
    bool attempt() noexcept {
      basic_stream* const st = this->s;
      const std::size_t limit = line->limit();
      for (;;) {
        if (const std::size_t line_length = line->buffered_line()) return line->take(line_length);
        if (st->in_.size() >= limit) return this->result = usock::detail::make_error(std::errc::message_size), true;
        // The read-ahead block: as big as the limit, and at least the blocking `readline`'s block (a line into
        // a small buffer still reads ahead many lines per system call); the bytes beyond a line stay buffered.
        if (!st->in_.reserve(limit > read_ahead_block ? limit : read_ahead_block))
          return this->result = usock::detail::make_error(std::errc::not_enough_memory), true;
        const mutable_bytes room = st->in_.free_space();
        if (room.empty())  // the caller's block is full (it is smaller than the limit set since)
          return this->result = usock::detail::make_error(std::errc::message_size), true;
        std::size_t n = 0;
        if (!st->recv_once(room, this->first, n, this->result)) return false;
        if (this->result) return true;
        if (n == 0) return line->take(st->in_.size() < limit ? st->in_.size() : limit);  // EOF: the partial line
        st->in_.commit(n);
      }
    }
    void finish() noexcept {}
  };

  /// `readline`'s awaiter; `Into`: into the caller's buffer (returns the length), else a string. A whole line
  /// already in the read-ahead (lines come many to a block) is taken in `await_ready`, which touches only the
  /// few fields here; the socket await (`line_reader`) is built in place only when the line has to be read.
  template <bool Into>
  struct line_awaiter {
    basic_stream* s;
    mutable_bytes into;
    usock::error_code* ec;
    std::size_t length = 0;
    [[no_unique_address]] std::conditional_t<Into, no_line, std::string> text;  // the string form's line
    bool reading = false;  // `op` is built
    union {
      line_reader<Into> op;
    };

    line_awaiter(basic_stream* st, mutable_bytes b, usock::error_code* e) noexcept : s(st), into(b), ec(e) {}
    /// Moved before it is awaited (into `wait_for`), never after.
    line_awaiter(line_awaiter&& o) noexcept : s(o.s), into(o.into), ec(o.ec) {}
    line_awaiter(const line_awaiter&) = delete;
    ~line_awaiter() {
      if (reading) op.~line_reader();
    }

    std::size_t limit() const noexcept {
      return Into && into.size() < s->line_limit_ ? into.size() : s->line_limit_;
    }
    /// The length of the whole line (within the limit) at the front of the read-ahead, 0 if there is none.
    std::size_t buffered_line() const noexcept {
      const std::size_t nl = s->in_.view().find('\n');
      return nl != std::string_view::npos && nl < limit() ? nl + 1 : 0;
    }
    bool take(std::size_t n) {
      length = n;
      if constexpr (Into) {
        s->in_.take(into.first(n));
      } else {
        text.assign(s->in_.view().substr(0, n));
        s->in_.consume(n);
      }
      return true;
    }

    bool await_ready() noexcept {
      const std::size_t n = buffered_line();
      if (n == 0 || !s->loop_ || !s->loop_->may_complete_now()) return false;
      return take(n);
    }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> h) noexcept {
      ::new (static_cast<void*>(&op)) line_reader<Into>(this);
      reading = true;
      return op.await_suspend(h);
    }
    auto await_resume() {
      if (!reading) {
        if (ec) ec->clear();
      } else {
        op.complete("stream.readline");
        if (op.result) length = 0;
      }
      if constexpr (Into) {
        return length;
      } else {
        if (length == 0) text.clear();
        return std::move(text);
      }
    }
  };

  struct drainer : io_base<drainer> {
    static constexpr unsigned event = pollout;
    basic_stream* s;
    bool yielded = false;
    drainer(basic_stream* st, usock::error_code* e) noexcept : io_base<drainer>(st->loop_, e), s(st) {}
    handle_type handle() const noexcept { return s->sock_.fileno(); }
    bool attempt() noexcept {
      if (!s->sock_.is_open()) return this->result = usock::detail::make_error(std::errc::bad_file_descriptor), true;
      while (!s->out_.empty()) {
        usock::error_code err;
        const std::size_t n = detail::send_nowait<Backend>(s->sock_.fileno(), s->out_.bytes(), err);
        if (detail::would_block(err)) return false;
        if (err) return this->result = err, true;
        s->out_.consume(n);
      }
      return true;
    }
    void finish() noexcept {}
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> h) noexcept {
      if (io_base<drainer>::await_suspend(h)) return true;
      if (this->result) return false;
      // Sent at once: yield anyway (as MicroPython's drain), once.
      detail::task_state& t = detail::state_of(h);
      this->cancel = [](detail::waiter& w) noexcept {
        auto& me = static_cast<drainer&>(w);
        me.result = usock::detail::make_error(std::errc::operation_canceled);
        return true;
      };
      t.loop->yield(t, *this, h);
      return true;
    }
    void await_resume() { this->complete("stream.drain"); }
  };

  friend struct detail::connector<Backend, Capacity>;

  socket_type sock_;
  loop_type* loop_ = nullptr;
  detail::byte_queue in_;
  detail::byte_queue out_;
  std::size_t line_limit_ = USOCK_ASYNCIO_LINE_LIMIT;
  bool maybe_empty_ = false;
};

}  // namespace usock::asyncio

namespace usock::asyncio {
namespace detail {

/// `open_connection`: a non-blocking connect, then the wait for it, then its outcome (checked: a refused
/// connection is an error here, not at the first read as in MicroPython).
template <polling_backend Backend, std::size_t Capacity>
struct connector : io_op<connector<Backend, Capacity>, basic_loop<Backend, Capacity>> {
  using base = io_op<connector, basic_loop<Backend, Capacity>>;
  using socket_type = basic_socket<Backend>;
  static constexpr unsigned event = pollout;
  address addr;
  socket_type sock = socket_type::adopt(Backend::invalid_handle);
  bool started = false;

  connector(const address& a, usock::error_code early, usock::error_code* e) noexcept
      : base(current_loop<Backend, Capacity>(), e), addr(a) {
    this->result = early;
  }
  typename Backend::handle_type handle() const noexcept { return sock.fileno(); }
  bool attempt() noexcept {
    if (this->result) return true;
    if (started) {
      // Reported writable with no error: connected (on a backend that reports a failed connect as an error);
      // otherwise the stack says how it ended.
      if constexpr (connect_failure_polls_error<Backend>) {
        if ((this->reported & (pollerr | pollhup | pollnval)) == 0) return this->result.clear(), true;
      }
      Backend::connect_result(sock.fileno(), this->result);
      return true;
    }
    started = true;
    if (!addr.valid()) return this->result = make_error(std::errc::invalid_argument), true;
    sock = socket_type::adopt(open_nonblocking<Backend>(addr.family(), this->result), std::chrono::milliseconds(0));
    if (this->result) return true;
    connect_nowait<Backend>(sock.fileno(), addr, this->result);
    if (is(this->result, std::errc::operation_in_progress) || would_block(this->result)) {
      this->result.clear();
      return false;
    }
    return true;
  }
  void finish() noexcept {
    if (this->result) {
      usock::error_code ignored;
      sock.close(ignored);
    }
  }
  basic_stream<Backend, Capacity> await_resume() {
    this->complete("open_connection");
    basic_stream<Backend, Capacity> s(std::move(sock));
    // Reported writable and not readable as the connect ended: the stream's first read waits rather than
    // trying a receive that would only find nothing (a peer that speaks first is reported readable then).
    if ((this->reported & (pollout | pollin)) == pollout) s.maybe_empty_ = true;
    return s;
  }
};

template <polling_backend Backend, std::size_t Capacity>
connector<Backend, Capacity> make_connector(std::string_view host, std::uint16_t port, usock::error_code* ec) {
  address a(host, port);
  usock::error_code early;
  if (!a.valid()) {
    if constexpr (resolving_backend<Backend>) {
      // A name: resolved here, blocking (as MicroPython's getaddrinfo does).
      const auto candidates = Backend::resolve(host, port, early);
      if (!early && !candidates.empty()) a = candidates.front();
      else if (!early) early = make_error(std::errc::no_such_device_or_address);
    }
  }
  return connector<Backend, Capacity>(a, early, ec);
}

}  // namespace detail

/// `await asyncio.open_connection(host, port)`: a connected stream. The connection is checked: `connection_refused`,
/// `timed_out`, `network_unreachable`, `invalid_argument` (a bad address) come from here. A host name is
/// resolved before connecting, blocking the loop for the lookup (numeric addresses do not).
template <polling_backend Backend = default_backend, std::size_t Capacity = USOCK_ASYNCIO_CAPACITY>
auto open_connection(std::string_view host, std::uint16_t port, usock::error_code& ec) {
  return detail::make_connector<Backend, Capacity>(host, port, &ec);
}
#if USOCK_HAS_EXCEPTIONS
template <polling_backend Backend = default_backend, std::size_t Capacity = USOCK_ASYNCIO_CAPACITY>
auto open_connection(std::string_view host, std::uint16_t port) {
  return detail::make_connector<Backend, Capacity>(host, port, nullptr);
}
#endif

}  // namespace usock::asyncio
