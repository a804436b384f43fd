// MicroPython's asyncio conformance tests (tests/extmod/asyncio_*.py), written again in C++ case by case. Each
// case prints what its Python original prints and is compared with the expected output of that program (its
// .exp file, or CPython's output where MicroPython compares against CPython). Times are a tenth of the
// originals where only their order matters. These cases use the throwing forms, as the originals use
// exceptions; the error-code forms are covered in core.cpp and in the build without exceptions.
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "catch.hpp"
#include "out.hpp"

namespace asyncio = usock::asyncio;
using asyncio_test::print;
using asyncio_test::run_printing;
using namespace std::chrono_literals;

namespace {

bool cancelled(const usock::error& e) { return e.code() == std::errc::operation_canceled; }
using clock_type = std::chrono::steady_clock;
long rounded_ms(clock_type::duration d, long to) {
  const long ms = static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
  return (ms + to / 2) / to * to;
}

// ---- asyncio_basic.py --------------------------------------------------------------------------------------
asyncio::task<> delay_print(std::chrono::milliseconds t, const char* s) {
  co_await asyncio::sleep(t);
  print(s);
}
asyncio::task<> basic_main() {
  print("start");
  co_await asyncio::sleep(1ms);
  print("after sleep");
  const auto t0 = clock_type::now();
  co_await delay_print(200ms, "short");
  const auto t1 = clock_type::now();
  co_await delay_print(400ms, "long");
  const auto t2 = clock_type::now();
  co_await delay_print(-1000ms, "negative");
  const auto t3 = clock_type::now();
  print("took", rounded_ms(t1 - t0, 100), rounded_ms(t2 - t1, 100), rounded_ms(t3 - t2, 100));
}

// ---- asyncio_fair.py ---------------------------------------------------------------------------------------
asyncio::task<> fair_task(int id, std::chrono::milliseconds t) {
  print("task start", id);
  for (;;) {
    if (t > 0ms) print("task work", id);
    co_await asyncio::sleep(t);
  }
}
asyncio::task<> fair_main() {
  auto t1 = asyncio::create_task(fair_task(1, -10ms));
  // Three times the original's periods, so a loaded machine's scheduling delays cannot change the counts.
  auto t2 = asyncio::create_task(fair_task(2, 300ms));
  auto t3 = asyncio::create_task(fair_task(3, 540ms));
  auto t4 = asyncio::create_task(fair_task(4, -100000ms));
  co_await asyncio::sleep(1350ms);
  t1.cancel();
  t2.cancel();
  t3.cancel();
  t4.cancel();
  print("finish");
}

// ---- asyncio_cancel_task.py --------------------------------------------------------------------------------
asyncio::task<> cancel_task(std::chrono::milliseconds s, bool allow_cancel) {
  try {
    print("task start");
    co_await asyncio::sleep(s);
    print("task done");
  } catch (const usock::error& e) {
    if (!cancelled(e)) throw;
    print("task cancel");
    if (allow_cancel) throw;
  }
}
asyncio::task<> cancel_task2(bool allow_cancel) {
  print("task 2");
  try {
    co_await asyncio::create_task(cancel_task(50ms, allow_cancel));
  } catch (const usock::error& e) {
    print("task 2 cancel");
    throw;
  }
  print("task 2 done");
}
asyncio::task<> cancel_task_main() {
  auto t = asyncio::create_task(cancel_task(2s, true));
  print(t.cancel());

  t = asyncio::create_task(cancel_task(2s, true));
  co_await asyncio::sleep(10ms);
  print(t.cancel());
  print("main sleep");
  co_await asyncio::sleep(10ms);

  t = asyncio::create_task(cancel_task(2s, true));
  co_await asyncio::sleep(10ms);
  for (int i = 0; i < 4; ++i) print(t.cancel());
  print("main sleep");
  co_await asyncio::sleep(10ms);

  print("main wait");
  try {
    co_await t;
  } catch (const usock::error& e) {
    if (cancelled(e)) print("main got CancelledError");
  }

  t = asyncio::create_task(cancel_task(10ms, false));
  co_await asyncio::sleep(50ms);
  print(t.cancel());

  print("----");
  t = asyncio::create_task(cancel_task2(true));
  co_await asyncio::sleep(10ms);
  print("main cancel");
  t.cancel();
  print("main sleep");
  co_await asyncio::sleep(100ms);

  print("----");
  t = asyncio::create_task(cancel_task2(false));
  co_await asyncio::sleep(10ms);
  print("main cancel");
  t.cancel();
  print("main sleep");
  co_await asyncio::sleep(100ms);
}

// ---- asyncio_cancel_fair.py --------------------------------------------------------------------------------
std::vector<asyncio::task_handle<>> fair_tasks;
asyncio::task<> cancel_fair_task(int id, std::optional<int> other) {
  for (int i = 0; i < 3; ++i) {
    try {
      print("start", id);
      co_await asyncio::sleep(0ms);
      print("done", id);
    } catch (const usock::error&) {
      print("cancelled", id);
    }
    if (other) {
      print(id, "cancels", *other);
      fair_tasks[static_cast<std::size_t>(*other)].cancel();
    }
  }
}
asyncio::task<> cancel_fair_main() {
  fair_tasks.clear();
  fair_tasks.push_back(asyncio::create_task(cancel_fair_task(0, 1)));
  fair_tasks.push_back(asyncio::create_task(cancel_fair_task(1, 0)));
  fair_tasks.push_back(asyncio::create_task(cancel_fair_task(2, std::nullopt)));
  co_await fair_tasks[2];
  fair_tasks.clear();
}

// ---- asyncio_task_done.py ----------------------------------------------------------------------------------
asyncio::task<> done_task(std::chrono::milliseconds t, bool raise) {
  print("task start");
  if (t >= 0ms) co_await asyncio::sleep(t);
  if (raise) throw std::invalid_argument("ValueError");
  print("task done");
}
asyncio::task<> task_done_main() {
  for (const auto& [t, raise] : {std::pair{-1ms, false}, {10ms, false}, {-1ms, true}, {10ms, true}}) {
    print("==========");
    auto h = asyncio::create_task(done_task(t, raise));
    print(h.done());
    co_await asyncio::sleep(0ms);
    print(h.done());
    try {
      co_await h;
    } catch (const std::invalid_argument&) {
      print("ValueError()");
    }
    print(h.done());
  }
}

// ---- asyncio_wait_task.py ----------------------------------------------------------------------------------
asyncio::task<> wait_task_print(int t) {
  print("task", t);
  co_return;
}
asyncio::task<> task_raise() {
  print("task_raise");
  throw std::invalid_argument("ValueError");
  co_return;
}
asyncio::task<> wait_task_main() {
  print("start");
  auto t = asyncio::create_task(wait_task_print(1));
  co_await t;
  t = asyncio::create_task(wait_task_print(2));
  co_await asyncio::sleep(1ms);
  co_await t;
  co_await t;  // again on the same task
  print("----");
  auto ts1 = asyncio::create_task(delay_print(200ms, "hello"));
  auto ts2 = asyncio::create_task(delay_print(400ms, "world"));
  print("start");
  const auto t0 = clock_type::now();
  co_await ts1;
  const auto t1 = clock_type::now();
  co_await ts2;
  const auto t2 = clock_type::now();
  print("took", rounded_ms(t1 - t0, 100), rounded_ms(t2 - t1, 100));
  t = asyncio::create_task(task_raise());
  try {
    co_await t;
  } catch (const std::invalid_argument&) {
    print("ValueError");
  }
  t = asyncio::create_task(task_raise());
  for (int i = 0; i < 5; ++i) co_await asyncio::sleep(0ms);
  try {
    co_await t;
  } catch (const std::invalid_argument&) {
    print("ValueError");
  }
}

// ---- asyncio_cancel_wait_on_finished.py --------------------------------------------------------------------
asyncio::task<> finished_sleep_task() {
  print("sleep_task sleep");
  co_await asyncio::sleep(0ms);
  print("sleep_task wake");
}
asyncio::task<> finished_wait_task(asyncio::task_handle<> t) {
  print("wait_task wait");
  co_await t;
  print("wait_task wake");
}
asyncio::task<> cancel_wait_on_finished_main() {
  auto waiting_task = asyncio::create_task(finished_wait_task(asyncio::create_task(finished_sleep_task())));
  print("main sleep");
  co_await asyncio::sleep(0ms);
  print("main sleep");
  co_await asyncio::sleep(0ms);
  waiting_task.cancel();
  print("main wait");
  try {
    co_await waiting_task;
  } catch (const usock::error& e) {
    if (cancelled(e)) print("CancelledError()");
  }
}

// ---- asyncio_event.py --------------------------------------------------------------------------------------
asyncio::task<> event_task(int id, asyncio::event& ev) {
  print("start", id);
  co_await ev.wait();
  print(true);
  print("end", id);
}
asyncio::task<> event_delay_set(std::chrono::milliseconds t, asyncio::event& ev) {
  co_await asyncio::sleep(t);
  print("set event");
  ev.set();
}
asyncio::task<> event_main() {
  asyncio::event ev;
  print(ev.is_set());
  ev.set();
  print(ev.is_set());
  ev.clear();
  print(ev.is_set());

  print("----");
  asyncio::create_task(event_task(1, ev));
  asyncio::create_task(event_task(2, ev));
  print("yield");
  co_await asyncio::sleep(0ms);
  print("set event");
  ev.set();
  print("yield");
  co_await asyncio::sleep(0ms);

  print("----");
  asyncio::create_task(event_task(3, ev));
  print("yield");
  co_await asyncio::sleep(0ms);

  print("----");
  print("clear event");
  ev.clear();
  asyncio::create_task(event_task(4, ev));
  co_await asyncio::sleep(0ms);
  print("set event");
  ev.set();
  co_await asyncio::sleep(0ms);

  print("----");
  asyncio::event ev5;
  auto t = asyncio::create_task(event_task(5, ev5));
  co_await asyncio::sleep(0ms);
  ev5.set();
  t.cancel();
  co_await asyncio::sleep(100ms);

  print("----");
  asyncio::event ev6;
  t = asyncio::create_task(event_task(6, ev6));
  co_await asyncio::sleep(0ms);
  t.cancel();
  ev6.set();
  co_await asyncio::sleep(100ms);

  print("----");
  ev6.clear();
  asyncio::create_task(event_delay_set(10ms, ev6));
  co_await asyncio::wait_for(ev6.wait(), 100ms);
  co_await asyncio::sleep(0ms);

  print("----");
  ev6.clear();
  asyncio::create_task(event_delay_set(100ms, ev6));
  try {
    co_await asyncio::wait_for(ev6.wait(), 10ms);
  } catch (const usock::error& e) {
    if (e.code() == std::errc::timed_out) print("TimeoutError");
  }
  co_await ev6.wait();
}

// ---- asyncio_event_fair.py ---------------------------------------------------------------------------------
asyncio::task<> event_fair_task1(int id) {
  for (int i = 0; i < 4; ++i) {
    print("sleep", id);
    co_await asyncio::sleep(0ms);
  }
}
asyncio::task<> event_fair_task2(int id, asyncio::event& ev) {
  for (int i = 0; i < 4; ++i) {
    ev.set();
    ev.clear();
    print("wait", id);
    co_await ev.wait();
  }
}
asyncio::task<> event_fair_main() {
  asyncio::event ev;
  auto a = asyncio::create_task(event_fair_task1(0));
  auto b = asyncio::create_task(event_fair_task2(2, ev));
  auto c = asyncio::create_task(event_fair_task1(1));
  auto d = asyncio::create_task(event_fair_task2(3, ev));
  co_await b;
  ev.set();
  co_await d;  // (the original lets run() end with it pending; here it finishes before `ev` goes)
}

// ---- asyncio_lock.py ---------------------------------------------------------------------------------------
asyncio::task<> lock_task_loop(int id, asyncio::lock& lock) {
  print("task start", id);
  for (int i = 0; i < 3; ++i) {
    co_await lock.acquire();
    print("task have", id, i);
    lock.release();
  }
  print("task end", id);
}
asyncio::task<> lock_task_sleep(asyncio::lock& lock) {
  co_await lock.acquire();
  print("task have", lock.locked());
  co_await asyncio::sleep(200ms);
  lock.release();
  print("task release", lock.locked());
  co_await lock.acquire();
  print("task have again");
  lock.release();
}
asyncio::task<> lock_task_cancel(int id, asyncio::lock& lock, asyncio::task_handle<>* to_cancel) {
  bool held = false;
  try {
    co_await lock.acquire();
    held = true;
    print("task got", id);
    co_await asyncio::sleep(100ms);
    held = false;
    lock.release();
    print("task release", id);
    if (to_cancel) to_cancel->cancel();
  } catch (const usock::error& e) {
    if (held) lock.release();  // what `async with` does on the way out
    if (cancelled(e)) print("task cancel", id);
  }
}
asyncio::task<> lock_main() {
  asyncio::lock lock;
  print(lock.locked());
  co_await lock.acquire();
  print(lock.locked());
  co_await asyncio::sleep(0ms);
  lock.release();
  print(lock.locked());
  co_await asyncio::sleep(0ms);
  co_await lock.acquire();
  print("have lock");
  lock.release();

  print("----");
  asyncio::create_task(lock_task_loop(1, lock));
  asyncio::create_task(lock_task_loop(2, lock));
  auto t3 = asyncio::create_task(lock_task_loop(3, lock));
  co_await lock.acquire();
  co_await asyncio::sleep(0ms);
  lock.release();
  co_await t3;

  print("----");
  asyncio::create_task(lock_task_sleep(lock));
  co_await asyncio::sleep(100ms);
  co_await lock_task_sleep(lock);

  print("----");
  asyncio::task_handle<> ts;
  asyncio::create_task(lock_task_cancel(0, lock, &ts));
  ts = asyncio::create_task(lock_task_cancel(1, lock, nullptr));
  asyncio::create_task(lock_task_cancel(2, lock, nullptr));
  co_await asyncio::sleep(300ms);
  print(lock.locked());

  print("----");
  auto c0 = asyncio::create_task(lock_task_cancel(0, lock, nullptr));
  auto c1 = asyncio::create_task(lock_task_cancel(1, lock, nullptr));
  auto c2 = asyncio::create_task(lock_task_cancel(2, lock, nullptr));
  co_await asyncio::sleep(50ms);
  c1.cancel();
  co_await asyncio::sleep(100ms);
  c2.cancel();
  co_await asyncio::sleep(100ms);
  print(lock.locked());
}

// ---- asyncio_lock_cancel.py --------------------------------------------------------------------------------
asyncio::task<> lock_cancel_task(int i, asyncio::lock& lock, bool& lock_flag) {
  print("task", i, "start");
  try {
    co_await lock.acquire();
  } catch (const usock::error&) {
    print("task", i, "cancel");
    co_return;
  }
  print("task", i, "lock_flag", lock_flag);
  lock_flag = true;
  co_await asyncio::sleep(0ms);
  lock.release();
  lock_flag = false;
  print("task", i, "done");
}
asyncio::task<> lock_cancel_main() {
  asyncio::lock lock;
  co_await lock.acquire();
  bool lock_flag = true;
  auto t0 = asyncio::create_task(lock_cancel_task(0, lock, lock_flag));
  auto t1 = asyncio::create_task(lock_cancel_task(1, lock, lock_flag));
  auto t2 = asyncio::create_task(lock_cancel_task(2, lock, lock_flag));
  auto t3 = asyncio::create_task(lock_cancel_task(3, lock, lock_flag));
  co_await asyncio::sleep(0ms);
  t1.cancel();
  t2.cancel();
  lock.release();
  lock_flag = false;
  for (int i = 0; i < 4; ++i) co_await asyncio::sleep(0ms);
  print(lock.locked());
}


// ---- asyncio_gather.py (the cases without return_exceptions, which usock does not have) ------------------
asyncio::task<int> factorial(const char* name, int number) {
  int f = 1;
  for (int i = 2; i <= number; ++i) {
    print(std::string("Task ") + name + ": Compute factorial(" + std::to_string(i) + ")...");
    co_await asyncio::sleep(10ms);
    f *= i;
  }
  print(std::string("Task ") + name + ": factorial(" + std::to_string(number) + ") = " + std::to_string(f));
  co_return f;
}
asyncio::task<int> gather_task_id(int id, std::chrono::milliseconds t = 100ms) {
  print("start", id);
  co_await asyncio::sleep(t);
  print("end", id);
  co_return id;
}
asyncio::task<> gather_task_loop(int id) {  // loops twice, not forever: a gather's tasks cannot be cancelled
  print("task_loop start", id);                // once it has ended (the original cancels it by its handle)
  for (int i = 0; i < 2; ++i) {
    co_await asyncio::sleep(100ms);
    print("task_loop loop", id);
  }
}
asyncio::task<> gather_task_raise(int id, std::chrono::milliseconds t = 100ms) {
  print("task_raise start", id);
  co_await asyncio::sleep(t);
  print("task_raise raise", id);
  throw std::invalid_argument(std::to_string(id));
}
asyncio::task<> gather_task(asyncio::task<int> t0, asyncio::task<int> t1) {
  print("gather_task");
  co_await asyncio::gather(std::move(t0), std::move(t1));
  print("gather_task2");
}
asyncio::task<> gather_main() {
  auto [a, b, c] = co_await asyncio::gather(factorial("A", 2), factorial("B", 3), factorial("C", 4));
  print("[" + std::to_string(a) + ", " + std::to_string(b) + ", " + std::to_string(c) + "]");
  print("====");
  try {
    co_await asyncio::gather(gather_task_loop(1), gather_task_raise(2));
  } catch (const std::invalid_argument& e) {
    print(std::string("ValueError(") + e.what() + ",)");
  }
  co_await asyncio::sleep(250ms);  // task_loop runs on after the gather ended, and finishes
  print("====");
  try {
    co_await asyncio::gather(gather_task_raise(1, 0ms), gather_task_raise(2, 0ms));
  } catch (const std::invalid_argument& e) {
    print(std::string("ValueError(") + e.what() + ",)");
  }
  print("====");
  auto t = asyncio::create_task(gather_task(gather_task_id(1), gather_task_id(2)));
  co_await asyncio::sleep(50ms);
  t.cancel();
  co_await asyncio::sleep(200ms);
  for (int i = 1; i < 4; ++i) {
    print("====");
    t = asyncio::create_task(gather_task(gather_task_id(1, 0ms), gather_task_id(2, 0ms)));
    for (int j = 0; j < i; ++j) co_await asyncio::sleep(0ms);
    t.cancel();
    co_await asyncio::sleep(200ms);
  }
}

// ---- asyncio_wait_for.py (the cases whose output does not depend on the inner work being a task of its
// own: usock runs it inline, in the waiting task, which is what lets wait_for allocate nothing) -------------
asyncio::task<int> wait_for_task(int id, std::chrono::milliseconds t) {
  print("task start", id);
  co_await asyncio::sleep(t);
  print("task end", id);
  co_return id * 2;
}
asyncio::task<> wait_for_task_catch() {
  print("task_catch start");
  try {
    co_await asyncio::sleep(200ms);
  } catch (const usock::error&) {
    print("ignore cancel");
  }
  print("task_catch done");
}
asyncio::task<int> wait_for_task_raise() {
  print("task start");
  throw std::invalid_argument("ValueError");
  co_return 0;
}
asyncio::task<> wait_for_cancel_other(std::chrono::milliseconds t, asyncio::task_handle<int>& other) {
  print("task_cancel_other start");
  co_await asyncio::sleep(t);
  print("task_cancel_other cancel");
  other.cancel();
}
asyncio::task<> task_wait_for_cancel(int id, std::chrono::milliseconds t, std::chrono::milliseconds t_wait) {
  print("task_wait_for_cancel start");
  try {
    co_await asyncio::wait_for(wait_for_task(id, t), t_wait);
  } catch (const usock::error& e) {
    if (cancelled(e)) print("task_wait_for_cancel cancelled");
    throw;
  }
}
asyncio::task<> wait_for_main() {
  const char* sep = "----------";
  print(co_await asyncio::wait_for(wait_for_task(1, 10ms), 10s));
  print(sep);
  try {
    print(co_await asyncio::wait_for(wait_for_task(2, 10s), 10ms));
  } catch (const usock::error& e) {
    if (e.code() == std::errc::timed_out) print("timeout");
  }
  print(sep);
  try {
    co_await asyncio::wait_for(wait_for_task_catch(), 100ms);
  } catch (const usock::error& e) {
    if (e.code() == std::errc::timed_out) print("TimeoutError");
  }
  print(sep);
  try {
    print(co_await asyncio::wait_for(wait_for_task_raise(), 1s));
  } catch (const std::invalid_argument&) {
    print("ValueError");
  }
  print(sep);
  print(co_await wait_for_task(3, 100ms));  // wait_for(aw, None) is a plain await
  print(sep);
  auto t = asyncio::create_task(wait_for_task(4, 10s));
  asyncio::create_task(wait_for_cancel_other(10ms, t));
  try {
    print(co_await asyncio::wait_for(t, 1s));
  } catch (const usock::error& e) {
    if (cancelled(e)) print("CancelledError()");
  }
  print(sep);
  auto w = asyncio::create_task(task_wait_for_cancel(4, 1s, 2s));
  co_await asyncio::sleep(10ms);
  w.cancel();
  co_await asyncio::sleep(10ms);
  print(sep);
  print("finish");
}
}  // namespace

