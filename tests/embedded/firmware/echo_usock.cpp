// The seed's echo server on usock, built for a Cortex-M4F with lwIP's raw API (NO_SYS=1): the same program as
// on a desktop, with the error_code forms (no exceptions here) and the board's poll hook.
#include <array>
#include <cstddef>
#include <span>
#include <system_error>

#include <usock/usock.hpp>

#include "board.h"

int main() {
  board_init();
  usock::lwip_raw::set_poll_hook(board_poll);

  usock::error_code ec;
  usock::socket server(usock::af_inet, usock::sock_stream, ec);
  server.setsockopt(usock::sol_socket, usock::so_reuseaddr, 1, ec);
  server.bind({"0.0.0.0", 9000}, ec);
  server.listen(4, ec);  // up to 4 clients wait, connected, while one is served
  if (ec) board_fatal();
  for (;;) {
    auto [conn, addr] = server.accept(ec);
    if (ec) continue;
    std::array<std::byte, 1024> data;
    while (std::size_t n = conn.recv(data, ec)) {
      conn.sendall(std::span(data).first(n), ec);
      if (ec) break;
    }
  }
}
