// usock_bench_scale: one thread serving 100 busy ping-pong connections while 0, 1,000 or 10,000 idle connections
// are registered as well, for four servers in the same run: usock's poller on epoll (the host's default), usock's
// poller on poll(2) (what other POSIX systems get), Asio's reactor (io_context, async reads, one thread), and a
// hand-written epoll loop in C. Prints round trips per second, the ratios the goals judge, system calls per
// round trip (counted in the server thread with the kernel's raw_syscalls tracepoint where tracefs is mounted),
// and heap bytes per idle registered connection.
//
//   usock_bench_scale [--rounds N] [--repeat N] [--idle a,b,c] [--no-check]
//
// The clients run in a child process with a hand-written epoll loop, the same for every server: each of the 100
// active connections sends a 64-byte message, waits for its echo, checks every byte, N times. Each process needs
// one descriptor per connection; the default RLIMIT_NOFILE of 1,024 is raised to what the run needs (or the run
// says it cannot). Exit status: 0 when every goal is met (or --no-check), 1 when one is missed, 2 on failure.
#include <fcntl.h>
#include <linux/perf_event.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <asio.hpp>
#include <usock/poll.hpp>
#include <usock/usock.hpp>

#include "bench.hpp"
#include "syscall_counter.hpp"

namespace usock_bench {
namespace {

/// Busy connections in a trial: 100, or 1 for the serial ping-pong whose system calls are compared exactly.
std::size_t active_connections = 100;
constexpr std::size_t message = 64;

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "usock_bench_scale: %s: %s\n", what, std::strerror(errno));
  std::exit(2);
}

void fill_message(char* out, std::size_t id, std::size_t round) {
  for (std::size_t i = 0; i < message; ++i) out[i] = static_cast<char>((id * 131 + round * 17 + i) & 0xff);
}

// ---- the clients (child process) --------------------------------------------------------------------------

/// Connects `idle` then `active` connections (each sends its role, 'i' or 'a'), waits for the server's 'g' on
/// the first active one, runs `rounds` checked round trips on each active connection, writes the elapsed seconds
/// to `report`, closes the active connections, waits for the server's close of the idle ones, and exits.
[[noreturn]] void run_clients(const sockaddr_in& to, std::size_t idle, std::size_t rounds, int report) {
  pin_this_thread(0);
  std::vector<int> idle_fds, active_fds;
  auto open_one = [&](char role) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) die("client connect");
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::send(fd, &role, 1, 0) != 1) die("client role");
    return fd;
  };
  for (std::size_t i = 0; i < idle; ++i) idle_fds.push_back(open_one('i'));
  for (std::size_t i = 0; i < active_connections; ++i) active_fds.push_back(open_one('a'));
  char go = 0;
  if (::recv(active_fds[0], &go, 1, MSG_WAITALL) != 1 || go != 'g') die("client go");

  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  for (std::size_t i = 0; i < active_connections; ++i) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    if (::epoll_ctl(ep, EPOLL_CTL_ADD, active_fds[i], &ev) != 0) die("client epoll_ctl");
  }
  std::vector<std::size_t> round(active_connections), got(active_connections);
  std::vector<char> in(active_connections * message);
  char expected[message];
  const auto start = clock::now();
  for (std::size_t i = 0; i < active_connections; ++i) {
    fill_message(expected, i, 0);
    if (::send(active_fds[i], expected, message, 0) != static_cast<ssize_t>(message)) die("client send");
  }
  std::size_t done = 0;
  epoll_event events[128];
  while (done < active_connections) {
    const int n = ::epoll_wait(ep, events, 128, 30000);
    if (n <= 0) die("client epoll_wait (no progress in 30 s)");
    for (int k = 0; k < n; ++k) {
      const std::size_t i = events[k].data.u64;
      char* buf = &in[i * message];
      const ssize_t r = ::recv(active_fds[i], buf + got[i], message - got[i], 0);
      if (r <= 0) die("client recv");
      got[i] += static_cast<std::size_t>(r);
      if (got[i] < message) continue;
      fill_message(expected, i, round[i]);
      if (std::memcmp(buf, expected, message) != 0) {
        std::fprintf(stderr, "usock_bench_scale: wrong bytes echoed\n");
        std::exit(2);
      }
      got[i] = 0;
      if (++round[i] == rounds) {
        ++done;
        continue;
      }
      fill_message(expected, i, round[i]);
      if (::send(active_fds[i], expected, message, 0) != static_cast<ssize_t>(message)) die("client send");
    }
  }
  const double seconds = seconds_since(start);
  if (::write(report, &seconds, sizeof seconds) != sizeof seconds) die("client report");
  for (int fd : active_fds) ::close(fd);
  for (int fd : idle_fds) {  // the server closes every idle connection once it has finished
    char c;
    (void)::recv(fd, &c, 1, 0);
    ::close(fd);
  }
  std::exit(0);
}

