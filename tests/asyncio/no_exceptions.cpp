// usock::asyncio built with -fno-exceptions -fno-rtti: only the error-code forms exist, and they work. A plain
// program (Catch2 needs exceptions): each check prints its name; the exit status is the number that failed.
#include <cstdio>
#include <string>
#include <string_view>

#include <usock/asyncio.hpp>

#if defined(__cpp_exceptions) || defined(__GXX_RTTI)
#error "this test must be built with -fno-exceptions -fno-rtti"
#endif

namespace asyncio = usock::asyncio;
using namespace std::chrono_literals;

namespace {

int failed = 0, passed = 0;
void check(bool ok, const char* what) {
  std::printf("%s: %s\n", ok ? "ok" : "FAILED", what);
  (ok ? passed : failed)++;
}

asyncio::task<int> twice(int x) {
  std::error_code ec;
  co_await asyncio::sleep_ms(1, ec);
  co_return ec ? -1 : 2 * x;
}

asyncio::task<> echo_lines(asyncio::stream s) {
  std::error_code ec;
  char line[64];
  for (;;) {
    const std::size_t n = co_await s.readline(usock::mutable_bytes(line), ec);
    if (ec || n == 0) break;
    s.write(std::string_view(line, n), ec);
    co_await s.drain(ec);
  }
}

asyncio::task<> waits(asyncio::event& ev, std::error_code& out) { co_await ev.wait(out); }

asyncio::task<int> main_task() {
  std::error_code ec, inner;
  const int v = co_await twice(21).result(ec);
  check(!ec && v == 42, "co_await task.result(ec)");

  auto h = asyncio::create_task(twice(1), ec);
  h.cancel();
  co_await h.result(ec);
  check(ec == std::errc::operation_canceled, "a task cancelled before it ran reports operation_canceled");

  co_await asyncio::wait_for(asyncio::sleep(10s, inner), 5ms, ec);
  check(ec == std::errc::timed_out && inner == std::errc::operation_canceled, "wait_for times out");

  auto [a, b] = co_await asyncio::gather(twice(1), twice(2), ec);
  check(!ec && a == 2 && b == 4, "gather");

  asyncio::event ev;
  std::error_code waited;
  auto w = asyncio::create_task(waits(ev, waited), ec);
  co_await asyncio::sleep_ms(0, ec);
  w.cancel();
  co_await w.result(ec);
  check(waited == std::errc::operation_canceled, "cancelling an event wait");

  asyncio::lock l;
  co_await l.acquire(ec);
  check(!ec && l.locked(), "lock.acquire");
  l.release(ec);
  l.release(ec);
  check(ec == std::errc::operation_not_permitted, "releasing a free lock is an error");

  auto srv = co_await asyncio::start_server(echo_lines, "127.0.0.1", 0, ec);
  check(!ec, "start_server");
  const auto where = srv.getsockname(ec);
  auto s = co_await asyncio::open_connection("127.0.0.1", where.port(), ec);
  check(!ec, "open_connection");
  s.write("hello\nworld\n", ec);
  co_await s.drain(ec);
  const std::string first = co_await s.readline(ec);
  const std::string second = co_await s.readexactly(6, ec);
  check(!ec && first == "hello\n" && second == "world\n", "readline and readexactly");
  s.close(ec);
  srv.close();
  co_await srv.wait_closed(ec);
  check(!ec, "server closed");
  co_return 0;
}

}  // namespace

int main() {
  static asyncio::static_arena<65536> arena;  // no frame from the heap
  asyncio::arena_scope scope(arena);
  std::error_code ec;
  asyncio::run(main_task(), ec);
  check(!ec, "run");
  check(arena.in_use() == 0, "every frame went back to the arena");
  std::printf("asyncio without exceptions: %d checks passed, %d failed; arena high-water mark %zu bytes\n", passed,
              failed, arena.high_water());
  return failed;
}
