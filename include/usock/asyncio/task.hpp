#pragma once
/// \file
/// `usock::asyncio::task<T>`, the coroutine type, and `task_handle<T>`, what `create_task` returns.

#include <coroutine>
#include <cstddef>
#include <optional>
#include <system_error>
#include <type_traits>
#include <utility>

#if USOCK_HAS_EXCEPTIONS
#include <exception>
#endif

#include "../error.hpp"
#include "arena.hpp"
#include "loop/core.hpp"

namespace usock::asyncio {

/// What a `task<void>` gives back, so `gather` can put it in a tuple.
struct nothing {
  friend bool operator==(nothing, nothing) noexcept { return true; }
};

template <class T = void>
class task;

namespace detail {

/// The part of every promise that does not depend on the result type.
class promise_base {
 public:
  promise_base() noexcept : state_(&own_) {}

  std::suspend_always initial_suspend() noexcept { return {}; }

  struct final_awaiter {
    bool await_ready() noexcept { return false; }
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> h) noexcept {
      promise_base& p = h.promise();
      task_state& t = *p.state_;
      if (p.continuation_) return t.loop->transfer(t, p.continuation_);
      if (t.loop->finish(t)) h.destroy();
      return std::noop_coroutine();
    }
    void await_resume() noexcept {}
  };
  final_awaiter final_suspend() noexcept { return {}; }

#if USOCK_HAS_EXCEPTIONS
  void unhandled_exception() noexcept { exception_ = std::current_exception(); }
#else
  void unhandled_exception() noexcept {}
#endif

  static void* operator new(std::size_t size) noexcept { return allocate_frame(size); }
  static void operator delete(void* frame, std::size_t size) noexcept { free_frame(frame, size); }

  task_state* state_;            // the task this frame runs in: its own, or its caller's when awaited inline
  task_state own_;               // used when this frame is a task of its own (create_task, gather, run)
  std::coroutine_handle<> continuation_;  // the frame awaiting this one inline
#if USOCK_HAS_EXCEPTIONS
  std::exception_ptr exception_;
#endif

  /// True when the task ended in an error: cancelled before it ran, or (with exceptions) it threw.
  bool failed() const noexcept {
#if USOCK_HAS_EXCEPTIONS
    if (exception_) return true;
#endif
    return own_.cancelled_unstarted;
  }
  /// The error of a finished frame: `operation_canceled` if it never ran or was abandoned, else none.
  usock::error_code outcome() const noexcept {
    return own_.cancelled_unstarted ? make_error(std::errc::operation_canceled) : usock::error_code{};
  }
  /// Rethrows what the coroutine threw (throwing forms), or turns a `usock::error` into `*ec` (`ec` forms).
  void rethrow(usock::error_code* ec) {
#if USOCK_HAS_EXCEPTIONS
    if (!exception_) return;
    if (!ec) std::rethrow_exception(std::exchange(exception_, nullptr));
    try {
      std::rethrow_exception(exception_);
    } catch (const std::system_error& e) {
      exception_ = nullptr;
      *ec = e.code();
    }
#else
    (void)ec;
#endif
  }
};

template <class T>
class promise : public promise_base {
 public:
  task<T> get_return_object() noexcept;
  static task<T> get_return_object_on_allocation_failure() noexcept;
  template <class U>
  void return_value(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    value_.emplace(std::forward<U>(v));
  }
  /// The result, moved out; `T{}` when there is none (the error says why).
  T take() {
    if (value_) return std::move(*value_);
    if constexpr (std::is_default_constructible_v<T>) return T{};
    else std::terminate();  // only reached after an error was reported by a throwing form
  }
  /// The result, copied if it can be (a task handle may be awaited again), else moved out.
  T get() {
    if constexpr (std::is_copy_constructible_v<T>) {
      if (value_) return *value_;
    }
    return take();
  }
  std::optional<T> value_;
};

template <>
class promise<void> : public promise_base {
 public:
  task<void> get_return_object() noexcept;
  static task<void> get_return_object_on_allocation_failure() noexcept;
  void return_void() noexcept {}
  void take() noexcept {}
  void get() noexcept {}
};

/// `co_await` of a task, inline: the awaited frame runs in the caller's task, straight away.
template <class T>
struct inline_awaiter {
  std::coroutine_handle<promise<T>> h;
  usock::error_code* ec;
  bool await_ready() const noexcept { return !h; }
  template <class Promise>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> caller) noexcept {
    task_state& t = state_of(caller);
    h.promise().state_ = &t;
    h.promise().continuation_ = caller;
    return t.loop->transfer(t, h);
  }
  T await_resume() {
    if (!h) {
      report(ec, make_error(std::errc::not_enough_memory), "task");
      if constexpr (!std::is_void_v<T>) return promise<T>{}.take();
      else return;
    }
    if (ec) ec->clear();
    h.promise().rethrow(ec);
    return h.promise().take();
  }
};

}  // namespace detail

