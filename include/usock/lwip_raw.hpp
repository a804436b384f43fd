#pragma once
/// \file
/// The bare-metal backend: `usock::basic_socket<usock::lwip_raw>` on lwIP's raw TCP API, for firmware that runs
/// lwIP with `NO_SYS=1` from a main loop (no RTOS, no socket API). docs/bare-metal.md shows a complete port.
///
/// The firmware provides two things:
/// - a *poll hook* (`lwip_raw::set_poll_hook`), which services the network interface and calls
///   `sys_check_timeouts()`. Blocking calls and calls with a timeout run it in a loop until they can finish;
///   non-blocking calls (timeout zero) never run it, so a main loop that uses them services the stack itself.
/// - optionally a *lock hook* (`lwip_raw::set_lock_hooks`), when lwIP is also used from another thread or
///   context: usock takes the lock around every lwIP call and releases it while it waits.
///
/// Sockets live in a static pool of `USOCK_LWIP_RAW_MAX_SOCKETS` slots; nothing is allocated on the heap.
/// A handle is a small integer naming a slot (so `basic_socket<lwip_raw>` is 16 bytes on a 64-bit host).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <string_view>
#include <system_error>
#include <vector>

#include "address.hpp"
#include "backend.hpp"
#include "buffer.hpp"
#include "constants.hpp"
#include "detail/chrono.hpp"
#include "detail/lwip_raw_pool.hpp"
#include "detail/lwip_sys_clock.hpp"
#include "detail/scan_poll_set.hpp"

namespace usock {

/// The raw-API backend tag: `usock::basic_socket<usock::lwip_raw>`. Errors, beyond those every backend reports:
/// - `too_many_files_open`: the socket pool (`USOCK_LWIP_RAW_MAX_SOCKETS`) is full;
/// - `not_enough_memory`: lwIP has no free pcb (`MEMP_NUM_TCP_PCB`, `MEMP_NUM_TCP_PCB_LISTEN`);
/// - `operation_not_supported`: a call had to wait but no poll hook is registered;
/// - `connection_aborted`: lwIP gave the connection up (retransmissions or keepalive exhausted, or it freed
///   the pcb to reclaim memory);
/// - `address_family_not_supported`: the stack was built without that IP version.
struct lwip_raw {
  /// An index into the socket pool (low byte) and the slot's generation (above), so that a stale handle is
  /// rejected with `bad_file_descriptor`.
  using handle_type = int;
  static constexpr handle_type invalid_handle = -1;
  /// `listen()`'s backlog when none is given: `USOCK_LWIP_RAW_DEFAULT_BACKLOG` (2, as MicroPython).
  static constexpr int default_backlog = USOCK_LWIP_RAW_DEFAULT_BACKLOG;

  /// Milliseconds from lwIP's `sys_now()`, extended past its 32-bit wrap (every 49.7 days), read under the
  /// stack's lock (detail/lwip_sys_clock.hpp).
  using clock = detail::sys_now_clock<detail::lwip_raw_impl::stack_lock>;

  /// The poll hook: services the network interface (reads received frames into lwIP) and calls
  /// `sys_check_timeouts()`. `max_wait_ms` is how long the caller is prepared to wait (-1: indefinitely); the
  /// hook may sleep up to that long for something to happen (an interrupt, a frame) or return at once.
  using poll_hook = detail::lwip_raw_impl::poll_hook;
  /// Takes or releases the stack's lock.
  using lock_hook = detail::lwip_raw_impl::lock_hook;

  /// Registers the poll hook that blocking calls run while they wait (null: none; a call that would wait then
  /// reports `operation_not_supported`). Register it before the first socket call.
  static void set_poll_hook(poll_hook hook, void* context = nullptr) noexcept {
    detail::lwip_raw_impl::hooks.poll = hook;
    detail::lwip_raw_impl::hooks.poll_context = context;
  }

  /// Registers the wake hook (null: none): `interrupt_wait()` calls it, from whatever thread or interrupt
  /// handler it runs in, to make a poll hook that sleeps return early. A board whose poll hook sleeps in `WFI`
  /// needs none (the interrupt that calls `interrupt_wait()` ends the `WFI`); a host hook sleeping on a
  /// condition variable notifies it here.
  static void set_wake_hook(detail::lwip_raw_impl::wake_hook hook, void* context = nullptr) noexcept {
    detail::lwip_raw_impl::hooks.wake = hook;
    detail::lwip_raw_impl::hooks.wake_context = context;
  }

