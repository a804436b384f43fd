#pragma once
/// \file
/// `usock::asyncio::basic_loop<Backend>`: the event loop of one thread. It adds readiness to the core: a task
/// waiting on a socket is registered with `usock::basic_poller<Backend, Capacity>` (by handle, through its public
/// API only) and the loop's idle wait is the poller's `wait_once`, for as long as the next timer allows (on the
/// raw API, the poll hook: lwIP is called only from the loop, and tasks resume after the wait, never inside
/// an lwIP callback). Another thread or an interrupt handler wakes the wait through a loopback connection the
/// loop opens on first need, or, on an `interruptible_backend`, through `Backend::interrupt_wait()`.
///
/// Registration is lazy: a socket stays registered for the events last waited on after its waiter is woken,
/// so a task that reads, writes and reads again makes no registration call; a readiness reported twice in a row
/// with nobody waiting removes the socket from the poller (a hung-up socket must not keep the wait spinning; the
/// first report is often for a task that is queued and waits again in the same turn). The loop does not poll
/// while a task is ready and none waits on a socket (nobody could be woken).

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <system_error>
#include <thread>

#include "../../address.hpp"
#include "../../basic_socket.hpp"
#include "../../poll.hpp"
#include "../task.hpp"
#include "core.hpp"

#ifndef USOCK_ASYNCIO_CAPACITY
#ifdef USOCK_POLLER_CAPACITY
#define USOCK_ASYNCIO_CAPACITY USOCK_POLLER_CAPACITY
#else
/// How many sockets one `usock::asyncio` loop waits on at most, unless the build says otherwise (the loop's
/// tables are fixed, so a board sets it small and a server serving more connections sets it large).
#define USOCK_ASYNCIO_CAPACITY 4096
#endif
#endif

namespace usock::asyncio {

namespace detail {
/// A task waiting on a socket. `ready` runs in the loop when the poller reports the socket: it makes the call
/// the task waits to make (a `recv`, say) and returns true when done (it has woken the task), false to wait on.
struct io_waiter : waiter {
  bool (*ready)(io_waiter&, unsigned events) noexcept = nullptr;
};

inline std::int64_t to_ns(std::chrono::nanoseconds d) noexcept { return d.count(); }

/// How long to wait for a timer `ns` nanoseconds away, in milliseconds: rounded up below 4.29 s, with a 32-bit
/// division (a 64-bit one is a library routine of 850 bytes on a 32-bit core such as a Cortex-M4); rounded
/// down above (`ns / 2^20`, at most 5% short), which only costs the loop one more turn before the timer.
inline std::chrono::milliseconds wait_ms(std::int64_t ns) noexcept {
  if (ns <= 0) return std::chrono::milliseconds(0);
  if (ns <= 0xFFFFFFFF) {
    const auto n = static_cast<std::uint32_t>(ns);
    return std::chrono::milliseconds(n / 1000000u + (n % 1000000u != 0));
  }
  return std::chrono::milliseconds(ns >> 20);
}
}  // namespace detail

/// The event loop of one thread, on `Backend`, waiting on at most `Capacity` sockets at once.
/// Build one and call `run(main())`, or `run_once(max_wait)` from a firmware main loop.
template <polling_backend Backend, std::size_t Capacity = USOCK_ASYNCIO_CAPACITY>
class basic_loop : public detail::loop_core {
 public:
  using backend_type = Backend;
  using clock = typename Backend::clock;
  using handle_type = typename Backend::handle_type;

