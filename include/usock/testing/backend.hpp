#pragma once
/// \file
/// `usock::testing::basic_backend<Network>`: the tag type that lets `basic_socket` and `basic_poller` run on an
/// in-memory `basic_network`. Every function forwards to the backend's one network instance.

#include <cstdint>
#include <string_view>
#include <system_error>
#include <vector>

#include "../address.hpp"
#include "../backend.hpp"
#include "../buffer.hpp"
#include "../constants.hpp"
#include "../detail/chrono.hpp"
#include "../detail/scan_poll_set.hpp"
#include "network.hpp"

namespace usock::testing {

/// A backend on the in-memory network `Network`: satisfies `usock::socket_backend`, `usock::polling_backend` and
/// `usock::resolving_backend`. Errors are those `basic_network` documents.
template <class Network>
struct basic_backend {
  using network_type = Network;
  using handle_type = typename Network::handle_type;
  using poll_entry = typename Network::poll_entry;
  static constexpr handle_type invalid_handle = Network::invalid_handle;
  static constexpr int default_backlog = 16;

  /// The network this backend's sockets live on (one per `Network` type, made on first use).
  static Network& network() noexcept {
    static Network instance;
    return instance;
  }

  /// The network's clock: manual unless `set_time_mode(time_mode::real)`; starts at zero on `reset()`.
  struct clock {
    using duration = std::chrono::nanoseconds;
    using rep = duration::rep;
    using period = duration::period;
    using time_point = std::chrono::time_point<clock>;
    static constexpr bool is_steady = true;
    static time_point now() noexcept { return time_point(duration(network().now_ns())); }
  };

  static handle_type open(address_family family, socket_type type, usock::error_code& ec) noexcept {
    return network().open(family, type, ec);
  }
  static void close(handle_type h, usock::error_code& ec) noexcept { network().close(h, ec); }
  static void set_nonblocking(handle_type h, bool on, usock::error_code& ec) noexcept {
    network().set_nonblocking(h, on, ec);
  }
  static void connect(handle_type h, const address& addr, usock::error_code& ec) noexcept {
    network().connect(h, addr, ec);
  }
  static void connect_result(handle_type h, usock::error_code& ec) noexcept { network().connect_result(h, ec); }
  static void bind(handle_type h, const address& addr, usock::error_code& ec) noexcept { network().bind(h, addr, ec); }
  static void listen(handle_type h, int backlog, usock::error_code& ec) noexcept { network().listen(h, backlog, ec); }
  static handle_type accept(handle_type h, address& peer, bool nonblocking, usock::error_code& ec) noexcept {
    return network().accept(h, peer, nonblocking, ec);
  }
  static std::size_t send(handle_type h, const_bytes data, usock::error_code& ec) noexcept {
    return network().send(h, data, ec);
  }
  static std::size_t recv(handle_type h, mutable_bytes buffer, usock::error_code& ec) noexcept {
    return network().recv(h, buffer, ec);
  }
  static void shutdown(handle_type h, shutdown_how how, usock::error_code& ec) noexcept {
    network().shutdown(h, how, ec);
  }
  static void setsockopt(handle_type h, option_level level, socket_option option, int value,
                         usock::error_code& ec) noexcept {
    network().setsockopt(h, level, option, value, ec);
  }
  static int getsockopt(handle_type h, option_level level, socket_option option, usock::error_code& ec) noexcept {
    return network().getsockopt(h, level, option, ec);
  }
  static address local_address(handle_type h, usock::error_code& ec) noexcept { return network().local_address(h, ec); }
  static address peer_address(handle_type h, usock::error_code& ec) noexcept { return network().peer_address(h, ec); }
  static bool wait(handle_type h, wait_for what, int timeout_ms, usock::error_code& ec) noexcept {
    return network().wait(h, what, timeout_ms, ec);
  }

  // ---- polling: entries are the network's own records; readiness is computed in `Network::poll` ----------------
  /// The readiness set of `usock::basic_poller`: an array of the entries below, each wait asking the network
  /// about all of them (`detail/scan_poll_set.hpp`).
  template <std::size_t Capacity>
  using poll_set = usock::detail::scan_poll_set<basic_backend, Capacity>;

  static poll_entry make_poll_entry(handle_type h, unsigned events) noexcept { return poll_entry{h, events, 0}; }
  static handle_type poll_entry_handle(const poll_entry& entry) noexcept { return entry.handle; }
  static void set_poll_events(poll_entry& entry, unsigned events) noexcept { entry.events = events; }
  static unsigned poll_revents(const poll_entry& entry) noexcept { return entry.revents; }
  static std::size_t poll(poll_entry* entries, std::size_t count, int timeout_ms, usock::error_code& ec) noexcept {
    return network().poll(entries, count, timeout_ms, ec);
  }

  /// Names the network knows (`basic_network::add_host`; "localhost" always). Allocates the result, as every
  /// backend's resolver does; not an I/O path.
  static std::vector<address> resolve(std::string_view host, std::uint16_t port, usock::error_code& ec) {
    return network().resolve(host, port, ec);
  }
};

}  // namespace usock::testing
