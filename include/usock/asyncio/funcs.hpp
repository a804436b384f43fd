#pragma once
/// \file
/// `sleep`, `sleep_ms`, `wait_for`, `wait_for_ms` and `gather`: awaiters that live in the awaiting frame, so
/// none allocates (a `gather` runs the tasks it is given, whose frames exist already).

#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <utility>

#include "loop/core.hpp"
#include "loop/timers.hpp"
#include "task.hpp"

namespace usock::asyncio {
namespace detail {

/// `co_await sleep(d)`: a timer in the awaiting frame; zero or less yields (runs again after the tasks
/// queued now).
struct sleep_awaiter : waiter, timer_node {
  std::int64_t ns;
  usock::error_code* ec;
  task_state* self = nullptr;
  bool cancelled = false;

  sleep_awaiter(std::int64_t d, usock::error_code* e) noexcept : ns(d), ec(e) {}
  ~sleep_awaiter() {
    if (linked) self->loop->timers().remove(*this);
  }

  bool await_ready() const noexcept { return false; }
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) noexcept {
    self = &state_of(h);
    loop_core& loop = *self->loop;
    if (loop.take_cancel(*self)) return !(cancelled = true);
    waiter::cancel = [](waiter& w) noexcept {
      auto& s = static_cast<sleep_awaiter&>(w);
      s.cancelled = true;
      s.self->loop->timers().remove(s);
      s.self->loop->wake(*s.self);
      return true;
    };
    if (ns <= 0) {
      loop.yield(*self, *this, h);
      return true;
    }
    when = loop.now_fn() + ns;
    fire = [](timer_node& n) noexcept {
      auto& s = static_cast<sleep_awaiter&>(n);
      s.self->loop->wake(*s.self);
    };
    loop.timers().insert(*this);
    loop.suspend(*self, *this, h);
    return true;
  }
  void await_resume() {
    report(ec, cancelled ? make_error(std::errc::operation_canceled) : usock::error_code{}, "sleep");
  }
};

template <class Rep, class Period>
std::int64_t to_ns(std::chrono::duration<Rep, Period> d) noexcept {
  if (d <= d.zero()) return 0;
  const auto ns = std::chrono::ceil<std::chrono::nanoseconds>(std::chrono::duration<double, Period>(d));
  return ns.count() > INT64_MAX / 4 ? INT64_MAX / 4 : static_cast<std::int64_t>(ns.count());
}

template <class A>
concept has_member_co_await = requires(A&& a) { static_cast<A&&>(a).operator co_await(); };

/// Holds what `wait_for` waits on: an awaiter itself, or an awaitable (a task, a task handle) and its awaiter.
template <class A>
struct awaiter_holder {
  A aw;
  explicit awaiter_holder(A&& a) : aw(std::move(a)) {}
  A& get() noexcept { return aw; }
};
template <class A>
  requires has_member_co_await<A>
struct awaiter_holder<A> {
  A owner;
  decltype(std::declval<A&&>().operator co_await()) aw;
  explicit awaiter_holder(A&& a) : owner(static_cast<A&&>(a)), aw(static_cast<A&&>(owner).operator co_await()) {}
  auto& get() noexcept { return aw; }
};

/// `co_await wait_for(aw, d)`: awaits `aw` in this task with a deadline. When the time runs out, `aw`'s current
/// await is cancelled (its next, if the task is not waiting), `aw` finishes, and then the result is `timed_out`.
template <class A>
struct wait_for_awaiter : cancel_source, timer_node {
  awaiter_holder<A> inner;
  std::int64_t ns;
  usock::error_code* ec;
  task_state* self = nullptr;

  wait_for_awaiter(A&& a, std::int64_t d, usock::error_code* e) : inner(static_cast<A&&>(a)), ns(d), ec(e) {}
  wait_for_awaiter(const wait_for_awaiter&) = delete;
  ~wait_for_awaiter() { end(); }

  bool await_ready() const noexcept { return false; }
  template <class Promise>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> h) {
    self = &state_of(h);
    loop_core& loop = *self->loop;
    when = loop.now_fn() + ns;
    fire = [](timer_node& n) noexcept {
      auto& w = static_cast<wait_for_awaiter&>(n);
      w.self->loop->cancel(*w.self, &w);
    };
    loop.timers().insert(*this);
    auto& aw = inner.get();
    if (aw.await_ready()) return loop.transfer(*self, h);
    using result = decltype(aw.await_suspend(h));
    if constexpr (std::is_void_v<result>) {
      aw.await_suspend(h);
      return std::noop_coroutine();
    } else if constexpr (std::is_same_v<result, bool>) {
      if (aw.await_suspend(h)) return std::noop_coroutine();
      return loop.transfer(*self, h);
    } else {
      return aw.await_suspend(h);
    }
  }
  decltype(auto) await_resume() {
    end();
#if USOCK_HAS_EXCEPTIONS
    if (!ec) {
      try {
        return finish();
      } catch (const usock::error& e) {
        if (delivered) throw usock::error(make_error(std::errc::timed_out), "wait_for");
        throw;
      }
    }
#endif
    return finish();
  }

