// A TCP echo server (seed, "A TCP server"): claim a port, listen, accept connections one by one, and send back
// every byte each client sends until it closes. Runs until killed.
//
// Port 0 picks a free port; the first line of output says which one ("listening on port N").
//
//   usage: echo_server HOST PORT        for example: echo_server 0.0.0.0 9000   (any interface)

#include <array>
#include <cstddef>
#include <iostream>
#include <span>

#include <usock/usock.hpp>

#include "example_args.hpp"
#include "example_stack.hpp"

int main(int argc, char* argv[]) try {
  usock_example::network_stack stack;
  const auto [host, port] = usock_example::host_and_port(argc, argv, "0.0.0.0 9000");

  usock::socket server(usock::af_inet, usock::sock_stream);
  server.setsockopt(usock::sol_socket, usock::so_reuseaddr, 1);
  server.bind({host, port});
  server.listen(1);
  std::cout << "listening on port " << server.getsockname().port() << std::endl;
  while (true) {
    auto [conn, addr] = server.accept();
    std::cout << "connection from " << addr << "\n";
    std::array<std::byte, 1024> data;
    while (std::size_t n = conn.recv(data)) conn.sendall(std::span(data).first(n));
  }
} catch (const std::exception& e) {
  std::cerr << "echo_server: " << e.what() << "\n";
  return 1;
}
