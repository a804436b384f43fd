// Compile-cost probe: the seed's client on standalone Asio, doing what usock_client.cpp does.
#include <asio.hpp>

std::string hello(const char* host, unsigned short port) {
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  s.connect({asio::ip::make_address(host), port});
  s.send(asio::buffer("hello\n", 6));
  char data[1024];
  std::string reply(data, s.read_some(asio::buffer(data)));
  s.close();
  return reply;
}