 private:
  decltype(auto) finish() {
    using R = decltype(inner.get().await_resume());
    if constexpr (std::is_void_v<R>) {
      inner.get().await_resume();
      report(ec, delivered ? make_error(std::errc::timed_out) : usock::error_code{}, "wait_for");
    } else {
      R r = inner.get().await_resume();
      report(ec, delivered ? make_error(std::errc::timed_out) : usock::error_code{}, "wait_for");
      return static_cast<R>(r);
    }
  }
  void end() noexcept {
    if (!self) return;
    if (linked) self->loop->timers().remove(*this);
    self->loop->withdraw(*self, *this);
  }
};

/// `co_await gather(a, b, ...)`: runs each task as a task of its own (in order) and waits for all, or for the
/// first to fail (throw, or be cancelled before it ran).
template <class... T>
struct gather_awaiter : waiter {
  static constexpr std::size_t count = sizeof...(T);
  using result_type = std::tuple<std::conditional_t<std::is_void_v<T>, nothing, T>...>;

  struct child : join_node {
    gather_awaiter* owner = nullptr;
    promise_base* frame = nullptr;
  };
  std::tuple<std::coroutine_handle<promise<T>>...> frames;
  child joins[count];
  std::size_t remaining = 0;
  usock::error_code* ec;
  task_state* self = nullptr;
  bool cancelled = false;
  bool woken = false;    // every task has finished, or one failed
  promise_base* first_failure = nullptr;
  bool missing = false;  // a frame could not be allocated

  gather_awaiter(usock::error_code* e, task<T>&&... ts) noexcept : frames(ts.release()...), ec(e) {}
  gather_awaiter(const gather_awaiter&) = delete;
  ~gather_awaiter() {
    std::apply([&](auto... h) { (this->release(h), ...); }, frames);
  }

  bool await_ready() const noexcept { return false; }
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) noexcept {
    self = &state_of(h);
    loop_core& loop = *self->loop;
    if (loop.take_cancel(*self)) return !(cancelled = true);
    std::apply([&](auto... f) { missing = (!f || ...); }, frames);
    if (missing) return false;
    std::size_t i = 0;
    std::apply([&](auto... f) { (start(loop, f, joins[i++]), ...); }, frames);
    if (remaining == 0) return false;
    waiter::cancel = [](waiter& w) noexcept {
      auto& g = static_cast<gather_awaiter&>(w);
      g.cancelled = true;
      if (!g.woken) std::apply([&](auto... f) { (g.cancel_child(f), ...); }, g.frames);
      return true;
    };
    loop.suspend(*self, *this, h);
    return true;
  }
  result_type await_resume() {
    usock::error_code e = missing ? make_error(std::errc::not_enough_memory) : usock::error_code{};
    if (!e && cancelled) e = make_error(std::errc::operation_canceled);
    if (!e && first_failure) e = first_failure->outcome();
    report(ec, e, "gather");
#if USOCK_HAS_EXCEPTIONS
    if (!e && first_failure) first_failure->rethrow(ec);
#endif
    return std::apply([](auto... f) { return result_type(take(f)...); }, frames);
  }

 private:
  template <class H>
  void start(loop_core& loop, H f, child& j) noexcept {
    j.owner = this;
    j.frame = &f.promise();
    j.done = [](join_node& n) noexcept {
      auto& c = static_cast<child&>(n);
      auto& g = *c.owner;
      --g.remaining;
      if (!g.first_failure && c.frame->failed()) g.first_failure = c.frame;
      if (g.woken || (g.remaining != 0 && !c.frame->failed())) return;
      g.woken = true;  // all done, or the first failure ends the gather (the others run on, as in MicroPython)
      g.self->loop->wake(*g.self);
    };
    loop.spawn(f.promise().own_, f);
    j.next = f.promise().own_.joiners;
    f.promise().own_.joiners = &j;
    ++remaining;
  }
  template <class H>
  void cancel_child(H f) noexcept {
    // Tasks not started yet start and see the cancellation at their first await, as in MicroPython, where
    // the gather's task handles its cancellation after the tasks it queued have run.
    if (f && f.promise().own_.loop && !f.promise().own_.done) self->loop->cancel_at_first_await(f.promise().own_);
  }
  template <class H>
  static auto take(H f) {
    using V = typename std::remove_reference_t<decltype(f.promise())>;
    if constexpr (std::is_same_v<V, promise<void>>) {
      return nothing{};
    } else {
      return f ? f.promise().take() : V{}.take();
    }
  }
  template <class H>
  void release(H f) noexcept {
    if (!f) return;
    task_state& t = f.promise().own_;
    if (!t.loop || t.done) return f.destroy();  // never started, or finished
    t.detached = true;  // still running (this frame is being destroyed): it finishes on its own
    for (join_node** p = &t.joiners; *p; p = &(*p)->next)
      if (static_cast<child*>(*p)->owner == this) {
        *p = (*p)->next;
        break;
      }
  }
};

