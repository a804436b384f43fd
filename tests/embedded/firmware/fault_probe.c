/* The board test's probe of the fault handlers: brings the board up, then executes an undefined instruction.
 * The board must report a UsageFault and end QEMU with status BOARD_EXIT_FAULT_BASE + 6 (106). */
#include "board.h"

int main(void) {
  board_init();
  board_poll(0, 0); /* prints the "network up" line, as an echo server's first wait would */
  __asm volatile("udf #0");
  return 0;
}
