#pragma once
// Both directions of a bulk transfer at once, on any usock backend, from one thread with non-blocking sockets
// and a poller: the way main-loop firmware serves several connections. Each side sends `bytes` of its own
// stream to the other on `connections` connections (connection k carries an equal share, announced by an
// 8-byte index), half-closes, and waits for the receiver's 8-byte count; each side checks every byte it receives
// and the EOF after its share. Used by both ends of the raw-API wire test: usock::lwip_raw (a NO_SYS=1 stack)
// and usock::lwip (lwIP's socket API).
#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <span>
#include <system_error>
#include <vector>

#include <usock/basic_socket.hpp>
#include <usock/poll.hpp>

#include "common.hpp"
#include "wire.hpp"

namespace usock_wire_raw {

/// Byte `i` of side `sender`'s stream: a mix of both, so a lost, repeated or misplaced byte shows.
inline std::byte stream_byte(int sender, std::uint64_t i) {
  std::uint64_t z = (i >> 3) * 0xd1b54a32d192ed03ULL + static_cast<std::uint64_t>(sender + 1) * 0x8cb92ba72f3d8dd7ULL;
  z = (z ^ (z >> 29)) * 0xbf58476d1ce4e5b9ULL;
  z ^= z >> 32;
  return static_cast<std::byte>(z >> (8 * (i & 7)));
}

struct plan {
  int self = 0;                 // 0 or 1: which stream this side sends
  std::uint64_t bytes = 0;      // each way
  std::size_t connections = 1;  // each way
  usock::address peer;          // the other side's listener
  std::chrono::seconds limit{60};
};

inline void put_u64(std::array<std::uint8_t, 8>& out, std::uint64_t v) {
  for (std::size_t i = 0; i < 8; ++i) out[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
inline std::uint64_t get_u64(const std::array<std::uint8_t, 8>& in) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v |= std::uint64_t{in[i]} << (8 * i);
  return v;
}

template <class Backend, std::size_t MaxConnections = 32>
class transfer {
 public:
  using socket_t = usock::basic_socket<Backend>;

  explicit transfer(const plan& p) : plan_(p) {}

  /// Runs until both directions are complete, an error, or the time limit. `listener` listens already.
  /// Prints what went wrong; true when every byte arrived intact both ways.
  bool run(socket_t& listener) {
    std::error_code ec;
    listener.setblocking(false, ec);
    if (ec) return fail("listener", ec);
    out_.reserve(plan_.connections);
    for (std::size_t k = 0; k < plan_.connections; ++k) {
      auto& o = out_.emplace_back();
      o.index = k;
      o.share = share(k);
      o.sock.emplace(plan_.peer.family(), usock::sock_stream, ec);
      if (!ec) o.sock->setblocking(false, ec);
      if (!ec) o.sock->connect(plan_.peer, ec);
      if (ec && ec != std::errc::operation_in_progress) return fail("connect", ec);
      put_u64(o.header, k);
    }
    in_.reserve(plan_.connections);
    const auto deadline = std::chrono::steady_clock::now() + plan_.limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) {
        std::fprintf(stderr, "side %d: time limit: %zu of %zu shares sent, %zu of %zu received\n", plan_.self,
                     count_done(out_), out_.size(), count_done(in_), plan_.connections);
        return false;
      }
      bool progress = false;
      while (in_.size() < plan_.connections) {
        auto [conn, addr] = listener.accept(ec);
        if (ec == std::errc::resource_unavailable_try_again) break;
        if (ec) return fail("accept", ec);
        in_.emplace_back().sock.emplace(std::move(conn));
        progress = true;
      }
      for (auto& o : out_)
        if (!o.done && !step(o, progress)) return false;
      for (auto& i : in_)
        if (!i.done && !step(i, progress)) return false;
      if (!progress && !wait(listener)) return false;
    }
    return true;
  }

 private:
  struct range {
    std::uint64_t first = 0, size = 0;
  };
  struct outgoing {
    std::optional<socket_t> sock;
    std::size_t index = 0;
    range share;
    std::array<std::uint8_t, 8> header{}, receipt{};
    std::uint64_t sent = 0;  // header bytes first, then the share
    std::size_t receipt_got = 0;
    bool shut = false, done = false;
  };
  struct incoming {
    std::optional<socket_t> sock;
    std::array<std::uint8_t, 8> header{}, receipt{};
    std::size_t header_got = 0, receipt_sent = 0;
    range share;
    std::uint64_t got = 0;
    bool eof = false, done = false;
  };

  range share(std::uint64_t k) const {
    const std::uint64_t base = plan_.bytes / plan_.connections;
    return {k * base, k + 1 == plan_.connections ? plan_.bytes - k * base : base};
  }

  bool fail(const char* what, const std::error_code& ec) const {
    std::fprintf(stderr, "side %d: %s: %s\n", plan_.self, what, ec.message().c_str());
    return false;
  }
  static bool would_block(const std::error_code& ec) {
    return ec == std::errc::resource_unavailable_try_again || ec == std::errc::operation_in_progress;
  }
  template <class List>
  static std::size_t count_done(const List& list) {
    return static_cast<std::size_t>(std::count_if(list.begin(), list.end(), [](const auto& x) { return x.done; }));
  }
  bool done() const { return count_done(out_) == plan_.connections && count_done(in_) == plan_.connections; }

