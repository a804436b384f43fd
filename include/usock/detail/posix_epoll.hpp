#pragma once
/// \file
/// The POSIX backend's readiness set on Linux: `epoll`, whose cost per wait grows with the number of ready
/// sockets, not registered ones. Part of the POSIX backend (included by posix.hpp only).
///
/// `epoll` differs from `poll(2)` in ways `usock::poller` must not show, and each is handled here:
/// - A closed descriptor leaves an epoll set silently, where `poll(2)` reports `POLLNVAL`. `posix::close`
///   records every handle it closes in a process-wide journal (`closed_handles`); before each wait the set reads
///   the closes since its last wait, O(closes), and reports a registration closed after it was made as `pollnval`
///   until it is removed or added again. If more closes happened than the journal holds, the set asks the kernel
///   about each registration instead (`EPOLL_CTL_MOD`: a descriptor closed since, or reused for another file,
///   is not in the set). Descriptors closed without usock (`::close(fd)`) are not in the journal: remove them.
/// - A reused descriptor number is a new file: adding a number whose registration was closed registers the new
///   file (`EPOLL_CTL_ADD`), and a modify that the kernel answers `ENOENT` does the same.
/// - `EPOLLERR` and `EPOLLHUP` come whether asked for or not, as `pollerr`/`pollhup` do from `poll(2)`; a new,
///   unconnected socket reports `EPOLLHUP` as `poll(2)` reports `POLLHUP`. `EPOLLRDHUP` is never asked for: a
///   peer's FIN is `pollin`, as with `poll(2)`.
/// - Registrations are level-triggered, so a socket stays ready until drained, as `select.poll` promises.

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>

#include <sys/epoll.h>
#include <unistd.h>

#include "../backend.hpp"
#include "../constants.hpp"
#include "../error.hpp"
#include "poll_storage.hpp"

namespace usock::detail {

/// The handles `posix::close` closed, most recent last: a ring of `length` entries written by any thread.
struct close_journal {
  static constexpr std::uint64_t length = 256;

  /// Called before the descriptor is closed, so a number reused afterwards is registered after the entry.
  void record(int fd) noexcept {
    const std::uint64_t sequence = next.fetch_add(1, std::memory_order_acq_rel);
    entries[sequence % length].store(tag(sequence) | static_cast<std::uint32_t>(fd), std::memory_order_release);
  }
  /// Entry `sequence` as written: its tag in the high half, the handle in the low half.
  static std::uint64_t tag(std::uint64_t sequence) noexcept { return (sequence + 1) << 32; }

  std::atomic<std::uint64_t> next{0};
  std::atomic<std::uint64_t> entries[length]{};
};

/// One journal for the whole program.
inline close_journal closed_handles;

/// The `poll_set` of `usock::posix` on Linux: see `usock::polling_backend` for the members' contract.
template <std::size_t Capacity>
class epoll_poll_set {
  struct registration {
    std::uint64_t since;  ///< `closed_handles.next` when registered: later closes of the handle end it
    unsigned events;
    bool closed;
  };
  /// Ready events fetched per wait (the rest stay ready, level-triggered, for the next wait).
  static constexpr std::size_t batch = Capacity < 512 ? Capacity : 512;

 public:
  using ready_entry = poll_ready<int>;

  epoll_poll_set() noexcept = default;
  epoll_poll_set(const epoll_poll_set&) = delete;
  epoll_poll_set& operator=(const epoll_poll_set&) = delete;
  epoll_poll_set& operator=(epoll_poll_set&&) = delete;
  ~epoll_poll_set() {
    if (epfd_ >= 0) ::close(epfd_);
  }

  void add(int fd, unsigned events, usock::error_code& ec) noexcept {
    if (!open(ec)) return;
    if (registration* r = map_.find(fd)) return change(fd, *r, events, ec);
    registration* r = map_.insert(fd, ec);
    if (!r) return;
    *r = registration{closed_handles.next.load(std::memory_order_acquire), events, false};
    if (!control(EPOLL_CTL_ADD, fd, events) && !(errno == EEXIST && control(EPOLL_CTL_MOD, fd, events))) {
      fail(ec);
      map_.erase(fd);
      return;
    }
    ec.clear();
  }

  void modify(int fd, unsigned events, usock::error_code& ec) noexcept {
    registration* r = map_.find(fd);
    if (!r) return ec = make_error(std::errc::no_such_file_or_directory), void();
    change(fd, *r, events, ec);
  }

  void remove(int fd, usock::error_code& ec) noexcept {
    registration* r = map_.find(fd);
    if (!r) return ec = make_error(std::errc::no_such_file_or_directory), void();
    // A registration whose descriptor was closed is no longer in the kernel's set; failures mean the same.
    if (r->closed) --closed_count_;
    else (void)control(EPOLL_CTL_DEL, fd, 0);
    map_.erase(fd);
    ec.clear();
  }

