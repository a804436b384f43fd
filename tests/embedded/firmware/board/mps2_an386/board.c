/* The echo firmware's board on QEMU's mps2-an386 (board.h): the 1 kHz SysTick behind sys_now(), lwIP on the
 * LAN9118 at 10.0.2.15/24, and board_poll(), which sleeps in WFI until the tick or a received frame. */
#include "board.h"

#include "lan9118.h"
#include "lwip/init.h"
#include "lwip/ip4_addr.h"
#include "lwip/netif.h"
#include "lwip/timeouts.h"
#include "netif/ethernet.h"

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define NVIC_ISER0 (*(volatile uint32_t *)0xE000E100u)
#define SYST_CSR_ENABLE_TICKINT_CORE_CLOCK 0x7u
#define CORE_CLOCK_HZ 25000000u
#define LAN9118_BASE 0x40200000u
#define LAN9118_IRQ 13u

static volatile uint32_t milliseconds;
static struct netif ethernet;
static int announced;

u32_t sys_now(void) { return milliseconds; }

void SysTick_Handler(void) { ++milliseconds; }

/* The receive interrupt only ends the WFI in board_poll(); frames move in the main loop. */
void board_ethernet_irq(void) { lan9118_acknowledge(LAN9118_BASE); }

void board_init(void) {
  SYST_RVR = CORE_CLOCK_HZ / 1000u - 1u;
  SYST_CVR = 0;
  SYST_CSR = SYST_CSR_ENABLE_TICKINT_CORE_CLOCK;
  lwip_init();
  ip4_addr_t address, mask, gateway;
  IP4_ADDR(&address, 10, 0, 2, 15);
  IP4_ADDR(&mask, 255, 255, 255, 0);
  IP4_ADDR(&gateway, 10, 0, 2, 2);
  if (netif_add(&ethernet, &address, &mask, &gateway, (void *)LAN9118_BASE, lan9118_netif_init, ethernet_input) ==
      NULL) {
    board_log("board: no LAN9118 answers at 0x40200000\n");
    board_fatal();
  }
  netif_set_default(&ethernet);
  netif_set_up(&ethernet);
  NVIC_ISER0 = 1u << LAN9118_IRQ;
}

static void announce(void) {
  static const char digits[] = "0123456789abcdef";
  char line[] = "board: network up, 10.0.2.15/24 gateway 10.0.2.2, MAC xx:xx:xx:xx:xx:xx\n";
  char *mac = line + sizeof line - 19;
  for (int i = 0; i < 6; ++i, mac += 3) {
    mac[0] = digits[ethernet.hwaddr[i] >> 4];
    mac[1] = digits[ethernet.hwaddr[i] & 0xFu];
  }
  board_log(line);
}

void board_poll(void *context, int32_t max_wait_ms) {
  (void)context;
  if (!announced) { /* the first call: the application has set up its sockets and now waits for the network */
    announced = 1;
    announce();
  }
  const int received = lan9118_receive(&ethernet);
  sys_check_timeouts();
  if (received == 0 && max_wait_ms != 0) {
    /* With interrupts masked, a frame arriving after the check still ends the WFI (its interrupt is pending),
     * and is handled once they are unmasked: no frame waits for the next tick. */
    __asm volatile("cpsid i" ::: "memory");
    if (!lan9118_frame_waiting(&ethernet)) __asm volatile("wfi");
    __asm volatile("cpsie i" ::: "memory");
  }
}
