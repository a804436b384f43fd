#pragma once
/// \file
/// `<usock/testing.hpp>`: an in-memory network for host tests of code written against `basic_socket<Backend>`.
///
/// ```cpp
/// #include <usock/testing.hpp>
/// auto& net = usock::testing::network();
/// net.reset();                                    // a fresh network at time zero
/// usock::testing::socket server;                  // basic_socket<usock::testing::backend>
/// server.bind({"127.0.0.1", 9000});
/// server.listen();
/// net.add(usock::testing::rule::short_send(3));   // the next send takes 3 bytes
/// ```
///
/// The network is in the process: listen, connect, accept, send, recv, shutdown and close behave as the shared
/// suite requires of every stack. Its clock is manual: `net.advance(30s)` moves it, and a call blocked with a
/// timeout when nothing else can happen jumps it to the deadline at once. Faults come by rule (`rule`) or by a
/// seeded schedule (`chaos`); `net.info(h)` and `net.stats()` say what each socket sent and what fired. Tables are
/// fixed (`USOCK_TESTING_SOCKETS`, `USOCK_TESTING_BUFFER`, `USOCK_TESTING_RECORD`); no call allocates, and it builds
/// with `-fno-exceptions -fno-rtti`. docs/testing.md has the whole story.

#include <thread>
#include <utility>

#include "basic_socket.hpp"
#include "poll.hpp"
#include "testing/backend.hpp"
#include "testing/network.hpp"
#include "testing/rules.hpp"

#ifndef USOCK_TESTING_SOCKETS
/// How many sockets the default network holds (listeners, connections' both ends, and queued connections).
#define USOCK_TESTING_SOCKETS 64
#endif
#ifndef USOCK_TESTING_BUFFER
/// Each socket's receive window in bytes: what a peer can send before its sends block (`so_rcvbuf`'s maximum).
#define USOCK_TESTING_BUFFER 16384
#endif
#ifndef USOCK_TESTING_RECORD
/// How many of the bytes each socket sends the network keeps for `info(h).sent`.
#define USOCK_TESTING_RECORD 4096
#endif

namespace usock::testing {

/// The default network's type.
using network_type = basic_network<USOCK_TESTING_SOCKETS, USOCK_TESTING_BUFFER, USOCK_TESTING_RECORD>;
/// The default in-memory backend: `basic_socket<usock::testing::backend>`.
using backend = basic_backend<network_type>;
/// A socket on the default in-memory network.
using socket = basic_socket<backend>;
/// A poller on the default in-memory network, for up to `Capacity` sockets.
template <std::size_t Capacity = 64>
using poller = basic_poller<backend, Capacity>;

/// The default network: `usock::testing::network().reset()`, `.advance(1s)`, `.add(rule)`, `.info(h)`.
inline network_type& network() noexcept { return backend::network(); }

/// A thread that takes part in the network while its function runs: a peer played by the test (a fake server, say)
/// beside the code under test on the test's own thread. While it runs, the network waits for it before deciding
/// that blocked calls can only be woken by time; when it returns, the calls still blocked are looked at again.
/// Joined by the destructor. (Starting a thread allocates; the test's set-up, not an I/O path.)
template <class Network = network_type>
class basic_peer_thread {
 public:
  template <class F>
  explicit basic_peer_thread(F&& f) : net_(basic_backend<Network>::network()) {
    net_.thread_started();
    thread_ = std::thread([this, fn = std::forward<F>(f)]() mutable {
      fn();
      net_.thread_finished();
    });
  }
  basic_peer_thread(const basic_peer_thread&) = delete;
  basic_peer_thread& operator=(const basic_peer_thread&) = delete;
  ~basic_peer_thread() { join(); }
  /// Waits for the function to return.
  void join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  Network& net_;
  std::thread thread_;
};
/// A `basic_peer_thread` on the default network.
using peer_thread = basic_peer_thread<>;

static_assert(socket_backend<backend>);
static_assert(polling_backend<backend>);
static_assert(resolving_backend<backend>);

}  // namespace usock::testing
