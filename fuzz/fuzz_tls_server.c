/*
 * fuzz_tls_server.c: hostile bytes from the network into a server-side TLS connection.
 *
 * A parleyd connection's first bytes come from anyone. The input is fed to a fresh server
 * tls_conn in chunks whose sizes the first input byte chooses; after each chunk the
 * pending output is drained and plaintext read, as the event loop will. Every result must
 * be a code from PL_TLS_ERRNO_MAP, a fatal error must stay fatal, and nothing may crash or
 * leak. The certificate is made once, in a temporary directory removed at exit.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "tls_cert.h"
#include "tls_conn.h"
#include "tls_ctx.h"

static pl_tls_ctx *server_ctx;
static char data_dir[] = "/tmp/parley-fuzz-tls.XXXXXX";
static char cert_path[512], key_path[512];

static void remove_data_dir(void)
{
    char tls_dir[600];

    pl_tls_ctx_free(server_ctx);
    unlink(cert_path);
    unlink(key_path);
    snprintf(tls_dir, sizeof tls_dir, "%s/%s", data_dir, PL_TLS_DIR);
    rmdir(tls_dir);
    rmdir(data_dir);
}

static void setup_once(void)
{
    char err[256];
    int created = 0;

    if (server_ctx)
        return;
    FZ_CHECK(mkdtemp(data_dir) != NULL);
    FZ_CHECK(pl_tls_cert_ensure(data_dir, NULL, 0, &created, err, sizeof err) == PL_TLS_OK);
    FZ_CHECK(pl_tls_cert_default_paths(data_dir, cert_path, key_path, sizeof cert_path) ==
             PL_TLS_OK);
    FZ_CHECK(pl_tls_ctx_new_server(&server_ctx, cert_path, key_path, err, sizeof err) == PL_TLS_OK);
    atexit(remove_data_dir);
}

static int is_tls_code(int rc)
{
    return rc == PL_TLS_OK || (rc <= PL_TLS_E_NOMEM && rc >= PL_TLS_E_INPUT_FULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pl_tls_conn *conn = NULL;
    uint8_t plaintext[4096];
    size_t chunk, off = 1;
    int fatal = 0;

    setup_once();
    if (size < 1)
        return 0;
    chunk = (size_t)(data[0] % 64) + 1; /* 1..64 bytes, or everything when data[0] >= 192 */
    if (data[0] >= 192)
        chunk = size;
    FZ_CHECK(pl_tls_conn_new(&conn, server_ctx) == PL_TLS_OK);

    while (off < size && !fatal) {
        size_t n = size - off < chunk ? size - off : chunk, got = 0;
        const uint8_t *out;
        size_t out_len;
        int rc = pl_tls_conn_feed(conn, data + off, n);

        FZ_CHECK(is_tls_code(rc));
        if (rc == PL_TLS_E_HANDSHAKE || rc == PL_TLS_E_PROTOCOL || rc == PL_TLS_E_CLOSED)
            fatal = 1;
        if (rc == PL_TLS_E_INPUT_FULL)
            break; /* the server closes such a connection; feeding on would loop */
        off += n;
        pl_tls_conn_pending_output(conn, &out, &out_len);
        if (out_len)
            pl_tls_conn_consume_output(conn, out_len);
        do {
            rc = pl_tls_conn_read(conn, plaintext, sizeof plaintext, &got);
            FZ_CHECK(is_tls_code(rc));
        } while (rc == PL_TLS_OK);
        if (rc != PL_TLS_E_AGAIN)
            fatal = 1;
    }
    if (fatal) {
        /* A fatal error is sticky: no later call may succeed. */
        size_t got = 0;
        int rc = pl_tls_conn_read(conn, plaintext, sizeof plaintext, &got);
        FZ_CHECK(rc != PL_TLS_OK && got == 0);
    }
    pl_tls_conn_free(conn);
    return 0;
}
