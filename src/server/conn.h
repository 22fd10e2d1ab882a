/*
 * conn.h: one client connection of parleyd: socket, TLS, frames, and its state machine.
 *
 * States (docs/PROTOCOL.md §11.2, §11.6):
 *
 *   HELLO   TLS handshake, then waiting for the client's Hello (10 s).
 *   OPEN    Hello answered; requests are dispatched (handlers.h). Authentication is a flag
 *           inside OPEN, not a state: before it only the pre-authentication requests pass.
 *   CLOSING a Goodbye or close_notify is queued: nothing more is read or dispatched; the
 *           connection closes once its output is flushed (or after 5 s).
 *   CLOSED  the socket is closing; the struct lives until the last job referring to it
 *           comes back (refs), then it is freed.
 *
 * Order: responses go out in request order although some requests finish on the store
 * worker: each request takes a slot in a FIFO of replies (pl_conn_reply_reserve), filled
 * when its result is known (pl_conn_reply_finish); the FIFO is flushed from its head as far
 * as slots are filled. Pushes are not ordered against responses.
 *
 * Backpressure, so no client can grow the server's memory or stall others: reading stops
 * while the TLS output queued for the client is above half its bound or the client has too
 * many requests in flight, and resumes when they drain; pushes to a client whose output is
 * above the threshold are not sent but fetched again from its mailbox once it drains; a
 * client whose queued output makes no progress for write_timeout is closed as a slow reader.
 *
 * Memory per idle connection: this struct (under 1 KiB), libuv's handle, and OpenSSL's SSL
 * (buffers released when idle, SSL_MODE_RELEASE_BUFFERS); read buffers are shared by all
 * connections (one loop thread), and a frame buffer exists only while a frame is partial.
 */
#ifndef PARLEYD_CONN_H
#define PARLEYD_CONN_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "frame.h"
#include "parley/defs.h"
#include "tls_conn.h"
#include "username.h"

typedef struct pl_server pl_server;
typedef struct pl_conn pl_conn;

typedef enum pl_conn_state {
    PL_CONN_HELLO,
    PL_CONN_OPEN,
    PL_CONN_CLOSING,
    PL_CONN_CLOSED,
} pl_conn_state;

/* A request that arrived while an AuthProof was being checked: it runs once the proof is
 * decided, in arrival order (so a client may pipeline requests behind its proof). */
typedef struct pl_deferred {
    struct pl_deferred *next;
    Parley__ClientFrame *frame;
    size_t frame_bytes;
    struct pl_reply *slot;
} pl_deferred;

/* One response slot in the reply FIFO. */
typedef struct pl_reply {
    struct pl_reply *next;
    uint8_t *frame; /* encoded ServerFrame with its length prefix; NULL until finished */
    size_t len;
    int ready;
} pl_reply;

struct pl_conn {
    uv_tcp_t tcp; /* first: the handle's data points back here too */
    pl_server *srv;
    uint64_t id; /* for logs: "conn=17" */
    char peer[64];
    uint8_t peer_ip[16]; /* IPv4-mapped or IPv6, for per-address limits */
    pl_conn_state state;
    int refs;       /* the socket (1 until closed) + jobs in flight */
    int over_limit; /* admitted past max_connections: answered SERVER_BUSY after Hello */

    pl_tls_conn *tls;
    pl_frame_reader *reader;

    /* Authentication (PROTOCOL.md §11.6). */
    int authenticated;
    char username[PL_USERNAME_MAX + 1];
    uint32_t device_id;
    uint8_t identity_key[PL_PUBKEY_BYTES];
    int has_challenge;
    uint8_t challenge[32];
    uint64_t challenge_expires_ns;
    int auth_failures;
    int auth_pending; /* a proof is being checked: requests wait in `deferred` */
    pl_deferred *deferred_head, *deferred_tail;
    pl_conn *registry_next;

