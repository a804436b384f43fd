// The framing example as a task: a newline after each message, read back whole with readline(), which reads in
// blocks and keeps what follows the line for the next call (MicroPython's reads a byte per system call).
//
//   usage: asyncio_framing HOST PORT        for example: asyncio_framing 192.168.1.20 9000

#include <array>
#include <cstdio>
#include <string>
#include <string_view>

#include <usock/asyncio.hpp>

#include "example_args.hpp"

namespace asyncio = usock::asyncio;

namespace {
asyncio::task<int> frame(std::string_view host, std::uint16_t port) {
  std::error_code ec;
  auto s = co_await asyncio::open_connection(host, port, ec);
  if (ec) {
    std::fprintf(stderr, "open_connection: %s\n", ec.message().c_str());
    co_return 1;
  }
  constexpr std::array<std::string_view, 3> messages{"first message", "second", "the third and last one"};
  for (std::string_view message : messages) {  // the message and its newline as separate writes
    s.write(message, ec);
    s.write("\n", ec);
  }
  co_await s.drain(ec);
  for (std::string_view message : messages) {
    const std::string line = co_await s.readline(ec);
    std::printf("line: %s", line.c_str());
    if (ec || line != std::string(message) + "\n") {
      std::printf("expected: %.*s (%s)\n", static_cast<int>(message.size()), message.data(), ec.message().c_str());
      co_return 1;
    }
  }
  std::printf("every message came back as its own line\n");
  co_return 0;
}
}  // namespace

int main(int argc, char* argv[]) {
  const auto [host, port] = usock_example::host_and_port(argc, argv, "192.168.1.20 9000");
  std::error_code ec;
  const int rc = asyncio::run(frame(host, port), ec);
  if (ec) std::fprintf(stderr, "run: %s\n", ec.message().c_str());
  return ec ? 1 : rc;
}
