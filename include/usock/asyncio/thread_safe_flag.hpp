#pragma once
/// \file
/// `usock::asyncio::thread_safe_flag`, as MicroPython's `asyncio.ThreadSafeFlag`.

#include <atomic>
#include <coroutine>
#include <system_error>

#include "loop/core.hpp"

namespace usock::asyncio {

/// A flag set from another thread (or an interrupt handler) that one task waits for. `set()` is lock-free and
/// safe anywhere; a loop waiting in the kernel is woken (on a socket backend, through a loopback connection the
/// loop opens the first time a flag is waited on: two sockets per loop). `wait()` clears the flag as it
/// returns. A plain object, constructible before any loop runs. One task waits at a time.
class thread_safe_flag {
 public:
  constexpr thread_safe_flag() noexcept = default;
  thread_safe_flag(const thread_safe_flag&) = delete;
  thread_safe_flag& operator=(const thread_safe_flag&) = delete;

  /// `flag.set()`: from any thread or an interrupt.
  void set() noexcept {
    state_.store(true, std::memory_order_release);
    users_.fetch_add(1);
    if (detail::loop_core* loop = loop_.load()) {
      loop->flag_signalled.store(true, std::memory_order_release);
      if (loop->wake_fn) loop->wake_fn(*loop);
    }
    users_.fetch_sub(1);
  }
  /// `flag.clear()`.
  void clear() noexcept { state_.store(false, std::memory_order_release); }

  struct awaiter : detail::waiter, detail::loop_core::flag_waiter {
    thread_safe_flag* f;
    usock::error_code* ec;
    detail::task_state* self = nullptr;
    usock::error_code result;
    bool linked = false;

    awaiter(thread_safe_flag* flag, usock::error_code* code) noexcept : f(flag), ec(code) {}
    ~awaiter() { stop(); }
    bool await_ready() const noexcept { return false; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> h) noexcept {
      self = &detail::state_of(h);
      detail::loop_core& loop = *self->loop;
      if (loop.take_cancel(*self)) return (result = detail::make_error(std::errc::operation_canceled)), false;
      if (f->state_.exchange(false, std::memory_order_acquire)) return false;
      if (f->loop_.load() != nullptr) return (result = detail::make_error(std::errc::device_or_resource_busy)), false;
      if (loop.prepare_wake && !loop.prepare_wake(loop, result)) return false;
      check = [](flag_waiter& fw) noexcept {
        auto& a = static_cast<awaiter&>(fw);
        if (!a.f->state_.exchange(false, std::memory_order_acquire)) return false;
        a.stop();
        a.self->loop->wake(*a.self);
        return true;
      };
      waiter::cancel = [](waiter& w) noexcept {
        auto& a = static_cast<awaiter&>(w);
        if (!a.linked) a.f->state_.store(true, std::memory_order_release);  // it had taken the flag: put it back
        a.result = detail::make_error(std::errc::operation_canceled);
        a.stop();
        a.self->loop->wake(*a.self);
        return true;
      };
      loop.link_flag(*this);
      linked = true;
      f->loop_.store(&loop);
      loop.flag_signalled.store(true, std::memory_order_release);  // look once: a set() may have come meanwhile
      loop.suspend(*self, *this, h);
      return true;
    }
    void await_resume() { detail::report(ec, result, "thread_safe_flag.wait"); }

   private:
    void stop() noexcept {
      if (!linked) return;
      linked = false;
      self->loop->unlink_flag(*this);
      f->loop_.store(nullptr);
      while (f->users_.load() != 0) {  // a set() on another thread is still using the loop
      }
    }
  };

#if USOCK_HAS_EXCEPTIONS
  /// `await flag.wait()`: returns (clearing the flag) once it is set. Throws `usock::error` with
  /// `operation_canceled` (the task was cancelled), `device_or_resource_busy` (another task waits on it), or
  /// the stack's error if the loop could not open its wake-up connection.
  awaiter wait() noexcept { return awaiter(this, nullptr); }
#endif
  /// As above, reporting those errors through `ec`.
  awaiter wait(usock::error_code& ec) noexcept { return awaiter(this, &ec); }

 private:
  std::atomic<bool> state_{false};
  std::atomic<detail::loop_core*> loop_{nullptr};
  std::atomic<int> users_{0};
};

}  // namespace usock::asyncio
