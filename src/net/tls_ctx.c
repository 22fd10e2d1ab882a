/*
 * tls_ctx.c: building TLS 1.3 SSL_CTXs and the reloadable holder (see tls_ctx.h).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "tls_ctx.h"

struct pl_tls_ctx {
    SSL_CTX *ssl_ctx; /* one reference owned by the holder */
    int is_server;
    char *cert_path; /* server: chain file; client: trusted certificates */
    char *key_path;  /* server only */
    unsigned long generation;
};

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);

    if (d)
        memcpy(d, s, n);
    return d;
}

/* Settings shared by both sides; see the header for why each one. */
static int apply_common(SSL_CTX *c)
{
    if (!SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION) ||
        !SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION))
        return 0;
    /* In TLS 1.3, SSL_OP_NO_TICKET alone would switch to stateful tickets; with no tickets
     * issued and no session cache there is nothing to resume from at all. */
    SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    if (!SSL_CTX_set_num_tickets(c, 0) || !SSL_CTX_set_max_early_data(c, 0))
        return 0;
    /* Idle connections should not each hold two 16 KiB record buffers. */
    SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
    return 1;
}

static int build_server(const char *cert_path, const char *key_path, SSL_CTX **out, char *err,
                        size_t err_len)
{
    SSL_CTX *c = NULL;
    EVP_PKEY *pkey = NULL;
    int r;

    *out = NULL;
    ERR_clear_error();
    if (!(c = SSL_CTX_new(TLS_server_method())) || !apply_common(c)) {
        r = pl__tls_fail(PL_TLS_E_CRYPTO, 1, err, err_len, "cannot create a TLS context");
        goto out;
    }
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
    if (!SSL_CTX_use_certificate_chain_file(c, cert_path)) {
        r = pl__tls_fail(PL_TLS_E_BAD_CERT, 1, err, err_len,
                         "%s: cannot load the certificate chain", cert_path);
        goto out;
    }
    if ((r = pl_tls_key_load(key_path, &pkey, err, err_len)) != PL_TLS_OK)
        goto out;
    if (!SSL_CTX_use_PrivateKey(c, pkey) || !SSL_CTX_check_private_key(c)) {
        r = pl__tls_fail(PL_TLS_E_KEY_MISMATCH, 1, err, err_len,
                         "%s does not match the certificate in %s", key_path, cert_path);
        goto out;
    }
    *out = c;
    c = NULL;
    r = PL_TLS_OK;
out:
    EVP_PKEY_free(pkey);
    SSL_CTX_free(c);
    return r;
}

static int build_client(const char *trusted_path, SSL_CTX **out, char *err, size_t err_len)
{
    SSL_CTX *c = NULL;
    int r;

    *out = NULL;
    ERR_clear_error();
    if (!(c = SSL_CTX_new(TLS_client_method())) || !apply_common(c)) {
        r = pl__tls_fail(PL_TLS_E_CRYPTO, 1, err, err_len, "cannot create a TLS context");
        goto out;
    }
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
    if (!SSL_CTX_load_verify_file(c, trusted_path)) {
        r = pl__tls_fail(PL_TLS_E_BAD_CERT, 1, err, err_len, "%s: cannot load trusted certificates",
                         trusted_path);
        goto out;
    }
    *out = c;
    c = NULL;
    r = PL_TLS_OK;
out:
    SSL_CTX_free(c);
    return r;
}

/* A client that trusts no certificate authority: the handshake accepts any certificate and
 * the caller pins the server by its fingerprint (pl_tls_conn_peer_fingerprint). */
static int build_client_pinned(SSL_CTX **out, char *err, size_t err_len)
{
    SSL_CTX *c = NULL;

    *out = NULL;
    ERR_clear_error();
    if (!(c = SSL_CTX_new(TLS_client_method())) || !apply_common(c)) {
        SSL_CTX_free(c);
        return pl__tls_fail(PL_TLS_E_CRYPTO, 1, err, err_len, "cannot create a TLS context");
    }
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
    *out = c;
    return PL_TLS_OK;
}

