// Signals: a handler installed without SA_RESTART interrupts system calls with EINTR; usock retries them
// (keeping the deadline), so no call fails or loses data because of a signal. And SIGPIPE never fires.
#include <atomic>
#include <csignal>
#include <string>

#include <pthread.h>
#include <sys/time.h>

#include "suite.hpp"

using namespace usock_test;
using std::chrono::steady_clock;

namespace {

std::atomic<int> signals_seen{0};
extern "C" void count_signal(int) { signals_seen.fetch_add(1, std::memory_order_relaxed); }

/// Sends SIGALRM to the process every 2 ms while alive, handled without SA_RESTART. The thread that creates it
/// receives the signals: helper threads started with `quiet_thread` block them.
class signal_storm {
 public:
  signal_storm() {
    signals_seen = 0;
    struct sigaction sa {};
    sa.sa_handler = count_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: blocked calls return EINTR
    sigaction(SIGALRM, &sa, &old_);
    itimerval every{{0, 2000}, {0, 2000}};
    setitimer(ITIMER_REAL, &every, nullptr);
  }
  ~signal_storm() {
    itimerval off{};
    setitimer(ITIMER_REAL, &off, nullptr);
    sigaction(SIGALRM, &old_, nullptr);
  }
  /// Waits (bounded) until `n` more signals have been handled.
  static bool wait_for_signals(int n) {
    const int target = signals_seen.load() + n;
    const auto give_up = steady_clock::now() + std::chrono::seconds(10);
    while (signals_seen.load() < target && steady_clock::now() < give_up) std::this_thread::yield();
    return signals_seen.load() >= target;
  }

 private:
  struct sigaction old_ {};
};

/// A background thread that never receives SIGALRM, so the storm hits the test's own thread.
template <class F>
background quiet_thread(F&& f) {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGALRM);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  background t(std::forward<F>(f));  // inherits the blocked mask
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return t;
}

}  // namespace

TEST_CASE("a blocking recv survives signals and returns the data", "[signals]") {
  auto [client, server] = connected_pair();
  signal_storm storm;
  bool storm_seen = false;
  auto peer = quiet_thread([&] {
    storm_seen = signal_storm::wait_for_signals(5);
    client.sendall("after the storm");
  });
  CHECK(server.read(15) == "after the storm");
  peer.join();
  CHECK(storm_seen);
}

TEST_CASE("a blocking accept survives signals", "[signals]") {
  listener l;
  signal_storm storm;
  socket_t client;
  auto peer = quiet_thread([&] {
    signal_storm::wait_for_signals(5);
    client.connect(l.addr);
  });
  auto [conn, addr] = l.sock.accept();
  peer.join();
  CHECK(addr == client.getsockname());
}

TEST_CASE("a blocking sendall survives signals without losing or repeating a byte", "[signals]") {
  auto [client, server] = connected_pair();
  const std::string payload = pattern(16 << 20);
  signal_storm storm;
  std::string received;
  auto reader = quiet_thread([&] {
    signal_storm::wait_for_signals(5);  // let the sender fill the buffers and block first
    received = server.read();
  });
  client.sendall(payload);
  client.close();
  reader.join();
  CHECK(received == payload);
}

TEST_CASE("a recv with a timeout keeps its deadline while signals arrive", "[signals][timeouts]") {
  auto [client, server] = connected_pair();
  signal_storm storm;
  server.settimeout(150ms);
  std::array<char, 4> buf;
  const auto start = steady_clock::now();
  CHECK(error_of([&](auto& ec) { server.recv(buf, ec); }) == std::errc::timed_out);
  const auto elapsed = steady_clock::now() - start;
  CHECK(elapsed >= 150ms);
  CHECK(elapsed < std::chrono::seconds(5));  // restarting the full timeout per signal would never end
  CHECK(signals_seen.load() > 0);
}

TEST_CASE("sending to a reset peer reports an error and never raises SIGPIPE", "[signals][errors]") {
  struct sigaction dfl {}, old {};
  dfl.sa_handler = SIG_DFL;  // were SIGPIPE raised, the default action would kill this test
  sigaction(SIGPIPE, &dfl, &old);
  auto [client, server] = connected_pair();
  server.close();
  std::error_code ec;
  // The reset reaches the sender a little later on some stacks (lwIP handles it on its own thread): keep
  // sending, bounded by time, until it shows.
  const auto give_up = steady_clock::now() + std::chrono::seconds(10);
  while (!ec && steady_clock::now() < give_up) client.send("ping", ec);
  sigaction(SIGPIPE, &old, nullptr);
  CHECK((ec == std::errc::broken_pipe || ec == std::errc::connection_reset));
}
