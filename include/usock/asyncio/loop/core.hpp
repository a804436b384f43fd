#pragma once
/// \file
/// The backend-independent heart of the loop: the task record, the FIFO run queue, the timers, cancellation.
/// It knows tasks and timers and nothing of sockets; `basic_loop<Backend>` (loop.hpp) adds readiness.

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <system_error>

#include "../../error.hpp"
#include "../config.hpp"
#include "timers.hpp"

namespace usock::asyncio {

#ifndef USOCK_ASYNCIO_MAX_SYNC_DEPTH
/// How many resumptions in a row may nest on the stack (a task awaiting a task that finishes at once, and so on)
/// before the loop takes the next one through its run queue. Compilers make the resumption a tail call only
/// at some optimisation levels and never under AddressSanitizer, so without a bound a long chain of synchronous
/// completions overflows the stack.
#define USOCK_ASYNCIO_MAX_SYNC_DEPTH 32
#endif

#ifndef USOCK_ASYNCIO_BUDGET
/// How many awaits in a row may complete without suspending (reads that find data waiting, say) before the
/// task yields to the others, so a fast stream cannot starve the loop.
#define USOCK_ASYNCIO_BUDGET 64
#endif

namespace detail {

class loop_core;
struct task_state;

using usock::detail::make_error;

/// What a suspended task waits on (a sleep, an event, a socket...), until the task runs again: it may have
/// been woken and be queued. `cancel` makes the await report `operation_canceled` (undoing what it got, if that
/// can be undone: a lock it was handed is passed on) and queues the task, or (a task waiting on a task) passes
/// the cancellation on; it returns false when the await cannot be cancelled any more (a read that has taken
/// bytes), and the task's next await reports the cancellation instead.
struct waiter {
  bool (*cancel)(waiter&) noexcept = nullptr;
};

/// Who cancels: `handle.cancel()` (no source) or a `wait_for` whose time ran out (its scope).
struct cancel_source {
  bool delivered = false;  // an await in the task reported the cancellation
};

/// Told when a task finishes (a task awaiting it, a `gather`).
struct join_node {
  join_node* next = nullptr;
  void (*done)(join_node&) noexcept = nullptr;
};

/// A task as the loop sees it. Each coroutine's promise holds one; a task awaited inline shares its caller's.
struct task_state {
  loop_core* loop = nullptr;
  std::coroutine_handle<> resume;  // what runs when the loop takes this task from the run queue
  std::coroutine_handle<> root;    // the task's outermost frame
  task_state* next = nullptr;      // run queue
  task_state* all_prev = nullptr;  // the loop's list of unfinished tasks
  task_state* all_next = nullptr;
  waiter* waiting = nullptr;
  cancel_source* pending_source = nullptr;
  join_node* joiners = nullptr;
  bool cancel_pending = false;
  bool started = false;
  bool done = false;
  bool detached = false;
  bool queued = false;
  bool cancelled_unstarted = false;
  bool start_anyway = false;  // a cancellation before the start goes to the first await instead
};

/// The run queue, the timers and the tasks of one loop; one loop per thread.
class loop_core {
 public:
  loop_core() noexcept = default;
  loop_core(const loop_core&) = delete;
  loop_core& operator=(const loop_core&) = delete;

  /// The loop running on this thread, or nullptr.
  static loop_core*& current() noexcept {
    static USOCK_ASYNCIO_THREAD_LOCAL loop_core* loop = nullptr;
    return loop;
  }

  /// Adds a new task (its frame suspended at the start) to the tail of the run queue.
  void spawn(task_state& t, std::coroutine_handle<> root) noexcept {
    t.loop = this;
    t.root = root;
    t.resume = root;
    t.all_next = all_;
    if (all_) all_->all_prev = &t;
    all_ = &t;
    ++tasks_;
    schedule(t);
  }

  void schedule(task_state& t) noexcept {
    if (t.queued) return;
    t.queued = true;
    t.next = nullptr;
    if (tail_) tail_->next = &t; else head_ = &t;
    tail_ = &t;
  }

  /// Queues `t`, whose wait has ended (it stays cancellable until `t` runs).
  void wake(task_state& t) noexcept { schedule(t); }

