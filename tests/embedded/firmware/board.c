/* The echo firmware's board: startup, SysTick, and a stub Ethernet MAC driving one lwIP interface. */
#include "board.h"

#include <string.h>

#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/timeouts.h"
#include "netif/ethernet.h"

/* ---- memory-mapped registers (ARMv7-M system control space) ---- */
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define CPACR (*(volatile uint32_t *)0xE000ED88u)
#define CORE_CLOCK_HZ 168000000u

/* ---- the stub MAC: one receive and one transmit descriptor in RAM ---- */
struct mac_descriptor {
  volatile uint32_t owned_by_dma;
  volatile uint32_t length;
  uint8_t frame[1536];
};
static struct mac_descriptor rx_descriptor, tx_descriptor;

static volatile uint32_t milliseconds;
static struct netif ethernet;

u32_t sys_now(void) { return milliseconds; }

void SysTick_Handler(void) { ++milliseconds; }

void board_fatal(void) {
  for (;;) __asm volatile("bkpt #0");
}

static err_t mac_output(struct netif *netif, struct pbuf *p) {
  (void)netif;
  while (tx_descriptor.owned_by_dma) {
  }
  tx_descriptor.length = pbuf_copy_partial(p, tx_descriptor.frame, sizeof tx_descriptor.frame, 0);
  tx_descriptor.owned_by_dma = 1;
  return ERR_OK;
}

static err_t mac_init(struct netif *netif) {
  static const uint8_t mac[6] = {0x02, 0x00, 0x5e, 0x00, 0x53, 0x14};
  netif->name[0] = 'e';
  netif->name[1] = '0';
  netif->mtu = 1500;
  netif->hwaddr_len = 6;
  memcpy(netif->hwaddr, mac, 6);
  netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_LINK_UP;
  netif->output = etharp_output;
  netif->linkoutput = mac_output;
  return ERR_OK;
}

void board_init(void) {
  SYST_RVR = CORE_CLOCK_HZ / 1000u - 1u;
  SYST_CVR = 0;
  SYST_CSR = 7; /* processor clock, interrupt, enable */
  lwip_init();
  ip4_addr_t ip, mask, gateway;
  IP4_ADDR(&ip, 192, 168, 1, 20);
  IP4_ADDR(&mask, 255, 255, 255, 0);
  IP4_ADDR(&gateway, 192, 168, 1, 1);
  netif_add(&ethernet, &ip, &mask, &gateway, NULL, mac_init, ethernet_input);
  netif_set_default(&ethernet);
  netif_set_up(&ethernet);
}

void board_poll(void *context, int32_t max_wait_ms) {
  (void)context;
  int idle = 1;
  if (rx_descriptor.owned_by_dma == 0 && rx_descriptor.length != 0) {
    struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)rx_descriptor.length, PBUF_POOL);
    if (p) {
      pbuf_take(p, rx_descriptor.frame, (u16_t)rx_descriptor.length);
      if (ethernet.input(p, &ethernet) != ERR_OK) pbuf_free(p);
    }
    rx_descriptor.length = 0;
    rx_descriptor.owned_by_dma = 1;
    idle = 0;
  }
  sys_check_timeouts();
  if (idle && max_wait_ms != 0) __asm volatile("wfi"); /* the next tick or frame wakes us */
}

/* ---- startup ---- */
extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
extern void __libc_init_array(void);
int main(void);

void Reset_Handler(void) {
  CPACR |= 0xFu << 20; /* the FPU: code built for -mfloat-abi=hard may use it */
  for (uint32_t *src = &_sidata, *dst = &_sdata; dst < &_edata;) *dst++ = *src++;
  for (uint32_t *dst = &_sbss; dst < &_ebss;) *dst++ = 0;
  __libc_init_array();
  main();
  board_fatal();
}

static void Default_Handler(void) { board_fatal(); }
void *__dso_handle = 0; /* no shared objects here: what static destructors are registered against */
void _init(void) {}
void _fini(void) {}

/* The vector table: initial stack, reset, the ARMv7-M exceptions, SysTick (no peripheral interrupts used). */
__attribute__((section(".isr_vector"), used)) void (*const vector_table[16])(void) = {
    (void (*)(void))(&_estack), Reset_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, 0, 0, 0, 0, Default_Handler, Default_Handler, 0, Default_Handler,
    SysTick_Handler,
};