    /* Rate limits: token buckets of frames, one for BlobPut/BlobGet and one for the rest. */
    double tokens;
    uint64_t tokens_at_ns;
    double blob_tokens;
    uint64_t blob_tokens_at_ns;

    /* Replies, in request order. */
    pl_reply *reply_head, *reply_tail;
    uint32_t requests_in_flight;
    size_t request_bytes_in_flight;

    /* Frames waiting to be encrypted at the end of this loop iteration. */
    uint8_t *staged;
    size_t staged_len, staged_cap;
    int flush_queued;
    pl_conn *flush_next;

    /* Socket output: one uv_write at a time, from a copy of TLS's pending bytes. */
    uv_write_t write_req;
    uint8_t *write_buf;
    size_t write_len;
    int reading; /* uv_read_start is on */

    uint64_t last_input_ns;
    uint64_t output_stuck_since_ns; /* 0 while output drains */
    uint64_t closing_since_ns;

    /* Mailbox delivery (handle_mailbox.c). */
    uint64_t last_pushed_seq;
    int backlog_running; /* a mailbox fetch job is in flight */
    int backlog_pending; /* envelopes may be waiting in the store: fetch when there is room */
    int queue_empty_sent;

    int kt_watch; /* KtWatch: newly signed checkpoints are pushed (handle_kt.c) */

    pl_conn *prev, *next; /* the server's list of connections */
};

/* Accepts a connection from srv's listener and starts its TLS handshake. Returns 0 or a uv
 * error (the pending connection is then refused). */
int pl_conn_accept(pl_server *srv, uv_stream_t *listener, int over_limit);

/* Takes / drops a reference held by a job; the last drop of a closed connection frees it. */
void pl_conn_ref(pl_conn *c);
void pl_conn_unref(pl_conn *c);

/* 1 while the connection may still send and receive (HELLO or OPEN). */
int pl_conn_alive(const pl_conn *c);

/* ---- Replies and pushes (loop thread) ----------------------------------------------------- */

/* Reserves the next reply slot; NULL on allocation failure (the connection is then closed
 * with STATUS_INTERNAL). */
pl_reply *pl_conn_reply_reserve(pl_conn *c);

/* Fills slot with a Response {id, status, body}: body may be NULL (an error); its case is
 * body_case. Then flushes the FIFO as far as it is ready. The slot belongs to c. */
void pl_conn_reply_finish(pl_conn *c, pl_reply *slot, Parley__Response *resp);

/* Convenience: a Response with only a status (code and message) in slot. */
void pl_conn_reply_status(pl_conn *c, pl_reply *slot, uint64_t id, Parley__StatusCode code,
                          const char *message);

/* Sends a Push now. Returns 0, or -1 if the frame could not be queued (the connection is
 * then closing). */
int pl_conn_push(pl_conn *c, Parley__Push *push);

/* Bytes queued towards the client (TLS pending output plus the write in flight). */
size_t pl_conn_output_queued(const pl_conn *c);

/* 1 if pushes may go out now without passing the output threshold. */
int pl_conn_has_room(const pl_conn *c);

/* Sends Goodbye{code, message}, logs one line, and closes once flushed. */
void pl_conn_goodbye(pl_conn *c, Parley__StatusCode code, const char *message);

/* Closes without a Goodbye (TLS close_notify if possible). reason is for the log line. */
void pl_conn_close(pl_conn *c, const char *reason);

/* Encrypts and writes what every connection staged in this loop iteration (the server's
 * check handle calls it). */
void pl_conn_flush_all(pl_server *srv);

/* Periodic check (server's sweep timer): hello, idle, slow-reader and closing timeouts. */
void pl_conn_sweep(pl_conn *c, uint64_t now_ns);

/* Stops reading (server drain). */
void pl_conn_stop_reading(pl_conn *c);

/* Called when requests in flight or queued output went down: resumes reading and pending
 * mailbox delivery if there is room. */
void pl_conn_on_drain(pl_conn *c);

#endif
