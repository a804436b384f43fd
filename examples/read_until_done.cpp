// Reading until done (seed, "Reading until done"): one recv() returns *up to* the bytes asked for, because TCP is a
// stream, not a sequence of messages. Keep reading until recv() returns nothing: the peer has closed its side.
//
// Sends a request of a few kilobytes to an echo server, says it is done sending (shutdown), then collects the
// echo chunk by chunk. Exits with status 1 unless the reply equals the request.
//
//   usage: read_until_done HOST PORT        for example: read_until_done 192.168.1.20 9000

#include <iostream>
#include <numeric>
#include <string>
#include <vector>

#include <usock/usock.hpp>

#include "example_args.hpp"
#include "example_stack.hpp"

int main(int argc, char* argv[]) try {
  usock_example::network_stack stack;
  const auto [host, port] = usock_example::host_and_port(argc, argv, "192.168.1.20 9000");

  usock::socket s(usock::af_inet, usock::sock_stream);
  s.connect({host, port});
  std::string request;
  for (int i = 0; i < 500; ++i) request += "line " + std::to_string(i) + "\n";
  s.sendall(request);
  s.shutdown(usock::shut_wr);  // no more requests: the echo server closes its side once it has echoed them

  std::vector<std::string> chunks;
  while (true) {
    std::string chunk = s.recv(1024);
    if (chunk.empty()) {  // empty -> other side closed
      break;
    }
    chunks.push_back(chunk);
  }
  std::string reply = std::accumulate(chunks.begin(), chunks.end(), std::string{});

  std::cout << "reply: " << reply.size() << " bytes in " << chunks.size() << " chunks\n";
  if (reply != request) {
    std::cout << "reply differs from the " << request.size() << "-byte request\n";
    return 1;
  }
  std::cout << "reply matches the request\n";
} catch (const std::exception& e) {
  std::cerr << "read_until_done: " << e.what() << "\n";
  return 1;
}
