/*
 * audit_conn.h: the auditor's connection to parleyd: TCP, TLS 1.3 with the server pinned,
 * the wire protocol's Hello, requests with their responses, and KtWatch pushes.
 *
 * Blocking, with a deadline on every wait; a stop flag (set by SIGTERM) ends any wait with
 * PL_AUDIT_CONN_E_INTERRUPTED. Memory is bounded: one frame of at most PL_FRAME_MAX_BYTES is
 * decoded at a time, and pushes are not queued: a Push.kt_checkpoint only raises a flag
 * ("something new was signed"), since the auditor fetches what it verifies itself
 * (KtCheckpointGet); other pushes are dropped. A server that floods pushes cannot grow the
 * auditor's memory.
 *
 * Pinning: with a CA file the server's certificate must chain to it and name the host; with a
 * pin, any certificate completes the handshake and its SHA-256 fingerprint must equal the pin
 * ("AB:CD:..." or 64 hex digits, any case), else PL_AUDIT_CONN_E_CERT and nothing is sent.
 */
#ifndef PARLEY_AUDIT_CONN_H
#define PARLEY_AUDIT_CONN_H

#include <signal.h>
#include <stddef.h>

#include "parley.pb-c.h"
#include "wire_conn.h"

#define PL_AUDIT_CONN_TIMEOUT_MS 15000u

/* The codes are wire_conn.h's, passed through unchanged. */
enum pl_audit_conn_code {
    PL_AUDIT_CONN_OK = PL_WIRE_OK,
    PL_AUDIT_CONN_E_NOMEM = PL_WIRE_E_NOMEM,
    /* a bad server address or pin */
    PL_AUDIT_CONN_E_USAGE = PL_WIRE_E_USAGE,
    /* resolve, connect, TLS, a closed or silent connection */
    PL_AUDIT_CONN_E_UNREACHABLE = PL_WIRE_E_UNREACHABLE,
    /* the certificate is not the pinned one */
    PL_AUDIT_CONN_E_CERT = PL_WIRE_E_CERT,
    /* an invalid frame, a Goodbye, an unexpected answer */
    PL_AUDIT_CONN_E_PROTOCOL = PL_WIRE_E_PROTOCOL,
    /* pl_audit_conn_wait_push: nothing came */
    PL_AUDIT_CONN_E_TIMEOUT = PL_WIRE_E_TIMEOUT,
    /* the stop flag was raised */
    PL_AUDIT_CONN_E_INTERRUPTED = PL_WIRE_E_INTERRUPTED
};

typedef struct pl_audit_conn pl_audit_conn;

/*
 * Normalises a pin ("AB:CD:..:EF" or 64 hex digits, any case) to the "AB:CD:..." form of
 * pl_tls_conn_peer_fingerprint into out[96]. Returns 0, or -1 if it is not a SHA-256.
 */
int pl_audit_conn_normalise_pin(const char *pin, char out[96]);

/*
 * Connects to server ("host:port"), completes TLS and the Hello. Exactly one of ca_file and
 * pin is non-NULL. stop (may be NULL) is polled by every wait. Returns PL_AUDIT_CONN_OK and
 * *out, or an error with a sentence in err.
 */
int pl_audit_conn_open(pl_audit_conn **out, const char *server, const char *ca_file,
                       const char *pin, volatile sig_atomic_t *stop, char *err, size_t err_len);

/* Sends close_notify (best effort) and frees c; NULL allowed. */
void pl_audit_conn_close(pl_audit_conn *c);

/*
 * Sends req (its id set here) and waits up to timeout_ms for its Response. Returns
 * PL_AUDIT_CONN_OK with *out the ServerFrame holding the Response (free it with
 * pl_frame_server_free), or an error.
 */
int pl_audit_conn_request(pl_audit_conn *c, Parley__Request *req, Parley__ServerFrame **out,
                          unsigned timeout_ms);

/*
 * Waits up to timeout_ms for a Push.kt_checkpoint. Returns PL_AUDIT_CONN_OK (and clears the
 * flag) if one came since the last call, PL_AUDIT_CONN_E_TIMEOUT, or an error.
 */
int pl_audit_conn_wait_push(pl_audit_conn *c, unsigned timeout_ms);

/* One line about the last error. */
const char *pl_audit_conn_error(const pl_audit_conn *c);

#endif
