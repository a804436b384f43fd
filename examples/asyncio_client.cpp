// The seed's client as a task: connect, send, read the reply.
//
//   usage: asyncio_client HOST PORT        for example: asyncio_client 192.168.1.20 9000

#include <cstdio>

#include <usock/asyncio.hpp>

#include "example_args.hpp"

namespace asyncio = usock::asyncio;

namespace {
asyncio::task<int> talk(std::string_view host, std::uint16_t port) {
  std::error_code ec;
  auto s = co_await asyncio::open_connection(host, port, ec);  // a refused connection is reported here
  if (ec) {
    std::fprintf(stderr, "open_connection: %s\n", ec.message().c_str());
    co_return 1;
  }
  s.write("hello", ec);
  co_await s.drain(ec);
  const std::string reply = co_await asyncio::wait_for(s.read(1024, ec), std::chrono::seconds(5), ec);
  if (ec) {
    std::fprintf(stderr, "read: %s\n", ec.message().c_str());
    co_return 1;
  }
  std::printf("reply: %s\n", reply.c_str());
  s.close(ec);
  co_return 0;
}
}  // namespace

int main(int argc, char* argv[]) {
  const auto [host, port] = usock_example::host_and_port(argc, argv, "192.168.1.20 9000");
  std::error_code ec;
  const int rc = asyncio::run(talk(host, port), ec);
  if (ec) std::fprintf(stderr, "run: %s\n", ec.message().c_str());
  return ec ? 1 : rc;
}
