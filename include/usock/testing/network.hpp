#pragma once
/// \file
/// `usock::testing::basic_network`: an in-memory TCP network with virtual time, fault rules and inspection. Its
/// state lives in fixed tables sized by template parameters; no call allocates.

#include <array>
#include <atomic>
#include <climits>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <span>
#include <string_view>
#include <system_error>
#include <vector>

#include "../address.hpp"
#include "../backend.hpp"
#include "../buffer.hpp"
#include "../constants.hpp"
#include "../detail/chrono.hpp"
#include "rules.hpp"

namespace usock::testing {

/// How the network's clock moves.
enum class time_mode : std::uint8_t {
  /// Time moves only when the test calls `advance`, or when every thread taking part is blocked in the network
  /// (then it jumps to the earliest deadline). The default: a `settimeout(30s)` test finishes in microseconds.
  manual,
  /// Time follows the machine's steady clock (plus whatever `advance` added); waits take real time. For tests whose
  /// threads measure elapsed time on `std::chrono::steady_clock`, as the shared suite does.
  real,
};

/// Network-wide counters: calls, bytes and faults since the last `reset()`.
struct counters {
  std::uint64_t opens = 0, closes = 0, connects = 0, accepts = 0, sends = 0, recvs = 0, waits = 0, polls = 0;
  std::uint64_t bytes_sent = 0;      ///< bytes the network took from `send` calls
  std::uint64_t bytes_received = 0;  ///< bytes `recv` calls handed out
  std::uint64_t faults = 0;          ///< rules and chaos that fired
  std::uint64_t stalls = 0;          ///< blocking calls reported as `resource_deadlock_would_occur`
  std::uint64_t auto_advances = 0;   ///< times a stalled wait moved manual time to a deadline
};

/// What the network knows of one socket, open or closed (a closed socket's entry lives until its slot is reused).
struct socket_info {
  bool known = false;           ///< false: the handle never existed, or its slot was reused since
  bool open = false;
  bool listening = false;
  bool connected = false;
  address local, peer;
  int peer_handle = -1;         ///< the other end's handle while it is open and accepted, else -1
  std::uint64_t sends = 0, recvs = 0;
  std::uint64_t bytes_sent = 0, bytes_received = 0;
  std::uint64_t faults = 0;     ///< faults that fired on this socket
  std::string_view sent;        ///< the first bytes it sent, byte-exact (up to the record size)
  bool sent_truncated = false;  ///< it sent more than the record holds
};

/// An in-memory TCP network: up to `Sockets` sockets, each receiving into a `Buffer`-byte window and recording the
/// first `Record` bytes it sends; up to `Rules` fault rules and `Log` logged faults. One instance per backend
/// (`basic_backend<N>::network()`); every call is thread-safe.
///
/// Errors follow the shared suite: `connection_refused` where nobody listens, a reset delivers the data sent before
/// it and then `connection_reset`, a closed handle is `bad_file_descriptor`, a port in use `address_in_use`, a full
/// socket table `too_many_files_open`. Every address belongs to the network: a test may listen on
/// `192.168.1.20:9000` where the firmware expects its server; clients appear as `127.0.0.1` or `::1`.
///
/// A blocking call that nothing could ever complete (in manual time: every thread taking part is blocked and no
/// deadline is pending) reports `resource_deadlock_would_occur` at once and prints what was blocked, instead of
/// hanging; so does a wait during which nothing at all happens for the stall limit of real time (10 s).
template <std::size_t Sockets, std::size_t Buffer, std::size_t Record, std::size_t Rules = 16, std::size_t Log = 256>
class basic_network {
  static_assert(Sockets >= 2 && Sockets <= 4096, "the socket table holds 2 to 4096 sockets");
  static_assert(Buffer >= 1 && Record >= 1);

 public:
  using handle_type = int;
  static constexpr handle_type invalid_handle = -1;
  static constexpr std::size_t socket_capacity = Sockets;
  static constexpr std::size_t buffer_size = Buffer;
  static constexpr std::size_t record_size = Record;
  static constexpr std::size_t rule_capacity = Rules;
  /// How long an unanswered `connect` on a socket without a timeout waits before `timed_out` (BSD's 75 s).
  static constexpr std::chrono::nanoseconds connect_timeout = std::chrono::seconds(75);
  /// How long a closed connection's local address stays in TIME_WAIT (blocking `bind` without `so_reuseaddr`).
  static constexpr std::chrono::nanoseconds time_wait = std::chrono::seconds(60);

  /// `poll` entries: what `basic_poller` keeps per registered socket.
  struct poll_entry {
    handle_type handle = invalid_handle;
    unsigned events = 0;
    unsigned revents = 0;
  };

  basic_network() noexcept { reset(); }
  basic_network(const basic_network&) = delete;
  basic_network& operator=(const basic_network&) = delete;

  // ---- the test's controls ---------------------------------------------------------------------------------

  /// Starts afresh: no sockets, rules, counters or log; time zero, manual, one thread taking part. Handles from
  /// before stay invalid (`bad_file_descriptor`). Call it while no other thread uses the network.
  void reset() noexcept {
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < Sockets; ++i) {
      const int gen = slots_[i].gen;
      slots_[i].clear();
      slots_[i].gen = gen;
    }
    rules_ = {};
    rule_count_ = 0;
    chaos_ = {};
    chaos_on_ = false;
    random_ = random_source{};
    log_count_ = 0;
    stats_ = {};
    time_waits_ = {};
    base_ns_.store(0);
    real_start_ns_.store(steady_ns());
    mode_.store(time_mode::manual);
    participants_ = 1;
    stall_limit_ = std::chrono::seconds(10);
    next_port_ = first_ephemeral;
    seq_ = release_seq_ = 0;
    for (auto& w : waiters_) w = waiter{};
    blocked_ = 0;
    hosts_ = {};
    add_host_locked("localhost", address{"::1", 0});
    add_host_locked("localhost", address{"127.0.0.1", 0});
    changed();
  }

  /// The network's time, in nanoseconds since `reset()`.
  std::chrono::nanoseconds now() const noexcept { return std::chrono::nanoseconds(now_ns()); }

  /// Moves time forward by `d` (negative counts as zero) and returns once every blocked call has seen the new
  /// time: a call whose deadline passed has returned `timed_out` (or is returning), the others are blocked again.
  void advance(std::chrono::nanoseconds d) noexcept {
    std::unique_lock lock(mutex_);
    if (d.count() > 0) base_ns_.fetch_add(d.count());
    changed();
    const std::uint64_t target = version_;
    settle_.wait(lock, [&] {
      for (const waiter& w : waiters_)
        if (w.used && w.seen < target) return false;
      return true;
    });
  }

  /// Chooses how time moves (see `time_mode`). Switching keeps the current time.
  void set_time_mode(time_mode m) noexcept {
    std::lock_guard lock(mutex_);
    const std::int64_t now = now_ns();
    mode_.store(m);
    real_start_ns_.store(steady_ns());
    base_ns_.store(now);
    if (m == time_mode::real) participants_ = 0;
    changed();
  }
  time_mode mode() const noexcept { return mode_.load(); }

  /// How many threads use the network (1 after `reset()`). When that many are blocked in it, nothing but time can
  /// move: in manual time it jumps to the earliest deadline, and with none pending each blocked call reports
  /// `resource_deadlock_would_occur`. 0: unknown, never decide (real time's default).
  void expect_threads(unsigned n) noexcept {
    std::lock_guard lock(mutex_);
    participants_ = n;
    changed();
  }

