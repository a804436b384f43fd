#pragma once
// The workloads as a usock user writes them, with the throwing calls, on any backend: `Socket` is
// `usock::basic_socket<Backend>`.
#include <cstddef>
#include <span>
#include <string>
#include <thread>
#include <utility>

#include <usock/usock.hpp>

#include "bench.hpp"

namespace usock_bench {

template <class Socket>
struct usock_workloads {
  struct pair {
    Socket client;
    Socket server;
  };

  static Socket listener() {
    Socket l(usock::af_inet, usock::sock_stream);
    l.bind({"127.0.0.1", 0});
    l.listen(128);
    return l;
  }

  static pair connected_pair() {
    Socket l = listener();
    Socket client(usock::af_inet, usock::sock_stream);
    client.connect(l.getsockname());
    auto [server, peer] = l.accept();
    return {std::move(client), std::move(server)};
  }

  static double bulk(const sizes& s) {
    auto [client, server] = connected_pair();
    const std::span<const char> chunk(s.bulk_out, s.bulk_chunk);
    const std::span<char> in(s.bulk_in, s.bulk_chunk);
    std::thread sender = peer_thread([&] {
      for (std::size_t sent = 0; sent < s.bulk_bytes; sent += s.bulk_chunk) client.sendall(chunk);
    });
    const auto start = clock::now();
    std::size_t got = 0;
    while (got < s.bulk_bytes) {
      const std::size_t n = server.recv(in);
      expect(n > 0, "recv: early end of stream");
      got += n;
    }
    const double t = seconds_since(start);
    sender.join();
    expect(got == s.bulk_bytes, "bulk: byte count");
    return t;
  }

  static double pingpong(const sizes& s) {
    auto [client, server] = connected_pair();
    client.setsockopt(usock::ipproto_tcp, usock::tcp_nodelay, 1);
    server.setsockopt(usock::ipproto_tcp, usock::tcp_nodelay, 1);
    std::thread echo = peer_thread([&] {
      std::byte c[1];
      while (server.recv(c) == 1) expect(server.send(c) == 1, "send");
    });
    const auto start = clock::now();
    std::byte c[1] = {std::byte{'p'}};
    for (std::size_t i = 0; i < s.pingpong_rounds; ++i) {
      expect(client.send(c) == 1, "send");
      expect(client.recv(c) == 1, "recv");
    }
    const double t = seconds_since(start);
    client.close();
    echo.join();
    return t;
  }

  static double churn(const sizes& s) {
    Socket l = listener();
    const usock::address addr = l.getsockname();
    const auto start = clock::now();
    for (std::size_t i = 0; i < s.churn_connections; ++i) {
      Socket client(usock::af_inet, usock::sock_stream);
      client.connect(addr);
      auto [conn, peer] = l.accept();
      conn.close();
      std::byte c[1];
      expect(client.recv(c) == 0, "recv: end of stream");
      client.close();
    }
    return seconds_since(start);
  }

  /// Reads every line with `read_line(server, line)`, which returns the line's length (0 at the end).
  template <class ReadLine>
  static double read_lines(const sizes& s, ReadLine read_line) {
    auto [client, server] = connected_pair();
    std::thread sender = peer_thread([&] {
      const std::string& data = *s.line_data;
      for (std::size_t at = 0; at < data.size(); at += s.bulk_chunk)
        client.sendall(std::string_view(data).substr(at, s.bulk_chunk));
      client.shutdown(usock::shut_wr);
    });
    const auto start = clock::now();
    line_tally tally;
    std::string line;
    while (read_line(server, line) != 0) tally.add(line.data(), line.size());
    const double t = seconds_since(start);
    sender.join();
    expect(tally.matches(s), "lines: content");
    return t;
  }

  /// `readline()`, a new string for each line, as in Python.
  static double lines(const sizes& s) {
    return read_lines(s, [](Socket& sock, std::string& line) {
      line = sock.readline();
      return line.size();
    });
  }

  /// Whether this usock has `readline(std::string&)`, which reuses the caller's string.
  static constexpr bool has_readline_into = requires(Socket& sock, std::string& line) { sock.readline(line); };

  /// `readline(line)` into one string reused for every line, as `std::getline`; null without that overload.
  static constexpr workload_fn lines_reusing = [] {
    if constexpr (has_readline_into) {
      return +[](const sizes& s) {
        return read_lines(s, [](Socket& sock, std::string& line) { return sock.readline(line); });
      };
    } else {
      return workload_fn{nullptr};
    }
  }();
};

}  // namespace usock_bench
