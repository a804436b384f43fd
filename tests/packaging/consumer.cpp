// The program every packaging consumer builds: a connection to itself on 127.0.0.1 through usock::socket, one line
// each way. Exits 0 only if both lines arrive intact.
#include <chrono>
#include <exception>
#include <stdexcept>
#include <iostream>
#include <string>

#include <usock/usock.hpp>

using namespace std::chrono_literals;

int main() try {
  usock::socket server(usock::af_inet, usock::sock_stream);
  server.bind({"127.0.0.1", 0});
  server.listen(1);
  server.settimeout(10s);

  usock::socket client = usock::create_connection("127.0.0.1", server.getsockname().port(), 10s);
  auto [conn, addr] = server.accept();
  if (addr != client.getsockname()) throw std::runtime_error("accept() returned the wrong peer address");

  client.sendall("ping\n");
  const std::string request = conn.readline();
  conn.sendall("pong\n");
  conn.close();
  const std::string reply = client.read();
  if (request != "ping\n" || reply != "pong\n") {
    std::cout << USOCK_CONSUMER_ROUTE << ": the server read " << request.size() << " bytes, the client "
              << reply.size() << "; expected 5 each\n";
    return 1;
  }
  std::cout << USOCK_CONSUMER_ROUTE << ": ok\n";
} catch (const std::exception& e) {
  std::cerr << USOCK_CONSUMER_ROUTE << ": " << e.what() << "\n";
  return 1;
}
