// Faults on real POSIX sockets over loopback: a peer that resets mid-stream or half-closes, a process out of
// descriptors, signals during every blocking call, SIGPIPE, and ending a blocked recv from another thread.
// Each case proves that the fault changes nothing but the error reported: bytes that arrive are in order and
// counted, and the socket (or process) goes on working afterwards.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <string>
#include <vector>

#include <usock/usock.hpp>

#include "suite.hpp"

using namespace usock_test;
using std::chrono::steady_clock;

namespace {

/// Makes the socket's close send RST instead of FIN (SO_LINGER with a zero timeout), then closes it. Usable
/// from any thread: it reports instead of asserting.
bool reset_and_close(socket_t& s) {
  const linger abort_on_close{1, 0};
  const bool set = ::setsockopt(s.fileno(), SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close) == 0;
  std::error_code ec;
  s.close(ec);
  return set && !ec;
}

/// Waits (bounded) until `condition()` holds; false if it never did within 10 s.
template <class Condition>
bool eventually(Condition condition) {
  const auto give_up = steady_clock::now() + std::chrono::seconds(10);
  while (!condition()) {
    if (steady_clock::now() > give_up) return false;
    std::this_thread::yield();
  }
  return true;
}

/// The kernel's view of a thread: true once it sleeps in a system call (state 'S' in /proc), which is how a
/// test knows that a call it started on that thread is really blocked, without sleeping to guess.
bool thread_sleeping(pid_t tid) {
  std::ifstream stat("/proc/self/task/" + std::to_string(tid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto paren = all.rfind(')');
  return paren != std::string::npos && paren + 2 < all.size() && all[paren + 2] == 'S';
}

/// A thread that starts `call` and publishes its kernel thread id, so the test can wait until it blocks.
class blocked_call {
 public:
  template <class F>
  explicit blocked_call(F&& call)
      : thread_([this, call = std::forward<F>(call)]() mutable {
          tid_ = ::gettid();
          call();
          done_ = true;
        }) {}
  ~blocked_call() { join(); }
  /// True once the call sleeps in the kernel (bounded wait).
  bool wait_until_blocked() {
    return eventually([&] { return tid_.load() != 0; }) &&
           eventually([&] { return done_.load() || thread_sleeping(tid_.load()); }) && !done_.load();
  }
  void join() { thread_.join(); }

 private:
  std::atomic<pid_t> tid_{0};
  std::atomic<bool> done_{false};
  background thread_;
};

// ---- signals -------------------------------------------------------------------------------------------

std::atomic<int> signals_handled{0};
extern "C" void on_sigusr1(int) { signals_handled.fetch_add(1, std::memory_order_relaxed); }

/// Interrupts one thread (the one that creates it) with SIGUSR1 about every half millisecond, from a thread of
/// its own, with a handler installed without SA_RESTART, so every blocking system call there fails with EINTR.
class signal_rain {
 public:
  signal_rain() : target_(::pthread_self()) {
    struct sigaction sa {};
    sa.sa_handler = on_sigusr1;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    ::sigaction(SIGUSR1, &sa, &old_);
    signals_handled = 0;
    sender_ = std::thread([this] {
      while (!stop_.load()) {
        ::pthread_kill(target_, SIGUSR1);
        std::this_thread::sleep_for(std::chrono::microseconds(500));  // pacing only, not synchronisation
      }
    });
  }
  ~signal_rain() {
    stop_ = true;
    sender_.join();
    ::sigaction(SIGUSR1, &old_, nullptr);
  }
  /// Waits (bounded) until `n` more signals have hit the target thread.
  static bool wait_for(int n) {
    const int target = signals_handled.load() + n;
    return eventually([&] { return signals_handled.load() >= target; });
  }

 private:
  pthread_t target_;
  struct sigaction old_ {};
  std::atomic<bool> stop_{false};
  std::thread sender_;
};

/// Fills a listener's accept queue with connections (kept in the result), until the next connect's handshake
/// has to wait for an accept: a connect with a short timeout then times out.
std::vector<socket_t> fill_accept_queue(const listener& l) {
  std::vector<socket_t> queued;
  for (int i = 0; i < 64; ++i) {
    socket_t c;
    c.settimeout(200ms);
    std::error_code ec;
    c.connect(l.addr, ec);
    if (ec == std::errc::timed_out) return queued;
    if (ec) FAIL("filling the accept queue: " << ec.message());
    queued.push_back(std::move(c));
  }
  FAIL("the accept queue never filled");
  return queued;  // not reached
}

/// Restores a resource limit when it goes out of scope.
class rlimit_guard {
 public:
  explicit rlimit_guard(int resource) : resource_(resource) { REQUIRE(::getrlimit(resource, &saved_) == 0); }
  ~rlimit_guard() { ::setrlimit(resource_, &saved_); }
  const rlimit& saved() const { return saved_; }

 private:
  int resource_;
  rlimit saved_{};
};

}  // namespace

// ---- resets and half-closes ------------------------------------------------------------------------------

TEST_CASE("a peer that resets mid-stream: what arrived comes in order, then connection_reset", "[reset]") {
  auto [client, server] = connected_pair();
  const std::string stream = pattern(4 << 20);
  std::size_t sent = 0;
  background peer([&] {
    std::error_code ec;
    sent = server.sendall(std::string_view(stream).substr(0, 1 << 20), ec);  // the reader takes it all
    server.readline(ec);                                                     // "go on"
    sent += server.send(std::string_view(stream).substr(sent, 256 << 10), ec);
    reset_and_close(server);
  });
  std::error_code ec;
  std::string got = client.read(1 << 20, ec);
  REQUIRE_FALSE(ec);
  client.sendall("go on\n");
  // Read far more than will come: the reset ends it. Some of the last send may be lost with the reset (RST
  // discards unsent data), but nothing that arrives is out of order, and the count is exact.
  std::string rest = client.read(stream.size(), ec);
  peer.join();
  CHECK(ec == std::errc::connection_reset);
  got += rest;
  CHECK(got.size() <= sent);
  CHECK(got == stream.substr(0, got.size()));
  CHECK(got.size() >= (1u << 20));
  // After the one reset report, the connection reads as closed.
  CHECK(client.recv(16).empty());
}

TEST_CASE("a reset during a throwing readline puts the partial line back", "[reset]") {
  auto [client, server] = connected_pair();
  server.sendall("complete\npartial line with no end");
  REQUIRE(client.readline() == "complete\n");
  // Let the client's readline hold the partial line, then reset.
  std::error_code thrown;  // Catch2's assertions belong to the main thread: the reader only records
  bool returned = false;
  blocked_call reader([&] {
    try {
      client.readline();
      returned = true;
    } catch (const usock::error& e) {
      thrown = e.code();
    }
  });
  REQUIRE(reader.wait_until_blocked());
  CHECK(reset_and_close(server));
  reader.join();
  CHECK_FALSE(returned);
  CHECK(thrown == std::errc::connection_reset);
  std::array<char, 64> buf{};
  const std::size_t n = client.recv(buf);  // the put-back bytes, before anything else
  CHECK(std::string_view(buf.data(), n) == "partial line with no end");
}

TEST_CASE("sendall to a peer that resets reports the count it sent and the reset", "[reset]") {
  auto [client, server] = connected_pair();
  const std::string big = pattern(32 << 20);
  std::size_t received = 0;
  background peer([&] {
    std::array<char, 65536> buf;
    std::error_code ec;
    while (received < (1u << 20) && !ec) received += server.recv(buf, ec);  // take 1 MiB, then reset
    reset_and_close(server);
  });
  std::error_code ec;
  const std::size_t sent = client.sendall(big, ec);
  peer.join();
  CHECK((ec == std::errc::connection_reset || ec == std::errc::broken_pipe));
  CHECK(sent >= received);
  CHECK(sent < big.size());
}

TEST_CASE("a peer that half-closes: all its data, then EOF, and the other direction still works", "[halfclose]") {
  auto [client, server] = connected_pair();
  const std::string request = pattern(3 << 20);
  const std::string reply = pattern(2 << 20, 12345);
  std::string server_got;
  std::error_code peer_ec;
  background peer([&] {
    server.sendall(request, peer_ec);
    if (!peer_ec) server.shutdown(usock::shut_wr, peer_ec);  // the half-close: "no more from me", still reading
    if (!peer_ec) server_got = server.read(peer_ec);
  });
  std::string line_by_line;
  for (int i = 0; i < 1000000; ++i) {
    const std::string line = client.readline();
    if (line.empty()) break;
    line_by_line += line;
  }
  CHECK(line_by_line == request);   // every line, and the last without its newline
  CHECK(client.read().empty());     // EOF stays EOF
  client.sendall(reply);            // our direction is still open
  client.shutdown(usock::shut_wr);
  std::array<char, 8> buf;
  CHECK(client.recv(buf) == 0);
  client.close();
  peer.join();
  CHECK_FALSE(peer_ec);
  CHECK(server_got == reply);
}

// ---- descriptors ---------------------------------------------------------------------------------------

TEST_CASE("out of descriptors: accept and socket() report too_many_files_open, then recover", "[descriptors]") {
  listener l(4);
  socket_t client1, client2;
  client1.connect(l.addr);  // queued in the listener, waiting for an accept that cannot take it
  client2.connect(l.addr);
  rlimit_guard guard(RLIMIT_NOFILE);
  std::vector<socket_t> filler;
  {
    rlimit low = guard.saved();
    const int lowest_free = ::open("/dev/null", O_RDONLY);  // new descriptors take the lowest free numbers
    REQUIRE(lowest_free >= 0);
    ::close(lowest_free);
    low.rlim_cur = static_cast<rlim_t>(lowest_free);
    low.rlim_cur += 8;
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
    std::error_code ec;
    for (int i = 0; i < 64 && !ec; ++i) {
      socket_t s(usock::af_inet, usock::sock_stream, ec);
      if (!ec) filler.push_back(std::move(s));
    }
    REQUIRE(ec == std::errc::too_many_files_open);
    CHECK_FALSE(filler.empty());

    auto [none, none_addr] = l.sock.accept(ec);
    CHECK(ec == std::errc::too_many_files_open);
    CHECK_FALSE(none.is_open());
    CHECK_FALSE(none_addr.valid());
    CHECK_THROWS_AS(l.sock.accept(), usock::error);

    // One descriptor back: the queued connection was kept, and accept takes it now.
    filler.pop_back();
    auto [conn, addr] = l.sock.accept(ec);
    REQUIRE_FALSE(ec);
    CHECK((addr == client1.getsockname() || addr == client2.getsockname()));
    conn.sendall("still works");
    CHECK((addr == client1.getsockname() ? client1 : client2).read(11) == "still works");
  }
  filler.clear();
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &guard.saved()) == 0);
  auto [conn2, addr2] = l.sock.accept();  // the second queued connection, after the limit is restored
  CHECK(conn2.is_open());
}

