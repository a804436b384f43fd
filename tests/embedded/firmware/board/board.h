/* What a board gives the echo firmware, whichever board it is: a millisecond tick for lwIP (sys_now), lwIP
 * brought up on one Ethernet interface, board_poll() (the main loop's network service, and usock::lwip_raw's
 * poll hook), a log line, and a way to stop that a test can read. The one board today is QEMU's mps2-an386
 * (board/mps2_an386/): a Cortex-M4F with a LAN9118 Ethernet controller. */
#ifndef FIRMWARE_BOARD_H
#define FIRMWARE_BOARD_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The board's exit statuses (QEMU's own exit status, through semihosting). */
#define BOARD_EXIT_FATAL 99      /* board_fatal(): an lwIP assertion, or the application gave up */
#define BOARD_EXIT_FAULT_BASE 100 /* a fault: 100 + the exception number (103 HardFault ... 106 UsageFault) */

/** Starts the tick, the Ethernet controller and lwIP, and brings the interface up at 10.0.2.15/24, gateway
 *  10.0.2.2 (QEMU's user network). Stops with board_fatal() if the controller does not answer. */
void board_init(void);
/** Moves received frames into lwIP and runs lwIP's timers; sleeps (WFI) until the next tick or frame when it
 *  found nothing to do and the caller may wait (max_wait_ms != 0). Its first call prints the board's "network
 *  up" line: the application is then serving. Its signature is usock::lwip_raw's poll hook. */
void board_poll(void *context, int32_t max_wait_ms);
/** Prints a NUL-terminated line to the host (semihosting: QEMU's stderr). */
void board_log(const char *text);
/** Ends the program with QEMU exiting BOARD_EXIT_FATAL (an lwIP assertion, a fault the application cannot
 *  handle). Never returns. */
void board_fatal(void) __attribute__((noreturn));

#ifdef __cplusplus
}
#endif

#endif /* FIRMWARE_BOARD_H */
