// The simulated wire: frame I/O on an end, the seeded pump, and the two-process harness (see wire.hpp).
#include "wire.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace usock_wire {

// send/recv on a wire end (no SIGPIPE when the other side has gone); write/read on a TAP device, which is not
// a socket.
bool send_frame(int fd, std::span<const std::byte> frame) noexcept {
  for (;;) {
    ssize_t n = ::send(fd, frame.data(), frame.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == ENOTSOCK) n = ::write(fd, frame.data(), frame.size());
    if (n == static_cast<ssize_t>(frame.size())) return true;
    if (n >= 0 || errno != EINTR) return false;
  }
}

long receive_frame(int fd, std::span<std::byte> buffer) noexcept {
  for (;;) {
    ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
    if (n < 0 && errno == ENOTSOCK) n = ::read(fd, buffer.data(), buffer.size());
    if (n >= 0) return static_cast<long>(n);
    if (errno != EINTR) return -1;
  }
}

bool rendezvous(const side& s) noexcept {
  const char ready = 'R';
  if (::write(s.control_fd, &ready, 1) != 1) return false;
  char go = 0;
  ssize_t n;
  while ((n = ::read(s.control_fd, &go, 1)) < 0 && errno == EINTR) {
  }
  return n == 1 && go == 'G';
}

namespace {

using clock = std::chrono::steady_clock;

/// splitmix64: small, fast, and the same numbers on every platform for the same seed.
class generator {
 public:
  explicit generator(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  /// True with probability `p`.
  bool chance(double p) { return p > 0 && static_cast<double>(next() >> 11) * 0x1.0p-53 < p; }

 private:
  std::uint64_t state_;
};

constexpr std::size_t queue_limit = 16384;  // frames per direction the pump holds before it overflows

/// One direction of the wire: frames read from `from`, impaired, queued by due time, written to `to`.
/// One trace line: milliseconds since the start, the direction, the fate, and TCP/IPv4 fields if present.
void trace_frame(std::FILE* out, clock::time_point start, const char* direction, const char* fate,
                 std::span<const std::byte> f) {
  const auto ms = std::chrono::duration<double, std::milli>(clock::now() - start).count();
  auto u8 = [&](std::size_t i) { return i < f.size() ? std::to_integer<unsigned>(f[i]) : 0u; };
  auto u16 = [&](std::size_t i) { return u8(i) << 8 | u8(i + 1); };
  auto u32 = [&](std::size_t i) { return u16(i) << 16 | u16(i + 2); };
  std::fprintf(out, "%10.3f %s %-9s len=%zu", ms, direction, fate, f.size());
  if (u16(12) == 0x0800 && u8(23) == 6) {  // IPv4 carrying TCP
    const std::size_t ip = 14, tcp = ip + (u8(ip) & 0x0f) * 4;
    const unsigned payload = u16(ip + 2) - (u8(ip) & 0x0f) * 4 - (u8(tcp + 12) >> 4) * 4;
    std::fprintf(out, " tcp %u>%u seq=%u ack=%u flags=%02x win=%u data=%u", u16(tcp), u16(tcp + 2), u32(tcp + 4),
                 u32(tcp + 8), u8(tcp + 13), u16(tcp + 14), payload);
  } else if (u16(12) == 0x0806) {
    std::fprintf(out, " arp");
  }
  std::fputc('\n', out);
}

struct lane {
  const char* name;
  clock::time_point start;
  int from;
  int to;
  generator dice;
  direction_stats stats;
  std::multimap<std::pair<clock::time_point, std::uint64_t>, std::vector<std::byte>> queue;
  std::uint64_t sequence = 0;
  bool blocked = false;  // `to` was full at the last attempt