// ---- the servers ------------------------------------------------------------------------------------------------

/// What every server is given: the accepted descriptors, blocking, role byte read. `serve` registers them all
/// (idle ones for reading too), calls `ready()` (the harness sends 'g'), echoes until every active connection has
/// ended, and closes every descriptor. Returns the heap bytes its registrations took (before `ready`).
struct server_input {
  std::vector<int> idle;
  std::vector<int> active;
  std::function<void()> ready;
};

std::size_t heap_in_use() { return mallinfo2().uordblks; }

/// usock's poller over any readiness set: the server a usock user writes (as examples/multi_echo_server.cpp).
template <class Poller>
std::size_t serve_usock(server_input& in) {
  auto p = std::make_unique<Poller>();
  std::vector<usock::socket> socks;
  socks.reserve(in.idle.size() + in.active.size());
  std::vector<usock::socket*> by_fd(65536);
  const std::size_t heap_before = heap_in_use();
  auto take = [&](int fd) {
    socks.push_back(usock::socket::adopt(fd));
    socks.back().setblocking(false);
    by_fd[static_cast<std::size_t>(fd)] = &socks.back();
    p->add(fd, usock::pollin);
  };
  for (int fd : in.idle) take(fd);
  const std::size_t registered_heap = heap_in_use() - heap_before;
  for (int fd : in.active) take(fd);
  in.ready();
  std::size_t open = in.active.size();
  std::array<char, 4096> buf;
  std::error_code ec;
  while (open > 0) {
    for (const auto [fd, events] : p->poll(std::nullopt)) {
      usock::socket& s = *by_fd[static_cast<std::size_t>(fd)];
      const std::size_t n = s.recv(buf, ec);
      if (ec == std::errc::resource_unavailable_try_again) continue;
      if (ec || n == 0) {
        p->remove(fd);
        s.close();
        --open;
        continue;
      }
      s.sendall(std::string_view(buf.data(), n));
    }
  }
  return registered_heap;  // the sockets close as `socks` goes
}

/// The POSIX backend with the poll(2) readiness set that POSIX systems without epoll use.
struct posix_with_poll : usock::posix {
  template <std::size_t Capacity>
  using poll_set = usock::detail::scan_poll_set<posix_with_poll, Capacity>;
};

/// Asio's reactor: one io_context on this thread, an async read pending on every connection (as an Asio server
/// holds its clients), async_write for the echo. A pending read needs its buffer, so each connection's heap
/// includes its 4 KiB buffer (a readiness loop, usock's or C's, reads every socket into one).
std::size_t serve_asio(server_input& in) {
  using tcp = asio::ip::tcp;
  struct connection {
    tcp::socket sock;
    std::array<char, 4096> buf;
  };
  asio::io_context io(1);
  std::vector<std::unique_ptr<connection>> conns;
  conns.reserve(in.idle.size() + in.active.size());
  const std::size_t heap_before = heap_in_use();
  std::size_t open = in.active.size();
  std::function<void(connection&)> read;
  read = [&](connection& c) {
    c.sock.async_read_some(asio::buffer(c.buf), [&, &c = c](const asio::error_code& ec, std::size_t n) {
      if (ec || n == 0) {
        c.sock.close();
        if (--open == 0) io.stop();
        return;
      }
      asio::async_write(c.sock, asio::buffer(c.buf.data(), n), [&, &c = c](const asio::error_code& wec, std::size_t) {
        if (wec) return c.sock.close();
        read(c);
      });
    });
  };
  auto take = [&](int fd) {
    conns.push_back(std::make_unique<connection>(connection{tcp::socket(io, tcp::v4(), fd), {}}));
    read(*conns.back());
  };
  for (int fd : in.idle) take(fd);
  const std::size_t registered_heap = heap_in_use() - heap_before;
  for (int fd : in.active) take(fd);
  in.ready();
  io.run();
  conns.clear();
  return registered_heap;
}

