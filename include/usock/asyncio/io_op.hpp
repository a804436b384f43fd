#pragma once
/// \file
/// The shape of every socket awaiter (a read, a drain, an accept, a connect): try the call first; only if it
/// would block, wait for readiness through the loop and make the call again from the loop when the poller
/// reports the socket, before the task runs. A cancellation that arrives while waiting ends the await with
/// `operation_canceled` having taken nothing; once the call has completed, its result stands (the task's next
/// await reports the cancellation). The awaiter lives in the awaiting frame: nothing is allocated.

#include <coroutine>
#include <system_error>

#include "../constants.hpp"
#include "loop/core.hpp"
#include "loop/loop.hpp"

namespace usock::asyncio::detail {

/// `Op` provides `bool attempt()` (true when finished, its outcome in `result`; false when it would block),
/// `unsigned event` (`pollin` or `pollout`), `handle()`, `loop()`, and `void finish()` (called as the await
/// ends, even when cancelled: puts back what a partial read took, so nothing is lost).
template <class Op, class Loop>
struct io_op : io_waiter {
  usock::error_code result;
  usock::error_code* ec = nullptr;
  task_state* self = nullptr;
  Loop* io_loop = nullptr;
  bool registered = false;

  explicit io_op(Loop* l, usock::error_code* e) noexcept : ec(e), io_loop(l) {}
  io_op(const io_op& other) noexcept : io_waiter(), result(other.result), ec(other.ec), io_loop(other.io_loop) {}
  ~io_op() { unregister(); }

  bool await_ready() const noexcept { return false; }
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) noexcept {
    self = &state_of(h);
    Op& op = static_cast<Op&>(*this);
    if (!io_loop) return (result = make_error(std::errc::operation_not_permitted)), false;
    if (self->loop->take_cancel(*self)) return (result = make_error(std::errc::operation_canceled)), false;
    if (op.attempt()) {
      if (!self->loop->over_budget()) return false;
      io_waiter::cancel = [](waiter&) noexcept { return false; };  // finished: the result stands
      self->loop->yield(*self, *this, h);
      return true;
    }
    io_waiter::ready = [](io_waiter& w, unsigned) noexcept {
      auto& me = static_cast<io_op&>(w);
      if (!static_cast<Op&>(me).attempt()) return false;
      me.registered = false;
      me.self->loop->wake(*me.self);
      return true;
    };
    io_waiter::cancel = [](waiter& w) noexcept {
      auto& me = static_cast<io_op&>(w);
      if (!me.registered) return false;
      me.unregister();
      me.result = make_error(std::errc::operation_canceled);
      me.self->loop->wake(*me.self);
      return true;
    };
    io_loop->wait_io(op.handle(), Op::event, *this, result);
    if (result) return false;
    registered = true;
    self->loop->suspend(*self, *this, h);
    return true;
  }

  /// Reports the outcome (cleared `ec`, or throws in the throwing form) after `finish()`.
  void complete(const char* operation) {
    static_cast<Op&>(*this).finish();
    report(ec, result, operation);
  }

 private:
  void unregister() noexcept {
    if (!registered) return;
    registered = false;
    io_loop->unwait_io(static_cast<Op&>(*this).handle(), *this);
  }
};

}  // namespace usock::asyncio::detail
