/* The reference: the seed's echo server written in plain C directly on lwIP's raw TCP API, as a careful C
 * programmer writes it. Received data waits in the connection's queue until lwIP's send buffer takes it, and the
 * window is opened (tcp_recved) only for bytes handed on to tcp_write, so a slow peer closes the window instead
 * of filling memory. The naive way, refusing data with ERR_MEM while the send buffer is short (echo_c_naive.c),
 * stalls under bulk load: lwIP 2.1.3 then drops the segments that carry the acknowledgements it waits for. */
#include "board.h"

#include "lwip/tcp.h"

#define ECHO_PORT 9000
#define ECHO_CONNECTIONS 4      /* served at once; a fifth is reset */
#define ECHO_POLL_INTERVAL 2    /* lwIP's coarse timer ticks (500 ms): retries of an output or close */

struct echo_connection {
  struct tcp_pcb *pcb; /* NULL: the slot is free */
  struct pbuf *unsent; /* received, not yet handed to tcp_write */
  int peer_closed;     /* the peer's FIN came: close once everything is handed on */
};

static struct echo_connection connections[ECHO_CONNECTIONS];

static err_t echo_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err);
static err_t echo_sent(void *arg, struct tcp_pcb *pcb, u16_t len);
static err_t echo_poll(void *arg, struct tcp_pcb *pcb);
static void echo_err(void *arg, err_t err);

static void echo_set_callbacks(struct tcp_pcb *pcb, struct echo_connection *c) {
  tcp_arg(pcb, c);
  tcp_recv(pcb, c ? echo_recv : NULL);
  tcp_sent(pcb, c ? echo_sent : NULL);
  tcp_err(pcb, c ? echo_err : NULL);
  tcp_poll(pcb, c ? echo_poll : NULL, ECHO_POLL_INTERVAL);
}

static void echo_release(struct echo_connection *c) {
  if (c->unsent) pbuf_free(c->unsent);
  c->unsent = NULL;
  c->pcb = NULL;
  c->peer_closed = 0;
}

static err_t echo_abort(struct echo_connection *c) {
  struct tcp_pcb *pcb = c->pcb;
  echo_set_callbacks(pcb, NULL);
  echo_release(c);
  tcp_abort(pcb);
  return ERR_ABRT; /* what a callback that aborted its pcb must return */
}

/* Hands lwIP as much of the queue as its send buffer takes, opening the window by as much; closes once the
 * peer has closed and nothing is left. */
static err_t echo_flush(struct echo_connection *c) {
  while (c->unsent != NULL) {
    u16_t n = c->unsent->len;
    if (n > tcp_sndbuf(c->pcb)) n = tcp_sndbuf(c->pcb);
    if (n == 0) break; /* the sent callback comes back when the peer acknowledges */
    const err_t err = tcp_write(c->pcb, c->unsent->payload, n, TCP_WRITE_FLAG_COPY);
    if (err == ERR_MEM) break; /* the segment queue is full: again from the sent or poll callback */
    if (err != ERR_OK) return echo_abort(c);
    c->unsent = pbuf_free_header(c->unsent, n);
    tcp_recved(c->pcb, n);
  }
  tcp_output(c->pcb);
  if (c->unsent == NULL && c->peer_closed) {
    struct tcp_pcb *pcb = c->pcb;
    echo_set_callbacks(pcb, NULL);
    if (tcp_close(pcb) != ERR_OK) {
      echo_set_callbacks(pcb, c); /* no memory for the FIN now: the poll callback tries again */
      return ERR_OK;
    }
    echo_release(c);
  }
  return ERR_OK;
}

static err_t echo_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err) {
  struct echo_connection *c = arg;
  (void)pcb;
  if (err != ERR_OK) {
    if (p) pbuf_free(p);
    return echo_abort(c);
  }
  if (p == NULL)
    c->peer_closed = 1;
  else if (c->unsent == NULL)
    c->unsent = p;
  else
    pbuf_cat(c->unsent, p); /* bounded by the window: only what was handed on reopens it */
  return echo_flush(c);
}

static err_t echo_sent(void *arg, struct tcp_pcb *pcb, u16_t len) {
  (void)pcb;
  (void)len;
  return echo_flush(arg);
}

static err_t echo_poll(void *arg, struct tcp_pcb *pcb) {
  (void)pcb;
  return echo_flush(arg);
}

static void echo_err(void *arg, err_t err) { /* lwIP has freed the pcb (a reset, or it gave up) */
  (void)err;
  echo_release(arg);
}

static err_t echo_accept(void *arg, struct tcp_pcb *pcb, err_t err) {
  (void)arg;
  if (err != ERR_OK || pcb == NULL) return ERR_VAL;
  for (int i = 0; i < ECHO_CONNECTIONS; ++i) {
    if (connections[i].pcb == NULL) {
      connections[i].pcb = pcb;
      echo_set_callbacks(pcb, &connections[i]);
      return ERR_OK;
    }
  }
  tcp_abort(pcb); /* every slot busy */
  return ERR_ABRT;
}

int main(void) {
  board_init();
  struct tcp_pcb *pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
  if (!pcb) board_fatal();
  ip_set_option(pcb, SOF_REUSEADDR);
  if (tcp_bind(pcb, IP4_ADDR_ANY, ECHO_PORT) != ERR_OK) board_fatal();
  struct tcp_pcb *listener = tcp_listen_with_backlog(pcb, ECHO_CONNECTIONS);
  if (!listener) board_fatal();
  tcp_accept(listener, echo_accept);
  for (;;) board_poll(NULL, -1);
}
