// The board test's client on usock's POSIX backend (board_test.py runs it): the same checks as the driver's
// CPython client, against an echo firmware image running in QEMU, reached on 127.0.0.1:PORT through QEMU's user
// network. Usage: usock_board_client PORT CLIENTS. Prints "ok: <check>" per check, then
// "figures: rtt_ms=<median round trip> bulk_mib_s=<each way> cycle_ms=<mean connect/echo/close>"; exit status 1
// with a "FAIL:" line at the first check that fails. Every socket has a 30 s timeout, so nothing hangs.
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <usock/usock.hpp>

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
constexpr std::size_t mib = 1024 * 1024;

struct check_failed {
  std::string what;
};

[[noreturn]] void fail(std::string what) { throw check_failed{std::move(what)}; }

std::uint16_t port;

usock::socket connect_board() {
  usock::socket s;
  s.settimeout(30s);
  s.connect({"127.0.0.1", port});
  s.setsockopt(usock::ipproto_tcp, usock::tcp_nodelay, 1);
  return s;
}

/// Reads exactly buffer.size() bytes; fails if the board closes first.
void recv_exactly(usock::socket& s, std::span<std::byte> buffer) {
  const std::size_t got = s.readinto(buffer);
  if (got != buffer.size())
    fail("the board closed after " + std::to_string(got) + " of " + std::to_string(buffer.size()) + " bytes");
}

void expect_eof(usock::socket& s) {
  std::array<std::byte, 1> rest;
  if (s.recv(rest) != 0) fail("expected the board's close, got more bytes");
}

/// A deterministic byte pattern: byte i of stream `seed`.
std::vector<std::byte> pattern(std::size_t size, std::uint32_t seed) {
  std::vector<std::byte> data(size);
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& b : data) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = std::byte(x & 0xFF);
  }
  return data;
}

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

/// A thread sending `data` on `s` and then shutting down the sending side; an error's message lands in `error`.
std::thread send_then_shutdown(usock::socket& s, const std::vector<std::byte>& data, std::string& error) {
  return std::thread([&s, &data, &error] {
    std::error_code ec;
    s.sendall(data, ec);
    if (!ec) s.shutdown(usock::shut_wr, ec);
    if (ec) error = ec.message();
  });
}

void small_echo() {
  usock::socket s = connect_board();
  const std::string message = "usock on the board\n";
  s.sendall(message);
  std::array<std::byte, 19> got;
  recv_exactly(s, got);
  if (std::string(reinterpret_cast<const char*>(got.data()), got.size()) != message) fail("small echo: wrong bytes");
}

double round_trips(int count = 200) {
  usock::socket s = connect_board();
  std::vector<double> times;
  std::array<std::byte, 32> got;
  for (int i = 0; i < count; ++i) {
    const std::vector<std::byte> message = pattern(32, static_cast<std::uint32_t>(i));
    const auto start = clock_type::now();
    s.sendall(message);
    recv_exactly(s, got);
    times.push_back(seconds_since(start));
    if (!std::equal(got.begin(), got.end(), message.begin())) fail("round trip " + std::to_string(i) + ": wrong bytes");
  }
  std::sort(times.begin(), times.end());
  return (times[times.size() / 2 - 1] + times[times.size() / 2]) / 2 * 1e3;
}

/// `size` bytes to the board from a second thread while this one reads the echo; returns MiB/s each way. Fails
/// if 3 s pass without an echoed byte: a retransmission-timeout stall (lwIP's last seconds; without one, the
/// longest wait in 200 runs of the usock and C images, at load average 8-11, was 0.12 s).
double bulk(std::size_t size = 16 * mib) {
  const std::vector<std::byte> data = pattern(size, 16);
  usock::socket s = connect_board();
  const auto start = clock_type::now();
  std::string send_error;
  std::thread sender = send_then_shutdown(s, data, send_error);
  std::vector<std::byte> buffer(256 * 1024);
  std::size_t received = 0;
  std::string receive_error;
  std::error_code ec;
  auto last = start;
  while (received < size) {
    const std::size_t n = s.recv(buffer, ec);
    const auto now = clock_type::now();
    if (now - last >= 3s) {
      receive_error = "no echoed byte for " + std::to_string(seconds_since(last)) + " s (a stall)";
      break;
    }
    last = now;
    if (ec || n == 0) {
      receive_error = ec ? ec.message() : "the board closed after " + std::to_string(received) + " bytes";
      break;
    }
    if (!std::equal(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n),
                    data.begin() + static_cast<std::ptrdiff_t>(received))) {
      receive_error = "bytes " + std::to_string(received) + ".." + std::to_string(received + n) + " differ";
      break;
    }
    received += n;
  }
  if (!receive_error.empty()) s.shutdown(usock::shut_rdwr, ec);  // ends the sender too
  sender.join();
  if (!receive_error.empty()) fail("bulk: " + receive_error);
  if (!send_error.empty()) fail("bulk: sending: " + send_error);
  expect_eof(s);
  return static_cast<double>(size) / mib / seconds_since(start);
}

