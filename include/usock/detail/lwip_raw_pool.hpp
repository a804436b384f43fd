#pragma once
/// \file
/// The state behind `usock::lwip_raw`: the hooks the firmware registers, the fixed pool of socket slots, the
/// receive queue of each slot, and the callbacks lwIP calls. Everything here runs with the stack's lock held
/// (the lock hook, or a single thread).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <system_error>

#include "lwip_raw_config.hpp"
#include "lwip/err.h"
#include "lwip/ip_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/sys.h"
#include "lwip/tcp.h"
#if LWIP_DNS
#include "lwip/dns.h"
#endif

#include "../address.hpp"
#include "../buffer.hpp"
#include "../error.hpp"

namespace usock::detail::lwip_raw_impl {

// ---- hooks -----------------------------------------------------------------------------------------------

/// Services the network interface and lwIP's timers; may sleep up to `max_wait_ms` (-1: until something
/// happens) waiting for work. Called with the lock released.
using poll_hook = void (*)(void* context, std::int32_t max_wait_ms);
/// Takes or releases the stack's lock.
using lock_hook = void (*)(void* context);

/// Cuts a poll hook's wait short (see `usock::lwip_raw::set_wake_hook`). Called from any thread or interrupt.
using wake_hook = void (*)(void* context);

struct hooks_t {
  poll_hook poll = nullptr;
  void* poll_context = nullptr;
  wake_hook wake = nullptr;
  void* wake_context = nullptr;
  lock_hook lock = nullptr;
  lock_hook unlock = nullptr;
  void* lock_context = nullptr;
};
inline hooks_t hooks;
/// Set by `usock::lwip_raw::interrupt_wait()`: the readiness wait in progress, or the next one, returns.
inline std::atomic<bool> wait_interrupted{false};
/// How many times the poll hook has run (modulo 256), under the lock: see `slot::starved`.
inline std::uint8_t hook_runs = 0;

inline void lock() noexcept {
#if USOCK_LWIP_RAW_LOCK_HOOK
  if (hooks.lock) hooks.lock(hooks.lock_context);
#endif
}
inline void unlock() noexcept {
#if USOCK_LWIP_RAW_LOCK_HOOK
  if (hooks.unlock) hooks.unlock(hooks.lock_context);
#endif
}

/// Runs the poll hook, the lock released (it must be set; called with the lock held), and counts the run.
inline void run_poll_hook(std::int32_t max_wait_ms) noexcept {
  unlock();
  hooks.poll(hooks.poll_context, max_wait_ms);
  lock();
  ++hook_runs;
}

/// Holds the stack's lock for a scope.
class stack_lock {
 public:
  stack_lock() noexcept { lock(); }
  ~stack_lock() { unlock(); }
  stack_lock(const stack_lock&) = delete;
  stack_lock& operator=(const stack_lock&) = delete;
};

// ---- slots -----------------------------------------------------------------------------------------------

/// Where a slot is in its life. `pending` slots belong to a listener's accept queue and `closing` ones to the
/// pool (sending their last data after `close()`); only the others have a handle.
enum class state : std::uint8_t { free, open, connecting, connected, listening, pending, closing };

/// One socket. A free slot is all zeros but its generation, so the pool sits in `.bss`.
struct slot {
  tcp_pcb* pcb = nullptr;    // null once lwIP freed it (error callback) or we handed it back
  pbuf* rx = nullptr;        // received and unread, oldest first; each pbuf of the chain owns one reference
  std::uint32_t rx_bytes = 0;
  std::uint32_t close_started = 0;  // sys_now() when close() put the slot in `closing`
  ip_addr_t local_ip{};
  ip_addr_t remote_ip{};
  std::uint16_t local_port = 0;
  std::uint16_t remote_port = 0;
  std::uint16_t rx_offset = 0;  // bytes of rx's first pbuf already read
  std::uint16_t error = 0;      // a sticky std::errc value, 0 for none
  state st = state::free;
  std::uint8_t generation = 0;  // part of the handle, so a stale handle never reaches a reused slot
  std::uint8_t listener = 0;    // pending: 1 + the listener's slot index (0: in no queue)
  std::uint8_t queued = 0;      // listening: connections waiting in its accept queue
  std::uint16_t arrival = 0;    // pending: its number in the queue; listening: the next connection's number
  bool v6 = false;
  bool nonblocking = false;
  bool bound = false;
  bool eof = false;       // the peer's FIN arrived
  bool rx_shut = false;   // shutdown(shut_rd): incoming data is dropped
  bool tx_shut = false;   // shutdown(shut_wr): our FIN is queued
  bool reuseaddr = false, keepalive = false, nodelay = false;
  // A non-blocking send found lwIP out of memory (segments or buffers) when `hook_runs` was `starved_at`: the
  // socket is not writable until the poll hook has run again (the acknowledgements that free memory come in
  // through the hook), so a readiness wait retries after the hook instead of spinning without it.
  bool starved = false;
  std::uint8_t starved_at = 0;
};

inline slot slots[USOCK_LWIP_RAW_MAX_SOCKETS];

inline std::uint8_t index_of(const slot& s) noexcept { return static_cast<std::uint8_t>(&s - slots); }

inline bool has_handle(state st) noexcept {
  return st == state::open || st == state::connecting || st == state::connected || st == state::listening;
}

/// The handle of a slot: its index in the low byte, its generation above.
inline int handle_of(const slot& s) noexcept { return index_of(s) | s.generation << 8; }

/// The slot a handle names, or null when the handle is stale, closed or invalid.
inline slot* find(int handle) noexcept {
  if (handle < 0) return nullptr;
  const unsigned index = static_cast<unsigned>(handle) & 0xffu;
  if (index >= USOCK_LWIP_RAW_MAX_SOCKETS) return nullptr;
  slot& s = slots[index];
  if (s.generation != (static_cast<unsigned>(handle) >> 8) || !has_handle(s.st)) return nullptr;
  return &s;
}

/// A free slot in state `st`, or null when the pool is exhausted.
inline slot* allocate(state st) noexcept {
  for (slot& s : slots) {
    if (s.st != state::free) continue;
    const std::uint8_t generation = static_cast<std::uint8_t>(s.generation == 0x7f ? 1 : s.generation + 1);
    s = slot{};
    s.generation = generation;
    s.st = st;
    return &s;
  }
  return nullptr;
}

/// Drops the unread data (without telling lwIP it was read: closing with unread data resets, as on Linux).
inline void drop_rx(slot& s) noexcept {
  while (s.rx) {
    pbuf* p = s.rx;
    s.rx = p->next;
    p->next = nullptr;
    pbuf_free(p);
  }
  s.rx_bytes = 0;
  s.rx_offset = 0;
}

/// Returns a slot to the pool. Its pcb must already be gone or detached.
inline void release(slot& s) noexcept {
  drop_rx(s);
  const std::uint8_t generation = s.generation;
  s = slot{};
  s.generation = generation;
}

/// Forgets the pcb: lwIP keeps it (closing, or in TIME_WAIT) and will free it without telling us.
inline void detach(slot& s) noexcept {
  if (tcp_pcb* pcb = s.pcb) {
    tcp_arg(pcb, nullptr);
    if (pcb->state != LISTEN) {  // a listener's only callback is accept, which needs its argument
      tcp_recv(pcb, nullptr);
      tcp_sent(pcb, nullptr);
      tcp_poll(pcb, nullptr, 0);
      tcp_err(pcb, nullptr);
    }
    s.pcb = nullptr;
  }
}

/// Tells lwIP that `n` bytes were consumed, opening the receive window again.
inline void recved(tcp_pcb* pcb, std::size_t n) noexcept {
  while (n > 0) {
    const auto chunk = static_cast<u16_t>(n > 0xffff ? 0xffff : n);
    tcp_recved(pcb, chunk);
    n -= chunk;
  }
}

/// Copies unread bytes into `out` and frees the pbufs read to their end.
inline std::size_t take_rx(slot& s, mutable_bytes out) noexcept {
  std::size_t copied = 0;
  while (s.rx && copied < out.size()) {
    pbuf* p = s.rx;
    const std::size_t n = std::min<std::size_t>(p->len - s.rx_offset, out.size() - copied);
    std::memcpy(out.data() + copied, static_cast<const std::byte*>(p->payload) + s.rx_offset, n);
    copied += n;
    s.rx_offset = static_cast<std::uint16_t>(s.rx_offset + n);
    if (s.rx_offset == p->len) {
      s.rx = p->next;
      p->next = nullptr;
      p->tot_len = p->len;
      pbuf_free(p);
      s.rx_offset = 0;
    }
  }
  s.rx_bytes -= static_cast<std::uint32_t>(copied);
  if (s.pcb && copied) {
    recved(s.pcb, copied);
    // The application has read everything: acknowledge now rather than at lwIP's delayed-ACK timer (up to
    // 250 ms), as Linux does, so a peer waiting on Nagle's algorithm for that ACK sends its next bytes at once.
    if (!s.rx && (s.pcb->flags & TF_ACK_DELAY)) {
      tcp_set_flags(s.pcb, TF_ACK_NOW);
      tcp_output(s.pcb);
    }
  }
  return copied;
}

// ---- accept queues ---------------------------------------------------------------------------------------

// A listener's queue is the pending slots naming it, in the order of their arrival numbers: the pool is small,
// so finding the oldest by a scan costs less code than keeping a linked list.

inline void enqueue(slot& listener, slot& conn) noexcept {
  conn.listener = static_cast<std::uint8_t>(index_of(listener) + 1);
  conn.arrival = listener.arrival++;
  ++listener.queued;
}

/// The connection waiting longest in `listener`'s queue, which must not be empty. Arrival numbers wrap, so
/// the oldest is the one furthest behind the next number.
inline slot& oldest(const slot& listener) noexcept {
  slot* best = nullptr;
  auto waited = [&](const slot& s) { return static_cast<std::uint16_t>(listener.arrival - s.arrival); };
  for (slot& s : slots) {
    if (s.listener == index_of(listener) + 1 && (!best || waited(s) > waited(*best))) best = &s;
  }
  return *best;
}

/// Takes a connection out of its listener's queue (nothing if it is in none).
inline void unlink(slot& conn) noexcept {
  if (conn.listener == 0) return;
  --slots[conn.listener - 1].queued;
  conn.listener = 0;
}

// ---- errors and addresses --------------------------------------------------------------------------------

inline usock::error_code make(std::errc e) noexcept { return detail::make_error(e); }

/// lwIP's `err_t`, by name, as `std::errc`.
inline std::errc errc_of(err_t err) noexcept {
  switch (err) {
    case ERR_MEM: return std::errc::not_enough_memory;
    case ERR_BUF: return std::errc::no_buffer_space;
    case ERR_TIMEOUT: return std::errc::timed_out;
    case ERR_RTE: return std::errc::network_unreachable;
    case ERR_INPROGRESS: return std::errc::operation_in_progress;
    case ERR_WOULDBLOCK: return std::errc::resource_unavailable_try_again;
    case ERR_USE: return std::errc::address_in_use;
    case ERR_ALREADY: return std::errc::connection_already_in_progress;
    case ERR_ISCONN: return std::errc::already_connected;
    case ERR_CONN: return std::errc::not_connected;
    case ERR_IF: return std::errc::network_down;
    case ERR_ABRT: return std::errc::connection_aborted;
    case ERR_RST: return std::errc::connection_reset;
    case ERR_CLSD: return std::errc::not_connected;
    default: return std::errc::invalid_argument;  // ERR_VAL, ERR_ARG
  }
}

inline void set_error(slot& s, std::errc e) noexcept { s.error = static_cast<std::uint16_t>(e); }

/// The "any" address of a socket of family `v6`.
inline void any_ip(bool v6, ip_addr_t& out) noexcept {
#if LWIP_IPV6
  if (v6) {
    ip_addr_copy(out, *IP6_ADDR_ANY);
    return;
  }
#endif
#if LWIP_IPV4
  ip_addr_copy(out, *IP4_ADDR_ANY);
#endif
  (void)v6;
  (void)out;
}

/// `a` as lwIP's address for a socket of family `v6`. False when the families differ.
inline bool to_ip(const address& a, bool v6, ip_addr_t& out) noexcept {
  if (a.any_family()) return any_ip(v6, out), true;
  if ((a.family() == address_family::inet6) != v6) return false;
#if LWIP_IPV6
  if (v6) {
    ip6_addr_t ip6{};
    std::memcpy(ip6.addr, a.bytes().data(), 16);
    ip6_addr_clear_zone(&ip6);
    ip_addr_copy_from_ip6(out, ip6);
    return true;
  }
#endif
#if LWIP_IPV4
  ip4_addr_t ip4{};
  std::memcpy(&ip4.addr, a.bytes().data(), 4);
  ip_addr_copy_from_ip4(out, ip4);
  return true;
#else
  return false;
#endif
}

inline address from_ip(const ip_addr_t& ip, std::uint16_t port) noexcept {
#if LWIP_IPV6
  if (IP_IS_V6_VAL(ip)) {
    std::uint8_t bytes[16];
    std::memcpy(bytes, ip_2_ip6(&ip)->addr, 16);
    return address::ipv6(std::span<const std::uint8_t, 16>(bytes, 16), port);
  }
#endif
#if LWIP_IPV4
  std::uint8_t bytes[4];
  std::memcpy(bytes, &ip_2_ip4(&ip)->addr, 4);
  return address::ipv4(std::span<const std::uint8_t, 4>(bytes, 4), port);
#else
  return address{};
#endif
}

/// True when `ip` is an address of this host (an interface's, a loopback one, or "any"): bind() refuses others.
inline bool is_local(const ip_addr_t& ip) noexcept {
  if (ip_addr_isany_val(ip)) return true;
#if LWIP_IPV6
  if (IP_IS_V6_VAL(ip)) {
    if (ip6_addr_isloopback(ip_2_ip6(&ip))) return LWIP_NETIF_LOOPBACK != 0;
    netif* n;
    NETIF_FOREACH(n) {
      if (netif_get_ip6_addr_match(n, ip_2_ip6(&ip)) >= 0) return true;
    }
    return false;
  }
#endif
#if LWIP_IPV4
  if (ip4_addr_isloopback(ip_2_ip4(&ip))) return LWIP_NETIF_LOOPBACK != 0;
  netif* n;
  NETIF_FOREACH(n) {
    if (ip4_addr_cmp(netif_ip4_addr(n), ip_2_ip4(&ip))) return true;
  }
#endif
  return false;
}

inline void remember_addresses(slot& s) noexcept {
  if (!s.pcb) return;
  ip_addr_copy(s.local_ip, s.pcb->local_ip);
  s.local_port = s.pcb->local_port;
  if (s.pcb->state != LISTEN) {
    ip_addr_copy(s.remote_ip, s.pcb->remote_ip);
    s.remote_port = s.pcb->remote_port;
  }
}

// ---- names (LWIP_DNS) ------------------------------------------------------------------------------------

#if LWIP_DNS
/// A name lookup waiting for lwIP's resolver. lwIP cannot cancel a query, so its callback names the lookup by a
/// number rather than a pointer: a lookup whose caller stopped waiting is forgotten, and its late answer finds
/// nothing.
struct lookup {
  std::uint32_t id = 0;  // 0: free
  bool done = false;
  bool found = false;
  ip_addr_t ip{};
};
inline lookup lookups[DNS_TABLE_SIZE];
inline std::uint32_t last_lookup_id = 0;

inline void on_dns_found(const char*, const ip_addr_t* ip, void* arg) noexcept {
  const auto id = static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(arg));
  for (lookup& l : lookups) {
    if (l.id != id) continue;
    l.done = true;
    l.found = ip != nullptr;
    if (ip) ip_addr_copy(l.ip, *ip);
  }
}
#endif