TEST_CASE("asyncio_basic: sleep, awaiting a coroutine, a negative sleep") {
  CHECK(run_printing(basic_main()) == "start\nafter sleep\nshort\nlong\nnegative\ntook 200 400 0\n");
}

TEST_CASE("asyncio_fair: sleeping and yielding tasks share the loop") {
  CHECK(run_printing(fair_main()) ==
        "task start 1\ntask start 2\ntask work 2\ntask start 3\ntask work 3\ntask start 4\ntask work 2\n"
        "task work 3\ntask work 2\ntask work 2\ntask work 3\ntask work 2\nfinish\n");
}

TEST_CASE("asyncio_cancel_task: before start, while sleeping, repeatedly, after the end, passed on") {
  CHECK(run_printing(cancel_task_main()) ==
        "True\ntask start\nTrue\nmain sleep\ntask cancel\ntask start\nTrue\nTrue\nTrue\nTrue\nmain sleep\n"
        "task cancel\nmain wait\nmain got CancelledError\ntask start\ntask done\nFalse\n"
        "----\ntask 2\ntask start\nmain cancel\nmain sleep\ntask cancel\ntask 2 cancel\n"
        "----\ntask 2\ntask start\nmain cancel\nmain sleep\ntask cancel\ntask 2 done\n");
}

