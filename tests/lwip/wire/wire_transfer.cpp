// Bulk transfer over the simulated wire: two processes, each with its own lwIP (socket API) and an Ethernet
// interface on the wire, each sending N bytes to the other with usock (basic_socket<usock::lwip>) while
// receiving the other's N bytes and checking every one. The wire can lose, duplicate, reorder and delay frames.
//
//   usock_wire_transfer [--bytes N] [--connections N] [--loss P] [--duplicate P] [--reorder P] [--latency-us N]
//                       [--reorder-hold-us N] [--seed N] [--limit-s N] [--trace FILE]
//
// Exit status 0 when both directions delivered every byte intact within the bound (--limit-s: the whole run's
// wall time). Prints the bound, the measured time, the seed, both throughputs and the wire's counters; on
// failure, the command line that replays the run. Addresses 10.0.0.1 and 10.0.0.2 exist only on this private
// wire between the two child processes; nothing reaches a real network.
#include <algorithm>
#include <atomic>
#include <array>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <semaphore>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <usock/lwip.hpp>
#include <usock/basic_socket.hpp>

#include "wire.hpp"
#include "wire_lwip_netif.hpp"

namespace {

using socket_t = usock::basic_socket<usock::lwip>;
using clock_type = std::chrono::steady_clock;

struct options {
  std::size_t bytes = 4u << 20;  // each way
  std::size_t connections = 1;   // each way; the bytes are split evenly among them
  usock_wire::impairment wire;
  std::chrono::seconds limit{90};
};

/// How many of a side's connections may wait to be accepted at once. Debian's lwIP (TCP_LISTEN_BACKLOG 0)
/// resets a connection that finds the listener's accept queue full, and that queue holds 127 (the unix port's
/// mailbox; tests/lwip/backend_lwip.cpp). A sender holds a place from connect until the receiver greets it.
constexpr std::ptrdiff_t unaccepted_at_most = 64;
using admission = std::counting_semaphore<unaccepted_at_most>;

constexpr std::uint16_t port = 7000;  // on the private wire: each side's stack has nothing else listening
const char* const addresses[2] = {"10.0.0.1", "10.0.0.2"};

/// Byte `i` of the stream that side `sender` sends: differs per side and per position, never constant.
inline std::byte stream_byte(int sender, std::size_t i) {
  const std::uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ULL + static_cast<std::uint64_t>(sender) * 0x632be59bd9b4e019ULL;
  return static_cast<std::byte>((x >> 29) ^ (x >> 47));
}

double mib_per_s(std::size_t bytes, double seconds) {
  return seconds > 0 ? static_cast<double>(bytes) / 1048576.0 / seconds : 0;
}

/// The part of the stream connection `k` of `n` carries: [first, first + size).
struct share {
  std::size_t first;
  std::size_t size;
};
share share_of(const options& o, std::size_t k) {
  const std::size_t base = o.bytes / o.connections;
  return {k * base, k + 1 == o.connections ? o.bytes - k * base : base};
}

void put_u64(unsigned char* out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<unsigned char>(v >> (8 * i));
}
std::uint64_t get_u64(const unsigned char* in) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(in[i]) << (8 * i);
  return v;
}

constexpr char greeting = 'g';  ///< the receiver's answer to the index: this connection has been accepted

/// Receives one connection's share of the peer's stream (announced by an 8-byte index, which it answers with a
/// greeting), checking every byte and the EOF after it; answers with the byte count so the sender knows all of it
/// arrived.
bool receive_share(socket_t conn, const options& o, int peer) {
  std::error_code ec;
  conn.settimeout(o.limit, ec);
  std::array<unsigned char, 8> header{};
  if (conn.readinto(header, ec) != 8 || ec)
    return std::fprintf(stderr, "no connection index: %s\n", ec ? ec.message().c_str() : "EOF"), false;
  const std::uint64_t k = get_u64(header.data());
  if (k >= o.connections) return std::fprintf(stderr, "connection index %llu out of range\n", (unsigned long long)k), false;
  conn.sendall(std::string_view(&greeting, 1), ec);
  if (ec) return std::fprintf(stderr, "greeting: %s\n", ec.message().c_str()), false;
  const share part = share_of(o, static_cast<std::size_t>(k));
  std::vector<std::byte> buffer(64 * 1024);
  std::size_t got = 0;
  for (;;) {
    const std::size_t n = conn.recv(buffer, ec);
    if (ec) return std::fprintf(stderr, "recv after %zu bytes: %s\n", got, ec.message().c_str()), false;
    if (n == 0) break;
    for (std::size_t i = 0; i < n; ++i) {
      if (got + i >= part.size || buffer[i] != stream_byte(peer, part.first + got + i)) {
        std::fprintf(stderr, "byte %zu of the stream is wrong (or extra)\n", part.first + got + i);
        return false;
      }
    }
    got += n;
  }
  if (got != part.size) return std::fprintf(stderr, "share %llu ended after %zu of %zu bytes\n", (unsigned long long)k, got, part.size), false;
  unsigned char count[8];
  put_u64(count, got);
  conn.sendall(std::span<const unsigned char>(count, 8), ec);
  if (ec) return std::fprintf(stderr, "sending the receipt: %s\n", ec.message().c_str()), false;
  return true;
}

