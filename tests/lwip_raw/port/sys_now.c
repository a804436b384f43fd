/* sys_now() for usock's host builds of lwIP with NO_SYS=1: milliseconds since the first call, from the
 * monotonic clock (so it wraps after 49 days of the process, not of the machine). */
#include <stdint.h>
#include <time.h>

#include "lwip/sys.h"

static uint64_t monotonic_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

u32_t sys_now(void) {
  static uint64_t start;
  if (start == 0) start = monotonic_ms() - 1;
  return (u32_t)(monotonic_ms() - start);
}
