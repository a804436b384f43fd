#pragma once
/// \file
/// Randomized checks of `basic_socket` over the scripted backend, written once and driven by any source of
/// choices: a seeded `std::mt19937` in the Catch2 tests (tests/scripted), the fuzzer's input in the libFuzzer
/// targets (tests/fuzz). Each check builds a world from its choices (the peer's bytes, a script of short
/// counts, errors, EOF and early wake-ups, a timeout mode), runs a sequence of socket calls, and returns a
/// description of the first broken promise, or an empty string:
/// - no byte is lost, duplicated or reordered: what the calls return, in order, is a prefix of what the peer
///   sent, and after draining it is all of it (up to where an EOF was scripted);
/// - every call reports how much it did: an `error_code` form's result is exactly the bytes it moved; a
///   throwing read puts its bytes back, so the next read returns them;
/// - errors are only the scripted ones, `timed_out` (only with a deadline, and only once it has passed), or
///   `not_enough_memory`;
/// - with a timeout, a call never runs past its deadline, and each wait is given only the time left; with no
///   timeout or a zero one, nothing ever waits.

#include <array>
#include <chrono>
#include <climits>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <system_error>

#include <usock/basic_socket.hpp>
#include <usock/error.hpp>

#include "scripted_backend.hpp"

namespace usock_test::model {

using socket_t = usock::basic_socket<scripted>;
using ms = std::chrono::milliseconds;
using call = scripted::call;
using action = scripted::action;

/// Choices from a seeded Mersenne Twister.
struct random_choices {
  std::mt19937 rng;
  explicit random_choices(std::uint32_t seed) : rng(seed) {}
  /// A number in [0, n); 0 when n is 0.
  std::uint32_t pick(std::uint32_t n) {
    return n == 0 ? 0 : std::uniform_int_distribution<std::uint32_t>(0, n - 1)(rng);
  }
};

/// Choices read from a byte string (a fuzzer's input); 0 once it is used up.
struct byte_choices {
  const std::uint8_t* data;
  std::size_t size;
  std::uint32_t pick(std::uint32_t n) {
    if (n <= 1) return 0;
    std::uint64_t v = 0;
    for (std::uint64_t range = 1; range < n && size != 0; range <<= 8, --size) v = v << 8 | *data++;
    return static_cast<std::uint32_t>(v % n);
  }
};

/// How a socket waits: blocking, non-blocking (timeout zero), or a deadline of `timeout` per call.
enum class mode : std::uint8_t { blocking, nonblocking, deadline };

/// The timeout mode the world runs in, and the per-call checks of time.
struct timing {
  mode how = mode::blocking;
  ms timeout{0};

  template <class Choices>
  static timing choose(Choices& c) {
    timing t;
    t.how = static_cast<mode>(c.pick(3));
    if (t.how == mode::deadline) t.timeout = ms(1 + c.pick(200));
    return t;
  }

  void apply(socket_t& s) const {
    if (how == mode::nonblocking) s.settimeout(ms(0));
    if (how == mode::deadline) s.settimeout(timeout);
  }

