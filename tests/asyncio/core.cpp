// The loop's own tests: what MicroPython's suite does not cover (the error-code forms, deep synchronous chains,
// the frame arena, timers, threads).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <random>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "out.hpp"

namespace asyncio = usock::asyncio;
using namespace std::chrono_literals;

namespace {

asyncio::task<int> immediate(int x) { co_return x; }

asyncio::task<long long> long_chain(int n) {
  long long sum = 0;
  std::error_code ec;
  for (int i = 0; i < n; ++i) {
    const int v = co_await immediate(1).result(ec);
    if (ec) co_return -1;
    sum += v;
  }
  co_return sum;
}

asyncio::task<int> nested_chain(int depth) {
  std::error_code ec;
  if (depth == 0) co_return 0;
  const int below = co_await nested_chain(depth - 1).result(ec);
  co_return ec ? -1000000 : below + 1;
}

}  // namespace

TEST_CASE("a million synchronous completions in a row do not grow the stack") {
  std::error_code ec;
  const long long sum = asyncio::run(long_chain(1'000'000), ec);
  REQUIRE_FALSE(ec);
  CHECK(sum == 1'000'000);
}

TEST_CASE("a chain of 10,000 nested awaits finishes with every frame's result") {
  std::error_code ec;
  CHECK(asyncio::run(nested_chain(10'000), ec) == 10'000);
  CHECK_FALSE(ec);
}

TEST_CASE("the timer heap pops in deadline order, ties in arrival order, with removals anywhere") {
  std::mt19937 rng(12345);
  std::vector<asyncio::detail::timer_node> nodes(2000);
  asyncio::detail::timer_heap heap;
  for (auto& n : nodes) {
    n.when = static_cast<std::int64_t>(rng() % 300);
    heap.insert(n);
  }
  std::vector<const asyncio::detail::timer_node*> expected;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (i % 3 == 1) heap.remove(nodes[i]); else expected.push_back(&nodes[i]);
    if (i == 500) heap.pop();  // also take whichever is first now
  }
  std::vector<const asyncio::detail::timer_node*> popped;
  while (auto* n = heap.pop()) popped.push_back(n);
  // The one popped at i == 500 is missing from `popped`; everything else comes out sorted.
  CHECK(popped.size() == expected.size() - 1);
  CHECK(std::is_sorted(popped.begin(), popped.end(), [](auto* a, auto* b) {
    return a->when < b->when || (a->when == b->when && a->seq < b->seq);
  }));
  for (auto* n : popped) CHECK_FALSE(n->linked);
}

namespace {
asyncio::task<> never_ends(asyncio::event& ev) {
  std::error_code ec;
  co_await ev.wait(ec);
}
asyncio::task<int> waits_on_nothing() {
  asyncio::event ev;
  std::error_code ec;
  co_await ev.wait(ec);
  co_return 1;
}
}  // namespace

TEST_CASE("run reports a main task that waits on what can never happen") {
  std::error_code ec;
  asyncio::run(waits_on_nothing(), ec);
  CHECK(ec == std::errc::resource_deadlock_would_occur);
}

TEST_CASE("one loop per thread: run inside run, and create_task without a loop, are refused") {
  std::error_code ec;
  auto h = asyncio::create_task(immediate(1), ec);
  CHECK(ec == std::errc::operation_not_permitted);
  CHECK_FALSE(h);
  struct inner {
    static asyncio::task<std::error_code> main() {
      std::error_code nested;
      asyncio::run(immediate(2), nested);
      co_return nested;
    }
  };
  CHECK(asyncio::run(inner::main(), ec) == std::errc::operation_not_permitted);
  CHECK_FALSE(ec);
}

namespace {
asyncio::task<std::string> error_code_forms() {
  std::string log;
  std::error_code ec, inner;
  // A task cancelled before it starts never runs; awaiting it reports operation_canceled.
  bool ran = false;
  struct body {
    static asyncio::task<int> set(bool& flag) {
      flag = true;
      co_return 7;
    }
  };
  auto h = asyncio::create_task(body::set(ran), ec);
  log += h.cancel() ? "cancelled;" : "not cancelled;";
  const int v = co_await h.result(ec);
  log += (ec == std::errc::operation_canceled && v == 0 && !ran && h.done()) ? "never ran;" : "ran?;";
  // sleep's ec: cleared normally.
  co_await asyncio::sleep_ms(1, ec);
  log += ec ? "sleep failed;" : "slept;";
  // wait_for's ec twin: timed_out, the inner ec says operation_canceled.
  co_await asyncio::wait_for(asyncio::sleep(10s, inner), 5ms, ec);
  log += (ec == std::errc::timed_out && inner == std::errc::operation_canceled) ? "timed out;" : "no timeout?;";
  // In time: both cleared.
  co_await asyncio::wait_for(asyncio::sleep(1ms, inner), 5s, ec);
  log += (!ec && !inner) ? "in time;" : "late?;";
  // A task's result through wait_for, ec forms only.
  const int r = co_await asyncio::wait_for(immediate(5).result(inner), 1s, ec);
  log += (!ec && !inner && r == 5) ? "result;" : "no result?;";
  // Lock misuse.
  asyncio::lock l;
  l.release(ec);
  log += ec == std::errc::operation_not_permitted ? "bad release;" : "release?;";
  // gather's ec form.
  auto [a, b] = co_await asyncio::gather(immediate(1), immediate(2), ec);
  log += (!ec && a == 1 && b == 2) ? "gathered;" : "gather?;";
  co_return log;
}
}  // namespace

TEST_CASE("the error-code forms: cancelled before start, sleep, wait_for, lock misuse, gather") {
  std::error_code ec;
  CHECK(asyncio::run(error_code_forms(), ec) ==
        "cancelled;never ran;slept;timed out;in time;result;bad release;gathered;");
  CHECK_FALSE(ec);
}

namespace {
// wait_for racing completion: the inner wait and the deadline end together, many times over. Whatever wins,
// the result is consistent: timed_out exactly when the inner await reported operation_canceled.
asyncio::task<int> wait_for_races(int rounds) {
  int inconsistent = 0, timeouts = 0;
  for (int i = 0; i < rounds; ++i) {
    asyncio::event ev;
    std::error_code ec, inner;
    struct setter {
      static asyncio::task<> run(asyncio::event& e, std::chrono::microseconds d) {
        std::error_code ignored;
        co_await asyncio::sleep(d, ignored);
        e.set();
      }
    };
    auto s = asyncio::create_task(setter::run(ev, std::chrono::microseconds(i % 4 * 500)), ec);
    co_await asyncio::wait_for(ev.wait(inner), 1ms, ec);
    if ((ec == std::errc::timed_out) != (inner == std::errc::operation_canceled)) ++inconsistent;
    if (ec) ++timeouts;
    co_await s.result(ec);
  }
  std::printf("wait_for racing completion: %d of %d rounds timed out\n", timeouts, rounds);
  if (timeouts == 0 || timeouts == rounds) ++inconsistent;  // both outcomes must have been seen
  co_return inconsistent;
}
}  // namespace

TEST_CASE("wait_for racing completion: timed_out exactly when the inner work was cancelled") {
  std::error_code ec;
  CHECK(asyncio::run(wait_for_races(300), ec) == 0);
  CHECK_FALSE(ec);
}

namespace {
asyncio::task<int> small_task(int x) {
  std::error_code ec;
  co_await asyncio::sleep_ms(1, ec);
  co_return x;
}
asyncio::task<std::string> exhaust(asyncio::frame_arena& arena) {
  std::string log;
  std::error_code ec;
  std::vector<asyncio::task_handle<int>> handles;
  for (int i = 0; i < 1000; ++i) {
    auto h = asyncio::create_task(small_task(i), ec);
    if (ec) break;
    handles.push_back(std::move(h));
  }
  log += ec == std::errc::not_enough_memory ? "exhausted;" : "not exhausted?;";
  const std::size_t made = handles.size();
  std::printf("arena of %zu bytes: %zu tasks of %zu-byte blocks, high-water mark %zu bytes\n", arena.capacity(),
              made, arena.in_use() / (made + 1), arena.high_water());
  int sum = 0;
  for (auto& h : handles) sum += co_await h.result(ec);
  log += sum == static_cast<int>(made * (made - 1) / 2) ? "all ran;" : "lost?;";
  handles.clear();
  // The frames went back to the arena: as many tasks fit again.
  std::size_t again = 0;
  for (; again < made; ++again) {
    auto h = asyncio::create_task(small_task(1), ec);
    if (ec) break;
    handles.push_back(std::move(h));
  }
  log += again == made ? "reused;" : "leaked?;";
  for (auto& h : handles) co_await h.result(ec);
  // An awaited task whose frame cannot be allocated reports not_enough_memory too.
  std::vector<asyncio::task<int>> hoard;
  for (;;) {
    auto t = small_task(1);
    if (!t) break;
    hoard.push_back(std::move(t));
  }
  co_await small_task(1).result(ec);
  log += ec == std::errc::not_enough_memory ? "await refused;" : "await?;";
  auto [a, b] = co_await asyncio::gather(small_task(1), small_task(2), ec);
  log += (ec == std::errc::not_enough_memory && a == 0 && b == 0) ? "gather refused;" : "gather?;";
  co_return log;
}
}  // namespace

TEST_CASE("an exhausted arena is not_enough_memory from create_task, await and gather, never a crash") {
  static asyncio::static_arena<16384> arena;
  asyncio::arena_scope scope(arena);
  std::error_code ec;
  CHECK(asyncio::run(exhaust(arena), ec) == "exhausted;all ran;reused;await refused;gather refused;");
  CHECK_FALSE(ec);
  CHECK(arena.in_use() == 0);
  CHECK(arena.failures() > 0);
}

namespace {
asyncio::thread_safe_flag cross_thread_flag;  // made before any loop runs, as MicroPython's can be

asyncio::task<int> wait_for_other_thread(int rounds) {
  std::atomic<int> requested{0};
  std::atomic<bool> stop{false};
  std::thread setter([&] {
    int done = 0;
    while (!stop.load()) {
      if (requested.load() > done) {  // the loop asked for the next set
        ++done;
        cross_thread_flag.set();
      } else {
        std::this_thread::yield();
      }
    }
  });
  int woken = 0;
  std::error_code ec, inner;
  for (int i = 0; i < rounds; ++i) {
    requested.store(i + 1);
    co_await asyncio::wait_for(cross_thread_flag.wait(inner), 10s, ec);
    if (!ec && !inner) ++woken;
  }
  stop.store(true);
  setter.join();
  co_return woken;
}
}  // namespace

TEST_CASE("thread_safe_flag: set() from another thread wakes a loop waiting in the kernel") {
  std::error_code ec;
  CHECK(asyncio::run(wait_for_other_thread(200), ec) == 200);
  CHECK_FALSE(ec);
}

namespace {
asyncio::task<int> busy_loop_main(int id) {
  std::error_code ec;
  int total = 0;
  for (int i = 0; i < 20; ++i) {
    auto [a, b] = co_await asyncio::gather(small_task(id), small_task(i), ec);
    if (ec) co_return -1;
    total += a + b;
  }
  co_return total;
}
}  // namespace

TEST_CASE("loops on several threads run at once, each with its own tasks") {
  std::vector<std::thread> threads;
  std::vector<int> results(4, -2);
  std::vector<std::error_code> errors(4);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] { results[static_cast<std::size_t>(t)] = asyncio::run(busy_loop_main(t), errors[static_cast<std::size_t>(t)]); });
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) {
    CHECK(results[static_cast<std::size_t>(t)] == 20 * t + 190);
    CHECK_FALSE(errors[static_cast<std::size_t>(t)]);
  }
}