// ---- lwIP's callbacks ------------------------------------------------------------------------------------

/// Everything sent has been acknowledged.
inline bool drained(const tcp_pcb* pcb) noexcept { return pcb->unsent == nullptr && pcb->unacked == nullptr; }

/// A closing socket may send its FIN: all data acknowledged, and the peer's window open. lwIP drops a FIN
/// that arrives at a zero window (RFC 793), so a FIN sent then would wait for a retransmission timeout (about
/// 3 s); with the window open it is taken at once. A closed window is noticed again by on_poll (500 ms).
inline bool ready_to_finish(const tcp_pcb* pcb) noexcept { return drained(pcb) && pcb->snd_wnd > 0; }

/// A closed socket's data is all acknowledged: send the FIN and hand the pcb to lwIP.
inline void finish_close(slot& s) noexcept {
  tcp_pcb* pcb = s.pcb;
  detach(s);
  if (tcp_close(pcb) != ERR_OK) tcp_abort(pcb);
  release(s);
}

/// Aborts the connection (a reset goes to the peer) without our error callback running.
inline void abort_pcb(slot& s) noexcept {
  if (tcp_pcb* pcb = s.pcb) {
    detach(s);
    tcp_abort(pcb);
  }
}

inline err_t on_recv(void* arg, tcp_pcb* pcb, pbuf* p, err_t err) noexcept {
  auto* s = static_cast<slot*>(arg);
  if (!s) {  // not ours any more: consume it as lwIP's default handler would
    if (p) {
      tcp_recved(pcb, p->tot_len);
      pbuf_free(p);
    }
    return ERR_OK;
  }
  if (!p) {  // the peer's FIN
    s->eof = true;
    if (s->tx_shut || s->st == state::closing) {
      // Both directions are finished: lwIP may now move the pcb to TIME_WAIT and free it silently.
      if (s->st == state::closing) {
        if (ready_to_finish(pcb)) return finish_close(*s), ERR_OK;
        if (!s->tx_shut) return ERR_OK;  // still sending; our FIN follows later
      }
      detach(*s);
      if (s->st == state::closing) release(*s);
    }
    return ERR_OK;
  }
  if (err != ERR_OK || s->st == state::closing) {
    // Data for a closed socket: reset, as Linux does.
    pbuf_free(p);
    if (s->st == state::closing) {
      abort_pcb(*s);
      release(*s);
      return ERR_ABRT;
    }
    return ERR_OK;
  }
  if (s->rx_shut) {
    tcp_recved(pcb, p->tot_len);
    pbuf_free(p);
    return ERR_OK;
  }
  s->rx_bytes += p->tot_len;
  if (!s->rx) {
    s->rx = p;
  } else {
    pbuf* last = s->rx;
    while (last->next) last = last->next;
    last->next = p;  // no pbuf_cat: its 16-bit tot_len would overflow; we count in rx_bytes instead
  }
  return ERR_OK;
}

