// Compile-cost probe: the seed's client on usock. The benchmark times compiling this file against asio_client.cpp.
#include <usock/usock.hpp>

std::string hello(const char* host, unsigned short port) {
  usock::socket s(usock::af_inet, usock::sock_stream);
  s.connect({host, port});
  s.send("hello\n");
  std::string reply = s.recv(1024);
  s.close();
  return reply;
}