  /// `t` suspends in `h`, waiting on `w`.
  void suspend(task_state& t, waiter& w, std::coroutine_handle<> h) noexcept {
    t.resume = h;
    t.waiting = &w;
  }

  /// `t` gives way: it runs again after every task queued now.
  void yield(task_state& t, waiter& w, std::coroutine_handle<> h) noexcept {
    suspend(t, w, h);
    schedule(t);
  }

  /// True (and the cancellation consumed) when `t` has a cancellation waiting for its next await.
  bool take_cancel(task_state& t) noexcept {
    if (!t.cancel_pending) return false;
    t.cancel_pending = false;
    if (t.pending_source) t.pending_source->delivered = true;
    t.pending_source = nullptr;
    return true;
  }

  /// Drops a cancellation from `source` that no await has taken yet (its `wait_for` has ended).
  void withdraw(task_state& t, cancel_source& source) noexcept {
    if (t.cancel_pending && t.pending_source == &source) {
      t.cancel_pending = false;
      t.pending_source = nullptr;
    }
  }

  /// Cancels `t`'s current await, or its next one if it is not waiting now. False if it has finished.
  bool cancel(task_state& t, cancel_source* source) noexcept {
    if (t.done) return false;
    if (t.waiting && t.waiting->cancel(*t.waiting)) {
      if (source) source->delivered = true;
      return true;
    }
    t.cancel_pending = true;
    t.pending_source = source;
    return true;
  }

  /// Cancels `t`'s current await, or, if it has not started, its first await (it runs until then).
  bool cancel_at_first_await(task_state& t) noexcept {
    if (!t.started && !t.done) {
      t.start_anyway = true;
      t.cancel_pending = true;
      t.pending_source = nullptr;
      return true;
    }
    return cancel(t, nullptr);
  }

  /// Where control goes from a task moving into `target` (a task it awaits, or back to its caller): straight
  /// there, unless too many such moves have nested already; then through the run queue.
  std::coroutine_handle<> transfer(task_state& t, std::coroutine_handle<> target) noexcept {
    if (++depth_ <= USOCK_ASYNCIO_MAX_SYNC_DEPTH) return target;
    t.resume = target;
    schedule(t);
    return std::noop_coroutine();
  }

  /// Counts an await that completed without suspending; true when the task should yield instead.
  bool over_budget() noexcept { return ++budget_ > USOCK_ASYNCIO_BUDGET; }

  /// For an await that finds its result already there (a line in a stream's read-ahead): true when it may
  /// complete without suspending, counted as `over_budget` counts; false when the running task has a
  /// cancellation waiting for its next await, its budget is spent, or no task of this loop is running (the
  /// await then takes its ordinary path, which reports or yields).
  bool may_complete_now() noexcept { return running_ && !running_->cancel_pending && !over_budget(); }

  /// A task's frame has finished: wakes what waits on it. True when nothing owns the frame any more (the
  /// caller destroys it).
  bool finish(task_state& t) noexcept {
    t.done = true;
    t.waiting = nullptr;
    if (t.all_prev) t.all_prev->all_next = t.all_next; else all_ = t.all_next;
    if (t.all_next) t.all_next->all_prev = t.all_prev;
    t.all_prev = t.all_next = nullptr;
    --tasks_;
    for (join_node* j = std::exchange(t.joiners, nullptr); j;) {
      join_node* next = j->next;
      j->done(*j);
      j = next;
    }
    return t.detached;
  }

  /// Runs the tasks queued now (not those they queue). Returns how many ran.
  std::size_t run_ready() noexcept {
    std::size_t ran = 0;
    task_state* last = tail_;
    while (head_) {
      task_state* t = head_;
      head_ = t->next;
      if (!head_) tail_ = nullptr;
      t->queued = false;
      t->next = nullptr;
      ++ran;
      run_one(*t);
      if (t == last) break;
    }
    return ran;
  }

  bool has_ready() const noexcept { return head_ != nullptr; }
  bool has_timers() const noexcept { return !timers_.empty(); }
  /// Unfinished tasks on this loop.
  std::size_t task_count() const noexcept { return tasks_; }

