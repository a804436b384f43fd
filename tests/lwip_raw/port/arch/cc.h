/* lwIP's architecture header for usock's host builds (Linux, GCC or Clang). */
#ifndef USOCK_HOST_ARCH_CC_H
#define USOCK_HOST_ARCH_CC_H

#include <stdio.h>
#include <stdlib.h>

#define LWIP_PLATFORM_DIAG(x) \
  do {                        \
    printf x;                 \
  } while (0)
#define LWIP_PLATFORM_ASSERT(x)                                                          \
  do {                                                                                   \
    fprintf(stderr, "lwIP assertion \"%s\" failed at %s:%d\n", x, __FILE__, __LINE__);  \
    abort();                                                                             \
  } while (0)

/* Only IPv6 (neighbour discovery timing) asks for random numbers here; nothing depends on their quality. */
#define LWIP_RAND() ((u32_t)rand())

#endif /* USOCK_HOST_ARCH_CC_H */
