/*
 * client_conn.h: the client's connection to parleyd: TCP, TLS 1.3 with the server pinned,
 * the wire protocol's Hello, requests with their responses, and pushes.
 *
 * Blocking, with a deadline on every wait. Pushes that arrive while a request waits for its
 * Response are queued in arrival order and handed out by pl_cconn_next_push(). Server
 * frames are decoded and validated (pl_frame_decode_server), so a frame the server should
 * never send is an error (PL_CLIENT_E_PROTOCOL).
 *
 * Pinning: with a CA file the server must present a certificate that chains to it (and
 * names the host); without one, any certificate completes the handshake and its SHA-256
 * fingerprint must equal `pin` (trust on first use: an empty pin accepts it, and the caller
 * stores the fingerprint it gets back). A mismatch is PL_CLIENT_E_CERT and nothing is sent.
 */
#ifndef PARLEY_CLIENT_CONN_H
#define PARLEY_CLIENT_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "parley.pb-c.h"
#include "tls_conn.h"

#define PL_CCONN_TIMEOUT_MS 10000u

typedef struct pl_cconn pl_cconn;

/*
 * Connects to server ("host:port", host a name or an IPv4/[IPv6] literal), completes TLS and
 * the Hello. ca_file: trust exactly the certificates in it (may be NULL); pin: the expected
 * fingerprint when ca_file is NULL ("" or NULL: accept and report). fingerprint_out (may be
 * NULL) gets the server's certificate fingerprint. Returns PL_CLIENT_OK and *out, or
 * E_UNREACHABLE (resolve, connect, handshake or Hello failed), E_CERT, E_PROTOCOL, with err.
 */
int pl_cconn_open(pl_cconn **out, const char *server, const char *ca_file, const char *pin,
                  char fingerprint_out[PL_TLS_FINGERPRINT_BYTES], char *err, size_t err_len);

/* Sends close_notify (best effort) and frees c; NULL allowed. */
void pl_cconn_close(pl_cconn *c);

/*
 * Sends req (its id set here) and waits up to timeout_ms for its Response, queueing pushes.
 * Returns PL_CLIENT_OK with *out the ServerFrame holding the Response (free with
 * pl_frame_server_free), or E_UNREACHABLE (the connection ended or timed out), E_PROTOCOL
 * (an invalid frame, a Goodbye: the error says which status).
 */
int pl_cconn_request(pl_cconn *c, Parley__Request *req, Parley__ServerFrame **out,
                     unsigned timeout_ms);

/*
 * Pipelining (attachments, client_attach.c): pl_cconn_send sends req (its id set here) without
 * waiting; pl_cconn_await waits up to timeout_ms for the Response to request id, queueing
 * pushes. The server answers a connection's requests in the order it received them, so the
 * caller awaits its ids in the order it sent them: any other Response is E_PROTOCOL (and the
 * connection is then of no further use). Errors as pl_cconn_request.
 */
int pl_cconn_send(pl_cconn *c, Parley__Request *req, unsigned timeout_ms);
int pl_cconn_await(pl_cconn *c, uint64_t id, Parley__ServerFrame **out, unsigned timeout_ms);

/* The next Push (queued first), waiting up to timeout_ms. PL_CLIENT_OK and *out, or
 * E_TIMEOUT (none came), E_UNREACHABLE, E_PROTOCOL. */
int pl_cconn_next_push(pl_cconn *c, Parley__ServerFrame **out, unsigned timeout_ms);

/* The connection's TLS exporter for device authentication (PROTOCOL.md §11.6). */
int pl_cconn_exporter(pl_cconn *c, uint8_t out[PL_TLS_EXPORTER_BYTES]);

/* The Goodbye status received, or -1. */
int pl_cconn_goodbye(const pl_cconn *c);

/* One line about the last error. */
const char *pl_cconn_error(const pl_cconn *c);

#endif
