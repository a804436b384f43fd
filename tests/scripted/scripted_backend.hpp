#pragma once
/// \file
/// `usock_test::scripted`: a backend that satisfies `usock::socket_backend` without a network, for proving
/// what `basic_socket` does when the stack misbehaves.
///
/// Every call kind has a script: a queue of `action`s consumed one per call, in order. An action makes the call
/// succeed short (`short_count`), fail with any `std::errc` (`fail`: `EAGAIN`, `ECONNRESET`, `ENOMEM`, ...),
/// report the peer's EOF (`eof`), or, for `wait`, wake after some time (`ready`) or wake early with nothing
/// ready (`spurious`, what a signal during `poll` looks like). A call whose script is empty does what a loopback
/// peer held in memory would: `recv` hands out the bytes of `state::inbound` in order, `send` appends to
/// `state::outbound`, `wait` is ready after `state::default_wait`. Time is a fake clock that only `wait` moves,
/// so deadlines are exact and tests never sleep.
///
/// The state is one global world (`usock_test::scripted::world()`): one test thread at a time.

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <string>
#include <system_error>
#include <vector>

#include <usock/address.hpp>
#include <usock/backend.hpp>
#include <usock/buffer.hpp>
#include <usock/constants.hpp>

namespace usock_test {

/// The scripted backend tag; its state lives in `scripted::world()`.
struct scripted {
  /// The kinds of backend call, each with its own script.
  enum class call : std::uint8_t {
    open, close, set_nonblocking, connect, connect_result, bind, listen, accept, send, recv, shutdown,
    setsockopt, getsockopt, local_address, peer_address, wait
  };
  static constexpr std::size_t call_kinds = static_cast<std::size_t>(call::wait) + 1;

  /// One scripted outcome of one call.
  struct action {
    enum class kind : std::uint8_t { pass, short_count, fail, eof, ready, spurious };
    kind what = kind::pass;
    std::size_t limit = 0;                 ///< short_count: at most this many bytes (at least 1)
    std::errc error{};                     ///< fail: the error the call reports
    std::chrono::milliseconds after{0};    ///< ready / spurious: the time that passes in the wait

    /// The call does what it would do unscripted.
    static action pass() noexcept { return {}; }
    /// `send`/`recv` move at most `n` bytes (`n` of 0 counts as 1: a real stack never returns 0 for a
    /// non-empty send, and 0 from recv is EOF, which `eof()` scripts).
    static action short_count(std::size_t n) noexcept { return {kind::short_count, n == 0 ? 1 : n, {}, {}}; }
    /// The call reports `e` and does nothing else.
    static action fail(std::errc e) noexcept { return {kind::fail, 0, e, {}}; }
    /// `recv`: the peer closes here; whatever it had not delivered yet is gone, and every later recv returns 0.
    static action eof() noexcept { return {kind::eof, 0, {}, {}}; }
    /// `wait`: ready after `t` (if `t` exceeds the wait's timeout, the time runs out first).
    static action ready(std::chrono::milliseconds t) noexcept { return {kind::ready, 0, {}, t}; }
    /// `wait`: wakes after `t` with nothing ready and no error, as when a signal interrupts `poll`.
    static action spurious(std::chrono::milliseconds t) noexcept { return {kind::spurious, 0, {}, t}; }
  };

  /// A clock that stands still until a scripted `wait` moves it.
  struct clock {
    using duration = std::chrono::milliseconds;
    using rep = duration::rep;
    using period = duration::period;
    using time_point = std::chrono::time_point<clock>;
    static constexpr bool is_steady = true;
    static time_point now() noexcept;
  };

  /// Everything the scripted world holds; `reset()` starts it afresh.
  struct state {
    std::array<std::deque<action>, call_kinds> script;  ///< per call kind, consumed front first
    std::array<std::size_t, call_kinds> calls{};        ///< how many times each kind was called

    std::string inbound;           ///< the bytes the peer sends us, in order
    std::size_t delivered = 0;     ///< how many of `inbound` recv has handed out
    bool peer_closed = true;       ///< after `inbound`, recv reports EOF (else it would block)
    std::string outbound;          ///< the bytes send handed to the peer, in order