template <class... Args, std::size_t... I>
auto gather_with_ec(std::tuple<Args...> args, std::index_sequence<I...>) {
  using awaiter = gather_awaiter<typename std::remove_cvref_t<std::tuple_element_t<I, std::tuple<Args...>>>::value_type...>;
  return awaiter(&std::get<sizeof...(I)>(args), std::move(std::get<I>(args))...);
}

}  // namespace detail

/// `await asyncio.sleep(s)`: suspends the task for `d` (zero or less: yields to the tasks queued now, as
/// `sleep(0)` does). Throws `usock::error(operation_canceled)` when the task is cancelled meanwhile.
#if USOCK_HAS_EXCEPTIONS
template <class Rep, class Period>
detail::sleep_awaiter sleep(std::chrono::duration<Rep, Period> d) noexcept {
  return {detail::to_ns(d), nullptr};
}
/// `await asyncio.sleep_ms(ms)`.
inline detail::sleep_awaiter sleep_ms(long long ms) noexcept {
  return {detail::to_ns(std::chrono::milliseconds(ms)), nullptr};
}
#endif
/// As above; a cancellation sets `ec` to `operation_canceled` (cleared otherwise).
template <class Rep, class Period>
detail::sleep_awaiter sleep(std::chrono::duration<Rep, Period> d, usock::error_code& ec) noexcept {
  return {detail::to_ns(d), &ec};
}
inline detail::sleep_awaiter sleep_ms(long long ms, usock::error_code& ec) noexcept {
  return {detail::to_ns(std::chrono::milliseconds(ms)), &ec};
}

#if USOCK_HAS_EXCEPTIONS
/// `await asyncio.wait_for(aw, t)`: `aw`'s result, or, if `d` passes first, `aw` is cancelled, finishes, and
/// `usock::error(timed_out)` is thrown. `aw` is any awaitable: a task (`child()`), a task handle, or a call
/// such as `stream.read(n)`. Allocates nothing.
template <class A, class Rep, class Period>
detail::wait_for_awaiter<A> wait_for(A&& aw, std::chrono::duration<Rep, Period> d) {
  return {static_cast<A&&>(aw), detail::to_ns(d), nullptr};
}
/// `await asyncio.wait_for_ms(aw, ms)`.
template <class A>
detail::wait_for_awaiter<A> wait_for_ms(A&& aw, long long ms) {
  return {static_cast<A&&>(aw), detail::to_ns(std::chrono::milliseconds(ms)), nullptr};
}
#endif
/// As above; once `aw` has finished, `ec` is `timed_out` if the time ran out and `aw` was cancelled by it,
/// cleared otherwise. `aw` reports its own errors through its own `ec` (`wait_for(s.read(n, ec1), d, ec2)`;
/// a task: `wait_for(child().result(ec1), d, ec2)`).
template <class A, class Rep, class Period>
detail::wait_for_awaiter<A> wait_for(A&& aw, std::chrono::duration<Rep, Period> d, usock::error_code& ec) {
  return {static_cast<A&&>(aw), detail::to_ns(d), &ec};
}
template <class A>
detail::wait_for_awaiter<A> wait_for_ms(A&& aw, long long ms, usock::error_code& ec) {
  return {static_cast<A&&>(aw), detail::to_ns(std::chrono::milliseconds(ms)), &ec};
}

/// `await asyncio.gather(a, b, ...)`: runs the tasks concurrently, each as a task of its own started in
/// order, and waits for all; returns a `std::tuple` of their results in order (`nothing` for `task<void>`).
/// The first task to fail ends the gather with its error (the others run on, as in MicroPython). Cancelling
/// the awaiting task cancels them all. With a trailing `usock::error_code&`: `not_enough_memory` (a task's frame
/// could not be allocated; none runs), `operation_canceled`, and (with exceptions) the code of a
/// `std::system_error` a task threw; otherwise these are thrown, or what the task threw.
template <class... Args>
auto gather(Args&&... args) {
  using last = std::tuple_element_t<sizeof...(Args) - 1, std::tuple<Args...>>;
  if constexpr (std::is_same_v<last, usock::error_code&>) {
    return detail::gather_with_ec(std::forward_as_tuple(static_cast<Args&&>(args)...),
                                  std::make_index_sequence<sizeof...(Args) - 1>{});
  } else {
    return detail::gather_awaiter<typename std::remove_cvref_t<Args>::value_type...>(nullptr,
                                                                                     static_cast<Args&&>(args)...);
  }
}

}  // namespace usock::asyncio