TEST_CASE("asyncio_cancel_fair: tasks cancelling each other around sleep(0)") {
  CHECK(run_printing(cancel_fair_main()) ==
        "start 0\nstart 1\nstart 2\ndone 0\n0 cancels 1\nstart 0\ncancelled 1\n1 cancels 0\nstart 1\ndone 2\n"
        "start 2\ncancelled 0\n0 cancels 1\nstart 0\ncancelled 1\n1 cancels 0\nstart 1\ndone 2\nstart 2\n"
        "cancelled 0\n0 cancels 1\ncancelled 1\n1 cancels 0\ndone 2\n");
}

TEST_CASE("asyncio_task_done: done() before, during and after, with and without an exception") {
  CHECK(run_printing(task_done_main()) ==
        "==========\nFalse\ntask start\ntask done\nTrue\nTrue\n"
        "==========\nFalse\ntask start\nFalse\ntask done\nTrue\n"
        "==========\nFalse\ntask start\nTrue\nValueError()\nTrue\n"
        "==========\nFalse\ntask start\nFalse\nValueError()\nTrue\n");
}

TEST_CASE("asyncio_wait_task: awaiting tasks, twice, in parallel, raising") {
  CHECK(run_printing(wait_task_main()) ==
        "start\ntask 1\ntask 2\n----\nstart\nhello\nworld\ntook 200 200\ntask_raise\nValueError\ntask_raise\n"
        "ValueError\n");
}

