/*
 * tls_conn.c: a TLS 1.3 connection over two bounded byte queues (see tls_conn.h).
 *
 * OpenSSL reads and writes through one BIO of our own kind, whose read side takes from
 * `in` (bytes fed from the socket) and whose write side appends to `out` (bytes for the
 * socket). Owning the queues, rather than using memory BIOs, lets the driver write
 * straight from `out` without a copy, lets us enforce the bounds where the bytes arrive,
 * and lets an idle connection free its buffers.
 *
 * States:
 *
 *   HANDSHAKE    -> OPEN          SSL_do_handshake() completed
 *   HANDSHAKE    -> CLOSED        pl_tls_conn_close() before the handshake: nothing sent
 *   OPEN         -> PEER_CLOSED   close_notify received
 *   OPEN         -> LOCAL_CLOSED  close_notify sent
 *   PEER_CLOSED  -> CLOSED        close_notify sent in reply
 *   LOCAL_CLOSED -> CLOSED        the peer's close_notify received
 *   any but CLOSED -> FAILED      fatal handshake or protocol error (sticky `error`)
 *
 * Invariants (check_invariants()): out_off + out_len <= out_cap and in_off + in_len <=
 * in_cap; out_len never exceeds the output bound plus OUTPUT_SLACK; in_len never exceeds
 * PL_TLS_MAX_INPUT_BYTES; `error` is non-zero exactly in FAILED; hs_done is set in every
 * state past HANDSHAKE except a close or failure during the handshake.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tls_conn.h"

/* Room beyond the output bound for records OpenSSL produces by itself (alerts, KeyUpdate
 * replies, close_notify), so those never fail because the application filled the queue. */
#define OUTPUT_SLACK (64 * 1024)
/* A TLS 1.3 record adds a 5-byte header, the inner content type and a 16-byte tag. */
#define RECORD_OVERHEAD 22
#define MAX_RECORD_PLAINTEXT 16384
/* A drained buffer larger than this is freed, so idle connections hold little memory: 0, so an
 * idle connection holds no buffer at all (the cost is one malloc per burst of records). */
#define IDLE_KEEP_BYTES 0

enum conn_state { HANDSHAKE, OPEN, PEER_CLOSED, LOCAL_CLOSED, CLOSED, FAILED };

struct pl_tls_conn {
    SSL *ssl;
    enum conn_state state;
    int hs_done;
    int error;          /* sticky fatal PL_TLS_E_*, 0 unless FAILED */
    int out_overflow;   /* the BIO refused a write: out would have passed its hard cap */
    const char *detail; /* static reason for `error` */
    uint8_t *in;        /* fed ciphertext: in[in_off .. in_off + in_len) */
    size_t in_off, in_len, in_cap;
    uint8_t *out; /* ciphertext for the socket: out[out_off .. out_off + out_len) */
    size_t out_off, out_len, out_cap;
    size_t out_bound;
};

static void check_invariants(const pl_tls_conn *c)
{
    if (c->out_off + c->out_len > c->out_cap || c->in_off + c->in_len > c->in_cap ||
        c->out_len > c->out_bound + OUTPUT_SLACK || c->in_len > PL_TLS_MAX_INPUT_BYTES ||
        (c->error != 0) != (c->state == FAILED) || (c->state == OPEN && !c->hs_done))
        abort();
}

static void set_state(pl_tls_conn *c, enum conn_state to)
{
    enum conn_state from = c->state;
    int ok;

    switch (to) {
    case OPEN:
        ok = from == HANDSHAKE;
        break;
    case PEER_CLOSED:
    case LOCAL_CLOSED:
        ok = from == OPEN;
        break;
    case CLOSED:
        ok = from == HANDSHAKE || from == PEER_CLOSED || from == LOCAL_CLOSED;
        break;
    case FAILED:
        ok = from != CLOSED && from != FAILED;
        break;
    default:
        ok = 0;
    }
    if (!ok)
        abort(); /* an impossible transition is a bug in this file */
    c->state = to;
    check_invariants(c);
}

/* Enters FAILED with code, keeping OpenSSL's reason (a static string) and clearing its
 * per-thread error queue so the next connection's SSL_get_error() is not misled. */
static int fail(pl_tls_conn *c, int code)
{
    unsigned long e = ERR_peek_last_error();
    const char *reason = e ? ERR_reason_error_string(e) : NULL;
    long verify;

    if (c->out_overflow)
        code = PL_TLS_E_OUTPUT_FULL;
    if (!SSL_is_server(c->ssl) && (verify = SSL_get_verify_result(c->ssl)) != X509_V_OK)
        reason = X509_verify_cert_error_string(verify);
    c->detail = reason ? reason : "";
    ERR_clear_error();
    c->error = code;
    set_state(c, FAILED);
    return code;
}