    clock::time_point now{};       ///< the fake time
    std::chrono::milliseconds default_wait{1};  ///< how long an unscripted wait takes to be ready
    std::vector<int> wait_timeouts;             ///< the timeout each wait was given, in ms

    int next_handle = 3;
    std::map<int, bool> open_handles;           ///< handle -> non-blocking
    std::map<std::pair<int, int>, int> options; ///< (level, option) -> value; unset options read 0

    /// Queues actions for one call kind.
    void queue(call c, std::initializer_list<action> actions) {
      for (const action& a : actions) script[static_cast<std::size_t>(c)].push_back(a);
    }
    void queue(call c, const action& a) { script[static_cast<std::size_t>(c)].push_back(a); }
    /// Drops every script that has not run yet.
    void clear_scripts() {
      for (auto& q : script) q.clear();
    }
    std::size_t count(call c) const { return calls[static_cast<std::size_t>(c)]; }
    /// True when the handle exists and is in non-blocking mode.
    bool nonblocking(int h) const {
      const auto it = open_handles.find(h);
      return it != open_handles.end() && it->second;
    }
    /// The bytes the peer sent that recv has not handed out yet.
    std::size_t undelivered() const { return inbound.size() - delivered; }
  };

  static state& world() noexcept {
    static state s;
    return s;
  }
  /// A fresh world: no scripts, no bytes, time zero, no handles.
  static void reset() { world() = state{}; }

  // ---- the usock::socket_backend interface ---------------------------------------------------------------

  using handle_type = int;
  static constexpr handle_type invalid_handle = -1;
  static constexpr int default_backlog = 4;

  static handle_type open(usock::address_family, usock::socket_type, std::error_code& ec) noexcept {
    if (scripted_failure(call::open, ec)) return invalid_handle;
    return new_handle(false);
  }
  static void close(handle_type h, std::error_code& ec) noexcept {
    const bool known = world().open_handles.erase(h) != 0;
    if (scripted_failure(call::close, ec)) return;  // the handle is gone even so, as on Linux
    if (!known) ec = make(std::errc::bad_file_descriptor);
  }
  static void set_nonblocking(handle_type h, bool on, std::error_code& ec) noexcept {
    if (plain(call::set_nonblocking, h, ec)) world().open_handles[h] = on;
  }
  static void connect(handle_type h, const usock::address&, std::error_code& ec) noexcept {
    if (plain(call::connect, h, ec) && world().nonblocking(h)) ec = make(std::errc::operation_in_progress);
  }
  static void connect_result(handle_type h, std::error_code& ec) noexcept { plain(call::connect_result, h, ec); }
  static void bind(handle_type h, const usock::address&, std::error_code& ec) noexcept { plain(call::bind, h, ec); }
  static void listen(handle_type h, int, std::error_code& ec) noexcept { plain(call::listen, h, ec); }
  static handle_type accept(handle_type h, usock::address& peer, bool nonblocking, std::error_code& ec) noexcept {
    if (!plain(call::accept, h, ec)) return invalid_handle;
    peer = usock::address{"127.0.0.1", 40000};
    return new_handle(nonblocking);
  }

  static std::size_t send(handle_type h, usock::const_bytes data, std::error_code& ec) noexcept {
    const action a = next(call::send);
    if (!known(h, ec) || failed(a, ec)) return 0;
    std::size_t n = data.size();
    if (a.what == action::kind::short_count) n = std::min(n, a.limit);
    world().outbound.append(reinterpret_cast<const char*>(data.data()), n);
    return n;
  }

  static std::size_t recv(handle_type h, usock::mutable_bytes buffer, std::error_code& ec) noexcept {
    state& w = world();
    const action a = next(call::recv);
    if (!known(h, ec) || failed(a, ec)) return 0;
    if (a.what == action::kind::eof) {
      w.inbound.resize(w.delivered);  // the peer closed here: what it had not sent never comes
      w.peer_closed = true;
      return 0;
    }
    if (buffer.empty()) return 0;
    if (w.undelivered() == 0) {
      // Nothing to read and the peer still open: a non-blocking socket would block; a blocking one would wait
      // forever, which a test must not do, so it reports the same (a test that sees it scripted a deadlock).
      if (!w.peer_closed) ec = make(std::errc::resource_unavailable_try_again);
      return 0;
    }
    std::size_t n = std::min(buffer.size(), w.undelivered());
    if (a.what == action::kind::short_count) n = std::min(n, a.limit);
    std::memcpy(buffer.data(), w.inbound.data() + w.delivered, n);
    w.delivered += n;
    return n;
  }

