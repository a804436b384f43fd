// lwip_select for a stack built without it (Debian's lwIP has LWIP_SOCKET_SELECT 0), made of lwip_poll with
// lwIP's select semantics: a socket is in the read set when it has data, EOF or an error to report, in the write
// set when it can send (or its connect finished), in the except set when it has an error; a closed handle fails
// the call with EBADF. It lets the tests run usock's select code path (USOCK_LWIP_USE_SELECT) on the host.
#include "lwip_select_shim.hpp"

#include <cerrno>
#include <vector>

#include <usock/lwip.hpp>

extern "C" int lwip_select(int maxfdp1, fd_set* readset, fd_set* writeset, fd_set* exceptset, struct timeval* timeout) {
  std::vector<pollfd> fds;
  for (int fd = 0; fd < maxfdp1; ++fd) {
    const bool r = readset && FD_ISSET(fd, readset), w = writeset && FD_ISSET(fd, writeset),
               e = exceptset && FD_ISSET(fd, exceptset);
    if (!r && !w && !e) continue;
    pollfd p{};
    p.fd = fd;
    p.events = static_cast<short>((r ? POLLIN : 0) | (w ? POLLOUT : 0));
    fds.push_back(p);
  }
  const int ms = timeout ? static_cast<int>(timeout->tv_sec * 1000 + (timeout->tv_usec + 999) / 1000) : -1;
  const int n = lwip_poll(fds.data(), static_cast<nfds_t>(fds.size()), ms);
  if (n < 0) {
    for (const pollfd& p : fds)
      if (p.revents & POLLNVAL) errno = EBADF;
    return -1;
  }
  if (readset) FD_ZERO(readset);
  if (writeset) FD_ZERO(writeset);
  if (exceptset) FD_ZERO(exceptset);
  int bits = 0;
  for (const pollfd& p : fds) {
    if (readset && (p.revents & POLLIN)) FD_SET(p.fd, readset), ++bits;
    if (writeset && (p.revents & POLLOUT)) FD_SET(p.fd, writeset), ++bits;
    if (exceptset && (p.revents & POLLERR)) FD_SET(p.fd, exceptset), ++bits;
  }
  return bits;
}