// ---- signals during every blocking call -------------------------------------------------------------------

TEST_CASE("signals during a blocking connect: it completes", "[signals]") {
  listener l(0);
  const std::vector<socket_t> queued = fill_accept_queue(l);  // the next handshake waits for an accept
  signal_rain rain;
  std::size_t accepted = 0;
  background acceptor([&] {
    signal_rain::wait_for(20);
    std::error_code ec;
    l.sock.settimeout(std::chrono::seconds(20), ec);  // bounded, should the handshake never come
    for (std::size_t i = 0; i <= queued.size() && !ec; ++i) {
      l.sock.accept(ec);  // the queued ones, then ours (its SYN is retried about a second later)
      if (!ec) ++accepted;
    }
  });
  socket_t c;
  c.connect(l.addr);  // blocks until the acceptor makes room, through the signals
  acceptor.join();
  CHECK(accepted == queued.size() + 1);
  CHECK(c.getpeername() == l.addr);
  CHECK(signals_handled.load() >= 20);
}

TEST_CASE("signals during a connect with a timeout: the deadline holds", "[signals][timeouts]") {
  listener l(0);
  const std::vector<socket_t> queued = fill_accept_queue(l);
  signal_rain rain;
  socket_t c;
  c.settimeout(300ms);
  const auto start = steady_clock::now();
  std::error_code ec;
  c.connect(l.addr, ec);
  const auto elapsed = steady_clock::now() - start;
  CHECK(ec == std::errc::timed_out);
  CHECK(elapsed >= 300ms);
  CHECK(elapsed < std::chrono::seconds(3));
}

