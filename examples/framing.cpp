// The framing pitfall (seed, "Common pitfalls"): recv() is not message-shaped. Two send("hi") calls may arrive as
// one recv(4) of "hihi" or as two recv(2)s of "hi". When message boundaries matter, the application adds framing:
// here a newline after each message, read back whole with readline().
//
// Talks to an echo server. Exits with status 1 unless every message comes back as its own line.
//
//   usage: framing HOST PORT        for example: framing 192.168.1.20 9000

#include <array>
#include <iostream>
#include <string>
#include <string_view>

#include <usock/usock.hpp>

#include "example_args.hpp"
#include "example_stack.hpp"

int main(int argc, char* argv[]) try {
  usock_example::network_stack stack;
  const auto [host, port] = usock_example::host_and_port(argc, argv, "192.168.1.20 9000");

  usock::socket s(usock::af_inet, usock::sock_stream);
  s.connect({host, port});

  // The pitfall: two sends are not two messages.
  s.send("hi");
  s.send("hi");
  std::string got = s.recv(4);
  std::cout << "two send(\"hi\"), then recv(4) returned \"" << got << "\"\n";  // "hihi" or "hi": both are TCP
  got += s.read(4 - got.size());  // read(n) keeps reading until it has n bytes
  if (got != "hihi") {
    std::cout << "expected hihi, got " << got << "\n";
    return 1;
  }

  // The fix: a newline ends each message, however the bytes are split into sends and receives.
  constexpr std::array<std::string_view, 3> messages{"first message", "second", "the third and last one"};
  for (std::string_view message : messages) {
    s.sendall(message);  // the message and its newline in two sends: the boundaries of sends do not matter
    s.sendall("\n");
  }
  for (std::string_view message : messages) {
    std::string line = s.readline();  // through the next "\n", keeping what follows for the next call
    std::cout << "line: " << line;
    if (line != std::string(message) + "\n") {
      std::cout << "expected: " << message << "\n";
      return 1;
    }
  }
  std::cout << "every message came back as its own line\n";
} catch (const std::exception& e) {
  std::cerr << "framing: " << e.what() << "\n";
  return 1;
}