TEST_CASE("asyncio_cancel_wait_on_finished: cancelling a task woken by the task it awaited") {
  CHECK(run_printing(cancel_wait_on_finished_main()) ==
        "main sleep\nsleep_task sleep\nwait_task wait\nmain sleep\nsleep_task wake\nmain wait\n"
        "CancelledError()\n");
}

TEST_CASE("asyncio_event: set, clear, waiters, cancelled waiters, wait_for") {
  CHECK(run_printing(event_main()) ==
        "False\nTrue\nFalse\n----\nyield\nstart 1\nstart 2\nset event\nyield\nTrue\nend 1\nTrue\nend 2\n"
        "----\nyield\nstart 3\nTrue\nend 3\n----\nclear event\nstart 4\nset event\nTrue\nend 4\n"
        "----\nstart 5\n----\nstart 6\n----\nset event\n----\nTimeoutError\nset event\n");
}

TEST_CASE("asyncio_event_fair: set-then-clear wakes the waiters in turn") {
  CHECK(run_printing(event_fair_main()) ==
        "sleep 0\nwait 2\nsleep 1\nwait 3\nsleep 0\nsleep 1\nwait 2\nsleep 0\nsleep 1\nwait 3\nsleep 0\nsleep 1\n"
        "wait 2\nwait 3\nwait 2\nwait 3\n");
}

