// The seed's echo server on usock::asyncio, built for a Cortex-M4F with lwIP's raw API (NO_SYS=1,
// -fno-exceptions -fno-rtti): each connection is a task of its own, so up to 8 clients are served at once, and
// the loop runs from the firmware's own main loop, one turn at a time (run_once), as a camera's main loop that
// also serves sensors and DMA would run it. The loop's idle wait is the board's poll hook (WFI until the tick
// or a frame). Coroutine frames come from a fixed static arena, never from the heap (USOCK_ASYNCIO_NO_HEAP),
// and the read and write buffers of a connection live in its handler's frame: nothing is allocated per message.
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <system_error>
#include <utility>

#include <usock/asyncio.hpp>

#include "board.h"

namespace asyncio = usock::asyncio;

namespace {

// One read takes at most `chunk` bytes (as the blocking image's recv); what the stack does not take of its echo
// at once waits in the stream's write queue, `queue` bytes. Both live in the handler's frame, sized so that the
// frame fits a 2 KiB block of the arena.
constexpr std::size_t chunk = 1024;
constexpr std::size_t queue = 512;
// Every frame: the server's state and accepting task (less than 640 bytes of arena), and for each connection
// its handler and the server's block that counts it (2,112 bytes): 8 connections at once take less than
// 17,536 bytes, and 2 more fit while others are closing. A connection beyond that is closed at once and counted
// (server.dropped()), and the server goes on.
asyncio::static_arena<24 * 1024> arena;

/// One connection: reads into the frame's buffer, writes it back, drains; until EOF or an error.
asyncio::task<> echo(asyncio::stream conn) {
  usock::error_code ec;
  std::array<std::byte, queue> pending;  // the stream's write queue (no heap here)
  conn.set_write_buffer(pending, ec);
  std::array<std::byte, chunk> data;
  while (!ec) {
    const std::size_t n = co_await conn.readinto(data, ec);
    if (ec || n == 0) break;
    for (auto rest = std::span<const std::byte>(data).first(n); !rest.empty();) {
      rest = rest.subspan(conn.write(rest, ec));  // sent, or queued; a full queue takes the rest after the drain
      if (ec && ec != std::errc::no_buffer_space) break;
      co_await conn.drain(ec);
      if (ec) break;
    }
  }
  conn.close(ec);
}

// ---- what it costs, on the board's log (no printf: newlib's would bring its heap) ----

/// Prints `format` with each '#' replaced by the next of `values`, in decimal.
void log_values(const char* format, std::initializer_list<std::size_t> values) {
  char line[160];
  char* out = line;
  const std::size_t* v = values.begin();
  for (; *format; ++format) {
    if (*format != '#') {
      *out++ = *format;
      continue;
    }
    char digits[10];
    int n = 0;
    std::size_t x = *v++;
    do digits[n++] = static_cast<char>('0' + x % 10); while ((x /= 10) != 0);
    while (n) *out++ = digits[--n];
  }
  *out++ = '\n';
  *out = '\0';
  board_log(line);
}

/// What one connection costs: its handler's frame and the server's block that counts it, as the arena sees them
/// (the frame with the arena's header, rounded up to its size class). Called before the loop serves: the probe
/// frames go back to the arena's free lists, and the first connection reuses them.
void report_frames(const asyncio::loop& loop) {
  using asyncio::frame_arena;
  std::size_t handler, outer;
  {
    auto probe = echo(asyncio::stream(usock::socket::adopt(usock::lwip_raw::invalid_handle)));
    handler = arena.last_request();
    using node = asyncio::detail::connection_node<usock::lwip_raw, USOCK_ASYNCIO_CAPACITY>;
    void* block = asyncio::detail::allocate_frame(sizeof(node));
    outer = arena.last_request();
    asyncio::detail::free_frame(block, sizeof(node));
  }
  const std::size_t header = sizeof(asyncio::detail::frame_header);
  log_values("echo_asyncio: handler frame # B (block #), server node # B (block #): # B of arena per connection; "
             "arena # B, loop # B",
             {handler - header, frame_arena::block_size(handler), outer - header, frame_arena::block_size(outer),
              frame_arena::block_size(handler) + frame_arena::block_size(outer), arena.capacity(), sizeof loop});
}

}  // namespace

int main() {
  board_init();
  usock::lwip_raw::set_poll_hook(board_poll);

  asyncio::arena_scope scope(arena);  // every coroutine frame comes from the arena
  // The loop (its tables sized for USOCK_ASYNCIO_CAPACITY sockets, 16 here) and the server live in main's
  // frame, which never returns: no static destructor to register.
  asyncio::loop loop;
  usock::error_code ec;
  loop.enter(ec);
  if (ec) board_fatal();
  report_frames(loop);
  // The server: listens on port 9000 (8 connections may wait in the accept queue) and serves until the firmware
  // stops; started here, in the loop entered above, without a task of its own (its accepting task is the
  // server's). `server` is main's, so the main loop can read its counters.
  const asyncio::server server = asyncio::server::start(echo, "0.0.0.0", 9000, 8, ec);
  if (ec) board_fatal();

  // The firmware's main loop: one turn of the asyncio loop (due timers, readiness, the tasks that were ready),
  // waiting at most 100 ms in the poll hook; then whatever else the firmware does (sensors, DMA). The first
  // wait prints the board's "network up" line.
  std::size_t reported = 0;
  for (;;) {
    loop.run_once(std::chrono::milliseconds(100), ec);
    if (ec) board_fatal();
    if (arena.high_water() > reported) {  // the arena's high-water mark, each time it rises
      reported = arena.high_water();
      log_values("echo_asyncio: arena high-water # B, # connections", {reported, server.running()});
    }
  }
}