static int build(const pl_tls_ctx *ctx, SSL_CTX **out, char *err, size_t err_len)
{
    if (ctx->is_server)
        return build_server(ctx->cert_path, ctx->key_path, out, err, err_len);
    if (!ctx->cert_path[0])
        return build_client_pinned(out, err, err_len);
    return build_client(ctx->cert_path, out, err, err_len);
}

static int new_holder(pl_tls_ctx **out, int is_server, const char *cert_path, const char *key_path,
                      char *err, size_t err_len)
{
    pl_tls_ctx *ctx = NULL;
    int r;

    *out = NULL;
    if (err && err_len > 0)
        err[0] = '\0';
    if (!cert_path || (is_server && !key_path))
        return pl__tls_fail(PL_TLS_E_INVALID_ARG, 0, err, err_len, "no certificate path given");
    r = PL_TLS_E_NOMEM;
    if (!(ctx = calloc(1, sizeof *ctx)) || !(ctx->cert_path = dup_str(cert_path)) ||
        (is_server && !(ctx->key_path = dup_str(key_path)))) {
        pl__tls_fail(r, 0, err, err_len, "out of memory");
        goto out;
    }
    ctx->is_server = is_server;
    if ((r = build(ctx, &ctx->ssl_ctx, err, err_len)) != PL_TLS_OK)
        goto out;
    *out = ctx;
    ctx = NULL;
    r = PL_TLS_OK;
out:
    pl_tls_ctx_free(ctx);
    return r;
}

int pl_tls_ctx_new_server(pl_tls_ctx **out, const char *cert_path, const char *key_path, char *err,
                          size_t err_len)
{
    return new_holder(out, 1, cert_path, key_path, err, err_len);
}

int pl_tls_ctx_new_client(pl_tls_ctx **out, const char *trusted_cert_path, char *err,
                          size_t err_len)
{
    return new_holder(out, 0, trusted_cert_path, NULL, err, err_len);
}

int pl_tls_ctx_new_client_pinned(pl_tls_ctx **out, char *err, size_t err_len)
{
    return new_holder(out, 0, "", NULL, err, err_len);
}

int pl_tls_ctx_reload(pl_tls_ctx *ctx, char *err, size_t err_len)
{
    SSL_CTX *fresh = NULL;
    int r;

    if (err && err_len > 0)
        err[0] = '\0';
    /* Commit on success: build the new context completely before touching the holder. */
    if ((r = build(ctx, &fresh, err, err_len)) != PL_TLS_OK)
        return r;
    SSL_CTX_free(ctx->ssl_ctx); /* connections made from it keep their own references */
    ctx->ssl_ctx = fresh;
    ctx->generation++;
    return PL_TLS_OK;
}

int pl_tls_ctx_is_server(const pl_tls_ctx *ctx)
{
    return ctx->is_server;
}

unsigned long pl_tls_ctx_generation(const pl_tls_ctx *ctx)
{
    return ctx->generation;
}

int pl_tls_ctx_fingerprint(const pl_tls_ctx *ctx, char out[PL_TLS_FINGERPRINT_BYTES])
{
    X509 *leaf;

    out[0] = '\0';
    if (!ctx->is_server || !(leaf = SSL_CTX_get0_certificate(ctx->ssl_ctx)))
        return PL_TLS_E_INVALID_ARG;
    return pl_tls_cert_fingerprint(leaf, out);
}

SSL_CTX *pl_tls_ctx_current(pl_tls_ctx *ctx)
{
    return ctx->ssl_ctx;
}

void pl_tls_ctx_free(pl_tls_ctx *ctx)
{
    if (!ctx)
        return;
    SSL_CTX_free(ctx->ssl_ctx);
    free(ctx->cert_path);
    free(ctx->key_path);
    free(ctx);
}
