// usock::asyncio on the raw API as main-loop firmware runs it: one thread, the loop turned by run_once() from
// the firmware's own loop, the idle wait in the poll hook, tasks resumed only after the hook has returned
// (never inside lwIP), and thread_safe_flag waking a sleeping poll hook through lwip_raw::interrupt_wait().
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>

#include <usock/asyncio.hpp>
#include <usock/lwip_raw.hpp>

#include "catch.hpp"
#include "main_loop_env.hpp"

namespace asyncio = usock::asyncio;
using loop_t = asyncio::basic_loop<usock::lwip_raw, 8>;
using stream_t = asyncio::basic_stream<usock::lwip_raw, 8>;
using namespace std::chrono_literals;
using std::chrono::steady_clock;

static_assert(usock::interruptible_backend<usock::lwip_raw>);

namespace {

// ---- an instrumented poll hook: services the stack, counts its runs, and marks when it is running --------

struct hook_probe {
  bool inside = false;             // the hook (and so lwIP, and usock's callbacks) is running
  std::uint64_t runs = 0;
  std::uint64_t resumed_inside = 0;  // task steps that found themselves inside the hook: must stay 0
  std::int32_t longest_wait_asked = 0;
  // Sleeping like a board in WFI: until the wake hook or the time asked for (at most 2 s here).
  std::mutex m;
  std::condition_variable cv;
  bool woken = false;
  bool sleep_when_idle = false;
};
hook_probe probe;

void probe_poll_hook(void*, std::int32_t max_wait_ms) {
  probe.inside = true;
  ++probe.runs;
  if (max_wait_ms > probe.longest_wait_asked) probe.longest_wait_asked = max_wait_ms;
  usock_test::stack().service();
  if (probe.sleep_when_idle && max_wait_ms != 0) {
    std::unique_lock<std::mutex> lock(probe.m);
    const auto limit = max_wait_ms < 0 ? 2000ms : std::chrono::milliseconds(std::min<std::int32_t>(max_wait_ms, 2000));
    probe.cv.wait_for(lock, limit, [] { return probe.woken; });
    probe.woken = false;
  }
  probe.inside = false;
}
void probe_wake_hook(void*) {
  {
    std::lock_guard<std::mutex> lock(probe.m);
    probe.woken = true;
  }
  probe.cv.notify_all();
}

/// Installs the probe as the stack's poll and wake hooks for a scope, then puts the harness's own back.
struct probe_hooks {
  explicit probe_hooks(bool sleep_when_idle) {
    probe.inside = false;
    probe.runs = probe.resumed_inside = 0;
    probe.longest_wait_asked = 0;
    probe.woken = false;
    probe.sleep_when_idle = sleep_when_idle;
    usock::lwip_raw::set_poll_hook(probe_poll_hook, nullptr);
    usock::lwip_raw::set_wake_hook(probe_wake_hook, nullptr);
  }
  ~probe_hooks() {
    usock::lwip_raw::set_wake_hook(nullptr);
    usock_test::stack().install_hooks();
  }
  probe_hooks(const probe_hooks&) = delete;
  probe_hooks& operator=(const probe_hooks&) = delete;
};

void note_step() {
  if (probe.inside) ++probe.resumed_inside;
}

/// Turns the loop from a "firmware main loop" until `done` holds or 10 s pass; returns the turns it took.
template <class Done>
std::size_t turn_until(loop_t& loop, Done done) {
  std::size_t turns = 0;
  const auto limit = steady_clock::now() + 10s;
  usock::error_code ec;
  while (!done() && steady_clock::now() < limit) {
    loop.run_once(50ms, ec);
    REQUIRE_FALSE(ec);
    ++turns;
  }
  return turns;
}

// ---- tasks ----

asyncio::task<> sleeper(bool& finished) {
  note_step();
  usock::error_code ec;
  co_await asyncio::sleep(30ms, ec);
  note_step();
  finished = !ec;
}

asyncio::task<> echo_handler(stream_t s) {
  usock::error_code ec;
  char buf[64];
  for (;;) {
    note_step();
    const std::size_t n = co_await s.readinto(usock::mutable_bytes(std::span<char>(buf, sizeof buf)), ec);
    note_step();
    if (ec || n == 0) break;
    s.write(std::string_view(buf, n), ec);
    co_await s.drain(ec);
    note_step();
    if (ec) break;
  }
  s.close(ec);
}

asyncio::task<> echo_round_trips(int rounds, int& echoed, std::string& error) {
  usock::error_code ec;
  auto srv = co_await asyncio::start_server<usock::lwip_raw, 8>(echo_handler, "127.0.0.1", 0, 2, ec);
  note_step();
  if (ec) co_return void(error = std::string("start_server: ") + ec.message());
  const std::uint16_t port = srv.getsockname(ec).port();
  auto s = co_await asyncio::open_connection<usock::lwip_raw, 8>("127.0.0.1", port, ec);
  note_step();
  if (ec) co_return void(error = std::string("open_connection: ") + ec.message());
  for (int i = 0; i < rounds && !ec; ++i) {
    const std::string line = "line " + std::to_string(i) + "\n";
    s.write(line, ec);
    co_await s.drain(ec);
    note_step();
    char buf[32];
    const std::size_t n = co_await s.readexactly(usock::mutable_bytes(std::span<char>(buf, line.size())), ec);
    note_step();
    if (!ec && std::string_view(buf, n) == line) ++echoed;
  }
  if (ec) error = std::string("round trip: ") + ec.message();
  s.close(ec);
  co_await s.wait_closed(ec);
  srv.close();
  co_await srv.wait_closed(ec);
  note_step();
}

asyncio::task<> flag_waiter(asyncio::thread_safe_flag& flag, bool& got) {
  usock::error_code ec;
  co_await flag.wait(ec);
  note_step();
  got = !ec;
}

}  // namespace