double cycles(int count = 100) {
  const auto start = clock_type::now();
  for (int i = 0; i < count; ++i) {
    usock::socket s = connect_board();
    const std::vector<std::byte> message = pattern(16, static_cast<std::uint32_t>(1000 + i));
    s.sendall(message);
    std::array<std::byte, 16> got;
    recv_exactly(s, got);
    if (!std::equal(got.begin(), got.end(), message.begin())) fail("cycle " + std::to_string(i) + ": wrong bytes");
  }
  return seconds_since(start) / count * 1e3;
}

/// `clients` threads connect at once, each echoing its own 256 KiB in 1 KiB round trips.
void concurrent_clients(int clients) {
  std::vector<std::string> errors(static_cast<std::size_t>(clients));
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([c, &errors] {
      try {
        usock::socket s = connect_board();
        const std::vector<std::byte> data = pattern(256 * 1024, static_cast<std::uint32_t>(100 + c));
        std::array<std::byte, 1024> got;
        for (std::size_t offset = 0; offset < data.size(); offset += got.size()) {
          const std::span<const std::byte> message(data.data() + offset, got.size());
          s.sendall(message);
          recv_exactly(s, got);
          if (!std::equal(got.begin(), got.end(), message.begin())) fail("wrong bytes at " + std::to_string(offset));
        }
      } catch (const check_failed& e) {
        errors[static_cast<std::size_t>(c)] = e.what;
      } catch (const usock::error& e) {
        errors[static_cast<std::size_t>(c)] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int c = 0; c < clients; ++c)
    if (!errors[static_cast<std::size_t>(c)].empty())
      fail("client " + std::to_string(c) + ": " + errors[static_cast<std::size_t>(c)]);
}

void reset_mid_stream() {
  usock::socket s = connect_board();
  s.sendall(pattern(64 * 1024, 1));
  std::array<std::byte, 1024> got;
  recv_exactly(s, got);  // the echo has started: the board is mid-stream
  const linger abort_on_close{1, 0};
  if (::setsockopt(s.fileno(), SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close) != 0)
    fail("SO_LINGER refused");
  s.close();  // a reset, with data in flight both ways
}

void half_close(std::size_t size = 1 * mib) {
  const std::vector<std::byte> data = pattern(size, 2);
  usock::socket s = connect_board();
  std::string send_error;
  std::thread sender = send_then_shutdown(s, data, send_error);
  std::vector<std::byte> got(size);
  std::error_code ec;
  const std::size_t n = s.readinto(got, ec);
  if (n != size || ec) s.shutdown(usock::shut_rdwr, ec);
  sender.join();
  if (!send_error.empty()) fail("half-close: sending: " + send_error);
  if (n != size) fail("half-close: " + std::to_string(n) + " of " + std::to_string(size) + " bytes came back");
  if (got != data) fail("half-close: the echo differs");
  expect_eof(s);
}

/// Runs one check, then a small echo proving the board still serves.
template <class Check>
auto step(const char* name, Check check) {
  const auto start = clock_type::now();
  auto result = check();
  small_echo();
  std::printf("ok: %s (%.2f s)\n", name, seconds_since(start));
  std::fflush(stdout);
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s PORT CLIENTS\n", argv[0]);
    return 2;
  }
  port = static_cast<std::uint16_t>(std::atoi(argv[1]));
  const int clients = std::atoi(argv[2]);
  try {
    step("small echo", [] { return 0; });
    const double rtt_ms = step("200 round trips of 32 bytes", [] { return round_trips(); });
    const double bulk_mib_s = step("16 MiB each way, byte-exact, no stall", [] { return bulk(); });
    const double cycle_ms = step("100 connect/echo/close cycles", [] { return cycles(); });
    const std::string together = std::to_string(clients) + " clients at once";
    step(together.c_str(), [clients] { concurrent_clients(clients); return 0; });
    step("a client resetting mid-stream (SO_LINGER 0)", [] { reset_mid_stream(); return 0; });
    step("a client half-closing (shutdown(shut_wr), then reading the rest)", [] { half_close(); return 0; });
    std::printf("figures: rtt_ms=%.4f bulk_mib_s=%.3f cycle_ms=%.3f\n", rtt_ms, bulk_mib_s, cycle_ms);
    return 0;
  } catch (const check_failed& e) {
    std::printf("FAIL: %s\n", e.what.c_str());
  } catch (const usock::error& e) {
    std::printf("FAIL: %s\n", e.what());
  }
  return 1;
}
