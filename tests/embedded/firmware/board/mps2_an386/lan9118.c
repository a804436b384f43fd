/* The LAN9118 driver (lan9118.h). The controller is programmed through 32-bit registers; the MAC's own
 * registers sit behind an indirect pair (MAC_CSR_CMD/MAC_CSR_DATA). A frame is sent by writing two command
 * words and then the frame's words into the TX data FIFO; one is received by popping its status word (its
 * length, FCS included) and then reading exactly that many bytes, rounded up to words, from the RX data FIFO.
 * Only registers QEMU's model implements are touched (it aborts on the others). */
#include "lan9118.h"

#include <string.h>

#include "lwip/etharp.h"
#include "lwip/pbuf.h"
#include "netif/ethernet.h"

/* ---- registers (byte offsets from the base) ---- */
#define RX_DATA_FIFO 0x00u
#define TX_DATA_FIFO 0x20u
#define RX_STATUS_FIFO 0x40u
#define TX_STATUS_FIFO 0x48u
#define ID_REV 0x50u
#define IRQ_CFG 0x54u
#define INT_STS 0x58u
#define INT_EN 0x5Cu
#define BYTE_TEST 0x64u
#define TX_CFG 0x70u
#define HW_CFG 0x74u
#define RX_FIFO_INF 0x7Cu
#define TX_FIFO_INF 0x80u
#define PMT_CTRL 0x84u
#define MAC_CSR_CMD 0xA4u
#define MAC_CSR_DATA 0xA8u

#define BYTE_TEST_VALUE 0x87654321u
#define HW_CFG_SRST 0x1u
#define PMT_CTRL_READY 0x1u
#define TX_CFG_TX_ON 0x2u
#define IRQ_CFG_ENABLE_PUSH_PULL_HIGH 0x111u /* IRQ_EN | IRQ_POL (active high) | IRQ_TYPE (push-pull) */
#define INT_RSFL 0x8u                        /* receive status FIFO above its level (0: any frame) */
#define MAC_CSR_BUSY 0x80000000u
#define MAC_CSR_READ 0x40000000u
#define MAC_CR 1u
#define MAC_ADDRH 2u
#define MAC_ADDRL 3u
#define MAC_CR_FDPX 0x00100000u
#define MAC_CR_TXEN 0x8u
#define MAC_CR_RXEN 0x4u
#define TX_CMD_A_FIRST 0x2000u
#define TX_CMD_A_LAST 0x1000u
#define RX_STATUS_ERROR 0x8000u
#define FIFO_STATUS_COUNT(inf) (((inf) >> 16) & 0xFFu)

#define FCS_BYTES 4u
#define MAX_FRAME (1514u + FCS_BYTES)
#define POLL_LIMIT 100000u /* register polls before the driver gives up on the controller */

static volatile uint32_t *reg(uintptr_t base, uint32_t offset) { return (volatile uint32_t *)(base + offset); }
static uintptr_t base_of(const struct netif *netif) { return (uintptr_t)netif->state; }

/* Word buffers for the FIFOs: frames in pbufs are neither word-aligned nor contiguous. */
static uint32_t frame_words[(MAX_FRAME + 3u) / 4u];

static int mac_csr_wait(uintptr_t base) {
  for (uint32_t i = 0; i < POLL_LIMIT; ++i)
    if ((*reg(base, MAC_CSR_CMD) & MAC_CSR_BUSY) == 0) return 1;
  return 0;
}

static uint32_t mac_read(uintptr_t base, uint32_t index) {
  *reg(base, MAC_CSR_CMD) = MAC_CSR_BUSY | MAC_CSR_READ | index;
  mac_csr_wait(base);
  return *reg(base, MAC_CSR_DATA);
}

static void mac_write(uintptr_t base, uint32_t index, uint32_t value) {
  *reg(base, MAC_CSR_DATA) = value;
  *reg(base, MAC_CSR_CMD) = MAC_CSR_BUSY | index;
  mac_csr_wait(base);
}

