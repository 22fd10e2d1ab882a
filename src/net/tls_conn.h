/*
 * tls_conn.h: one TLS 1.3 connection as a sans-I/O engine.
 *
 * The connection never touches a socket. Its driver (parleyd's libuv callbacks, or a test
 * shuttling bytes between two engines) moves bytes:
 *
 *   socket bytes in   -> pl_tls_conn_feed()            (ciphertext from the peer)
 *   plaintext out     <- pl_tls_conn_read()            until PL_TLS_E_AGAIN
 *   plaintext in      -> pl_tls_conn_write()           (queued, encrypted at once)
 *   socket bytes out  <- pl_tls_conn_pending_output()  then pl_tls_conn_consume_output(n)
 *                                                      for the n bytes the socket took
 *
 * After every feed, read, write or close the driver should look at the pending output:
 * the handshake, alerts and close_notify appear there too.
 *
 * Both buffers are bounded, so a peer that stops reading (or sends faster than the
 * application reads) cannot grow memory: pl_tls_conn_write() returns PL_TLS_E_OUTPUT_FULL
 * when the ciphertext queued for the socket would pass the output bound (the server then
 * closes that connection), and pl_tls_conn_feed() returns PL_TLS_E_INPUT_FULL when more
 * than PL_TLS_MAX_INPUT_BYTES of undecrypted input would be buffered (read plaintext
 * first, and stop reading the socket meanwhile).
 *
 * Errors are PL_TLS_* codes (tls_cert.h). A fatal one (PL_TLS_E_HANDSHAKE,
 * PL_TLS_E_PROTOCOL) is sticky: every later call returns it. Flush the pending output (it
 * may hold an alert for the peer), then close the socket and free the connection.
 *
 * Device authentication binds a signature to this connection with the RFC 8446 §7.5
 * exporter: pl_tls_conn_exporter() gives both ends the same 32 bytes, unique to the
 * connection. Nothing here logs or prints, and no key material leaves OpenSSL except that
 * exporter value, which the caller owns.
 *
 * A connection is used from one thread at a time.
 */
#ifndef PARLEYD_TLS_CONN_H
#define PARLEYD_TLS_CONN_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "tls_cert.h"
#include "tls_ctx.h"

/* RFC 8446 §7.5 exporter label for device authentication; the context is empty. */
#define PL_TLS_EXPORTER_LABEL "EXPORTER-parley-auth"
#define PL_TLS_EXPORTER_BYTES 32

/* Default bound on ciphertext queued for the socket; see pl_tls_conn_set_output_bound(). */
#define PL_TLS_DEFAULT_OUTPUT_BOUND (512 * 1024)
/* Smallest bound pl_tls_conn_set_output_bound() accepts: one full record fits. */
#define PL_TLS_MIN_OUTPUT_BOUND (17 * 1024)
/* Bound on fed ciphertext not yet decrypted. */
#define PL_TLS_MAX_INPUT_BYTES (256 * 1024)

typedef struct pl_tls_conn pl_tls_conn;

/*
 * Creates a server-side connection from ctx's current SSL_CTX (it keeps that SSL_CTX alive
 * across reloads; ctx itself may be freed before the connection). *out is set to NULL
 * first and owned by the caller. Returns PL_TLS_OK, PL_TLS_E_INVALID_ARG (ctx is a client
 * holder), PL_TLS_E_CRYPTO or PL_TLS_E_NOMEM.
 */
int pl_tls_conn_new(pl_tls_conn **out, pl_tls_ctx *ctx);

/*
 * Creates a client-side connection (for tests, the test client and the load generator)
 * from a client holder. server_name is checked against the certificate's subjectAltNames
 * (a DNS name, sent as SNI, or an IP literal); NULL skips the name check, leaving only the
 * trust in ctx's certificate file. The ClientHello is queued at once: send the pending
 * output. Returns as pl_tls_conn_new(), PL_TLS_E_INVALID_ARG also for a server holder.
 */
int pl_tls_conn_new_client(pl_tls_conn **out, pl_tls_ctx *ctx, const char *server_name);

/* Frees conn (NULL allowed) and drops its reference to its SSL_CTX. Sends nothing: call
 * pl_tls_conn_close() and flush first for an orderly close. */
