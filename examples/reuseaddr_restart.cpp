// Restarting a server on the same port (seed, "Common pitfalls"): after a server closes a connection first, the
// system keeps the port in TIME_WAIT for a while, and a new bind() to it can fail with "address in use".
// setsockopt(sol_socket, so_reuseaddr, 1) before bind() clears this.
//
// Runs a server twice on the same port. Each run serves one connection that this program makes to itself and that
// the server closes first (which leaves the port in TIME_WAIT). Between the runs it shows what bind() does without
// SO_REUSEADDR. Port 0 lets the first run pick a free port; the second run reuses it.
//
//   usage: reuseaddr_restart HOST PORT        for example: reuseaddr_restart 0.0.0.0 9000

#include <iostream>
#include <string_view>
#include <system_error>

#include <usock/usock.hpp>

#include "example_args.hpp"
#include "example_stack.hpp"

int main(int argc, char* argv[]) try {
  usock_example::network_stack stack;
  auto [host, port] = usock_example::host_and_port(argc, argv, "0.0.0.0 9000");
  // Where this program's own client connects: the server's host, or loopback when the server takes any interface.
  const std::string_view client_host = host.empty() || host == "0.0.0.0" ? "127.0.0.1" : host == "::" ? "::1" : host;
  const usock::address bind_address{host, port};

  for (int run = 1; run <= 2; ++run) {
    if (run == 2) {
      usock::socket probe(bind_address.family(), usock::sock_stream);
      std::error_code ec;
      probe.bind({host, port}, ec);
      std::cout << "bind without SO_REUSEADDR: " << (ec ? ec.message() : "succeeded (this stack allows it)") << "\n";
    }

    usock::socket server(bind_address.family(), usock::sock_stream);
    server.setsockopt(usock::sol_socket, usock::so_reuseaddr, 1);
    server.bind({host, port});
    port = server.getsockname().port();
    server.listen(1);
    std::cout << "run " << run << ": listening on port " << port << "\n";

    usock::socket client(bind_address.family(), usock::sock_stream);
    client.connect({client_host, port});
    {
      auto conn = server.accept().conn;  // as `with server.accept()[0] as conn:`
      conn.sendall("bye\n");
    }  // the server closes the connection first, so the server's side of it waits in TIME_WAIT
    std::cout << "run " << run << ": client got " << client.read();  // read() until the server closed
    client.close();
    server.close();
  }
} catch (const std::exception& e) {
  std::cerr << "reuseaddr_restart: " << e.what() << "\n";
  return 1;
}