/// Sends share `k` of this side's stream on a connection of its own, half-closes, and waits for the receipt.
/// The connection holds a place in `unaccepted` until the peer has accepted it and greeted. The sender speaks
/// first (the index): when the handshake's last ACK is lost, lwIP's listening side retransmits its SYN-ACK twice
/// and then drops the half-open connection without a word (TCP_SYN_RCVD_TIMEOUT, 20 s), but data from the client
/// is retransmitted until it gets through, and it completes the handshake too.
bool send_share(const options& o, int self, std::size_t k, admission& unaccepted) {
  std::error_code ec;
  socket_t s(usock::af_inet, usock::sock_stream, ec);
  if (!ec) s.settimeout(o.limit, ec);
  unsigned char header[8];
  put_u64(header, k);
  std::array<char, 1> greeted{};
  std::size_t got = 0;
  unaccepted.acquire();
  if (!ec) s.connect({addresses[1 - self], port}, ec);
  if (!ec) s.sendall(std::span<const unsigned char>(header, 8), ec);
  if (!ec) got = s.readinto(greeted, ec);
  unaccepted.release();
  if (ec) return std::fprintf(stderr, "connect and greeting: %s\n", ec.message().c_str()), false;
  if (got != 1 || greeted[0] != greeting) return std::fprintf(stderr, "no greeting from the peer\n"), false;
  const share part = share_of(o, k);
  std::vector<std::byte> chunk(64 * 1024);
  for (std::size_t sent = 0; sent < part.size && !ec;) {
    const std::size_t n = std::min(chunk.size(), part.size - sent);
    for (std::size_t i = 0; i < n; ++i) chunk[i] = stream_byte(self, part.first + sent + i);
    sent += s.sendall(std::span<const std::byte>(chunk).first(n), ec);
    if (ec) std::fprintf(stderr, "sendall after %zu bytes: %s\n", sent, ec.message().c_str());
  }
  if (ec) return false;
  s.shutdown(usock::shut_wr, ec);
  if (ec) return std::fprintf(stderr, "shutdown: %s\n", ec.message().c_str()), false;
  std::array<unsigned char, 8> receipt{};
  if (s.readinto(receipt, ec) != 8 || ec)
    return std::fprintf(stderr, "no receipt from the peer: %s\n", ec ? ec.message().c_str() : "EOF"), false;
  if (get_u64(receipt.data()) != part.size)
    return std::fprintf(stderr, "the peer counted %llu bytes\n", (unsigned long long)get_u64(receipt.data())), false;
  return true;
}

int run_side(const usock_wire::side& side, const options& o) {
  const int self = side.index;
  const char name = self == 0 ? 'A' : 'B';
  usock_wire::lwip_ethernet eth(
      side.frame_fd, {addresses[self], "255.255.255.0", {0x02, 0, 0, 0, 0, static_cast<std::uint8_t>(self + 1)}});
  if (!eth.ok()) return 2;

  std::error_code ec;
  socket_t listener(usock::af_inet, usock::sock_stream, ec);
  if (!ec) listener.bind({addresses[self], port}, ec);
  if (!ec) listener.listen(static_cast<int>(o.connections), ec);
  if (!ec) listener.settimeout(o.limit, ec);
  if (ec) return std::fprintf(stderr, "side %c: listener: %s\n", name, ec.message().c_str()), 2;
  if (!usock_wire::rendezvous(side)) return 2;

  // Every socket is used by one thread only: one acceptor, a receiver per accepted connection, a sender per
  // outgoing connection.
  const auto start = clock_type::now();
  std::atomic<std::size_t> received_ok{0}, sent_ok{0};
  std::atomic<std::int64_t> received_at{0}, sent_at{0};
  auto stamp = [&](std::atomic<std::int64_t>& at) {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - start).count();
    std::int64_t old = at.load();
    while (old < us && !at.compare_exchange_weak(old, us)) {
    }
  };
  std::thread acceptor([&] {
    std::vector<std::thread> receivers;
    for (std::size_t k = 0; k < o.connections; ++k) {
      std::error_code aec;
      auto [conn, addr] = listener.accept(aec);
      if (aec) {
        std::fprintf(stderr, "side %c: accept: %s\n", name, aec.message().c_str());
        break;
      }
      receivers.emplace_back([&, c = std::move(conn)]() mutable {
        if (receive_share(std::move(c), o, 1 - self)) ++received_ok, stamp(received_at);
      });
    }
    for (auto& t : receivers) t.join();
  });
  std::vector<std::thread> senders;
  admission unaccepted(unaccepted_at_most);
  for (std::size_t k = 0; k < o.connections; ++k)
    senders.emplace_back([&, k] {
      if (send_share(o, self, k, unaccepted)) ++sent_ok, stamp(sent_at);
    });
  for (auto& t : senders) t.join();
  acceptor.join();
  listener.close();
  // Keep this stack running until the other side is done too: it may still need our retransmissions.
  usock_wire::rendezvous(side);
  const bool sent = sent_ok == o.connections, received = received_ok == o.connections;
  const double send_s = static_cast<double>(sent_at.load()) / 1e6, receive_s = static_cast<double>(received_at.load()) / 1e6;
  std::printf("side %c: sent %zu bytes on %zu connection(s), all receipted after %.2f s (%.2f MiB/s): %s; "
              "received %zu bytes after %.2f s (%.2f MiB/s): %s; %llu of %llu frames in found lwIP full\n",
              name, o.bytes, o.connections, send_s, mib_per_s(o.bytes, send_s), sent ? "ok" : "FAILED", o.bytes,
              receive_s, mib_per_s(o.bytes, receive_s), received ? "every byte checked" : "FAILED",
              static_cast<unsigned long long>(eth.frames_refused()), static_cast<unsigned long long>(eth.frames_in()));
  return sent && received ? 0 : 1;
}

