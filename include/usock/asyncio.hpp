#pragma once
/// \file
/// `usock::asyncio`: C++20 coroutines mirroring MicroPython's `asyncio` (tasks, sleep, wait_for, gather,
/// event, lock, thread_safe_flag), on the build's default backend; `basic_loop<Backend>` for the others.
///
/// ```cpp
/// namespace asyncio = usock::asyncio;
/// asyncio::task<int> main_task() { co_await asyncio::sleep_ms(10); co_return 42; }
/// int main() { return asyncio::run(main_task()); }
/// ```

#include <new>
#include <system_error>
#include <type_traits>

#include "asyncio/arena.hpp"
#include "asyncio/event.hpp"
#include "asyncio/funcs.hpp"
#include "asyncio/lock.hpp"
#include "asyncio/loop/core.hpp"
#include "asyncio/loop/loop.hpp"
#include "asyncio/server.hpp"
#include "asyncio/stream.hpp"
#include "asyncio/task.hpp"
#include "asyncio/thread_safe_flag.hpp"
#include "usock.hpp"

namespace usock::asyncio {

/// The default backend's loop, stream and server.
using loop = basic_loop<default_backend>;
using stream = basic_stream<default_backend>;
using server = basic_server<default_backend>;

namespace detail {
/// Runs `main` on a loop of its own: on the heap (one allocation per `run`: a loop holds its poller and its
/// table of sockets, `sizeof(basic_loop<Backend>)` bytes, too big for some threads' stacks), or on the stack
/// with `USOCK_ASYNCIO_NO_HEAP`.
template <polling_backend Backend, class T>
T run_on_new_loop(task<T> main, usock::error_code* ec) {
#ifdef USOCK_ASYNCIO_NO_HEAP
  basic_loop<Backend> l;
  return ec ? l.run(std::move(main), *ec) : l.run(std::move(main));
#else
  struct owner {
    basic_loop<Backend>* loop = new (std::nothrow) basic_loop<Backend>;
    ~owner() { delete loop; }
  } l;
  if (!l.loop) {
    report(ec, make_error(std::errc::not_enough_memory), "run");
    if constexpr (!std::is_void_v<T>) return promise<T>{}.take();
    else return;
  }
#if USOCK_HAS_EXCEPTIONS
  if (!ec) return l.loop->run(std::move(main));
#endif
  return l.loop->run(std::move(main), *ec);
#endif
}
}  // namespace detail

/// `asyncio.run(main)`: a loop on this thread runs `main` until it finishes, then the tasks left are cancelled
/// and finished. See `basic_loop::run` for the errors; `not_enough_memory` if the loop itself could not be
/// allocated (it lives on the heap unless `USOCK_ASYNCIO_NO_HEAP` puts it on the stack).
template <polling_backend Backend = default_backend, class T>
T run(task<T> main, usock::error_code& ec) {
  return detail::run_on_new_loop<Backend>(std::move(main), &ec);
}
#if USOCK_HAS_EXCEPTIONS
template <polling_backend Backend = default_backend, class T>
T run(task<T> main) {
  return detail::run_on_new_loop<Backend>(std::move(main), nullptr);
}
#endif

/// `asyncio.current_task()`-like: true while a loop runs on this thread.
inline bool loop_running() noexcept { return detail::loop_core::current() != nullptr; }

}  // namespace usock::asyncio
