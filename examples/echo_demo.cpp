// The echo server and a client in one process, on 127.0.0.1: the seed's two halves talking to each other.
//
// The server listens on a free port (port 0, read back with getsockname()) and serves one connection on a second
// thread; the client sends a few lines, says it is done sending, and reads the echo until the server closes.
// Prints the exchange and the stack it ran on; exits with status 0 only if the echo matched.
//
//   usage: echo_demo

#include <array>
#include <chrono>
#include <cstddef>
#include <exception>
#include <iostream>
#include <span>
#include <string>
#include <string_view>
#include <thread>

#include <usock/usock.hpp>

#include "example_stack.hpp"

using namespace std::chrono_literals;

namespace {
/// `text` in double quotes, with newlines shown as \n.
std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) out += c == '\n' ? std::string("\\n") : std::string(1, c);
  return out + "\"";
}
}  // namespace

int main() try {
  usock_example::network_stack stack;
  std::cout << "stack: " << usock_example::stack_name << "\n";

  usock::socket server(usock::af_inet, usock::sock_stream);
  server.bind({"127.0.0.1", 0});
  server.listen(1);
  server.settimeout(10s);  // a demo never hangs: accept and every call on the connection give up after 10 s
  const usock::address server_address = server.getsockname();
  std::cout << "server: listening on " << server_address << "\n";

  usock::address peer;
  std::size_t echoed = 0;
  std::exception_ptr server_error;
  std::thread serve([&] {
    try {
      auto [conn, addr] = server.accept();
      peer = addr;
      std::array<std::byte, 1024> data;
      while (std::size_t n = conn.recv(data)) {
        conn.sendall(std::span(data).first(n));
        echoed += n;
      }
    } catch (...) {
      server_error = std::current_exception();
    }
  });

  const std::string message = "hello\nfrom usock\n";
  std::string reply;
  try {
    usock::socket s(usock::af_inet, usock::sock_stream);
    s.settimeout(10s);
    s.connect(server_address);
    s.sendall(message);
    s.shutdown(usock::shut_wr);
    reply = s.read();  // until the server closes
  } catch (...) {
    serve.join();
    throw;
  }
  serve.join();
  if (server_error) std::rethrow_exception(server_error);

  std::cout << "server: connection from " << peer << ", echoed " << echoed << " bytes\n";
  std::cout << "client: sent " << quoted(message) << "\n";
  std::cout << "client: got  " << quoted(reply) << "\n";
  if (reply != message) {
    std::cout << "echo differs: sent " << message.size() << " bytes, got " << reply.size() << "\n";
    return 1;
  }
  std::cout << "echo matched\n";
} catch (const std::exception& e) {
  std::cerr << "echo_demo: " << e.what() << "\n";
  return 1;
}
