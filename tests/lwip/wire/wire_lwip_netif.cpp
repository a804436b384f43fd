// An lwIP Ethernet interface over a frame descriptor (see wire_lwip_netif.hpp).
#include "wire_lwip_netif.hpp"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <thread>

#include <poll.h>
#include <unistd.h>

#include <usock/address.hpp>
#include <usock_lwip_host.hpp>

#include "wire.hpp"

extern "C" {  // Debian's lwipopts.h declares its locking functions without extern "C"
#include <lwip/etharp.h>
#include <lwip/netif.h>
#include <lwip/pbuf.h>
#include <lwip/tcpip.h>
#include <netif/ethernet.h>
}

namespace usock_wire {

struct lwip_ethernet::state {
  int fd = -1;
  int stop[2] = {-1, -1};  // the receive thread waits on stop[0]; writing stop[1] ends it
  struct netif netif {};
  bool added = false;
  std::thread receiver;
  std::atomic<std::uint64_t> in{0};
  std::atomic<std::uint64_t> out{0};
  std::atomic<std::uint64_t> refused{0};
};

namespace {

err_t link_output(struct netif* netif, struct pbuf* p) {
  auto* s = static_cast<lwip_ethernet::state*>(netif->state);
  std::byte frame[max_frame];
  const u16_t len = pbuf_copy_partial(p, frame, static_cast<u16_t>(p->tot_len < max_frame ? p->tot_len : max_frame), 0);
  if (!send_frame(s->fd, std::span<const std::byte>(frame, len))) return ERR_IF;
  s->out.fetch_add(1, std::memory_order_relaxed);
  return ERR_OK;
}

err_t ethernet_netif_init(struct netif* netif) {
  netif->name[0] = 'w';
  netif->name[1] = 'r';
  netif->mtu = 1500;
  netif->hwaddr_len = ETH_HWADDR_LEN;
  netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_IGMP;
  netif->output = etharp_output;
  netif->linkoutput = link_output;
  return ERR_OK;
}

bool to_ip4(std::string_view text, ip4_addr_t& out) {
  const usock::address a{text, 0};
  if (!a.valid() || a.family() != usock::af_inet) return false;
  const auto b = a.bytes();
  IP4_ADDR(&out, b[0], b[1], b[2], b[3]);
  return true;
}

void receive_loop(lwip_ethernet::state* s) {
  std::byte frame[max_frame + 64];
  for (;;) {
    pollfd p[2] = {{s->fd, POLLIN, 0}, {s->stop[0], POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (p[1].revents) return;
    if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    const long n = receive_frame(s->fd, std::span<std::byte>(frame, sizeof frame));
    if (n <= 0) return;  // the wire's other end is gone
    s->in.fetch_add(1, std::memory_order_relaxed);
    // PBUF_RAM: one contiguous buffer. (Debian's build sizes PBUF_POOL entries smaller than the
    // chain length pbuf_alloc assumes, so a pool chain overflows on a full-size frame.)
    struct pbuf* q = pbuf_alloc(PBUF_RAW, static_cast<u16_t>(n), PBUF_RAM);
    if (q == nullptr) {  // out of buffers: the frame is lost, as on a NIC
      s->refused.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    pbuf_take(q, frame, static_cast<u16_t>(n));
    // The frame goes through lwIP here, under its core lock, rather than through tcpip_input's mailbox: that
    // mailbox (127 messages on Debian's build) overflowed in bursts and lost frames the wire never counted. This
    // way a busy stack makes this thread wait, frames back up in the wire, and none are lost on the way in.
    LOCK_TCPIP_CORE();
    const err_t result = s->netif.input(q, &s->netif);
    UNLOCK_TCPIP_CORE();
    if (result != ERR_OK) {
      pbuf_free(q);
      s->refused.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

}  // namespace

lwip_ethernet::lwip_ethernet(int frame_fd, const ethernet_config& config) : state_(std::make_unique<state>()) {
  state_->fd = frame_fd;
  ip4_addr_t ip, mask, gw;
  if (!to_ip4(config.ip, ip) || !to_ip4(config.netmask, mask)) {
    std::fprintf(stderr, "lwip_ethernet: not a numeric IPv4 address or netmask\n");
    return;
  }
  ip4_addr_set_zero(&gw);
  if (::pipe(state_->stop) != 0) {
    std::perror("lwip_ethernet: pipe");
    return;
  }
  std::memcpy(state_->netif.hwaddr, config.mac.data(), 6);
  usock::lwip_host::start_tcpip();
  LOCK_TCPIP_CORE();
  state_->added = netif_add(&state_->netif, &ip, &mask, &gw, state_.get(), ethernet_netif_init, ethernet_input) != nullptr;
  if (state_->added) {
    std::memcpy(state_->netif.hwaddr, config.mac.data(), 6);  // init may not touch it; set after, to be sure
    if (config.make_default) netif_set_default(&state_->netif);
    netif_set_link_up(&state_->netif);
    netif_set_up(&state_->netif);
  }
  UNLOCK_TCPIP_CORE();
  if (!state_->added) {
    std::fprintf(stderr, "lwip_ethernet: netif_add failed\n");
    return;
  }
  state_->receiver = std::thread(receive_loop, state_.get());
}

lwip_ethernet::~lwip_ethernet() {
  if (state_->receiver.joinable()) {
    const char stop = 1;
    (void)!::write(state_->stop[1], &stop, 1);
    state_->receiver.join();
  }
  if (state_->added) {
    LOCK_TCPIP_CORE();
    netif_set_down(&state_->netif);
    netif_remove(&state_->netif);
    UNLOCK_TCPIP_CORE();
  }
  for (int fd : state_->stop)
    if (fd >= 0) ::close(fd);
}

bool lwip_ethernet::ok() const noexcept { return state_->added && state_->receiver.joinable(); }
std::uint64_t lwip_ethernet::frames_in() const noexcept { return state_->in.load(); }
std::uint64_t lwip_ethernet::frames_out() const noexcept { return state_->out.load(); }
std::uint64_t lwip_ethernet::frames_refused() const noexcept { return state_->refused.load(); }

}  // namespace usock_wire
