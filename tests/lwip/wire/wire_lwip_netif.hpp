#pragma once
/// \file
/// An Ethernet interface of this process's lwIP (the socket-API stack, `NO_SYS=0`, as the host harness runs it)
/// over a descriptor that carries one frame per read and per write: an end of the simulated wire (wire.hpp) or
/// a TAP device opened with `IFF_TAP | IFF_NO_PI`. Frames lwIP sends are written to the descriptor from lwIP's
/// thread; a receive thread of this object reads the descriptor and runs each frame through lwIP's input under
/// lwIP's core lock, so that a busy stack slows the wire down instead of losing frames.

#include <array>
#include <cstdint>
#include <memory>
#include <string_view>

namespace usock_wire {

/// Addressing of a `lwip_ethernet` interface: IPv4 only, numeric text.
struct ethernet_config {
  std::string_view ip;       ///< this interface's address, e.g. "10.0.0.1"
  std::string_view netmask;  ///< e.g. "255.255.255.0"
  std::array<std::uint8_t, 6> mac;
  bool make_default = true;  ///< route everything not on a subnet of another interface through this one
};

/// The interface, up for the lifetime of the object. Starts lwIP's thread if this process has not.
class lwip_ethernet {
 public:
  /// Adds the interface and starts receiving from `frame_fd` (which the caller keeps open and closes after
  /// this object is gone). `ok()` tells whether it worked; why not is printed.
  lwip_ethernet(int frame_fd, const ethernet_config& config);
  /// Stops receiving and removes the interface (connections still using it are aborted).
  ~lwip_ethernet();
  lwip_ethernet(const lwip_ethernet&) = delete;
  lwip_ethernet& operator=(const lwip_ethernet&) = delete;

  bool ok() const noexcept;
  /// Frames received from the descriptor and handed to lwIP, and frames lwIP sent, so far.
  std::uint64_t frames_in() const noexcept;
  std::uint64_t frames_out() const noexcept;
  /// Frames received from the descriptor that lwIP had no buffer for: lost here, on top of what the wire loses.
  std::uint64_t frames_refused() const noexcept;

  struct state;

 private:
  std::unique_ptr<state> state_;
};

}  // namespace usock_wire