  /// A thread starts or stops taking part (`peer_thread` calls these): the count `expect_threads` set goes up or
  /// down by one, and blocked calls look again at whether anything can still wake them.
  void thread_started() noexcept {
    std::lock_guard lock(mutex_);
    ++participants_;
    changed();
  }
  void thread_finished() noexcept {
    std::lock_guard lock(mutex_);
    if (participants_ > 1) --participants_;
    changed();
  }

  /// How long a blocked call waits in real time with nothing at all happening in the network before it reports
  /// `resource_deadlock_would_occur` (10 s after `reset()`; zero: forever).
  void set_stall_limit(std::chrono::milliseconds limit) noexcept {
    std::lock_guard lock(mutex_);
    stall_limit_ = limit;
  }

  /// How many calls are blocked in the network right now.
  unsigned blocked() const noexcept {
    std::lock_guard lock(mutex_);
    return blocked_;
  }

  /// Waits (in real time, without sleeping) until at least `n` calls are blocked and each has seen the latest
  /// change; for a test thread that must act only once another thread is waiting. False after `limit` of real time.
  bool wait_until_blocked(unsigned n, std::chrono::milliseconds limit = std::chrono::seconds(10)) noexcept {
    std::unique_lock lock(mutex_);
    return settle_.wait_for(lock, limit, [&] { return blocked_ >= n && all_settled(); });
  }

  /// Adds a fault rule; returns its index (for `fired`), or -1 when `Rules` rules exist already.
  int add(const rule& r) noexcept {
    std::lock_guard lock(mutex_);
    if (rule_count_ == Rules) return -1;
    rules_[rule_count_] = rule_state{r, 0, 0, true};
    return static_cast<int>(rule_count_++);
  }
  /// How many times rule `index` has fired.
  std::size_t fired(int index) const noexcept {
    std::lock_guard lock(mutex_);
    return index >= 0 && static_cast<std::size_t>(index) < rule_count_ ? rules_[index].fired : 0;
  }
  /// Removes every rule (the log and counters stay).
  void clear_rules() noexcept {
    std::lock_guard lock(mutex_);
    rules_ = {};
    rule_count_ = 0;
  }

  /// Starts a seeded random schedule (replacing any before); `chaos{}` (all chances zero) stops it.
  void randomize(const chaos& c) noexcept {
    std::lock_guard lock(mutex_);
    chaos_ = c;
    chaos_on_ = c.short_send || c.short_recv || c.interrupt || c.would_block;
    random_ = random_source{c.seed};
  }

  /// The faults that fired, in order (the first `Log` of them; `counters().faults` counts all).
  std::span<const fault_event> fault_log() const noexcept {
    std::lock_guard lock(mutex_);
    return {log_.data(), log_count_ < Log ? log_count_ : Log};
  }

  /// Calls, bytes and faults so far.
  counters stats() const noexcept {
    std::lock_guard lock(mutex_);
    return stats_;
  }