/// A coroutine returning `T`: `asyncio::task<int> f() { co_return 1; }`. Lazy: it starts when awaited
/// (`co_await f()`, running in the caller's task), or scheduled (`create_task(f())`, `gather`, `run`).
/// Move-only; destroying an unstarted task destroys its frame.
///
/// A frame comes from the thread's arena (`arena_scope`) or the heap; if there is no room, the task is empty
/// (`!t`): `create_task` reports `not_enough_memory`, as does awaiting it.
template <class T>
class [[nodiscard]] task {
 public:
  using promise_type = detail::promise<T>;
  using value_type = T;

  task() noexcept = default;
  task(task&& other) noexcept : h_(std::exchange(other.h_, nullptr)) {}
  task& operator=(task&& other) noexcept {
    if (this != &other) {
      reset();
      h_ = std::exchange(other.h_, nullptr);
    }
    return *this;
  }
  ~task() { reset(); }

  /// False when the frame could not be allocated.
  explicit operator bool() const noexcept { return static_cast<bool>(h_); }

#if USOCK_HAS_EXCEPTIONS
  /// `co_await t`: runs it in this task and returns its result; rethrows what it threw; `not_enough_memory`
  /// if its frame could not be allocated.
  auto operator co_await() && noexcept { return detail::inline_awaiter<T>{h_, nullptr}; }
#endif
  /// `co_await t.result(ec)`: as above, reporting `not_enough_memory` (and, with exceptions, a `usock::error`
  /// the task threw) through `ec`.
  auto result(usock::error_code& ec) && noexcept { return detail::inline_awaiter<T>{h_, &ec}; }

  /// Takes the frame (for `create_task`, `gather`).
  std::coroutine_handle<promise_type> release() noexcept { return std::exchange(h_, nullptr); }

 private:
  friend promise_type;
  explicit task(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
  void reset() noexcept {
    if (h_) std::exchange(h_, nullptr).destroy();
  }
  std::coroutine_handle<promise_type> h_;
};

namespace detail {
template <class T>
task<T> promise<T>::get_return_object() noexcept {
  return task<T>(std::coroutine_handle<promise<T>>::from_promise(*this));
}
template <class T>
task<T> promise<T>::get_return_object_on_allocation_failure() noexcept {
  return task<T>();
}
inline task<void> promise<void>::get_return_object() noexcept {
  return task<void>(std::coroutine_handle<promise<void>>::from_promise(*this));
}
inline task<void> promise<void>::get_return_object_on_allocation_failure() noexcept { return task<void>(); }

/// `co_await handle`: waits for a task of its own to finish. Cancelling the waiting task cancels that task
/// (MicroPython passes the cancellation on) and still waits for it to finish.
template <class T>
struct join_awaiter : waiter, join_node {
  std::coroutine_handle<promise<T>> target;
  usock::error_code* ec;
  usock::error_code early;  // an error known before waiting (an empty handle)
  task_state* self = nullptr;
  bool cancelled = false;

  join_awaiter(std::coroutine_handle<promise<T>> h, usock::error_code* e, usock::error_code err) noexcept
      : target(h), ec(e), early(err) {}
  ~join_awaiter() {
    if (self && target && !target.promise().own_.done) unlink();
  }

  bool await_ready() const noexcept { return !target || target.promise().own_.done; }
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) noexcept {
    self = &state_of(h);
    loop_core& loop = *self->loop;
    if (loop.take_cancel(*self)) loop.cancel(target.promise().own_, nullptr);
    waiter::cancel = [](waiter& w) noexcept {
      auto& j = static_cast<join_awaiter&>(w);
      if (j.target.promise().own_.done) {  // woken, not yet run: this await ends cancelled (the result stays)
        j.cancelled = true;
        return true;
      }
      return j.self->loop->cancel(j.target.promise().own_, nullptr);
    };
    join_node::done = [](join_node& n) noexcept {
      auto& j = static_cast<join_awaiter&>(n);
      j.self->loop->wake(*j.self);
    };
    task_state& ts = target.promise().own_;
    join_node::next = ts.joiners;
    ts.joiners = this;
    loop.suspend(*self, *this, h);
    return true;
  }
  T await_resume() {
    usock::error_code e = early;
    if (!e && cancelled) e = make_error(std::errc::operation_canceled);
    if (!e && target) e = target.promise().outcome();
    if (e) {
      report(ec, e, "task");
      if constexpr (!std::is_void_v<T>) return promise<T>{}.take();
      else return;
    }
    if (ec) ec->clear();
    target.promise().rethrow(ec);
    return target.promise().get();
  }

