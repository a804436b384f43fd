// Sending until done (seed, "Sending until done"): send() may take fewer bytes than given and returns how many it
// took; the caller retries the rest. sendall() does that loop itself.
//
// Sends one megabyte with the manual loop, then the same megabyte with sendall(), to an echo server. The echo
// comes back while we send, so a second thread reads it (otherwise both sides' buffers would fill up and each
// would wait for the other). Exits with status 1 unless every byte came back.
//
//   usage: send_until_done HOST PORT        for example: send_until_done 192.168.1.20 9000

#include <cstddef>
#include <iostream>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>

#include <usock/usock.hpp>

#include "example_args.hpp"
#include "example_stack.hpp"

int main(int argc, char* argv[]) try {
  usock_example::network_stack stack;
  const auto [host, port] = usock_example::host_and_port(argc, argv, "192.168.1.20 9000");

  usock::socket s(usock::af_inet, usock::sock_stream);
  s.connect({host, port});

  std::string echoed;
  std::error_code read_error;
  std::thread reader([&] { echoed = s.read(read_error); });  // read(): recv until the peer closes

  std::string some_big_bytes(1 << 20, '\0');
  for (std::size_t i = 0; i < some_big_bytes.size(); ++i) some_big_bytes[i] = static_cast<char>('a' + i % 26);

  std::size_t calls = 0;
  std::string_view payload = some_big_bytes;
  while (!payload.empty()) {
    std::size_t n = s.send(payload);
    payload = payload.substr(n);
    ++calls;
  }
  std::cout << "send() loop: " << some_big_bytes.size() << " bytes in " << calls << " calls\n";

  s.sendall(some_big_bytes);
  std::cout << "sendall(): " << some_big_bytes.size() << " bytes in one call\n";

  s.shutdown(usock::shut_wr);  // done sending: the echo server closes its side once it has echoed everything
  reader.join();
  if (read_error) throw usock::error(read_error, "read");
  std::cout << "echoed: " << echoed.size() << " bytes\n";
  if (echoed != some_big_bytes + some_big_bytes) {
    std::cout << "the echo differs from what was sent\n";
    return 1;
  }
  std::cout << "every byte came back\n";
} catch (const std::exception& e) {
  std::cerr << "send_until_done: " << e.what() << "\n";
  return 1;
}
