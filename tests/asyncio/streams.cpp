// Streams and servers on the build's backend: every semantic of read, readinto, readexactly, readline, write,
// drain and close, every error, cancellation at every await point with nothing lost, wait_for racing a read.
// Both ends of each connection are streams on the one loop of the case.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "catch.hpp"
#include "out.hpp"

namespace asyncio = usock::asyncio;
using namespace std::chrono_literals;

namespace {

/// Two connected streams and the server that made one of them.
struct connection {
  asyncio::server srv;
  asyncio::stream a;  // the client end
  asyncio::stream b;  // the accepted end
};

struct accepted_slot {
  asyncio::stream* into = nullptr;
  asyncio::event ready;
};
accepted_slot* slot = nullptr;

asyncio::task<> keep(asyncio::stream s) {
  *slot->into = std::move(s);
  slot->ready.set();
  co_return;
}

/// Connects a pair through a server on 127.0.0.1 (port 0). REQUIREs nothing: the caller checks `ec`.
asyncio::task<> connect_pair(connection& c, std::error_code& ec) {
  accepted_slot s;
  asyncio::stream accepted(usock::basic_socket<usock::default_backend>::adopt(usock::default_backend::invalid_handle));
  s.into = &accepted;
  slot = &s;
  c.srv = co_await asyncio::start_server(keep, "127.0.0.1", 0, ec);
  if (ec) co_return;
  const auto where = c.srv.getsockname(ec);
  if (ec) co_return;
  c.a = co_await asyncio::open_connection("127.0.0.1", where.port(), ec);
  if (ec) co_return;
  co_await s.ready.wait(ec);
  c.b = std::move(accepted);
  slot = nullptr;
}

asyncio::stream closed_stream() {
  return asyncio::stream(usock::basic_socket<usock::default_backend>::adopt(usock::default_backend::invalid_handle));
}

/// Runs `body(c)` on a fresh connection; returns its log (a string the case compares).
template <class Body>
std::string with_connection(Body body) {
  struct runner {
    static asyncio::task<std::string> main(Body body) {
      connection c{asyncio::server{}, closed_stream(), closed_stream()};
      std::error_code ec;
      co_await connect_pair(c, ec);
      if (ec) co_return "connect failed: " + ec.message();
      std::string log = co_await body(c);
      c.a.close(ec);
      c.b.close(ec);
      c.srv.close();
      co_await c.srv.wait_closed(ec);
      co_return log;
    }
  };
  std::error_code ec;
  std::string log = asyncio::run(runner::main(body), ec);
  if (ec) log += " run: " + ec.message();
  return log;
}

std::string describe(const std::error_code& ec) { return ec ? ec.message() : "ok"; }

/// Reads `s` to EOF and returns how many bytes came.
asyncio::task<std::size_t> count_to_eof(asyncio::stream& s) {
  std::error_code e;
  const std::string got = co_await s.read(e);
  co_return got.size();
}

asyncio::task<std::string> read_is_one_read(connection& c) {
  std::string log;
  std::error_code ec;
  c.b.write("abc", ec);
  std::string got = co_await c.a.read(100, ec);
  log += got + "|" + describe(ec) + ";";
  c.b.write("defgh", ec);
  got = co_await c.a.read(2, ec);
  log += got + ";";
  got = co_await c.a.read(10, ec);
  log += got + ";";
  c.b.close(ec);
  got = co_await c.a.read(10, ec);
  log += "eof:'" + got + "'|" + describe(ec);
  co_return log;
}

/// Writes `text` in pieces, draining between, then closes: a task beside the reader, since a stack with small
/// buffers (lwIP's) holds far less than `text` while nobody reads.
asyncio::task<std::string> write_and_close(asyncio::stream& s, const std::string& text) {
  std::error_code ec;
  std::size_t off = 0;
  while (off < text.size()) {
    off += s.write(std::string_view(text).substr(off, 8192), ec);
    co_await s.drain(ec);
    if (ec) co_return "drain: " + ec.message();
  }
  s.close(ec);
  co_return "written";
}

asyncio::task<std::string> read_to_eof(connection& c) {
  std::error_code ec;
  std::string sent;
  for (int i = 0; i < 20000; ++i) sent += std::to_string(i) + ",";
  auto writer = asyncio::create_task(write_and_close(c.b, sent), ec);
  if (ec) co_return "create_task: " + ec.message();
  const std::string got = co_await c.a.read(ec);
  const std::string read_ec = describe(ec);
  const std::string wrote = co_await writer;
  co_return wrote + "|" + (got == sent ? "all " + std::to_string(got.size()) + "|" + read_ec : "mismatch");
}

asyncio::task<std::string> readinto_and_readexactly(connection& c) {
  std::string log;
  std::error_code ec;
  char buf[4];
  c.b.write("hello", ec);
  std::size_t n = co_await c.a.readinto(usock::mutable_bytes(buf), ec);
  log += std::string(buf, n) + ";";
  n = co_await c.a.readinto(usock::mutable_bytes(buf), ec);
  log += std::string(buf, n) + ";";
  c.b.write("12", ec);
  struct later {
    static asyncio::task<> write(asyncio::stream& s) {
      std::error_code e;
      co_await asyncio::sleep_ms(5, e);
      s.write("345", e);
    }
  };
  auto w = asyncio::create_task(later::write(c.b), ec);
  std::string got = co_await c.a.readexactly(5, ec);
  log += got + "|" + describe(ec) + ";";
  co_await w.result(ec);
  char five[5];
  c.b.write("ab", ec);
  c.b.close(ec);
  n = co_await c.a.readexactly(usock::mutable_bytes(five), ec);
  log += "early eof " + std::to_string(n) + " '" + std::string(five, n) + "'|" +
         (ec == std::errc::no_message_available ? "no_message_available" : describe(ec));
  co_return log;
}

asyncio::task<std::string> readlines(connection& c) {
  std::string log;
  std::error_code ec;
  c.b.write("one\ntwo\nthr", ec);
  for (int i = 0; i < 2; ++i) {
    std::string line = co_await c.a.readline(ec);
    log += line;
  }
  c.b.write("ee", ec);
  c.b.close(ec);
  std::string last = co_await c.a.readline(ec);
  log += "[" + last + "]";
  std::string eof = co_await c.a.readline(ec);
  log += "[" + eof + "]" + describe(ec);
  co_return log;
}

asyncio::task<std::string> line_limits(connection& c) {
  std::string log;
  std::error_code ec;
  c.a.set_line_limit(8);
  c.b.write("0123456789\nab\n", ec);
  co_await asyncio::sleep_ms(5, ec);
  std::string line = co_await c.a.readline(ec);
  log += (ec == std::errc::message_size ? "too long" : describe(ec)) + ("'" + line + "';");
  const std::string rest = co_await c.a.readexactly(14, ec);  // nothing was lost
  log += rest == "0123456789\nab\n" ? "kept;" : "lost '" + rest + "';";
  c.a.set_line_limit(4096);
  char small[4];
  c.b.write("ab\nabcdef\n", ec);
  std::size_t n = co_await c.a.readline(usock::mutable_bytes(small), ec);
  log += std::string(small, n) + ";";
  n = co_await c.a.readline(usock::mutable_bytes(small), ec);
  log += ec == std::errc::message_size ? "buffer too small;" : "fits?;";
  char big[16];
  n = co_await c.a.readline(usock::mutable_bytes(big), ec);
  log += std::string(big, n);
  co_return log;
}

asyncio::task<std::string> bounded_writes(connection& c) {
  std::string log;
  std::error_code ec;
  const std::string block(1 << 20, 'x');
  std::size_t accepted = 0;
  for (int i = 0; i < 64 && !ec; ++i) accepted += c.a.write(block, ec);  // nobody reads: the queue fills
  log += ec == std::errc::no_buffer_space ? "queue full;" : "never full? " + describe(ec) + ";";
  log += c.a.pending() <= USOCK_ASYNCIO_WRITE_BUFFER ? "bounded;" : "unbounded;";
  auto r = asyncio::create_task(count_to_eof(c.b), ec);
  co_await c.a.drain(ec);
  log += c.a.pending() == 0 ? "drained;" : "left;";
  c.a.close(ec);
  const std::size_t received = co_await r.result(ec);
  log += received == accepted ? "every accepted byte arrived" : "count mismatch";
  co_return log;
}

int ticks = 0;
asyncio::task<> ticker() {
  std::error_code ec;
  for (;;) {
    ++ticks;
    co_await asyncio::sleep_ms(0, ec);
    if (ec) co_return;
  }
}

asyncio::task<std::string> drain_yields(connection& c) {
  std::error_code ec;
  ticks = 0;
  auto t = asyncio::create_task(ticker(), ec);
  co_await asyncio::sleep_ms(0, ec);
  const int before = ticks;
  for (int i = 0; i < 10; ++i) {
    c.a.write("x", ec);
    co_await c.a.drain(ec);
  }
  const int after = ticks;
  t.cancel();
  co_await t.result(ec);
  co_return after - before >= 10 ? "drain yielded every time" : "starved: " + std::to_string(after - before);
}

// Lines already in the read-ahead are taken without suspending: each such await still counts towards the
// task's budget (the others get turns), and a cancellation waiting for the task's next await still comes first.
asyncio::task<std::string> buffered_lines_yield(connection& c) {
  std::error_code ec;
  std::string lines;
  for (int i = 0; i < 1000; ++i) lines += "x\n";
  c.b.write(lines, ec);
  std::string first = co_await c.a.readline(ec);  // waits for the block, then the rest is buffered
  ticks = 0;
  auto t = asyncio::create_task(ticker(), ec);
  int got = first == "x\n" ? 1 : 0;
  while (got < 1000 && !ec) {
    const std::string line = co_await c.a.readline(ec);
    if (line != "x\n") break;
    ++got;
  }
  const int turns = ticks;
  t.cancel();
  co_await t.result(ec);
  co_return std::to_string(got) + " lines;" + (turns >= 10 ? "the others ran" : "starved: " + std::to_string(turns));
}

asyncio::task<std::string> self_cancel_then_readline(asyncio::stream* s, asyncio::task_handle<std::string>* self) {
  self->cancel();  // running: the cancellation waits for this task's next await
  std::error_code ec;
  std::string line = co_await s->readline(ec);  // a whole line is buffered, and still the cancellation comes first
  std::string log = (ec == std::errc::operation_canceled ? "cancelled" : describe(ec)) + " '" + line + "';";
  line = co_await s->readline(ec);
  co_return log + describe(ec) + " '" + line + "'";
}

asyncio::task<std::string> cancel_before_buffered_line(connection& c) {
  std::error_code ec;
  c.b.write("a\nb\n", ec);
  std::string log = co_await c.a.readline(ec);  // "a\n"; "b\n" stays in the read-ahead
  asyncio::task_handle<std::string> t;
  t = asyncio::create_task(self_cancel_then_readline(&c.a, &t), ec);
  log += co_await t.result(ec);
  co_return log;
}

// A caller's read block smaller than a line limit raised after it was given: a full block is message_size
// (never taken for the end of the stream), and the bytes stay readable.
asyncio::task<std::string> full_caller_block(connection& c) {
  std::error_code ec;
  std::byte block[16];
  c.a.set_read_buffer(block, ec);
  std::string log = ec ? "set_read_buffer: " + describe(ec) + ";" : "";
  c.a.set_line_limit(64);
  c.b.write("0123456789abcdefghij", ec);  // 20 bytes, no newline
  const std::string line = co_await c.a.readline(ec);
  log += (ec == std::errc::message_size ? "too long" : describe(ec)) + (" '" + line + "';");
  const std::string rest = co_await c.a.readexactly(20, ec);
  log += rest == "0123456789abcdefghij" ? "kept" : "lost '" + rest + "' " + describe(ec);
  co_return log;
}

// readline inside wait_for (which takes the awaiter over): a line that has to be read, then one already in the
// read-ahead, come at once; a line whose end does not come times out with its start kept for the next read.
asyncio::task<std::string> readline_within_wait_for(connection& c) {
  std::error_code ec, inner;
  c.b.write("a\nb\nc", ec);
  std::string log = co_await asyncio::wait_for(c.a.readline(inner), std::chrono::seconds(5), ec);
  log += "(" + describe(inner) + "," + describe(ec) + ")";
  std::byte buf[8];
  std::size_t n = co_await asyncio::wait_for(c.a.readline(usock::mutable_bytes(buf), inner), std::chrono::seconds(5), ec);
  log += std::string(reinterpret_cast<const char*>(buf), n) + "(" + describe(inner) + "," + describe(ec) + ")";
  n = co_await asyncio::wait_for(c.a.readline(usock::mutable_bytes(buf), inner), 20ms, ec);
  log += std::to_string(n) + "(" + describe(inner) + "," + describe(ec) + ");";
  c.b.write("d\n", ec);
  log += co_await c.a.readline(ec);
  co_return log;
}

asyncio::task<std::string> addresses_and_reset(connection& c) {
  std::string log;
  std::error_code ec, ec2;
  const auto peer = c.a.getpeername(ec);
  const auto local = c.b.getsockname(ec2);
  log += (!ec && !ec2 && peer == local) ? "peername;" : "peername?;";
  c.a.write("unread", ec);
  co_await asyncio::sleep_ms(5, ec);
  c.b.close(ec);  // closing with unread data resets the connection
  co_await asyncio::sleep_ms(5, ec);
  const std::string got = co_await c.a.read(10, ec);
  log += ec == std::errc::connection_reset ? "connection_reset" : "'" + got + "' " + describe(ec);
  co_return log;
}

}  // namespace

