// Standalone Asio's synchronous API, written the way its documentation shows: asio::write for a whole buffer,
// read_some for a receive, read_until on a dynamic buffer for lines.
#include <cstddef>
#include <string>
#include <thread>

#include <asio.hpp>

#include "contenders.hpp"

namespace usock_bench {

namespace {
using tcp = asio::ip::tcp;

struct asio_workloads {
  struct pair {
    tcp::socket client;
    tcp::socket server;
  };

  static tcp::acceptor listener(asio::io_context& io) {
    return tcp::acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  }

  static pair connected_pair(asio::io_context& io) {
    tcp::acceptor l = listener(io);
    tcp::socket client(io);
    client.connect(l.local_endpoint());
    return {std::move(client), l.accept()};
  }

  static double bulk(const sizes& s) {
    asio::io_context io;
    auto [client, server] = connected_pair(io);
    const asio::const_buffer chunk(s.bulk_out, s.bulk_chunk);
    const asio::mutable_buffer in(s.bulk_in, s.bulk_chunk);
    std::thread sender = peer_thread([&] {
      for (std::size_t sent = 0; sent < s.bulk_bytes; sent += s.bulk_chunk) asio::write(client, chunk);
    });
    const auto start = clock::now();
    std::size_t got = 0;
    while (got < s.bulk_bytes) got += server.read_some(in);
    const double t = seconds_since(start);
    sender.join();
    expect(got == s.bulk_bytes, "bulk: byte count");
    return t;
  }

  static double pingpong(const sizes& s) {
    asio::io_context io;
    auto [client, server] = connected_pair(io);
    client.set_option(tcp::no_delay(true));
    server.set_option(tcp::no_delay(true));
    std::thread echo = peer_thread([&] {
      char c;
      asio::error_code ec;
      while (server.read_some(asio::buffer(&c, 1), ec) == 1) expect(server.write_some(asio::buffer(&c, 1)) == 1, "send");
    });
    const auto start = clock::now();
    char c = 'p';
    for (std::size_t i = 0; i < s.pingpong_rounds; ++i) {
      expect(client.write_some(asio::buffer(&c, 1)) == 1, "send");
      expect(client.read_some(asio::buffer(&c, 1)) == 1, "recv");
    }
    const double t = seconds_since(start);
    client.close();
    echo.join();
    return t;
  }

  static double churn(const sizes& s) {
    asio::io_context io;
    tcp::acceptor l = listener(io);
    const tcp::endpoint addr = l.local_endpoint();
    const auto start = clock::now();
    for (std::size_t i = 0; i < s.churn_connections; ++i) {
      tcp::socket client(io);
      client.connect(addr);
      tcp::socket conn = l.accept();
      conn.close();
      char c;
      asio::error_code ec;
      expect(client.read_some(asio::buffer(&c, 1), ec) == 0 && ec == asio::error::eof, "recv: end of stream");
      client.close();
    }
    return seconds_since(start);
  }

  static double lines(const sizes& s) {
    asio::io_context io;
    auto [client, server] = connected_pair(io);
    std::thread sender = peer_thread([&] {
      const std::string& data = *s.line_data;
      for (std::size_t at = 0; at < data.size(); at += s.bulk_chunk)
        asio::write(client, asio::buffer(data.data() + at, std::min(s.bulk_chunk, data.size() - at)));
      client.shutdown(tcp::socket::shutdown_send);
    });
    const auto start = clock::now();
    line_tally tally;
    std::string buffer;
    asio::error_code ec;
    while (const std::size_t n = asio::read_until(server, asio::dynamic_buffer(buffer), '\n', ec)) {
      tally.add(buffer.data(), n);
      buffer.erase(0, n);
    }
    const double t = seconds_since(start);
    sender.join();
    expect(ec == asio::error::eof && buffer.empty(), "lines: end of stream");
    expect(tally.matches(s), "lines: content");
    return t;
  }
};
}  // namespace

contender asio_contender() {
  return {"Asio", &asio_workloads::bulk, &asio_workloads::pingpong, &asio_workloads::churn, &asio_workloads::lines};
}

}  // namespace usock_bench
