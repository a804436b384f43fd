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

#include <system_error>

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

/// `asyncio.run(main)`: a loop on this thread (`basic_loop<Backend>`, on the stack) runs `main` until it finishes,
/// then the tasks left are cancelled and finished. See `basic_loop::run` for the errors.
template <polling_backend Backend = default_backend, class T>
T run(task<T> main, std::error_code& ec) {
  basic_loop<Backend> l;
  return l.run(std::move(main), ec);
}
#if USOCK_HAS_EXCEPTIONS
template <polling_backend Backend = default_backend, class T>
T run(task<T> main) {
  basic_loop<Backend> l;
  return l.run(std::move(main));
}
#endif

/// `asyncio.current_task()`-like: true while a loop runs on this thread.
inline bool loop_running() noexcept { return detail::loop_core::current() != nullptr; }

}  // namespace usock::asyncio
