// Names on the raw API: usock::getaddrinfo and usock::create_connection through lwIP's resolver
// (dns_gethostbyname), waiting through the poll hook. The DNS server is a small responder written here, a UDP pcb
// on port 53 of the same in-process stack at 127.0.0.1, so no query ever leaves the process. It answers one name
// with 127.0.0.1, says "no such name" for others, and never answers a third, for the timeout.
#ifndef USOCK_BACKEND_LWIP_RAW
#define USOCK_BACKEND_LWIP_RAW 1  // usock.hpp's default backend: the system's socket headers clash with lwIP's
#endif

#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <usock/basic_socket.hpp>
#include <usock/lwip_raw.hpp>
#include <usock/usock.hpp>

#include "catch.hpp"
#include "lwip/dns.h"
#include "lwip/udp.h"
#include "main_loop_env.hpp"

using namespace std::chrono_literals;
using std::chrono::steady_clock;
using socket_t = usock::basic_socket<usock::lwip_raw>;

namespace {

constexpr const char* served_name = "board.usock.test";
constexpr const char* silent_name = "silent.usock.test";

/// A DNS server for the test: answers A queries for `served_name` with 127.0.0.1 (RFC 1035 message format),
/// NXDOMAIN for any other name except `silent_name`, which it ignores. Counts the queries it saw.
class dns_responder {
 public:
  dns_responder() {
    pcb_ = udp_new_ip_type(IPADDR_TYPE_V4);
    REQUIRE(pcb_ != nullptr);
    REQUIRE(udp_bind(pcb_, IP4_ADDR_ANY, 53) == ERR_OK);
    udp_recv(pcb_, on_query, this);
    ip_addr_t server = IPADDR4_INIT_BYTES(127, 0, 0, 1);
    dns_setserver(0, &server);
  }
  ~dns_responder() {
    dns_setserver(0, nullptr);
    udp_remove(pcb_);
  }
  dns_responder(const dns_responder&) = delete;
  dns_responder& operator=(const dns_responder&) = delete;

  int queries() const { return queries_; }
  const std::vector<std::string>& names() const { return names_; }

 private:
  static void on_query(void* arg, udp_pcb* pcb, pbuf* p, const ip_addr_t* from, u16_t port) {
    auto* self = static_cast<dns_responder*>(arg);
    std::array<std::uint8_t, 512> msg{};
    const std::size_t size = pbuf_copy_partial(p, msg.data(), static_cast<u16_t>(msg.size()), 0);
    pbuf_free(p);
    // The question: length-prefixed labels from byte 12 to a zero byte, then QTYPE and QCLASS.
    std::string name;
    std::size_t at = 12;
    while (at < size && msg[at] != 0) {
      const std::size_t len = msg[at++];
      if (!name.empty()) name += '.';
      name.append(reinterpret_cast<const char*>(msg.data() + at), len);
      at += len;
    }
    const std::size_t question_end = at + 1 + 4;
    if (question_end > size) return;
    ++self->queries_;
    self->names_.push_back(name);
    if (name == silent_name) return;
    const bool known = name == served_name && msg[at + 2] == 1;  // QTYPE A
    msg[2] = 0x81;                       // a response (QR), recursion desired as asked
    msg[3] = known ? 0x80 : 0x83;        // recursion available; RCODE 3: no such name
    msg[6] = 0, msg[7] = known ? 1 : 0;  // ANCOUNT
    msg[8] = msg[9] = msg[10] = msg[11] = 0;
    std::size_t end = question_end;
    if (known) {
      const std::uint8_t answer[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1};  // A 127.0.0.1, 60 s
      std::memcpy(msg.data() + end, answer, sizeof answer);
      end += sizeof answer;
    }
    pbuf* reply = pbuf_alloc(PBUF_TRANSPORT, static_cast<u16_t>(end), PBUF_RAM);
    if (!reply) return;
    pbuf_take(reply, msg.data(), static_cast<u16_t>(end));
    udp_sendto(pcb, reply, from, port);
    pbuf_free(reply);
  }