inline void on_err(void* arg, err_t err) noexcept {
  auto* s = static_cast<slot*>(arg);
  if (!s) return;
  s->pcb = nullptr;  // lwIP has freed it already
  switch (s->st) {
    case state::pending:
      unlink(*s);
      release(*s);
      return;
    case state::closing:
      release(*s);
      return;
    case state::connecting:
      set_error(*s, err == ERR_RST ? std::errc::connection_refused : errc_of(err));
      return;
    default:
      if (err != ERR_CLSD) set_error(*s, errc_of(err));  // ERR_CLSD: both sides closed normally
      return;
  }
}

inline err_t on_sent(void* arg, tcp_pcb* pcb, u16_t) noexcept {
  auto* s = static_cast<slot*>(arg);
  if (s && s->st == state::closing && ready_to_finish(pcb)) finish_close(*s);
  return ERR_OK;
}

inline err_t on_poll(void* arg, tcp_pcb* pcb) noexcept {
  auto* s = static_cast<slot*>(arg);
  if (!s || s->st != state::closing) return ERR_OK;
  if (ready_to_finish(pcb)) {
    finish_close(*s);
  } else if (sys_now() - s->close_started >= std::uint32_t{USOCK_LWIP_RAW_CLOSE_TIMEOUT_MS}) {
    abort_pcb(*s);
    release(*s);
    return ERR_ABRT;
  }
  return ERR_OK;
}