TEST_CASE("stream.read(n) is one read of up to n bytes, \"\" at EOF") {
  CHECK(with_connection(read_is_one_read) == "abc|ok;de;fgh;eof:''|ok");
}

TEST_CASE("stream.read() reads to EOF") { CHECK(with_connection(read_to_eof) == "written|all 108890|ok"); }

TEST_CASE("stream.readinto is one read, readexactly waits for all, or reports an early EOF with what it read") {
  CHECK(with_connection(readinto_and_readexactly) == "hell;o;12345|ok;early eof 2 'ab'|no_message_available");
}

TEST_CASE("stream.readline: whole lines, the partial last line, \"\" at EOF") {
  CHECK(with_connection(readlines) == "one\ntwo\n[three][]ok");
}

TEST_CASE("stream.readline: a line over the limit is message_size and loses nothing") {
  CHECK(with_connection(line_limits) == "too long'';kept;ab\n;buffer too small;abcdef\n");
}

TEST_CASE("stream.readline of lines already buffered still yields to the other tasks") {
  CHECK(with_connection(buffered_lines_yield) == "1000 lines;the others ran");
}

TEST_CASE("stream.readline: a cancellation waiting for the next await comes before a line already buffered") {
  CHECK(with_connection(cancel_before_buffered_line) == "a\ncancelled '';ok 'b\n'");
}