namespace {
asyncio::task<std::string> leftovers() {
  static asyncio::event never;
  std::error_code ec;
  asyncio::create_task(never_ends(never), ec);  // detached, waiting when main ends: run cancels it
  co_return std::string("main done");
}
}  // namespace

TEST_CASE("run cancels the tasks left when main finishes, and frees their frames") {
  static asyncio::static_arena<4096> arena;
  asyncio::arena_scope scope(arena);
  std::error_code ec;
  CHECK(asyncio::run(leftovers(), ec) == "main done");
  CHECK_FALSE(ec);
  CHECK(arena.in_use() == 0);
}

namespace {
asyncio::task<int> ticks_then_value(int n) {
  std::error_code ec;
  for (int i = 0; i < n; ++i) co_await asyncio::sleep_ms(1, ec);
  co_return n;
}
}  // namespace

TEST_CASE("run_once drives the loop from a firmware-style main loop") {
  asyncio::loop l;
  std::error_code ec;
  l.enter(ec);
  REQUIRE_FALSE(ec);
  auto h = asyncio::create_task(ticks_then_value(5), ec);
  REQUIRE_FALSE(ec);
  int turns = 0, other_work = 0;
  while (!h.done() && turns < 10000) {
    l.run_once(std::chrono::milliseconds(2), ec);  // at most 2 ms, then the main loop does its own work
    REQUIRE_FALSE(ec);
    ++other_work;
    ++turns;
  }
  CHECK(h.done());
  CHECK(other_work >= 5);  // five sleeps: at least five turns
  asyncio::loop second;
  std::error_code busy;
  second.enter(busy);
  CHECK(busy == std::errc::operation_not_permitted);  // one loop per thread
  l.leave();
  second.enter(busy);
  CHECK_FALSE(busy);
  second.leave();
}