  /// Makes the readiness wait in progress (`usock::basic_poller::wait_once`), or the next one, return at once,
  /// with what is ready or nothing. Lock-free: callable from any thread or interrupt handler (an event loop's
  /// `thread_safe_flag::set()` uses it). `basic_poller::poll` waits on for its timeout; blocking socket calls
  /// do not see it.
  static void interrupt_wait() noexcept {
    detail::lwip_raw_impl::wait_interrupted.store(true, std::memory_order_release);
    const auto& h = detail::lwip_raw_impl::hooks;
    if (h.wake) h.wake(h.wake_context);
  }

#if USOCK_LWIP_RAW_LOCK_HOOK
  /// Registers the lock hook (both null: none). usock holds the lock during every lwIP call and callback it
  /// makes, releases it before running the poll hook, and never takes it twice, so a plain mutex does.
  /// Register it before the first socket call. Only with `USOCK_LWIP_RAW_LOCK_HOOK` 1 (the default except on
  /// bare metal).
  static void set_lock_hooks(lock_hook lock, lock_hook unlock, void* context = nullptr) noexcept {
    detail::lwip_raw_impl::hooks.lock = lock;
    detail::lwip_raw_impl::hooks.unlock = unlock;
    detail::lwip_raw_impl::hooks.lock_context = context;
  }
#endif

  /// How many pool slots are in use: open sockets, connections waiting in accept queues, and closed sockets
  /// still sending their last data. For leak checks and diagnostics.
  static std::size_t sockets_in_use() noexcept {
    using namespace detail::lwip_raw_impl;
    stack_lock guard;
    return static_cast<std::size_t>(
        std::count_if(std::begin(slots), std::end(slots), [](const slot& s) { return s.st != state::free; }));
  }

  // ---- the socket_backend interface -------------------------------------------------------------------------

  /// A new socket from the pool, with an lwIP pcb. Errors: `too_many_files_open` (pool full),
  /// `not_enough_memory` (no pcb), `address_family_not_supported`.
  static handle_type open(address_family family, socket_type, usock::error_code& ec) noexcept {
    using namespace detail::lwip_raw_impl;
    const bool v6 = family == address_family::inet6;
    if ((v6 && !LWIP_IPV6) || (!v6 && !LWIP_IPV4)) return ec = make(std::errc::address_family_not_supported), -1;
    stack_lock guard;
    slot* s = allocate(state::open);
    if (!s) return ec = make(std::errc::too_many_files_open), invalid_handle;
    tcp_pcb* pcb = tcp_new_ip_type(v6 ? IPADDR_TYPE_V6 : IPADDR_TYPE_V4);
    if (!pcb) {
      release(*s);
      return ec = make(std::errc::not_enough_memory), invalid_handle;
    }
    s->v6 = v6;
    attach(*s, pcb);
    ec.clear();
    return handle_of(*s);
  }

  /// Closes at once; queued data keeps going out from the pool (see `USOCK_LWIP_RAW_CLOSE_TIMEOUT_MS`), and
  /// unread data makes it a reset. Errors: `bad_file_descriptor`.
  static void close(handle_type h, usock::error_code& ec) noexcept {
    using namespace detail::lwip_raw_impl;
    stack_lock guard;
    slot* s = find(h);
    if (!s) return void(ec = make(std::errc::bad_file_descriptor));
    ec.clear();
    tcp_pcb* pcb = s->pcb;
    if (!pcb) return release(*s);
    switch (s->st) {
      case state::listening:
        // Connections nobody accepted are reset, as on Linux.
        while (s->queued != 0) {
          slot& conn = oldest(*s);
          unlink(conn);
          abort_pcb(conn);
          release(conn);
        }
        detach(*s);
        tcp_close(pcb);  // never fails for a listener
        return release(*s);
      case state::connected: {
        const bool unread = s->rx_bytes != 0;
        drop_rx(*s);
        if (!unread && !ready_to_finish(pcb)) {
          // Keep the slot while lwIP delivers the data: on_sent/on_poll send the FIN and hand the pcb to lwIP
          // once everything is acknowledged, or abort after USOCK_LWIP_RAW_CLOSE_TIMEOUT_MS.
          s->st = state::closing;
          s->close_started = sys_now();
          tcp_sent(pcb, on_sent);
          tcp_poll(pcb, on_poll, 1);
          return;
        }
        // Nothing left to send: FIN now (or, with unread data, a reset: lwIP's tcp_close sends one, as Linux).
        return finish_close(*s);
      }
      default:  // open, connecting: lwIP frees the pcb at once
        return finish_close(*s);
    }
  }

