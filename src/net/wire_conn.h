/*
 * wire_conn.h: a blocking connection to parleyd that speaks the wire protocol: TCP, TLS 1.3
 * with the server pinned, the Hello, then whole frames in both directions. The client
 * (client_conn.c) and the auditor (audit_conn.c) build their request/response and push
 * handling on it; this layer knows nothing of requests, responses or pushes.
 *
 * Blocking, with a deadline on every wait (CLOCK_MONOTONIC milliseconds, pl_wire_mono_ms). An
 * optional stop flag (set by a signal handler) is polled at least every 250 ms and ends any
 * wait with PL_WIRE_E_INTERRUPTED. Memory is bounded: one frame of at most PL_FRAME_MAX_BYTES
 * is decoded at a time. Server frames are decoded and validated (pl_frame_decode_server), so a
 * frame the server should never send is PL_WIRE_E_PROTOCOL.
 *
 * Pinning: with a CA file the server must present a certificate that chains to it and names
 * the host; without one, any certificate completes the handshake and its SHA-256 fingerprint
 * (the "AB:CD:..." form of pl_tls_conn_peer_fingerprint) must equal pin; a NULL or empty pin
 * accepts it (trust on first use: the caller stores the fingerprint it gets back). A mismatch
 * is PL_WIRE_E_CERT and nothing is sent.
 */
#ifndef PARLEY_WIRE_CONN_H
#define PARLEY_WIRE_CONN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "parley.pb-c.h"
#include "tls_conn.h"

enum pl_wire_code {
    PL_WIRE_OK = 0,
    PL_WIRE_E_NOMEM = -1,
    PL_WIRE_E_USAGE = -2,       /* a bad server address; a frame too large to send */
    PL_WIRE_E_UNREACHABLE = -3, /* resolve, connect, TLS, a closed or silent connection */
    PL_WIRE_E_CERT = -4,        /* the certificate is not the trusted or pinned one */
    PL_WIRE_E_PROTOCOL = -5,    /* an invalid frame, a Goodbye, no answer to Hello */
    PL_WIRE_E_TIMEOUT = -6,     /* pl_wire_conn_read: no whole frame before the deadline */
    PL_WIRE_E_INTERRUPTED = -7  /* the stop flag was raised */
};

typedef struct pl_wire_conn pl_wire_conn;

typedef struct pl_wire_conn_options {
    const char *server;          /* "host:port", host a name or an IPv4/[IPv6] literal */
    const char *ca_file;         /* trust exactly the certificates in it; NULL: pin */
    const char *pin;             /* the expected fingerprint when ca_file is NULL; NULL or "" */
    const char *client_name;     /* Hello.client, e.g. "parley/0.1.0" */
    volatile sig_atomic_t *stop; /* may be NULL */
    unsigned timeout_ms;         /* for resolving, connecting, TLS and the Hello together */
} pl_wire_conn_options;

/* Milliseconds of CLOCK_MONOTONIC, the clock of every deadline here. */
uint64_t pl_wire_mono_ms(void);

/*
 * Connects, completes TLS and the Hello. fingerprint_out (may be NULL) gets the server's
 * certificate fingerprint. Returns PL_WIRE_OK and *out, or an error with a sentence in err
 * (*out NULL).
 */
int pl_wire_conn_open(pl_wire_conn **out, const pl_wire_conn_options *options,
                      char fingerprint_out[PL_TLS_FINGERPRINT_BYTES], char *err, size_t err_len);

/* Sends close_notify (best effort, even when stopping) and frees c; NULL allowed. */
void pl_wire_conn_close(pl_wire_conn *c);

/* Encodes and sends f, all of it written to the socket before deadline. */
int pl_wire_conn_send(pl_wire_conn *c, const Parley__ClientFrame *f, uint64_t deadline);

/*
 * The next frame of the stream, of any kind, waiting until deadline: PL_WIRE_OK and *out (free
 * it with pl_frame_server_free), or PL_WIRE_E_TIMEOUT (nothing whole came; the connection is
 * still usable), or another error. A Goodbye is returned like any frame and also recorded:
 * pl_wire_conn_goodbye gives its status and the error line says it.
 */
int pl_wire_conn_read(pl_wire_conn *c, Parley__ServerFrame **out, uint64_t deadline);

/* The id for the next request on this connection (1, 2, ...). */
uint64_t pl_wire_conn_next_request_id(pl_wire_conn *c);

/* The connection's TLS exporter for device authentication (PROTOCOL.md §11.6). */
int pl_wire_conn_exporter(pl_wire_conn *c, uint8_t out[PL_TLS_EXPORTER_BYTES]);

/* The status code of the Goodbye received, or -1. */
int pl_wire_conn_goodbye(const pl_wire_conn *c);

/* Sets the error line (for a caller's own failures on this connection) and returns code. */
int pl_wire_conn_fail(pl_wire_conn *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* One line about the last error. */
const char *pl_wire_conn_error(const pl_wire_conn *c);

#endif
