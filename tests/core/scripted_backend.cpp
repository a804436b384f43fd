// basic_socket's own logic, proven on a scripted backend with a fake clock: the deadline of sendall covers the
// whole call, waits resume with the time that is left, and non-blocking calls never wait.
#include <chrono>
#include <cstring>
#include <deque>
#include <string>

#include <usock/basic_socket.hpp>

#include "catch.hpp"

namespace {

/// A fake clock that only moves when the scripted backend's wait() says time passed.
struct fake_clock {
  using duration = std::chrono::milliseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<fake_clock>;
  static constexpr bool is_steady = true;
  static inline time_point current{};
  static time_point now() noexcept { return current; }
};

/// Each send takes at most `chunk` bytes and then reports EAGAIN once; the socket becomes ready `wait_cost`
/// after each wait starts.
struct scripted {
  using handle_type = int;
  using clock = fake_clock;
  static constexpr handle_type invalid_handle = -1;
  static constexpr int default_backlog = 2;

  static inline std::size_t chunk = 1000;
  static inline std::chrono::milliseconds wait_cost{60};
  static inline bool would_block_next = false;
  static inline std::string sent;
  static inline int waits = 0;
  static inline int set_nonblocking_calls = 0;
  static inline std::deque<int> wait_budget_ms;  // the timeout each wait was given

  static void reset() {
    sent.clear();
    waits = 0;
    set_nonblocking_calls = 0;
    would_block_next = false;
    wait_budget_ms.clear();
    fake_clock::current = {};
  }

  static handle_type open(usock::address_family, usock::socket_type, usock::error_code& ec) noexcept {
    ec.clear();
    return 3;
  }
  static void close(handle_type, usock::error_code& ec) noexcept { ec.clear(); }
  static void set_nonblocking(handle_type, bool, usock::error_code& ec) noexcept {
    ++set_nonblocking_calls;
    ec.clear();
  }
  static void connect(handle_type, const usock::address&, usock::error_code& ec) noexcept {
    ec = std::make_error_code(std::errc::operation_in_progress);
  }
  static void connect_result(handle_type, usock::error_code& ec) noexcept { ec.clear(); }
  static void bind(handle_type, const usock::address&, usock::error_code& ec) noexcept { ec.clear(); }
  static void listen(handle_type, int, usock::error_code& ec) noexcept { ec.clear(); }
  static handle_type accept(handle_type, usock::address&, bool, usock::error_code& ec) noexcept {
    ec = std::make_error_code(std::errc::resource_unavailable_try_again);
    return invalid_handle;
  }
  static std::size_t send(handle_type, usock::const_bytes data, usock::error_code& ec) noexcept {
    if (would_block_next) {
      would_block_next = false;
      ec = std::make_error_code(std::errc::resource_unavailable_try_again);
      return 0;
    }
    const std::size_t n = std::min(chunk, data.size());
    sent.append(reinterpret_cast<const char*>(data.data()), n);
    would_block_next = true;
    ec.clear();
    return n;
  }
  static std::size_t recv(handle_type, usock::mutable_bytes, usock::error_code& ec) noexcept {
    ec = std::make_error_code(std::errc::resource_unavailable_try_again);
    return 0;
  }
  static void shutdown(handle_type, usock::shutdown_how, usock::error_code& ec) noexcept { ec.clear(); }
  static void setsockopt(handle_type, usock::option_level, usock::socket_option, int, usock::error_code& ec) noexcept {
    ec.clear();
  }
  static int getsockopt(handle_type, usock::option_level, usock::socket_option, usock::error_code& ec) noexcept {
    ec.clear();
    return 0;
  }
  static usock::address local_address(handle_type, usock::error_code& ec) noexcept {
    return ec.clear(), usock::address{};
  }
  static usock::address peer_address(handle_type, usock::error_code& ec) noexcept {
    return ec.clear(), usock::address{};
  }
  static bool wait(handle_type, usock::wait_for, int timeout_ms, usock::error_code& ec) noexcept {
    ++waits;
    wait_budget_ms.push_back(timeout_ms);
    ec.clear();
    // Ready after wait_cost, unless the timeout runs out first (then time moves by the timeout only).
    const std::chrono::milliseconds budget{timeout_ms};
    if (timeout_ms >= 0 && budget < wait_cost) {
      fake_clock::current += budget;
      return false;
    }
    fake_clock::current += wait_cost;
    return true;
  }
};

static_assert(usock::socket_backend<scripted>);
using socket_t = usock::basic_socket<scripted>;
using namespace std::chrono_literals;

}  // namespace

TEST_CASE("sendall has one deadline for the whole call, not one per chunk", "[core]") {
  scripted::reset();
  scripted::wait_cost = 60ms;
  socket_t s;
  s.settimeout(100ms);
  const std::string payload(10000, 'p');
  usock::error_code ec;
  const std::size_t sent = s.sendall(payload, ec);
  // Each chunk waits 60 ms: a per-chunk deadline would never expire; the call's deadline expires on the 2nd wait.
  CHECK(ec == std::errc::timed_out);
  CHECK(scripted::waits == 2);
  CHECK(sent == 2000);
  CHECK(scripted::sent == payload.substr(0, sent));
  // The second wait was given only the time left: 100 - 60 = 40 ms.
  REQUIRE(scripted::wait_budget_ms.size() == 2);
  CHECK(scripted::wait_budget_ms[0] == 100);
  CHECK(scripted::wait_budget_ms[1] == 40);
}

TEST_CASE("sendall without a timeout never waits and sends everything", "[core]") {
  scripted::reset();
  scripted::wait_cost = 60ms;
  socket_t s;
  const std::string payload(5500, 'q');
  usock::error_code ec;
  // A blocking socket's backend blocks instead of reporting EAGAIN; this script reports it anyway, and a
  // blocking socket must pass that error up rather than spin or wait.
  CHECK(s.sendall(payload, ec) == 1000);
  CHECK(ec == std::errc::resource_unavailable_try_again);
  CHECK(scripted::waits == 0);
  CHECK(scripted::set_nonblocking_calls == 0);  // no timeout: the descriptor is never switched
}

TEST_CASE("a non-blocking socket reports try-again without waiting", "[core]") {
  scripted::reset();
  socket_t s;
  s.settimeout(0ms);
  std::array<char, 4> buf;
  usock::error_code ec;
  s.recv(buf, ec);
  CHECK(ec == std::errc::resource_unavailable_try_again);
  s.connect({"127.0.0.1", 1}, ec);
  CHECK(ec == std::errc::operation_in_progress);
  CHECK(scripted::waits == 0);
  CHECK(scripted::set_nonblocking_calls == 1);
}

TEST_CASE("switching between timeouts touches the descriptor only when blocking mode changes", "[core]") {
  scripted::reset();
  socket_t s;
  s.settimeout(5ms);
  s.settimeout(10ms);
  s.settimeout(0ms);
  CHECK(scripted::set_nonblocking_calls == 1);
  s.settimeout(std::nullopt);
  CHECK(scripted::set_nonblocking_calls == 2);
}

TEST_CASE("a connect with a timeout waits for the handshake within the deadline", "[core]") {
  scripted::reset();
  scripted::wait_cost = 30ms;
  socket_t s;
  s.settimeout(100ms);
  usock::error_code ec;
  s.connect({"127.0.0.1", 1}, ec);
  CHECK_FALSE(ec);
  CHECK(scripted::waits == 1);
}
