// The raw-API end of the wire test: a NO_SYS=1 lwIP with usock::lwip_raw in one thread, exec'd by
// raw_wire_transfer on its end of the simulated wire. Exit status 0 when both directions were complete and intact.
//
//   usock_wire_raw_side --index 0 --frame-fd N --control-fd N [--bytes N] [--connections N] [--limit-s N]
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <thread>

#include <usock/basic_socket.hpp>
#include <usock/lwip_raw.hpp>

#include "common.hpp"
#include "raw_ethernet.hpp"
#include "transfer.hpp"

int main(int argc, char** argv) {
  using namespace usock_wire_raw;
  usock_wire::side side{0, -1, -1};
  transfer_options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view arg = argv[i];
    if (arg == "--index") side.index = std::atoi(argv[i + 1]);
    else if (arg == "--frame-fd") side.frame_fd = std::atoi(argv[i + 1]);
    else if (arg == "--control-fd") side.control_fd = std::atoi(argv[i + 1]);
    else if (!o.take(arg, argv[i + 1])) return std::fprintf(stderr, "raw side: unknown option %s\n", argv[i]), 2;
  }
  if (side.frame_fd < 0 || side.control_fd < 0) return std::fprintf(stderr, "raw side: no wire\n"), 2;

  const usock::address self{address_of[side.index], port};
  ip4_addr_t ip;
  std::copy(self.bytes().begin(), self.bytes().end(), reinterpret_cast<std::uint8_t*>(&ip.addr));
  raw_ethernet eth(side.frame_fd, ip, static_cast<std::uint8_t>(side.index + 1));

  // After the transfer the wire's rendezvous blocks: it waits on a thread of its own while this one keeps
  // servicing lwIP (still the only thread touching it).
  const int status = run_side<usock::lwip_raw>(side, o, "raw-API side (usock::lwip_raw, NO_SYS=1, one thread)", [&] {
    std::atomic<bool> both_done{false};
    std::thread barrier([&] {
      usock_wire::rendezvous(side);
      both_done = true;
    });
    while (!both_done) eth.service(50);
    barrier.join();
  });
  std::printf("raw-API side: %llu frames in, %llu out\n", static_cast<unsigned long long>(eth.frames_in()),
              static_cast<unsigned long long>(eth.frames_out()));
  return status;
}