/// A hand-written level-triggered epoll loop: the floor.
std::size_t serve_plain_epoll(server_input& in) {
  const std::size_t heap_before = heap_in_use();
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  auto take = [&](int fd) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) die("epoll_ctl");
  };
  for (int fd : in.idle) take(fd);
  const std::size_t registered_heap = heap_in_use() - heap_before;
  for (int fd : in.active) take(fd);
  in.ready();
  std::size_t open = in.active.size();
  char buf[4096];
  epoll_event events[512];
  while (open > 0) {
    const int n = ::epoll_wait(ep, events, 512, -1);
    for (int k = 0; k < n; ++k) {
      const int fd = events[k].data.fd;
      const ssize_t r = ::recv(fd, buf, sizeof buf, 0);
      if (r <= 0) {
        ::epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
        ::close(fd);
        --open;
        continue;
      }
      for (ssize_t sent = 0; sent < r;) {
        const ssize_t w = ::send(fd, buf + sent, static_cast<std::size_t>(r - sent), MSG_NOSIGNAL);
        if (w < 0) die("send");
        sent += w;
      }
    }
  }
  ::close(ep);
  for (int fd : in.idle) ::close(fd);
  return registered_heap;
}

struct contender {
  const char* name;
  std::size_t (*serve)(server_input&);
};
const contender contenders[] = {
    {"usock poller (epoll)", serve_usock<usock::poller>},
    {"usock poller (poll(2))", serve_usock<usock::basic_poller<posix_with_poll, usock::dynamic_capacity>>},
    {"Asio reactor", serve_asio},
    {"C epoll loop", serve_plain_epoll},
};
constexpr std::size_t contender_count = std::size(contenders);

struct trial {
  double round_trips_per_second;
  double syscalls_per_round_trip;  ///< negative when not counted
  double waits_per_round_trip;     ///< the waits among them (epoll_wait, poll)
  double heap_per_idle;            ///< heap bytes per idle registration, when there are idle ones
};

/// One run of one server with `idle` idle connections and `rounds` round trips per active connection.
trial run_trial(const contender& c, std::size_t idle, std::size_t rounds) {
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listener, 4096) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    die("listener");
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) die("pipe");
  std::fflush(nullptr);
  const pid_t child = ::fork();
  if (child < 0) die("fork");
  if (child == 0) {
    ::close(listener);
    ::close(report[0]);
    run_clients(addr, idle, rounds, report[1]);
  }
  ::close(report[1]);
  pin_this_thread(1);
  server_input in;
  while (in.idle.size() < idle || in.active.size() < active_connections) {
    const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    char role = 0;
    if (fd < 0 || ::recv(fd, &role, 1, MSG_WAITALL) != 1) die("accept");
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    (role == 'a' ? in.active : in.idle).push_back(fd);
  }
  ::close(listener);
  syscall_counter counter;
  in.ready = [&] {
    if (::send(in.active[0], "g", 1, MSG_NOSIGNAL) != 1) die("go");
    counter.start();
  };
  const std::size_t heap = c.serve(in);
  const auto [calls, waits] = counter.stop();
  double seconds = 0;
  if (::read(report[0], &seconds, sizeof seconds) != sizeof seconds) die("report");
  ::close(report[0]);
  int status = 0;
  if (::waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "usock_bench_scale: the clients failed\n");
    std::exit(2);
  }
  const double round_trips = static_cast<double>(active_connections * rounds);
  return {round_trips / seconds, calls < 0 ? -1.0 : static_cast<double>(calls) / round_trips,
          waits < 0 ? -1.0 : static_cast<double>(waits) / round_trips,
          idle ? static_cast<double>(heap) / static_cast<double>(idle) : 0.0};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

