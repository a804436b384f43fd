#pragma once
// Force-included into the select-path tests: declares lwip_select, which Debian's lwIP (LWIP_SOCKET_SELECT 0)
// neither declares nor exports. lwip_select_shim.cpp provides it on top of lwip_poll.
#include <sys/select.h>

extern "C" int lwip_select(int maxfdp1, fd_set* readset, fd_set* writeset, fd_set* exceptset, struct timeval* timeout);