TEST_CASE("asyncio_lock: FIFO hand-off, sleeping holders, cancelled waiters pass it on") {
  CHECK(run_printing(lock_main()) ==
        "False\nTrue\nFalse\nhave lock\n----\ntask start 1\ntask start 2\ntask start 3\ntask have 1 0\n"
        "task have 2 0\ntask have 3 0\ntask have 1 1\ntask have 2 1\ntask have 3 1\ntask have 1 2\ntask end 1\n"
        "task have 2 2\ntask end 2\ntask have 3 2\ntask end 3\n----\ntask have True\ntask release False\n"
        "task have True\ntask release False\ntask have again\ntask have again\n----\ntask got 0\n"
        "task release 0\ntask cancel 1\ntask got 2\ntask release 2\nFalse\n----\ntask got 0\ntask cancel 1\n"
        "task release 0\ntask got 2\ntask cancel 2\nFalse\n");
}

TEST_CASE("asyncio_lock_cancel: waiters cancelled as the lock is released") {
  CHECK(run_printing(lock_cancel_main()) ==
        "task 0 start\ntask 1 start\ntask 2 start\ntask 3 start\ntask 1 cancel\ntask 2 cancel\n"
        "task 0 lock_flag False\ntask 0 done\ntask 3 lock_flag False\ntask 3 done\nFalse\n");
}