  timer_heap& timers() noexcept { return timers_; }
  /// Fires every timer due at `now` (nanoseconds since the clock's epoch).
  void fire_timers(std::int64_t now) noexcept {
    while (!timers_.empty() && timers_.top()->when <= now) {
      timer_node* n = timers_.pop();
      n->fire(*n);
    }
  }

  /// Cancels every unfinished task (used when `run` ends).
  void cancel_all() noexcept {
    for (task_state* t = all_; t; t = t->all_next) cancel(*t, nullptr);
  }
  /// Ends the tasks that cannot finish (nothing can wake them): each reports `operation_canceled` to its handle;
  /// the frames nobody holds a handle to are destroyed (the others when their handle is).
  void destroy_stuck() noexcept {
    while (all_) {
      task_state* t = all_;
      t->cancelled_unstarted = true;
      const std::coroutine_handle<> root = t->root;
      if (finish(*t)) root.destroy();
    }
    head_ = tail_ = nullptr;
  }

  /// Set by the backend loop: its clock, in nanoseconds since the clock's epoch.
  std::int64_t (*now_fn)() noexcept = nullptr;

  // ---- thread_safe_flag support --------------------------------------------------------------------
  /// Set by the backend loop: interrupts a wait in the kernel (callable from any thread).
  void (*wake_fn)(loop_core&) noexcept = nullptr;
  /// Set by the backend loop: makes `wake_fn` work (opens what it needs, once). Errors: the stack's.
  bool (*prepare_wake)(loop_core&, usock::error_code&) noexcept = nullptr;
  /// Flags waited on in this loop; checked each iteration.
  struct flag_waiter {
    flag_waiter* next = nullptr;
    flag_waiter* prev = nullptr;
    bool (*check)(flag_waiter&) noexcept = nullptr;  // true when it woke its task (and unlinked itself)
  };
  flag_waiter* flags = nullptr;
  std::atomic<bool> flag_signalled{false};
  void link_flag(flag_waiter& f) noexcept {
    f.prev = nullptr;
    f.next = flags;
    if (flags) flags->prev = &f;
    flags = &f;
  }
  void unlink_flag(flag_waiter& f) noexcept {
    if (f.prev) f.prev->next = f.next; else if (flags == &f) flags = f.next;
    if (f.next) f.next->prev = f.prev;
    f.next = f.prev = nullptr;
  }
  /// Wakes the tasks whose flags were set since the last look.
  void check_flags() noexcept {
    if (!flags || !flag_signalled.exchange(false, std::memory_order_acq_rel)) return;
    for (flag_waiter* f = flags; f;) {
      flag_waiter* next = f->next;
      f->check(*f);
      f = next;
    }
  }

 protected:
  ~loop_core() = default;

 private:
  void run_one(task_state& t) noexcept {
    depth_ = 0;
    budget_ = 0;
    if (!t.started) {
      if (t.cancel_pending && !t.start_anyway) {  // cancelled before it ran: it never runs (as in MicroPython)
        t.cancel_pending = false;
        t.cancelled_unstarted = true;
        if (finish(t)) t.root.destroy();
        return;
      }
      t.started = true;
    }
    t.waiting = nullptr;
    running_ = &t;
    t.resume.resume();
    running_ = nullptr;
  }

  task_state* head_ = nullptr;
  task_state* tail_ = nullptr;
  task_state* all_ = nullptr;
  std::size_t tasks_ = 0;
  timer_heap timers_;
  unsigned depth_ = 0;
  unsigned budget_ = 0;
  task_state* running_ = nullptr;  // the task run_one is running
};

/// The task state of the coroutine `h` (awaiters are awaited from `asyncio::task` coroutines only).
template <class Promise>
task_state& state_of(std::coroutine_handle<Promise> h) noexcept {
  return *h.promise().state_;
}

/// Reports `e` through `ec` when given, else throws it (the throwing forms); `e` may be success.
inline void report(usock::error_code* ec, usock::error_code e, [[maybe_unused]] const char* operation) {
  if (ec) {
    *ec = e;
    return;
  }
#if USOCK_HAS_EXCEPTIONS
  if (e) throw usock::error(e, operation);
#endif
}

}  // namespace detail
}  // namespace usock::asyncio
