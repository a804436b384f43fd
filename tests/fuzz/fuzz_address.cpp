// libFuzzer target: usock::address parsing and printing.
// - Parsing agrees with the C library's inet_pton on every input (numeric IPv4 without leading zeros, IPv6 with
//   an optional IPv4 tail), and "" is the any-address.
// - Printing never writes past the documented sizes (the buffers are heap blocks of exactly max_host_length and
//   max_length characters, so AddressSanitizer sees a single byte too many), and a valid address's printed host
//   parses back to the same address; `format` is the host, in brackets for IPv6, a colon and the port.
// - Every 4- and 16-byte address prints in RFC 5952 form, as inet_ntop does (IPv4-compatible "::a.b.c.d" aside,
//   which usock prints as plain hex groups).
#include <arpa/inet.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include <usock/address.hpp>

namespace {

[[noreturn]] void fail(const char* what, std::string_view detail) {
  std::fprintf(stderr, "fuzz_address: %s: [%.*s]\n", what, static_cast<int>(detail.size()), detail.data());
  std::abort();
}

std::string host_of(const usock::address& a) {
  const auto buf = std::make_unique<char[]>(usock::address::max_host_length);
  return std::string(a.format_host(std::span<char, usock::address::max_host_length>(buf.get(), usock::address::max_host_length)));
}

void check_printing(const usock::address& a) {
  const std::string host = host_of(a);
  const usock::address back{host, a.port()};
  if (!(back == a)) fail("printed host does not parse back to the same address", host);
  const auto buf = std::make_unique<char[]>(usock::address::max_length);
  const std::string_view text = a.format(std::span<char, usock::address::max_length>(buf.get(), usock::address::max_length));
  const std::string expected = (a.family() == usock::af_inet6 ? "[" + host + "]" : host) + ":" + std::to_string(a.port());
  if (text != expected) fail("format is not host:port", text);
}

void check_against_inet_ntop(const usock::address& a) {
  const auto b = a.bytes();
  char text[INET6_ADDRSTRLEN] = {};
  if (a.family() == usock::af_inet) {
    ::inet_ntop(AF_INET, b.data(), text, sizeof text);
  } else {
    bool compatible = true;  // ::a.b.c.d (deprecated): the C library prints the IPv4 tail, usock plain groups
    for (int i = 0; i < 12; ++i) compatible = compatible && b[static_cast<std::size_t>(i)] == 0;
    if (compatible) return;
    ::inet_ntop(AF_INET6, b.data(), text, sizeof text);
  }
  if (host_of(a) != text) fail("printing differs from inet_ntop", text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::uint16_t port = size >= 2 ? static_cast<std::uint16_t>(data[0] << 8 | data[1]) : 0;
  const std::string_view host = size >= 2 ? std::string_view(reinterpret_cast<const char*>(data) + 2, size - 2) : "";

  // Parsing, against the C library.
  const usock::address a{host, port};
  if (host.empty()) {
    if (!a.valid() || !a.any_family() || a.port() != port) fail("\"\" is not the any-address", host);
  } else {
    const std::string text(host);
    unsigned char c_bytes[16];
    const bool nul_inside = text.find('\0') != std::string::npos;
    const bool v4 = !nul_inside && ::inet_pton(AF_INET, text.c_str(), c_bytes) == 1;
    const bool v6 = !nul_inside && !v4 && ::inet_pton(AF_INET6, text.c_str(), c_bytes) == 1;
    if (a.valid() != (v4 || v6)) fail(a.valid() ? "accepted text inet_pton rejects" : "rejected text inet_pton accepts", host);
    if (a.valid()) {
      if ((a.family() == usock::af_inet6) != v6) fail("family differs from inet_pton", host);
      if (std::memcmp(a.bytes().data(), c_bytes, a.bytes().size()) != 0) fail("bytes differ from inet_pton", host);
    }
  }
  if (a.valid()) {
    check_printing(a);
  } else {
    if (host_of(a) != "<invalid>") fail("an invalid address does not print as <invalid>", host);
  }

  // Printing of arbitrary bytes.
  if (size >= 16) {
    const auto v6 = usock::address::ipv6(std::span<const std::uint8_t, 16>(data, 16), port);
    check_printing(v6);
    check_against_inet_ntop(v6);
  }
  if (size >= 4) {
    const auto v4 = usock::address::ipv4(std::span<const std::uint8_t, 4>(data, 4), port);
    check_printing(v4);
    check_against_inet_ntop(v4);
  }
  return 0;
}