bool parse(int argc, char** argv, options& o) {
  o.wire.seed = static_cast<std::uint64_t>(clock_type::now().time_since_epoch().count());
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (i + 1 >= argc) return std::fprintf(stderr, "%s needs a value\n", argv[i]), false;
    const char* value = argv[++i];
    if (arg == "--bytes") o.bytes = std::strtoull(value, nullptr, 0);
    else if (arg == "--connections") o.connections = std::max<std::size_t>(1, std::strtoull(value, nullptr, 0));
    else if (arg == "--loss") o.wire.loss = std::strtod(value, nullptr);
    else if (arg == "--duplicate") o.wire.duplicate = std::strtod(value, nullptr);
    else if (arg == "--reorder") o.wire.reorder = std::strtod(value, nullptr);
    else if (arg == "--latency-us") o.wire.latency = std::chrono::microseconds(std::strtoll(value, nullptr, 0));
    else if (arg == "--reorder-hold-us") o.wire.reorder_hold = std::chrono::microseconds(std::strtoll(value, nullptr, 0));
    else if (arg == "--seed") o.wire.seed = std::strtoull(value, nullptr, 0);
    else if (arg == "--limit-s") o.limit = std::chrono::seconds(std::strtoll(value, nullptr, 0));
    else if (arg == "--trace") o.wire.trace = std::fopen(value, "w");
    else return std::fprintf(stderr, "unknown option %s\n", argv[i - 1]), false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  if (!parse(argc, argv, o)) return 2;
  std::printf("wire: %s; %zu bytes each way on %zu connection(s); bound %llds (wall time, both directions)\n",
              usock_wire::describe(o.wire).c_str(), o.bytes, o.connections, static_cast<long long>(o.limit.count()));
  const auto role = [&](const usock_wire::side& side) { return run_side(side, o); };
  // The parent only pumps; its own limit is a little longer than the sockets' so a stuck side reports first.
  const auto result = usock_wire::run_pair(o.wire, o.limit + std::chrono::seconds(10), role, role);
  std::printf("%s", usock_wire::describe(result.stats).c_str());
  const std::size_t both = 2 * o.bytes;
  std::printf("total: %zu bytes in %.2f s (%.1f MiB/s both ways together)\n", both, result.seconds,
              mib_per_s(both, result.seconds));
  // The bound is the whole run's wall time; the sides' sockets give up at the same figure, the pump 10 s later.
  const bool in_time = result.within(o.limit);
  std::printf("bound %lld s, measured %.2f s: %s\n", static_cast<long long>(o.limit.count()), result.seconds,
              in_time ? "within" : "EXCEEDED");
  if (result.passed() && in_time) {
    std::printf("PASSED (seed %" PRIu64 ")\n", o.wire.seed);
    return 0;
  }
  std::printf("FAILED: side A %d, side B %d%s. Replay: %s --bytes %zu --connections %zu --loss %g --duplicate %g --reorder %g "
              "--latency-us %lld --reorder-hold-us %lld --seed %" PRIu64 " --limit-s %lld\n",
              result.status_a, result.status_b, in_time ? "" : ", bound exceeded", argv[0], o.bytes, o.connections,
              o.wire.loss, o.wire.duplicate, o.wire.reorder, static_cast<long long>(o.wire.latency.count()),
              static_cast<long long>(o.wire.reorder_hold.count()), o.wire.seed, static_cast<long long>(o.limit.count()));
  return 1;
}