TEST_CASE("stream.readline within wait_for: read or buffered lines at once, a timeout keeps the partial line") {
  CHECK(with_connection(readline_within_wait_for) ==
        "a\n(ok,ok)b\n(ok,ok)0(Operation canceled,Connection timed out);cd\n");
}

TEST_CASE("stream.readline: a caller's block full under a raised limit is message_size, not the end of the stream") {
  CHECK(with_connection(full_caller_block) == "too long '';kept");
}

TEST_CASE("stream.write queues a bounded amount and drain sends it all") {
  CHECK(with_connection(bounded_writes) == "queue full;bounded;drained;every accepted byte arrived");
}

TEST_CASE("stream.drain always yields, so a write-and-drain loop cannot starve the others") {
  CHECK(with_connection(drain_yields) == "drain yielded every time");
}

TEST_CASE("stream.getpeername, and a reset is connection_reset") {
  CHECK(with_connection(addresses_and_reset) == "peername;connection_reset");
}

namespace {
asyncio::task<std::string> refused() {
  std::error_code ec;
  usock::socket probe(usock::af_inet, usock::sock_stream, ec);
  probe.bind(usock::address("127.0.0.1", 0), ec);
  const auto port = probe.getsockname(ec).port();
  probe.close(ec);  // nothing listens there now
  auto s = co_await asyncio::open_connection("127.0.0.1", port, ec);
  std::string log = ec == std::errc::connection_refused ? "refused" : describe(ec);
  log += s.is_open() ? " open?" : " closed";
  auto bad = co_await asyncio::open_connection("not an address", 1, ec);
  log += ec ? ";bad host reported" : ";bad host?";
  co_return log;
}
}  // namespace

