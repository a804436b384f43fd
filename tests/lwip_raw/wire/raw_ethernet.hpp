#pragma once
// A NO_SYS=1 lwIP (the raw-API stack of tests/lwip_raw) on an end of the simulated wire (tests/lwip/wire), as
// main-loop firmware runs it: one Ethernet interface whose frames go out with send_frame, and a poll hook for
// usock::lwip_raw that waits on the wire's descriptor (never longer than lwIP's next timer), feeds every
// waiting frame to lwIP and runs its timers. One thread; no lock hooks.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include <poll.h>

#include <usock/lwip_raw.hpp>

#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/timeouts.h"
#include "netif/ethernet.h"
#include "wire.hpp"

namespace usock_wire_raw {

class raw_ethernet {
 public:
  /// Starts lwIP (once per process) with one interface at `ip`/24 on `frame_fd`, and registers the poll hook.
  raw_ethernet(int frame_fd, const ip4_addr_t& ip, std::uint8_t mac_last) : fd_(frame_fd), mac_last_(mac_last) {
    lwip_init();
    ip4_addr_t mask, gateway;
    IP4_ADDR(&mask, 255, 255, 255, 0);
    IP4_ADDR(&gateway, 0, 0, 0, 0);
    netif_add(&netif_, &ip, &mask, &gateway, this, init, ethernet_input);
    netif_set_default(&netif_);
    netif_set_link_up(&netif_);
    netif_set_up(&netif_);
    usock::lwip_raw::set_poll_hook(poll_hook, this);
  }
  ~raw_ethernet() {
    usock::lwip_raw::set_poll_hook(nullptr);
    netif_remove(&netif_);
  }
  raw_ethernet(const raw_ethernet&) = delete;
  raw_ethernet& operator=(const raw_ethernet&) = delete;

  /// One turn of the main loop: waits up to `max_wait_ms` (-1: until lwIP's next timer) for frames, hands every
  /// waiting frame to lwIP, runs the timers.
  void service(std::int32_t max_wait_ms) {
    const std::uint32_t next_timer = sys_timeouts_sleeptime();
    std::int32_t wait = next_timer > 1000 ? 1000 : static_cast<std::int32_t>(next_timer);
    if (max_wait_ms >= 0) wait = std::min(wait, max_wait_ms);
    pollfd p{fd_, POLLIN, 0};
    for (int n = ::poll(&p, 1, wait); n > 0 && (p.revents & POLLIN); n = ::poll(&p, 1, 0)) {
      const long len = usock_wire::receive_frame(fd_, frame_);
      if (len <= 0) break;
      ++frames_in_;
      pbuf* q = pbuf_alloc(PBUF_RAW, static_cast<u16_t>(len), PBUF_POOL);
      if (!q) continue;  // out of buffers: a lost frame, which TCP recovers from
      pbuf_take(q, frame_.data(), static_cast<u16_t>(len));
      if (netif_.input(q, &netif_) != ERR_OK) pbuf_free(q);
    }
    sys_check_timeouts();
  }

  std::uint64_t frames_in() const { return frames_in_; }
  std::uint64_t frames_out() const { return frames_out_; }

 private:
  static void poll_hook(void* self, std::int32_t max_wait_ms) { static_cast<raw_ethernet*>(self)->service(max_wait_ms); }

  static err_t init(netif* n) {
    auto* self = static_cast<raw_ethernet*>(n->state);
    n->name[0] = 'r';
    n->name[1] = 'w';
    n->mtu = 1500;
    n->hwaddr_len = ETH_HWADDR_LEN;
    const std::uint8_t mac[6] = {0x02, 0, 0, 0, 0, self->mac_last_};
    std::copy(mac, mac + 6, n->hwaddr);
    n->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
    n->output = etharp_output;
    n->linkoutput = link_output;
    return ERR_OK;
  }

  static err_t link_output(netif* n, pbuf* p) {
    auto* self = static_cast<raw_ethernet*>(n->state);
    const auto len = pbuf_copy_partial(p, self->out_.data(), static_cast<u16_t>(std::min<std::size_t>(
                                                                 p->tot_len, self->out_.size())), 0);
    if (!usock_wire::send_frame(self->fd_, std::span<const std::byte>(self->out_.data(), len))) return ERR_IF;
    ++self->frames_out_;
    return ERR_OK;
  }

  int fd_;
  std::uint8_t mac_last_;
  netif netif_{};
  std::array<std::byte, usock_wire::max_frame> frame_{};
  std::array<std::byte, usock_wire::max_frame> out_{};
  std::uint64_t frames_in_ = 0, frames_out_ = 0;
};

}  // namespace usock_wire_raw
