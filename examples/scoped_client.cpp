// The TCP client in the with-statement form (seed, "A TCP client"): a block scope is C++'s `with`. The socket is
// closed when the block ends, also when a call inside it throws.
//
//   usage: scoped_client HOST PORT        for example: scoped_client 192.168.1.20 9000

#include <iostream>

#include <usock/usock.hpp>

#include "example_args.hpp"
#include "example_stack.hpp"

int main(int argc, char* argv[]) try {
  usock_example::network_stack stack;
  const auto [host, port] = usock_example::host_and_port(argc, argv, "192.168.1.20 9000");

  {
    usock::socket s(usock::af_inet, usock::sock_stream);
    s.connect({host, port});
    s.send("hello\n");
    std::cout << s.recv(1024) << "\n";
  }  // s is closed here
} catch (const std::exception& e) {
  std::cerr << "scoped_client: " << e.what() << "\n";
  return 1;
}
