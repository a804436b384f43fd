// A TCP client (seed, "A TCP client"): open a connection, send a request, read the reply, close.
//
//   usage: client HOST PORT        for example: client 192.168.1.20 9000   (echo_server on that machine)

#include <iostream>
#include <string>

#include <usock/usock.hpp>

#include "example_args.hpp"
#include "example_stack.hpp"

int main(int argc, char* argv[]) try {
  usock_example::network_stack stack;
  const auto [host, port] = usock_example::host_and_port(argc, argv, "192.168.1.20 9000");

  usock::socket s(usock::af_inet, usock::sock_stream);
  s.connect({host, port});

  s.send("hello\n");
  std::string reply = s.recv(1024);
  std::cout << "reply: " << reply << "\n";

  s.close();
} catch (const std::exception& e) {
  std::cerr << "client: " << e.what() << "\n";
  return 1;
}
