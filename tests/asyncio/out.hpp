#pragma once
// What the ported MicroPython tests print: each case appends lines to `out` and compares them with the output
// MicroPython's .exp file (or CPython, for tests without one) shows for the same program.
#include <string>
#include <system_error>

#include <usock/asyncio.hpp>

namespace asyncio_test {

inline std::string out;

inline void put(std::string& s, const char* v) { s += v; }
inline void put(std::string& s, const std::string& v) { s += v; }
inline void put(std::string& s, bool v) { s += v ? "True" : "False"; }
inline void put(std::string& s, int v) { s += std::to_string(v); }
inline void put(std::string& s, long v) { s += std::to_string(v); }
inline void put(std::string& s, long long v) { s += std::to_string(v); }
inline void put(std::string& s, std::size_t v) { s += std::to_string(v); }

/// Python's print: the arguments separated by spaces, then a newline.
template <class First, class... Rest>
void print(const First& first, const Rest&... rest) {
  put(out, first);
  ((out += ' ', put(out, rest)), ...);
  out += '\n';
}

inline bool is_cancel(const std::error_code& ec) { return ec == std::errc::operation_canceled; }

/// Runs `main` on a fresh loop of this thread and returns what it printed.
template <class T>
std::string run_printing(usock::asyncio::task<T> main) {
  out.clear();
  std::error_code ec;
  usock::asyncio::run(std::move(main), ec);
  if (ec) print("run:", ec.message());
  return out;
}

}  // namespace asyncio_test