TEST_CASE("signals during accept, recv, readline, send and sendall: each completes with every byte", "[signals]") {
  const bool timed = GENERATE(false, true);  // blocking, and with a (long) deadline
  CAPTURE(timed);
  listener l;
  signal_rain rain;
  if (timed) l.sock.settimeout(std::chrono::seconds(30));

  // accept
  socket_t client;
  std::error_code peer_ec;  // what the helper threads met, checked on the main thread
  background connector([&] {
    signal_rain::wait_for(10);
    client.connect(l.addr, peer_ec);
  });
  auto [server, addr] = l.sock.accept();
  connector.join();
  REQUIRE(client.is_open());
  REQUIRE(addr == client.getsockname());

  // recv
  background writer([&] {
    signal_rain::wait_for(10);
    client.sendall("recv-data", peer_ec);
  });
  std::array<char, 9> nine{};
  CHECK(server.readinto(nine) == 9);
  writer.join();
  CHECK(std::string_view(nine.data(), 9) == "recv-data");

  // readline
  background liner([&] {
    signal_rain::wait_for(10);
    client.sendall("a line\n", peer_ec);
  });
  CHECK(server.readline() == "a line\n");
  liner.join();

  // send and sendall into a full buffer, drained by a reader only after signals have hit the sender
  const std::string payload = pattern(8 << 20);
  std::string drained;
  background reader([&] {
    signal_rain::wait_for(20);
    drained = client.read(peer_ec);
  });
  std::size_t sent = server.send(payload);
  CHECK(sent > 0);
  server.sendall(std::string_view(payload).substr(sent));
  server.shutdown(usock::shut_wr);
  reader.join();
  CHECK_FALSE(peer_ec);
  CHECK(drained == payload);
}