 private:
  void unlink() noexcept {
    join_node** p = &target.promise().own_.joiners;
    while (*p && *p != static_cast<join_node*>(this)) p = &(*p)->next;
    if (*p) *p = join_node::next;
  }
};
}  // namespace detail

/// A task scheduled with `create_task`: `co_await h` returns its result, `h.cancel()`, `h.done()`.
/// Destroying the handle lets the task run on (detached); the frame goes once both have finished. A handle
/// must not outlive the `run` its task belongs to unless the task has finished.
template <class T = void>
class task_handle {
 public:
  using promise_type = detail::promise<T>;

  task_handle() noexcept = default;
  explicit task_handle(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
  task_handle(task_handle&& other) noexcept : h_(std::exchange(other.h_, nullptr)) {}
  task_handle& operator=(task_handle&& other) noexcept {
    if (this != &other) {
      reset();
      h_ = std::exchange(other.h_, nullptr);
    }
    return *this;
  }
  ~task_handle() { reset(); }

  /// The task's frame (for the loop).
  std::coroutine_handle<promise_type> native_handle() const noexcept { return h_; }

  /// False for the handle of a task that could not be created.
  explicit operator bool() const noexcept { return static_cast<bool>(h_); }

  /// `task.done()`: true once the task has finished (returned, thrown, or was cancelled before it ran).
  bool done() const noexcept { return !h_ || h_.promise().own_.done; }

  /// `task.cancel()`: the task's current await (or its next, if it is running or queued) completes with
  /// `operation_canceled`, once; a task cancelled before it started never runs. A task awaiting another
  /// task passes the cancellation on. Returns false if the task has finished.
  bool cancel() noexcept {
    if (done()) return false;
    detail::task_state& t = h_.promise().own_;
    return t.loop->cancel(t, nullptr);
  }

#if USOCK_HAS_EXCEPTIONS
  /// `await task`: waits until it finishes and returns its result (a copy, or moved out if `T` cannot be
  /// copied), or rethrows what it threw; `operation_canceled` if it was cancelled before it ran. Cancelling
  /// the awaiting task cancels this one, and the await goes on until it has finished (as MicroPython's).
  auto operator co_await() noexcept { return awaiter(nullptr); }
#endif
  /// As above, reporting errors through `ec` (`T{}` then).
  auto result(usock::error_code& ec) noexcept { return awaiter(&ec); }

 private:
  detail::join_awaiter<T> awaiter(usock::error_code* ec) noexcept {
    return {h_, ec, h_ ? usock::error_code{} : detail::make_error(std::errc::not_enough_memory)};
  }
  void reset() noexcept {
    if (!h_) return;
    auto h = std::exchange(h_, nullptr);
    if (h.promise().own_.done) h.destroy(); else h.promise().own_.detached = true;
  }
  std::coroutine_handle<promise_type> h_;
};

namespace detail {
/// Schedules `t` as a task of its own on `loop`.
template <class T>
task_handle<T> spawn(loop_core& loop, task<T> t, usock::error_code& ec) noexcept {
  auto h = t.release();
  if (!h) {
    ec = make_error(std::errc::not_enough_memory);
    return {};
  }
  ec.clear();
  loop.spawn(h.promise().own_, h);
  return task_handle<T>(h);
}
}  // namespace detail

/// `asyncio.create_task(coro)`: schedules the task at the tail of the run queue (tasks start in the order they
/// were created) on this thread's running loop. Errors: `not_enough_memory` (the task's frame could not be
/// allocated), `operation_not_permitted` (no loop runs on this thread).
template <class T>
task_handle<T> create_task(task<T> t, usock::error_code& ec) noexcept {
  detail::loop_core* loop = detail::loop_core::current();
  if (!loop) {
    ec = detail::make_error(std::errc::operation_not_permitted);
    return {};
  }
  return detail::spawn(*loop, std::move(t), ec);
}
#if USOCK_HAS_EXCEPTIONS
template <class T>
task_handle<T> create_task(task<T> t) {
  usock::error_code ec;
  task_handle<T> h = create_task(std::move(t), ec);
  usock::detail::throw_if(ec, "create_task");
  return h;
}
#endif

}  // namespace usock::asyncio