  /// Non-blocking calls never wait and never run the poll hook. Errors: `bad_file_descriptor`.
  static void set_nonblocking(handle_type h, bool on, usock::error_code& ec) noexcept {
    using namespace detail::lwip_raw_impl;
    stack_lock guard;
    slot* s = find(h);
    if (!s) return void(ec = make(std::errc::bad_file_descriptor));
    s->nonblocking = on;
    ec.clear();
  }

  /// Starts the handshake; blocking, waits for its end. Errors: `operation_in_progress` (non-blocking),
  /// `connection_refused`, `connection_aborted`, `connection_already_in_progress`, `already_connected`,
  /// `network_unreachable`, `address_in_use`, `address_family_not_supported`, `operation_not_supported`.
  /// `Wait` false (`connect_nowait`): as on a non-blocking socket, whatever its mode; the same for `accept`,
  /// `send` and `recv` below.
  template <bool Wait = true>
  static void connect(handle_type h, const address& addr, usock::error_code& ec) noexcept {
    using namespace detail::lwip_raw_impl;
    stack_lock guard;
    slot* s = find(h);
    if (!s) return void(ec = make(std::errc::bad_file_descriptor));
    if (s->error) return void(ec = make(static_cast<std::errc>(s->error)));
    switch (s->st) {
      case state::connecting: return void(ec = make(std::errc::connection_already_in_progress));
      case state::connected:
      case state::listening: return void(ec = make(std::errc::already_connected));
      default: break;
    }
    ip_addr_t ip;
    if (!to_ip(addr, s->v6, ip)) return void(ec = make(std::errc::address_family_not_supported));
    const err_t err = tcp_connect(s->pcb, &ip, addr.port(), on_connected);
    if (err != ERR_OK) return void(ec = make(errc_of(err)));
    s->st = state::connecting;
    s->bound = true;
    remember_addresses(*s);
    if (!Wait || s->nonblocking) return void(ec = make(std::errc::operation_in_progress));
    if (!block(h, s, -1, ec, [](const slot& x) { return x.st != state::connecting || x.error; })) return;
    connect_result_locked(*s, ec);
  }

  /// The outcome of a non-blocking connect: clear once connected, else its error (`operation_in_progress`
  /// while still going on).
  static void connect_result(handle_type h, usock::error_code& ec) noexcept {
    using namespace detail::lwip_raw_impl;
    stack_lock guard;
    slot* s = find(h);
    if (!s) return void(ec = make(std::errc::bad_file_descriptor));
    connect_result_locked(*s, ec);
  }

  /// Errors: `address_in_use`, `address_not_available` (no interface has it), `invalid_argument` (bound or
  /// connected already), `address_family_not_supported`.
  static void bind(handle_type h, const address& addr, usock::error_code& ec) noexcept {
    using namespace detail::lwip_raw_impl;
    stack_lock guard;
    slot* s = find(h);
    if (!s) return void(ec = make(std::errc::bad_file_descriptor));
    if (s->bound || s->st != state::open || !s->pcb) return void(ec = make(std::errc::invalid_argument));
    ip_addr_t ip;
    if (!to_ip(addr, s->v6, ip)) return void(ec = make(std::errc::address_family_not_supported));
    if (!is_local(ip)) return void(ec = make(std::errc::address_not_available));
    const err_t err = tcp_bind(s->pcb, &ip, addr.port());
    if (err != ERR_OK) return void(ec = make(errc_of(err)));
    s->bound = true;
    remember_addresses(*s);
    ec.clear();
  }

  /// Listens with an accept queue of `backlog` (1..255); binds an unbound socket to a free port first. Again on
  /// a listener: changes the backlog. Errors: `invalid_argument` (connected), `not_enough_memory`,
  /// `address_in_use`.
  static void listen(handle_type h, int backlog, usock::error_code& ec) noexcept {
    using namespace detail::lwip_raw_impl;
    stack_lock guard;
    slot* s = find(h);
    if (!s) return void(ec = make(std::errc::bad_file_descriptor));
    const auto queue = static_cast<u8_t>(std::clamp(backlog, 1, 255));
    if (s->st == state::listening) {  // listen() again changes the backlog, as on Linux
      if (s->pcb) tcp_backlog_set(s->pcb, queue);
      return ec.clear();
    }
    if (s->st != state::open || !s->pcb) return void(ec = make(std::errc::invalid_argument));
    if (!s->bound) {  // as Linux: listening on an unbound socket picks a port
      ip_addr_t any;
      any_ip(s->v6, any);
      const err_t err = tcp_bind(s->pcb, &any, 0);
      if (err != ERR_OK) return void(ec = make(errc_of(err)));
      s->bound = true;
    }
    err_t err = ERR_OK;
    tcp_pcb* listener = tcp_listen_with_backlog_and_err(s->pcb, queue, &err);
    if (!listener) return void(ec = make(errc_of(err)));
    s->pcb = listener;  // lwIP freed the original pcb
    s->st = state::listening;
    tcp_arg(listener, s);
    tcp_accept(listener, on_accept);
    remember_addresses(*s);
    ec.clear();
  }