/* Makes room for n more bytes at the end of a queue, within cap_max. */
static int reserve(uint8_t **buf, size_t *off, size_t len, size_t *cap, size_t n, size_t cap_max)
{
    size_t need = len + n, grown;
    uint8_t *p;

    if (n > cap_max || len > cap_max - n)
        return 0;
    if (*off + need <= *cap)
        return 1;
    if (*off > 0) {
        memmove(*buf, *buf + *off, len);
        *off = 0;
        if (need <= *cap)
            return 1;
    }
    grown = *cap ? *cap : 4096;
    while (grown < need)
        grown = grown > cap_max / 2 ? cap_max : grown * 2;
    if (!(p = realloc(*buf, grown)))
        return 0;
    *buf = p;
    *cap = grown;
    return 1;
}

/* After a queue drained: start again at the front, and give large buffers back. */
static void drained(uint8_t **buf, size_t *off, size_t *cap)
{
    *off = 0;
    if (*cap > IDLE_KEEP_BYTES) {
        free(*buf);
        *buf = NULL;
        *cap = 0;
    }
}

/* The BIO: OpenSSL's view of the two queues. */

static int bio_write_ex(BIO *b, const char *data, size_t len, size_t *written)
{
    pl_tls_conn *c = BIO_get_data(b);

    BIO_clear_retry_flags(b);
    *written = 0;
    if (!reserve(&c->out, &c->out_off, c->out_len, &c->out_cap, len, c->out_bound + OUTPUT_SLACK)) {
        c->out_overflow = 1;
        return 0; /* no retry flag: a fatal error for the SSL */
    }
    memcpy(c->out + c->out_off + c->out_len, data, len);
    c->out_len += len;
    *written = len;
    return 1;
}

static int bio_read_ex(BIO *b, char *data, size_t len, size_t *readbytes)
{
    pl_tls_conn *c = BIO_get_data(b);
    size_t n = len < c->in_len ? len : c->in_len;

    BIO_clear_retry_flags(b);
    *readbytes = 0;
    if (n == 0) {
        BIO_set_retry_read(b); /* "would block": SSL_ERROR_WANT_READ */
        return 0;
    }
    memcpy(data, c->in + c->in_off, n);
    c->in_off += n;
    c->in_len -= n;
    if (c->in_len == 0)
        drained(&c->in, &c->in_off, &c->in_cap);
    *readbytes = n;
    return 1;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    pl_tls_conn *c = BIO_get_data(b);

    (void)num;
    (void)ptr;
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1;
    case BIO_CTRL_PENDING:
        return c ? (long)c->in_len : 0;
    case BIO_CTRL_WPENDING:
        return c ? (long)c->out_len : 0;
    default:
        return 0;
    }
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static CRYPTO_ONCE bio_once = CRYPTO_ONCE_STATIC_INIT;
static BIO_METHOD *bio_method; /* written once, under bio_once */

static void bio_method_free(void)
{
    BIO_meth_free(bio_method);
    bio_method = NULL;
}

static void bio_method_make(void)
{
    int idx = BIO_get_new_index();
    BIO_METHOD *m;

    if (idx < 0 || !(m = BIO_meth_new(idx | BIO_TYPE_SOURCE_SINK, "parley tls queues")))
        return;
    if (!BIO_meth_set_write_ex(m, bio_write_ex) || !BIO_meth_set_read_ex(m, bio_read_ex) ||
        !BIO_meth_set_ctrl(m, bio_ctrl) || !BIO_meth_set_create(m, bio_create)) {
        BIO_meth_free(m);
        return;
    }
    bio_method = m;
    /* Freed by OPENSSL_cleanup() at exit, with OpenSSL's own one-time allocations. */
    OPENSSL_atexit(bio_method_free);
}

/* Runs the handshake as far as the fed input allows. */
static int advance_handshake(pl_tls_conn *c)
{
    int rc;

    ERR_clear_error();
    rc = SSL_do_handshake(c->ssl);
    if (rc == 1) {
        c->hs_done = 1;
        set_state(c, OPEN);
        return PL_TLS_OK;
    }
    if (SSL_get_error(c->ssl, rc) == SSL_ERROR_WANT_READ)
        return PL_TLS_OK;
    return fail(c, PL_TLS_E_HANDSHAKE);
}