void pl_tls_conn_free(pl_tls_conn *conn);

/*
 * Sets the output bound in bytes (at least PL_TLS_MIN_OUTPUT_BOUND; smaller values are
 * raised to it). Default PL_TLS_DEFAULT_OUTPUT_BOUND.
 */
void pl_tls_conn_set_output_bound(pl_tls_conn *conn, size_t bound);

/*
 * Hands the engine len bytes read from the socket (copied) and, during the handshake,
 * advances it. Returns PL_TLS_OK; PL_TLS_E_INPUT_FULL (nothing taken: read plaintext
 * first); PL_TLS_E_HANDSHAKE (fatal: the peer is not a TLS 1.3 client we accept, or its
 * messages are malformed; an alert may be pending); PL_TLS_E_CLOSED if the peer already
 * sent close_notify (the bytes are ignored); or the connection's sticky fatal error.
 */
int pl_tls_conn_feed(pl_tls_conn *conn, const uint8_t *ciphertext, size_t len);

/*
 * Decrypts up to cap bytes of plaintext into out and sets *n (0 on any failure). Returns
 * PL_TLS_OK (*n > 0); PL_TLS_E_AGAIN (nothing yet: feed more, also while the handshake is
 * incomplete); PL_TLS_E_CLOSED (the peer sent close_notify: answer with
 * pl_tls_conn_close()); PL_TLS_E_PROTOCOL (fatal); PL_TLS_E_OUTPUT_FULL (fatal: a
 * post-handshake reply would pass the bound); PL_TLS_E_INVALID_ARG if cap is 0.
 */
int pl_tls_conn_read(pl_tls_conn *conn, uint8_t *out, size_t cap, size_t *n);

/*
 * Encrypts len bytes of plaintext and queues the records as pending output; all or
 * nothing. Returns PL_TLS_OK; PL_TLS_E_OUTPUT_FULL if the queued output would pass the
 * output bound (nothing is queued; the server closes such a connection); PL_TLS_E_STATE
 * before the handshake is done; PL_TLS_E_CLOSED after either side sent close_notify; or
 * the sticky fatal error.
 */
int pl_tls_conn_write(pl_tls_conn *conn, const uint8_t *plaintext, size_t len);

/*
 * Points *p at the bytes to write to the socket and sets *len (0 and NULL if none). The
 * pointer is borrowed: valid until the next call on conn other than this one.
 */
void pl_tls_conn_pending_output(const pl_tls_conn *conn, const uint8_t **p, size_t *len);

/* Drops the first n pending output bytes (the socket took them). n larger than the
 * pending length is a caller bug and aborts. */
void pl_tls_conn_consume_output(pl_tls_conn *conn, size_t n);

/* Returns 1 once the handshake has completed (and the peer is authenticated, on a client),
 * else 0. Stays 1 after a close or error. */
int pl_tls_conn_handshake_done(const pl_tls_conn *conn);

/*
 * Queues close_notify (after the handshake; before it, only marks the connection closed)
 * and refuses further writes. Returns PL_TLS_OK, or the sticky fatal error.
 */
int pl_tls_conn_close(pl_tls_conn *conn);

/*
 * Writes the connection's RFC 8446 §7.5 exporter value for PL_TLS_EXPORTER_LABEL with an
 * empty context into out. Returns PL_TLS_OK; PL_TLS_E_STATE before the handshake is done or
 * after a fatal error (out is then zeroed); PL_TLS_E_CRYPTO.
 */
int pl_tls_conn_exporter(pl_tls_conn *conn, uint8_t out[PL_TLS_EXPORTER_BYTES]);

/*
 * Writes the SHA-256 fingerprint of the peer's certificate into out (a client sees the
 * server's). Returns PL_TLS_OK, or PL_TLS_E_STATE if there is none (out is then "").
 */
int pl_tls_conn_peer_fingerprint(const pl_tls_conn *conn, char out[PL_TLS_FINGERPRINT_BYTES]);

/*
 * Returns a static, human-readable reason for the last fatal error (OpenSSL's reason, or
 * the certificate verification result on a client), or "" if none. Never contains keys.
 */
const char *pl_tls_conn_error_detail(const pl_tls_conn *conn);

#endif
