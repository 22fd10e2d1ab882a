/*
 * test_tls.c: parleyd's TLS layer: certificate files, the reloadable context, and the
 * sans-I/O connection, driven in-process by shuttling bytes between a client and a server
 * engine (as OpenSSH's test_kex does).
 */
#define _XOPEN_SOURCE 700

#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "testutil.h"
#include "tls_cert.h"
#include "tls_conn.h"
#include "tls_ctx.h"

/* Two data directories with generated certificates, A and B, under one temp dir. */
static char base_dir[64];
static char dir_a[128], dir_b[128];
static char cert_a[256], key_a[256], cert_b[256], key_b[256];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_rf(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void make_data_dir(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", base_dir, name);
    assert_int_equal(mkdir(out, 0700), 0);
}

static int group_setup(void **state)
{
    int created = 0;
    char err[512];

    (void)state;
    strcpy(base_dir, "/tmp/parley-tls-XXXXXX");
    if (!mkdtemp(base_dir))
        return -1;
    snprintf(dir_a, sizeof dir_a, "%s/a", base_dir);
    snprintf(dir_b, sizeof dir_b, "%s/b", base_dir);
    if (mkdir(dir_a, 0700) != 0 || mkdir(dir_b, 0700) != 0)
        return -1;
    if (pl_tls_cert_ensure(dir_a, NULL, 0, &created, err, sizeof err) != PL_TLS_OK ||
        pl_tls_cert_ensure(dir_b, NULL, 0, &created, err, sizeof err) != PL_TLS_OK)
        return -1;
    pl_tls_cert_default_paths(dir_a, cert_a, key_a, sizeof cert_a);
    pl_tls_cert_default_paths(dir_b, cert_b, key_b, sizeof cert_b);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    rm_rf(base_dir);
    return 0;
}

static mode_t mode_of(const char *path)
{
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

static void copy_file(const char *from, const char *to, mode_t mode)
{
    size_t len;
    uint8_t *data = tu_read_file(from, &len);
    char tmp[512];
    FILE *f;

    assert_non_null(data);
    snprintf(tmp, sizeof tmp, "%s.tmp", to);
    unlink(tmp);
    assert_non_null(f = fopen(tmp, "w"));
    assert_int_equal(chmod(tmp, mode), 0);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(rename(tmp, to), 0); /* as certbot replaces files */
    free(data);
}

static void assert_fingerprint_format(const char *fp)
{
    assert_int_equal(strlen(fp), 95);
    for (size_t i = 0; i < 95; i++) {
        if (i % 3 == 2)
            assert_int_equal(fp[i], ':');
        else if (!strchr("0123456789ABCDEF", fp[i]))
            fail_msg("character %zu of %s is not uppercase hex", i, fp);
    }
}

/* ---- shuttling ---- */

/* Moves all of from's pending output into to, chunk bytes per feed. Returns the last
 * feed's code (PL_TLS_OK if everything was taken). */
static int move_bytes(pl_tls_conn *from, pl_tls_conn *to, size_t chunk, size_t *moved)
{
    const uint8_t *p;
    size_t len, n;
    int r;

    *moved = 0;
    for (;;) {
        pl_tls_conn_pending_output(from, &p, &len);
        if (len == 0)
            return PL_TLS_OK;
        n = len < chunk ? len : chunk;
        if ((r = pl_tls_conn_feed(to, p, n)) != PL_TLS_OK)
            return r;
        pl_tls_conn_consume_output(from, n);
        *moved += n;
    }
}

/* Runs the handshake to completion; returns PL_TLS_OK or the first error seen. */
static int handshake(pl_tls_conn *client, pl_tls_conn *server, size_t chunk)
{
    size_t m1, m2;
    int r;

    for (int round = 0; round < 50; round++) {
        if ((r = move_bytes(client, server, chunk, &m1)) != PL_TLS_OK)
            return r;
        if ((r = move_bytes(server, client, chunk, &m2)) != PL_TLS_OK)
            return r;
        if (pl_tls_conn_handshake_done(client) && pl_tls_conn_handshake_done(server))
            return PL_TLS_OK;
        if (m1 == 0 && m2 == 0)
            return PL_TLS_E_AGAIN;
    }
    return PL_TLS_E_AGAIN;
}

static pl_tls_ctx *server_ctx(const char *cert, const char *key)
{
    pl_tls_ctx *ctx = NULL;
    char err[512];

    if (pl_tls_ctx_new_server(&ctx, cert, key, err, sizeof err) != PL_TLS_OK)
        fail_msg("server ctx: %s", err);
    return ctx;
}

static pl_tls_ctx *client_ctx(const char *trusted)
{
    pl_tls_ctx *ctx = NULL;
    char err[512];

    if (pl_tls_ctx_new_client(&ctx, trusted, err, sizeof err) != PL_TLS_OK)
        fail_msg("client ctx: %s", err);
    return ctx;
}

/* A connected pair: client trusting `trusted`, server from sctx. */
static void connect_pair(pl_tls_ctx *cctx, pl_tls_ctx *sctx, pl_tls_conn **c, pl_tls_conn **s)
{
    assert_int_equal(pl_tls_conn_new_client(c, cctx, "localhost"), PL_TLS_OK);
    assert_int_equal(pl_tls_conn_new(s, sctx), PL_TLS_OK);
    assert_int_equal(handshake(*c, *s, SIZE_MAX), PL_TLS_OK);
}

/* Sends len bytes from one end and reads them at the other with chunked delivery and a
 * small read buffer. */
static void transfer(pl_tls_conn *from, pl_tls_conn *to, size_t len, size_t chunk, size_t rcap)
{
    uint8_t *msg = malloc(len), *got = malloc(len), buf[20000];
    size_t have = 0, n, moved;
    int r;

    assert_non_null(msg);
    assert_non_null(got);
    for (size_t i = 0; i < len; i++)
        msg[i] = (uint8_t)(i * 131 + len);
    assert_int_equal(pl_tls_conn_write(from, msg, len), PL_TLS_OK);
    while (have < len) {
        const uint8_t *p;
        size_t plen;
        pl_tls_conn_pending_output(from, &p, &plen);
        if (plen > 0) {
            n = plen < chunk ? plen : chunk;
            assert_int_equal(pl_tls_conn_feed(to, p, n), PL_TLS_OK);
            pl_tls_conn_consume_output(from, n);
        }
        while ((r = pl_tls_conn_read(to, buf, rcap < sizeof buf ? rcap : sizeof buf, &n)) ==
               PL_TLS_OK) {
            assert_true(have + n <= len);
            memcpy(got + have, buf, n);
            have += n;
        }
        assert_int_equal(r, PL_TLS_E_AGAIN);
        if (plen == 0 && have < len)
            fail_msg("stalled at %zu of %zu", have, len);
    }
    assert_memory_equal(msg, got, len);
    assert_int_equal(move_bytes(to, from, SIZE_MAX, &moved), PL_TLS_OK);
    free(msg);
    free(got);
}

/* ---- certificates ---- */

static void cert_generated_with_modes_and_fingerprint(void **state)
{
    char dir[256], cert[256], key[256], tls[300], fp[PL_TLS_FINGERPRINT_BYTES], err[512];
    const char *extra[] = {"chat.example.org", "192.0.2.7"};
    int created = 0;
    X509 *x;
    FILE *f;

    (void)state;
    make_data_dir(dir, sizeof dir, "gen");
    assert_int_equal(pl_tls_cert_ensure(dir, extra, 2, &created, err, sizeof err), PL_TLS_OK);
    assert_int_equal(created, 1);
    pl_tls_cert_default_paths(dir, cert, key, sizeof cert);
    snprintf(tls, sizeof tls, "%s/tls", dir);
    assert_int_equal(mode_of(tls), 0700);
    assert_int_equal(mode_of(key), 0600);
    assert_int_equal(pl_tls_cert_fingerprint_file(cert, fp, err, sizeof err), PL_TLS_OK);
    assert_fingerprint_format(fp);

    /* The names it is valid for, and its key type. */
    assert_non_null(f = fopen(cert, "r"));
    assert_non_null(x = PEM_read_X509(f, NULL, NULL, NULL));
    fclose(f);
    assert_int_equal(X509_check_host(x, "localhost", 0, 0, NULL), 1);
    assert_int_equal(X509_check_host(x, "chat.example.org", 0, 0, NULL), 1);
    assert_int_equal(X509_check_host(x, "other.example.org", 0, 0, NULL), 0);
    assert_int_equal(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
    assert_int_equal(X509_check_ip_asc(x, "192.0.2.7", 0), 1);
    assert_int_equal(EVP_PKEY_get_base_id(X509_get0_pubkey(x)), EVP_PKEY_EC);
    X509_free(x);
}

static void cert_second_call_reuses_files(void **state)
{
    char dir[256], cert[256], key[256], fp1[PL_TLS_FINGERPRINT_BYTES];
    char fp2[PL_TLS_FINGERPRINT_BYTES], err[512];
    uint8_t *before, *after;
    size_t blen, alen;
    int created = 7;

    (void)state;
    make_data_dir(dir, sizeof dir, "reuse");
    assert_int_equal(pl_tls_cert_ensure(dir, NULL, 0, &created, err, sizeof err), PL_TLS_OK);
    pl_tls_cert_default_paths(dir, cert, key, sizeof cert);
    assert_int_equal(pl_tls_cert_fingerprint_file(cert, fp1, err, sizeof err), PL_TLS_OK);
    assert_non_null(before = tu_read_file(key, &blen));
    assert_int_equal(pl_tls_cert_ensure(dir, NULL, 0, &created, err, sizeof err), PL_TLS_OK);
    assert_int_equal(created, 0);
    assert_int_equal(pl_tls_cert_fingerprint_file(cert, fp2, err, sizeof err), PL_TLS_OK);
    assert_string_equal(fp1, fp2);
    assert_non_null(after = tu_read_file(key, &alen));
    assert_int_equal(blen, alen);
    assert_memory_equal(before, after, blen);
    free(before);
    free(after);
    /* A different directory gets a different certificate. */
    assert_int_equal(pl_tls_cert_fingerprint_file(cert_a, fp2, err, sizeof err), PL_TLS_OK);
    assert_string_not_equal(fp1, fp2);
}

static void cert_one_file_missing_is_refused(void **state)
{
    char dir[256], cert[256], key[256], err[512];
    int created = 7;

    (void)state;
    make_data_dir(dir, sizeof dir, "partial");
    assert_int_equal(pl_tls_cert_ensure(dir, NULL, 0, NULL, err, sizeof err), PL_TLS_OK);
    pl_tls_cert_default_paths(dir, cert, key, sizeof cert);

    assert_int_equal(unlink(key), 0);
    assert_int_equal(pl_tls_cert_ensure(dir, NULL, 0, &created, err, sizeof err),
                     PL_TLS_E_CERT_PARTIAL);
    assert_int_equal(created, 0);
    assert_non_null(strstr(err, cert));
    assert_int_equal(access(key, F_OK), -1); /* nothing was written */

    copy_file(key_a, key, 0600);
    assert_int_equal(unlink(cert), 0);
    assert_int_equal(pl_tls_cert_ensure(dir, NULL, 0, &created, err, sizeof err),
                     PL_TLS_E_CERT_PARTIAL);
    assert_int_equal(access(cert, F_OK), -1);
}

static void cert_key_readable_by_others_is_refused(void **state)
{
    char dir[256], cert[256], key[256], err[512];
    pl_tls_ctx *ctx = NULL;
    static const mode_t bad[] = {0644, 0640, 0604, 0660, 0602};

    (void)state;
    make_data_dir(dir, sizeof dir, "perm");
    assert_int_equal(pl_tls_cert_ensure(dir, NULL, 0, NULL, err, sizeof err), PL_TLS_OK);
    pl_tls_cert_default_paths(dir, cert, key, sizeof cert);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(chmod(key, bad[i]), 0);
        assert_int_equal(pl_tls_cert_ensure(dir, NULL, 0, NULL, err, sizeof err),
                         PL_TLS_E_KEY_PERMISSIONS);
        assert_non_null(strstr(err, key));
        assert_non_null(strstr(err, "chmod 600"));
        assert_int_equal(pl_tls_ctx_new_server(&ctx, cert, key, err, sizeof err),
                         PL_TLS_E_KEY_PERMISSIONS);
        assert_null(ctx);
    }
    assert_int_equal(chmod(key, 0400), 0);
    assert_int_equal(pl_tls_cert_ensure(dir, NULL, 0, NULL, err, sizeof err), PL_TLS_OK);
    assert_int_equal(pl_tls_ctx_new_server(&ctx, cert, key, err, sizeof err), PL_TLS_OK);
    pl_tls_ctx_free(ctx);
}

static void cert_bad_names_and_missing_dir_are_errors(void **state)
{
    char dir[256], missing[300], err[512];
    const char *bad1[] = {"a.example,DNS:evil.example"};
    const char *bad2[] = {""};
    const char *bad3[] = {"a..b"};

    (void)state;
    make_data_dir(dir, sizeof dir, "names");
    assert_int_equal(pl_tls_cert_ensure(dir, bad1, 1, NULL, err, sizeof err), PL_TLS_E_INVALID_ARG);
    assert_int_equal(pl_tls_cert_ensure(dir, bad2, 1, NULL, err, sizeof err), PL_TLS_E_INVALID_ARG);
    assert_int_equal(pl_tls_cert_ensure(dir, bad3, 1, NULL, err, sizeof err), PL_TLS_E_INVALID_ARG);
    snprintf(missing, sizeof missing, "%s/tls", dir);
    assert_int_equal(access(missing, F_OK), -1);
    snprintf(missing, sizeof missing, "%s/does-not-exist", dir);
    assert_int_equal(pl_tls_cert_ensure(missing, NULL, 0, NULL, err, sizeof err), PL_TLS_E_IO);
    assert_non_null(strstr(err, missing));
}

static void ctx_refuses_mismatched_key_and_bad_files(void **state)
{
    pl_tls_ctx *ctx = NULL;
    char err[512];

    (void)state;
    assert_int_equal(pl_tls_ctx_new_server(&ctx, cert_a, key_b, err, sizeof err),
                     PL_TLS_E_KEY_MISMATCH);
    assert_null(ctx);
    assert_int_equal(pl_tls_ctx_new_server(&ctx, key_a, key_a, err, sizeof err), PL_TLS_E_BAD_CERT);
    assert_int_equal(pl_tls_ctx_new_client(&ctx, key_a, err, sizeof err), PL_TLS_E_BAD_CERT);
    assert_null(ctx);
    assert_int_equal(ERR_peek_error(), 0); /* no stale OpenSSL errors left behind */
}

/* ---- connections ---- */

static void handshake_in_process(void **state)
{
    pl_tls_ctx *sctx = server_ctx(cert_a, key_a), *cctx = client_ctx(cert_a);
    pl_tls_conn *c = NULL, *s = NULL;
    char fp[PL_TLS_FINGERPRINT_BYTES], want[PL_TLS_FINGERPRINT_BYTES];
    uint8_t buf[16];
    size_t n;

    (void)state;
    assert_int_equal(pl_tls_conn_new_client(&c, cctx, "localhost"), PL_TLS_OK);
    assert_int_equal(pl_tls_conn_new(&s, sctx), PL_TLS_OK);
    assert_false(pl_tls_conn_handshake_done(c));
    assert_int_equal(pl_tls_conn_write(c, buf, 1), PL_TLS_E_STATE);
    assert_int_equal(pl_tls_conn_read(s, buf, sizeof buf, &n), PL_TLS_E_AGAIN);
    assert_int_equal(handshake(c, s, 1), PL_TLS_OK); /* one byte at a time */
    assert_int_equal(pl_tls_conn_peer_fingerprint(c, fp), PL_TLS_OK);
    assert_int_equal(pl_tls_ctx_fingerprint(sctx, want), PL_TLS_OK);
    assert_string_equal(fp, want);
    assert_int_equal(pl_tls_conn_peer_fingerprint(s, fp), PL_TLS_E_STATE);
    assert_int_equal(pl_tls_conn_read(s, buf, sizeof buf, &n), PL_TLS_E_AGAIN);
    pl_tls_conn_free(c);
    pl_tls_conn_free(s);
    /* An IP literal is checked against the IP SANs. */
    assert_int_equal(pl_tls_conn_new_client(&c, cctx, "127.0.0.1"), PL_TLS_OK);
    assert_int_equal(pl_tls_conn_new(&s, sctx), PL_TLS_OK);
    assert_int_equal(handshake(c, s, SIZE_MAX), PL_TLS_OK);
    pl_tls_conn_free(c);
    pl_tls_conn_free(s);
    /* Holders of the wrong kind are refused. */
    assert_int_equal(pl_tls_conn_new(&c, cctx), PL_TLS_E_INVALID_ARG);
    assert_int_equal(pl_tls_conn_new_client(&c, sctx, "localhost"), PL_TLS_E_INVALID_ARG);
    assert_null(c);
    pl_tls_ctx_free(sctx);
    pl_tls_ctx_free(cctx);
}

static void client_refuses_untrusted_or_misnamed_server(void **state)
{
    pl_tls_ctx *sctx = server_ctx(cert_a, key_a), *cb = client_ctx(cert_b),
               *ca = client_ctx(cert_a);
    pl_tls_conn *c = NULL, *s = NULL;

    (void)state;
    assert_int_equal(pl_tls_conn_new_client(&c, cb, "localhost"), PL_TLS_OK);
    assert_int_equal(pl_tls_conn_new(&s, sctx), PL_TLS_OK);
    assert_int_equal(handshake(c, s, SIZE_MAX), PL_TLS_E_HANDSHAKE);
    assert_false(pl_tls_conn_handshake_done(c));
    assert_true(strlen(pl_tls_conn_error_detail(c)) > 0);
    pl_tls_conn_free(c);
    pl_tls_conn_free(s);

    assert_int_equal(pl_tls_conn_new_client(&c, ca, "chat.example.org"), PL_TLS_OK);
    assert_int_equal(pl_tls_conn_new(&s, sctx), PL_TLS_OK);
    assert_int_equal(handshake(c, s, SIZE_MAX), PL_TLS_E_HANDSHAKE);
    pl_tls_conn_free(c);
    pl_tls_conn_free(s);
    pl_tls_ctx_free(sctx);
    pl_tls_ctx_free(cb);
    pl_tls_ctx_free(ca);
}

/* A pinned client completes the handshake with any server and sees its fingerprint, which
 * is what it must compare with its pin. */
static void pinned_client_sees_each_servers_fingerprint(void **state)
{
    pl_tls_ctx *sa = server_ctx(cert_a, key_a), *sb = server_ctx(cert_b, key_b), *pin = NULL;
    char err[256], fpa[PL_TLS_FINGERPRINT_BYTES], fpb[PL_TLS_FINGERPRINT_BYTES];
    char seen[PL_TLS_FINGERPRINT_BYTES];
    pl_tls_conn *c = NULL, *s = NULL;

    (void)state;
    assert_int_equal(pl_tls_ctx_new_client_pinned(&pin, err, sizeof err), PL_TLS_OK);
    assert_int_equal(pl_tls_ctx_fingerprint(sa, fpa), PL_TLS_OK);
    assert_int_equal(pl_tls_ctx_fingerprint(sb, fpb), PL_TLS_OK);
    connect_pair(pin, sa, &c, &s);
    assert_int_equal(pl_tls_conn_peer_fingerprint(c, seen), PL_TLS_OK);
    assert_string_equal(seen, fpa);
    pl_tls_conn_free(c);
    pl_tls_conn_free(s);
    connect_pair(pin, sb, &c, &s);
    assert_int_equal(pl_tls_conn_peer_fingerprint(c, seen), PL_TLS_OK);
    assert_string_equal(seen, fpb);
    assert_string_not_equal(fpa, fpb);
    pl_tls_conn_free(c);
    pl_tls_conn_free(s);
    pl_tls_ctx_free(pin);
    pl_tls_ctx_free(sa);
    pl_tls_ctx_free(sb);
}

static void tls12_client_is_refused(void **state)
{
    pl_tls_ctx *sctx = server_ctx(cert_a, key_a);
    pl_tls_conn *s = NULL;
    SSL_CTX *old_ctx;
    SSL *old;
    BIO *rb, *wb;
    char *p;
    long len;
    const uint8_t *out;
    size_t olen;

    (void)state;
    assert_non_null(old_ctx = SSL_CTX_new(TLS_client_method()));
    assert_true(SSL_CTX_set_max_proto_version(old_ctx, TLS1_2_VERSION));
    assert_non_null(old = SSL_new(old_ctx));
    rb = BIO_new(BIO_s_mem());
    wb = BIO_new(BIO_s_mem());
    SSL_set_bio(old, rb, wb);
    SSL_set_connect_state(old);
    assert_int_equal(SSL_do_handshake(old), -1); /* wants the ServerHello */
    len = BIO_get_mem_data(wb, &p);
    assert_true(len > 0);

    assert_int_equal(pl_tls_conn_new(&s, sctx), PL_TLS_OK);
    assert_int_equal(pl_tls_conn_feed(s, (const uint8_t *)p, (size_t)len), PL_TLS_E_HANDSHAKE);
    assert_false(pl_tls_conn_handshake_done(s));
    pl_tls_conn_pending_output(s, &out, &olen);
    assert_true(olen >= 7);
    assert_int_equal(out[0], 0x15); /* an alert record for the client */
    assert_int_equal(BIO_write(rb, out, (int)olen), (int)olen);
    assert_int_equal(SSL_do_handshake(old), -1);
    assert_int_equal(SSL_get_error(old, -1), SSL_ERROR_SSL);
    ERR_clear_error();
    /* The error is sticky. */
    assert_int_equal(pl_tls_conn_feed(s, (const uint8_t *)"x", 1), PL_TLS_E_HANDSHAKE);
    SSL_free(old);
    SSL_CTX_free(old_ctx);
    pl_tls_conn_free(s);
    pl_tls_ctx_free(sctx);
}

static void exporter_matches_at_both_ends_and_differs_per_connection(void **state)
{
    pl_tls_ctx *sctx = server_ctx(cert_a, key_a), *cctx = client_ctx(cert_a);
    pl_tls_conn *c1 = NULL, *s1 = NULL, *c2 = NULL, *s2 = NULL, *fresh = NULL;
    uint8_t ec1[PL_TLS_EXPORTER_BYTES], es1[PL_TLS_EXPORTER_BYTES];
    uint8_t ec2[PL_TLS_EXPORTER_BYTES], es2[PL_TLS_EXPORTER_BYTES];
    uint8_t zero[PL_TLS_EXPORTER_BYTES] = {0};

    (void)state;
    assert_int_equal(pl_tls_conn_new(&fresh, sctx), PL_TLS_OK);
    memset(ec1, 0xAA, sizeof ec1);
    assert_int_equal(pl_tls_conn_exporter(fresh, ec1), PL_TLS_E_STATE);
    assert_memory_equal(ec1, zero, sizeof zero);

    connect_pair(cctx, sctx, &c1, &s1);
    connect_pair(cctx, sctx, &c2, &s2);
    assert_int_equal(pl_tls_conn_exporter(c1, ec1), PL_TLS_OK);
    assert_int_equal(pl_tls_conn_exporter(s1, es1), PL_TLS_OK);
    assert_int_equal(pl_tls_conn_exporter(c2, ec2), PL_TLS_OK);
    assert_int_equal(pl_tls_conn_exporter(s2, es2), PL_TLS_OK);
    assert_memory_equal(ec1, es1, sizeof ec1);
    assert_memory_equal(ec2, es2, sizeof ec2);
    assert_memory_not_equal(ec1, ec2, sizeof ec1);
    assert_memory_not_equal(ec1, zero, sizeof ec1);
    pl_tls_conn_free(fresh);
    pl_tls_conn_free(c1);
    pl_tls_conn_free(s1);
    pl_tls_conn_free(c2);
    pl_tls_conn_free(s2);
    pl_tls_ctx_free(sctx);
    pl_tls_ctx_free(cctx);
}

static void data_both_ways_with_chunked_delivery(void **state)
{
    static const size_t sizes[] = {1, 100, 16384, 16385, 100000};
    static const size_t chunks[] = {1, 13, 4096, SIZE_MAX};
    pl_tls_ctx *sctx = server_ctx(cert_a, key_a), *cctx = client_ctx(cert_a);
    pl_tls_conn *c = NULL, *s = NULL;

    (void)state;
    connect_pair(cctx, sctx, &c, &s);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        for (size_t j = 0; j < sizeof chunks / sizeof chunks[0]; j++) {
            if (sizes[i] > 20000 && chunks[j] == 1)
                continue; /* slow and adds nothing */
            transfer(c, s, sizes[i], chunks[j], 7);
            transfer(s, c, sizes[i], chunks[j], 20000);
        }
    }
    pl_tls_conn_free(c);
    pl_tls_conn_free(s);
    pl_tls_ctx_free(sctx);
    pl_tls_ctx_free(cctx);
}

static void output_bound_refuses_writes_to_a_client_that_stops_reading(void **state)
{
    pl_tls_ctx *sctx = server_ctx(cert_a, key_a), *cctx = client_ctx(cert_a);
    pl_tls_conn *c = NULL, *s = NULL;
    static uint8_t block[4096];
    const uint8_t *p;
    size_t len, writes = 0, moved;
    int r;

    (void)state;
    connect_pair(cctx, sctx, &c, &s);
    pl_tls_conn_set_output_bound(s, 64 * 1024);
    while ((r = pl_tls_conn_write(s, block, sizeof block)) == PL_TLS_OK)
        writes++;
    assert_int_equal(r, PL_TLS_E_OUTPUT_FULL);
    assert_true(writes >= 14 && writes <= 16);
    pl_tls_conn_pending_output(s, &p, &len);
    assert_true(len <= 64 * 1024);
    assert_int_equal(pl_tls_conn_write(s, block, sizeof block), PL_TLS_E_OUTPUT_FULL);
    pl_tls_conn_pending_output(s, &p, &len);
    assert_true(len <= 64 * 1024); /* the refused write queued nothing */
    /* One write larger than the bound is refused outright. */
    {
        uint8_t *big = calloc(1, 70 * 1024);
        assert_non_null(big);
        pl_tls_conn_set_output_bound(c, 64 * 1024);
        assert_int_equal(pl_tls_conn_write(c, big, 70 * 1024), PL_TLS_E_OUTPUT_FULL);
        free(big);
    }
    /* Not sticky: once the socket took the bytes, writing works again. */
    assert_int_equal(move_bytes(s, c, SIZE_MAX, &moved), PL_TLS_OK);
    assert_int_equal(pl_tls_conn_write(s, block, sizeof block), PL_TLS_OK);
    pl_tls_conn_free(c);
    pl_tls_conn_free(s);
    pl_tls_ctx_free(sctx);
    pl_tls_ctx_free(cctx);
}

static void input_bound_refuses_feeding_past_it(void **state)
{
    pl_tls_ctx *sctx = server_ctx(cert_a, key_a), *cctx = client_ctx(cert_a);
    pl_tls_conn *c = NULL, *s = NULL;
    uint8_t *data = calloc(1, 400 * 1024), buf[16384];
    const uint8_t *p;
    size_t len, n, fed = 0, got = 0;

    (void)state;
    assert_non_null(data);
    connect_pair(cctx, sctx, &c, &s);
    pl_tls_conn_set_output_bound(c, 1024 * 1024);
    assert_int_equal(pl_tls_conn_write(c, data, 400 * 1024), PL_TLS_OK);
    pl_tls_conn_pending_output(c, &p, &len);
    assert_int_equal(pl_tls_conn_feed(s, p, PL_TLS_MAX_INPUT_BYTES), PL_TLS_OK);
    assert_int_equal(pl_tls_conn_feed(s, p + PL_TLS_MAX_INPUT_BYTES, 1), PL_TLS_E_INPUT_FULL);
    fed = PL_TLS_MAX_INPUT_BYTES;
    pl_tls_conn_consume_output(c, fed);
    /* Reading plaintext makes room; everything arrives. */
    while (got < 400 * 1024) {
        int r = pl_tls_conn_read(s, buf, sizeof buf, &n);
        if (r == PL_TLS_OK) {
            got += n;
            continue;
        }
        assert_int_equal(r, PL_TLS_E_AGAIN);
        pl_tls_conn_pending_output(c, &p, &len);
        assert_true(len > 0);
        assert_int_equal(pl_tls_conn_feed(s, p, len), PL_TLS_OK);
        pl_tls_conn_consume_output(c, len);
    }
    assert_int_equal(got, 400 * 1024);
    free(data);
    pl_tls_conn_free(c);
    pl_tls_conn_free(s);
    pl_tls_ctx_free(sctx);
    pl_tls_ctx_free(cctx);
}

static void close_notify_both_ways(void **state)
{
    pl_tls_ctx *sctx = server_ctx(cert_a, key_a), *cctx = client_ctx(cert_a);
    pl_tls_conn *c = NULL, *s = NULL;
    uint8_t buf[64];
    size_t n, moved;

    (void)state;
    connect_pair(cctx, sctx, &c, &s);
    transfer(c, s, 10, SIZE_MAX, sizeof buf);
    assert_int_equal(pl_tls_conn_close(c), PL_TLS_OK);
    assert_int_equal(pl_tls_conn_write(c, buf, 1), PL_TLS_E_CLOSED);
    assert_int_equal(move_bytes(c, s, SIZE_MAX, &moved), PL_TLS_OK);
    assert_true(moved > 0);
    assert_int_equal(pl_tls_conn_read(s, buf, sizeof buf, &n), PL_TLS_E_CLOSED);
    assert_int_equal(pl_tls_conn_write(s, buf, 1), PL_TLS_E_CLOSED);
    assert_int_equal(pl_tls_conn_close(s), PL_TLS_OK);
    assert_int_equal(move_bytes(s, c, SIZE_MAX, &moved), PL_TLS_OK);
    assert_true(moved > 0);
    assert_int_equal(pl_tls_conn_read(c, buf, sizeof buf, &n), PL_TLS_E_CLOSED);
    assert_int_equal(pl_tls_conn_close(c), PL_TLS_OK); /* idempotent */
    pl_tls_conn_free(c);
    pl_tls_conn_free(s);
    /* Closing mid-handshake sends nothing. */
    assert_int_equal(pl_tls_conn_new(&s, sctx), PL_TLS_OK);
    assert_int_equal(pl_tls_conn_close(s), PL_TLS_OK);
    pl_tls_conn_free(s);
    pl_tls_ctx_free(sctx);
    pl_tls_ctx_free(cctx);
}

static void reload_keeps_old_connections_and_serves_the_new_cert(void **state)
{
    char dir[256], cert[300], key[300], err[512];
    char fa[PL_TLS_FINGERPRINT_BYTES], fb[PL_TLS_FINGERPRINT_BYTES], fp[PL_TLS_FINGERPRINT_BYTES];
    pl_tls_ctx *sctx, *ca = client_ctx(cert_a), *cb = client_ctx(cert_b);
    pl_tls_conn *c1 = NULL, *s1 = NULL, *c2 = NULL, *s2 = NULL, *c3 = NULL, *s3 = NULL;

    (void)state;
    make_data_dir(dir, sizeof dir, "live");
    snprintf(cert, sizeof cert, "%s/fullchain.pem", dir);
    snprintf(key, sizeof key, "%s/privkey.pem", dir);
    copy_file(cert_a, cert, 0644);
    copy_file(key_a, key, 0600);
    assert_int_equal(pl_tls_cert_fingerprint_file(cert_a, fa, err, sizeof err), PL_TLS_OK);
    assert_int_equal(pl_tls_cert_fingerprint_file(cert_b, fb, err, sizeof err), PL_TLS_OK);

    sctx = server_ctx(cert, key);
    connect_pair(ca, sctx, &c1, &s1);

    /* The operator renews: new files, then SIGHUP. */
    copy_file(cert_b, cert, 0644);
    copy_file(key_b, key, 0600);
    assert_int_equal(pl_tls_ctx_reload(sctx, err, sizeof err), PL_TLS_OK);
    assert_int_equal(pl_tls_ctx_generation(sctx), 1);
    assert_int_equal(pl_tls_ctx_fingerprint(sctx, fp), PL_TLS_OK);
    assert_string_equal(fp, fb);

    /* The old connection keeps its context and works both ways. */
    transfer(c1, s1, 5000, 100, 64);
    transfer(s1, c1, 5000, SIZE_MAX, 64);
    /* A new one sees the new certificate; a client trusting only the old one fails. */
    connect_pair(cb, sctx, &c2, &s2);
    assert_int_equal(pl_tls_conn_peer_fingerprint(c2, fp), PL_TLS_OK);
    assert_string_equal(fp, fb);
    assert_int_equal(pl_tls_conn_new_client(&c3, ca, "localhost"), PL_TLS_OK);
    assert_int_equal(pl_tls_conn_new(&s3, sctx), PL_TLS_OK);
    assert_int_equal(handshake(c3, s3, SIZE_MAX), PL_TLS_E_HANDSHAKE);
    pl_tls_conn_free(c3);
    pl_tls_conn_free(s3);
    c3 = s3 = NULL;

    /* The holder may go before its connections. */
    pl_tls_ctx_free(sctx);
    transfer(c1, s1, 100, SIZE_MAX, 64);
    transfer(c2, s2, 100, SIZE_MAX, 64);
    pl_tls_conn_free(c1);
    pl_tls_conn_free(s1);
    pl_tls_conn_free(c2);
    pl_tls_conn_free(s2);
    pl_tls_ctx_free(ca);
    pl_tls_ctx_free(cb);
}

static void failed_reload_keeps_the_old_context(void **state)
{
    char dir[256], cert[300], key[300], err[512], fa[PL_TLS_FINGERPRINT_BYTES];
    char fp[PL_TLS_FINGERPRINT_BYTES];
    pl_tls_ctx *sctx, *ca = client_ctx(cert_a);
    pl_tls_conn *c = NULL, *s = NULL;
    FILE *f;

    (void)state;
    make_data_dir(dir, sizeof dir, "badreload");
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    copy_file(cert_a, cert, 0644);
    copy_file(key_a, key, 0600);
    assert_int_equal(pl_tls_cert_fingerprint_file(cert_a, fa, err, sizeof err), PL_TLS_OK);
    sctx = server_ctx(cert, key);

    /* A new certificate without its key: mismatch. */
    copy_file(cert_b, cert, 0644);
    assert_int_equal(pl_tls_ctx_reload(sctx, err, sizeof err), PL_TLS_E_KEY_MISMATCH);
    /* A truncated certificate. */
    assert_non_null(f = fopen(cert, "w"));
    fputs("-----BEGIN CERTIFICATE-----\nMIIB\n", f);
    fclose(f);
    assert_int_equal(pl_tls_ctx_reload(sctx, err, sizeof err), PL_TLS_E_BAD_CERT);
    assert_non_null(strstr(err, cert));
    /* A key others can read. */
    copy_file(cert_a, cert, 0644);
    assert_int_equal(chmod(key, 0644), 0);
    assert_int_equal(pl_tls_ctx_reload(sctx, err, sizeof err), PL_TLS_E_KEY_PERMISSIONS);

    assert_int_equal(pl_tls_ctx_generation(sctx), 0);
    assert_int_equal(pl_tls_ctx_fingerprint(sctx, fp), PL_TLS_OK);
    assert_string_equal(fp, fa);
    connect_pair(ca, sctx, &c, &s);
    transfer(c, s, 10, SIZE_MAX, 64);
    pl_tls_conn_free(c);
    pl_tls_conn_free(s);
    pl_tls_ctx_free(sctx);
    pl_tls_ctx_free(ca);
}

static void garbage_client_hello_is_an_error(void **state)
{
    static const char http[] = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    static const uint8_t fake_record[] = {0x16, 0x03, 0x01, 0x00, 0x05,
                                          0x01, 0x00, 0x00, 0x01, 0xff};
    pl_tls_ctx *sctx = server_ctx(cert_a, key_a), *cctx = client_ctx(cert_a);
    pl_tls_conn *s = NULL, *c = NULL;
    uint8_t hello[4096], buf[64];
    const uint8_t *p;
    size_t hlen, n;
    int r;

    (void)state;
    assert_int_equal(pl_tls_conn_new(&s, sctx), PL_TLS_OK);
    assert_int_equal(pl_tls_conn_feed(s, (const uint8_t *)http, sizeof http - 1),
                     PL_TLS_E_HANDSHAKE);
    assert_int_equal(pl_tls_conn_read(s, buf, sizeof buf, &n), PL_TLS_E_HANDSHAKE);
    assert_int_equal(pl_tls_conn_write(s, buf, 1), PL_TLS_E_HANDSHAKE);
    assert_int_equal(pl_tls_conn_close(s), PL_TLS_E_HANDSHAKE);
    pl_tls_conn_free(s);

    assert_int_equal(pl_tls_conn_new(&s, sctx), PL_TLS_OK);
    assert_int_equal(pl_tls_conn_feed(s, fake_record, sizeof fake_record), PL_TLS_E_HANDSHAKE);
    pl_tls_conn_free(s);

    /* Every single-byte corruption of a real ClientHello: an error or a wait, no crash. */
    assert_int_equal(pl_tls_conn_new_client(&c, cctx, "localhost"), PL_TLS_OK);
    pl_tls_conn_pending_output(c, &p, &hlen);
    assert_true(hlen > 0 && hlen <= sizeof hello);
    memcpy(hello, p, hlen);
    pl_tls_conn_free(c);
    for (size_t i = 0; i < hlen; i += 3) {
        hello[i] ^= 0x5A;
        assert_int_equal(pl_tls_conn_new(&s, sctx), PL_TLS_OK);
        r = pl_tls_conn_feed(s, hello, hlen);
        assert_true(r == PL_TLS_OK || r == PL_TLS_E_HANDSHAKE);
        pl_tls_conn_free(s);
        hello[i] ^= 0x5A;
    }
    assert_int_equal(ERR_peek_error(), 0);
    pl_tls_ctx_free(sctx);
    pl_tls_ctx_free(cctx);
}

static void every_error_code_has_a_name_and_message(void **state)
{
    (void)state;
#define CHECK_CODE(name, value, msg)                                                               \
    assert_string_equal(pl_tls_strerror(value), msg);                                              \
    assert_string_equal(pl_tls_errname(value), "PL_TLS_" #name);
    PL_TLS_ERRNO_MAP(CHECK_CODE)
#undef CHECK_CODE
    assert_string_equal(pl_tls_strerror(-99999), "unknown error");
    assert_string_equal(pl_tls_errname(1), "PL_TLS_E_UNKNOWN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cert_generated_with_modes_and_fingerprint),
        cmocka_unit_test(cert_second_call_reuses_files),
        cmocka_unit_test(cert_one_file_missing_is_refused),
        cmocka_unit_test(cert_key_readable_by_others_is_refused),
        cmocka_unit_test(cert_bad_names_and_missing_dir_are_errors),
        cmocka_unit_test(ctx_refuses_mismatched_key_and_bad_files),
        cmocka_unit_test(handshake_in_process),
        cmocka_unit_test(client_refuses_untrusted_or_misnamed_server),
        cmocka_unit_test(pinned_client_sees_each_servers_fingerprint),
        cmocka_unit_test(tls12_client_is_refused),
        cmocka_unit_test(exporter_matches_at_both_ends_and_differs_per_connection),
        cmocka_unit_test(data_both_ways_with_chunked_delivery),
        cmocka_unit_test(output_bound_refuses_writes_to_a_client_that_stops_reading),
        cmocka_unit_test(input_bound_refuses_feeding_past_it),
        cmocka_unit_test(close_notify_both_ways),
        cmocka_unit_test(reload_keeps_old_connections_and_serves_the_new_cert),
        cmocka_unit_test(failed_reload_keeps_the_old_context),
        cmocka_unit_test(garbage_client_hello_is_an_error),
        cmocka_unit_test(every_error_code_has_a_name_and_message),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