static int conn_new(pl_tls_conn **out, pl_tls_ctx *ctx, int is_server, const char *server_name)
{
    pl_tls_conn *c = NULL;
    BIO *bio = NULL;
    ASN1_OCTET_STRING *ip = NULL;
    int r;

    *out = NULL;
    if (pl_tls_ctx_is_server(ctx) != is_server)
        return PL_TLS_E_INVALID_ARG;
    if (!CRYPTO_THREAD_run_once(&bio_once, bio_method_make) || !bio_method)
        return PL_TLS_E_CRYPTO;
    r = PL_TLS_E_NOMEM;
    if (!(c = calloc(1, sizeof *c)))
        goto out;
    c->state = HANDSHAKE;
    c->out_bound = PL_TLS_DEFAULT_OUTPUT_BOUND;
    r = PL_TLS_E_CRYPTO;
    ERR_clear_error();
    if (!(c->ssl = SSL_new(pl_tls_ctx_current(ctx))) || !(bio = BIO_new(bio_method)))
        goto out;
    BIO_set_data(bio, c);
    SSL_set_bio(c->ssl, bio, bio); /* one reference, owned by the SSL from here */
    bio = NULL;
    if (is_server) {
        SSL_set_accept_state(c->ssl);
    } else {
        SSL_set_connect_state(c->ssl);
        if (server_name && (ip = a2i_IPADDRESS(server_name)) != NULL) {
            /* An IP literal is matched against IP SANs and is never sent as SNI. */
            if (!X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), server_name))
                goto out;
        } else if (server_name) {
            if (!SSL_set_tlsext_host_name(c->ssl, server_name) ||
                !SSL_set1_host(c->ssl, server_name))
                goto out;
        }
        /* The ClientHello goes out at once. */
        if ((r = advance_handshake(c)) != PL_TLS_OK)
            goto out;
    }
    *out = c;
    c = NULL;
    r = PL_TLS_OK;
out:
    ERR_clear_error();
    ASN1_OCTET_STRING_free(ip);
    BIO_free(bio);
    pl_tls_conn_free(c);
    return r;
}

int pl_tls_conn_new(pl_tls_conn **out, pl_tls_ctx *ctx)
{
    return conn_new(out, ctx, 1, NULL);
}

int pl_tls_conn_new_client(pl_tls_conn **out, pl_tls_ctx *ctx, const char *server_name)
{
    return conn_new(out, ctx, 0, server_name);
}

void pl_tls_conn_free(pl_tls_conn *conn)
{
    if (!conn)
        return;
    SSL_free(conn->ssl); /* frees the BIO, and drops the SSL_CTX reference */
    free(conn->in);
    free(conn->out);
    free(conn);
}

void pl_tls_conn_set_output_bound(pl_tls_conn *conn, size_t bound)
{
    if (bound < PL_TLS_MIN_OUTPUT_BOUND)
        bound = PL_TLS_MIN_OUTPUT_BOUND;
    if (bound > SIZE_MAX / 2)
        bound = SIZE_MAX / 2;
    /* Lowering it below what is already queued only blocks writes until the socket drains. */
    conn->out_bound = bound;
    if (conn->out_len > conn->out_bound + OUTPUT_SLACK)
        conn->out_bound = conn->out_len;
    check_invariants(conn);
}

int pl_tls_conn_feed(pl_tls_conn *conn, const uint8_t *ciphertext, size_t len)
{
    switch (conn->state) {
    case FAILED:
        return conn->error;
    case PEER_CLOSED:
    case CLOSED:
        return PL_TLS_E_CLOSED;
    default:
        break;
    }
    if (len > PL_TLS_MAX_INPUT_BYTES - conn->in_len)
        return PL_TLS_E_INPUT_FULL;
    if (len > 0) {
        if (!reserve(&conn->in, &conn->in_off, conn->in_len, &conn->in_cap, len,
                     PL_TLS_MAX_INPUT_BYTES))
            return PL_TLS_E_NOMEM;
        memcpy(conn->in + conn->in_off + conn->in_len, ciphertext, len);
        conn->in_len += len;
    }
    if (conn->state == HANDSHAKE)
        return advance_handshake(conn);
    return PL_TLS_OK;
}

int pl_tls_conn_read(pl_tls_conn *conn, uint8_t *out, size_t cap, size_t *n)
{
    int rc, e;

    *n = 0;
    switch (conn->state) {
    case FAILED:
        return conn->error;
    case PEER_CLOSED:
    case CLOSED:
        return PL_TLS_E_CLOSED;
    case HANDSHAKE:
        if ((rc = advance_handshake(conn)) != PL_TLS_OK)
            return rc;
        if (conn->state == HANDSHAKE)
            return PL_TLS_E_AGAIN;
        break;
    default:
        break;
    }
    if (cap == 0)
        return PL_TLS_E_INVALID_ARG;
    ERR_clear_error();
    rc = SSL_read_ex(conn->ssl, out, cap, n);
    if (rc == 1)
        return PL_TLS_OK;
    *n = 0;
    e = SSL_get_error(conn->ssl, rc);
    if (e == SSL_ERROR_WANT_READ)
        return PL_TLS_E_AGAIN;
    if (e == SSL_ERROR_ZERO_RETURN) {
        set_state(conn, conn->state == OPEN ? PEER_CLOSED : CLOSED);
        return PL_TLS_E_CLOSED;
    }
    return fail(conn, PL_TLS_E_PROTOCOL);
}