  /// Sends what it can of the header and the share, half-closes, then reads the receiver's count.
  bool step(outgoing& o, bool& progress) {
    std::error_code ec;
    const std::uint64_t total = 8 + o.share.size;
    while (o.sent < total) {
      std::array<std::byte, 16384> chunk;
      std::size_t n = 0;
      for (; n < chunk.size() && o.sent + n < total; ++n) {
        const std::uint64_t at = o.sent + n;
        chunk[n] = at < 8 ? static_cast<std::byte>(o.header[at]) : stream_byte(plan_.self, o.share.first + at - 8);
      }
      const std::size_t sent = o.sock->send(std::span<const std::byte>(chunk.data(), n), ec);
      if (would_block(ec)) return true;
      if (ec) return fail("send", ec);
      o.sent += sent;
      progress = true;
    }
    if (!o.shut) {
      o.sock->shutdown(usock::shut_wr, ec);
      if (ec) return fail("shutdown", ec);
      o.shut = progress = true;
    }
    while (o.receipt_got < 8) {
      const std::size_t n = o.sock->recv(std::span(o.receipt).subspan(o.receipt_got), ec);
      if (would_block(ec)) return true;
      if (ec) return fail("reading the receipt", ec);
      if (n == 0) return std::fprintf(stderr, "side %d: EOF before the receipt\n", plan_.self), false;
      o.receipt_got += n;
      progress = true;
    }
    if (get_u64(o.receipt) != o.share.size)
      return std::fprintf(stderr, "side %d: the peer counted %llu bytes of %llu\n", plan_.self,
                          static_cast<unsigned long long>(get_u64(o.receipt)),
                          static_cast<unsigned long long>(o.share.size)), false;
    o.sock->close(ec);
    o.done = progress = true;
    return true;
  }

  /// Reads the header and the share, checking every byte and the EOF, then sends the count back.
  bool step(incoming& i, bool& progress) {
    std::error_code ec;
    while (!i.eof) {
      std::array<std::byte, 16384> buffer;
      const std::size_t n = i.sock->recv(buffer, ec);
      if (would_block(ec)) return true;
      if (ec) return fail("recv", ec);
      progress = true;
      if (n == 0) {
        i.eof = true;
        break;
      }
      std::size_t at = 0;
      for (; at < n && i.header_got < 8; ++at) i.header[i.header_got++] = static_cast<std::uint8_t>(buffer[at]);
      if (i.header_got == 8 && i.share.size == 0 && i.got == 0) {
        const std::uint64_t k = get_u64(i.header);
        if (k >= plan_.connections) return std::fprintf(stderr, "side %d: bad share index\n", plan_.self), false;
        i.share = share(k);
      }
      for (; at < n; ++at, ++i.got) {
        if (i.got >= i.share.size || buffer[at] != stream_byte(1 - plan_.self, i.share.first + i.got))
          return std::fprintf(stderr, "side %d: byte %llu of the peer's stream is wrong or extra\n", plan_.self,
                              static_cast<unsigned long long>(i.share.first + i.got)), false;
      }
    }
    if (i.header_got != 8 || i.got != i.share.size)
      return std::fprintf(stderr, "side %d: EOF after %llu of %llu bytes\n", plan_.self,
                          static_cast<unsigned long long>(i.got), static_cast<unsigned long long>(i.share.size)), false;
    put_u64(i.receipt, i.got);
    while (i.receipt_sent < 8) {
      const std::size_t n = i.sock->send(std::span<const std::uint8_t>(i.receipt).subspan(i.receipt_sent), ec);
      if (would_block(ec)) return true;
      if (ec) return fail("sending the receipt", ec);
      i.receipt_sent += n;
      progress = true;
    }
    i.sock->close(ec);
    i.done = progress = true;
    return true;
  }

  /// Nothing moved: waits (at most 100 ms) until a socket is ready for what it waits for.
  bool wait(socket_t& listener) {
    usock::basic_poller<Backend, 2 * MaxConnections + 1> poller;
    std::error_code ec;
    if (in_.size() < plan_.connections) poller.add(listener, usock::pollin, ec);
    for (auto& o : out_)
      if (!o.done) poller.add(*o.sock, o.sent < 8 + o.share.size ? usock::pollout : usock::pollin, ec);
    for (auto& i : in_)
      if (!i.done) poller.add(*i.sock, i.eof ? usock::pollout : usock::pollin, ec);
    if (ec) return fail("poller", ec);
    poller.poll(std::chrono::milliseconds(100), ec);
    return !ec || fail("poll", ec);
  }

  plan plan_;
  std::vector<outgoing> out_;
  std::vector<incoming> in_;
};

/// One side of the wire test on `Backend`: listens, meets the other side (the wire's rendezvous), runs both
/// directions, then keeps its stack up until the other side is done too (`wait_for_peer`: a lost receipt or FIN
/// is retransmitted by this stack, so it must not go away first). Prints a line starting with `name`; the exit
/// status for the side's process: 0 passed, 1 failed, 2 could not start.
template <class Backend, class WaitForPeer>
int run_side(const usock_wire::side& side, const transfer_options& o, const char* name, WaitForPeer wait_for_peer) {
  std::error_code ec;
  usock::basic_socket<Backend> listener(usock::af_inet, usock::sock_stream, ec);
  if (!ec) listener.bind({address_of[side.index], port}, ec);
  if (!ec) listener.listen(static_cast<int>(o.connections), ec);
  if (ec) return std::fprintf(stderr, "%s: listener: %s\n", name, ec.message().c_str()), 2;
  if (!usock_wire::rendezvous(side)) return 2;
  const auto start = std::chrono::steady_clock::now();
  transfer<Backend> t({side.index, o.bytes, o.connections, {address_of[1 - side.index], port}, o.limit});
  const bool ok = t.run(listener);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  listener.close(ec);
  wait_for_peer();
  std::printf("%s: %llu bytes each way on %zu connection(s) in %.2f s: %s\n", name,
              static_cast<unsigned long long>(o.bytes), o.connections, seconds, ok ? "every byte checked" : "FAILED");
  return ok ? 0 : 1;
}

}  // namespace usock_wire_raw
