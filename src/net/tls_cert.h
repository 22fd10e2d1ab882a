/*
 * tls_cert.h: parleyd's TLS certificate files, and the error list of the TLS layer.
 *
 * On first start in an empty data directory the server creates a self-signed certificate in
 * DATA/tls/ (cert.pem, and key.pem with mode 0600); pl_tls_cert_ensure() does that and
 * nothing else when both files are already there. An operator may instead point the server
 * at their own files (e.g. Let's Encrypt's fullchain.pem and privkey.pem); tls_ctx.c loads
 * either through pl_tls_key_load(), which refuses key files that group or others may access.
 *
 * Nothing here prints: functions return a PL_TLS_* code and, when the caller passes a
 * buffer, a sentence naming the file and the cause, for the daemon's main to print. No
 * message ever contains key material.
 *
 * The TLS layer (tls_cert, tls_ctx, tls_conn) shares one error list, PL_TLS_ERRNO_MAP below.
 * Its values start at -100 so they never collide with libparley's PL_E_* codes.
 */
#ifndef PARLEYD_TLS_CERT_H
#define PARLEYD_TLS_CERT_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* XX(name, value, message) */
#define PL_TLS_ERRNO_MAP(XX)                                                                       \
    XX(OK, 0, "success")                                                                           \
    XX(E_NOMEM, -101, "out of memory")                                                             \
    XX(E_INVALID_ARG, -102, "invalid argument")                                                    \
    XX(E_IO, -103, "file system error")                                                            \
    XX(E_CERT_PARTIAL, -104, "only one of the certificate and key files exists")                   \
    XX(E_KEY_PERMISSIONS, -105, "private key file is accessible by group or others")               \
    XX(E_BAD_CERT, -106, "cannot load the certificate")                                            \
    XX(E_BAD_KEY, -107, "cannot load the private key")                                             \
    XX(E_KEY_MISMATCH, -108, "private key does not match the certificate")                         \
    XX(E_CRYPTO, -109, "the TLS library failed")                                                   \
    XX(E_AGAIN, -110, "no plaintext available yet: feed more input")                               \
    XX(E_HANDSHAKE, -111, "TLS handshake failed")                                                  \
    XX(E_PROTOCOL, -112, "TLS protocol error")                                                     \
    XX(E_CLOSED, -113, "the peer closed the TLS connection")                                       \
    XX(E_STATE, -114, "not allowed in the connection's current state")                             \
    XX(E_OUTPUT_FULL, -115, "queued output would exceed the output bound")                         \
    XX(E_INPUT_FULL, -116, "buffered input would exceed the input bound")

enum pl_tls_error {
#define PL__TLS_ERR_ENUM(name, value, msg) PL_TLS_##name = (value),
    PL_TLS_ERRNO_MAP(PL__TLS_ERR_ENUM)
#undef PL__TLS_ERR_ENUM
};

/* Returns a static sentence for a PL_TLS_* code; "unknown error" for unknown codes. */
const char *pl_tls_strerror(int code);

/* Returns the static symbolic name ("PL_TLS_E_HANDSHAKE"); "PL_TLS_E_UNKNOWN" if unknown. */
const char *pl_tls_errname(int code);

#define PL_TLS_DIR "tls"
#define PL_TLS_CERT_FILE "cert.pem"
#define PL_TLS_KEY_FILE "key.pem"

/* Validity of a generated certificate. Clients pin its fingerprint, so a long life avoids
 * re-pinning; an operator who wants rotation supplies their own certificate. */
#define PL_TLS_CERT_VALID_DAYS 3650

/* Extra subjectAltNames a generated certificate may carry besides localhost and 127.0.0.1. */
#define PL_TLS_CERT_MAX_EXTRA_NAMES 16
#define PL_TLS_CERT_MAX_NAME_LEN 253

/* A SHA-256 fingerprint as "AB:CD:...:EF" (32 bytes, uppercase, colon-separated) + NUL. */
#define PL_TLS_FINGERPRINT_BYTES (32 * 3)