TEST_CASE("open_connection checks the connection: refused is an error there") {
  std::error_code ec;
  CHECK(asyncio::run(refused(), ec) == "refused closed;bad host reported");
}

// ---- cancellation at every await point, nothing lost ------------------------------------------------------
namespace {
template <class Make>
asyncio::task<std::string> cancel_then_read_again(connection& c, const char* first, const char* second, Make make) {
  std::error_code ec;
  struct waiter {
    static asyncio::task<std::string> run(asyncio::stream& s, Make make) {
      std::error_code e;
      std::string got = co_await make(s, e);
      co_return (e == std::errc::operation_canceled ? "cancelled:" : describe(e) + ":") + got;
    }
  };
  auto t = asyncio::create_task(waiter::run(c.a, make), ec);
  c.b.write(first, ec);
  co_await asyncio::sleep_ms(5, ec);  // the read has taken what it could and waits for more
  t.cancel();
  const std::string cancelled = co_await t.result(ec);
  c.b.write(second, ec);
  c.b.close(ec);
  const std::string after = co_await c.a.read(ec);
  co_return cancelled + " then " + after;
}
}  // namespace

TEST_CASE("a cancelled read takes no bytes, at every kind of read") {
  CHECK(with_connection([](connection& c) {
          return cancel_then_read_again(c, "", "data", [](asyncio::stream& s, std::error_code& e) { return s.read(10, e); });
        }) == "cancelled: then data");
  CHECK(with_connection([](connection& c) {
          return cancel_then_read_again(c, "12", "345",
                                        [](asyncio::stream& s, std::error_code& e) { return s.readexactly(5, e); });
        }) == "cancelled: then 12345");
  CHECK(with_connection([](connection& c) {
          return cancel_then_read_again(c, "par", "tial\n",
                                        [](asyncio::stream& s, std::error_code& e) { return s.readline(e); });
        }) == "cancelled: then partial\n");
  CHECK(with_connection([](connection& c) {
          return cancel_then_read_again(c, "abc", "def", [](asyncio::stream& s, std::error_code& e) { return s.read(e); });
        }) == "cancelled: then abcdef");
}

