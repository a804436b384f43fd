#pragma once
/// \file
/// The shape of every socket awaiter (a read, a drain, an accept, a connect): try the call first; only if it
/// would block, wait for readiness through the loop and make the call again from the loop when the poller
/// reports the socket, before the task runs. A cancellation that arrives while waiting ends the await with
/// `operation_canceled` having taken nothing; once the call has completed, its result stands (the task's next
/// await reports the cancellation). The awaiter lives in the awaiting frame: nothing is allocated.

#include <coroutine>
#include <cstddef>
#include <system_error>

#include "../address.hpp"
#include "../backend.hpp"
#include "../buffer.hpp"
#include "../constants.hpp"
#include "loop/core.hpp"
#include "loop/loop.hpp"

namespace usock::asyncio::detail {

// The calls the awaiters make. Their sockets are non-blocking, so a backend's `_nowait` forms do the same where
// it has them (`usock::nowait_backend`), and then a firmware image links none of the backend's waiting code.
/// A non-blocking stream socket: in one call where the backend can (`usock::nonblocking_open_backend`).
template <socket_backend Backend>
typename Backend::handle_type open_nonblocking(address_family family, usock::error_code& ec) noexcept {
  if constexpr (nonblocking_open_backend<Backend>) {
    return Backend::open_nonblocking(family, sock_stream, ec);
  } else {
    const auto h = Backend::open(family, sock_stream, ec);
    if (ec) return Backend::invalid_handle;
    Backend::set_nonblocking(h, true, ec);
    if (!ec) return h;
    usock::error_code ignored;
    Backend::close(h, ignored);
    return Backend::invalid_handle;
  }
}
template <socket_backend Backend>
std::size_t recv_nowait(typename Backend::handle_type h, mutable_bytes buf, usock::error_code& ec) noexcept {
  if constexpr (nowait_backend<Backend>) return Backend::recv_nowait(h, buf, ec);
  else return Backend::recv(h, buf, ec);
}
template <socket_backend Backend>
std::size_t send_nowait(typename Backend::handle_type h, const_bytes data, usock::error_code& ec) noexcept {
  if constexpr (nowait_backend<Backend>) return Backend::send_nowait(h, data, ec);
  else return Backend::send(h, data, ec);
}
template <socket_backend Backend>
void connect_nowait(typename Backend::handle_type h, const address& addr, usock::error_code& ec) noexcept {
  if constexpr (nowait_backend<Backend>) Backend::connect_nowait(h, addr, ec);
  else Backend::connect(h, addr, ec);
}
template <socket_backend Backend>
typename Backend::handle_type accept_nowait(typename Backend::handle_type h, address& peer, bool nonblocking,
                                            usock::error_code& ec) noexcept {
  if constexpr (nowait_backend<Backend>) return Backend::accept_nowait(h, peer, nonblocking, ec);
  else return Backend::accept(h, peer, nonblocking, ec);
}

template <class Loop>
struct io_op_core;

/// What an `io_op` needs of its `Op`, as plain functions: one table per `Op`, so the code of the await itself
/// (`io_op_core::suspend`, the readiness and cancellation callbacks) exists once per loop type, not per `Op`.
template <class Loop>
struct io_op_table {
  bool (*attempt)(io_op_core<Loop>&) noexcept;
  typename Loop::handle_type (*handle)(const io_op_core<Loop>&) noexcept;
  unsigned event;
};

/// The part of every socket awaiter that does not depend on its `Op`.
template <class Loop>
struct io_op_core : io_waiter {
  usock::error_code result;
  usock::error_code* ec = nullptr;
  task_state* self = nullptr;
  Loop* io_loop = nullptr;
  const io_op_table<Loop>* table;
  unsigned reported = 0;  // the events of the readiness report the call is made for (0: the first try)
  bool registered = false;

  io_op_core(Loop* l, usock::error_code* e, const io_op_table<Loop>* t) noexcept : ec(e), io_loop(l), table(t) {}
  io_op_core(const io_op_core& other) noexcept
      : io_waiter(), result(other.result), ec(other.ec), io_loop(other.io_loop), table(other.table) {}
  ~io_op_core() { unregister(); }

  /// The await's suspension for the task `t` in `h`: true when it suspended.
  [[gnu::noinline]] bool suspend(task_state& t, std::coroutine_handle<> h) noexcept {
    self = &t;
    if (!io_loop) return (result = make_error(std::errc::operation_not_permitted)), false;
    if (t.loop->take_cancel(t)) return (result = make_error(std::errc::operation_canceled)), false;
    if (table->attempt(*this)) {
      if (!t.loop->over_budget()) return false;
      io_waiter::cancel = [](waiter&) noexcept { return false; };  // finished: the result stands
      t.loop->yield(t, *this, h);
      return true;
    }
    io_waiter::ready = [](io_waiter& w, unsigned events) noexcept {
      auto& me = static_cast<io_op_core&>(w);
      me.reported = events;
      if (!me.table->attempt(me)) return false;
      me.registered = false;
      me.self->loop->wake(*me.self);
      return true;
    };
    io_waiter::cancel = [](waiter& w) noexcept {
      auto& me = static_cast<io_op_core&>(w);
      if (!me.registered) return false;
      me.unregister();
      me.result = make_error(std::errc::operation_canceled);
      me.self->loop->wake(*me.self);
      return true;
    };
    io_loop->wait_io(table->handle(*this), table->event, *this, result);
    if (result) return false;
    registered = true;
    t.loop->suspend(t, *this, h);
    return true;
  }

  void unregister() noexcept {
    if (!registered) return;
    registered = false;
    io_loop->unwait_io(table->handle(*this), *this);
  }
};

template <class Op, class Loop>
struct io_op_of {
  static bool attempt(io_op_core<Loop>& c) noexcept { return static_cast<Op&>(c).attempt(); }
  static typename Loop::handle_type handle(const io_op_core<Loop>& c) noexcept {
    return static_cast<const Op&>(c).handle();
  }
  static constexpr io_op_table<Loop> table{&attempt, &handle, Op::event};
};

/// `Op` provides `bool attempt()` (true when finished, its outcome in `result`; false when it would block),
/// `unsigned event` (`pollin` or `pollout`), `handle()`, `loop()`, and `void finish()` (called as the await
/// ends, even when cancelled: puts back what a partial read took, so nothing is lost).
template <class Op, class Loop>
struct io_op : io_op_core<Loop> {
  explicit io_op(Loop* l, usock::error_code* e) noexcept : io_op_core<Loop>(l, e, &io_op_of<Op, Loop>::table) {}
  io_op(const io_op& other) noexcept = default;

  bool await_ready() const noexcept { return false; }
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) noexcept {
    return this->suspend(state_of(h), h);
  }

  /// Reports the outcome (cleared `ec`, or throws in the throwing form) after `finish()`.
  void complete(const char* operation) {
    static_cast<Op&>(*this).finish();
    if (this->ec) *this->ec = this->result;  // the `ec` forms: inline, they cannot throw
    else report(nullptr, this->result, operation);
  }
};

}  // namespace usock::asyncio::detail