  void take(std::span<const std::byte> frame, const impairment& wire, clock::time_point now) {
    ++stats.frames;
    stats.bytes += frame.size();
    // Always draw all three numbers, so one frame's fate never shifts the next frame's dice.
    const bool lose = dice.chance(wire.loss);
    const bool twice = dice.chance(wire.duplicate);
    const bool hold = dice.chance(wire.reorder);
    if (wire.trace) trace_frame(wire.trace, start, name, lose ? "drop" : hold ? "hold" : twice ? "twice" : "pass", frame);
    if (lose) {
      ++stats.dropped;
      return;
    }
    clock::time_point due = now + wire.latency;
    if (hold) {
      ++stats.reordered;
      due += wire.reorder_hold;
    }
    for (int copy = 0; copy < (twice ? 2 : 1); ++copy) {
      if (queue.size() >= queue_limit) {
        ++stats.overflowed;
        continue;
      }
      queue.emplace(std::make_pair(due, sequence++), std::vector<std::byte>(frame.begin(), frame.end()));
    }
    if (twice) ++stats.duplicated;
  }

  /// Reads every frame waiting on `from` (it is non-blocking).
  void read_all(const impairment& wire) {
    std::byte buffer[max_frame + 64];
    for (;;) {
      const ssize_t n = ::recv(from, buffer, sizeof buffer, MSG_DONTWAIT);
      if (n <= 0) return;  // EAGAIN, or the side has gone
      take(std::span<const std::byte>(buffer, static_cast<std::size_t>(n)), wire, clock::now());
    }
  }

  /// Writes the frames that are due, in order, until `to` is full.
  void deliver(clock::time_point now) {
    blocked = false;
    while (!queue.empty() && queue.begin()->first.first <= now) {
      const auto& frame = queue.begin()->second;
      const ssize_t n = ::send(to, frame.data(), frame.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        blocked = true;
        return;
      }
      if (n >= 0) ++stats.delivered;  // a side that has gone loses the frame, as a cable would
      queue.erase(queue.begin());
    }
  }