static err_t lan9118_output(struct netif *netif, struct pbuf *p) {
  const uintptr_t base = base_of(netif);
  const uint32_t length = p->tot_len;
  if (length > MAX_FRAME - FCS_BYTES) return ERR_BUF;
  const uint32_t words = (length + 3u) / 4u;
  uint32_t i = 0;
  while ((*reg(base, TX_FIFO_INF) & 0xFFFFu) < words * 4u + 8u)  /* room for the frame and its commands */
    if (++i == POLL_LIMIT) return ERR_IF;
  pbuf_copy_partial(p, frame_words, (u16_t)length, 0);
  *reg(base, TX_DATA_FIFO) = TX_CMD_A_FIRST | TX_CMD_A_LAST | length;
  *reg(base, TX_DATA_FIFO) = (length << 16) | length; /* the tag (the status word names it) and the length */
  for (i = 0; i < words; ++i) *reg(base, TX_DATA_FIFO) = frame_words[i];
  while (FIFO_STATUS_COUNT(*reg(base, TX_FIFO_INF)) != 0) (void)*reg(base, TX_STATUS_FIFO); /* not kept */
  return ERR_OK;
}

int lan9118_frame_waiting(const struct netif *netif) {
  return FIFO_STATUS_COUNT(*reg(base_of(netif), RX_FIFO_INF)) != 0;
}

int lan9118_receive(struct netif *netif) {
  const uintptr_t base = base_of(netif);
  const uint32_t frames = FIFO_STATUS_COUNT(*reg(base, RX_FIFO_INF));
  for (uint32_t f = 0; f < frames; ++f) {
    const uint32_t status = *reg(base, RX_STATUS_FIFO);
    const uint32_t length = (status >> 16) & 0x3FFFu;
    const uint32_t words = (length + 3u) / 4u;
    const int keep = (status & RX_STATUS_ERROR) == 0 && length > FCS_BYTES + 14u && length <= MAX_FRAME;
    for (uint32_t i = 0; i < words; ++i) { /* all of it, always, so the FIFO stays in step */
      const uint32_t word = *reg(base, RX_DATA_FIFO);
      if (keep) frame_words[i] = word;
    }
    if (!keep) continue;
    struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)(length - FCS_BYTES), PBUF_POOL);
    if (p == NULL) continue; /* out of buffers: dropped, as a full FIFO would; TCP resends */
    pbuf_take(p, frame_words, (u16_t)(length - FCS_BYTES));
    if (netif->input(p, netif) != ERR_OK) pbuf_free(p);
  }
  return (int)frames;
}

void lan9118_acknowledge(uintptr_t base) { *reg(base, INT_STS) = INT_RSFL; }

err_t lan9118_netif_init(struct netif *netif) {
  const uintptr_t base = base_of(netif);
  if (*reg(base, BYTE_TEST) != BYTE_TEST_VALUE || (*reg(base, ID_REV) >> 16) != 0x0118u) return ERR_IF;
  *reg(base, HW_CFG) = HW_CFG_SRST;
  uint32_t i = 0;
  while ((*reg(base, HW_CFG) & HW_CFG_SRST) != 0 || (*reg(base, PMT_CTRL) & PMT_CTRL_READY) == 0)
    if (++i == POLL_LIMIT) return ERR_IF;
  if (!mac_csr_wait(base)) return ERR_IF;

  const uint32_t low = mac_read(base, MAC_ADDRL), high = mac_read(base, MAC_ADDRH);
  const uint8_t mac[6] = {(uint8_t)low, (uint8_t)(low >> 8), (uint8_t)(low >> 16), (uint8_t)(low >> 24),
                          (uint8_t)high, (uint8_t)(high >> 8)};
  memcpy(netif->hwaddr, mac, sizeof mac);
  netif->hwaddr_len = sizeof mac;
  netif->name[0] = 'e';
  netif->name[1] = '0';
  netif->mtu = 1500;
  netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_LINK_UP;
  netif->output = etharp_output;
  netif->linkoutput = lan9118_output;

  *reg(base, TX_CFG) = TX_CFG_TX_ON;
  /* Full duplex, transmit and receive; the address filter (no promiscuous mode) passes our MAC and broadcast. */
  mac_write(base, MAC_CR, MAC_CR_FDPX | MAC_CR_TXEN | MAC_CR_RXEN);
  *reg(base, INT_STS) = 0xFFFFFFFFu;
  *reg(base, INT_EN) = INT_RSFL;
  *reg(base, IRQ_CFG) = IRQ_CFG_ENABLE_PUSH_PULL_HIGH; /* otherwise the line idles asserted */
  return ERR_OK;
}
