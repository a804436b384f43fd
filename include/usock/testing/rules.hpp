#pragma once
/// \file
/// Fault injection for the in-memory network: `usock::testing::rule` (one fault, on cue), `chaos` (a seeded
/// random schedule), and what the network records when a fault fires (`fault_event`).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <system_error>

#include "../detail/chrono.hpp"

namespace usock::testing {

/// The calls a rule can act on, as bit flags (`op::send | op::recv`). `wait` covers `Backend::wait` and `poll`.
enum class op : unsigned { open = 1, connect = 2, accept = 4, send = 8, recv = 16, wait = 32 };

constexpr unsigned operator|(op a, op b) noexcept { return static_cast<unsigned>(a) | static_cast<unsigned>(b); }
constexpr unsigned operator|(unsigned a, op b) noexcept { return a | static_cast<unsigned>(b); }

/// What a fired rule does.
enum class fault : std::uint8_t {
  short_count,       ///< `send`/`recv` move at most `size` bytes (at least 1)
  interrupt,         ///< the call is interrupted (`EINTR`): the stack retries it; `wait`/`poll` wake early, unready
  would_block,       ///< a non-blocking `send`/`recv`/`accept` reports `resource_unavailable_try_again` once
  error,             ///< the call reports `error` and does nothing else
  reset_after,       ///< the connection is reset once `size` bytes have been sent in this direction
  half_close_after,  ///< the sender's side shuts (the peer sees EOF) once `size` bytes have been sent
  refuse,            ///< `connect` is refused although someone listens
  drop,              ///< `connect` is never answered: it times out (`timed_out`)
};

/// Which sockets a rule applies to.
enum class target : std::uint8_t {
  any,     ///< every socket
  socket,  ///< the socket with one handle
  toward,  ///< sockets whose peer port is `port` (clients of a server on that port; `connect` to it)
  at,      ///< sockets whose local port is `port` (a server's listener and the connections it accepted)
};

/// One fault, on cue. Build it with a factory and narrow it with the chained setters:
///
/// ```cpp
/// net.add(usock::testing::rule::short_send(3).toward(9000).times(2));   // the next 2 sends to :9000 take 3 bytes
/// net.add(usock::testing::rule::reset_after(1000).at(9000));            // the server's side resets at byte 1,000
/// ```
///
/// A rule lets `after(k)` matching calls pass, then fires on the next `times(n)` matching calls (1 unless set;
/// `always()` never stops). Byte rules (`reset_after`, `half_close_after`) count the bytes each matching socket has
/// sent, and fire once per rule unless `times` says otherwise.
struct rule {
  fault kind = fault::error;
  unsigned ops = 0;          ///< `op` flags the rule acts on
  std::size_t size = 0;      ///< bytes: the short count, or where `reset_after`/`half_close_after` cut in
  std::errc code{};          ///< `fault::error`: what the call reports
  target who = target::any;
  int handle = -1;           ///< `target::socket`
  std::uint16_t port = 0;    ///< `target::toward` / `target::at`
  std::size_t skip = 0;      ///< matching calls let through before the rule fires
  std::size_t limit = 1;     ///< how many times it fires; 0: every time

  /// `send` moves at most `n` bytes (`n` of 0 counts as 1).
  static constexpr rule short_send(std::size_t n) noexcept { return make(fault::short_count, op::send, n ? n : 1); }
  /// `recv` hands out at most `n` bytes (`n` of 0 counts as 1).
  static constexpr rule short_recv(std::size_t n) noexcept { return make(fault::short_count, op::recv, n ? n : 1); }
  /// An `EINTR` on the calls in `ops`: `send`, `recv`, `accept` and `connect` are retried by the stack as the
  /// backend contract requires (visible in the counters); `wait` and `poll` return early with nothing ready, and
  /// `basic_socket`/`basic_poller` must wait again for the time that is left.
  static constexpr rule interrupt(unsigned ops) noexcept { return make_ops(fault::interrupt, ops, 0); }
  static constexpr rule interrupt(op o) noexcept { return interrupt(static_cast<unsigned>(o)); }
  /// A spurious `resource_unavailable_try_again` on a non-blocking `send`, `recv` or `accept` (never on a blocking
  /// socket, whose stack would block instead).
  static constexpr rule would_block(unsigned ops) noexcept { return make_ops(fault::would_block, ops, 0); }
  static constexpr rule would_block(op o) noexcept { return would_block(static_cast<unsigned>(o)); }
  /// The calls in `ops` report `e`.
  static constexpr rule fail(unsigned ops, std::errc e) noexcept {
    rule r = make_ops(fault::error, ops, 0);
    r.code = e;
    return r;
  }
  static constexpr rule fail(op o, std::errc e) noexcept { return fail(static_cast<unsigned>(o), e); }
  /// The sending side's stack resets the connection once `bytes` have gone out: the peer reads those bytes, then
  /// `connection_reset`; the sender's next call reports `connection_reset`.
  static constexpr rule reset_after(std::size_t bytes) noexcept { return make(fault::reset_after, op::send, bytes); }
  /// The sender's side shuts its writing half once `bytes` have gone out, as `shutdown(shut_wr)`: the peer reads
  /// those bytes, then EOF; it can still send back. The sender's further sends report `broken_pipe`.
  static constexpr rule half_close_after(std::size_t bytes) noexcept {
    return make(fault::half_close_after, op::send, bytes);
  }
  /// `connect` is refused (`connection_refused`) although someone listens.
  static constexpr rule refuse_connect() noexcept { return make(fault::refuse, op::connect, 0); }
  /// `connect` is never answered, as when SYNs are lost: it reports `timed_out` at the socket's deadline, or after
  /// the network's connect timeout (75 s of its time) when the socket has none.
  static constexpr rule drop_connect() noexcept { return make(fault::drop, op::connect, 0); }
  /// Socket exhaustion: `open` and `accept` report `too_many_files_open`.
  static constexpr rule no_sockets() noexcept { return fail(op::open | op::accept, std::errc::too_many_files_open); }
  /// Buffer exhaustion: `send` reports `no_buffer_space`.
  static constexpr rule no_buffers() noexcept { return fail(op::send, std::errc::no_buffer_space); }

