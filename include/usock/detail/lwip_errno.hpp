#pragma once
/// \file
/// lwIP's `errno` values, translated by name to `std::errc`.
///
/// lwIP sets `errno` to the `E*` values that its own headers see: the C library's (`LWIP_ERRNO_STDINCLUDE`,
/// `LWIP_ERRNO_INCLUDE`, as on Debian and ESP-IDF) or lwIP's own numbering (`LWIP_PROVIDE_ERRNO`). `std::errc`
/// always has the C library's numbers, so a value is never passed through: it is looked up by its `E*` name, as
/// this translation unit sees lwIP's macros, and turned into the `std::errc` of the same meaning.

#include <cstddef>
#include <system_error>

#include "../error.hpp"
#include "lwip_config.hpp"

namespace usock::detail {

struct lwip_errno_name {
  int value;
  std::errc meaning;
};

/// Every `errno` value lwIP's socket layer sets (and a few more a port's hooks might), first match wins, so
/// aliases (`EWOULDBLOCK` and `EAGAIN` are often one number) all land on one meaning.
inline constexpr lwip_errno_name lwip_errno_names[] = {
    {EAGAIN, std::errc::resource_unavailable_try_again},
    {EWOULDBLOCK, std::errc::resource_unavailable_try_again},
    {EINPROGRESS, std::errc::operation_in_progress},
    {EALREADY, std::errc::connection_already_in_progress},
    {EISCONN, std::errc::already_connected},
    {ENOTCONN, std::errc::not_connected},
    {ECONNRESET, std::errc::connection_reset},
    {ECONNABORTED, std::errc::connection_aborted},
    {ECONNREFUSED, std::errc::connection_refused},
    {ETIMEDOUT, std::errc::timed_out},
    {EPIPE, std::errc::broken_pipe},
    {EHOSTUNREACH, std::errc::host_unreachable},
    {ENETUNREACH, std::errc::network_unreachable},
    {EADDRINUSE, std::errc::address_in_use},
    {EADDRNOTAVAIL, std::errc::address_not_available},
    {EAFNOSUPPORT, std::errc::address_family_not_supported},
    {EPROTONOSUPPORT, std::errc::protocol_not_supported},
    {ENOPROTOOPT, std::errc::no_protocol_option},
    {EOPNOTSUPP, std::errc::operation_not_supported},
    {EBADF, std::errc::bad_file_descriptor},
    {ENOTSOCK, std::errc::not_a_socket},
    {EINVAL, std::errc::invalid_argument},
    {EFAULT, std::errc::bad_address},
    {ENOMEM, std::errc::not_enough_memory},
    {ENOBUFS, std::errc::no_buffer_space},
    {ENFILE, std::errc::too_many_files_open_in_system},
    {EMFILE, std::errc::too_many_files_open},
    {EMSGSIZE, std::errc::message_size},
    {ENOSYS, std::errc::function_not_supported},
    {EINTR, std::errc::interrupted},
    {EIO, std::errc::io_error},
};

/// The generic-category code for lwIP's `errno` value `value`; a value lwIP is not known to set is `io_error`.
inline usock::error_code lwip_errno_code(int value) noexcept {
  for (const lwip_errno_name& e : lwip_errno_names) {
    if (e.value == value) return detail::make_error(e.meaning);
  }
  return detail::make_error(std::errc::io_error);
}

}  // namespace usock::detail
