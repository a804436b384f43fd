#pragma once
/// \file
/// lwIP inside a desktop process (Debian's liblwip-dev, the unix port): the harness that lets usock's lwIP
/// socket-API backend run on a host, with its client and server both inside lwIP.
///
/// ```cpp
/// int main() {
///   usock::lwip_host::stack stack;   // lwIP up, answering 127.0.0.1 (and ::1)
///   usock::socket s;                 // basic_socket<usock::lwip> when USOCK_BACKEND_LWIP is defined
///   ...
/// }                                  // sockets close first, then the stack's interface goes away
/// ```
///
/// Link the CMake target `usock_lwip_host`. No privileges are needed: nothing here touches the machine's own
/// network; traffic to 127.0.0.1 and ::1 never leaves lwIP.

namespace usock::lwip_host {

/// Starts lwIP's `tcpip` thread if this process has not started it yet (`tcpip_init`), and waits until it runs.
/// Safe to call from any thread, any number of times. lwIP's unix port cannot stop that thread again, so it
/// lives until the process exits; it holds no descriptors.
void start_tcpip() noexcept;

/// lwIP running in this process with a loopback interface of the harness's own: while at least one `stack`
/// exists, lwIP answers 127.0.0.1/8 (and ::1 when lwIP has IPv6), and that interface is lwIP's default.
///
/// The first `stack` starts lwIP (`start_tcpip`) and adds the interface; the last one to go removes the
/// interface again, which aborts any connection still using it, so close sockets first. Stacks nest (a second
/// one shares the interface). Failures to start are fatal: the harness prints why and aborts, since no socket
/// could work without it.
class stack {
 public:
  stack() noexcept;
  ~stack();
  stack(const stack&) = delete;
  stack& operator=(const stack&) = delete;

  /// True when ::1 is configured (lwIP built with IPv6).
  static bool has_ipv6() noexcept;
};

}  // namespace usock::lwip_host