  basic_loop() noexcept {
    now_fn = &now;
    if constexpr (interruptible_backend<Backend>) {
      wake_fn = [](loop_core&) noexcept { Backend::interrupt_wait(); };
    } else {
      wake_fn = &wake_thunk;
      prepare_wake = &prepare_wake_thunk;
    }
  }
  /// Ends the tasks still unfinished (a loop driven by `run_once` may have some) as `run` does when `main` has
  /// finished: cancels them and runs them until they end (a task that can never end is destroyed). The frames
  /// nobody holds a handle to are freed now, the others with their handle.
  ~basic_loop() {
    if (task_count() != 0) {
      loop_core*& cur = detail::loop_core::current();
      loop_core* const was = cur;
      cur = this;
      end_tasks();
      cur = was;
    }
    if (detail::loop_core::current() == this) detail::loop_core::current() = nullptr;
    if (wake_reader_.is_open()) forget(wake_reader_.fileno());
  }

  /// Nanoseconds since the backend clock's epoch: the loop's time.
  static std::int64_t now() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now().time_since_epoch()).count();
  }

  /// Makes this the loop of the calling thread (as `run` does), for `run_once` and `create_task`.
  /// Errors: `operation_not_permitted` (another loop is this thread's already).
  void enter(usock::error_code& ec) noexcept {
    loop_core*& cur = detail::loop_core::current();
    if (cur && cur != this) return void(ec = detail::make_error(std::errc::operation_not_permitted));
    cur = this;
    ec.clear();
  }
  /// Stops being the thread's loop.
  void leave() noexcept {
    if (detail::loop_core::current() == this) detail::loop_core::current() = nullptr;
  }

  /// One turn of the loop, for a firmware main loop: fires due timers, waits for readiness at most `max_wait`
  /// (less if a timer is due sooner; not at all when a task is ready; `std::nullopt`: as long as needed),
  /// then runs the tasks that were ready. Returns how many task steps ran. Errors: the poller's.
  std::size_t run_once(std::optional<std::chrono::milliseconds> max_wait, usock::error_code& ec) noexcept {
    ec.clear();
    if (has_timers()) fire_timers(now());  // the clock is read only when a timer could be due
    check_flags();
    std::optional<std::chrono::milliseconds> wait = max_wait;
    if (has_ready()) {
      wait = std::chrono::milliseconds(0);
    } else if (has_timers()) {
      const auto ms = detail::wait_ms(timers().top()->when - now());
      if (!wait || ms < *wait) wait = ms;
    }
    // A task is ready, so the wait would be a zero-timeout poll. It is skipped when it could wake nobody (no
    // task waits on a socket: a write followed by drain's yield would otherwise cost a poll per round trip),
    // and in the turn after a poll (that turn runs what the poll woke and what those tasks queued; a socket's
    // readiness is seen at most one turn later, and a loop busy with ready tasks makes half the polls).
    // Otherwise one wait: it may end early (a signal, or a flag set on an interruptible backend); the timers
    // and flags are looked at again below either way.
    const bool poll_useless = has_ready() && (io_waiters_ == 0 || polled_);
    polled_ = false;
    if constexpr (interruptible_backend<Backend>) {
      if (!poll_useless) {
        polled_ = true;
        ++polls_;
        for (auto [fd, events] : poller_.wait_once(wait, ec)) dispatch(fd, events);  // with no socket: idle wait
      }
      if (ec) return 0;
    } else if (poller_.size() != 0 && !poll_useless) {
      polled_ = true;
      ++polls_;
      for (auto [fd, events] : poller_.wait_once(wait, ec)) dispatch(fd, events);
      if (ec) return 0;
    } else if (!has_ready() && wait) {
      // No socket to wait on (some stacks refuse an empty poll): wait for the next timer. A flag waited on
      // keeps the loop's wake-up socket registered, so this wait never needs waking from another thread.
      sleep_idle(*wait);
    }
    if (has_timers()) fire_timers(now());
    check_flags();
    return run_ready();
  }

  /// True when no task can ever become ready: nothing queued, no timers, no socket or flag waited on.
  bool stuck() const noexcept { return !has_ready() && !has_timers() && io_waiters_ == 0 && !flags; }

  /// `asyncio.run(main)`: runs `main` as a task, and the loop until it finishes; then cancels the tasks still
  /// unfinished and runs them until they end (a task that can never end is destroyed). Returns `main`'s result.
  /// Errors: `operation_not_permitted` (a loop runs on this thread already), `not_enough_memory` (`main`'s frame
  /// could not be allocated), `resource_deadlock_would_occur` (`main` waits on something nothing can bring about),
  /// `operation_canceled`, the poller's errors; with exceptions, what `main` threw is turned into `ec` when it
  /// is a `std::system_error` and rethrown otherwise.
  template <class T>
  T run(task<T> main, usock::error_code& ec) {
    return run_impl(std::move(main), &ec);
  }