  /// What a call that started at `start` with `waits_before` waits may have done; "" when all is well.
  std::string check(const scripted::state& w, scripted::clock::time_point start, std::size_t waits_before,
                    const std::error_code& ec) const {
    const ms elapsed = std::chrono::duration_cast<ms>(w.now - start);
    if (how != mode::deadline) {
      if (w.wait_timeouts.size() != waits_before) return "a call waited although the socket has no deadline";
      if (ec == std::errc::timed_out) return "timed_out without a deadline";
      return {};
    }
    if (elapsed > timeout) return "a call ran " + std::to_string(elapsed.count()) + " ms past a deadline of " +
                                  std::to_string(timeout.count()) + " ms";
    if (ec == std::errc::timed_out && elapsed < timeout) return "timed_out before the deadline";
    for (std::size_t i = waits_before; i < w.wait_timeouts.size(); ++i)
      if (w.wait_timeouts[i] <= 0) return "a wait was given no time";
    return {};
  }
};

/// Runs `call(ec)` in the error_code form (`throwing` false) or in the throwing form, turning a `usock::error`
/// into `ec`. Returns what the call returned (default-constructed when it threw).
template <class Result, class EcForm, class ThrowingForm>
Result run_form(bool throwing, std::error_code& ec, EcForm&& ec_form, [[maybe_unused]] ThrowingForm&& throwing_form) {
  ec.clear();
#if USOCK_HAS_EXCEPTIONS
  if (throwing) {
    try {
      return throwing_form();
    } catch (const usock::error& e) {
      ec = e.code();
      return Result{};
    }
  }
#else
  (void)throwing;
#endif
  return ec_form(ec);
}

inline bool allowed_error(const std::error_code& ec) {
  return !ec || ec == std::errc::resource_unavailable_try_again || ec == std::errc::connection_reset ||
         ec == std::errc::not_enough_memory || ec == std::errc::timed_out;
}

/// The peer's bytes: a pattern in which every position differs from its neighbours, with newlines at
/// irregular places so that lines of every length (longer than readline's block too) occur.
inline std::string peer_bytes(std::size_t size, std::uint32_t seed) {
  std::string s(size, '\0');
  std::minstd_rand lines(seed | 1u);
  const std::uint32_t longest = seed % 4 == 0 ? 12000 : 80;
  std::size_t next_newline = lines() % longest;
  for (std::size_t i = 0; i < size; ++i) {
    if (i == next_newline) {
      s[i] = '\n';
      next_newline = i + 1 + lines() % longest;
    } else {
      s[i] = static_cast<char>(' ' + (i * 7 + i / 95) % 95);  // printable, never '\n'
    }
  }
  return s;
}

/// Queues up to 32 random outcomes for `kind` (send or recv): short counts, EAGAIN, ECONNRESET, ENOMEM, and
/// `extra` (an EOF for recv, EPIPE for send), and up to 16 for wait: early wake-ups, ENOMEM, readiness late.
template <class Choices>
void queue_faults(Choices& c, scripted::state& w, call kind, action extra) {
  for (std::uint32_t i = 0, n = c.pick(32); i < n; ++i) {
    switch (c.pick(8)) {
      case 0: case 1: case 2: w.queue(kind, action::short_count(1 + c.pick(c.pick(2) ? 16 : 5000))); break;
      case 3: w.queue(kind, action::fail(std::errc::resource_unavailable_try_again)); break;
      case 4: w.queue(kind, action::fail(std::errc::connection_reset)); break;
      case 5: w.queue(kind, action::fail(std::errc::not_enough_memory)); break;
      case 6: w.queue(kind, c.pick(4) == 0 ? extra : action::pass()); break;
      default: w.queue(kind, action::pass()); break;
    }
  }
  for (std::uint32_t i = 0, n = c.pick(16); i < n; ++i) {
    switch (c.pick(4)) {
      case 0: w.queue(call::wait, action::spurious(ms(c.pick(40)))); break;
      case 1: w.queue(call::wait, action::fail(std::errc::not_enough_memory)); break;
      default: w.queue(call::wait, action::ready(ms(c.pick(60)))); break;
    }
  }
}

/// The reading calls: recv (both forms), readinto, read(n), read(), readline, over a scripted peer.
template <class Choices>
std::string check_reads(Choices& c) {
  scripted::reset();
  scripted::state& w = scripted::world();
  const std::size_t size = c.pick(4) == 0 ? c.pick(30000) : c.pick(600);
  w.inbound = peer_bytes(size, c.pick(1u << 16));
  w.peer_closed = c.pick(4) != 0;
  w.default_wait = ms(1 + c.pick(20));
  queue_faults(c, w, call::recv, action::eof());
  const timing t = timing::choose(c);
  socket_t s;
  t.apply(s);

  std::string got;  // everything the calls returned, in order
  auto at_eof = [&] { return w.peer_closed && w.undelivered() == 0; };
  for (std::uint32_t op = 0, ops = 1 + c.pick(12); op < ops; ++op) {
    const bool throwing = c.pick(2) == 1;
    const std::uint32_t kind = c.pick(6);
    const std::size_t n = c.pick(4) == 0 ? c.pick(20000) : c.pick(64);
    const auto start = w.now;
    const std::size_t waits_before = w.wait_timeouts.size();
    std::error_code ec;
    std::string out;
    const char* name = "";
    bool complete = true;  // for calls that promise a whole unit unless EOF or an error ends them
    switch (kind) {
      case 0: {
        name = "recv(buffer)";
        std::string buf(n, '\x7f');
        const std::size_t k = run_form<std::size_t>(
            throwing, ec, [&](std::error_code& e) { return s.recv(buf, e); }, [&] { return s.recv(buf); });
        if (k > n) return "recv returned more than the buffer holds";
        if (buf.find_first_not_of('\x7f', k) != std::string::npos) return "recv wrote past what it reported";
        out = buf.substr(0, k);
        if (!ec && k == 0 && n != 0 && !at_eof()) return "recv returned 0 before EOF";
        break;
      }
      case 1:
        name = "recv(max)";
        out = run_form<std::string>(
            throwing, ec, [&](std::error_code& e) { return s.recv(n, e); }, [&] { return s.recv(n); });
        if (out.size() > n) return "recv(max) returned more than max";
        break;
      case 2: {
        name = "readinto";
        std::string buf(n, '\x7f');
        const std::size_t k = run_form<std::size_t>(
            throwing, ec, [&](std::error_code& e) { return s.readinto(buf, e); }, [&] { return s.readinto(buf); });
        if (k > n) return "readinto returned more than the buffer holds";
        // (A throwing readinto that failed leaves the buffer unspecified: its bytes went back into the socket.)
        if (!(throwing && ec) && buf.find_first_not_of('\x7f', k) != std::string::npos)
          return "readinto wrote past what it reported";
        out = buf.substr(0, k);
        complete = out.size() == n;
        break;
      }
      case 3:
        name = "read(n)";
        out = run_form<std::string>(
            throwing, ec, [&](std::error_code& e) { return s.read(n, e); }, [&] { return s.read(n); });
        if (out.size() > n) return "read(n) returned more than n";
        complete = out.size() == n;
        break;
      case 4:
        name = "read()";
        out = run_form<std::string>(
            throwing, ec, [&](std::error_code& e) { return s.read(e); }, [&] { return s.read(); });
        complete = false;
        break;
      default:
        name = "readline";
        out = run_form<std::string>(
            throwing, ec, [&](std::error_code& e) { return s.readline(e); }, [&] { return s.readline(); });
        if (const auto nl = out.find('\n'); nl != std::string::npos && nl + 1 != out.size())
          return "readline returned more than one line";
        complete = !out.empty() && out.back() == '\n';
        break;
    }
    const std::string where = std::string(name) + (throwing ? " (throwing)" : " (error_code)") + ", call " +
                              std::to_string(op) + ": ";
    if (throwing && ec && !out.empty()) return where + "a throwing call returned bytes";
    if (!allowed_error(ec)) return where + "unexpected error " + ec.message();
    if (!ec && !complete && !at_eof()) return where + "stopped short without an error before EOF";
    if (std::string problem = t.check(w, start, waits_before, ec); !problem.empty()) return where + problem;
    got += out;
    if (got.size() > w.delivered || w.inbound.compare(0, got.size(), got) != 0)
      return where + "bytes lost, duplicated or reordered (returned " + std::to_string(got.size()) +
             " bytes, the peer delivered " + std::to_string(w.delivered) + ")";
  }

  // Drain: the peer closes, nothing more goes wrong; every byte must come back exactly once.
  w.clear_scripts();
  w.peer_closed = true;
  std::error_code ec;
  got += s.read(ec);
  if (ec) return "draining read() failed: " + ec.message();
  if (got != w.inbound)
    return "after draining, " + std::to_string(got.size()) + " bytes came back of the " +
           std::to_string(w.inbound.size()) + " the peer sent" + (got.size() == w.inbound.size() ? " (reordered)" : "");
  s.close();
  if (!w.open_handles.empty()) return "a handle leaked";
  return {};
}

/// The sending calls: send, sendall, write (both forms), into a scripted peer.
template <class Choices>
std::string check_sends(Choices& c) {
  scripted::reset();
  scripted::state& w = scripted::world();
  w.default_wait = ms(1 + c.pick(20));
  queue_faults(c, w, call::send, action::fail(std::errc::broken_pipe));
  const timing t = timing::choose(c);
  socket_t s;
  t.apply(s);

  const std::string stream = peer_bytes(60000, c.pick(1u << 16));
  std::size_t offset = 0;  // how much of `stream` the program knows it has sent
  for (std::uint32_t op = 0, ops = 1 + c.pick(12); op < ops && offset < stream.size(); ++op) {
    const bool throwing = c.pick(2) == 1;
    const std::uint32_t kind = c.pick(3);
    const std::size_t len = std::min<std::size_t>(c.pick(4) == 0 ? c.pick(20000) : c.pick(64), stream.size() - offset);
    const usock::const_bytes chunk(std::string_view(stream).substr(offset, len));
    const std::size_t before = w.outbound.size();
    const auto start = w.now;
    const std::size_t waits_before = w.wait_timeouts.size();
    std::error_code ec;
    std::size_t reported = 0;
    const char* name = "";
    switch (kind) {
      case 0:
        name = "send";
        reported = run_form<std::size_t>(
            throwing, ec, [&](std::error_code& e) { return s.send(chunk, e); }, [&] { return s.send(chunk); });
        break;
      case 1:
        name = "sendall";
        reported = run_form<std::size_t>(
            throwing, ec, [&](std::error_code& e) { return s.sendall(chunk, e); },
            [&] { return s.sendall(chunk), chunk.size(); });
        break;
      default:
        name = "write";
        reported = run_form<std::size_t>(
            throwing, ec, [&](std::error_code& e) { return s.write(chunk, e); }, [&] { return s.write(chunk); });
        break;
    }
    const std::string where = std::string(name) + (throwing ? " (throwing)" : " (error_code)") + ", call " +
                              std::to_string(op) + ": ";
    const std::size_t moved = w.outbound.size() - before;
    if (w.outbound.compare(0, w.outbound.size(), stream, 0, w.outbound.size()) != 0)
      return where + "the peer received bytes lost, duplicated or reordered";
    if (!allowed_error(ec) && ec != std::errc::broken_pipe) return where + "unexpected error " + ec.message();
    if (std::string problem = t.check(w, start, waits_before, ec); !problem.empty()) return where + problem;
    if (throwing && ec) {
      // The throwing sendall and write cannot say how much went out (documented); send sends nothing on error.
      if (kind == 0 && moved != 0) return where + "a failed send moved bytes";
      offset = w.outbound.size();
      continue;
    }
    if (reported != moved)
      return where + "reported " + std::to_string(reported) + " bytes, " + std::to_string(moved) + " went out";
    if (!ec && kind != 0 && moved != len) {
      // Only a non-blocking write may stop short without an error, and only after sending something.
      if (!(kind == 2 && t.how == mode::nonblocking && moved > 0))
        return where + "stopped short without an error: " + std::to_string(moved) + " of " + std::to_string(len);
    }
    if (kind == 2 && ec == std::errc::resource_unavailable_try_again && t.how == mode::nonblocking && moved > 0)
      return where + "a non-blocking write that sent bytes reported try-again";
    offset += moved;
  }
  s.close();
  if (!w.open_handles.empty()) return "a handle leaked";
  return {};
}

/// Option and timeout handling: settimeout/gettimeout/setblocking sequences and setsockopt/getsockopt on any
/// level/option pair, with scripted failures of the backend's set_nonblocking and option calls.
template <class Choices>
std::string check_options(Choices& c) {
  scripted::reset();
  scripted::state& w = scripted::world();
  w.default_wait = ms(INT32_MAX);  // an unscripted wait lasts until its timeout runs out
  for (std::uint32_t i = 0, n = c.pick(8); i < n; ++i)
    w.queue(call::set_nonblocking, c.pick(3) == 0 ? action::fail(std::errc::not_enough_memory) : action::pass());
  for (std::uint32_t i = 0, n = c.pick(8); i < n; ++i)
    w.queue(call::setsockopt, c.pick(3) == 0 ? action::fail(std::errc::invalid_argument) : action::pass());
  auto next_fails = [&](call k) {
    const auto& q = w.script[static_cast<std::size_t>(k)];
    return !q.empty() && q.front().what == action::kind::fail;
  };
  socket_t s;
  std::optional<ms> expected;                  // the timeout the socket should report
  std::map<std::pair<int, int>, int> values;   // the options set so far
  for (std::uint32_t op = 0, ops = 1 + c.pick(24); op < ops; ++op) {
    const std::string where = "call " + std::to_string(op) + ": ";
    const std::size_t switches = w.count(call::set_nonblocking);
    std::error_code ec;
    const std::uint32_t kind = c.pick(7);
    if (kind <= 2) {
      // settimeout(None), settimeout(any duration in a random unit), setblocking(flag)
      std::optional<ms> wanted;
      bool valid = true;
      const bool switch_fails = next_fails(call::set_nonblocking);
      if (kind == 0) {
        s.settimeout(std::nullopt, ec);
      } else if (kind == 1) {
        const std::int64_t v = static_cast<std::int64_t>(c.pick(0xffffffffu)) - (c.pick(2) ? 0x7fffffff : 0);
        switch (c.pick(3)) {
          case 0: s.settimeout(std::chrono::microseconds(v), ec); wanted = std::chrono::ceil<ms>(std::chrono::microseconds(v)); break;
          case 1: s.settimeout(ms(v), ec); wanted = ms(v); break;
          default: s.settimeout(std::chrono::seconds(v % 4000000), ec); wanted = std::chrono::seconds(v % 4000000); break;
        }
        valid = v >= 0 && wanted->count() <= INT32_MAX;  // negative is invalid even where it rounds up to 0 ms
      } else {
        const bool blocking = c.pick(2) == 1;
        s.setblocking(blocking, ec);
        if (!blocking) wanted = ms(0);
      }
      const bool needs_switch = valid && expected.has_value() != wanted.has_value();
      if (w.count(call::set_nonblocking) != switches + (needs_switch ? 1 : 0))
        return where + "set_nonblocking called " + std::to_string(w.count(call::set_nonblocking) - switches) +
               " times; the mode " + (needs_switch ? "changed" : "did not change");
      if (!valid) {
        if (ec != std::errc::invalid_argument) return where + "an invalid timeout was accepted";
      } else if (needs_switch && switch_fails) {
        if (ec != std::errc::not_enough_memory) return where + "a failed mode switch was not reported";
      } else if (ec) {
        return where + "settimeout failed: " + ec.message();
      } else {
        expected = wanted;
      }
    } else if (kind == 3) {
      const auto level = static_cast<usock::option_level>(c.pick(3));
      const auto option = static_cast<usock::socket_option>(c.pick(6));
      const int value = static_cast<int>(c.pick(0xffffffffu));
      const bool scripted_failure = next_fails(call::setsockopt);
      s.setsockopt(level, option, value, ec);
      if (scripted_failure) {
        if (ec != std::errc::invalid_argument) return where + "a scripted setsockopt failure was not reported";
      } else if (usock::level_of(option) != level) {
        if (ec != std::errc::no_protocol_option) return where + "a mismatched option pair was not rejected";
      } else if (ec) {
        return where + "setsockopt failed: " + ec.message();
      } else {
        values[{static_cast<int>(level), static_cast<int>(option)}] = value;
      }
    } else if (kind == 4) {
      const auto level = static_cast<usock::option_level>(c.pick(3));
      const auto option = static_cast<usock::socket_option>(c.pick(6));
      const int v = s.getsockopt(level, option, ec);
      const bool pair_ok = usock::level_of(option) == level;
      if (pair_ok == static_cast<bool>(ec)) return where + "getsockopt: " + (ec ? ec.message() : "no error");
      const auto it = values.find({static_cast<int>(level), static_cast<int>(option)});
      if (pair_ok && v != (it == values.end() ? 0 : it->second)) return where + "getsockopt returned another value";
    } else if (kind == 5) {
      // A receive with nothing to read: waits only with a deadline, and never past it.
      w.peer_closed = false;
      std::array<char, 8> buf;
      const auto start = w.now;
      const std::size_t waits_before = w.wait_timeouts.size();
      s.recv(buf, ec);
      timing t;
      t.how = !expected ? mode::blocking : expected->count() == 0 ? mode::nonblocking : mode::deadline;
      t.timeout = expected.value_or(ms(0));
      if (std::string problem = t.check(w, start, waits_before, ec); !problem.empty()) return where + problem;
      const std::errc want = t.how == mode::deadline ? std::errc::timed_out : std::errc::resource_unavailable_try_again;
      if (ec != want) return where + "recv with no data said " + ec.message();
    } else {
      // Moving the socket keeps its timeout.
      socket_t moved(std::move(s));
      s = std::move(moved);
    }
    if (s.gettimeout() != expected) return where + "gettimeout() is not what was set";
    if (w.nonblocking(s.fileno()) != expected.has_value())
      return where + "the descriptor's blocking mode disagrees with gettimeout()";
  }
  s.close();
  if (!w.open_handles.empty()) return "a handle leaked";
  return {};
}

}  // namespace usock_test::model