namespace {
struct marks_destroyed {
  int* count;
  ~marks_destroyed() { ++*count; }
};
asyncio::task<> waits_on(asyncio::event* e, int* destroyed) {
  marks_destroyed mark{destroyed};
  std::error_code ec;
  co_await e->wait(ec);
}
asyncio::task<int> sleeps_long(int* destroyed) {
  marks_destroyed mark{destroyed};
  std::error_code ec;
  co_await asyncio::sleep(std::chrono::hours(1), ec);
  co_return 1;
}
}  // namespace

TEST_CASE("a loop driven by run_once and destroyed with tasks still waiting cancels them and frees their frames") {
  static asyncio::static_arena<4096> arena;
  asyncio::arena_scope scope(arena);
  asyncio::event never;  // outlives the loop, and no task waits on it afterwards
  int destroyed = 0;
  asyncio::task_handle<int> kept;
  {
    asyncio::loop l;
    std::error_code ec;
    l.enter(ec);
    REQUIRE_FALSE(ec);
    asyncio::create_task(waits_on(&never, &destroyed), ec);  // detached: nothing else holds it
    REQUIRE_FALSE(ec);
    kept = asyncio::create_task(sleeps_long(&destroyed), ec);
    REQUIRE_FALSE(ec);
    for (int i = 0; i < 3; ++i) l.run_once(std::chrono::milliseconds(0), ec);
    REQUIRE(l.task_count() == 2);
    CHECK(destroyed == 0);
    CHECK(arena.in_use() > 0);
  }
  CHECK(destroyed == 2);       // both were cancelled and ran to their end (their locals are gone)
  CHECK(kept.done());
  CHECK(arena.in_use() > 0);   // the frame a handle holds stays until the handle goes
  kept = {};
  CHECK(arena.in_use() == 0);  // and the detached one's went with the loop
  never.set();  // nobody waits on it any more
  CHECK(never.is_set());
}

TEST_CASE("the size of a loop, and of the objects a program keeps") {
  std::printf("sizeof: loop %zu (poller for %d sockets and its socket table), stream %zu, server %zu, event %zu, "
              "lock %zu, thread_safe_flag %zu, task_handle %zu\n",
              sizeof(asyncio::loop), USOCK_ASYNCIO_CAPACITY, sizeof(asyncio::stream), sizeof(asyncio::server),
              sizeof(asyncio::event), sizeof(asyncio::lock), sizeof(asyncio::thread_safe_flag),
              sizeof(asyncio::task_handle<int>));
  CHECK(sizeof(asyncio::event) <= 3 * sizeof(void*));
  CHECK(sizeof(asyncio::lock) <= 3 * sizeof(void*));
}
