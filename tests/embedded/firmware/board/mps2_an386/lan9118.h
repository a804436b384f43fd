/* A polled lwIP driver for the SMSC LAN9118 Ethernet controller (32-bit bus, PIO through its FIFOs), as QEMU's
 * mps2 boards have it. Frames move only when the main loop calls lan9118_receive(); the controller's receive
 * interrupt, when enabled, exists only to wake the core from WFI (its handler calls lan9118_acknowledge()). */
#ifndef FIRMWARE_LAN9118_H
#define FIRMWARE_LAN9118_H

#include <stdint.h>

#include "lwip/err.h"
#include "lwip/netif.h"

/** The netif init callback for netif_add(): resets the controller at base address netif->state (a uintptr_t
 *  cast to void*), reads its preloaded MAC address, enables transmit and receive and the receive interrupt
 *  (the interrupt line itself is the board's to enable in the NVIC). ERR_IF if no LAN9118 answers there. */
err_t lan9118_netif_init(struct netif *netif);
/** Moves the frames waiting in the receive FIFO into lwIP (netif->input); returns how many there were. */
int lan9118_receive(struct netif *netif);
/** Whether a received frame waits in the FIFO (for the sleep decision: nothing waits, WFI). */
int lan9118_frame_waiting(const struct netif *netif);
/** Clears the receive interrupt (from the interrupt handler; touches nothing of lwIP). */
void lan9118_acknowledge(uintptr_t base);

#endif /* FIRMWARE_LAN9118_H */
