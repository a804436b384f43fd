#pragma once
// The floor: each workload written as a careful C programmer would, straight on a stack's BSD-style calls. `Api`
// names the calls (posix_api: the kernel's; lwip_api: lwIP's lwip_*), each a one-line inline forwarder, so this
// compiles to the same direct calls as hand-written C. Only the harness (threads) is C++.
#include <algorithm>
#include <cstddef>
#include <cerrno>
#include <cstring>
#include <string>
#include <thread>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "bench.hpp"

namespace usock_bench {

template <class Api>
struct plain_workloads {
  /// As `expect`, naming the call's `errno` on failure.
  static void expect(bool ok, const char* what) {
    if (!ok) throw workload_failed(std::string(what) + ": " + std::strerror(errno));
  }

  /// A listener on 127.0.0.1 and an ephemeral port; `addr` gets its address.
  static int listener(sockaddr_in& addr) {
    const int fd = Api::socket(AF_INET, SOCK_STREAM, 0);
    expect(fd >= 0, "socket");
    std::memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    expect(Api::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0, "bind");
    expect(Api::listen(fd, 128) == 0, "listen");
    socklen_t len = sizeof addr;
    expect(Api::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0, "getsockname");
    return fd;
  }

  static int accept_one(int listen_fd) {
    sockaddr_storage peer;
    socklen_t len = sizeof peer;
    const int fd = Api::accept(listen_fd, reinterpret_cast<sockaddr*>(&peer), &len);
    expect(fd >= 0, "accept");
    return fd;
  }

  static int connect_to(const sockaddr_in& addr) {
    const int fd = Api::socket(AF_INET, SOCK_STREAM, 0);
    expect(fd >= 0, "socket");
    expect(Api::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0, "connect");
    return fd;
  }

  /// Both ends of one loopback connection.
  static void connected_pair(int& client, int& server) {
    sockaddr_in addr;
    const int l = listener(addr);
    client = connect_to(addr);
    server = accept_one(l);
    Api::close(l);
  }

  static bool send_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
      const ssize_t n = Api::send(fd, data, size, Api::send_flags);
      if (n < 0) return false;
      data += n;
      size -= static_cast<std::size_t>(n);
    }
    return true;
  }

  static double bulk(const sizes& s) {
    int client = -1, server = -1;
    connected_pair(client, server);

    std::thread sender = peer_thread([&] {
      for (std::size_t sent = 0; sent < s.bulk_bytes; sent += s.bulk_chunk)
        expect(send_all(client, s.bulk_out, s.bulk_chunk), "send");
    });
    const auto start = clock::now();
    std::size_t got = 0;
    while (got < s.bulk_bytes) {
      const ssize_t n = Api::recv(server, s.bulk_in, s.bulk_chunk, 0);
      expect(n > 0, "recv");
      got += static_cast<std::size_t>(n);
    }
    const double t = seconds_since(start);
    sender.join();
    expect(got == s.bulk_bytes, "bulk: byte count");
    Api::close(client);
    Api::close(server);
    return t;
  }

  static double pingpong(const sizes& s) {
    int client = -1, server = -1;
    connected_pair(client, server);
    const int one = 1;
    expect(Api::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0, "setsockopt");
    expect(Api::setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0, "setsockopt");
    std::thread echo = peer_thread([&] {
      char c;
      while (Api::recv(server, &c, 1, 0) == 1) expect(Api::send(server, &c, 1, Api::send_flags) == 1, "send");
    });
    const auto start = clock::now();
    char c = 'p';
    for (std::size_t i = 0; i < s.pingpong_rounds; ++i) {
      expect(Api::send(client, &c, 1, Api::send_flags) == 1, "send");
      expect(Api::recv(client, &c, 1, 0) == 1, "recv");
    }
    const double t = seconds_since(start);
    Api::close(client);
    echo.join();
    Api::close(server);
    return t;
  }

  static double churn(const sizes& s) {
    sockaddr_in addr;
    const int l = listener(addr);
    const auto start = clock::now();
    for (std::size_t i = 0; i < s.churn_connections; ++i) {
      const int client = connect_to(addr);
      const int conn = accept_one(l);
      Api::close(conn);
      char c;
      expect(Api::recv(client, &c, 1, 0) == 0, "recv: end of stream");
      Api::close(client);
    }
    const double t = seconds_since(start);
    Api::close(l);
    return t;
  }

  /// The hand-written buffered reader that `readline` is held against: fgets on a socket.
  struct line_reader {
    int fd;
    std::size_t begin = 0, end = 0;
    char buf[8192];
  };
  /// Copies the next line, through its '\n', into `line` (NUL-terminated, truncated to `cap - 1` bytes) and
  /// returns its length; 0 at end of stream or on an error.
  static std::size_t read_line(line_reader& r, char* line, std::size_t cap) {
    std::size_t len = 0;
    for (;;) {
      if (r.begin == r.end) {
        const ssize_t n = Api::recv(r.fd, r.buf, sizeof r.buf, 0);
        if (n <= 0) break;
        r.begin = 0;
        r.end = static_cast<std::size_t>(n);
      }
      const char* start = r.buf + r.begin;
      const std::size_t avail = r.end - r.begin;
      const char* nl = static_cast<const char*>(std::memchr(start, '\n', avail));
      const std::size_t through_newline = nl ? static_cast<std::size_t>(nl - start) + 1 : avail;
      const std::size_t take = std::min(through_newline, cap - 1 - len);
      std::memcpy(line + len, start, take);
      len += take;
      r.begin += take;
      if ((nl && take == through_newline) || len == cap - 1) break;
    }
    line[len] = '\0';
    return len;
  }

  static double lines(const sizes& s) {
    int client = -1, server = -1;
    connected_pair(client, server);
    std::thread sender = peer_thread([&] {
      const std::string& data = *s.line_data;
      for (std::size_t at = 0; at < data.size(); at += s.bulk_chunk)
        expect(send_all(client, data.data() + at, std::min(s.bulk_chunk, data.size() - at)), "send");
      Api::shutdown(client, SHUT_WR);
    });
    const auto start = clock::now();
    line_reader reader{server, 0, 0, {}};
    line_tally tally;
    char line[256];
    while (const std::size_t n = read_line(reader, line, sizeof line)) tally.add(line, n);
    const double t = seconds_since(start);
    sender.join();
    expect(tally.matches(s), "lines: content");
    Api::close(client);
    Api::close(server);
    return t;
  }
};

}  // namespace usock_bench