  std::size_t size() const noexcept { return map_.size(); }

  std::span<const ready_entry> wait(int timeout_ms, usock::error_code& ec) noexcept {
    if (!open(ec)) return {};
    notice_closes();
    std::size_t n = 0;
    if (closed_count_ > 0) {
      map_.for_each([&](int fd, registration& r) {
        if (r.closed && n < batch) ready_[n++] = ready_entry{fd, pollnval};
      });
      timeout_ms = 0;
    }
    if (n < batch) {
      int got = ::epoll_wait(epfd_, events_, static_cast<int>(batch - n), timeout_ms);
      if (got < 0) {
        if (errno != EINTR) return fail(ec), std::span<const ready_entry>{};
        got = 0;
      }
      for (int i = 0; i < got; ++i) ready_[n++] = ready_entry{events_[i].data.fd, usock_events(events_[i].events)};
    }
    ec.clear();
    return {ready_, n};
  }

  /// Bytes this set holds for its registrations (the kernel keeps about as much again per descriptor).
  std::size_t bytes() const noexcept { return sizeof *this + map_.bytes(); }

 private:
  bool open(usock::error_code& ec) noexcept {
    if (epfd_ < 0) epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) return fail(ec), false;
    return true;
  }

  /// New events for a registered handle; a closed registration becomes the file now at that number, if any.
  void change(int fd, registration& r, unsigned events, usock::error_code& ec) noexcept {
    if (r.closed || !control(EPOLL_CTL_MOD, fd, events)) {
      if (!r.closed && errno != ENOENT && errno != EBADF) return fail(ec);
      if (!control(EPOLL_CTL_ADD, fd, events)) {
        if (!r.closed) r.closed = true, ++closed_count_;  // gone from the kernel: pollnval until removed
        r.events = events;
        return fail(ec);
      }
      if (r.closed) r.closed = false, --closed_count_;
      r.since = closed_handles.next.load(std::memory_order_acquire);
    }
    r.events = events;
    ec.clear();
  }

  /// Marks the registrations closed since the last wait (see the file's comment).
  void notice_closes() noexcept {
    const std::uint64_t end = closed_handles.next.load(std::memory_order_acquire);
    if (end - seen_ > close_journal::length) return ask_kernel_about_all(end);
    for (std::uint64_t s = seen_; s < end; ++s) {
      const std::uint64_t entry = closed_handles.entries[s % close_journal::length].load(std::memory_order_acquire);
      const std::uint64_t written = entry & ~std::uint64_t{0xFFFFFFFF};
      if (written != close_journal::tag(s)) {
        if (written > close_journal::tag(s)) return ask_kernel_about_all(end);  // overwritten meanwhile
        seen_ = s;  // being written by another thread right now: read it next time
        return;
      }
      const int fd = static_cast<int>(static_cast<std::uint32_t>(entry));
      registration* r = map_.find(fd);
      if (r && !r->closed && r->since <= s) r->closed = true, ++closed_count_;
    }
    seen_ = end;
  }

  void ask_kernel_about_all(std::uint64_t end) noexcept {
    map_.for_each([&](int fd, registration& r) {
      if (!r.closed && !control(EPOLL_CTL_MOD, fd, r.events) && (errno == ENOENT || errno == EBADF))
        r.closed = true, ++closed_count_;
    });
    seen_ = end;
  }

  bool control(int op, int fd, unsigned events) noexcept {
    epoll_event ev{};
    ev.events = ((events & pollin) ? EPOLLIN : 0u) | ((events & pollout) ? EPOLLOUT : 0u);
    ev.data.fd = fd;
    return ::epoll_ctl(epfd_, op, fd, &ev) == 0;
  }

  static unsigned usock_events(std::uint32_t e) noexcept {
    return ((e & EPOLLIN) ? pollin : 0u) | ((e & EPOLLOUT) ? pollout : 0u) | ((e & EPOLLERR) ? pollerr : 0u) |
           ((e & EPOLLHUP) ? pollhup : 0u);
  }

  static void fail(usock::error_code& ec) noexcept {
    ec = usock::error_code(errno == EWOULDBLOCK ? EAGAIN : errno, std::generic_category());
  }

  int epfd_ = -1;
  handle_map<int, -1, registration, Capacity> map_;
  std::uint64_t seen_ = closed_handles.next.load(std::memory_order_acquire);
  std::size_t closed_count_ = 0;
  epoll_event events_[batch];
  ready_entry ready_[batch];
};

}  // namespace usock::detail