  udp_pcb* pcb_ = nullptr;
  int queries_ = 0;
  std::vector<std::string> names_;
};

}  // namespace

TEST_CASE("names: getaddrinfo asks lwIP's resolver and gets the served address", "[lwip_raw][names]") {
  dns_responder dns;
  const auto addrs = usock::getaddrinfo<usock::lwip_raw>(served_name, 9000);
  REQUIRE(addrs.size() == 1);
  CHECK(addrs[0] == usock::address{"127.0.0.1", 9000});
  CHECK(dns.queries() == 1);
  REQUIRE(dns.names().size() == 1);
  CHECK(dns.names()[0] == served_name);

  // Numeric text and localhost (lwIP's local host list) never ask the server.
  CHECK(usock::getaddrinfo<usock::lwip_raw>("10.1.2.3", 80) == std::vector<usock::address>{{"10.1.2.3", 80}});
  CHECK(usock::getaddrinfo<usock::lwip_raw>("localhost", 80) == std::vector<usock::address>{{"127.0.0.1", 80}});
  CHECK(dns.queries() == 1);
}

TEST_CASE("names: create_connection resolves through the poll hook and connects", "[lwip_raw][names]") {
  dns_responder dns;
  socket_t listener;
  listener.bind({"127.0.0.1", 0});
  listener.listen(1);
  const std::uint16_t port = listener.getsockname().port();
  auto conn = usock::create_connection<usock::lwip_raw>(served_name, port, 2s);
  REQUIRE(conn.is_open());
  CHECK(conn.gettimeout() == 2000ms);
  listener.settimeout(2s);
  auto [server, peer] = listener.accept();
  CHECK(peer == conn.getsockname());
  conn.sendall("hi");
  server.settimeout(2s);
  CHECK(server.read(2) == "hi");
}

TEST_CASE("names: an unknown name is no_such_device_or_address", "[lwip_raw][names]") {
  dns_responder dns;
  usock::error_code ec;
  const auto addrs = usock::getaddrinfo<usock::lwip_raw>("nobody.usock.test", 80, ec);
  CHECK(addrs.empty());
  CHECK(ec == std::errc::no_such_device_or_address);
  CHECK(dns.queries() >= 1);

  auto conn = usock::create_connection<usock::lwip_raw>("nobody.usock.test", 80, 2s, ec);
  CHECK_FALSE(conn.is_open());
  CHECK(ec == std::errc::no_such_device_or_address);

  CHECK_THROWS_AS(usock::getaddrinfo<usock::lwip_raw>("nobody.usock.test", 80), usock::error);
  const std::string too_long(DNS_MAX_NAME_LENGTH, 'a');
  usock::getaddrinfo<usock::lwip_raw>(too_long, 80, ec);
  CHECK(ec == std::errc::invalid_argument);
}

TEST_CASE("names: a server that never answers ends in the call's timeout", "[lwip_raw][names]") {
  dns_responder dns;
  usock::error_code ec;
  const auto start = steady_clock::now();
  auto conn = usock::create_connection<usock::lwip_raw>(silent_name, 80, 300ms, ec);
  const auto took = steady_clock::now() - start;
  CHECK_FALSE(conn.is_open());
  CHECK(ec == std::errc::timed_out);
  CHECK(took >= 300ms);
  CHECK(took < 2s);  // lwIP would keep asking for longer (DNS_MAX_RETRIES): the call's timeout ended it
  CHECK(dns.queries() >= 1);

  // The abandoned query's late end (lwIP gives up after its retries) reaches no caller: a new look-up of the
  // served name still works.
  const auto addrs = usock::getaddrinfo<usock::lwip_raw>(served_name, 1, ec);
  CHECK_FALSE(ec);
  CHECK(addrs == std::vector<usock::address>{{"127.0.0.1", 1}});
}