  /// The oldest queued connection. Errors: `resource_unavailable_try_again` (non-blocking, none queued),
  /// `invalid_argument` (not listening), `operation_not_supported` (would wait, no poll hook).
  template <bool Wait = true>
  static handle_type accept(handle_type h, address& peer, bool nonblocking, usock::error_code& ec) noexcept {
    using namespace detail::lwip_raw_impl;
    stack_lock guard;
    slot* s = find(h);
    if (!s) return ec = make(std::errc::bad_file_descriptor), invalid_handle;
    if (s->st != state::listening) return ec = make(std::errc::invalid_argument), invalid_handle;
    if (s->queued == 0) {
      if (!Wait || s->nonblocking) return ec = make(std::errc::resource_unavailable_try_again), invalid_handle;
      auto ready = [](const slot& x) { return x.queued != 0 || x.st != state::listening || !x.pcb; };
      if (!block(h, s, -1, ec, ready)) return invalid_handle;
      if (s->queued == 0) return ec = make(std::errc::invalid_argument), invalid_handle;
    }
    slot& conn = oldest(*s);
    unlink(conn);
    conn.st = state::connected;
    conn.nonblocking = nonblocking;
    if (conn.pcb) tcp_backlog_accepted(conn.pcb);
    peer = from_ip(conn.remote_ip, conn.remote_port);
    ec.clear();
    return handle_of(conn);
  }

  /// Copies what fits (`tcp_sndbuf`, lwIP's segment queue) and pushes it out. Errors:
  /// `resource_unavailable_try_again` (non-blocking: connecting, full, or lwIP out of memory), `broken_pipe`
  /// (shut down or never connected), `connection_reset`, `connection_aborted`, `operation_not_supported`.
  template <bool Wait = true>
  static std::size_t send(handle_type h, const_bytes data, usock::error_code& ec) noexcept {
    using namespace detail::lwip_raw_impl;
    stack_lock guard;
    slot* s = find(h);
    if (!s) return ec = make(std::errc::bad_file_descriptor), 0;
    for (;;) {
      if (s->error) return ec = make(static_cast<std::errc>(s->error)), 0;
      if (s->tx_shut || s->st == state::open || s->st == state::listening || (s->st == state::connected && !s->pcb))
        return ec = make(std::errc::broken_pipe), 0;
      bool out_of_memory = false;
      if (s->st == state::connected) {
        if (data.empty()) return ec.clear(), 0;
        tcp_pcb* pcb = s->pcb;
        if (const std::size_t room = send_room(pcb); room > 0) {
          const auto n = static_cast<u16_t>(std::min(std::min(data.size(), room), std::size_t{0xffff}));
          const err_t err = tcp_write(pcb, data.data(), n, TCP_WRITE_FLAG_COPY);
          if (err == ERR_OK) {
            tcp_output(pcb);
            s->starved = false;
            ec.clear();
            return n;
          }
          if (err != ERR_MEM) return ec = make(errc_of(err)), 0;
          tcp_output(pcb);  // out of segments or buffers: push out what is queued and wait for acknowledgements
          out_of_memory = true;
        }
      }
      // No room, or still connecting: never wait in non-blocking mode (MicroPython waits up to 10 s here). Out
      // of memory, the socket is not writable until the poll hook has run (slot::starved).
      if (!Wait || s->nonblocking) {
        if (out_of_memory) s->starved = true, s->starved_at = hook_runs;
        return ec = make(std::errc::resource_unavailable_try_again), 0;
      }
      if (out_of_memory ? !poll_once(h, s, memory_retry_ms, ec) : !block(h, s, -1, ec, writable)) return 0;
    }
  }