namespace {
asyncio::task<std::string> cancelled_drain(connection& c) {
  std::error_code ec;
  const std::string block(1 << 20, 'y');
  std::size_t accepted = 0;
  struct drainer {
    static asyncio::task<std::string> run(asyncio::stream& s) {
      std::error_code e;
      co_await s.drain(e);
      co_return e == std::errc::operation_canceled ? "cancelled" : describe(e);
    }
  };
  std::string log = "drain never blocked";
  // Fill the queue, drain in a task; once the peer's window and the stack's buffers are full (nobody reads),
  // the drain waits: cancel it there.
  for (int round = 0; round < 100; ++round) {
    while (!ec) accepted += c.a.write(block, ec);
    if (ec != std::errc::no_buffer_space) co_return "write: " + describe(ec);
    auto d = asyncio::create_task(drainer::run(c.a), ec);
    co_await asyncio::sleep_ms(5, ec);
    if (!d.done()) {
      d.cancel();
      log = co_await d.result(ec);
      break;
    }
    co_await d.result(ec);
  }
  log += c.a.pending() > 0 ? ";rest still queued" : ";nothing queued?";
  auto r = asyncio::create_task(count_to_eof(c.b), ec);
  co_await c.a.drain(ec);
  c.a.close(ec);
  const std::size_t received = co_await r.result(ec);
  log += received == accepted ? ";every byte arrived once" : ";mismatch";
  co_return log;
}

// wait_for around reads racing the data: every byte written is read exactly once, and timed_out is reported
// exactly when the read was cancelled.
asyncio::task<std::string> wait_for_read_races(connection& c) {
  std::error_code ec;
  struct writer {
    static asyncio::task<> run(asyncio::stream& s, int rounds) {
      std::error_code e;
      for (int i = 0; i < rounds; ++i) {
        s.write(std::to_string(i % 10), e);
        co_await asyncio::sleep(std::chrono::microseconds(i % 3 * 400), e);
      }
      s.close(e);
    }
  };
  const int rounds = 400;
  auto w = asyncio::create_task(writer::run(c.b, rounds), ec);
  std::string got;
  int inconsistent = 0, timeouts = 0;
  for (;;) {
    std::error_code inner;
    std::string piece = co_await asyncio::wait_for(c.a.read(100, inner), 500us, ec);
    if ((ec == std::errc::timed_out) != (inner == std::errc::operation_canceled)) ++inconsistent;
    if (ec) {
      ++timeouts;
      continue;
    }
    if (piece.empty()) break;
    got += piece;
  }
  co_await w.result(ec);
  std::string expected;
  for (int i = 0; i < rounds; ++i) expected += std::to_string(i % 10);
  std::printf("wait_for around reads: %d timeouts over %d writes\n", timeouts, rounds);
  co_return (got == expected ? "every byte once" : "lost or repeated") +
         std::string(inconsistent == 0 ? ";consistent" : ";inconsistent") + (timeouts > 0 ? ";timed out" : ";no race");
}
}  // namespace

