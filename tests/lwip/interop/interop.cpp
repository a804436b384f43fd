// Interop between lwIP and the Linux kernel's TCP over a TAP device, both directions, with usock on the lwIP
// side (basic_socket<usock::lwip>, library client and library server) and, on the Linux side, a peer program:
// usock's POSIX backend (usock_interop_peer) or CPython's own socket module (interop_peer.py).
//
//   usock_lwip_interop --peer posix PATH            usock_interop_peer
//   usock_lwip_interop --peer python PYTHON SCRIPT  python3 and interop_peer.py
//                      [--bytes N]
//
// Isolation: the test creates a network namespace of its own (unshare, no name, held by a descriptor), creates
// a TAP device and moves it into that namespace before it has an address or is up, and runs the Linux-side
// peer inside the namespace. The addresses 10.200.0.1 (Linux, in the namespace) and 10.200.0.2 (lwIP, in this
// process) exist only on that TAP link; lwIP here has no other interface, and the namespace no other link
// but its own loopback. No traffic reaches the machine's own network or anything else.
//
// Clean-up is the kernel's: the namespace lives only as long as this process holds its descriptor or a peer
// runs in it, the TAP device only as long as this process holds its descriptor, and every peer is killed when
// this process dies (PR_SET_PDEATHSIG). So even a killed test leaves nothing behind. A watchdog alarm ends a
// stuck run.
//
// Needs root, /dev/net/tun, network namespaces and iproute2's `ip`: without any of them the test is skipped
// (exit 77) with the reason printed.
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <usock/basic_socket.hpp>
#include <usock/lwip.hpp>
#include <usock/poll.hpp>

#include "interop_pattern.hpp"
#include "wire_lwip_netif.hpp"

