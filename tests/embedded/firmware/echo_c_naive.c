/* The naive reference, kept to measure what it costs: the seed's echo server in plain C on lwIP's raw API as a
 * simple C server writes it, refusing received data with ERR_MEM while tcp_sndbuf is short (lwIP keeps the
 * refused pbuf and offers it again later). Under bulk load lwIP 2.1.3 then drops the following segments, with
 * the acknowledgements that would have freed the send buffer, and only retransmission timeouts make progress:
 * transfers stall for seconds. echo_c.c is the careful version; docs/board.md has the measurements. */
#include "board.h"

#include "lwip/tcp.h"

static err_t echo_sent(void *arg, struct tcp_pcb *pcb, u16_t len);

static err_t echo_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err) {
  (void)arg;
  if (err != ERR_OK || p == NULL) { /* the peer closed */
    if (p) pbuf_free(p);
    tcp_arg(pcb, NULL);
    tcp_recv(pcb, NULL);
    tcp_sent(pcb, NULL);
    tcp_err(pcb, NULL);
    if (tcp_close(pcb) != ERR_OK) {
      tcp_abort(pcb);
      return ERR_ABRT;
    }
    return ERR_OK;
  }
  if (tcp_sndbuf(pcb) < p->tot_len) return ERR_MEM; /* offered again later */
  for (struct pbuf *q = p; q; q = q->next) {
    if (tcp_write(pcb, q->payload, q->len, TCP_WRITE_FLAG_COPY) != ERR_OK) {
      tcp_abort(pcb);
      pbuf_free(p);
      return ERR_ABRT;
    }
  }
  tcp_output(pcb);
  tcp_recved(pcb, p->tot_len);
  pbuf_free(p);
  return ERR_OK;
}

static err_t echo_sent(void *arg, struct tcp_pcb *pcb, u16_t len) {
  (void)arg;
  (void)pcb;
  (void)len;
  return ERR_OK;
}

static void echo_err(void *arg, err_t err) {
  (void)arg;
  (void)err;
}

static err_t echo_accept(void *arg, struct tcp_pcb *pcb, err_t err) {
  (void)arg;
  if (err != ERR_OK || pcb == NULL) return ERR_VAL;
  tcp_recv(pcb, echo_recv);
  tcp_sent(pcb, echo_sent);
  tcp_err(pcb, echo_err);
  return ERR_OK;
}

int main(void) {
  board_init();
  struct tcp_pcb *pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
  if (!pcb) board_fatal();
  ip_set_option(pcb, SOF_REUSEADDR);
  if (tcp_bind(pcb, IP4_ADDR_ANY, 9000) != ERR_OK) board_fatal();
  struct tcp_pcb *listener = tcp_listen_with_backlog(pcb, 1);
  if (!listener) board_fatal();
  tcp_accept(listener, echo_accept);
  for (;;) board_poll(NULL, -1);
}
