// The seed's echo server as an asyncio server: each connection is a task of its own, so one thread serves any
// number of clients at once, and a slow client holds up nobody. Frames come from a fixed arena.
//
//   usage: asyncio_echo_server HOST PORT [CLIENTS]
//   for example: asyncio_echo_server 0.0.0.0 9000
//
// With CLIENTS, the program also runs that many clients as tasks in the same loop, all connected at the same
// time; each sends lines of its own and checks the echo. The server closes once every client is done, and the
// program exits with status 0 only if every echo matched (how the tests run it).

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <usock/asyncio.hpp>

#include "example_stack.hpp"

namespace asyncio = usock::asyncio;

namespace {

std::size_t connected = 0, peak = 0;
constexpr std::size_t line_size = 256;  // the longest line a connection echoes

/// One connection: echo every line back until the client closes.
asyncio::task<> echo(asyncio::stream conn) {
  if (++connected > peak) peak = connected;
  std::error_code ec;
  char line[line_size];
  for (;;) {
    const std::size_t n = co_await conn.readline(usock::mutable_bytes(line), ec);  // no allocation per line
    if (ec || n == 0) {
      if (ec) std::fprintf(stderr, "server: readline: %s\n", ec.message().c_str());
      break;
    }
    conn.write(std::string_view(line, n), ec);
    co_await conn.drain(ec);
    if (ec) break;
  }
  --connected;
}

/// One client: sends `lines` lines of its own and checks each echo.
asyncio::task<bool> client(std::uint16_t port, int id, int lines, asyncio::event& all_connected, int& waiting) {
  std::error_code ec;
  auto s = co_await asyncio::open_connection("127.0.0.1", port, ec);
  if (ec) {
    std::fprintf(stderr, "client %d: open_connection: %s\n", id, ec.message().c_str());
    co_return false;
  }
  if (--waiting == 0) all_connected.set();
  co_await all_connected.wait(ec);  // every client is connected before any sends
  bool ok = true;
  for (int i = 0; i < lines && ok; ++i) {
    const std::string msg = "client " + std::to_string(id) + " line " + std::to_string(i) + "\n";
    s.write(msg, ec);
    co_await s.drain(ec);
    const std::string back = co_await s.readline(ec);
    ok = !ec && back == msg;
    if (!ok) std::fprintf(stderr, "client %d: line %d: %s\n", id, i, ec ? ec.message().c_str() : "wrong echo");
  }
  s.close(ec);
  co_return ok;
}

asyncio::task<int> serve(std::string_view host, std::uint16_t port, int clients) {
  std::error_code ec;
  auto server = co_await asyncio::start_server(echo, host, port, 128, ec);  // many clients may arrive at once
  if (ec) {
    std::fprintf(stderr, "start_server: %s\n", ec.message().c_str());
    co_return 1;
  }
  const auto where = server.getsockname(ec);
  std::printf("listening on %s port %u (stack: %s)\n", host.data(), static_cast<unsigned>(where.port()),
              usock_example::stack_name.data());
  std::fflush(stdout);
  if (clients == 0) {
    co_await server.wait_closed(ec);  // serves until the process is stopped
    co_return 0;
  }
  asyncio::event all_connected;
  int waiting = clients;
  std::vector<asyncio::task_handle<bool>> tasks;
  for (int i = 0; i < clients; ++i) {
    tasks.push_back(asyncio::create_task(client(where.port(), i, 10, all_connected, waiting), ec));
    if (ec) {
      std::fprintf(stderr, "create_task: %s\n", ec.message().c_str());
      co_return 1;
    }
  }
  int good = 0;
  for (auto& t : tasks) {
    const bool ok = co_await t.result(ec);
    good += ok && !ec;
  }
  server.close();
  co_await server.wait_closed(ec);
  std::printf("%d of %d concurrent clients got their echo back\n", good, clients);
  std::printf("server: %zu clients served, %zu connected at once at the most\n", server.accepted(), peak);
  std::printf("server: %zu connections dropped for want of a frame, %zu failed accepts\n", server.dropped(),
              server.failures());
  co_return good == clients ? 0 : 1;
}

}  // namespace

int main(int argc, char* argv[]) {
  if (argc != 3 && argc != 4) {
    std::fprintf(stderr, "usage: %s HOST PORT [CLIENTS]\n  for example: %s 0.0.0.0 9000\n", argv[0], argv[0]);
    return 2;
  }
  usock_example::network_stack stack;  // before any socket: the stack this build runs on
  const int port = std::atoi(argv[2]), clients = argc == 4 ? std::atoi(argv[3]) : 0;
  // Every frame (each connection's handler, each client, the server's accepting task) comes from here.
  static asyncio::static_arena<512 * 1024> arena;
  asyncio::arena_scope scope(arena);
  {
    // What one connection costs: its handler's frame, the server's block that counts it out when it
    // finishes, and the stream's read-ahead block (from the heap on the first readline: as big as the handler's
    // line buffer, and at least the blocking readline's block).
    auto probe = echo(asyncio::stream(usock::socket::adopt(usock::default_backend::invalid_handle)));
    const std::size_t handler = arena.last_request();
    using node = asyncio::detail::connection_node<usock::default_backend, USOCK_ASYNCIO_CAPACITY>;
    void* block = asyncio::detail::allocate_frame(sizeof(node));
    const std::size_t outer = arena.last_request();
    asyncio::detail::free_frame(block, sizeof(node));
    std::printf("handler frame: %zu bytes (%zu-byte arena block)\n", handler - 16,
                asyncio::frame_arena::block_size(handler));
    const std::size_t read_ahead = std::max(line_size, asyncio::stream::read_ahead_block);
    std::printf("per connection: %zu bytes of arena (handler frame and server block) + a read-ahead block of %zu bytes\n",
                asyncio::frame_arena::block_size(handler) + asyncio::frame_arena::block_size(outer), read_ahead);
  }
  std::error_code ec;
  const int rc = asyncio::run(serve(argv[1], static_cast<std::uint16_t>(port), clients), ec);
  if (ec) std::fprintf(stderr, "run: %s\n", ec.message().c_str());
  std::printf("arena high-water mark: %zu bytes of %zu\n", arena.high_water(), arena.capacity());
  return ec ? 1 : rc;
}