inline err_t on_connected(void* arg, tcp_pcb*, err_t) noexcept {
  if (auto* s = static_cast<slot*>(arg); s && s->st == state::connecting) {
    s->st = state::connected;
    remember_addresses(*s);
  }
  return ERR_OK;
}

/// Installs our callbacks on a connection's pcb.
inline void attach(slot& s, tcp_pcb* pcb) noexcept {
  s.pcb = pcb;
  tcp_arg(pcb, &s);
  tcp_recv(pcb, on_recv);
  tcp_err(pcb, on_err);
}

inline err_t on_accept(void* arg, tcp_pcb* pcb, err_t err) noexcept {
  auto* listener = static_cast<slot*>(arg);
  if (err != ERR_OK || !pcb || !listener || listener->st != state::listening) return ERR_VAL;
  slot* s = allocate(state::pending);
  if (!s) return ERR_MEM;  // pool exhausted: lwIP resets the connection
  s->v6 = listener->v6;
  s->bound = true;
  attach(*s, pcb);
  // Options a connection inherits from its listener, as on Linux (lwIP copies the SOF_ flags itself).
  s->reuseaddr = listener->reuseaddr;
  s->keepalive = listener->keepalive;
  s->nodelay = listener->nodelay;
  if (s->nodelay) tcp_nagle_disable(pcb);
  remember_addresses(*s);
  // Keep counting it against the backlog until accept() takes it, so that a full queue makes lwIP drop
  // further SYNs (clients retry, as with Linux) instead of accepting more than the application asked for.
  tcp_backlog_delayed(pcb);
  enqueue(*listener, *s);
  return ERR_OK;
}

}  // namespace usock::detail::lwip_raw_impl