TEST_CASE("SIGPIPE never fires: send, sendall and write on a dead connection report errors", "[signals][sigpipe]") {
  struct sigaction dfl {}, old {};
  dfl.sa_handler = SIG_DFL;  // were SIGPIPE raised, the default action would end this process
  ::sigaction(SIGPIPE, &dfl, &old);
  {
    auto [client, server] = connected_pair();
    client.shutdown(usock::shut_wr);  // our own side closed: a plain send(2) here raises SIGPIPE
    std::error_code ec;
    CHECK(client.send("x", ec) == 0);
    CHECK(ec == std::errc::broken_pipe);
    CHECK(client.sendall(pattern(100000), ec) == 0);
    CHECK(ec == std::errc::broken_pipe);
    CHECK(client.write("y", ec) == 0);
    CHECK(ec == std::errc::broken_pipe);
    CHECK_THROWS_AS(client.sendall("z"), usock::error);
  }
  {
    auto [client, server] = connected_pair();
    reset_and_close(server);
    std::error_code ec;
    for (int i = 0; i < 1000 && !ec; ++i) client.sendall(pattern(4096), ec);
    CHECK((ec == std::errc::connection_reset || ec == std::errc::broken_pipe));
    for (int i = 0; i < 100; ++i) client.write("more", ec);  // again and again: still no signal
    CHECK(ec == std::errc::broken_pipe);
  }
  ::sigaction(SIGPIPE, &old, nullptr);
}

// ---- ending a blocked recv from another thread ----------------------------------------------------------

TEST_CASE("shutdown(shut_rdwr) from another thread wakes a blocked recv with EOF, and close comes after", "[shutdown]") {
  const int variant = GENERATE(0, 1, 2);  // recv blocking, recv with a deadline, readline
  CAPTURE(variant);
  auto [client, server] = connected_pair();
  if (variant == 1) server.settimeout(std::chrono::seconds(60));
  std::error_code reader_ec;
  std::size_t reader_got = 1;
  blocked_call reader([&] {
    if (variant == 2) {
      reader_got = server.readline(reader_ec).size();
    } else {
      std::array<char, 64> buf;
      reader_got = server.recv(buf, reader_ec);
    }
  });
  REQUIRE(reader.wait_until_blocked());
  const auto start = steady_clock::now();
  server.shutdown(usock::shut_rdwr);  // the documented way to stop a reader: it returns 0 (EOF) at once
  reader.join();
  CHECK(steady_clock::now() - start < std::chrono::seconds(5));
  CHECK_FALSE(reader_ec);
  CHECK(reader_got == 0);
  server.close();                      // and only now, with no call in progress, close
  std::array<char, 4> buf;
  CHECK(client.recv(buf) == 0);        // the peer saw the connection end
}