  /// Only the socket with handle `h`.
  constexpr rule on(int h) const noexcept { return with([&](rule& r) { r.who = target::socket, r.handle = h; }); }
  /// Only sockets whose peer is on port `p` (and `connect` to `p`).
  constexpr rule toward(std::uint16_t p) const noexcept {
    return with([&](rule& r) { r.who = target::toward, r.port = p; });
  }
  /// Only sockets whose local port is `p`.
  constexpr rule at(std::uint16_t p) const noexcept { return with([&](rule& r) { r.who = target::at, r.port = p; }); }
  /// Lets `k` matching calls through first.
  constexpr rule after(std::size_t k) const noexcept { return with([&](rule& r) { r.skip = k; }); }
  /// Fires `n` times (0: every time).
  constexpr rule times(std::size_t n) const noexcept { return with([&](rule& r) { r.limit = n; }); }
  /// Fires on every matching call.
  constexpr rule always() const noexcept { return times(0); }

 private:
  static constexpr rule make(fault k, op o, std::size_t n) noexcept { return make_ops(k, static_cast<unsigned>(o), n); }
  static constexpr rule make_ops(fault k, unsigned ops, std::size_t n) noexcept {
    rule r;
    r.kind = k;
    r.ops = ops;
    r.size = n;
    return r;
  }
  template <class F>
  constexpr rule with(F f) const noexcept {
    rule r = *this;
    f(r);
    return r;
  }
};

/// A seeded random schedule of faults: each `send` and `recv` call (and each `wait`/`poll` for `interrupt`)
/// independently draws its fault from a generator seeded with `seed`, so the same seed and the same program give
/// the same faults, byte for byte. Chances are per 1,000 calls.
struct chaos {
  std::uint64_t seed = 0;
  unsigned short_send = 0;    ///< a send moves a random count in [1, n-1]
  unsigned short_recv = 0;    ///< a recv hands out a random count in [1, n-1]
  unsigned interrupt = 0;     ///< as `rule::interrupt`
  unsigned would_block = 0;   ///< as `rule::would_block` (non-blocking sockets only)
};

/// One fault that fired, as the network's log keeps it.
struct fault_event {
  std::uint64_t sequence = 0;  ///< 1, 2, ... in the order faults fired
  int handle = -1;             ///< the socket's handle (-1 for a `poll`)
  op call = op::send;
  fault kind = fault::error;
  std::size_t size = 0;        ///< the byte count the fault allowed (short counts, reset/half-close points)
  int rule_index = -1;         ///< which rule fired; -1 for `chaos`
  friend constexpr bool operator==(const fault_event&, const fault_event&) = default;
};

/// A small, fast, reproducible generator (SplitMix64): the same seed gives the same numbers on every platform.
class random_source {
 public:
  constexpr explicit random_source(std::uint64_t seed = 0) noexcept : state_(seed) {}
  constexpr std::uint64_t next() noexcept {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  /// A number in [0, n); 0 when `n` is 0.
  constexpr std::uint64_t below(std::uint64_t n) noexcept { return n == 0 ? 0 : next() % n; }

 private:
  std::uint64_t state_;
};

/// A seed for `chaos`: the value of the environment variable `USOCK_TESTING_SEED` when it is set (to replay a
/// failing run), else one that differs from run to run. Print it beside a failure (`INFO("seed " << seed)`).
inline std::uint64_t seed_from_environment() noexcept {
  if (const char* text = std::getenv("USOCK_TESTING_SEED"); text && *text)
    return std::strtoull(text, nullptr, 0);
  // No seed given: the time of day and an address (which varies with ASLR), mixed.
  const int local = 0;
  random_source mix(static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(&local)) ^
                    static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()));
  return mix.next();
}

}  // namespace usock::testing