namespace {

using socket_t = usock::basic_socket<usock::lwip>;
using namespace std::chrono_literals;

constexpr int skip_code = 77;
const char* const linux_address = "10.200.0.1";
const char* const lwip_address = "10.200.0.2";

[[noreturn]] void skip(const std::string& why) {
  std::printf("SKIPPED: %s\n", why.c_str());
  std::fflush(stdout);
  std::exit(skip_code);
}

std::string errno_text() { return std::strerror(errno); }

/// A descriptor closed when the object goes.
class descriptor {
 public:
  explicit descriptor(int fd = -1) : fd_(fd) {}
  descriptor(descriptor&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  descriptor& operator=(descriptor&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  ~descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

/// A child process inside the namespace, killed and reaped when the object goes; its stdout is readable.
class process {
 public:
  process(int netns, const std::vector<std::string>& argv, bool capture) {
    int out[2] = {-1, -1};
    if (capture && ::pipe2(out, O_CLOEXEC) != 0) return;
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      if (netns >= 0 && ::setns(netns, CLONE_NEWNET) != 0) ::_exit(126);
      if (capture) ::dup2(out[1], STDOUT_FILENO);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    if (capture) {
      ::close(out[1]);
      output_ = descriptor(out[0]);
    }
  }
  process(const process&) = delete;
  process& operator=(const process&) = delete;
  ~process() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  bool started() const { return pid_ > 0; }

  /// The next line of its output (without the newline), or nothing after `limit` or at EOF.
  std::optional<std::string> line(std::chrono::milliseconds limit) {
    const auto give_up = std::chrono::steady_clock::now() + limit;
    for (;;) {
      if (const auto nl = pending_.find('\n'); nl != std::string::npos) {
        std::string l = pending_.substr(0, nl);
        pending_.erase(0, nl + 1);
        return l;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(give_up - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{output_.get(), POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[256];
      const ssize_t n = ::read(output_.get(), buf, sizeof buf);
      if (n <= 0) return std::nullopt;
      pending_.append(buf, static_cast<std::size_t>(n));
    }
  }

  /// Waits for it to exit (at most `limit`, then kills it): its exit status, -1 if killed.
  int finish(std::chrono::milliseconds limit) {
    const auto give_up = std::chrono::steady_clock::now() + limit;
    int status = 0;
    for (;;) {
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) break;
      if (std::chrono::steady_clock::now() >= give_up) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(10ms);  // polling a child's exit, not synchronising with it
    }
    reaped_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  descriptor output_;
  std::string pending_;
};

/// Runs a command inside the namespace (or outside with netns = -1) and returns its exit status.
int run(int netns, const std::vector<std::string>& argv) {
  process p(netns, argv, false);
  return p.started() ? p.finish(10s) : -1;
}

std::string find_ip() {
  for (const char* path : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"})
    if (::access(path, X_OK) == 0) return path;
  return {};
}

/// A new network namespace with no process in it, held by the returned descriptor.
descriptor make_namespace() {
  int result[2];
  if (::pipe2(result, O_CLOEXEC) != 0) skip("pipe: " + errno_text());
  const pid_t parent = ::getpid();
  const pid_t holder = ::fork();
  if (holder == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    const int err = ::unshare(CLONE_NEWNET) == 0 ? 0 : errno;
    (void)!::write(result[1], &err, sizeof err);
    ::pause();  // until the parent has opened the namespace and kills this process
    ::_exit(0);
  }
  ::close(result[1]);
  int err = -1;
  const bool got = ::read(result[0], &err, sizeof err) == static_cast<ssize_t>(sizeof err);
  ::close(result[0]);
  descriptor ns;
  if (got && err == 0) ns = descriptor(::open(("/proc/" + std::to_string(holder) + "/ns/net").c_str(), O_RDONLY | O_CLOEXEC));
  ::kill(holder, SIGKILL);
  ::waitpid(holder, nullptr, 0);
  if (!got || err != 0) skip(std::string("cannot create a network namespace: ") + std::strerror(got ? err : EIO));
  if (ns.get() < 0) skip("cannot open the new network namespace: " + errno_text());
  return ns;
}

/// A TAP device (IFF_TAP | IFF_NO_PI: one Ethernet frame per read and write) named `name`.
descriptor make_tap(const std::string& name) {
  descriptor tun(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
  if (tun.get() < 0) skip("cannot open /dev/net/tun: " + errno_text());
  ifreq ifr{};
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  std::snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name.c_str());
  if (::ioctl(tun.get(), TUNSETIFF, &ifr) != 0) skip("cannot create TAP device " + name + ": " + errno_text());
  return tun;
}

bool check(bool ok, const char* what) {
  std::printf("%s: %s\n", ok ? "ok" : "FAILED", what);
  return ok;
}

/// The Linux peer serves; usock on lwIP is the client: a greeting line, then `bytes` echoed back.
bool lwip_client_to_linux_server(int netns, const std::vector<std::string>& peer, std::size_t bytes) {
  std::vector<std::string> argv = peer;
  argv.insert(argv.end(), {"serve", linux_address});
  process server(netns, argv, true);
  const auto port_line = server.line(20s);
  if (!check(port_line && port_line->starts_with("PORT "), "the Linux peer listens and reports its port")) return false;
  const auto port = static_cast<std::uint16_t>(std::atoi(port_line->c_str() + 5));

  std::error_code ec;
  socket_t s(usock::af_inet, usock::sock_stream, ec);
  if (!ec) s.settimeout(20s, ec);
  if (!ec) s.connect({linux_address, port}, ec);
  if (!check(!ec, "lwIP connects to the Linux peer")) return std::printf("  %s\n", ec.message().c_str()), false;
  s.sendall("hello\n", ec);
  const std::string greeting = ec ? std::string() : s.readline(ec);
  if (!check(!ec && greeting == "hello\n", "the greeting comes back as a line")) return false;

  // An lwIP socket must not be used by two threads at once (lwIP without LWIP_NETCONN_FULLDUPLEX), so one
  // thread sends and receives, non-blocking, driven by usock's poller.
  const std::string payload = usock_interop::pattern(bytes);
  std::string echoed;
  std::size_t sent = 0;
  usock::basic_poller<usock::lwip, 1> poller;
  s.setblocking(false, ec);
  if (!ec) poller.add(s, usock::pollin | usock::pollout, ec);
  std::array<char, 16384> buf;
  const auto give_up = std::chrono::steady_clock::now() + 30s;
  while (!ec) {
    if (std::chrono::steady_clock::now() >= give_up) {
      ec = std::make_error_code(std::errc::timed_out);
      break;
    }
    unsigned events = 0;
    for (auto [fd, ev] : poller.poll(1s, ec)) events |= ev;
    if (ec) break;
    if (sent < payload.size() && (events & usock::pollout)) {
      std::error_code send_ec;
      sent += s.send(std::string_view(payload).substr(sent, 16384), send_ec);
      if (send_ec && send_ec != std::errc::resource_unavailable_try_again) ec = send_ec;
      if (sent == payload.size() && !ec) {
        s.shutdown(usock::shut_wr, ec);
        if (!ec) poller.modify(s, usock::pollin, ec);
      }
    }
    if (events & (usock::pollin | usock::pollerr | usock::pollhup)) {
      std::error_code recv_ec;
      const std::size_t n = s.recv(buf, recv_ec);
      if (recv_ec == std::errc::resource_unavailable_try_again) continue;
      if (recv_ec) ec = recv_ec;
      else if (n == 0) break;  // EOF: the peer echoed everything and closed
      else echoed.append(buf.data(), n);
    }
  }
  if (!check(!ec && echoed == payload, "every byte sent by lwIP comes back from the Linux peer, then EOF"))
    return std::printf("  %zu of %zu bytes back%s%s\n", echoed.size(), payload.size(), ec ? ": " : "",
                       ec ? ec.message().c_str() : ""),
           false;
  const usock::address local = s.getsockname();
  s.close();
  const auto peer_line = server.line(10s);
  const std::string expected = "PEER " + local.to_string();
  if (!check(peer_line && *peer_line == expected, "the Linux peer saw lwIP's address and port"))
    return std::printf("  peer said \"%s\", expected \"%s\"\n", peer_line ? peer_line->c_str() : "", expected.c_str()),
           false;
  return check(server.finish(10s) == 0, "the Linux peer exits cleanly");
}

/// usock on lwIP serves (an echo server); the Linux peer connects and checks.
bool linux_client_to_lwip_server(int netns, const std::vector<std::string>& peer, std::size_t bytes) {
  std::error_code ec;
  socket_t server(usock::af_inet, usock::sock_stream, ec);
  if (!ec) server.bind({lwip_address, 0}, ec);
  if (!ec) server.listen(1, ec);
  if (!ec) server.settimeout(20s, ec);
  if (!check(!ec, "lwIP listens")) return false;
  std::vector<std::string> argv = peer;
  argv.insert(argv.end(), {"connect", lwip_address, std::to_string(server.getsockname().port()), std::to_string(bytes)});
  process client(netns, argv, true);

  auto [conn, addr] = server.accept(ec);
  if (!check(!ec, "lwIP accepts the Linux peer's connection")) return std::printf("  %s\n", ec.message().c_str()), false;
  check(addr.host() == linux_address, "the accepted peer address is the namespace's");
  conn.settimeout(20s, ec);
  std::array<std::byte, 16384> data;
  std::size_t echoed = 0;
  while (!ec) {
    const std::size_t n = conn.recv(data, ec);
    if (ec || n == 0) break;
    echoed += conn.sendall(std::span(data).first(n), ec);
  }
  if (!check(!ec, "lwIP echoes until the Linux peer's EOF")) return std::printf("  %s\n", ec.message().c_str()), false;
  conn.close();
  const auto result = client.line(20s);
  const std::string expected = "ECHOED " + std::to_string(bytes);
  const bool ok = check(result && *result == expected && echoed == bytes + 6,
                        "the Linux peer got every byte back from lwIP, in order");
  return check(client.finish(10s) == 0, "the Linux peer exits cleanly") && ok;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> peer;
  std::string peer_name;
  std::size_t bytes = 1 << 20;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--peer" && i + 2 < argc && std::string_view(argv[i + 1]) == "posix") {
      peer_name = "usock POSIX backend";
      peer = {argv[i + 2]};
      i += 2;
    } else if (a == "--peer" && i + 3 < argc && std::string_view(argv[i + 1]) == "python") {
      peer_name = "CPython socket module";
      peer = {argv[i + 2], argv[i + 3]};
      i += 3;
    } else if (a == "--bytes" && i + 1 < argc) {
      bytes = std::strtoull(argv[++i], nullptr, 10);
    } else {
      std::fprintf(stderr, "usage: %s --peer posix PATH | --peer python PYTHON SCRIPT [--bytes N]\n", argv[0]);
      return 2;
    }
  }
  if (peer.empty()) return std::fprintf(stderr, "no --peer given\n"), 2;
  ::alarm(55);  // the watchdog: SIGALRM's default action ends the process, and the kernel cleans up

  if (::geteuid() != 0) skip("needs root to create a TAP device and a network namespace");
  if (::access("/dev/net/tun", R_OK | W_OK) != 0) skip("/dev/net/tun is not available: " + errno_text());
  const std::string ip = find_ip();
  if (ip.empty()) skip("iproute2's ip is not installed (Debian: apt-get install iproute2)");
  for (const auto& p : peer)
    if (::access(p.c_str(), R_OK) != 0) skip("the peer " + p + " is missing: " + errno_text());

  const descriptor netns = make_namespace();
  const std::string tap_name = "usock" + std::to_string(::getpid() % 10000000);
  const descriptor tap = make_tap(tap_name);
  const std::string ns_path = "/proc/" + std::to_string(::getpid()) + "/fd/" + std::to_string(netns.get());
  // Into the namespace before it has an address or is up: it never carries a frame outside it.
  if (run(-1, {ip, "link", "set", "dev", tap_name, "netns", ns_path}) != 0)
    skip("cannot move the TAP device into the test's namespace");
  if (run(netns.get(), {ip, "link", "set", "dev", "lo", "up"}) != 0 ||
      run(netns.get(), {ip, "address", "add", std::string(linux_address) + "/24", "dev", tap_name}) != 0 ||
      run(netns.get(), {ip, "link", "set", "dev", tap_name, "up"}) != 0) {
    std::printf("FAILED: configuring %s inside the namespace\n", tap_name.c_str());
    return 1;
  }
  std::printf("namespace ready: %s (%s) on TAP %s <-> lwIP (%s) in this process; Linux peer: %s\n", linux_address,
              "Linux kernel TCP", tap_name.c_str(), lwip_address, peer_name.c_str());

  usock_wire::lwip_ethernet eth(tap.get(), {lwip_address, "255.255.255.0", {0x02, 0x00, 0x5e, 0x00, 0x02, 0x02}});
  if (!eth.ok()) return std::printf("FAILED: the lwIP interface on the TAP device\n"), 1;

  const auto start = std::chrono::steady_clock::now();
  const bool client_ok = lwip_client_to_linux_server(netns.get(), peer, bytes);
  const bool server_ok = linux_client_to_lwip_server(netns.get(), peer, bytes);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s: lwIP client -> Linux server %s, Linux client -> lwIP server %s (%zu bytes each, %.2f s, "
              "%llu frames in, %llu out)\n",
              client_ok && server_ok ? "PASSED" : "FAILED", client_ok ? "ok" : "failed", server_ok ? "ok" : "failed",
              bytes, seconds, static_cast<unsigned long long>(eth.frames_in()),
              static_cast<unsigned long long>(eth.frames_out()));
  return client_ok && server_ok ? 0 : 1;
}
