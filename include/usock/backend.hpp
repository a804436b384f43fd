#pragma once
/// \file
/// The boundary between `basic_socket` and a network stack: the `usock::socket_backend` concept.
///
/// A backend is a tag type with static `noexcept` functions, each making one call into its stack, retrying
/// `EINTR` where that is safe, and reporting errors as generic-category `usock::error_code`s (translated by name
/// to `std::errc`). `basic_socket` owns every policy above that: timeouts and deadlines, loops, closed-socket
/// checks and buffering. It knows nothing of POSIX or lwIP.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>

#include "address.hpp"
#include "buffer.hpp"
#include "constants.hpp"
#include "detail/chrono.hpp"
#include "error.hpp"

namespace usock {

/// What `Backend::wait` waits for.
enum class wait_for : std::uint8_t { read, write };

/// A network stack that `basic_socket<Backend>` can run on. Required members (all static and `noexcept`):
/// - `handle_type`, `invalid_handle`, `default_backlog`, and `clock` (a `std::chrono` clock for deadlines);
/// - `open(family, type, ec) -> handle_type`: a new blocking socket, close-on-exec where that exists;
/// - `close(h, ec)`;
/// - `set_nonblocking(h, bool, ec)`;
/// - `connect(h, addr, ec)`: one attempt; a non-blocking socket reports `operation_in_progress`;
/// - `connect_result(h, ec)`: the outcome of a pending connect once the socket is writable;
/// - `bind`, `listen(h, backlog, ec)`, `shutdown(h, how, ec)`;
/// - `accept(h, peer&, nonblocking, ec) -> handle_type`: the new socket is non-blocking when asked;
/// - `send(h, const_bytes, ec)` and `recv(h, mutable_bytes, ec)`: one call each, `EINTR` retried;
///   a non-blocking socket with nothing to do reports `resource_unavailable_try_again`;
/// - `setsockopt(h, level, option, value, ec)`, `getsockopt(h, level, option, ec) -> int`;
/// - `local_address(h, ec)`, `peer_address(h, ec)`;
/// - `wait(h, wait_for, timeout_ms, ec) -> bool`: true once ready (an error or hang-up counts as ready),
///   false when the time ran out or a signal interrupted the wait; `timeout_ms` < 0 waits forever.
template <class B>
concept socket_backend =
    requires {
      typename B::handle_type;
      typename B::clock;
      { B::invalid_handle } -> std::convertible_to<typename B::handle_type>;
      { B::default_backlog } -> std::convertible_to<int>;
      { B::clock::now() } -> std::same_as<typename B::clock::time_point>;
    } &&
    requires(typename B::handle_type h, usock::error_code& ec, const address& addr, address& peer, const_bytes out,
             mutable_bytes in, address_family family, socket_type type, option_level level, socket_option option,
             int value, bool flag, shutdown_how how, wait_for what) {
      { B::open(family, type, ec) } noexcept -> std::same_as<typename B::handle_type>;
      { B::close(h, ec) } noexcept;
      { B::set_nonblocking(h, flag, ec) } noexcept;
      { B::connect(h, addr, ec) } noexcept;
      { B::connect_result(h, ec) } noexcept;
      { B::bind(h, addr, ec) } noexcept;
      { B::listen(h, value, ec) } noexcept;
      { B::accept(h, peer, flag, ec) } noexcept -> std::same_as<typename B::handle_type>;
      { B::send(h, out, ec) } noexcept -> std::same_as<std::size_t>;
      { B::recv(h, in, ec) } noexcept -> std::same_as<std::size_t>;
      { B::shutdown(h, how, ec) } noexcept;
      { B::setsockopt(h, level, option, value, ec) } noexcept;
      { B::getsockopt(h, level, option, ec) } noexcept -> std::same_as<int>;
      { B::local_address(h, ec) } noexcept -> std::same_as<address>;
      { B::peer_address(h, ec) } noexcept -> std::same_as<address>;
      { B::wait(h, what, value, ec) } noexcept -> std::same_as<bool>;
    };

/// One ready socket from a wait: binds as `auto [fd, events]`, `fd` being the socket's `fileno()`.
template <class Handle>
struct poll_ready {
  Handle fd;
  unsigned events;  ///< `pollin`, `pollout`, `pollerr`, `pollhup`, `pollnval`, combined
};

/// A backend that `usock::basic_poller` can wait on: it names a readiness set, `B::poll_set<Capacity>`, holding
/// up to `Capacity` registrations (no heap), or any number (`usock::dynamic_capacity`: grown on registration).
/// The set is where a stack's way of waiting lives; `basic_poller` only adds deadlines, the checks of closed
/// socket objects and the throwing forms. Members (all `noexcept`):
/// - `add(h, events, ec)`: registers `h` for `events` (`pollin`, `pollout`), or changes the events of a
///   registered `h`. Errors: `no_buffer_space` (full), `not_enough_memory` (a growing set could not grow),
///   the stack's error for a handle it does not know (`bad_file_descriptor`);
/// - `modify(h, events, ec)`, `remove(h, ec)`. Errors: `no_such_file_or_directory` (not registered);
///   `remove` takes a handle whose socket was closed since;
/// - `size()`: how many handles are registered;
/// - `wait(timeout_ms, ec) -> std::span<const poll_ready<handle_type>>`: waits until a registered socket is
///   ready (`timeout_ms` < 0: no limit) and returns the ready ones, none when the time ran out or a signal
///   interrupted the wait. The span stays valid, and unchanged, until the next `wait`, while handles are added,
///   modified and removed. `pollerr` and `pollhup` are reported whether asked for or not, a handle closed
///   while registered is `pollnval` (and makes the wait return at once), level-triggered: a socket is reported
///   by every wait for as long as it is ready.
///
/// The cost of a wait is the set's to choose and to document: the POSIX backend on Linux uses `epoll`
/// (`detail/posix_epoll.hpp`: a wait costs O(ready), a registration change O(1)); `poll(2)` elsewhere, lwIP's
/// `lwip_poll` and the raw API's pool scan every registration per wait (`detail/scan_poll_set.hpp`), which is
/// right for a board's handful of sockets.
template <class B>
concept polling_backend =
    socket_backend<B> &&
    requires(typename B::template poll_set<1>& set, const typename B::template poll_set<1>& const_set,
             typename B::handle_type h, unsigned events, int timeout_ms, usock::error_code& ec) {
      { set.add(h, events, ec) } noexcept;
      { set.modify(h, events, ec) } noexcept;
      { set.remove(h, ec) } noexcept;
      { const_set.size() } noexcept -> std::same_as<std::size_t>;
      { set.wait(timeout_ms, ec) } noexcept -> std::same_as<std::span<const poll_ready<typename B::handle_type>>>;
    };

/// A polling backend whose readiness wait can be cut short from any thread or interrupt handler:
/// `B::interrupt_wait()` (lock-free) makes the wait in progress, or the next one, return at once with nothing
/// ready; its readiness set also waits with nothing registered (the wait is then the stack's idle wait). The
/// raw API is one: its wait runs the poll hook, which no socket can wake from an interrupt handler. Event
/// loops (usock::asyncio) wake such a backend this way rather than through a loopback connection.
template <class B>
concept interruptible_backend = polling_backend<B> && requires {
  { B::interrupt_wait() } noexcept;
};

/// A backend that makes a socket non-blocking from the start: `B::open_nonblocking(family, type, ec)`, one call
/// where `open` and `set_nonblocking` are two (event loops open their connections this way).
template <class B>
concept nonblocking_open_backend = socket_backend<B> && requires(address_family family, socket_type type,
                                                                 usock::error_code& ec) {
  { B::open_nonblocking(family, type, ec) } noexcept -> std::same_as<typename B::handle_type>;
};

/// A polling backend whose readiness set reports a failed non-blocking connect with `pollerr` (or `pollhup`):
/// `B::connect_failure_polls_error` is true. A connecting socket reported `pollout` without either has
/// connected, so an event loop need not ask `B::connect_result`.
template <class B>
concept connect_failure_polls_error = polling_backend<B> && requires {
  requires B::connect_failure_polls_error;
};

/// A backend whose blocking calls wait in usock's own code (the raw API runs its poll hook until the socket is
/// ready) and that also has forms of the calls that can wait which never do: `connect_nowait`, `accept_nowait`,
/// `send_nowait` and `recv_nowait` behave as the plain calls on a non-blocking socket, whatever the socket's
/// mode. An event loop (usock::asyncio), whose sockets are all non-blocking, calls these, so a firmware image
/// built on it links none of the backend's waiting code.
template <class B>
concept nowait_backend =
    socket_backend<B> && requires(typename B::handle_type h, usock::error_code& ec, const address& addr,
                                  address& peer, const_bytes out, mutable_bytes in, bool flag) {
      { B::connect_nowait(h, addr, ec) } noexcept;
      { B::accept_nowait(h, peer, flag, ec) } noexcept -> std::same_as<typename B::handle_type>;
      { B::send_nowait(h, out, ec) } noexcept -> std::same_as<std::size_t>;
      { B::recv_nowait(h, in, ec) } noexcept -> std::same_as<std::size_t>;
    };

/// A backend that can also resolve host names (`usock::getaddrinfo`, `usock::create_connection`).
template <class B>
concept resolving_backend = socket_backend<B> && requires(std::string_view host, std::uint16_t port,
                                                          usock::error_code& ec) {
  { B::resolve(host, port, ec) };
};

}  // namespace usock