  static void shutdown(handle_type h, usock::shutdown_how, std::error_code& ec) noexcept {
    plain(call::shutdown, h, ec);
  }

  /// Options are remembered per (level, option); a pair that does not belong together is `no_protocol_option`,
  /// as on every real backend.
  static void setsockopt(handle_type h, usock::option_level level, usock::socket_option option, int value,
                         std::error_code& ec) noexcept {
    if (!plain(call::setsockopt, h, ec) || !matching(level, option, ec)) return;
    world().options[{static_cast<int>(level), static_cast<int>(option)}] = value;
  }
  static int getsockopt(handle_type h, usock::option_level level, usock::socket_option option,
                        std::error_code& ec) noexcept {
    if (!plain(call::getsockopt, h, ec) || !matching(level, option, ec)) return 0;
    const auto it = world().options.find({static_cast<int>(level), static_cast<int>(option)});
    return it == world().options.end() ? 0 : it->second;
  }
  static usock::address local_address(handle_type h, std::error_code& ec) noexcept {
    return plain(call::local_address, h, ec) ? usock::address{"127.0.0.1", 30000} : usock::address{};
  }
  static usock::address peer_address(handle_type h, std::error_code& ec) noexcept {
    return plain(call::peer_address, h, ec) ? usock::address{"127.0.0.1", 40000} : usock::address{};
  }

  /// Moves the fake clock: by the scripted time, or by the timeout when that is shorter (then not ready).
  static bool wait(handle_type h, usock::wait_for, int timeout_ms, std::error_code& ec) noexcept {
    state& w = world();
    w.wait_timeouts.push_back(timeout_ms);
    action a = next(call::wait);
    if (!known(h, ec) || failed(a, ec)) return false;
    if (a.what != action::kind::spurious && a.what != action::kind::ready) a = action::ready(w.default_wait);
    std::chrono::milliseconds passes = a.after;
    bool ready = a.what == action::kind::ready;
    if (timeout_ms >= 0 && passes > std::chrono::milliseconds(timeout_ms)) {
      passes = std::chrono::milliseconds(timeout_ms);
      ready = false;
    }
    w.now += passes;
    return ready;
  }

 private:
  static std::error_code make(std::errc e) noexcept { return std::make_error_code(e); }

  static action next(call c) noexcept {
    state& w = world();
    ++w.calls[static_cast<std::size_t>(c)];
    auto& q = w.script[static_cast<std::size_t>(c)];
    if (q.empty()) return action::pass();
    const action a = q.front();
    q.pop_front();
    return a;
  }
  static bool failed(const action& a, std::error_code& ec) noexcept {
    if (a.what == action::kind::fail) {
      ec = make(a.error);
      return true;
    }
    ec.clear();
    return false;
  }
  static bool scripted_failure(call c, std::error_code& ec) noexcept { return failed(next(c), ec); }
  static bool known(handle_type h, std::error_code& ec) noexcept {
    if (world().open_handles.count(h) != 0) return true;
    ec = make(std::errc::bad_file_descriptor);
    return false;
  }
  /// A call with no data: consumes its script entry; true when it succeeds.
  static bool plain(call c, handle_type h, std::error_code& ec) noexcept {
    const action a = next(c);
    return known(h, ec) && !failed(a, ec);
  }
  static bool matching(usock::option_level level, usock::socket_option option, std::error_code& ec) noexcept {
    if (usock::level_of(option) == level) return true;
    ec = make(std::errc::no_protocol_option);
    return false;
  }
  static handle_type new_handle(bool nonblocking) noexcept {
    state& w = world();
    const int h = w.next_handle++;
    w.open_handles[h] = nonblocking;
    return h;
  }
};

inline scripted::clock::time_point scripted::clock::now() noexcept { return scripted::world().now; }

static_assert(usock::socket_backend<scripted>);

}  // namespace usock_test
