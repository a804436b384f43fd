#pragma once
/// \file
/// The socket module's constants, spelled in lower case.
///
/// The C headers define `AF_INET`, `SOL_SOCKET` and friends as macros, so usock cannot reuse those names.
/// Each constant here is a value of a small enumeration of usock's own; every backend maps it to its stack's
/// number, so `usock::so_reuseaddr` means the same thing on POSIX and on lwIP even where the numbers differ.

#include <cstdint>

namespace usock {

/// Address family of a socket or an address.
enum class address_family : std::uint8_t { inet, inet6 };

/// Socket type. usock is a TCP library: only stream sockets exist.
enum class socket_type : std::uint8_t { stream };

/// The `level` argument of `setsockopt`/`getsockopt`.
enum class option_level : std::uint8_t { socket, tcp };

/// The `option` argument of `setsockopt`/`getsockopt`.
enum class socket_option : std::uint8_t { reuseaddr, keepalive, rcvbuf, sndbuf, nodelay };

/// The `how` argument of `shutdown`.
enum class shutdown_how : std::uint8_t { read, write, both };

inline constexpr address_family af_inet = address_family::inet;    ///< `socket.AF_INET`
inline constexpr address_family af_inet6 = address_family::inet6;  ///< `socket.AF_INET6`
inline constexpr socket_type sock_stream = socket_type::stream;    ///< `socket.SOCK_STREAM`

inline constexpr option_level sol_socket = option_level::socket;   ///< `socket.SOL_SOCKET`
inline constexpr option_level ipproto_tcp = option_level::tcp;     ///< `socket.IPPROTO_TCP`

inline constexpr socket_option so_reuseaddr = socket_option::reuseaddr;  ///< `socket.SO_REUSEADDR` (level `sol_socket`)
inline constexpr socket_option so_keepalive = socket_option::keepalive;  ///< `socket.SO_KEEPALIVE` (level `sol_socket`)
inline constexpr socket_option so_rcvbuf = socket_option::rcvbuf;        ///< `socket.SO_RCVBUF` (level `sol_socket`)
inline constexpr socket_option so_sndbuf = socket_option::sndbuf;        ///< `socket.SO_SNDBUF` (level `sol_socket`)
inline constexpr socket_option tcp_nodelay = socket_option::nodelay;     ///< `socket.TCP_NODELAY` (level `ipproto_tcp`)

inline constexpr shutdown_how shut_rd = shutdown_how::read;     ///< `socket.SHUT_RD`
inline constexpr shutdown_how shut_wr = shutdown_how::write;    ///< `socket.SHUT_WR`
inline constexpr shutdown_how shut_rdwr = shutdown_how::both;   ///< `socket.SHUT_RDWR`

/// Readiness events of `usock::poller`, as `select.POLLIN` and friends; combine with `|`.
inline constexpr unsigned pollin = 0x01;    ///< data to read, EOF, or (on a listener) a connection to accept
inline constexpr unsigned pollout = 0x04;   ///< room to send, or a non-blocking connect finished
inline constexpr unsigned pollerr = 0x08;   ///< an error is pending (reported whether asked for or not)
inline constexpr unsigned pollhup = 0x10;   ///< the connection is closed or not yet connected (always reported)
inline constexpr unsigned pollnval = 0x20;  ///< the handle is not an open socket (always reported)

/// The level an option belongs to, used by every backend to reject a mismatched pair
/// (`setsockopt(sol_socket, tcp_nodelay, 1)`) with `no_protocol_option` instead of setting something else.
constexpr option_level level_of(socket_option option) noexcept {
  return option == socket_option::nodelay ? option_level::tcp : option_level::socket;
}

}  // namespace usock
