// usock::address: parsing, printing and comparing numeric IPv4 and IPv6 addresses, and what an invalid one does.
#include <array>
#include <sstream>

#include "suite.hpp"

using usock::address;
using namespace usock_test;

TEST_CASE("address parses and prints IPv4", "[address]") {
  const address a{"198.51.100.20", 9000};
  CHECK(a.valid());
  CHECK(a.family() == usock::af_inet);
  CHECK(a.host() == "198.51.100.20");
  CHECK(a.port() == 9000);
  CHECK(a.to_string() == "198.51.100.20:9000");
  CHECK(a.bytes().size() == 4);
  CHECK(a.bytes()[0] == 198);
  CHECK(a.bytes()[3] == 20);
  std::ostringstream out;
  out << a;
  CHECK(out.str() == "198.51.100.20:9000");
  CHECK(address{"255.255.255.255", 65535}.to_string() == "255.255.255.255:65535");
  CHECK(address{"0.0.0.0", 0}.to_string() == "0.0.0.0:0");
}

TEST_CASE("address parses and prints IPv6 in RFC 5952 form", "[address]") {
  const address a{"::1", 80};
  CHECK(a.valid());
  CHECK(a.family() == usock::af_inet6);
  CHECK(a.host() == "::1");
  CHECK(a.to_string() == "[::1]:80");
  CHECK(a.bytes().size() == 16);
  CHECK(a.bytes()[15] == 1);
  CHECK(address{"::", 1}.host() == "::");
  CHECK(address{"2001:DB8:0:0:0:0:2:1", 1}.host() == "2001:db8::2:1");
  CHECK(address{"2001:db8:0:0:1:0:0:1", 1}.host() == "2001:db8::1:0:0:1");  // first of two equal runs
  CHECK(address{"2001:db8:0:1:1:1:1:1", 1}.host() == "2001:db8:0:1:1:1:1:1");  // a single zero group stays
  CHECK(address{"fe80::0001:00ab", 1}.host() == "fe80::1:ab");
  CHECK(address{"1:2:3:4:5:6:7::", 1}.host() == "1:2:3:4:5:6:7:0");
  CHECK(address{"::ffff:192.0.2.1", 1}.host() == "::ffff:192.0.2.1");
  CHECK(address{"64:ff9b::192.0.2.33", 1}.host() == "64:ff9b::c000:221");
  CHECK(address{"1:2:3:4:5:6:7:8", 443}.to_string() == "[1:2:3:4:5:6:7:8]:443");
}

TEST_CASE("address made from text round-trips through its printed form", "[address]") {
  for (const char* text : {"10.0.0.1", "127.0.0.1", "::", "::1", "1::", "1:2::3", "2001:db8::ff00:42:8329",
                           "::ffff:10.1.2.3", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}) {
    const address a{text, 7};
    INFO(text);
    CHECK(a.valid());
    CHECK(address{a.host(), 7} == a);
    CHECK(a.host() == text);
  }
}

TEST_CASE("address rejects anything that is not a numeric address", "[address]") {
  for (const char* text : {"localhost", "198.51.100", "198.51.100.256", "198.51.01.1", "1.2.3.4.5", " 1.2.3.4",
                           "1.2.3.4 ", "1..2.3", "::1::", ":1", "1:", "1:::2", "12345::", "1:2:3:4:5:6:7:8:9",
                           "1:2:3:4:5:6:7:8::", "::1.2.3.4:5", "[::1]", "fe80::1%eth0", "::g", "1.2.3.-4"}) {
    INFO(text);
    const address a{text, 80};
    CHECK_FALSE(a.valid());
    CHECK(a.host() == "<invalid>");
    CHECK(a.bytes().empty());
  }
}

TEST_CASE("address equality compares family, bytes and port", "[address]") {
  CHECK(address{"127.0.0.1", 1} == address{"127.0.0.1", 1});
  CHECK_FALSE(address{"127.0.0.1", 1} == address{"127.0.0.1", 2});
  CHECK_FALSE(address{"127.0.0.1", 1} == address{"127.0.0.2", 1});
  CHECK_FALSE(address{"::ffff:127.0.0.1", 1} == address{"127.0.0.1", 1});
  CHECK(address{"", 5} == address{"0.0.0.0", 5});
  CHECK(address{"", 5}.any_family());
  CHECK_FALSE(address{"0.0.0.0", 5}.any_family());
  CHECK(address{} == address{"nonsense", 0});
}

TEST_CASE("address works in constant expressions and stays small", "[address]") {
  constexpr address a{"10.1.2.3", 9};
  static_assert(a.valid() && a.port() == 9 && a.family() == usock::af_inet);
  static_assert(!address{"x", 1}.valid());
  static_assert(sizeof(address) <= 20);
  static_assert(std::is_trivially_copyable_v<address>);
}

TEST_CASE("an invalid address is invalid_argument on every call that takes one", "[address][errors]") {
  socket_t s;
  const address bad{"not-an-ip", 80};
  CHECK(error_of([&](auto& ec) { s.connect(bad, ec); }) == std::errc::invalid_argument);
  CHECK(error_of([&](auto& ec) { s.bind(bad, ec); }) == std::errc::invalid_argument);
  try {
    s.connect({"example.com", 80});
    FAIL("connect to a host name must not succeed");
  } catch (const usock::error& e) {
    CHECK(e.code() == std::errc::invalid_argument);
  }
}
