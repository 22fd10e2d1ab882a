/*
 * loadgen_conn.h: one client connection of the load generator, driven by a libuv loop.
 *
 * A uv_tcp_t carries TLS from parleyd's sans-I/O engine (tls_conn.h, client side); the
 * plaintext is cut into frames (frame.h) and each ServerFrame is decoded and handed to the
 * owner's on_frame callback. Frames the owner sends are encrypted at once and queued; the
 * queued bytes of every connection that has some are written once per loop iteration (a
 * uv_check and a uv_prepare handle), so that frames produced in one iteration leave in as
 * few writes as possible.
 *
 * Every connection of one lg_net lives on that net's loop and thread. Nothing here prints:
 * failures reach the owner through on_fail with a static or connection-held sentence, after
 * which the connection is closed and sends nothing more.
 */
#ifndef PARLEY_LOADGEN_CONN_H
#define PARLEY_LOADGEN_CONN_H

#include <stddef.h>
#include <stdint.h>

#include <netinet/in.h>
#include <uv.h>

#include "frame.h"
#include "tls_conn.h"

typedef struct lg_conn lg_conn;
typedef struct lg_net lg_net;

typedef struct lg_conn_cbs {
    void (*on_ready)(lg_conn *c);                                   /* TLS handshake done */
    void (*on_frame)(lg_conn *c, const Parley__ServerFrame *frame); /* one decoded frame */
    void (*on_fail)(lg_conn *c, const char *why);                   /* c is closed after it */
} lg_conn_cbs;

/* Shared by the connections of one loop. */
struct lg_net {
    uv_loop_t *loop;
    pl_tls_ctx *tls_ctx;
    struct sockaddr_in addr;
    const lg_conn_cbs *cbs;
    /* Called once per loop iteration before the queued output is written (acks batch). */
    void (*before_flush)(lg_net *net);
    void *user;
    uv_check_t check;
    uv_prepare_t prepare;
    lg_conn *dirty; /* connections with output to write, linked by next_dirty */
    uint8_t rbuf[64 * 1024];
    uint8_t pbuf[64 * 1024];
    uint8_t fbuf[4096];
    uint64_t bytes_out;
    uint64_t bytes_in;
};

/* Embedded in its owner; zero it before lg_conn_start(). */
struct lg_conn {
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    uv_write_t write_req;
    lg_net *net;
    pl_tls_conn *tls;
    pl_frame_reader *reader;
    uint8_t *wbuf; /* bytes of the write in flight, owned */
    lg_conn *next_dirty;
    int in_dirty;     /* on net->dirty */
    int writing;      /* a uv_write is in flight */
    int ready;        /* handshake done and on_ready called */
    int started;      /* tcp handle initialised: uv_close it at the end */
    int closed;       /* failed or closed: nothing more is sent or delivered */
    uint64_t next_id; /* next Request id */
    void *user;
};

/* Initialises net on loop (its handles start at once). Returns 0 or a libuv error. */
int lg_net_init(lg_net *net, uv_loop_t *loop, pl_tls_ctx *tls_ctx, const struct sockaddr_in *addr,
                const lg_conn_cbs *cbs);

/* Closes net's own handles (the connections are closed by their owners). */
void lg_net_close(lg_net *net);

/* Starts connecting c (zeroed, embedded in its owner) to net's address. Returns 0, or a
 * libuv error or -1 (TLS or memory) with nothing left to close but c->started handles. */
int lg_conn_start(lg_conn *c, lg_net *net, void *user);

/* Encodes f (kind set), encrypts it and queues it for the next flush. Returns 0, or -1 after
 * calling on_fail (the connection is then closed). */
int lg_conn_send(lg_conn *c, const Parley__ClientFrame *f);

/* Sends Request {id = next id, body}: req's id is set here. Returns as lg_conn_send(). */
int lg_conn_request(lg_conn *c, Parley__Request *req);

/* Closes c's socket (if open) and frees its engines; idempotent. The owner's memory must
 * stay until the loop has run the close (uv_run once more). */
void lg_conn_close(lg_conn *c);

#endif
