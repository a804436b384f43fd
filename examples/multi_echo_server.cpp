// The seed's echo server, serving any number of clients at once from one thread with usock::poller, the way
// MicroPython programs do it with select.poll.
//
//   usage: multi_echo_server HOST PORT [CLIENTS]
//   for example: multi_echo_server 0.0.0.0 9000
//
// With CLIENTS, the program also starts that many clients in this process, all connected at the same time; each
// sends lines of its own, reads the echo and checks it. The server stops once every client is served, and the
// program exits with status 0 only if every echo matched. That mode is how the tests run it on every stack.

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <latch>
#include <optional>
#include <algorithm>
#include <array>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <usock/poll.hpp>
#include <usock/usock.hpp>

#include "example_args.hpp"
#include "example_stack.hpp"

using namespace std::chrono_literals;

namespace {

/// One accepted connection and the echo it still owes its client.
struct client_state {
  usock::socket conn;
  std::string unsent;    // received but not yet sent back: the socket's send buffer was full
  bool at_eof = false;   // the client finished sending; close once `unsent` is out
};

/// Serves until `stop_after` connections have come and gone (forever when 0) or `limit` passes; prints how many
/// connections were open at once at the most.
bool serve(usock::socket& server, std::size_t stop_after, std::optional<std::chrono::seconds> limit) {
  usock::poller poller;
  poller.add(server, usock::pollin);
  std::unordered_map<usock::socket::handle_type, client_state> clients;
  std::size_t served = 0;
  std::array<char, 4096> data;
  std::size_t peak = 0;
  const auto start = std::chrono::steady_clock::now();

  while (stop_after == 0 || served < stop_after) {
    if (limit && std::chrono::steady_clock::now() - start > *limit) {
      std::cerr << "server: gave up after " << limit->count() << " s with " << served << " clients served\n";
      return false;
    }
    for (auto [fd, events] : poller.poll(1s)) {
      if (fd == server.fileno()) {  // one or more connections to accept
        for (;;) {
          std::error_code ec;
          auto [conn, addr] = server.accept(ec);
          if (ec) {  // resource_unavailable_try_again: none left for now
            if (ec != std::errc::resource_unavailable_try_again) std::cerr << "accept: " << ec.message() << "\n";
            break;
          }
          conn.setblocking(false);
          poller.add(conn, usock::pollin);
          const auto handle = conn.fileno();
          clients.emplace(handle, client_state{std::move(conn), {}, false});
          peak = std::max(peak, clients.size());
        }
        continue;
      }
      client_state& c = clients.at(fd);
      std::error_code ec;
      if (c.unsent.empty() && (events & (usock::pollin | usock::pollhup | usock::pollerr))) {
        const std::size_t n = c.conn.recv(data, ec);
        if (!ec && n == 0) c.at_eof = true;
        if (!ec && n > 0) c.unsent.assign(data.data(), n);
      }
      if (!ec && !c.unsent.empty()) {
        const std::size_t n = c.conn.write(c.unsent, ec);  // as much as fits; the rest waits for pollout
        if (!ec || ec == std::errc::resource_unavailable_try_again) {
          c.unsent.erase(0, n);
          ec.clear();
        }
      }
      if (ec || (c.at_eof && c.unsent.empty())) {  // done, or the client went away
        poller.remove(fd);
        clients.erase(fd);  // closes the connection
        ++served;
        continue;
      }
      // Stop reading while an echo is owed, so a fast client cannot make the server hold unbounded data.
      poller.modify(fd, c.unsent.empty() ? usock::pollin : usock::pollout);
    }
  }
  std::cout << "server: " << served << " clients served, " << peak << " connected at once at the most\n";
  return true;
}

/// One client: connects, waits until every client has connected, sends a few lines, says it is done, and checks
/// that exactly the same bytes come back.
bool run_client(const usock::address& server, int id, std::latch& all_connected) {
  bool counted = false;
  try {
    usock::socket s(usock::af_inet, usock::sock_stream);
    s.settimeout(30s);
    s.connect(server);
    all_connected.count_down();
    counted = true;
    all_connected.wait();
    std::string sent;
    for (int line = 0; line < 20; ++line)
      sent += "client " + std::to_string(id) + " line " + std::to_string(line) + " " +
              std::string(static_cast<std::size_t>((id * 31 + line * 17) % 200), 'x') + "\n";
    s.sendall(sent);
    s.shutdown(usock::shut_wr);
    const std::string echoed = s.read();
    if (echoed == sent) return true;
    std::cerr << "client " << id << ": sent " << sent.size() << " bytes, got back " << echoed.size() << "\n";
  } catch (const usock::error& e) {
    std::cerr << "client " << id << ": " << e.what() << "\n";
  }
  if (!counted) all_connected.count_down();
  return false;
}

}  // namespace

int main(int argc, char* argv[]) try {
  usock_example::network_stack stack;
  int clients = 0;
  if (argc == 4) {
    clients = std::atoi(argv[3]);
    --argc;
  }
  const auto [host, port] = usock_example::host_and_port(argc, argv, "0.0.0.0 9000");

  usock::socket server(usock::af_inet, usock::sock_stream);
  server.setsockopt(usock::sol_socket, usock::so_reuseaddr, 1);
  server.bind({host, port});
  server.listen(128);  // many clients may arrive at once
  server.setblocking(false);
  const usock::address bound = server.getsockname();
  std::cout << "stack: " << usock_example::stack_name << "\n";
  std::cout << "listening on port " << bound.port() << std::endl;

  if (clients <= 0) return serve(server, 0, std::nullopt) ? 0 : 1;

  const usock::address target{host == "0.0.0.0" ? "127.0.0.1" : host, bound.port()};
  std::atomic<int> matched{0};
  std::latch all_connected(clients);
  std::vector<std::thread> threads;
  for (int id = 0; id < clients; ++id)
    threads.emplace_back([&, id] { matched += run_client(target, id, all_connected) ? 1 : 0; });
  const bool served = serve(server, static_cast<std::size_t>(clients), 60s);
  for (auto& t : threads) t.join();
  std::cout << matched << " of " << clients << " concurrent clients got their echo back\n";
  return served && matched == clients ? 0 : 1;
} catch (const std::exception& e) {
  std::cerr << "multi_echo_server: " << e.what() << "\n";
  return 1;
}