  /// Queued data first; 0 after the peer's FIN; then the connection's error if it was reset. Errors:
  /// `resource_unavailable_try_again`, `not_connected`, `connection_reset`, `connection_aborted`,
  /// `operation_not_supported`.
  template <bool Wait = true>
  static std::size_t recv(handle_type h, mutable_bytes buffer, usock::error_code& ec) noexcept {
    using namespace detail::lwip_raw_impl;
    stack_lock guard;
    slot* s = find(h);
    if (!s) return ec = make(std::errc::bad_file_descriptor), 0;
    if (s->st == state::open || s->st == state::listening) return ec = make(std::errc::not_connected), 0;
    for (;;) {
      if (s->rx_bytes != 0) {
        ec.clear();
        return take_rx(*s, buffer);
      }
      if (s->eof || s->rx_shut || buffer.empty()) return ec.clear(), 0;
      if (s->error) return ec = make(static_cast<std::errc>(s->error)), 0;
      if (s->st == state::connected && !s->pcb) return ec.clear(), 0;
      if (!Wait || s->nonblocking) return ec = make(std::errc::resource_unavailable_try_again), 0;
      if (!block(h, s, -1, ec, readable)) return 0;
    }
  }

  /// `connect`, `accept`, `send` and `recv` as on a non-blocking socket, whatever its mode
  /// (`usock::nowait_backend`): they never run the poll hook, and a program that makes only these (an event
  /// loop) links none of the waiting code.
  static void connect_nowait(handle_type h, const address& addr, usock::error_code& ec) noexcept {
    connect<false>(h, addr, ec);
  }
  static handle_type accept_nowait(handle_type h, address& peer, bool nonblocking, usock::error_code& ec) noexcept {
    return accept<false>(h, peer, nonblocking, ec);
  }
  static std::size_t send_nowait(handle_type h, const_bytes data, usock::error_code& ec) noexcept {
    return send<false>(h, data, ec);
  }
  static std::size_t recv_nowait(handle_type h, mutable_bytes buffer, usock::error_code& ec) noexcept {
    return recv<false>(h, buffer, ec);
  }

  /// `shut_wr` queues the FIN; `shut_rd` drops queued and future data. Errors: `not_connected`.
  static void shutdown(handle_type h, shutdown_how how, usock::error_code& ec) noexcept {
    using namespace detail::lwip_raw_impl;
    stack_lock guard;
    slot* s = find(h);
    if (!s) return void(ec = make(std::errc::bad_file_descriptor));
    if (s->st != state::connected) return void(ec = make(std::errc::not_connected));
    ec.clear();
    if (how != shutdown_how::write && !s->rx_shut) {
      // Reading ends here: what is queued and what still arrives is dropped (and acknowledged), as on Linux.
      s->rx_shut = true;
      const std::size_t unread = s->rx_bytes;
      drop_rx(*s);
      if (s->pcb && unread) recved(s->pcb, unread);
    }
    if (how != shutdown_how::read && !s->tx_shut && s->pcb) {
      const err_t err = tcp_shutdown(s->pcb, 0, 1);
      if (err != ERR_OK) return void(ec = make(errc_of(err)));
      s->tx_shut = true;
      if (s->eof) detach(*s);  // both directions done: lwIP owns the pcb from here (see on_recv)
    } else if (how != shutdown_how::read) {
      s->tx_shut = true;
    }
  }

  /// `so_reuseaddr` (with `SO_REUSE`), `so_keepalive`, `tcp_nodelay`. Errors: `no_protocol_option` (wrong level,
  /// `so_rcvbuf`/`so_sndbuf`: fixed by lwipopts.h, or `so_reuseaddr` without `SO_REUSE`).
  static void setsockopt(handle_type h, option_level level, socket_option option, int value,
                         usock::error_code& ec) noexcept {
    using namespace detail::lwip_raw_impl;
    stack_lock guard;
    slot* s = find(h);
    if (!s) return void(ec = make(std::errc::bad_file_descriptor));
    if (level_of(option) != level) return void(ec = make(std::errc::no_protocol_option));
    const bool on = value != 0;
    tcp_pcb* pcb = s->pcb;
    switch (option) {
      case socket_option::reuseaddr:
#if SO_REUSE
        s->reuseaddr = on;
        if (pcb) on ? ip_set_option(pcb, SOF_REUSEADDR) : ip_reset_option(pcb, SOF_REUSEADDR);
        break;
#else
        return void(ec = make(std::errc::no_protocol_option));  // lwipopts.h: SO_REUSE 0
#endif
      case socket_option::keepalive:
        s->keepalive = on;
        if (pcb) on ? ip_set_option(pcb, SOF_KEEPALIVE) : ip_reset_option(pcb, SOF_KEEPALIVE);
        break;
      case socket_option::nodelay:
        s->nodelay = on;
        if (pcb && pcb->state != LISTEN) {
          if (on) tcp_nagle_disable(pcb); else tcp_nagle_enable(pcb);
        }
        break;
      case socket_option::rcvbuf:
      case socket_option::sndbuf:
        // lwIP's window and send buffer are fixed by lwipopts.h (TCP_WND, TCP_SND_BUF).
        return void(ec = make(std::errc::no_protocol_option));
    }
    ec.clear();
  }

