#pragma once
// What the benchmark's contenders share: the workload sizes, the signature of a workload, a stopwatch, and the
// checks every workload makes on what it moved (a benchmark that loses data measures nothing).
#include <pthread.h>
#include <sched.h>

#include <chrono>
#include <cstdio>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

namespace usock_bench {

/// How much each workload moves; the defaults are issue 5's sizes.
struct sizes {
  std::size_t bulk_bytes = std::size_t{1} << 30;  ///< bulk stream: bytes sent with sendall
  std::size_t bulk_chunk = 64 << 10;              ///< bulk stream: bytes per sendall and per receive buffer
  std::size_t pingpong_rounds = 50'000;           ///< ping-pong: 1-byte round trips
  /// churn: cycles of connect, accept, close. The server's end closes first and the client closes once it has
  /// read the end of stream, so that the TIME_WAIT stays with the server's port: lwIP, which closes both ends
  /// at once otherwise, would keep every client port in TIME_WAIT and run out of ports within a run.
  std::size_t churn_connections = 5'000;
  std::size_t lines = 1'000'000;                  ///< small messages: newline-terminated lines
  static constexpr std::size_t line_length = 32;  ///< small messages: bytes per line, the newline included
  const std::string* line_data = nullptr;         ///< small messages: `lines` lines back to back
  /// bulk stream: what every contender sends and receives into, `bulk_chunk` bytes each, page-aligned and shared,
  /// so that no contender gains or loses by where its buffers happen to lie (the kernel's copies are faster or
  /// slower depending on alignment, which is no library's doing).
  const char* bulk_out = nullptr;
  char* bulk_in = nullptr;
};

/// The text of `n` lines of `sizes::line_length` bytes each (`line 00000042 ...\n`).
inline std::string make_lines(std::size_t n) {
  std::string text(n * sizes::line_length, '.');
  for (std::size_t i = 0; i < n; ++i) {
    char* line = text.data() + i * sizes::line_length;
    const int k = std::snprintf(line, sizes::line_length, "line %08zu ", i);
    line[k] = ' ';  // snprintf's terminator
    line[sizes::line_length - 2] = static_cast<char>('0' + i % 10);
    line[sizes::line_length - 1] = '\n';
  }
  return text;
}

/// A workload run by one contender: returns the seconds its timed part took.
using workload_fn = double (*)(const sizes&);

/// One contender's implementation of each workload; a null entry is a workload it does not run.
struct contender {
  const char* name;
  workload_fn bulk;
  workload_fn pingpong;
  workload_fn churn;
  workload_fn lines;
};

/// Pins the calling thread to one CPU (no effect on a single-CPU machine or where the call is refused).
inline void pin_this_thread(unsigned cpu) noexcept {
  if (std::thread::hardware_concurrency() < 2) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  (void)pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

/// Starts a workload's second end (sender, echo) on a thread of its own. Every contender's two ends run on the
/// same two CPUs: the new thread on CPU 0, the measuring thread on CPU 1. Left to the scheduler, whether both
/// ends share a core changes loopback throughput by up to twice between runs, which no library decides.
template <class F>
std::thread peer_thread(F&& f) {
  pin_this_thread(1);
  return std::thread([f = std::forward<F>(f)]() mutable {
    pin_this_thread(0);
    f();
  });
}

/// A workload that went wrong: it has no time to report, and the run stops (the runner says which).
struct workload_failed : std::runtime_error {
  using std::runtime_error::runtime_error;
};
inline void expect(bool ok, const char* what) {
  if (!ok) throw workload_failed(what);
}

/// The checks every small-messages reader makes on each line, identical for every contender.
struct line_tally {
  std::size_t count = 0;
  std::size_t bytes = 0;
  std::size_t checksum = 0;

  void add(const char* line, std::size_t length) noexcept {
    ++count;
    bytes += length;
    checksum += static_cast<unsigned char>(line[length - 2]) + (line[length - 1] == '\n' ? 0u : 1000000u);
  }
  /// True when exactly the lines `make_lines(s.lines)` made arrived, whole and in order.
  bool matches(const sizes& s) const noexcept {
    std::size_t expected = 0;
    for (std::size_t i = 0; i < s.lines; ++i) expected += static_cast<unsigned char>('0' + i % 10);
    return count == s.lines && bytes == s.lines * sizes::line_length && checksum == expected;
  }
};

using clock = std::chrono::steady_clock;
inline double seconds_since(clock::time_point start) {
  return std::chrono::duration<double>(clock::now() - start).count();
}

}  // namespace usock_bench
