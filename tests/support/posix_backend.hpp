#pragma once
// The suite's configuration for the POSIX backend: nothing to start, the machine's own loopback.
#include <usock/posix.hpp>

namespace usock_test {

using backend = usock::posix;
inline constexpr const char* backend_name = "posix";
/// Whether a full listen() backlog holds further connections off (so connect() can time out against it).
inline constexpr bool listen_backlog_enforced = true;

/// Started before the first case and stopped after the last one.
struct environment {
  /// True when the stack holds no resources the suite forgot to release (descriptors are checked by main).
  bool leak_free() const { return true; }
};

}  // namespace usock_test
