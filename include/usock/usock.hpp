#pragma once
/// \file
/// The whole of usock: `#include <usock/usock.hpp>`.
///
/// `usock::socket` is `basic_socket<usock::default_backend>`: the POSIX backend on a host, or the backend a build
/// selects with `USOCK_BACKEND_LWIP` (lwIP's socket API) or `USOCK_BACKEND_LWIP_RAW` (lwIP's raw API).

#include <algorithm>
#include <climits>
#include <cstdint>
#include <optional>
#include <string_view>
#include <system_error>
#include <vector>

#include "address.hpp"
#include "backend.hpp"
#include "basic_socket.hpp"
#include "buffer.hpp"
#include "constants.hpp"
#include "detail/chrono.hpp"
#include "error.hpp"

#if defined(USOCK_BACKEND_LWIP_RAW)
#include "lwip_raw.hpp"
namespace usock { using default_backend = lwip_raw; }
#elif defined(USOCK_BACKEND_LWIP)
#include "lwip.hpp"
namespace usock { using default_backend = lwip; }
#else
#include "posix.hpp"
namespace usock { using default_backend = posix; }
#endif

namespace usock {

/// A socket on the build's default backend, as `socket.socket()`.
using socket = basic_socket<default_backend>;

static_assert(socket_backend<default_backend>);

/// `socket.getaddrinfo(host, port)`: every address of `host` for TCP (numeric text is returned as is).
/// Errors: a `usock.getaddrinfo` category code that compares equal to `no_such_device_or_address` for an
/// unknown name, `resource_unavailable_try_again` for a temporary failure.
template <resolving_backend Backend = default_backend>
std::vector<address> getaddrinfo(std::string_view host, std::uint16_t port, usock::error_code& ec) {
  return Backend::resolve(host, port, ec);
}

namespace detail {
/// Resolves `host` within `timeout` where the backend's resolver can wait for a given time (lwip_raw's waits
/// through the poll hook), else as `getaddrinfo` does.
template <resolving_backend Backend>
std::vector<address> resolve_within(std::string_view host, std::uint16_t port,
                                    std::optional<std::chrono::milliseconds> timeout, usock::error_code& ec) {
  if constexpr (requires(int ms) { Backend::resolve(host, port, ms, ec); }) {
    const auto ms = timeout ? std::min<std::chrono::milliseconds::rep>(timeout->count(), INT_MAX) : -1;
    return Backend::resolve(host, port, static_cast<int>(ms), ec);
  } else {
    return Backend::resolve(host, port, ec);
  }
}
}  // namespace detail

/// `socket.create_connection((host, port), timeout)`: resolves `host` and tries each address in turn, each
/// within `timeout`, returning the first connection made; the socket keeps `timeout`. If none connects,
/// `ec` holds the last address's error. On `lwip_raw` the name lookup also ends within `timeout`.
template <resolving_backend Backend = default_backend>
basic_socket<Backend> create_connection(std::string_view host, std::uint16_t port,
                                        std::optional<std::chrono::milliseconds> timeout, usock::error_code& ec) {
  const std::vector<address> candidates = detail::resolve_within<Backend>(host, port, timeout, ec);
  if (!ec && candidates.empty()) ec = detail::make_error(std::errc::no_such_device_or_address);
  for (const address& a : candidates) {
    basic_socket<Backend> s(a.family(), sock_stream, ec);
    if (!ec) s.settimeout(timeout, ec);
    if (!ec) s.connect(a, ec);
    if (!ec) return s;
  }
  return basic_socket<Backend>::adopt(Backend::invalid_handle);
}

#if USOCK_HAS_EXCEPTIONS
template <resolving_backend Backend = default_backend>
std::vector<address> getaddrinfo(std::string_view host, std::uint16_t port) {
  usock::error_code ec;
  std::vector<address> result = getaddrinfo<Backend>(host, port, ec);
  detail::throw_if(ec, "getaddrinfo");
  return result;
}

template <resolving_backend Backend = default_backend>
basic_socket<Backend> create_connection(std::string_view host, std::uint16_t port,
                                        std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
  usock::error_code ec;
  basic_socket<Backend> s = create_connection<Backend>(host, port, timeout, ec);
  detail::throw_if(ec, "create_connection");
  return s;
}
#endif

}  // namespace usock
