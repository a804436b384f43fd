// Compiled, never linked: usock::lwip::resolve's lwip_getaddrinfo branch, which only exists when lwIP has
// LWIP_DNS 1. Debian's lwIP is built without DNS, so this object is built with LWIP_DNS=1 on the command line
// (its lwipopts.h leaves the option to opt.h's default) to prove the branch compiles against lwIP's netdb.h.
#include <usock/lwip.hpp>

#if !LWIP_DNS
#error "this file is meant to be compiled with LWIP_DNS=1"
#endif

std::vector<usock::address> usock_lwip_resolve_compiles(std::string_view host, std::error_code& ec) {
  return usock::lwip::resolve(host, 80, ec);
}
