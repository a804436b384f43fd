#pragma once
/// \file
/// `usock::address`: a numeric IPv4 or IPv6 address and a port, the C++ form of Python's `(host, port)` tuple.

#include <array>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <span>
#include <string>
#include <string_view>

#include "constants.hpp"

namespace usock {

/// A numeric IPv4 or IPv6 address with a port. A value type: no heap, trivially copyable, comparable.
///
/// `address{"192.168.1.20", 9000}`, `address{"::1", 80}`, `address{"0.0.0.0", 9000}`, and `address{"", 9000}`
/// (any interface: `0.0.0.0` on an IPv4 socket, `::` on an IPv6 one). Only numeric text is accepted (dotted
/// quads without leading zeros, and RFC 4291 IPv6 text, including an embedded IPv4 tail; no zone index).
/// Any other text makes an *invalid* address instead of throwing; every socket call given one reports
/// `std::errc::invalid_argument`. Host names go through `usock::getaddrinfo` or `usock::create_connection`.
class address {
 public:
  /// The longest text `format_host` writes (an IPv4-mapped IPv6 address), without a terminator.
  static constexpr std::size_t max_host_length = 45;
  /// The longest text `format` writes: `[` host `]:` port.
  static constexpr std::size_t max_length = max_host_length + 8;

  /// An invalid address (what a failed `accept` returns beside its closed socket).
  constexpr address() noexcept = default;

  /// Parses a numeric host; see the class comment. Never throws: bad text gives an invalid address.
  constexpr address(std::string_view host, std::uint16_t port) noexcept : port_(port) {
    if (host.empty()) {
      kind_ = kind::inet;
      any_family_ = true;
    } else if (const bool v6 = std::char_traits<char>::find(host.data(), host.size(), ':') != nullptr;
               v6 ? parse_ipv6(host, bytes_.data()) : parse_ipv4(host, bytes_.data())) {
      // IPv6 text always has a ':' and IPv4 text never. For a literal the compiler settles which (`memchr` on a
      // constant), so a firmware that names only IPv4 addresses links no IPv6 parser.
      kind_ = v6 ? kind::inet6 : kind::inet;
    } else {
      bytes_ = {};
    }
  }

  /// An IPv4 address from its four bytes in network order.
  static constexpr address ipv4(std::span<const std::uint8_t, 4> bytes, std::uint16_t port) noexcept {
    address a;
    a.kind_ = kind::inet;
    a.port_ = port;
    for (std::size_t i = 0; i < 4; ++i) a.bytes_[i] = bytes[i];
    return a;
  }

  /// An IPv6 address from its sixteen bytes in network order.
  static constexpr address ipv6(std::span<const std::uint8_t, 16> bytes, std::uint16_t port) noexcept {
    address a;
    a.kind_ = kind::inet6;
    a.port_ = port;
    for (std::size_t i = 0; i < 16; ++i) a.bytes_[i] = bytes[i];
    return a;
  }

  /// False for text that was not a numeric address.
  constexpr bool valid() const noexcept { return kind_ != kind::invalid; }
  /// `af_inet` or `af_inet6` (`af_inet` for `""` and for an invalid address).
  constexpr address_family family() const noexcept {
    return kind_ == kind::inet6 ? address_family::inet6 : address_family::inet;
  }
  /// True for the address made from `""`: "any interface of whatever family the socket has".
  constexpr bool any_family() const noexcept { return any_family_; }
  constexpr std::uint16_t port() const noexcept { return port_; }
  /// The address bytes in network order: 4 for IPv4, 16 for IPv6, none when invalid.
  constexpr std::span<const std::uint8_t> bytes() const noexcept {
    return {bytes_.data(), kind_ == kind::inet6 ? 16u : kind_ == kind::inet ? 4u : 0u};
  }

  /// Writes the host as text (`192.168.1.20`, `::1`, RFC 5952 form) into `out` and returns the part written.
  /// An invalid address writes `<invalid>`. `out` must hold `max_host_length` characters.
  constexpr std::string_view format_host(std::span<char, max_host_length> out) const noexcept {
    std::size_t n = 0;
    auto put = [&](char c) { out[n++] = c; };
    auto put_decimal = [&](unsigned v) {
      if (v >= 10000) put(static_cast<char>('0' + v / 10000));
      if (v >= 1000) put(static_cast<char>('0' + v / 1000 % 10));
      if (v >= 100) put(static_cast<char>('0' + v / 100 % 10));
      if (v >= 10) put(static_cast<char>('0' + v / 10 % 10));
      put(static_cast<char>('0' + v % 10));
    };
    auto put_ipv4 = [&](const std::uint8_t* b) {
      for (int i = 0; i < 4; ++i) {
        if (i) put('.');
        put_decimal(b[i]);
      }
    };
    if (kind_ == kind::invalid) {
      for (char c : std::string_view("<invalid>")) put(c);
    } else if (kind_ == kind::inet) {
      put_ipv4(bytes_.data());
    } else {
      std::array<unsigned, 8> group{};
      for (std::size_t i = 0; i < 8; ++i) group[i] = unsigned(bytes_[2 * i]) << 8 | bytes_[2 * i + 1];
      const bool mapped = group[0] == 0 && group[1] == 0 && group[2] == 0 && group[3] == 0 && group[4] == 0 &&
                          group[5] == 0xffff;
      const std::size_t hex_groups = mapped ? 6 : 8;
      // RFC 5952: the longest run of two or more zero groups (the first on a tie) becomes "::".
      std::size_t best_at = hex_groups, best_len = 1;
      for (std::size_t i = 0; i < hex_groups;) {
        std::size_t j = i;
        while (j < hex_groups && group[j] == 0) ++j;
        if (j - i > best_len) best_at = i, best_len = j - i;
        i = j == i ? i + 1 : j;
      }
      for (std::size_t i = 0; i < hex_groups; ++i) {
        if (i == best_at) {
          put(':');
          put(':');
          i += best_len - 1;
          continue;
        }
        if (i != 0 && i != best_at + best_len) put(':');
        bool started = false;
        for (int shift = 12; shift >= 0; shift -= 4) {
          unsigned d = group[i] >> shift & 0xf;
          if (d || started || shift == 0) {
            put("0123456789abcdef"[d]);
            started = true;
          }
        }
      }
      if (mapped) {
        if (best_at + best_len != hex_groups) put(':');
        put_ipv4(bytes_.data() + 12);
      }
    }
    return {out.data(), n};
  }