  /// The options above, and `so_rcvbuf`/`so_sndbuf` as `TCP_WND`/`TCP_SND_BUF`. Errors: `no_protocol_option`.
  static int getsockopt(handle_type h, option_level level, socket_option option, usock::error_code& ec) noexcept {
    using namespace detail::lwip_raw_impl;
    stack_lock guard;
    slot* s = find(h);
    if (!s) return ec = make(std::errc::bad_file_descriptor), 0;
    if (level_of(option) != level) return ec = make(std::errc::no_protocol_option), 0;
    ec.clear();
    switch (option) {
      case socket_option::reuseaddr:
#if SO_REUSE
        return s->reuseaddr;
#else
        return ec = make(std::errc::no_protocol_option), 0;
#endif
      case socket_option::keepalive: return s->keepalive;
      case socket_option::nodelay: return s->nodelay;
      case socket_option::rcvbuf: return TCP_WND;
      case socket_option::sndbuf: return TCP_SND_BUF;
    }
    return 0;
  }

  /// The bound address; "any" with port 0 before `bind`. Errors: `bad_file_descriptor`.
  static address local_address(handle_type h, usock::error_code& ec) noexcept {
    using namespace detail::lwip_raw_impl;
    stack_lock guard;
    slot* s = find(h);
    if (!s) return ec = make(std::errc::bad_file_descriptor), address{};
    ec.clear();
    if (!s->bound) {  // as Linux: an unbound socket is "any", port 0, of its family
      ip_addr_t any;
      any_ip(s->v6, any);
      return from_ip(any, 0);
    }
    return from_ip(s->local_ip, s->local_port);
  }

  /// Errors: `not_connected` (never connected, or reset).
  static address peer_address(handle_type h, usock::error_code& ec) noexcept {
    using namespace detail::lwip_raw_impl;
    stack_lock guard;
    slot* s = find(h);
    if (!s) return ec = make(std::errc::bad_file_descriptor), address{};
    if (s->st != state::connected || s->error) return ec = make(std::errc::not_connected), address{};
    ec.clear();
    return from_ip(s->remote_ip, s->remote_port);
  }

  /// Runs the poll hook until the socket is ready or the time runs out (false). Errors: `operation_not_supported`.
  static bool wait(handle_type h, wait_for what, int timeout_ms, usock::error_code& ec) noexcept {
    using namespace detail::lwip_raw_impl;
    stack_lock guard;
    slot* s = find(h);
    if (!s) return ec = make(std::errc::bad_file_descriptor), true;
    ec.clear();
    return block(h, s, timeout_ms, ec, what == wait_for::read ? readable : writable) && !ec;
  }

  // ---- names (usock::getaddrinfo, usock::create_connection) ---------------------------------------------

  /// `getaddrinfo(host, port)`: numeric text as it is; a name, with `LWIP_DNS` 1, through lwIP's resolver
  /// (`dns_gethostbyname`: its local host list, its cache, then the DNS server set with `dns_setserver`),
  /// running the poll hook until lwIP answers or gives up. One address: lwIP's resolver returns one. Errors:
  /// `no_such_device_or_address` (an unknown name, no answer, no DNS server set, or `LWIP_DNS` 0),
  /// `invalid_argument` (a name of `DNS_MAX_NAME_LENGTH` characters or more), `resource_unavailable_try_again`
  /// (`DNS_TABLE_SIZE` lookups are in progress already), `operation_not_supported` (it had to wait and no poll
  /// hook is registered).
  static std::vector<address> resolve(std::string_view host, std::uint16_t port, usock::error_code& ec) {
    return resolve(host, port, -1, ec);
  }
  /// As above, waiting at most `timeout_ms` (-1: as long as lwIP's resolver tries): `timed_out` after it.
  /// `create_connection` passes its timeout here.
  static std::vector<address> resolve(std::string_view host, std::uint16_t port, int timeout_ms,
                                      usock::error_code& ec) {
    std::vector<address> found;
    if (const address numeric{host, port}; numeric.valid() && !numeric.any_family()) {
      ec.clear();
      found.push_back(numeric);
      return found;
    }
#if LWIP_DNS
    ip_addr_t ip;
    if (look_up(host, timeout_ms, ip, ec)) found.push_back(detail::lwip_raw_impl::from_ip(ip, port));
#else
    (void)timeout_ms;
    ec = detail::lwip_raw_impl::make(std::errc::no_such_device_or_address);
#endif
    return found;
  }

  // ---- polling (usock::poller) ------------------------------------------------------------------------------

