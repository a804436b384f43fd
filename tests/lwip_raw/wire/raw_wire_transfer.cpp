// A NO_SYS=1 raw-API stack (usock::lwip_raw, exec'd as usock_wire_raw_side) and a socket-API stack (usock::lwip,
// in this program's child) on the two ends of the simulated wire (tests/lwip/wire), each sending N bytes to the
// other and checking every byte it receives. The wire can lose, duplicate and reorder frames, from a seed.
//
//   usock_wire_raw_transfer --raw-side PATH [--bytes N] [--connections N] [--loss P] [--duplicate P]
//                           [--reorder P] [--seed N] [--limit-s N]
//
// Exit status 0 when both sides passed within the bound (--limit-s: the whole run's wall time). Prints the bound
// and the measured time; on failure, the command line that replays the run.
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <unistd.h>

#include <usock/basic_socket.hpp>
#include <usock/lwip.hpp>

#include "common.hpp"
#include "transfer.hpp"
#include "wire.hpp"
#include "wire_lwip_netif.hpp"

namespace {

using namespace usock_wire_raw;

int raw_side(const usock_wire::side& side, const std::string& program, const transfer_options& o) {
  const std::string index = std::to_string(side.index), frame = std::to_string(side.frame_fd),
                    control = std::to_string(side.control_fd), bytes = std::to_string(o.bytes),
                    connections = std::to_string(o.connections), limit = std::to_string(o.limit.count());
  const char* args[] = {program.c_str(), "--index", index.c_str(), "--frame-fd", frame.c_str(), "--control-fd",
                        control.c_str(), "--bytes", bytes.c_str(), "--connections", connections.c_str(),
                        "--limit-s", limit.c_str(), nullptr};
  ::execv(program.c_str(), const_cast<char* const*>(args));
  std::perror("raw side: exec");
  return 2;
}

int socket_api_side(const usock_wire::side& side, const transfer_options& o) {
  usock_wire::lwip_ethernet eth(side.frame_fd, {address_of[side.index], "255.255.255.0",
                                                {0x02, 0, 0, 0, 0, static_cast<std::uint8_t>(side.index + 1)}});
  if (!eth.ok()) return 2;
  // lwIP's own thread keeps this stack up while the rendezvous blocks.
  return run_side<usock::lwip>(side, o, "socket-API side (usock::lwip)", [&] { usock_wire::rendezvous(side); });
}

}  // namespace

int main(int argc, char** argv) {
  transfer_options o;
  usock_wire::impairment wire;
  std::string program;
  for (int i = 1; i < argc; i += 2) {
    const std::string_view arg = argv[i];
    if (i + 1 >= argc) return std::fprintf(stderr, "%s needs a value\n", argv[i]), 2;
    const char* value = argv[i + 1];
    if (arg == "--raw-side") program = value;
    else if (arg == "--loss") wire.loss = std::strtod(value, nullptr);
    else if (arg == "--duplicate") wire.duplicate = std::strtod(value, nullptr);
    else if (arg == "--reorder") wire.reorder = std::strtod(value, nullptr);
    else if (arg == "--seed") wire.seed = std::strtoull(value, nullptr, 0);
    else if (!o.take(arg, value)) return std::fprintf(stderr, "unknown option %s\n", argv[i]), 2;
  }
  if (program.empty()) return std::fprintf(stderr, "--raw-side PATH is required\n"), 2;
  std::printf("wire: %s; %llu bytes each way on %zu connection(s): raw API (NO_SYS=1) <-> socket API; bound %llds "
              "(wall time, both directions)\n",
              usock_wire::describe(wire).c_str(), static_cast<unsigned long long>(o.bytes), o.connections,
              static_cast<long long>(o.limit.count()));
  const auto result = usock_wire::run_pair(
      wire, o.limit + std::chrono::seconds(10),
      [&](const usock_wire::side& side) { return raw_side(side, program, o); },
      [&](const usock_wire::side& side) { return socket_api_side(side, o); });
  std::printf("%s", usock_wire::describe(result.stats).c_str());
  // The bound is the whole run's wall time; the sides give up at the same figure, the pump 10 s later.
  const bool in_time = result.within(o.limit);
  std::printf("bound %lld s, measured %.2f s (%.2f MiB/s each way): %s\n", static_cast<long long>(o.limit.count()),
              result.seconds, result.seconds > 0 ? static_cast<double>(o.bytes) / 1048576.0 / result.seconds : 0.0,
              in_time ? "within" : "EXCEEDED");
  if (result.passed() && in_time) {
    std::printf("PASSED in %.2f s (seed %" PRIu64 ")\n", result.seconds, wire.seed);
    return 0;
  }
  std::printf("FAILED: raw side %d, socket-API side %d%s. Replay: %s --raw-side %s --bytes %llu --connections %zu "
              "--loss %g --duplicate %g --reorder %g --seed %" PRIu64 " --limit-s %lld\n",
              result.status_a, result.status_b, in_time ? "" : ", bound exceeded", argv[0],
              program.c_str(), static_cast<unsigned long long>(o.bytes), o.connections, wire.loss, wire.duplicate,
              wire.reorder, wire.seed, static_cast<long long>(o.limit.count()));
  return 1;
}