TEST_CASE("asyncio on the raw API: run_once from a main loop, and an idle loop waits in the poll hook for its timer",
          "[lwip_raw][asyncio]") {
  probe_hooks hooks(false);
  loop_t loop;
  usock::error_code ec;
  loop.enter(ec);
  REQUIRE_FALSE(ec);
  bool finished = false;
  auto t = asyncio::create_task(sleeper(finished), ec);
  REQUIRE_FALSE(ec);
  const auto start = steady_clock::now();
  const std::size_t turns = turn_until(loop, [&] { return t.done(); });
  const auto took = steady_clock::now() - start;
  loop.leave();
  CHECK(finished);
  CHECK(took >= 30ms);
  CHECK(turns >= 1);
  // No socket is registered: the wait for the timer was the poll hook's, told how long it may wait.
  CHECK(probe.runs > 0);
  CHECK(probe.longest_wait_asked > 0);
  CHECK(probe.longest_wait_asked <= 51);  // never longer than run_once's max_wait (50 ms), or the timer's 30 ms
  CHECK(probe.resumed_inside == 0);
}

TEST_CASE("asyncio on the raw API: a server and a client in one loop, every step run after the poll hook returned "
          "and never inside lwIP",
          "[lwip_raw][asyncio]") {
  probe_hooks hooks(false);
  loop_t loop;
  usock::error_code ec;
  loop.enter(ec);
  REQUIRE_FALSE(ec);
  int echoed = 0;
  std::string error;
  auto t = asyncio::create_task(echo_round_trips(50, echoed, error), ec);
  REQUIRE_FALSE(ec);
  turn_until(loop, [&] { return t.done(); });
  // The server's connection task ends when it reads the client's EOF: a firmware loop keeps turning.
  turn_until(loop, [&] { return loop.task_count() == 0; });
  CHECK(loop.task_count() == 0);
  loop.leave();
  CHECK(error.empty());
  CHECK(echoed == 50);
  CHECK(probe.runs > 0);
  CHECK(probe.resumed_inside == 0);
}

TEST_CASE("asyncio on the raw API: thread_safe_flag.set() from another thread ends a poll hook sleeping in its "
          "idle wait (interrupt_wait)",
          "[lwip_raw][asyncio]") {
  probe_hooks hooks(true);  // the hook sleeps up to 2 s unless woken, as a board sleeps in WFI
  loop_t loop;
  usock::error_code ec;
  loop.enter(ec);
  REQUIRE_FALSE(ec);
  asyncio::thread_safe_flag flag;
  bool got = false;
  auto t = asyncio::create_task(flag_waiter(flag, got), ec);
  REQUIRE_FALSE(ec);
  loop.run_once(0ms, ec);  // the task starts and waits on the flag
  REQUIRE_FALSE(ec);
  REQUIRE_FALSE(t.done());
  std::atomic<bool> waiting{false};
  std::thread setter([&] {
    while (!waiting.load()) std::this_thread::yield();
    std::this_thread::sleep_for(20ms);  // let the loop be asleep in the hook (not synchronisation: either order passes)
    flag.set();
  });
  waiting.store(true);
  const auto start = steady_clock::now();
  std::size_t turns = 0;
  while (!t.done() && steady_clock::now() - start < 10s) {
    loop.run_once(std::nullopt, ec);  // no timer, no socket: waits in the hook until woken
    REQUIRE_FALSE(ec);
    ++turns;
  }
  const auto took = steady_clock::now() - start;
  setter.join();
  loop.leave();
  CHECK(got);
  CHECK(probe.resumed_inside == 0);
  // Woken by the set(), well before the hook's own 2 s limit would have ended its sleep.
  CHECK(took < 1500ms);
  CHECK(turns <= 3);
}