TEST_CASE("a cancelled drain leaves the unsent bytes queued, nothing is lost or sent twice") {
  CHECK(with_connection(cancelled_drain) == "cancelled;rest still queued;every byte arrived once");
}

TEST_CASE("wait_for racing reads: every byte read once, timed_out exactly when the read was cancelled") {
  CHECK(with_connection(wait_for_read_races) == "every byte once;consistent;timed out");
}

namespace {
asyncio::task<std::string> throwing_readexactly_keeps_bytes(connection& c) {
  std::string log;
  c.b.write("ab");
  c.b.close();
  try {
    co_await c.a.readexactly(5);
    log += "no error?";
  } catch (const usock::error& e) {
    log += e.code() == std::errc::no_message_available ? "early eof thrown;" : "other error;";
  }
  const std::string rest = co_await c.a.read();  // the throwing form left the bytes readable
  log += rest;
  co_return log;
}
}  // namespace

TEST_CASE("the throwing readexactly leaves the bytes it read at an early EOF readable") {
  CHECK(with_connection(throwing_readexactly_keeps_bytes) == "early eof thrown;ab");
}

namespace {
asyncio::task<> oversized_handler(asyncio::stream s) {
  char scratch[16384];  // a frame the arena below cannot hold
  std::error_code ec;
  const std::size_t n = co_await s.readinto(usock::mutable_bytes(scratch), ec);
  s.write(std::string_view(scratch, n), ec);
  co_await s.drain(ec);
}

asyncio::task<std::string> dropped_connections() {
  std::error_code ec;
  auto srv = co_await asyncio::start_server(oversized_handler, "127.0.0.1", 0, ec);
  if (ec) co_return "start_server: " + ec.message();
  const auto port = srv.getsockname(ec).port();
  std::string log;
  for (int i = 0; i < 3; ++i) {
    auto s = co_await asyncio::open_connection("127.0.0.1", port, ec);
    if (ec) co_return "connect: " + ec.message();
    s.write("hi", ec);
    std::error_code inner;
    const std::string got = co_await asyncio::wait_for(s.read(10, inner), std::chrono::seconds(5), ec);
    const bool closed = got.empty() && !ec && (!inner || inner == std::errc::connection_reset);
    log += closed ? "closed;" : "served? " + describe(ec) + " " + describe(inner) + ";";
    s.close(ec);
  }
  log += "dropped " + std::to_string(srv.dropped()) + ", accepted " + std::to_string(srv.accepted());
  srv.close();
  co_await srv.wait_closed(ec);
  co_return log;
}
}  // namespace

TEST_CASE("a connection the server cannot give a task to is closed and counted, and the server goes on") {
  static asyncio::static_arena<12288> arena;
  asyncio::arena_scope scope(arena);
  std::error_code ec;
  CHECK(asyncio::run(dropped_connections(), ec) == "closed;closed;closed;dropped 3, accepted 3");
  CHECK_FALSE(ec);
  CHECK(arena.in_use() == 0);
}
