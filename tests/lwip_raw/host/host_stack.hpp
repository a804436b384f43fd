#pragma once
// An lwIP stack built with NO_SYS=1 running inside a test process, for usock::lwip_raw: one network interface
// at 127.0.0.1/8 and ::1 whose traffic lwIP loops back to itself (netif_poll), and the hooks the backend needs.
//
// Two ways to drive it, as on a board:
// - threaded: the suite's peers run in several threads. The lock hooks are a mutex; releasing it delivers
//   the looped-back frames the call produced (so loopback is synchronous, as on Linux); a driver thread runs
//   the timers; the poll hook waits until the stack makes progress.
// - single_thread: main-loop firmware. No lock hooks, no thread: the poll hook services the interface and the
//   timers itself, and `service()` is the main loop's call.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>

#include <usock/lwip_raw.hpp>

#include "lwip/init.h"
#include "lwip/ip4_addr.h"
#include "lwip/ip_addr.h"
#include "lwip/memp.h"
#include "lwip/netif.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/stats.h"
#include "lwip/timeouts.h"

namespace usock_lwip_raw_host {

enum class mode { threaded, single_thread };

class stack {
 public:
  explicit stack(mode m) : mode_(m) {
    static bool initialised = false;  // lwIP has no de-initialisation: one lwip_init per process
    if (!initialised) lwip_init();
    initialised = true;
#if MEMP_STATS
    for (int i = 0; i < MEMP_MAX; ++i) memp_at_start_[i] = lwip_stats.memp[i] ? lwip_stats.memp[i]->used : 0;
#endif
    ip4_addr_t ip, mask, gateway;
    IP4_ADDR(&ip, 127, 0, 0, 1);
    IP4_ADDR(&mask, 255, 0, 0, 0);
    IP4_ADDR(&gateway, 0, 0, 0, 0);
    netif_add(&netif_, &ip, &mask, &gateway, this, init_netif, ip_input);
#if LWIP_IPV6
    ip6_addr_t loopback6;
    ip6_addr_set_loopback(&loopback6);
    netif_ip6_addr_set(&netif_, 0, &loopback6);
    netif_ip6_addr_set_state(&netif_, 0, IP6_ADDR_VALID);
#endif
    netif_set_default(&netif_);
    netif_set_link_up(&netif_);
    netif_set_up(&netif_);
    install_hooks();
    if (mode_ == mode::threaded) driver_ = std::thread([this] { drive(); });
  }

  /// Registers this stack's poll hook (and, threaded, its lock hooks) with usock::lwip_raw.
  void install_hooks() {
    if (mode_ == mode::threaded) {
      usock::lwip_raw::set_lock_hooks(lock_hook, unlock_hook, this);
      usock::lwip_raw::set_poll_hook(threaded_poll_hook, this);
      usock::lwip_raw::set_wake_hook(wake_hook, this);
    } else {
      usock::lwip_raw::set_poll_hook(main_loop_poll_hook, this);
    }
  }

  ~stack() {
    if (driver_.joinable()) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
      }
      work_.notify_all();
      driver_.join();
    }
    usock::lwip_raw::set_poll_hook(nullptr);
    usock::lwip_raw::set_wake_hook(nullptr);
    usock::lwip_raw::set_lock_hooks(nullptr, nullptr);
    netif_remove(&netif_);
  }

  stack(const stack&) = delete;
  stack& operator=(const stack&) = delete;

  /// One turn of a main loop: delivers looped-back frames and runs lwIP's timers (single_thread mode).
  void service() {
    netif_poll(&netif_);
    sys_check_timeouts();
  }

  /// How often the backend ran the poll hook (single_thread mode).
  std::uint64_t poll_calls() const { return poll_calls_; }

  /// True when every connection has finished and lwIP's pools and heap hold nothing: lets the stack run until
  /// closed connections are gone (at most `settle`), drops TIME_WAIT pcbs, then checks usock's socket pool and
  /// lwIP's statistics. Prints what leaked.
  bool leak_free(std::chrono::milliseconds settle = std::chrono::milliseconds(5000)) {
    const auto deadline = std::chrono::steady_clock::now() + settle;
    for (;;) {
      bool busy;
      {
        std::unique_lock<std::mutex> lock(mutex_, std::defer_lock);
        if (mode_ == mode::threaded) lock.lock();
        service();
        busy = tcp_active_pcbs != nullptr || netif_.loop_first != nullptr;
      }
      if (!busy || std::chrono::steady_clock::now() > deadline) break;
      if (mode_ == mode::threaded) {
        threaded_poll_hook(this, 10);
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));  // idle, as a board waits for its timer
      }
    }
    std::unique_lock<std::mutex> lock(mutex_, std::defer_lock);
    if (mode_ == mode::threaded) lock.lock();
    while (tcp_tw_pcbs) tcp_abort(tcp_tw_pcbs);
    bool ok = true;
    auto fail = [&ok](const std::string& what) {
      std::fprintf(stderr, "lwip_raw leak: %s\n", what.c_str());
      ok = false;
    };
    {
      // sockets_in_use takes the lock hook itself
      if (mode_ == mode::threaded) lock.unlock();
      if (const std::size_t n = usock::lwip_raw::sockets_in_use(); n != 0)
        fail(std::to_string(n) + " usock socket slot(s) still in use");
      if (mode_ == mode::threaded) lock.lock();
    }
    if (tcp_active_pcbs) fail("connections still active in lwIP");
    if (tcp_listen_pcbs.listen_pcbs) fail("listening pcbs left in lwIP");
    if (tcp_bound_pcbs) fail("bound pcbs left in lwIP");