TEST_CASE("asyncio_gather: results in order, the first failure, cancelling a gather at every step") {
  CHECK(run_printing(gather_main()) ==
        "Task A: Compute factorial(2)...\nTask B: Compute factorial(2)...\nTask C: Compute factorial(2)...\n"
        "Task A: factorial(2) = 2\nTask B: Compute factorial(3)...\nTask C: Compute factorial(3)...\n"
        "Task B: factorial(3) = 6\nTask C: Compute factorial(4)...\nTask C: factorial(4) = 24\n[2, 6, 24]\n"
        "====\ntask_loop start 1\ntask_raise start 2\ntask_loop loop 1\ntask_raise raise 2\nValueError(2,)\n"
        "task_loop loop 1\n"
        "====\ntask_raise start 1\ntask_raise start 2\ntask_raise raise 1\ntask_raise raise 2\nValueError(1,)\n"
        "====\ngather_task\nstart 1\nstart 2\n====\ngather_task\nstart 1\nstart 2\n====\ngather_task\nstart 1\n"
        "start 2\n====\ngather_task\nstart 1\nstart 2\nend 1\nend 2\n");
}

TEST_CASE("asyncio_wait_for: in time, timed out, cancellation ignored, raising, cancelled from outside") {
  CHECK(run_printing(wait_for_main()) ==
        "task start 1\ntask end 1\n2\n----------\ntask start 2\ntimeout\n----------\ntask_catch start\n"
        "ignore cancel\ntask_catch done\nTimeoutError\n----------\ntask start\nValueError\n----------\n"
        "task start 3\ntask end 3\n6\n----------\ntask start 4\ntask_cancel_other start\n"
        "task_cancel_other cancel\nCancelledError()\n----------\ntask_wait_for_cancel start\ntask start 4\n"
        "task_wait_for_cancel cancelled\n----------\nfinish\n");
}
