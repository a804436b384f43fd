/* The board test's probe of the tick and the fault handlers: brings the board up, lets 500 ticks of sys_now()
 * pass (the host checks that they took about half a second of its time), then executes an undefined
 * instruction. The board must report a UsageFault and end QEMU with status BOARD_EXIT_FAULT_BASE + 6 (106). */
#include "board.h"

#include "lwip/sys.h"

int main(void) {
  board_init();
  board_poll(0, 0); /* prints the "network up" line, as an echo server's first wait would */
  const u32_t start = sys_now();
  while (sys_now() - start < 500) board_poll(0, -1);
  board_log("probe: 500 ticks of sys_now() have passed\n");
  __asm volatile("udf #0");
  return 0;
}