bool raise_descriptor_limit(rlim_t needed) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return false;
  if (limit.rlim_cur >= needed) return true;
  if (limit.rlim_max < needed) limit.rlim_max = needed;
  limit.rlim_cur = needed;
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) return false;
  std::printf("RLIMIT_NOFILE raised to %llu\n", static_cast<unsigned long long>(needed));
  return true;
}

}  // namespace
}  // namespace usock_bench

int main(int argc, char** argv) {
  using namespace usock_bench;
  std::size_t rounds = 1000, repeat = 3;
  std::vector<std::size_t> idle_counts{0, 1000, 10000};
  bool check = true;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--rounds" && i + 1 < argc) rounds = std::strtoul(argv[++i], nullptr, 10);
    else if (arg == "--repeat" && i + 1 < argc) repeat = std::strtoul(argv[++i], nullptr, 10);
    else if (arg == "--idle" && i + 1 < argc) {
      idle_counts.clear();
      for (char* p = argv[++i]; *p;) {
        idle_counts.push_back(std::strtoul(p, &p, 10));
        if (*p == ',') ++p;
      }
    } else if (arg == "--no-check") check = false;
    else {
      std::fprintf(stderr, "usage: usock_bench_scale [--rounds N] [--repeat N] [--idle a,b,c] [--no-check]\n");
      return 2;
    }
  }
  const std::size_t most_idle = *std::max_element(idle_counts.begin(), idle_counts.end());
  if (!raise_descriptor_limit(most_idle + active_connections + 64)) {
    std::fprintf(stderr, "usock_bench_scale: RLIMIT_NOFILE cannot be raised to %zu\n",
                 most_idle + active_connections + 64);
    return 2;
  }
  std::printf("%zu active connections x %zu round trips of %zu bytes; idle connections: ", active_connections,
              rounds, message);
  for (std::size_t n : idle_counts) std::printf("%zu ", n);
  std::printf("; %zu repeats, contenders alternating\n\n", repeat);

  // results[contender][idle index] -> per-repeat figures
  std::vector<std::vector<std::vector<trial>>> results(
      contender_count, std::vector<std::vector<trial>>(idle_counts.size()));
  for (std::size_t r = 0; r < repeat; ++r)
    for (std::size_t k = 0; k < idle_counts.size(); ++k)
      for (std::size_t c = 0; c < contender_count; ++c)
        results[c][k].push_back(run_trial(contenders[c], idle_counts[k], rounds));

  auto rate = [&](std::size_t c, std::size_t k) {
    std::vector<double> v;
    for (const trial& t : results[c][k]) v.push_back(t.round_trips_per_second);
    return median(v);
  };
  auto per_repeat_ratio = [&](std::size_t c1, std::size_t k1, std::size_t c2, std::size_t k2) {
    std::vector<double> v;
    for (std::size_t r = 0; r < repeat; ++r)
      v.push_back(results[c1][k1][r].round_trips_per_second / results[c2][k2][r].round_trips_per_second);
    return median(v);
  };

  std::printf("| server | ");
  for (std::size_t n : idle_counts) std::printf("%zu idle (round trips/s) | ", n);
  std::printf("system calls per round trip (waits among them) | server heap per idle connection (bytes) |\n|---|");
  for (std::size_t k = 0; k < idle_counts.size(); ++k) std::printf("---:|");
  std::printf("---:|---:|\n");
  for (std::size_t c = 0; c < contender_count; ++c) {
    std::printf("| %s | ", contenders[c].name);
    for (std::size_t k = 0; k < idle_counts.size(); ++k) std::printf("%.0f | ", rate(c, k));
    std::vector<double> calls, waits, heap;
    for (const trial& t : results[c][0]) calls.push_back(t.syscalls_per_round_trip);
    for (const trial& t : results[c][0]) waits.push_back(t.waits_per_round_trip);
    for (const trial& t : results[c].back()) heap.push_back(t.heap_per_idle);
    const double m = median(calls);
    if (m < 0) std::printf("not counted (no tracefs) | ");
    else std::printf("%.3f (%.3f) | ", m, median(waits));
    std::printf("%.0f |\n", median(heap));
  }

  // One connection, nothing idle: every round trip is one wait, one receive and one send on the server, so the
  // counts of usock and of the hand-written loop can be compared exactly, free of timing.
  active_connections = 1;
  std::vector<trial> serial_usock, serial_c;
  for (std::size_t r = 0; r < repeat; ++r) {
    serial_usock.push_back(run_trial(contenders[0], 0, rounds * 10));
    serial_c.push_back(run_trial(contenders[3], 0, rounds * 10));
  }
  active_connections = 100;

  bool met = true;
  std::printf("\n| goal | measured (median of per-repeat ratios) | target | met |\n|---|---:|---|---|\n");
  const std::size_t last = idle_counts.size() - 1;
  if (idle_counts[0] == 0 && idle_counts[last] > 0) {
    const double r = per_repeat_ratio(0, last, 0, 0);
    const bool ok = r >= 0.9;
    met = met && ok;
    std::printf("| usock epoll: rate with %zu idle / with 0 idle | %.3f | >= 0.9 | %s |\n", idle_counts[last], r,
                ok ? "yes" : "NO");
    std::printf("| (shown) usock poll(2): rate with %zu idle / with 0 idle | %.3f | | |\n", idle_counts[last],
                per_repeat_ratio(1, last, 1, 0));
    std::printf("| (shown) Asio: rate with %zu idle / with 0 idle | %.3f | | |\n", idle_counts[last],
                per_repeat_ratio(2, last, 2, 0));
  }
  for (std::size_t k = 0; k < idle_counts.size(); ++k) {
    const double r = per_repeat_ratio(0, k, 2, k);
    const bool ok = r >= 1.0;
    met = met && ok;
    std::printf("| usock epoll / Asio reactor, %zu idle | %.3f | >= 1.0 | %s |\n", idle_counts[k], r,
                ok ? "yes" : "NO");
  }
  {
    // Waits per round trip depend on timing (how many sockets are ready when the server looks again), so the
    // goal judges the calls besides the waits: a receive and a send per message, for usock as for plain C.
    std::vector<double> u, p, uw, pw;
    for (const trial& t : results[0][0]) u.push_back(t.syscalls_per_round_trip - t.waits_per_round_trip);
    for (const trial& t : results[3][0]) p.push_back(t.syscalls_per_round_trip - t.waits_per_round_trip);
    for (const trial& t : results[0][0]) uw.push_back(t.waits_per_round_trip);
    for (const trial& t : results[3][0]) pw.push_back(t.waits_per_round_trip);
    if (results[0][0][0].syscalls_per_round_trip >= 0) {
      const bool ok = median(u) <= median(p) + 0.001;
      met = met && ok;
      std::printf("| system calls per round trip besides waits: usock epoll vs hand-written epoll in C | %.3f vs %.3f "
                  "| <= | %s |\n", median(u), median(p), ok ? "yes" : "NO");
      std::printf("| (shown) waits per round trip: usock epoll vs hand-written epoll in C | %.3f vs %.3f | | |\n",
                  median(uw), median(pw));
    }
  }
  if (serial_usock[0].syscalls_per_round_trip >= 0) {
    std::vector<double> u, p;
    for (const trial& t : serial_usock) u.push_back(t.syscalls_per_round_trip);
    for (const trial& t : serial_c) p.push_back(t.syscalls_per_round_trip);
    const bool ok = median(u) <= median(p) + 0.001;
    met = met && ok;
    std::printf("| system calls per ping-pong round trip, one connection: usock epoll vs hand-written epoll in C | "
                "%.4f vs %.4f | <= | %s |\n", median(u), median(p), ok ? "yes" : "NO");
  }
  std::printf("\n%s\n", met ? "every goal measured is met" : "a goal is missed");
  return check && !met ? 1 : 0;
}