  /// The readiness set of `usock::basic_poller`: an array of the entries below, each wait asking about all of
  /// them (a board's handful of sockets; see `detail/scan_poll_set.hpp`).
  template <std::size_t Capacity>
  using poll_set = detail::scan_poll_set<lwip_raw, Capacity>;

  /// One socket in a `usock::basic_poller`: its handle, the events asked for and those found.
  struct poll_entry {
    handle_type handle = invalid_handle;
    unsigned events = 0;
    unsigned revents = 0;
  };

  static poll_entry make_poll_entry(handle_type h, unsigned events) noexcept { return {h, events, 0}; }
  static handle_type poll_entry_handle(const poll_entry& entry) noexcept { return entry.handle; }
  static void set_poll_events(poll_entry& entry, unsigned events) noexcept { entry.events = events; }
  static unsigned poll_revents(const poll_entry& entry) noexcept { return entry.revents; }

  /// Checks every entry and, while none is ready, runs the poll hook until `timeout_ms` passes (-1: no limit)
  /// or `interrupt_wait()` is called. With no entries it is the stack's idle wait. Returns how many entries are
  /// ready. Errors: `operation_not_supported` (it had to wait: no poll hook).
  static std::size_t poll(poll_entry* entries, std::size_t count, int timeout_ms, usock::error_code& ec) noexcept {
    using namespace detail::lwip_raw_impl;
    stack_lock guard;
    ec.clear();
    const std::uint32_t start = sys_now();
    for (;;) {
      std::size_t ready = 0;
      for (std::size_t i = 0; i < count; ++i) {
        entries[i].revents = events_of(find(entries[i].handle), entries[i].events);
        if (entries[i].revents) ++ready;
      }
      std::int32_t left;
      if (ready || !time_left(start, timeout_ms, left)) return ready;
      if (wait_interrupted.exchange(false, std::memory_order_acq_rel)) return 0;
      if (!hooks.poll) return ec = make(std::errc::operation_not_supported), 0;
      run_poll_hook(left);
    }
  }

 private:
  using slot = detail::lwip_raw_impl::slot;

#if LWIP_DNS
  /// Asks lwIP's resolver for `host` and runs the poll hook until it answers or `timeout_ms` passes.
  static bool look_up(std::string_view host, int timeout_ms, ip_addr_t& ip, usock::error_code& ec) noexcept {
    using namespace detail::lwip_raw_impl;
    char name[DNS_MAX_NAME_LENGTH];
    if (host.empty()) return ec = make(std::errc::no_such_device_or_address), false;
    if (host.size() >= sizeof name || host.find('\0') != std::string_view::npos) {
      return ec = make(std::errc::invalid_argument), false;
    }
    std::memcpy(name, host.data(), host.size());
    name[host.size()] = '\0';
    stack_lock guard;
    lookup* l = std::find_if(std::begin(lookups), std::end(lookups), [](const lookup& x) { return x.id == 0; });
    if (l == std::end(lookups)) return ec = make(std::errc::resource_unavailable_try_again), false;
    *l = lookup{};
    l->id = ++last_lookup_id != 0 ? last_lookup_id : ++last_lookup_id;
    void* id = reinterpret_cast<void*>(static_cast<std::uintptr_t>(l->id));
    const err_t err = dns_gethostbyname(name, &ip, on_dns_found, id);
    const std::uint32_t start = sys_now();
    std::int32_t left;
    bool ok = err == ERR_OK;
    if (err == ERR_INPROGRESS) {
      while (!l->done && time_left(start, timeout_ms, left) && hooks.poll) run_poll_hook(left);
      ok = l->done && l->found;
      if (ok) ip_addr_copy(ip, l->ip);
    }
    if (ok) {
      ec.clear();
    } else if (err == ERR_INPROGRESS && !l->done) {
      ec = make(hooks.poll ? std::errc::timed_out : std::errc::operation_not_supported);
    } else {
      ec = make(err == ERR_MEM ? std::errc::resource_unavailable_try_again : std::errc::no_such_device_or_address);
    }
    l->id = 0;  // forgotten: a late answer finds nothing
    return ok;
  }
#endif
  /// How long a blocking send that found lwIP out of memory lets the poll hook wait before it tries again.
  static constexpr std::int32_t memory_retry_ms = 250;

  /// How much `send` may hand to lwIP now: the free send buffer, if lwIP also has segments left to queue it.
  static std::size_t send_room(const tcp_pcb* pcb) noexcept {
    if (pcb->snd_queuelen >= TCP_SND_QUEUELEN) return 0;
    return tcp_sndbuf(pcb);
  }