#if MEMP_STATS
    for (int i = 0; i < MEMP_MAX; ++i) {
      if (i == MEMP_SYS_TIMEOUT) continue;  // lwIP's own timers stay registered
      const stats_mem* m = lwip_stats.memp[i];
      if (m && m->used != memp_at_start_[i]) {
        fail("memp pool " + std::to_string(i) + ": " + std::to_string(m->used) + " in use, " +
             std::to_string(memp_at_start_[i]) + " at the start");
      }
    }
#endif
#if MEM_STATS
    if (lwip_stats.mem.used != 0) fail("heap: " + std::to_string(lwip_stats.mem.used) + " bytes in use");
#endif
    return ok;
  }

 private:
  static err_t init_netif(netif* n) {
    n->name[0] = 'l';
    n->name[1] = 'o';
    n->mtu = 1500;
    n->output = drop_ip4;  // traffic to 127.0.0.1 and ::1 never gets here: lwIP loops it back
#if LWIP_IPV6
    n->output_ip6 = drop_ip6;
#endif
    return ERR_OK;
  }
  static err_t drop_ip4(netif*, pbuf*, const ip4_addr_t*) { return ERR_OK; }
#if LWIP_IPV6
  static err_t drop_ip6(netif*, pbuf*, const ip6_addr_t*) { return ERR_OK; }
#endif

  // ---- threaded mode ----

  static void lock_hook(void* self) { static_cast<stack*>(self)->mutex_.lock(); }
  /// Delivers what the call just sent to loopback before releasing the lock, so that, as on Linux, a
  /// segment sent to a local peer has been received (and acknowledged) when the call returns.
  static void unlock_hook(void* self) {
    auto* s = static_cast<stack*>(self);
    seen_progress_ = s->progress_;  // before servicing: a poll hook run next sees this progress and returns
    if (s->netif_.loop_first != nullptr) s->service_locked();
    s->mutex_.unlock();
  }

  /// Waits for the driver (or services the interface itself) and returns: the backend checks again.
  static void threaded_poll_hook(void* self, std::int32_t max_wait_ms) {
    auto* s = static_cast<stack*>(self);
    std::unique_lock<std::mutex> lock(s->mutex_);
    if (s->netif_.loop_first == nullptr) {
      const std::int32_t wait = max_wait_ms < 0 ? 50 : std::min<std::int32_t>(max_wait_ms, 50);
      s->progress_cv_.wait_for(lock, std::chrono::milliseconds(wait), [s] {
        return s->progress_ != seen_progress_ || s->netif_.loop_first != nullptr || s->stop_;
      });
    }
    if (s->netif_.loop_first != nullptr) s->service_locked();
    seen_progress_ = s->progress_;
  }

  /// usock::lwip_raw::interrupt_wait() from any thread: a poll hook waiting for progress returns.
  static void wake_hook(void* self) {
    auto* s = static_cast<stack*>(self);
    {
      std::lock_guard<std::mutex> lock(s->mutex_);
      ++s->progress_;
    }
    s->progress_cv_.notify_all();
  }

  void service_locked() {
    service();
    ++progress_;
    progress_cv_.notify_all();
  }

  void drive() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stop_) {
      service_locked();
      const std::uint32_t sleep = std::min<std::uint32_t>(sys_timeouts_sleeptime(), 100);
      work_.wait_for(lock, std::chrono::milliseconds(sleep),
                     [this] { return stop_ || netif_.loop_first != nullptr; });
    }
  }

  // ---- single-thread mode ----

  static void main_loop_poll_hook(void* self, std::int32_t max_wait_ms) {
    auto* s = static_cast<stack*>(self);
    ++s->poll_calls_;
    const bool idle = s->netif_.loop_first == nullptr;
    s->service();
    // Nothing arrived: a board would sleep until its next interrupt; sleep a little instead of spinning.
    if (idle && max_wait_ms != 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }

  mode mode_;
  netif netif_{};
#if MEMP_STATS
  std::uint32_t memp_at_start_[MEMP_MAX] = {};  // what lwIP itself holds (its resolver's UDP pcb)
#endif
  std::mutex mutex_;
  std::condition_variable work_;         // the driver: frames are waiting, or stop
  std::condition_variable progress_cv_;  // waiting callers: the driver serviced the stack
  std::uint64_t progress_ = 0;
  bool stop_ = false;
  std::uint64_t poll_calls_ = 0;
  std::thread driver_;
  static inline thread_local std::uint64_t seen_progress_ = 0;
};

}  // namespace usock_lwip_raw_host
