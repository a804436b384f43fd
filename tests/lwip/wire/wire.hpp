#pragma once
/// \file
/// A simulated Ethernet wire between two network stacks in two processes, with a seeded frame pump that can
/// drop, duplicate, reorder and delay frames.
///
/// ```
///   child A (stack A)            parent (the pump)             child B (stack B)
///   frame_fd  <==== seqpacket ====>  pump  <==== seqpacket ====>  frame_fd
/// ```
///
/// Each end is one `AF_UNIX`/`SOCK_SEQPACKET` socket carrying exactly one Ethernet frame per message, so any
/// stack can attach to it: lwIP's socket API through wire_lwip_netif.hpp, a `NO_SYS=1` stack by polling the
/// descriptor in its main loop (`send_frame` / `receive_frame`), or another program entirely (an end is
/// inherited across `exec`). Nothing here knows about lwIP, and no traffic ever reaches a real network.
///
/// Replaying: every decision the pump makes (drop, duplicate, hold back) is drawn from a generator seeded by
/// `impairment::seed`, one sequence per direction, so the n-th frame sent in a direction meets the same fate
/// whenever the seed is the same. Which frames the stacks send depends on their timers, so a replay repeats the
/// wire's behaviour exactly and the stacks' closely.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <span>
#include <string>

namespace usock_wire {

/// What the wire does to frames, per direction, each with its own probability (0 to 1).
struct impairment {
  double loss = 0;       ///< a frame is dropped
  double duplicate = 0;  ///< a frame is delivered twice
  double reorder = 0;    ///< a frame is held back by `reorder_hold`, so the frames after it overtake it
  std::chrono::microseconds latency{0};         ///< every frame's one-way delay
  std::chrono::microseconds reorder_hold{2000};  ///< extra delay of a reordered frame
  std::uint64_t seed = 1;                       ///< drives every decision above
  /// When set, the pump writes one line per frame here: time, direction, fate, and the TCP/IPv4 header
  /// fields it can read (for finding out why a transfer stalls).
  std::FILE* trace = nullptr;
};

/// Counters of one direction of the wire.
struct direction_stats {
  std::uint64_t frames = 0;      ///< frames the sending stack put on the wire
  std::uint64_t delivered = 0;   ///< frames handed to the receiving stack (duplicates included)
  std::uint64_t dropped = 0;     ///< lost on purpose
  std::uint64_t duplicated = 0;  ///< delivered twice on purpose
  std::uint64_t reordered = 0;   ///< held back on purpose
  std::uint64_t overflowed = 0;  ///< dropped because the pump's queue was full (not an impairment)
  std::uint64_t bytes = 0;       ///< bytes of the frames the sending stack put on the wire
};

/// Counters of both directions: `a_to_b` and `b_to_a`.
struct wire_stats {
  direction_stats a_to_b;
  direction_stats b_to_a;
};

/// The longest frame an end carries (Ethernet with a VLAN tag, no FCS).
inline constexpr std::size_t max_frame = 1518;

/// Sends one frame on an end (blocks while the wire's buffer is full), or on a TAP device. False on error.
bool send_frame(int fd, std::span<const std::byte> frame) noexcept;
/// Receives one frame into `buffer` (at least `max_frame` long): its length, 0 when the other side closed,
/// -1 on error. Blocks unless the descriptor is non-blocking.
long receive_frame(int fd, std::span<std::byte> buffer) noexcept;

/// What a side's role gets in its child process.
struct side {
  int index;       ///< 0 for A, 1 for B
  int frame_fd;    ///< this side's end of the wire
  int control_fd;  ///< to the parent, for `rendezvous`
};

/// A barrier between the two sides: returns when the other side has called it as many times (or has exited), so
/// neither needs to retry or sleep. Call it once ready (a listener bound, say), and again when done, before the
/// stack goes away: a stack inside a process dies with it, so a side that left early could no longer retransmit
/// what the other side still waits for (a lost last segment, say). False if the parent went away.
bool rendezvous(const side& s) noexcept;

/// A side's work, run in its own child process; its return value is the child's exit status (0: passed).
using role = std::function<int(const side&)>;

/// The outcome of `run_pair`.
struct run_result {
  int status_a = -1;       ///< exit status of A, or -1 if it did not exit normally
  int status_b = -1;       ///< same for B
  bool timed_out = false;  ///< the time limit ran out and both children were killed
  double seconds = 0;      ///< wall time from the fork to the last exit
  wire_stats stats;
  bool passed() const noexcept { return !timed_out && status_a == 0 && status_b == 0; }
  /// Whether the run's wall time stayed within `bound`.
  bool within(std::chrono::seconds bound) const noexcept { return seconds <= static_cast<double>(bound.count()); }
};

/// Forks side A and side B (each runs its role and exits), pumps frames between them through `wire` until both
/// have exited or `limit` runs out, and reports. The calling process must not have started threads (it forks).
run_result run_pair(const impairment& wire, std::chrono::milliseconds limit, const role& a, const role& b);

/// `impairment` as a line of text, for logs: `seed=42 loss=0.05 duplicate=0.01 reorder=0.02 latency=0us`.
std::string describe(const impairment& wire);
/// `stats` as lines of text, for logs.
std::string describe(const wire_stats& stats);

}  // namespace usock_wire
