#pragma once
/// \file
/// `usock::asyncio::lock`, as MicroPython's `asyncio.Lock`.

#include <coroutine>
#include <system_error>

#include "loop/core.hpp"
#include "waiter_list.hpp"

namespace usock::asyncio {

/// A mutual-exclusion lock for tasks, handed over first come, first served: `release()` gives it straight to
/// the longest waiter (it never becomes free in between, so no later task can barge in). A waiter that is
/// cancelled leaves the queue without the lock. A plain object, constructible before any loop runs; used
/// from the loop's thread only.
class lock {
 public:
  constexpr lock() noexcept = default;
  lock(const lock&) = delete;
  lock& operator=(const lock&) = delete;

  /// `lock.locked()`. False while the lock is on its way to a waiter that has not run yet (as in MicroPython).
  bool locked() const noexcept { return locked_ && !handing_over_; }

  /// `lock.release()`: hands the lock to the first waiter, or frees it. Errors: `operation_not_permitted` (the
  /// lock is not held).
  void release(usock::error_code& ec) noexcept {
    if (!locked_) return void(ec = detail::make_error(std::errc::operation_not_permitted));
    ec.clear();
    handing_over_ = waiters_.wake_one();
    if (!handing_over_) locked_ = false;
  }
#if USOCK_HAS_EXCEPTIONS
  void release() {
    usock::error_code ec;
    release(ec);
    usock::detail::throw_if(ec, "lock.release");
  }
#endif

  struct awaiter : detail::queued_waiter {
    lock* l;
    explicit awaiter(lock* owner, usock::error_code* code) noexcept : l(owner) { ec = code; }
    ~awaiter() { l->waiters_.remove(*this); }
    bool await_ready() const noexcept { return false; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> h) noexcept {
      self = &detail::state_of(h);
      if (self->loop->take_cancel(*self)) return !(cancelled = true);
      if (!l->locked_) {
        l->locked_ = true;
        return false;
      }
      cancel = [](detail::waiter& w) noexcept {
        auto& a = static_cast<awaiter&>(w);
        a.cancelled = true;
        if (a.linked) {
          a.l->waiters_.remove(a);
        } else {  // it had been handed the lock: pass it on
          a.l->handing_over_ = false;
          usock::error_code ignored;
          a.l->release(ignored);
        }
        a.self->loop->wake(*a.self);
        return true;
      };
      l->waiters_.push(*this, h);
      return true;
    }
    void await_resume() {
      if (!cancelled) l->handing_over_ = false;  // it holds the lock now
      detail::report(ec, cancelled ? detail::make_error(std::errc::operation_canceled) : usock::error_code{},
                     "lock.acquire");
    }
  };

#if USOCK_HAS_EXCEPTIONS
  /// `await lock.acquire()`: takes the lock, waiting in line if it is held. Throws
  /// `usock::error(operation_canceled)` if the task is cancelled while waiting (it does not hold the lock then).
  awaiter acquire() noexcept { return awaiter(this, nullptr); }
#endif
  /// As above; a cancellation sets `ec` to `operation_canceled` (the lock is not held then), cleared otherwise.
  awaiter acquire(usock::error_code& ec) noexcept { return awaiter(this, &ec); }

 private:
  detail::waiter_list waiters_;
  bool locked_ = false;
  bool handing_over_ = false;  // released to a waiter that has not run yet
};

}  // namespace usock::asyncio