  std::optional<clock::time_point> next_due() const {
    if (queue.empty() || blocked) return std::nullopt;
    return queue.begin()->first.first;
  }
};

void set_buffers(int fd) {
  const int size = 1 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
}

void make_inheritable(int fd) { ::fcntl(fd, F_SETFD, 0); }

int exit_status(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

}  // namespace

run_result run_pair(const impairment& wire, std::chrono::milliseconds limit, const role& a, const role& b) {
  run_result result;
  int frames[2][2];   // [side][0] = the side's end, [side][1] = the pump's end
  int control[2][2];  // [side][0] = the side's end, [side][1] = the parent's end
  for (int i = 0; i < 2; ++i) {
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, frames[i]) != 0 ||
        ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, control[i]) != 0) {
      std::perror("wire: socketpair");
      return result;
    }
    set_buffers(frames[i][0]);
    set_buffers(frames[i][1]);
  }
  std::fflush(nullptr);  // nothing buffered may be printed twice

  const auto start = clock::now();
  pid_t children[2] = {-1, -1};
  for (int i = 0; i < 2; ++i) {
    children[i] = ::fork();
    if (children[i] < 0) {
      std::perror("wire: fork");
      if (i == 1) ::kill(children[0], SIGKILL), ::waitpid(children[0], nullptr, 0);
      return result;
    }
    if (children[i] == 0) {
      // The child keeps only its own two ends, inheritable so that a role may exec another program.
      for (int j = 0; j < 2; ++j) {
        ::close(frames[j][1]);
        ::close(control[j][1]);
        if (j != i) ::close(frames[j][0]), ::close(control[j][0]);
      }
      make_inheritable(frames[i][0]);
      make_inheritable(control[i][0]);
      ::signal(SIGPIPE, SIG_IGN);  // a role writing to a gone peer gets EPIPE, not death
      const int code = (i == 0 ? a : b)(side{i, frames[i][0], control[i][0]});
      std::fflush(nullptr);
      ::_exit(code);
    }
  }
  for (int i = 0; i < 2; ++i) {
    ::close(frames[i][0]);
    ::close(control[i][0]);
    ::fcntl(frames[i][1], F_SETFL, O_NONBLOCK);
  }

  lane lanes[2] = {{"A>B", start, frames[0][1], frames[1][1], generator(wire.seed * 2 + 1), {}, {}, 0, false},
                   {"B>A", start, frames[1][1], frames[0][1], generator(wire.seed * 2 + 2), {}, {}, 0, false}};
  bool exited[2] = {false, false};
  // Rendezvous: side i has asked `asked[i]` times; round r is released (a 'G' to each side that asked) once
  // both sides have asked r times, or the other side has exited.
  long asked[2] = {0, 0};
  long released = 0;
  auto release_rounds = [&] {
    const long both = std::min(exited[0] ? LONG_MAX : asked[0], exited[1] ? LONG_MAX : asked[1]);
    while (released < both && released < std::max(asked[0], asked[1])) {
      ++released;
      const char go = 'G';
      for (int j = 0; j < 2; ++j)
        if (!exited[j] && asked[j] >= released) (void)!::write(control[j][1], &go, 1);
    }
  };
  const auto give_up = start + limit;
  while (!(exited[0] && exited[1])) {
    const auto now = clock::now();
    if (now >= give_up) {
      result.timed_out = true;
      break;
    }
    auto wake = give_up;
    for (const lane& l : lanes)
      if (auto due = l.next_due()) wake = std::min(wake, *due);
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(wake - now).count();

    pollfd p[4] = {};
    for (int i = 0; i < 2; ++i) {
      // Side i's pump end: frames from side i (lane i) to read; frames for side i (lane 1-i) to write.
      p[i].fd = frames[i][1];
      p[i].events = static_cast<short>(POLLIN | (lanes[1 - i].blocked ? POLLOUT : 0));
      p[2 + i].fd = exited[i] ? -1 : control[i][1];
      p[2 + i].events = POLLIN;
    }
    if (::poll(p, 4, static_cast<int>(std::max<decltype(wait)>(wait, 0))) < 0 && errno != EINTR) {
      std::perror("wire: poll");
      result.timed_out = true;
      break;
    }
    for (lane& l : lanes) l.read_all(wire);
    const auto after = clock::now();
    for (lane& l : lanes) l.deliver(after);
    for (int i = 0; i < 2; ++i) {
      if (exited[i] || !(p[2 + i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char c = 0;
      const ssize_t n = ::read(control[i][1], &c, 1);
      if (n == 1 && c == 'R') ++asked[i];
      else if (n == 0) exited[i] = true;  // the child closed its control end: it has exited
      release_rounds();
    }
  }
  for (int i = 0; i < 2; ++i) {
    if (result.timed_out) ::kill(children[i], SIGKILL);
    int status = 0;
    if (::waitpid(children[i], &status, 0) == children[i]) (i == 0 ? result.status_a : result.status_b) = exit_status(status);
    ::close(frames[i][1]);
    ::close(control[i][1]);
  }
  result.seconds = std::chrono::duration<double>(clock::now() - start).count();
  result.stats.a_to_b = lanes[0].stats;
  result.stats.b_to_a = lanes[1].stats;
  return result;
}

std::string describe(const impairment& wire) {
  std::ostringstream out;
  out << "seed=" << wire.seed << " loss=" << wire.loss << " duplicate=" << wire.duplicate
      << " reorder=" << wire.reorder << " latency=" << wire.latency.count() << "us"
      << " reorder_hold=" << wire.reorder_hold.count() << "us";
  return out.str();
}

std::string describe(const wire_stats& stats) {
  std::ostringstream out;
  auto line = [&](const char* name, const direction_stats& d) {
    out << name << ": " << d.frames << " frames (" << d.bytes << " bytes), " << d.delivered << " delivered, "
        << d.dropped << " dropped, " << d.duplicated << " duplicated, " << d.reordered << " reordered, "
        << d.overflowed << " overflowed\n";
  };
  line("A->B", stats.a_to_b);
  line("B->A", stats.b_to_a);
  return out.str();
}

}  // namespace usock_wire
