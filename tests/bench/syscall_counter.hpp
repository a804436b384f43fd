#pragma once
// System calls of the calling thread, counted with the kernel's raw_syscalls tracepoint through perf_event_open,
// where tracefs is mounted (mount -t tracefs nodev /sys/kernel/tracing); shared by usock_bench_scale and
// usock_bench_asyncio.
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <utility>

namespace usock_bench {

/// A kernel tracepoint counted for the calling thread (`raw_syscalls/sys_enter`: every system call), or nothing
/// where tracefs is not mounted.
class tracepoint_counter {
 public:
  explicit tracepoint_counter(const char* event) {
    for (const char* dir : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}) {
      std::ifstream id_file(std::string(dir) + "/events/" + event + "/id");
      long long id = -1;
      if (!(id_file >> id)) continue;
      perf_event_attr attr{};
      attr.type = PERF_TYPE_TRACEPOINT;
      attr.size = sizeof attr;
      attr.config = static_cast<unsigned long long>(id);
      attr.disabled = 1;
      fd_ = static_cast<int>(::syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0));
      if (fd_ >= 0) return;
    }
  }
  tracepoint_counter(const tracepoint_counter&) = delete;
  tracepoint_counter& operator=(const tracepoint_counter&) = delete;
  ~tracepoint_counter() {
    if (fd_ >= 0) ::close(fd_);
  }
  void start() {
    if (fd_ >= 0) ::ioctl(fd_, PERF_EVENT_IOC_RESET, 0), ::ioctl(fd_, PERF_EVENT_IOC_ENABLE, 0);
  }
  long long stop() {
    long long n = -1;
    if (fd_ >= 0) {
      ::ioctl(fd_, PERF_EVENT_IOC_DISABLE, 0);
      if (::read(fd_, &n, sizeof n) != sizeof n) n = -1;
    }
    return n;
  }

 private:
  int fd_ = -1;
};

/// Every system call of the calling thread, and the waits among them (epoll_wait, poll, ppoll).
struct syscall_counter {
  tracepoint_counter all{"raw_syscalls/sys_enter"};
  tracepoint_counter epoll_waits{"syscalls/sys_enter_epoll_wait"};
  tracepoint_counter polls{"syscalls/sys_enter_poll"};
  tracepoint_counter ppolls{"syscalls/sys_enter_ppoll"};
  void start() { all.start(), epoll_waits.start(), polls.start(), ppolls.start(); }
  /// {all, waits}; negative when not counted.
  std::pair<long long, long long> stop() {
    const long long a = all.stop(), e = epoll_waits.stop(), p = polls.stop(), pp = ppolls.stop();
    if (a < 0 || e < 0 || p < 0 || pp < 0) return {-1, -1};
    return {a, e + p + pp};
  }
};

}  // namespace usock_bench