  /// What the network knows of socket `h`, also after it closed (until its slot is reused). `sent` points into the
  /// network and stays valid until the slot is reused or `reset()`.
  socket_info info(handle_type h) const noexcept {
    std::lock_guard lock(mutex_);
    socket_info out;
    const int i = index_of(h, true);
    if (i < 0) return out;
    const slot& s = slots_[i];
    out.known = true;
    out.open = s.open;
    out.listening = s.state == phase::listening;
    out.connected = s.state == phase::connected;
    out.local = s.local;
    out.peer = s.state == phase::connected ? s.remote : address{};
    out.peer_handle = s.peer >= 0 && slots_[s.peer].open ? handle_of(s.peer) : invalid_handle;
    out.sends = s.sends;
    out.recvs = s.recvs;
    out.bytes_sent = s.bytes_sent;
    out.bytes_received = s.bytes_received;
    out.faults = s.faults;
    out.sent = std::string_view(reinterpret_cast<const char*>(s.record.data()), s.recorded);
    out.sent_truncated = s.bytes_sent > s.recorded;
    return out;
  }
  /// The bytes socket `h` sent (its first `Record` bytes), byte-exact; empty for an unknown handle.
  std::string_view sent(handle_type h) const noexcept { return info(h).sent; }
  /// The handle of the other end of `h`'s connection while that end is open (an accepted socket), else -1.
  handle_type peer_of(handle_type h) const noexcept { return info(h).peer_handle; }
  /// How many sockets are open (a leak check: 0 at the end of a test that closed everything).
  std::size_t open_sockets() const noexcept {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const slot& s : slots_) n += s.open ? 1 : 0;
    return n;
  }
  /// The handles of the open sockets bound to local port `port` (a listener and its accepted connections):
  /// how a test finds the socket that the code under test made. Returns how many it wrote into `out`.
  std::size_t find_local_port(std::uint16_t port, std::span<handle_type> out) const noexcept {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (std::size_t i = 0; i < Sockets && n < out.size(); ++i)
      if (slots_[i].open && slots_[i].local.port() == port) out[n++] = handle_of(static_cast<int>(i));
    return n;
  }

  /// Makes `name` resolve to `addr` (its port is ignored) for `usock::getaddrinfo` and `create_connection`.
  /// "localhost" resolves to `::1` and `127.0.0.1` after `reset()`. Errors: `no_buffer_space` when 8 names with
  /// 4 addresses each are taken, `invalid_argument` for a name longer than 63 bytes or an invalid address.
  void add_host(std::string_view name, const address& addr, usock::error_code& ec) noexcept {
    std::lock_guard lock(mutex_);
    if (!addr.valid() || name.empty() || name.size() >= host_entry{}.name.size())
      return fail(ec, std::errc::invalid_argument);
    if (!add_host_locked(name, addr)) return fail(ec, std::errc::no_buffer_space);
    ec.clear();
  }

  // ---- the backend's calls (usock::socket_backend, through basic_backend) -----------------------------------

  handle_type open(address_family family, socket_type, usock::error_code& ec) noexcept {
    std::unique_lock lock(mutex_);
    ++stats_.opens;
    if (const rule_hit hit = consult(-1, op::open, 0); hit.fired && fails_call(hit, false, ec))
      return invalid_handle;
    const int i = allocate();
    if (i < 0) return fail(ec, std::errc::too_many_files_open), invalid_handle;
    slot& s = slots_[i];
    s.open = true;
    s.family = family;
    s.local = any_address(family, 0);
    changed();
    ec.clear();
    return handle_of(i);
  }

  void close(handle_type h, usock::error_code& ec) noexcept {
    std::unique_lock lock(mutex_);
    const int i = index_of(h);
    if (i < 0) return fail(ec, std::errc::bad_file_descriptor);
    ++stats_.closes;
    slot& s = slots_[i];
    if (s.state == phase::listening) {
      for (std::size_t j = 0; j < Sockets; ++j) {
        slot& c = slots_[j];
        if (!c.in_use || c.listener != i) continue;
        if (c.state == phase::connected && !c.open) {  // queued, never accepted: the client is reset
          abort_connection(static_cast<int>(j));
          release(static_cast<int>(j));
        } else if (c.state == phase::connecting) {
          fail_connect(c, std::errc::connection_refused);
        }
      }
    } else if (s.state == phase::connected) {
      if (s.in.size != 0 || s.reset) {
        abort_connection(i);
      } else {
        graceful_close(i);
      }
    }
    release(i);
    // A freed slot may be what a connection waiting for the server's end needed.
    for (std::size_t j = 0; j < Sockets; ++j)
      if (slots_[j].open && slots_[j].state == phase::listening) promote(static_cast<int>(j));
    changed();
    ec.clear();
  }

  void set_nonblocking(handle_type h, bool on, usock::error_code& ec) noexcept {
    std::lock_guard lock(mutex_);
    const int i = index_of(h);
    if (i < 0) return fail(ec, std::errc::bad_file_descriptor);
    slots_[i].nonblocking = on;
    ec.clear();
  }

  void connect(handle_type h, const address& addr, usock::error_code& ec) noexcept {
    std::unique_lock lock(mutex_);
    ++stats_.connects;
    expire();
    const int i = index_of(h);
    if (i < 0) return fail(ec, std::errc::bad_file_descriptor);
    slot& s = slots_[i];
    if (!addr.valid()) return fail(ec, std::errc::invalid_argument);
    if (family_of(addr, s.family) != s.family) return fail(ec, std::errc::address_family_not_supported);
    if (s.state == phase::connected) return fail(ec, std::errc::already_connected);
    if (s.state == phase::connecting) return fail(ec, std::errc::connection_already_in_progress);
    if (s.state == phase::listening) return fail(ec, std::errc::invalid_argument);
    s.state = phase::fresh;
    s.has_error = false;
    if (!s.bound && !bind_ephemeral(i, ec)) return;
    if (is_any(s.local)) s.local = with_port(loopback(s.family), s.local.port());
    s.remote = addr.any_family() || is_any(addr) ? with_port(loopback(s.family), addr.port()) : addr;
    const rule_hit hit = consult(i, op::connect, 0, addr.port());
    if (hit.fired && fails_call(hit, false, ec)) return;
    const int l = (hit.fired && hit.kind == fault::refuse) ? -1 : find_listener(s.family, s.remote);
    if (hit.fired && hit.kind == fault::drop) {
      s.state = phase::connecting;
      s.listener = -1;
      s.syn_deadline = now_ns() + connect_timeout.count();
    } else if (l < 0) {
      return finish_failed_connect(i, std::errc::connection_refused, ec);
    } else {
      s.state = phase::connecting;
      s.listener = l;
      s.seq = ++seq_;
      s.syn_deadline = now_ns() + connect_timeout.count();
      promote(l);
    }
    changed();
    if (s.nonblocking) return fail(ec, std::errc::operation_in_progress);
    const wake w = block(lock, [&] { return !slots_[i].open || slots_[i].state != phase::connecting; },
                         slots_[i].syn_deadline, "connect", h);
    expire();
    if (w == wake::stalled) return fail(ec, std::errc::resource_deadlock_would_occur);
    if (index_of(h) < 0) return fail(ec, std::errc::bad_file_descriptor);
    connect_result_locked(i, ec);
  }

  void connect_result(handle_type h, usock::error_code& ec) noexcept {
    std::lock_guard lock(mutex_);
    expire();
    const int i = index_of(h);
    if (i < 0) return fail(ec, std::errc::bad_file_descriptor);
    connect_result_locked(i, ec);
  }

  void bind(handle_type h, const address& addr, usock::error_code& ec) noexcept {
    std::lock_guard lock(mutex_);
    const int i = index_of(h);
    if (i < 0) return fail(ec, std::errc::bad_file_descriptor);
    slot& s = slots_[i];
    if (!addr.valid() || s.bound || s.state != phase::fresh) return fail(ec, std::errc::invalid_argument);
    if (family_of(addr, s.family) != s.family) return fail(ec, std::errc::address_family_not_supported);
    const address wanted = addr.any_family() ? any_address(s.family, addr.port()) : addr;
    if (wanted.port() == 0) {
      s.local = wanted;
      if (!bind_ephemeral(i, ec)) return;
    } else {
      if (port_taken(i, wanted, s.reuseaddr, false)) return fail(ec, std::errc::address_in_use);
      s.local = wanted;
      s.bound = true;
    }
    ec.clear();
  }

  void listen(handle_type h, int backlog, usock::error_code& ec) noexcept {
    std::lock_guard lock(mutex_);
    const int i = index_of(h);
    if (i < 0) return fail(ec, std::errc::bad_file_descriptor);
    slot& s = slots_[i];
    if (s.state != phase::fresh && s.state != phase::listening) return fail(ec, std::errc::invalid_argument);
    if (!s.bound && !bind_ephemeral(i, ec)) return;
    if (s.state == phase::fresh && port_taken(i, s.local, s.reuseaddr, true))
      return fail(ec, std::errc::address_in_use);
    s.state = phase::listening;
    s.backlog = backlog < 0 ? 0 : backlog > static_cast<int>(Sockets) ? static_cast<int>(Sockets) : backlog;
    promote(i);
    changed();
    ec.clear();
  }

  handle_type accept(handle_type h, address& peer, bool nonblocking, usock::error_code& ec) noexcept {
    std::unique_lock lock(mutex_);
    ++stats_.accepts;
    const int l = index_of(h);
    if (l < 0) return fail(ec, std::errc::bad_file_descriptor), invalid_handle;
    if (slots_[l].state != phase::listening) return fail(ec, std::errc::invalid_argument), invalid_handle;
    if (const rule_hit hit = consult(l, op::accept, 0); hit.fired && fails_call(hit, slots_[l].nonblocking, ec))
      return invalid_handle;
    if (slots_[l].nonblocking && queued(l) < 0)
      return fail(ec, std::errc::resource_unavailable_try_again), invalid_handle;
    const wake w = block(lock, [&] { return index_of(h) < 0 || queued(l) >= 0; }, no_deadline, "accept", h);
    if (w == wake::stalled) return fail(ec, std::errc::resource_deadlock_would_occur), invalid_handle;
    if (index_of(h) < 0) return fail(ec, std::errc::bad_file_descriptor), invalid_handle;
    const int c = queued(l);
    slot& conn = slots_[c];
    conn.open = true;
    conn.listener = -1;
    conn.nonblocking = nonblocking;
    peer = conn.remote;
    promote(l);
    changed();
    ec.clear();
    return handle_of(c);
  }

  std::size_t send(handle_type h, const_bytes data, usock::error_code& ec) noexcept {
    std::unique_lock lock(mutex_);
    std::size_t limit = data.size();
    const int i = start_transfer(h, op::send, limit, ec);
    if (i < 0) return 0;
    fault cut = fault::error;
    int cut_rule = -1;
    limit = byte_rules(i, limit, cut, cut_rule);
    if (!await_transfer(lock, h, i, "send", [&] { return send_ready(i); }, ec)) return 0;
    const std::size_t n = transmit(i, data, limit, cut, cut_rule, ec);
    changed();
    return n;
  }

  std::size_t recv(handle_type h, mutable_bytes buffer, usock::error_code& ec) noexcept {
    std::unique_lock lock(mutex_);
    std::size_t limit = buffer.size();
    const int i = start_transfer(h, op::recv, limit, ec);
    if (i < 0) return 0;
    if (!await_transfer(lock, h, i, "recv", [&] { return recv_ready(i); }, ec)) return 0;
    const std::size_t n = deliver(i, buffer.first(limit < buffer.size() ? limit : buffer.size()), ec);
    changed();
    return n;
  }

  void shutdown(handle_type h, shutdown_how how, usock::error_code& ec) noexcept {
    std::lock_guard lock(mutex_);
    const int i = index_of(h);
    if (i < 0) return fail(ec, std::errc::bad_file_descriptor);
    slot& s = slots_[i];
    if (s.state != phase::connected) return fail(ec, std::errc::not_connected);
    if (how != shutdown_how::write) {
      s.shut_rd = true;
      s.in.clear();
    }
    if (how != shutdown_how::read) shut_write(i);
    changed();
    ec.clear();
  }

  void setsockopt(handle_type h, option_level level, socket_option option, int value, usock::error_code& ec) noexcept {
    std::lock_guard lock(mutex_);
    const int i = index_of(h);
    if (i < 0) return fail(ec, std::errc::bad_file_descriptor);
    if (level_of(option) != level) return fail(ec, std::errc::no_protocol_option);
    slot& s = slots_[i];
    switch (option) {
      case socket_option::reuseaddr: s.reuseaddr = value != 0; break;
      case socket_option::keepalive: s.keepalive = value != 0; break;
      case socket_option::nodelay: s.nodelay = value != 0; break;
      case socket_option::rcvbuf:
      case socket_option::sndbuf: {
        if (value <= 0) return fail(ec, std::errc::invalid_argument);
        const int clamped = static_cast<std::size_t>(value) > Buffer ? static_cast<int>(Buffer) : value;
        (option == socket_option::rcvbuf ? s.rcvbuf : s.sndbuf) = clamped;
        changed();
        break;
      }
    }
    ec.clear();
  }

  int getsockopt(handle_type h, option_level level, socket_option option, usock::error_code& ec) const noexcept {
    std::lock_guard lock(mutex_);
    const int i = index_of(h);
    if (i < 0) return fail(ec, std::errc::bad_file_descriptor), 0;
    if (level_of(option) != level) return fail(ec, std::errc::no_protocol_option), 0;
    const slot& s = slots_[i];
    ec.clear();
    switch (option) {
      case socket_option::reuseaddr: return s.reuseaddr ? 1 : 0;
      case socket_option::keepalive: return s.keepalive ? 1 : 0;
      case socket_option::nodelay: return s.nodelay ? 1 : 0;
      case socket_option::rcvbuf: return s.rcvbuf;
      case socket_option::sndbuf: return s.sndbuf;
    }
    return 0;
  }

  address local_address(handle_type h, usock::error_code& ec) const noexcept {
    std::lock_guard lock(mutex_);
    const int i = index_of(h);
    if (i < 0) return fail(ec, std::errc::bad_file_descriptor), address{};
    ec.clear();
    return slots_[i].local;
  }

  address peer_address(handle_type h, usock::error_code& ec) const noexcept {
    std::lock_guard lock(mutex_);
    const int i = index_of(h);
    if (i < 0) return fail(ec, std::errc::bad_file_descriptor), address{};
    if (slots_[i].state != phase::connected) return fail(ec, std::errc::not_connected), address{};
    ec.clear();
    return slots_[i].remote;
  }

  bool wait(handle_type h, wait_for what, int timeout_ms, usock::error_code& ec) noexcept {
    std::unique_lock lock(mutex_);
    ++stats_.waits;
    expire();
    const int i = index_of(h);
    if (i < 0) return fail(ec, std::errc::bad_file_descriptor), false;
    const unsigned want = (what == wait_for::read ? pollin : pollout) | pollerr | pollhup | pollnval;
    auto ready = [&] { return (readiness(h) & want) != 0; };
    ec.clear();
    if (ready()) return true;
    if (interrupted(i, op::wait)) return false;
    if (timeout_ms == 0) return false;
    const wake w = block(lock, ready, deadline_after(timeout_ms), "wait", h);
    if (w == wake::stalled) return fail(ec, std::errc::resource_deadlock_would_occur), false;
    return w == wake::ready;
  }

  // ---- polling: the one place that answers `basic_poller` (poll entries over readiness) ---------------------

  /// Fills each entry's `revents` (what it asked for, plus `pollerr`/`pollhup`/`pollnval` always) and waits until
  /// one is non-zero or `timeout_ms` passes (< 0: forever). Returns how many entries are ready.
  std::size_t poll(poll_entry* entries, std::size_t count, int timeout_ms, usock::error_code& ec) noexcept {
    std::unique_lock lock(mutex_);
    ++stats_.polls;
    expire();
    std::size_t ready = 0;
    auto scan = [&] {
      ready = 0;
      for (std::size_t k = 0; k < count; ++k) {
        entries[k].revents = readiness(entries[k].handle) & (entries[k].events | pollerr | pollhup | pollnval);
        ready += entries[k].revents != 0 ? 1 : 0;
      }
      return ready != 0;
    };
    ec.clear();
    if (scan()) return ready;
    if (interrupted(-1, op::wait) || timeout_ms == 0) return 0;
    const wake w = block(lock, scan, deadline_after(timeout_ms), "poll", invalid_handle);
    if (w == wake::stalled) return fail(ec, std::errc::resource_deadlock_would_occur), 0;
    return w == wake::ready ? ready : 0;
  }

  /// The events a handle reports now: `pollin`, `pollout`, `pollerr`, `pollhup`, or `pollnval` when it is closed.
  unsigned events(handle_type h) const noexcept {
    std::lock_guard lock(mutex_);
    return readiness(h);
  }

  /// Every address `host` resolves to (numeric text as itself, then the names `add_host` gave). Errors:
  /// `no_such_device_or_address` for an unknown name.
  std::vector<address> resolve(std::string_view host, std::uint16_t port, usock::error_code& ec) {
    std::vector<address> out;
    const address numeric{host, port};
    if (numeric.valid() && !host.empty()) {
      out.push_back(numeric);
      ec.clear();
      return out;
    }
    std::lock_guard lock(mutex_);
    for (const host_entry& e : hosts_)
      if (e.count != 0 && std::string_view(e.name.data()) == host)
        for (std::size_t k = 0; k < e.count; ++k) out.push_back(with_port(e.addrs[k], port));
    if (out.empty()) return fail(ec, std::errc::no_such_device_or_address), out;
    ec.clear();
    return out;
  }

  /// The network's time in nanoseconds; what the backend's clock reads.
  std::int64_t now_ns() const noexcept {
    const std::int64_t base = base_ns_.load();
    return mode_.load() == time_mode::real ? base + (steady_ns() - real_start_ns_.load()) : base;
  }

 private:
  enum class phase : std::uint8_t { fresh, listening, connecting, connected };
  enum class wake : std::uint8_t { ready, not_ready, timed_out, stalled };
  static constexpr std::int64_t no_deadline = INT64_MAX;
  static constexpr std::uint16_t first_ephemeral = 49152;
  static constexpr std::size_t max_waiters = 32;
  static constexpr const char* stalled_name = "resource_deadlock_would_occur";

  /// Bytes waiting to be received, in a fixed ring.
  struct ring {
    std::array<std::byte, Buffer> bytes;
    std::size_t head = 0, size = 0;
    void clear() noexcept { head = size = 0; }
    std::size_t push(const std::byte* data, std::size_t n) noexcept {
      for (std::size_t k = 0; k < n; ++k) bytes[(head + size + k) % Buffer] = data[k];
      size += n;
      return n;
    }
    std::size_t pop(std::byte* out, std::size_t n) noexcept {
      if (n > size) n = size;
      for (std::size_t k = 0; k < n; ++k) out[k] = bytes[(head + k) % Buffer];
      head = (head + n) % Buffer;
      size -= n;
      return n;
    }
  };

  struct slot {
    bool in_use = false;  // an open socket, or an accepted-to-be connection in a listener's queue
    bool open = false;    // a handle the test holds
    int gen = 0;
    std::uint64_t released = 0;
    address_family family = address_family::inet;
    phase state = phase::fresh;
    bool bound = false;
    address local, remote;
    int peer = -1;      // the other end's slot while it holds the connection
    int listener = -1;  // connecting: the listener aimed at; queued: the listener whose queue holds it
    std::uint64_t seq = 0;
    int backlog = 0;
    std::int64_t syn_deadline = 0;
    bool has_error = false;  // a failed non-blocking connect, reported by connect_result
    std::errc error{};
    bool nonblocking = false, reuseaddr = false, keepalive = false, nodelay = false;
    int rcvbuf = static_cast<int>(Buffer), sndbuf = static_cast<int>(Buffer);
    ring in;
    bool eof_in = false;      // the peer shut its writing side: after `in`, recv returns 0
    bool shut_rd = false, shut_wr = false;
    bool peer_gone = false;   // the peer closed: the next send is answered by a reset
    bool reset = false, reset_reported = false;
    std::array<std::byte, Record> record;
    std::size_t recorded = 0;
    std::uint64_t sends = 0, recvs = 0, bytes_sent = 0, bytes_received = 0, faults = 0;

    slot() noexcept = default;
    slot(const slot&) = delete;
    slot& operator=(const slot&) = delete;
    void clear() noexcept {
      in_use = open = bound = has_error = false;
      nonblocking = reuseaddr = keepalive = nodelay = false;
      eof_in = shut_rd = shut_wr = peer_gone = reset = reset_reported = false;
      released = 0;
      family = address_family::inet;
      state = phase::fresh;
      local = remote = address{};
      peer = listener = -1;
      seq = 0;
      backlog = 0;
      syn_deadline = 0;
      error = {};
      rcvbuf = sndbuf = static_cast<int>(Buffer);
      in.clear();
      recorded = 0;
      sends = recvs = bytes_sent = bytes_received = faults = 0;
    }
  };

  struct rule_state {
    rule spec;
    std::size_t seen = 0;
    std::size_t fired = 0;
    bool active = false;
  };
  struct rule_hit {
    bool fired = false;
    fault kind = fault::error;
    std::size_t size = 0;
    std::errc code{};
  };
  struct waiter {
    bool used = false;
    std::int64_t deadline = no_deadline;
    std::uint64_t seen = 0;           // the network version this waiter last looked at
    std::uint64_t stall_epoch = 0;    // stalls_ when it started waiting
  };
  struct time_wait_entry {
    address local;
    std::int64_t until = 0;
  };
  struct host_entry {
    std::array<char, 64> name{};
    std::array<address, 4> addrs{};
    std::size_t count = 0;
  };

  // ---- small helpers ------------------------------------------------------------------------------------------

  static void fail(usock::error_code& ec, std::errc e) noexcept { ec = std::make_error_code(e); }
  static std::int64_t steady_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  std::int64_t deadline_after(int timeout_ms) const noexcept {
    return timeout_ms < 0 ? no_deadline : now_ns() + std::int64_t{timeout_ms} * 1000000;
  }
  void changed() noexcept {
    ++version_;
    cv_.notify_all();
    settle_.notify_all();
  }

  handle_type handle_of(int i) const noexcept { return slots_[i].gen * static_cast<int>(Sockets) + i; }
  /// The slot of an open handle (or, with `closed_too`, of a closed one whose slot was not reused); -1 otherwise.
  int index_of(handle_type h, bool closed_too = false) const noexcept {
    if (h < static_cast<int>(Sockets)) return -1;
    const int i = h % static_cast<int>(Sockets);
    const slot& s = slots_[i];
    if (s.gen != h / static_cast<int>(Sockets)) return -1;
    return s.open || (closed_too && !s.in_use) ? i : -1;
  }

  /// A free slot, the one free for longest (so a closed socket's record lives as long as possible); -1 if none.
  int allocate() noexcept {
    int best = -1;
    for (std::size_t i = 0; i < Sockets; ++i)
      if (!slots_[i].in_use && (best < 0 || slots_[i].released < slots_[best].released)) best = static_cast<int>(i);
    if (best < 0) return -1;
    slot& s = slots_[best];
    const int gen = s.gen;
    s.clear();
    s.gen = gen + 1 >= INT_MAX / static_cast<int>(Sockets) ? 1 : gen + 1;
    s.in_use = true;
    return best;
  }
  void release(int i) noexcept {
    slot& s = slots_[i];
    if (s.peer >= 0 && slots_[s.peer].peer == i) slots_[s.peer].peer = -1;
    s.in_use = s.open = false;
    s.peer = s.listener = -1;
    s.released = ++release_seq_;
  }

  static address loopback(address_family f) noexcept {
    return f == address_family::inet6 ? address{"::1", 0} : address{"127.0.0.1", 0};
  }
  static address any_address(address_family f, std::uint16_t port) noexcept {
    return f == address_family::inet6 ? address{"::", port} : address{"0.0.0.0", port};
  }
  static address with_port(const address& a, std::uint16_t port) noexcept {
    const auto b = a.bytes();
    if (b.size() == 16) return address::ipv6(std::span<const std::uint8_t, 16>(b.data(), 16), port);
    if (b.size() == 4) return address::ipv4(std::span<const std::uint8_t, 4>(b.data(), 4), port);
    return address{"", port};
  }
  static address_family family_of(const address& a, address_family socket_family) noexcept {
    return a.any_family() ? socket_family : a.family();
  }
  static bool is_any(const address& a) noexcept {
    for (const std::uint8_t b : a.bytes())
      if (b != 0) return false;
    return true;
  }
  static bool same_host(const address& a, const address& b) noexcept {
    const auto x = a.bytes(), y = b.bytes();
    return x.size() == y.size() && std::memcmp(x.data(), y.data(), x.size()) == 0;
  }
  static bool overlap(const address& a, const address& b) noexcept {
    return a.family() == b.family() && (is_any(a) || is_any(b) || same_host(a, b));
  }

  bool add_host_locked(std::string_view name, const address& addr) noexcept {
    host_entry* free_entry = nullptr;
    for (host_entry& e : hosts_) {
      if (e.count != 0 && std::string_view(e.name.data()) == name) {
        if (e.count == e.addrs.size()) return false;
        e.addrs[e.count++] = addr;
        return true;
      }
      if (e.count == 0 && !free_entry) free_entry = &e;
    }
    if (!free_entry) return false;
    std::memcpy(free_entry->name.data(), name.data(), name.size());
    free_entry->name[name.size()] = '\0';
    free_entry->addrs[0] = addr;
    free_entry->count = 1;
    return true;
  }

  // ---- ports --------------------------------------------------------------------------------------------------

  /// Whether binding (or listening on) `want` from slot `self` collides with a socket or a TIME_WAIT entry. A
  /// listener always collides; anything else only when the new socket lacks `so_reuseaddr`.
  bool port_taken(int self, const address& want, bool reuse, bool listening) const noexcept {
    for (std::size_t j = 0; j < Sockets; ++j) {
      const slot& o = slots_[j];
      if (static_cast<int>(j) == self || !o.in_use || !o.bound || o.local.port() != want.port()) continue;
      if (!overlap(o.local, want)) continue;
      if (o.state == phase::listening) return true;
      if (!reuse && !listening) return true;
    }
    if (!reuse) {
      const std::int64_t now = now_ns();
      for (const time_wait_entry& t : time_waits_)
        if (t.until > now && t.local.port() == want.port() && overlap(t.local, want)) return true;
    }
    return false;
  }
  bool port_used(std::uint16_t port) const noexcept {
    for (const slot& o : slots_)
      if (o.in_use && o.bound && o.local.port() == port) return true;
    const std::int64_t now = now_ns();
    for (const time_wait_entry& t : time_waits_)
      if (t.until > now && t.local.port() == port) return true;
    return false;
  }
  bool bind_ephemeral(int i, usock::error_code& ec) noexcept {
    for (unsigned tries = 0; tries < 65536u - first_ephemeral; ++tries) {
      const std::uint16_t p = next_port_;
      next_port_ = next_port_ == 65535 ? first_ephemeral : static_cast<std::uint16_t>(next_port_ + 1);
      if (port_used(p)) continue;
      slot& s = slots_[i];
      s.local = with_port(s.local.valid() ? s.local : any_address(s.family, 0), p);
      s.bound = true;
      return true;
    }
    fail(ec, std::errc::address_in_use);
    return false;
  }

  // ---- connections --------------------------------------------------------------------------------------------

  int find_listener(address_family f, const address& target) const noexcept {
    for (std::size_t j = 0; j < Sockets; ++j) {
      const slot& o = slots_[j];
      if (o.open && o.state == phase::listening && o.family == f && o.local.port() == target.port() &&
          (is_any(o.local) || is_any(target) || same_host(o.local, target)))
        return static_cast<int>(j);
    }
    return -1;
  }
  /// The oldest connection waiting in listener `l`'s queue, or -1.
  int queued(int l) const noexcept {
    int best = -1;
    for (std::size_t j = 0; j < Sockets; ++j) {
      const slot& c = slots_[j];
      if (c.in_use && !c.open && c.listener == l && (best < 0 || c.seq < slots_[best].seq)) best = static_cast<int>(j);
    }
    return best;
  }
  int queue_length(int l) const noexcept {
    int n = 0;
    for (const slot& c : slots_) n += (c.in_use && !c.open && c.listener == l) ? 1 : 0;
    return n;
  }
  /// Completes the handshakes of connecting sockets aimed at listener `l`, oldest first, while its queue
  /// (backlog + 1, as Linux) has room and the table has a slot for the server's end.
  void promote(int l) noexcept {
    while (slots_[l].state == phase::listening && queue_length(l) < slots_[l].backlog + 1) {
      int c = -1;
      for (std::size_t j = 0; j < Sockets; ++j) {
        const slot& o = slots_[j];
        if (o.open && o.state == phase::connecting && o.listener == l && (c < 0 || o.seq < slots_[c].seq))
          c = static_cast<int>(j);
      }
      if (c < 0) return;
      const int e = allocate();
      if (e < 0) return;  // no room for the server's end yet: the client keeps trying, as a lost SYN would
      slot& srv = slots_[e];
      slot& lst = slots_[l];
      slot& cli = slots_[c];
      srv.family = lst.family;
      srv.state = phase::connected;
      srv.bound = true;
      const address aimed_at = is_any(cli.remote) ? loopback(lst.family) : cli.remote;
      srv.local = is_any(lst.local) ? with_port(aimed_at, lst.local.port()) : lst.local;
      srv.remote = cli.local;
      srv.peer = c;
      srv.listener = l;
      srv.seq = ++seq_;
      srv.reuseaddr = lst.reuseaddr;
      srv.keepalive = lst.keepalive;
      srv.nodelay = lst.nodelay;
      srv.rcvbuf = lst.rcvbuf;
      srv.sndbuf = lst.sndbuf;
      cli.state = phase::connected;
      cli.listener = -1;
      cli.remote = srv.local;
      cli.peer = e;
    }
  }
  void fail_connect(slot& s, std::errc e) noexcept {
    s.state = phase::fresh;
    s.listener = -1;
    s.has_error = true;
    s.error = e;
  }
  void finish_failed_connect(int i, std::errc e, usock::error_code& ec) noexcept {
    slot& s = slots_[i];
    if (s.nonblocking) {
      fail_connect(s, e);
      changed();
      return fail(ec, std::errc::operation_in_progress);
    }
    fail(ec, e);
  }
  void connect_result_locked(int i, usock::error_code& ec) noexcept {
    slot& s = slots_[i];
    if (s.has_error) {
      s.has_error = false;
      return fail(ec, s.error);
    }
    if (s.state == phase::connecting) return fail(ec, std::errc::operation_in_progress);
    if (s.state != phase::connected) return fail(ec, std::errc::not_connected);
    ec.clear();
  }
  /// Connecting sockets whose time ran out fail with `timed_out`.
  void expire() noexcept {
    const std::int64_t now = now_ns();
    bool any = false;
    for (slot& s : slots_) {
      if (s.open && s.state == phase::connecting && s.syn_deadline <= now) {
        fail_connect(s, std::errc::timed_out);
        any = true;
      }
    }
    if (any) changed();
  }

  /// Slot `i` resets its connection: the peer reads what arrived, then `connection_reset`.
  void abort_connection(int i) noexcept {
    slot& s = slots_[i];
    if (s.peer >= 0) {
      slot& p = slots_[s.peer];
      p.reset = true;
      p.peer = -1;
    }
    s.peer = -1;
  }
  /// Slot `i` closes cleanly: the peer reads EOF after the data, and its next send is answered by a reset.
  void graceful_close(int i) noexcept {
    slot& s = slots_[i];
    if (s.peer >= 0) {
      slot& p = slots_[s.peer];
      p.eof_in = true;
      p.peer_gone = true;
      p.peer = -1;
    }
    // The side that closes first waits in TIME_WAIT, holding its local address.
    if (!s.eof_in && s.bound) {
      time_waits_[time_wait_next_++ % time_waits_.size()] = time_wait_entry{s.local, now_ns() + time_wait.count()};
    }
    s.peer = -1;
  }
  void shut_write(int i) noexcept {
    slot& s = slots_[i];
    s.shut_wr = true;
    if (s.peer >= 0) slots_[s.peer].eof_in = true;
  }

  std::size_t window(const slot& receiver) const noexcept {
    const std::size_t cap = static_cast<std::size_t>(receiver.rcvbuf);
    return receiver.in.size >= cap ? 0 : cap - receiver.in.size;
  }
  bool send_ready(int i) const noexcept {
    const slot& s = slots_[i];
    if (s.state != phase::connected) return s.state != phase::connecting;
    if (s.reset || s.shut_wr || s.peer_gone || s.peer < 0) return true;
    const slot& p = slots_[s.peer];
    return p.shut_rd || window(p) > 0;
  }
  bool recv_ready(int i) const noexcept {
    const slot& s = slots_[i];
    if (s.state != phase::connected) return s.state != phase::connecting;
    return s.in.size != 0 || s.shut_rd || s.reset || s.eof_in;
  }

  /// The readiness of handle `h` as poll flags; see README "Polling".
  unsigned readiness(handle_type h) const noexcept {
    const int i = index_of(h);
    if (i < 0) return pollnval;
    const slot& s = slots_[i];
    switch (s.state) {
      case phase::listening: return queued(i) >= 0 ? pollin : 0u;
      case phase::connecting: return 0u;
      case phase::fresh: return s.has_error ? (pollin | pollout | pollerr | pollhup) : (pollout | pollhup);
      case phase::connected: break;
    }
    unsigned r = 0;
    if (recv_ready(i)) r |= pollin;
    if (send_ready(i)) r |= pollout;
    if (s.reset && !s.reset_reported) r |= pollerr;
    if (s.reset || (s.eof_in && s.shut_wr)) r |= pollhup;
    return r;
  }

  /// What `send` and `recv` do first: count the call and apply rules and chaos, which may lower `limit`. Returns
  /// the socket's slot, or -1 when the call ends here (`ec` says why).
  int start_transfer(handle_type h, op call, std::size_t& limit, usock::error_code& ec) noexcept {
    ++(call == op::send ? stats_.sends : stats_.recvs);
    const int i = index_of(h);
    if (i < 0) return fail(ec, std::errc::bad_file_descriptor), -1;
    ++(call == op::send ? slots_[i].sends : slots_[i].recvs);
    const rule_hit hit = consult(i, call, limit);
    if (hit.fired && fails_call(hit, slots_[i].nonblocking, ec)) return -1;
    if (hit.fired && hit.kind == fault::short_count) limit = hit.size;
    limit = roll_chaos(i, call, limit);
    if (chaos_would_block(i, call)) return fail(ec, std::errc::resource_unavailable_try_again), -1;
    return i;
  }
  /// Waits (a blocking socket) or looks (a non-blocking one) until `ready()`; false when the call ends here.
  template <class Ready>
  bool await_transfer(std::unique_lock<std::mutex>& lock, handle_type h, int i, const char* call, Ready ready,
                      usock::error_code& ec) noexcept {
    const wake w = block(lock, [&] { return index_of(h) < 0 || ready(); }, no_deadline, call, h, slots_[i].nonblocking);
    if (w == wake::stalled) return fail(ec, std::errc::resource_deadlock_would_occur), false;
    if (index_of(h) < 0) return fail(ec, std::errc::bad_file_descriptor), false;
    if (w == wake::not_ready) return fail(ec, std::errc::resource_unavailable_try_again), false;
    return true;
  }

  /// Moves up to `limit` bytes of `data` into the peer's window (or drops them where nobody reads), recording them.
  std::size_t transmit(int i, const_bytes data, std::size_t limit, fault cut, int cut_rule,
                       usock::error_code& ec) noexcept {
    slot& s = slots_[i];
    if (s.state == phase::connecting) return fail(ec, std::errc::resource_unavailable_try_again), 0;
    if (s.state != phase::connected) return fail(ec, std::errc::not_connected), 0;
    if (s.reset) {
      if (!s.reset_reported) return s.reset_reported = true, fail(ec, std::errc::connection_reset), 0;
      return fail(ec, std::errc::broken_pipe), 0;
    }
    if (s.shut_wr) return fail(ec, std::errc::broken_pipe), 0;
    std::size_t n = data.size() < limit ? data.size() : limit;
    if (s.peer_gone || s.peer < 0) {
      s.reset = true;  // the closed peer answers with a reset; these bytes are lost on the way, as in TCP
    } else {
      slot& p = slots_[s.peer];
      if (!p.shut_rd) {
        const std::size_t room = window(p);
        if (n > room) n = room;
        p.in.push(data.data(), n);
      }
    }
    if (n == 0 && data.size() != 0 && cut == fault::error)
      return fail(ec, std::errc::resource_unavailable_try_again), 0;
    const std::size_t keep = s.recorded < Record ? (Record - s.recorded < n ? Record - s.recorded : n) : 0;
    std::memcpy(s.record.data() + s.recorded, data.data(), keep);
    s.recorded += keep;
    s.bytes_sent += n;
    stats_.bytes_sent += n;
    if (cut != fault::error) {
      const bool at_point = cut_rule >= 0 && s.bytes_sent >= rules_[cut_rule].spec.size;
      if (at_point) {
        ++rules_[cut_rule].fired;
        log_fault(i, op::send, cut, n, cut_rule);
        if (cut == fault::reset_after) {
          abort_connection(i);
          s.reset = true;
        } else {
          shut_write(i);
        }
        if (n == 0) {
          if (cut == fault::reset_after) return s.reset_reported = true, fail(ec, std::errc::connection_reset), 0;
          return fail(ec, std::errc::broken_pipe), 0;
        }
      }
    }
    ec.clear();
    return n;
  }

  /// Hands out up to `out.size()` received bytes; then EOF (0) or the pending reset.
  std::size_t deliver(int i, mutable_bytes out, usock::error_code& ec) noexcept {
    slot& s = slots_[i];
    if (s.state == phase::connecting) return fail(ec, std::errc::resource_unavailable_try_again), 0;
    if (s.state != phase::connected) return fail(ec, std::errc::not_connected), 0;
    ec.clear();
    if (out.empty()) return 0;
    if (s.in.size != 0) {
      const std::size_t n = s.in.pop(out.data(), out.size());
      s.bytes_received += n;
      stats_.bytes_received += n;
      return n;
    }
    if (s.reset && !s.reset_reported && !s.shut_rd) {
      s.reset_reported = true;
      return fail(ec, std::errc::connection_reset), 0;
    }
    return 0;
  }

  // ---- faults -------------------------------------------------------------------------------------------------

  bool matches(const rule& r, int i, op call, std::uint16_t connect_port) const noexcept {
    if ((r.ops & static_cast<unsigned>(call)) == 0) return false;
    switch (r.who) {
      case target::any: return true;
      case target::socket: return i >= 0 && handle_of(i) == r.handle;
      case target::toward:
        return call == op::connect ? connect_port == r.port
                                   : i >= 0 && slots_[i].state == phase::connected && slots_[i].remote.port() == r.port;
      case target::at: return i >= 0 && slots_[i].local.port() == r.port;
    }
    return false;
  }

  /// The first call rule (not a byte rule) that fires on this call, counted as fired and logged.
  rule_hit consult(int i, op call, std::size_t size, std::uint16_t connect_port = 0) noexcept {
    for (std::size_t k = 0; k < rule_count_; ++k) {
      rule_state& st = rules_[k];
      const rule& r = st.spec;
      if (!st.active || r.kind == fault::reset_after || r.kind == fault::half_close_after) continue;
      if (!matches(r, i, call, connect_port)) continue;
      if (r.kind == fault::would_block && (i < 0 || !slots_[i].nonblocking)) continue;
      if (st.seen++ < r.skip) continue;
      if (r.limit != 0 && st.fired >= r.limit) continue;
      ++st.fired;
      const std::size_t n = r.kind == fault::short_count ? (r.size < size ? r.size : size) : size;
      log_fault(i, call, r.kind, n, static_cast<int>(k));
      return rule_hit{true, r.kind, r.size, r.code};
    }
    return {};
  }
  /// Applies a fired rule that ends the call; false when the call goes on (a short count, or an interruption the
  /// stack retries).
  bool fails_call(const rule_hit& hit, bool nonblocking, usock::error_code& ec) noexcept {
    switch (hit.kind) {
      case fault::error: return fail(ec, hit.code), true;
      case fault::would_block:
        if (!nonblocking) return false;
        return fail(ec, std::errc::resource_unavailable_try_again), true;
      default: return false;
    }
  }
  /// Whether a `wait`/`poll` is interrupted by a rule or by chaos (it then returns early, unready).
  bool interrupted(int i, op call) noexcept {
    for (std::size_t k = 0; k < rule_count_; ++k) {
      rule_state& st = rules_[k];
      const rule& r = st.spec;
      if (!st.active || r.kind != fault::interrupt || !matches(r, i, call, 0)) continue;
      if (st.seen++ < r.skip || (r.limit != 0 && st.fired >= r.limit)) continue;
      ++st.fired;
      log_fault(i, call, fault::interrupt, 0, static_cast<int>(k));
      return true;
    }
    if (chaos_on_ && chaos_.interrupt && random_.below(1000) < chaos_.interrupt) {
      log_fault(i, call, fault::interrupt, 0, -1);
      return true;
    }
    return false;
  }
  std::size_t roll_chaos(int i, op call, std::size_t limit) noexcept {
    if (!chaos_on_) return limit;
    if (chaos_.interrupt && random_.below(1000) < chaos_.interrupt) log_fault(i, call, fault::interrupt, limit, -1);
    const unsigned chance = call == op::send ? chaos_.short_send : chaos_.short_recv;
    if (chance && limit > 1 && random_.below(1000) < chance) {
      limit = 1 + static_cast<std::size_t>(random_.below(limit - 1));
      log_fault(i, call, fault::short_count, limit, -1);
    }
    return limit;
  }
  bool chaos_would_block(int i, op call) noexcept {
    if (!chaos_on_ || !chaos_.would_block || !slots_[i].nonblocking) return false;
    if (random_.below(1000) >= chaos_.would_block) return false;
    log_fault(i, call, fault::would_block, 0, -1);
    return true;
  }
  /// Caps a send at the next reset/half-close point of a byte rule that matches; says which rule cuts there.
  std::size_t byte_rules(int i, std::size_t limit, fault& cut, int& cut_rule) noexcept {
    const slot& s = slots_[i];
    for (std::size_t k = 0; k < rule_count_; ++k) {
      rule_state& st = rules_[k];
      const rule& r = st.spec;
      if (!st.active || (r.kind != fault::reset_after && r.kind != fault::half_close_after)) continue;
      if (!matches(r, i, op::send, 0) || s.state != phase::connected || s.reset || s.shut_wr) continue;
      if (r.limit != 0 && st.fired >= r.limit) continue;
      if (s.bytes_sent > r.size) continue;
      const std::size_t left = r.size - s.bytes_sent;
      if (left <= limit) {
        limit = left;
        cut = r.kind;
        cut_rule = static_cast<int>(k);
        break;
      }
    }
    return limit;
  }
  void log_fault(int i, op call, fault kind, std::size_t size, int rule_index) noexcept {
    ++stats_.faults;
    if (i >= 0) ++slots_[i].faults;
    if (log_count_ < Log)
      log_[log_count_] =
          fault_event{log_count_ + 1, i >= 0 ? handle_of(i) : invalid_handle, call, kind, size, rule_index};
    ++log_count_;
  }

  // ---- waiting: virtual time, stalls and the real-time watchdog -------------------------------------------------

  bool all_settled() const noexcept {
    for (const waiter& w : waiters_)
      if (w.used && w.seen != version_) return false;
    return true;
  }
  std::int64_t next_deadline() const noexcept {
    std::int64_t next = no_deadline;
    for (const waiter& w : waiters_)
      if (w.used && w.deadline < next) next = w.deadline;
    for (const slot& s : slots_)
      if (s.open && s.state == phase::connecting && s.syn_deadline < next) next = s.syn_deadline;
    return next;
  }

  /// Blocks the calling thread until `ready()` holds, `deadline` passes (`timed_out`), or the network decides the
  /// wait can never end (`stalled`). A non-blocking caller gets `not_ready` instead of blocking.
  template <class Ready>
  wake block(std::unique_lock<std::mutex>& lock, Ready ready, std::int64_t deadline, const char* call, handle_type h,
             bool nonblocking = false) noexcept {
    if (ready()) return wake::ready;
    if (nonblocking) return wake::not_ready;
    int me = -1;
    for (std::size_t k = 0; k < max_waiters && me < 0; ++k)
      if (!waiters_[k].used) me = static_cast<int>(k);
    if (me < 0) return report_stall(call, h, "more than 32 calls are blocked at once"), wake::stalled;
    waiters_[me] = waiter{true, deadline, 0, stall_epoch_};
    ++blocked_;
    wake result = wake::ready;
    for (;;) {
      expire();
      waiters_[me].seen = version_;
      if (ready()) break;
      const std::int64_t now = now_ns();
      if (now >= deadline) {
        result = wake::timed_out;
        break;
      }
      if (waiters_[me].stall_epoch != stall_epoch_) {
        result = wake::stalled;
        break;
      }
      settle_.notify_all();
      if (participants_ != 0 && blocked_ >= participants_ && all_settled() && !any_due(now)) {
        const std::int64_t next = next_deadline();
        if (mode_.load() == time_mode::manual && next != no_deadline) {
          ++stats_.auto_advances;
          base_ns_.store(next);
          changed();
          continue;
        }
        if (next == no_deadline) {
          ++stall_epoch_;
          report_stall(call, h, "every thread taking part is blocked and no deadline is pending");
          changed();
          result = wake::stalled;
          break;
        }
      }
      const std::uint64_t before = version_;
      bool quiet = false;
      if (mode_.load() == time_mode::real && deadline != no_deadline) {
        const auto real_deadline = std::chrono::steady_clock::time_point(
            std::chrono::nanoseconds(real_start_ns_.load() + (deadline - base_ns_.load())));
        const auto limit = std::chrono::steady_clock::now() + stall_limit_;
        const bool by_deadline = stall_limit_.count() == 0 || real_deadline < limit;
        quiet = cv_.wait_until(lock, by_deadline ? real_deadline : limit) == std::cv_status::timeout && !by_deadline;
      } else if (stall_limit_.count() != 0) {
        quiet = cv_.wait_for(lock, stall_limit_) == std::cv_status::timeout;
      } else {
        cv_.wait(lock);
      }
      if (quiet && version_ == before && !ready() && now_ns() < deadline) {
        report_stall(call, h, "nothing happened in the network for the stall limit of real time");
        result = wake::stalled;
        break;
      }
    }
    waiters_[me].used = false;
    --blocked_;
    if (result == wake::stalled) ++stats_.stalls;
    settle_.notify_all();
    return result;
  }
  bool any_due(std::int64_t now) const noexcept {
    for (const waiter& w : waiters_)
      if (w.used && w.deadline <= now) return true;
    return false;
  }
  void report_stall(const char* call, handle_type h, const char* why) noexcept {
    if (h == invalid_handle)
      std::fprintf(stderr, "usock::testing: a blocking %s can never finish (%s); it reports %s\n", call, why,
                   stalled_name);
    else
      std::fprintf(stderr, "usock::testing: a blocking %s on socket %d can never finish (%s); it reports %s\n", call, h,
                   why, stalled_name);
  }

  mutable std::mutex mutex_;
  std::condition_variable cv_;      // any change in the network or its time
  std::condition_variable settle_;  // a waiter looked at the latest change, or left
  std::array<slot, Sockets> slots_;
  std::array<rule_state, Rules> rules_{};
  std::size_t rule_count_ = 0;
  chaos chaos_{};
  bool chaos_on_ = false;
  random_source random_{};
  std::array<fault_event, Log> log_{};
  std::size_t log_count_ = 0;
  counters stats_{};
  std::array<time_wait_entry, 16> time_waits_{};
  std::size_t time_wait_next_ = 0;
  std::array<host_entry, 8> hosts_{};
  std::atomic<std::int64_t> base_ns_{0};
  std::atomic<std::int64_t> real_start_ns_{0};
  std::atomic<time_mode> mode_{time_mode::manual};
  unsigned participants_ = 1;
  std::chrono::milliseconds stall_limit_{10000};
  std::uint16_t next_port_ = first_ephemeral;
  std::uint64_t seq_ = 0, release_seq_ = 0;
  std::uint64_t version_ = 0;
  std::uint64_t stall_epoch_ = 0;
  std::array<waiter, max_waiters> waiters_{};
  unsigned blocked_ = 0;
};

}  // namespace usock::testing