#if USOCK_HAS_EXCEPTIONS
  /// As above, throwing `usock::error`, or what `main` threw.
  template <class T>
  T run(task<T> main) {
    return run_impl(std::move(main), nullptr);
  }
#endif

  // ---- readiness, for the awaiters of streams and servers -------------------------------------------------

  /// Makes `w` the reader (`pollin`) or writer (`pollout`) waiting on `h`. Errors: `no_buffer_space` (the loop
  /// waits on `Capacity` sockets already), `device_or_resource_busy` (another task waits the same way on `h`),
  /// the poller's.
  void wait_io(handle_type h, unsigned event, detail::io_waiter& w, usock::error_code& ec) noexcept {
    io_entry* e = find_or_add(h);
    if (!e) return void(ec = detail::make_error(std::errc::no_buffer_space));
    detail::io_waiter*& slot = event == pollin ? e->reader : e->writer;
    if (slot) return void(ec = detail::make_error(std::errc::device_or_resource_busy));
    // The events waited on now: a direction nobody waits on any more (a connect's pollout, then reads) is
    // dropped here rather than reported once for nothing and dropped then.
    const unsigned want = event | (event == pollin ? (e->writer ? pollout : 0u) : (e->reader ? pollin : 0u));
    if (want != e->registered) {
      if (e->registered == 0) poller_.add(h, want, ec); else poller_.modify(h, want, ec);
      if (ec) {
        if (e->registered == 0 && !e->reader && !e->writer) erase(*e);
        return;
      }
      e->registered = want;
    }
    slot = &w;
    ++io_waiters_;
    ec.clear();
  }
  /// `w` stops waiting on `h` (it was cancelled); the registration stays until the next readiness report.
  void unwait_io(handle_type h, detail::io_waiter& w) noexcept {
    io_entry* e = find(h);
    if (!e) return;
    if (e->reader == &w) e->reader = nullptr, --io_waiters_;
    if (e->writer == &w) e->writer = nullptr, --io_waiters_;
  }
  /// The socket `h` is closing: no more reports for it. Waiters must have gone.
  void forget(handle_type h) noexcept {
    io_entry* e = find(h);
    if (!e) return;
    if (e->registered) {
      usock::error_code ignored;
      poller_.remove(h, ignored);
    }
    erase(*e);
  }

  /// How many sockets are registered with the poller now.
  std::size_t registered() const noexcept { return poller_.size(); }
  /// How many times the loop has waited for readiness (its polls, counted from 1): two reports of one socket
  /// are from polls in a row when their counts differ by one.
  std::uint32_t polls() const noexcept { return polls_; }

 private:
  struct io_entry {
    handle_type handle = Backend::invalid_handle;
    unsigned registered = 0;
    detail::io_waiter* reader = nullptr;
    detail::io_waiter* writer = nullptr;
    bool persistent = false;  // the loop's own wake-up socket
    unsigned char idle_reports = 0;  // reports in a row that no waiter took
  };
  static constexpr std::size_t table_size = [] {
    std::size_t n = 1;
    while (n < 2 * Capacity) n *= 2;
    return n;
  }();

  template <class T>
  T run_impl(task<T> main, usock::error_code* ec) {
    usock::error_code e;
    enter(e);
    if (!e) {
      task_handle<T> h = detail::spawn(*this, std::move(main), e);
      if (!e) {
        while (!h.done() && !e) {
          if (stuck()) {
            e = detail::make_error(std::errc::resource_deadlock_would_occur);
            break;
          }
          run_once(std::nullopt, e);
        }
        end_tasks();
        if (!e) return finish_main(h, ec);
      }
      leave();
    }
    detail::report(ec, e, "run");
    if constexpr (!std::is_void_v<T>) return detail::promise<T>{}.take();
  }
  /// Cancels the unfinished tasks and runs them until they end; destroys those that never can.
  void end_tasks() noexcept {
    cancel_all();
    usock::error_code ignored;
    while (task_count() != 0 && !stuck() && !ignored) run_once(std::nullopt, ignored);
    destroy_stuck();
  }
  template <class T>
  T finish_main(task_handle<T>& h, usock::error_code* ec) {
    leave();
    auto& p = h.native_handle().promise();
    detail::report(ec, p.outcome(), "run");
    p.rethrow(ec);
    return p.take();
  }

  void dispatch(handle_type fd, unsigned events) noexcept {
    io_entry* e = find(fd);
    if (!e) return;
    bool used = false;
    if (e->reader && (events & (pollin | pollerr | pollhup | pollnval))) {
      used = true;
      if (e->reader->ready(*e->reader, events)) e->reader = nullptr, --io_waiters_;
    }
    if (e->writer && (events & (pollout | pollerr | pollhup | pollnval))) {
      used = true;
      if (e->writer->ready(*e->writer, events)) e->writer = nullptr, --io_waiters_;
    }
    if (used) e->idle_reports = 0;
    if (used || e->persistent) return;
    // Nobody waited for this report. Its task is often queued already (in drain's yield, say) and waits again
    // in this same turn, so the first such report keeps the registration (no epoll_ctl out and back in per
    // message); a second in a row means nobody is coming: ask only for what is waited on now (nothing: leave
    // the poller, so a hung-up socket cannot keep the wait spinning).
    if (e->idle_reports++ == 0) return;
    e->idle_reports = 0;
    const unsigned wanted = (e->reader ? pollin : 0u) | (e->writer ? pollout : 0u);
    usock::error_code ignored;
    if (wanted == 0) {
      poller_.remove(fd, ignored);
      erase(*e);
    } else if (wanted != e->registered) {
      poller_.modify(fd, wanted, ignored);
      e->registered = wanted;
    }
  }

  // Open addressing with linear probing; erase shifts entries back, so no tombstones.
  static std::size_t slot_of(handle_type h) noexcept {
    return (static_cast<std::size_t>(static_cast<std::uint32_t>(h)) * 2654435761u) & (table_size - 1);
  }
  /// The entry of `h`, or the empty entry where it would go (there is one: the table is twice the capacity).
  io_entry& probe(handle_type h) noexcept {
    std::size_t i = slot_of(h);
    while (table_[i].handle != h && table_[i].handle != Backend::invalid_handle) i = (i + 1) & (table_size - 1);
    return table_[i];
  }
  io_entry* find(handle_type h) noexcept {
    io_entry& e = probe(h);
    return e.handle == h ? &e : nullptr;
  }
  io_entry* find_or_add(handle_type h) noexcept {
    io_entry& e = probe(h);
    if (e.handle == h) return &e;
    if (entries_ == Capacity) return nullptr;
    e = io_entry{h, 0, nullptr, nullptr, false, 0};
    ++entries_;
    return &e;
  }
  void erase(io_entry& e) noexcept {
    std::size_t i = static_cast<std::size_t>(&e - table_.data());
    table_[i] = io_entry{};
    --entries_;
    for (std::size_t j = (i + 1) & (table_size - 1); table_[j].handle != Backend::invalid_handle;
         j = (j + 1) & (table_size - 1)) {
      const std::size_t home = slot_of(table_[j].handle);
      // Move j back into the hole at i if its home is not in (i, j] (cyclically).
      const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
      if (!stays) {
        table_[i] = table_[j];
        table_[j] = io_entry{};
        i = j;
      }
    }
  }

  // A template, so that a backend whose wait is interruptible (firmware, possibly without std::this_thread)
  // never instantiates it.
  template <class Duration>
  static void sleep_idle(Duration d) {
    std::this_thread::sleep_for(d);
  }

  // ---- waking from another thread: a loopback connection the loop reads ---------------------------------
  // (Backends that are not interruptible_backend; the others are woken by Backend::interrupt_wait().)
  static void wake_thunk(loop_core& core) noexcept {
    auto& self = static_cast<basic_loop&>(core);
    const handle_type h = self.wake_writer_handle_.load(std::memory_order_acquire);
    if (h == Backend::invalid_handle) return;
    const char byte = 1;
    usock::error_code ignored;
    Backend::send(h, const_bytes(std::string_view(&byte, 1)), ignored);  // a full buffer means a wake-up is pending already
  }
  static bool prepare_wake_thunk(loop_core& core, usock::error_code& ec) noexcept {
    return static_cast<basic_loop&>(core).prepare_wake_pair(ec);
  }
  bool prepare_wake_pair(usock::error_code& ec) noexcept {
    if (wake_reader_.is_open()) return ec.clear(), true;
    using socket = basic_socket<Backend>;
    socket listener(af_inet, sock_stream, ec);
    if (!ec) listener.bind(address("127.0.0.1", 0), ec);
    if (!ec) listener.listen(1, ec);
    const address where = ec ? address{} : listener.getsockname(ec);
    socket writer = ec ? socket::adopt(Backend::invalid_handle) : socket(af_inet, sock_stream, ec);
    if (!ec) writer.connect(where, ec);
    auto [reader, peer] = ec ? accept_result<socket>{socket::adopt(Backend::invalid_handle), {}} : listener.accept(ec);
    if (!ec) reader.setblocking(false, ec);
    if (!ec) writer.setblocking(false, ec);
    if (!ec) writer.setsockopt(ipproto_tcp, tcp_nodelay, 1, ec);  // each wake-up byte leaves at once
    if (ec) return false;
    io_entry* e = find_or_add(reader.fileno());
    if (!e) return ec = detail::make_error(std::errc::no_buffer_space), false;
    poller_.add(reader.fileno(), pollin, ec);
    if (ec) return erase(*e), false;
    e->registered = pollin;
    e->persistent = true;
    wake_drain_.self = this;
    wake_drain_.ready = [](detail::io_waiter& w, unsigned) noexcept {
      auto& self = *static_cast<wake_drain&>(w).self;
      std::byte sink[64];
      usock::error_code err;
      while (Backend::recv(self.wake_reader_.fileno(), mutable_bytes(sink, sizeof sink), err) == sizeof sink) {
      }
      return false;  // stays the reader for good
    };
    e->reader = &wake_drain_;
    wake_reader_ = std::move(reader);
    wake_writer_ = std::move(writer);
    wake_writer_handle_.store(wake_writer_.fileno(), std::memory_order_release);
    return true;
  }
  basic_poller<Backend, Capacity> poller_;
  std::array<io_entry, table_size> table_{};
  std::size_t entries_ = 0;
  std::size_t io_waiters_ = 0;
  bool polled_ = false;  // the last turn polled
  std::uint32_t polls_ = 0;
  basic_socket<Backend> wake_reader_ = basic_socket<Backend>::adopt(Backend::invalid_handle);
  basic_socket<Backend> wake_writer_ = basic_socket<Backend>::adopt(Backend::invalid_handle);
  std::atomic<handle_type> wake_writer_handle_{Backend::invalid_handle};
  struct wake_drain : detail::io_waiter {
    basic_loop* self = nullptr;
  } wake_drain_;
};

}  // namespace usock::asyncio