  /// Writes `host:port` (`192.168.1.20:9000`, `[::1]:80`) into `out`; `out` must hold `max_length` characters.
  constexpr std::string_view format(std::span<char, max_length> out) const noexcept {
    std::size_t n = 0;
    if (kind_ == kind::inet6) out[n++] = '[';
    n += format_host(out.subspan(n).template first<max_host_length>()).size();
    if (kind_ == kind::inet6) out[n++] = ']';
    out[n++] = ':';
    char digits[5];
    std::size_t d = 0;
    unsigned p = port_;
    do digits[d++] = static_cast<char>('0' + p % 10); while (p /= 10);
    while (d) out[n++] = digits[--d];
    return {out.data(), n};
  }

  /// The host as text, as Python's `addr[0]`.
  std::string host() const {
    std::array<char, max_host_length> buf{};
    return std::string(format_host(buf));
  }
  /// `host:port`, with brackets around an IPv6 host.
  std::string to_string() const {
    std::array<char, max_length> buf{};
    return std::string(format(buf));
  }

  /// Prints `to_string()`'s text. A template, so that this header needs only `<iosfwd>`.
  template <class Traits>
  friend std::basic_ostream<char, Traits>& operator<<(std::basic_ostream<char, Traits>& os, const address& a) {
    std::array<char, max_length> buf{};
    return os << a.format(buf);
  }

  /// Equal when family, bytes and port are equal (`address{"", p} == address{"0.0.0.0", p}`).
  friend constexpr bool operator==(const address& a, const address& b) noexcept {
    return a.kind_ == b.kind_ && a.port_ == b.port_ && a.bytes_ == b.bytes_;
  }

 private:
  enum class kind : std::uint8_t { invalid, inet, inet6 };

  static constexpr int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  /// Dotted quad, each part 0-255 without leading zeros (as `inet_pton`).
  static constexpr bool parse_ipv4(std::string_view text, std::uint8_t* out) noexcept {
    std::size_t part = 0, i = 0;
    while (part < 4) {
      if (i >= text.size() || text[i] < '0' || text[i] > '9') return false;
      unsigned value = 0;
      const std::size_t start = i;
      while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        value = value * 10 + unsigned(text[i] - '0');
        if (value > 255 || (i > start && text[start] == '0')) return false;
        ++i;
      }
      out[part++] = static_cast<std::uint8_t>(value);
      if (part < 4) {
        if (i >= text.size() || text[i] != '.') return false;
        ++i;
      }
    }
    return i == text.size();
  }

  /// RFC 4291 text: groups of one to four hex digits, at most one `::` standing for one or more zero groups, and
  /// an optional dotted-quad tail for the last four bytes (as `inet_pton`).
  static constexpr bool parse_ipv6(std::string_view text, std::uint8_t* out) noexcept {
    std::array<std::uint8_t, 16> b{};
    std::size_t n = 0;            // bytes written
    constexpr std::size_t no_gap = 17;
    std::size_t gap = no_gap;     // where "::" stood, in bytes
    std::size_t i = 0;
    const std::size_t size = text.size();
    if (size >= 2 && text[0] == ':' && text[1] == ':') {
      gap = 0;
      i = 2;
    }
    while (i < size) {
      if (n == 16) return false;
      std::size_t end = i;
      unsigned value = 0;
      // Up to five digits: a fifth is an error, unless a '.' follows, which makes this the IPv4 tail (whose
      // parser rejects it then).
      for (; end < size && end - i < 5 && hex_value(text[end]) >= 0; ++end) {
        value = value << 4 | unsigned(hex_value(text[end]));
      }
      if (end < size && text[end] == '.') {
        if (n > 12 || !parse_ipv4({text.data() + i, size - i}, b.data() + n)) return false;
        n += 4;
        break;
      }
      if (end == i || end - i > 4) return false;
      b[n++] = static_cast<std::uint8_t>(value >> 8);
      b[n++] = static_cast<std::uint8_t>(value & 0xff);
      i = end;
      if (i == size) break;
      if (text[i++] != ':' || i == size) return false;  // a separator, and never a trailing single ':'
      if (text[i] == ':') {
        if (gap != no_gap) return false;
        gap = n;
        ++i;
      }
    }
    if (gap == no_gap) {
      if (n != 16) return false;
    } else {
      if (n == 16) return false;  // "::" must stand for at least one group
      const std::size_t tail = n - gap;
      for (std::size_t k = 0; k < tail; ++k) b[15 - k] = b[n - 1 - k];
      for (std::size_t k = gap; k < 16 - tail; ++k) b[k] = 0;
    }
    for (std::size_t k = 0; k < 16; ++k) out[k] = b[k];
    return true;
  }

  std::array<std::uint8_t, 16> bytes_{};
  std::uint16_t port_ = 0;
  kind kind_ = kind::invalid;
  bool any_family_ = false;
};

}  // namespace usock
