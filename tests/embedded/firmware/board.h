/* The board of the echo firmware: a Cortex-M4F with an Ethernet MAC. Only what both echo servers need: a
 * millisecond tick for lwIP (sys_now), lwIP brought up on one interface, and board_poll(), the main loop's
 * service call (received frames into lwIP, then lwIP's timers). The MAC is a stub: frames go to and come from
 * descriptor memory that nothing fills, so the images link and run but talk to no wire. */
#ifndef FIRMWARE_BOARD_H
#define FIRMWARE_BOARD_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Starts the tick and lwIP, and brings the interface up at 192.168.1.20/24. */
void board_init(void);
/** Services the interface and lwIP's timers; sleeps (WFI) when there is nothing to do and the caller may wait.
 *  Its signature is usock::lwip_raw's poll hook. */
void board_poll(void *context, int32_t max_wait_ms);
/** Stops here for the debugger (an lwIP assertion, a fault). */
void board_fatal(void);

#ifdef __cplusplus
}
#endif

#endif /* FIRMWARE_BOARD_H */
