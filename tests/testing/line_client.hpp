#pragma once
// The code under test in the README's example: a client for a small line protocol, written once against
// basic_socket<Backend> as firmware code would be. "GET <key>\n" is answered by "OK <value>\n".
#include <chrono>
#include <string>
#include <string_view>
#include <system_error>

#include <usock/basic_socket.hpp>

template <class Backend>
class line_client {
 public:
  line_client(usock::address server, std::chrono::milliseconds timeout) : server_(server), timeout_(timeout) {}

  /// Connects within the timeout. Errors: those of `connect`.
  void connect(std::error_code& ec) {
    sock_ = usock::basic_socket<Backend>(server_.family(), usock::sock_stream, ec);
    if (!ec) sock_.settimeout(timeout_, ec);
    if (!ec) sock_.connect(server_, ec);
  }

  /// The value of `key`, within the timeout. Errors: those of the socket (`timed_out`, `connection_reset`, ...),
  /// and `bad_message` for a reply that is not `OK <value>\n`.
  std::string get(std::string_view key, std::error_code& ec) {
    std::string request = "GET ";
    request.append(key).append("\n");
    sock_.sendall(request, ec);
    if (ec) return {};
    const std::string line = sock_.readline(ec);
    if (ec) return {};
    if (!line.starts_with("OK ") || !line.ends_with('\n')) {
      ec = std::make_error_code(std::errc::bad_message);
      return {};
    }
    return line.substr(3, line.size() - 4);
  }

 private:
  usock::address server_;
  std::chrono::milliseconds timeout_;
  usock::basic_socket<Backend> sock_ = usock::basic_socket<Backend>::adopt(Backend::invalid_handle);
};
