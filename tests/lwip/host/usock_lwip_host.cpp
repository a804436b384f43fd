// The host harness: lwIP's tcpip thread and a loopback interface of our own (see usock_lwip_host.hpp).
#include "usock_lwip_host.hpp"

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>

extern "C" {  // Debian's lwipopts.h declares its locking functions without extern "C"
#include <lwip/init.h>
#include <lwip/ip_addr.h>
#include <lwip/netif.h>
#include <lwip/tcpip.h>
}

namespace usock::lwip_host {
namespace {

std::mutex state_mutex;
int users = 0;  // live `stack` objects, under state_mutex
struct netif loop_netif;

/// Anything not addressed to this interface itself has nowhere to go: packets to 127.0.0.1 and ::1 are looped
/// back by lwIP before they reach these.
err_t drop_ip4(struct netif*, struct pbuf*, const ip4_addr_t*) { return ERR_OK; }
#if LWIP_IPV6
err_t drop_ip6(struct netif*, struct pbuf*, const ip6_addr_t*) { return ERR_OK; }
#endif

err_t loop_netif_init(struct netif* n) {
  n->name[0] = 'l';
  n->name[1] = 'o';
  n->mtu = 1500;
  n->output = drop_ip4;
#if LWIP_IPV6
  n->output_ip6 = drop_ip6;
#endif
  n->flags = 0;  // no ARP, no broadcast: a point-to-self interface
  return ERR_OK;
}

[[noreturn]] void fatal(const char* what) {
  std::fprintf(stderr, "usock_lwip_host: %s\n", what);
  std::abort();
}

}  // namespace

void start_tcpip() noexcept {
  static std::once_flag once;
  std::call_once(once, [] {
    struct ready_signal {
      std::mutex m;
      std::condition_variable cv;
      bool ready = false;
    } signal;
    tcpip_init(
        [](void* arg) {
          auto* s = static_cast<ready_signal*>(arg);
          std::lock_guard<std::mutex> lock(s->m);
          s->ready = true;
          s->cv.notify_one();
        },
        &signal);
    std::unique_lock<std::mutex> lock(signal.m);
    signal.cv.wait(lock, [&] { return signal.ready; });
  });
}

stack::stack() noexcept {
  std::lock_guard<std::mutex> lock(state_mutex);
  if (users++ > 0) return;
  start_tcpip();
  ip4_addr_t ip, mask, gw;
  IP4_ADDR(&ip, 127, 0, 0, 1);
  IP4_ADDR(&mask, 255, 0, 0, 0);
  ip4_addr_set_zero(&gw);
  LOCK_TCPIP_CORE();
  if (netif_add(&loop_netif, &ip, &mask, &gw, nullptr, loop_netif_init, tcpip_input) == nullptr) {
    UNLOCK_TCPIP_CORE();
    fatal("netif_add failed for the loopback interface");
  }
#if LWIP_IPV6
  ip6_addr_t lo6;
  ip6_addr_set_loopback(&lo6);
  s8_t index = -1;
  if (netif_add_ip6_address(&loop_netif, &lo6, &index) != ERR_OK) {
    UNLOCK_TCPIP_CORE();
    fatal("could not add ::1 to the loopback interface");
  }
  netif_ip6_addr_set_state(&loop_netif, index, IP6_ADDR_PREFERRED);  // our own address: no duplicate detection
#endif
  netif_set_default(&loop_netif);
  netif_set_link_up(&loop_netif);
  netif_set_up(&loop_netif);
  UNLOCK_TCPIP_CORE();
}

stack::~stack() {
  std::lock_guard<std::mutex> lock(state_mutex);
  if (--users > 0) return;
  LOCK_TCPIP_CORE();
  netif_set_down(&loop_netif);
  netif_remove(&loop_netif);
  UNLOCK_TCPIP_CORE();
}

bool stack::has_ipv6() noexcept { return LWIP_IPV6 != 0; }

}  // namespace usock::lwip_host