int pl_tls_conn_write(pl_tls_conn *conn, const uint8_t *plaintext, size_t len)
{
    size_t records, estimate, written = 0;

    switch (conn->state) {
    case FAILED:
        return conn->error;
    case HANDSHAKE:
        return PL_TLS_E_STATE;
    case OPEN:
        break;
    default:
        return PL_TLS_E_CLOSED;
    }
    if (len == 0)
        return PL_TLS_OK;
    /* An upper bound on the ciphertext, checked before encrypting so a refused write
     * queues nothing; the slack above the bound absorbs a pending KeyUpdate. */
    records = len / MAX_RECORD_PLAINTEXT + 1;
    if (len > conn->out_bound || records > (conn->out_bound - len) / RECORD_OVERHEAD)
        return PL_TLS_E_OUTPUT_FULL;
    estimate = len + records * RECORD_OVERHEAD;
    if (conn->out_len > conn->out_bound || estimate > conn->out_bound - conn->out_len)
        return PL_TLS_E_OUTPUT_FULL;
    ERR_clear_error();
    if (SSL_write_ex(conn->ssl, plaintext, len, &written) != 1 || written != len)
        return fail(conn, PL_TLS_E_PROTOCOL);
    check_invariants(conn);
    return PL_TLS_OK;
}

void pl_tls_conn_pending_output(const pl_tls_conn *conn, const uint8_t **p, size_t *len)
{
    *len = conn->out_len;
    *p = conn->out_len ? conn->out + conn->out_off : NULL;
}

void pl_tls_conn_consume_output(pl_tls_conn *conn, size_t n)
{
    if (n > conn->out_len)
        abort(); /* the caller consumed bytes it was never given */
    conn->out_off += n;
    conn->out_len -= n;
    if (conn->out_len == 0)
        drained(&conn->out, &conn->out_off, &conn->out_cap);
}

int pl_tls_conn_handshake_done(const pl_tls_conn *conn)
{
    return conn->hs_done;
}

int pl_tls_conn_close(pl_tls_conn *conn)
{
    int rc;

    switch (conn->state) {
    case FAILED:
        return conn->error;
    case HANDSHAKE:
        /* OpenSSL refuses close_notify mid-handshake; the socket is just closed. */
        set_state(conn, CLOSED);
        return PL_TLS_OK;
    case OPEN:
    case PEER_CLOSED:
        ERR_clear_error();
        rc = SSL_shutdown(conn->ssl);
        if (rc < 0)
            return fail(conn, PL_TLS_E_PROTOCOL);
        set_state(conn, conn->state == OPEN ? LOCAL_CLOSED : CLOSED);
        return PL_TLS_OK;
    default:
        return PL_TLS_OK;
    }
}

int pl_tls_conn_exporter(pl_tls_conn *conn, uint8_t out[PL_TLS_EXPORTER_BYTES])
{
    static const char label[] = PL_TLS_EXPORTER_LABEL;

    memset(out, 0, PL_TLS_EXPORTER_BYTES);
    if (!conn->hs_done || conn->state == FAILED)
        return PL_TLS_E_STATE;
    ERR_clear_error();
    /* use_context = 0: in TLS 1.3 no context and an empty one give the same value. */
    if (SSL_export_keying_material(conn->ssl, out, PL_TLS_EXPORTER_BYTES, label, sizeof label - 1,
                                   NULL, 0, 0) != 1) {
        OPENSSL_cleanse(out, PL_TLS_EXPORTER_BYTES);
        ERR_clear_error();
        return PL_TLS_E_CRYPTO;
    }
    return PL_TLS_OK;
}

int pl_tls_conn_peer_fingerprint(const pl_tls_conn *conn, char out[PL_TLS_FINGERPRINT_BYTES])
{
    X509 *peer;

    out[0] = '\0';
    if (!conn->hs_done || !(peer = SSL_get0_peer_certificate(conn->ssl)))
        return PL_TLS_E_STATE;
    return pl_tls_cert_fingerprint(peer, out);
}

const char *pl_tls_conn_error_detail(const pl_tls_conn *conn)
{
    return conn->detail ? conn->detail : "";
}
