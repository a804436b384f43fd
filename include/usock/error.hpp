#pragma once
/// \file
/// `usock::error`, the exception thrown by the throwing form of every call, and the helpers that build
/// error codes. Every backend reports errors as `std::error_code`s of the generic category, so
/// `ec == std::errc::timed_out` holds on POSIX and on lwIP alike.

#include <string>
#include <system_error>
#include <utility>

#if defined(__cpp_exceptions) && !defined(USOCK_NO_EXCEPTIONS)
#define USOCK_HAS_EXCEPTIONS 1
#else
#define USOCK_HAS_EXCEPTIONS 0
#endif

namespace usock {

/// The exception thrown by usock's throwing calls. `code()` compares equal to a `std::errc`:
/// `catch (const usock::error& e) { if (e.code() == std::errc::timed_out) ... }`.
class error : public std::system_error {
 public:
  error(std::error_code code, const char* operation) : std::system_error(code, operation) {}
};

namespace detail {

inline std::error_code make_error(std::errc e) noexcept { return std::make_error_code(e); }

#if USOCK_HAS_EXCEPTIONS
/// Throws `usock::error` when `ec` holds an error; `operation` names the call (`"connect"`).
inline void throw_if(const std::error_code& ec, const char* operation) {
  if (ec) throw error(ec, operation);
}
#endif

}  // namespace detail
}  // namespace usock
