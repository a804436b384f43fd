#pragma once
/// \file
/// `usock::error_code`, the type every call reports its errors in; `usock::error`, the exception thrown by the
/// throwing form of every call; and the helpers that build error codes.
///
/// Every error usock reports is a `std::errc` value, so `ec == std::errc::timed_out` holds on every backend.
/// On a hosted system `usock::error_code` *is* `std::error_code` (generic category). On firmware it is a
/// class of usock's own with the same names and the same comparisons: `std::error_code` would bring the C++
/// runtime's error categories into the image, and with them `std::string`, `operator new`, `malloc` and the C
/// library's `strerror` table (the Cortex-M4 echo image is 9,596 bytes larger with it, docs/bare-metal.md). Define
/// `USOCK_STD_ERROR_CODE` to 1 or 0 (the same in every file) to choose; the default is 1 on Linux, macOS, the
/// BSDs and Windows, 0 elsewhere.

#include <system_error>
#include <utility>

#include "detail/platform.hpp"

#if defined(__cpp_exceptions) && !defined(USOCK_NO_EXCEPTIONS)
#define USOCK_HAS_EXCEPTIONS 1
#else
#define USOCK_HAS_EXCEPTIONS 0
#endif

#ifndef USOCK_STD_ERROR_CODE
#define USOCK_STD_ERROR_CODE USOCK_HOSTED_OS
#endif

namespace usock {

#if USOCK_STD_ERROR_CODE
/// The error every `noexcept` call reports through its trailing `usock::error_code&`: here `std::error_code`,
/// always of the generic category.
using error_code = std::error_code;
#else
/// The error every `noexcept` call reports through its trailing `usock::error_code&`, on firmware: one `int`
/// holding a `std::errc` value (0 for none), used as `std::error_code` is, so code written on a desktop
/// compiles unchanged: `usock::error_code ec;`, `if (ec)`, `ec == std::errc::timed_out` (either order, and
/// `!=`), `ec.value()`, `ec.clear()`, `ec.message()`. What it leaves out is what needs the C++ runtime:
/// `category()` (every usock error is of the generic category) and `message()` as a `std::string` (here a
/// short English text). `std::error_code(ec)` converts, and a `std::error_code` assigns, each costing that
/// runtime only where it is used.
class error_code {
 public:
  /// No error.
  constexpr error_code() noexcept = default;
  /// An error: `usock::error_code(std::errc::timed_out)`.
  constexpr explicit error_code(std::errc e) noexcept : value_(static_cast<int>(e)) {}
  /// The value of a `std::error_code` (usock's errors are all of the generic category), so that code which
  /// assigns `std::make_error_code(...)` compiles unchanged; that code brings the C++ runtime's categories.
  error_code(const std::error_code& e) noexcept : value_(e.value()) {}

  /// The `std::errc` value as an `int` (the platform's `errno` number); 0 for no error.
  constexpr int value() const noexcept { return value_; }
  /// Sets it to no error.
  constexpr void clear() noexcept { value_ = 0; }
  /// True when it holds an error.
  constexpr explicit operator bool() const noexcept { return value_ != 0; }
  /// A short English description ("connection refused"); the errors usock reports are named, any other
  /// value is "error".
  const char* message() const noexcept;
  /// The same error as a generic-category `std::error_code`.
  explicit operator std::error_code() const noexcept { return {value_, std::generic_category()}; }

  friend constexpr bool operator==(error_code a, error_code b) noexcept { return a.value_ == b.value_; }
  friend constexpr bool operator==(error_code a, std::errc b) noexcept { return a.value_ == static_cast<int>(b); }

 private:
  int value_ = 0;
};

inline const char* error_code::message() const noexcept {
  if (value_ == 0) return "success";
  switch (static_cast<std::errc>(value_)) {
    case std::errc::address_family_not_supported: return "address family not supported";
    case std::errc::address_in_use: return "address in use";
    case std::errc::address_not_available: return "address not available";
    case std::errc::already_connected: return "already connected";
    case std::errc::bad_file_descriptor: return "bad file descriptor";
    case std::errc::broken_pipe: return "broken pipe";
    case std::errc::connection_aborted: return "connection aborted";
    case std::errc::connection_already_in_progress: return "connection already in progress";
    case std::errc::connection_refused: return "connection refused";
    case std::errc::connection_reset: return "connection reset";
    case std::errc::host_unreachable: return "host unreachable";
    case std::errc::invalid_argument: return "invalid argument";
    case std::errc::network_down: return "network down";
    case std::errc::network_unreachable: return "network unreachable";
    case std::errc::no_buffer_space: return "no buffer space";
    case std::errc::no_protocol_option: return "no protocol option";
    case std::errc::no_such_device_or_address: return "no such device or address";
    case std::errc::no_such_file_or_directory: return "no such file or directory";
    case std::errc::not_connected: return "not connected";
    case std::errc::not_enough_memory: return "not enough memory";
    case std::errc::operation_in_progress: return "operation in progress";
    case std::errc::operation_not_supported: return "operation not supported";
    case std::errc::resource_unavailable_try_again: return "resource unavailable, try again";
    case std::errc::timed_out: return "timed out";
    case std::errc::too_many_files_open: return "too many files open";
    default: return "error";
  }
}
#endif

/// The exception thrown by usock's throwing calls. `code()` compares equal to a `std::errc`:
/// `catch (const usock::error& e) { if (e.code() == std::errc::timed_out) ... }`.
class error : public std::system_error {
 public:
  error(std::error_code code, const char* operation) : std::system_error(code, operation) {}
#if !USOCK_STD_ERROR_CODE
  error(usock::error_code code, const char* operation) : std::system_error(std::error_code(code), operation) {}
#endif
};

namespace detail {

/// The error code for `e`.
inline error_code make_error(std::errc e) noexcept {
#if USOCK_STD_ERROR_CODE
  return {static_cast<int>(e), std::generic_category()};
#else
  return error_code(e);
#endif
}

/// `ec == e` without the virtual call that comparing a `std::error_code` with a `std::errc` makes: usock's
/// codes are all of the generic category, so comparing values is exact.
inline bool is(const error_code& ec, std::errc e) noexcept {
#if USOCK_STD_ERROR_CODE
  return ec.value() == static_cast<int>(e) && ec.category() == std::generic_category();
#else
  return ec == e;
#endif
}

#if USOCK_HAS_EXCEPTIONS
/// Throws `usock::error` when `ec` holds an error; `operation` names the call (`"connect"`).
inline void throw_if(const error_code& ec, const char* operation) {
  if (ec) throw error(ec, operation);
}
#endif

}  // namespace detail
}  // namespace usock
