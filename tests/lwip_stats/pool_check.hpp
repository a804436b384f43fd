#pragma once
// What lwIP holds, from its statistics (tests/lwip_stats/port/lwipopts.h: LWIP_STATS with MEMP, MEM and SYS
// statistics): every MEMP pool's entries in use, the heap's bytes in use, the semaphores, mutexes and mailboxes
// of the port, and the lowest free socket number. A snapshot before the tests and one after must be equal.
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>

#include <usock/lwip.hpp>

extern "C" {
#include <lwip/memp.h>
#include <lwip/priv/tcp_priv.h>
#include <lwip/stats.h>
#include <lwip/tcpip.h>
}

namespace usock_lwip_stats {

/// The MEMP pools' names, in lwIP's order (lwip/priv/memp_std.h lists them).
inline constexpr const char* pool_names[] = {
#define LWIP_MEMPOOL(name, num, size, desc) #name,
#include <lwip/priv/memp_std.h>
};
static_assert(sizeof pool_names / sizeof pool_names[0] == MEMP_MAX);

struct snapshot {
  std::array<std::uint32_t, MEMP_MAX> pool_used{};
  std::uint64_t heap_used = 0;
  std::uint32_t semaphores = 0, mutexes = 0, mailboxes = 0;
  /// lwIP hands out the lowest free socket number: the same number before and after means no socket is open
  /// that was not open before.
  int first_free_socket = -1;
};

/// The lowest free socket number (opens and closes a socket that never connects), or -1 if the table is full.
inline int first_free_socket() {
  const int s = ::lwip_socket(AF_INET, SOCK_STREAM, 0);
  if (s >= 0) ::lwip_close(s);
  return s;
}

/// lwIP's figures now, read under the core lock (pool counters change under SYS_ARCH_PROTECT as well).
inline snapshot take(bool probe_sockets = true) {
  snapshot s;
  LOCK_TCPIP_CORE();
  const sys_prot_t level = sys_arch_protect();
  for (int i = 0; i < MEMP_MAX; ++i) s.pool_used[static_cast<std::size_t>(i)] = lwip_stats.memp[i]->used;
  s.heap_used = lwip_stats.mem.used;
  s.semaphores = lwip_stats.sys.sem.used;
  s.mutexes = lwip_stats.sys.mutex.used;
  s.mailboxes = lwip_stats.sys.mbox.used;
  sys_arch_unprotect(level);
  UNLOCK_TCPIP_CORE();
  if (probe_sockets) s.first_free_socket = first_free_socket();
  return s;
}

/// Every figure that differs, one per line ("pool TCP_PCB: 2 in use before, 3 after"); empty when none does.
inline std::string differences(const snapshot& before, const snapshot& after) {
  std::string out;
  auto line = [&out](const std::string& what, std::uint64_t was, std::uint64_t is) {
    if (was != is) out += what + ": " + std::to_string(was) + " before, " + std::to_string(is) + " after\n";
  };
  for (std::size_t i = 0; i < before.pool_used.size(); ++i)
    line(std::string("pool ") + pool_names[i] + " entries in use", before.pool_used[i], after.pool_used[i]);
  line("heap bytes in use", before.heap_used, after.heap_used);
  line("semaphores", before.semaphores, after.semaphores);
  line("mutexes", before.mutexes, after.mutexes);
  line("mailboxes", before.mailboxes, after.mailboxes);
  if (before.first_free_socket != after.first_free_socket)
    out += "first free socket number: " + std::to_string(before.first_free_socket) + " before, " +
           std::to_string(after.first_free_socket) + " after\n";
  return out;
}

/// Compares lwIP with `before` once closed connections have had time to finish (at most `settle`): TIME_WAIT
/// pcbs are dropped (they only answer late segments, 2 * TCP_MSL), and lwIP's TCP timer, which unregisters itself
/// on its first tick after the last pcb is gone, gets up to `settle` to do so. Returns what still differs.
inline std::string settle_and_compare(const snapshot& before,
                                      std::chrono::milliseconds settle = std::chrono::milliseconds(5000)) {
  const auto deadline = std::chrono::steady_clock::now() + settle;
  std::string diff;
  for (;;) {
    LOCK_TCPIP_CORE();
    while (tcp_tw_pcbs != nullptr) tcp_abort(tcp_tw_pcbs);
    UNLOCK_TCPIP_CORE();
    snapshot now = take(false);
    now.first_free_socket = before.first_free_socket;  // probed below, once the pools agree
    diff = differences(before, now);
    if (diff.empty() || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // a bounded poll of lwIP's state, not a handshake
  }
  // The socket table last: probing opens a socket, which the pool figures must not see.
  if (diff.empty()) {
    snapshot now = before;
    now.first_free_socket = first_free_socket();
    diff = differences(before, now);
  }
  return diff;
}

}  // namespace usock_lwip_stats