  static bool readable(const slot& s) noexcept {
    using detail::lwip_raw_impl::state;
    switch (s.st) {
      case state::listening: return s.queued != 0 || !s.pcb;
      case state::connecting: return s.error != 0;
      case state::connected: return s.rx_bytes || s.eof || s.rx_shut || s.error || !s.pcb;
      default: return true;  // not connected: a hang-up, as poll() reports it
    }
  }

  static bool writable(const slot& s) noexcept {
    using detail::lwip_raw_impl::state;
    switch (s.st) {
      case state::listening: return !s.pcb;
      case state::connecting: return s.error != 0;
      case state::connected:
        return s.error || s.tx_shut || !s.pcb ||
               (send_room(s.pcb) > 0 && !(s.starved && s.starved_at == detail::lwip_raw_impl::hook_runs));
      default: return true;
    }
  }

  static void connect_result_locked(const slot& s, usock::error_code& ec) noexcept {
    using detail::lwip_raw_impl::make;
    if (s.error) {
      ec = make(static_cast<std::errc>(s.error));
    } else if (s.st == detail::lwip_raw_impl::state::connecting) {
      ec = make(std::errc::operation_in_progress);
    } else {
      ec.clear();
    }
  }

  /// Runs the poll hook once with the lock released, telling it the caller waits at most `max_wait_ms`
  /// (-1: no limit). Called and returns with the lock held; `s` is looked up again afterwards, because another
  /// thread may have closed the socket meanwhile. False on an error (no hook, or the socket is gone).
  static bool poll_once(handle_type h, slot*& s, std::int32_t max_wait_ms, usock::error_code& ec) noexcept {
    using namespace detail::lwip_raw_impl;
    if (!hooks.poll) return ec = make(std::errc::operation_not_supported), false;
    run_poll_hook(max_wait_ms);
    s = find(h);
    if (!s) return ec = make(std::errc::bad_file_descriptor), false;
    return true;
  }

  /// Runs the poll hook until `ready(*s)` holds or `timeout_ms` (-1: no limit) passes. Called and returns
  /// with the lock held. False when the time ran out (`ec` clear) or on an error (`ec` set).
  /// How long a wait that started at `start` (a `sys_now()` value) with `timeout_ms` (-1: no limit) may still
  /// last, -1 for no limit; false when it is over. `sys_now()` counts whole milliseconds, so a wait ends only
  /// once more than `timeout_ms` have passed: it never returns early by a fraction of a millisecond.
  static bool time_left(std::uint32_t start, int timeout_ms, std::int32_t& left) noexcept {
    left = -1;
    if (timeout_ms < 0) return true;
    const std::uint32_t elapsed = sys_now() - start;
    if (timeout_ms == 0 || elapsed > static_cast<std::uint32_t>(timeout_ms)) return false;
    left = static_cast<std::int32_t>(static_cast<std::uint32_t>(timeout_ms) + 1 - elapsed);
    return true;
  }

  /// Runs the poll hook until `ready(*s)` holds or `timeout_ms` (-1: no limit) passes. Called and returns
  /// with the lock held. False when the time ran out (`ec` clear) or on an error (`ec` set).
  template <class Ready>
  static bool block(handle_type h, slot*& s, int timeout_ms, usock::error_code& ec, Ready ready) noexcept {
    const std::uint32_t start = sys_now();
    std::int32_t left;
    while (!ready(*s)) {
      if (!time_left(start, timeout_ms, left)) return false;
      if (!poll_once(h, s, left, ec)) return false;
    }
    return true;
  }

  /// The events `usock::poller` reports for the socket in slot `s` (null: closed), given the ones asked for.
  static unsigned events_of(const slot* s, unsigned asked) noexcept {
    using detail::lwip_raw_impl::state;
    if (!s) return pollnval;
    unsigned events = 0;
    switch (s->st) {
      case state::open: events = pollout | pollhup; break;
      case state::listening: events = readable(*s) ? pollin : 0u; break;
      case state::connecting: events = s->error ? pollout | pollerr | pollhup : 0u; break;
      default:
        if (readable(*s)) events |= pollin;
        if (writable(*s)) events |= pollout;
        if (s->error) events |= pollerr | pollhup;
        if (!s->pcb || (s->eof && s->tx_shut)) events |= pollhup;
        break;
    }
    return events & (asked | pollerr | pollhup | pollnval);
  }
};

static_assert(socket_backend<lwip_raw>);
static_assert(polling_backend<lwip_raw>);
static_assert(resolving_backend<lwip_raw>);
static_assert(nowait_backend<lwip_raw>);

}  // namespace usock