/* Largest key file pl_tls_key_load() reads. */
#define PL_TLS_KEY_FILE_MAX_BYTES (64 * 1024)

/*
 * Writes "DATA/tls/cert.pem" and "DATA/tls/key.pem" into cert_path and key_path (each of
 * capacity cap). Returns PL_TLS_OK, or PL_TLS_E_INVALID_ARG if a path does not fit.
 */
int pl_tls_cert_default_paths(const char *data_dir, char *cert_path, char *key_path, size_t cap);

/*
 * Makes sure DATA/tls/cert.pem and DATA/tls/key.pem exist.
 *
 * If both exist, checks that the key file is not accessible by group or others and changes
 * nothing. If neither exists, creates DATA/tls (mode 0700) if needed and writes a new
 * self-signed ECDSA P-256 certificate for "localhost", 127.0.0.1, ::1 and extra_names (DNS
 * names or IP literals, at most PL_TLS_CERT_MAX_EXTRA_NAMES; the first one, if any, is also
 * the subject CN), valid for PL_TLS_CERT_VALID_DAYS, with a random 159-bit serial. Each file
 * is written to a temporary name created with O_EXCL (the key with mode 0600), fsynced and
 * renamed, then the directory is fsynced. If exactly one of the two exists, nothing is
 * written: it may be the operator's.
 *
 * *created (may be NULL) is set to 1 if a certificate was generated, else 0.
 * err (may be NULL) receives a NUL-terminated sentence on failure, of capacity err_len.
 * Returns PL_TLS_OK, PL_TLS_E_INVALID_ARG (bad name), PL_TLS_E_CERT_PARTIAL,
 * PL_TLS_E_KEY_PERMISSIONS, PL_TLS_E_IO (data_dir missing, write failed, ...),
 * PL_TLS_E_CRYPTO or PL_TLS_E_NOMEM.
 */
int pl_tls_cert_ensure(const char *data_dir, const char *const *extra_names, size_t n_extra,
                       int *created, char *err, size_t err_len);

/*
 * Writes cert's SHA-256 fingerprint (over its DER encoding) into out as uppercase
 * colon-separated hex. Returns PL_TLS_OK or PL_TLS_E_CRYPTO (out is then "").
 */
int pl_tls_cert_fingerprint(const X509 *cert, char out[PL_TLS_FINGERPRINT_BYTES]);

/*
 * Reads the first certificate of the PEM file at path and writes its fingerprint into out.
 * Returns PL_TLS_OK, PL_TLS_E_IO (cannot open), PL_TLS_E_BAD_CERT or PL_TLS_E_CRYPTO; out is
 * "" on failure and err as for pl_tls_cert_ensure().
 */
int pl_tls_cert_fingerprint_file(const char *path, char out[PL_TLS_FINGERPRINT_BYTES], char *err,
                                 size_t err_len);

/*
 * Loads an unencrypted PEM private key from path into *out (set to NULL first; the caller
 * frees it with EVP_PKEY_free). Refuses a file that is not a regular file or whose mode
 * grants group or others any access (as wireguard-tools does), and never prompts for a
 * passphrase. The file's bytes are wiped from memory after parsing.
 * Returns PL_TLS_OK, PL_TLS_E_IO, PL_TLS_E_KEY_PERMISSIONS, PL_TLS_E_BAD_KEY or
 * PL_TLS_E_NOMEM; err as for pl_tls_cert_ensure().
 */
int pl_tls_key_load(const char *path, EVP_PKEY **out, char *err, size_t err_len);

/* For tls_ctx.c and tls_conn.c: formats a message into err (if err != NULL && err_len > 0),
 * appending the reason of the newest OpenSSL error if with_openssl, and clears OpenSSL's
 * error queue. Returns code, so callers can write `return pl__tls_fail(code, ...)`. */
int pl__tls_fail(int code, int with_openssl, char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
