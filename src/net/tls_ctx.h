/*
 * tls_ctx.h: a reloadable holder of the OpenSSL SSL_CTX that new TLS connections use.
 *
 * A server holder is made from a certificate chain file and a key file; SIGHUP calls
 * pl_tls_ctx_reload(), which reads the same paths again (an operator's renewed Let's
 * Encrypt files, say) and, only if everything loads and matches, swaps the new SSL_CTX in.
 *
 * Lifetimes use OpenSSL's own reference counts: the holder owns one reference to its
 * current SSL_CTX, and every SSL made from it (pl_tls_conn_new) owns another. A reload
 * drops the holder's reference to the old SSL_CTX, which lives on until the last
 * connection made from it is freed. So connections made before a reload keep their
 * certificate and keep working; connections made after it get the new one. A failed
 * reload changes nothing.
 *
 * Settings (both sides): TLS 1.3 only; no session tickets, no session cache and no early
 * data, so every connection does a full handshake with fresh ephemeral keys and its own
 * exporter secret, and the server keeps no resumption secrets; no compression; no
 * renegotiation (TLS 1.3 has none). A server does not ask for client certificates: devices
 * authenticate inside the connection by signing a challenge bound to its exporter.
 *
 * A client holder (for tests, the test client and the load generator) trusts exactly the
 * certificates in one PEM file, e.g. the server's DATA/tls/cert.pem.
 *
 * Not thread-safe: use a holder from one thread (parleyd's libuv loop).
 */
#ifndef PARLEYD_TLS_CTX_H
#define PARLEYD_TLS_CTX_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "tls_cert.h"

typedef struct pl_tls_ctx pl_tls_ctx;

/*
 * Creates a server holder from a PEM certificate chain (leaf first) and a PEM private key
 * (loaded with pl_tls_key_load(): refused if group or others can access it). The paths are
 * copied for pl_tls_ctx_reload(). *out is set to NULL first and owned by the caller.
 * Returns PL_TLS_OK, PL_TLS_E_INVALID_ARG, PL_TLS_E_IO, PL_TLS_E_BAD_CERT, PL_TLS_E_BAD_KEY,
 * PL_TLS_E_KEY_PERMISSIONS, PL_TLS_E_KEY_MISMATCH, PL_TLS_E_CRYPTO or PL_TLS_E_NOMEM; err
 * (may be NULL) then holds a sentence naming the file.
 */
int pl_tls_ctx_new_server(pl_tls_ctx **out, const char *cert_path, const char *key_path, char *err,
                          size_t err_len);

/*
 * Creates a client holder that verifies the server against the certificates in
 * trusted_cert_path only (no system roots). *out as for pl_tls_ctx_new_server().
 * Returns PL_TLS_OK, PL_TLS_E_INVALID_ARG, PL_TLS_E_BAD_CERT, PL_TLS_E_CRYPTO or
 * PL_TLS_E_NOMEM.
 */
int pl_tls_ctx_new_client(pl_tls_ctx **out, const char *trusted_cert_path, char *err,
                          size_t err_len);

/*
 * Creates a client holder that trusts no certificate authority: every handshake completes,
 * whatever certificate the server shows, and THE CALLER MUST then compare
 * pl_tls_conn_peer_fingerprint() with the fingerprint it pinned (trust on first use: the
 * first connection records it, every later one must match) before sending anything. For
 * clients run without a CA file. *out and the errors as for pl_tls_ctx_new_client().
 */
int pl_tls_ctx_new_client_pinned(pl_tls_ctx **out, char *err, size_t err_len);

/*
 * Re-reads the holder's files and, if they load (and for a server, key and certificate
 * match), makes the new SSL_CTX current for connections created from now on. On failure
 * the current SSL_CTX stays, and the error is returned as for the constructors.
 */
int pl_tls_ctx_reload(pl_tls_ctx *ctx, char *err, size_t err_len);

/* Returns 1 for a server holder, 0 for a client holder. */
int pl_tls_ctx_is_server(const pl_tls_ctx *ctx);

/* Returns how many successful reloads the holder has had (0 after creation). */
unsigned long pl_tls_ctx_generation(const pl_tls_ctx *ctx);

/*
 * Writes the SHA-256 fingerprint of the current server certificate (the chain's leaf) into
 * out, for main to print after start and after a reload. Returns PL_TLS_OK, or
 * PL_TLS_E_INVALID_ARG for a client holder (out is then "").
 */
int pl_tls_ctx_fingerprint(const pl_tls_ctx *ctx, char out[PL_TLS_FINGERPRINT_BYTES]);

/*
 * Returns the current SSL_CTX, borrowed: valid until the next successful reload or
 * pl_tls_ctx_free(). SSL_new() takes its own reference; anyone else keeping it must call
 * SSL_CTX_up_ref().
 */
SSL_CTX *pl_tls_ctx_current(pl_tls_ctx *ctx);

/* Drops the holder's reference to its SSL_CTX and frees the holder; NULL is allowed.
 * Connections made from it stay valid. */
void pl_tls_ctx_free(pl_tls_ctx *ctx);

#endif
