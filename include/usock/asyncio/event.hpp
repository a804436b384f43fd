#pragma once
/// \file
/// `usock::asyncio::event`, as MicroPython's `asyncio.Event`.

#include <coroutine>
#include <system_error>

#include "loop/core.hpp"
#include "waiter_list.hpp"

namespace usock::asyncio {

/// A flag tasks can wait for: `set()` wakes every waiting task (in the order they began to wait) and keeps
/// the event set until `clear()`. A plain object, constructible before any loop runs (`constinit` at namespace
/// scope); used from the loop's thread only (see `thread_safe_flag` for other threads).
class event {
 public:
  constexpr event() noexcept = default;
  event(const event&) = delete;
  event& operator=(const event&) = delete;

  /// `event.set()`: sets the event and wakes every waiter.
  void set() noexcept {
    set_ = true;
    while (waiters_.wake_one()) {
    }
  }
  /// `event.clear()`.
  void clear() noexcept { set_ = false; }
  /// `event.is_set()`.
  bool is_set() const noexcept { return set_; }

  struct awaiter : detail::queued_waiter {
    event* e;
    explicit awaiter(event* ev, usock::error_code* code) noexcept : e(ev) { ec = code; }
    ~awaiter() { e->waiters_.remove(*this); }
    bool await_ready() const noexcept { return false; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> h) noexcept {
      self = &detail::state_of(h);
      if (self->loop->take_cancel(*self)) return !(cancelled = true);
      if (e->set_) return false;
      e->waiters_.push(*this, h);
      return true;
    }
    void await_resume() {
      detail::report(ec, cancelled ? detail::make_error(std::errc::operation_canceled) : usock::error_code{},
                     "event.wait");
    }
  };

#if USOCK_HAS_EXCEPTIONS
  /// `await event.wait()`: returns at once if set, else when `set()` is called. Throws
  /// `usock::error(operation_canceled)` if the task is cancelled meanwhile.
  awaiter wait() noexcept { return awaiter(this, nullptr); }
#endif
  /// As above; a cancellation sets `ec` to `operation_canceled` (cleared otherwise).
  awaiter wait(usock::error_code& ec) noexcept { return awaiter(this, &ec); }

 private:
  detail::waiter_list waiters_;
  bool set_ = false;
};

}  // namespace usock::asyncio
