/*
 * fanout_store_bench.c: the store side of a GroupSend fan-out, without the network: the cost
 * of appending, acknowledging and expiring the envelopes of fan-outs whose ciphertext is
 * shared (schema v5, one group_payloads row per fan-out) against the same envelopes each
 * holding its own copy (what a Send stores, and what schema v4 stored for a GroupSend).
 *
 *   fanout-store-bench [--devices N] [--fanouts K] [--bytes B]   (default 1000, 20, 16384)
 *
 * In a fresh database under /tmp (removed at the end): N one-device accounts; K appends of N
 * envelopes each (one transaction and fsync per append, as the store worker's group commit);
 * then every device acknowledges its K envelopes in one call (one transaction each); then the
 * same K x N again, expired in one pass. Shared and copied alternate, fresh database each.
 * Prints one human line and one JSON line per mode. Figures in docs/BENCHMARKS.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

static uint64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int fail(const char *what, pl_store *s, int r)
{
    fprintf(stderr, "fanout-store-bench: %s: %s (%s)\n", what, pl_store_errname(r),
            s ? pl_store_last_error(s) : "");
    return 1;
}

/* Appends K fan-outs of N envelopes at time ts; shared: group envelopes with one buffer. */
static int append_all(pl_store *s, char (*names)[16], size_t n, size_t k, const uint8_t *ct,
                      size_t bytes, int shared, uint64_t ts, pl_store_envelope *envs)
{
    size_t failed;
    int r;

    for (size_t j = 0; j < k; j++) {
        for (size_t i = 0; i < n; i++) {
            memset(&envs[i], 0, sizeof envs[i]);
            envs[i].recipient = names[i];
            envs[i].recipient_device = 1;
            envs[i].sender = "sender";
            envs[i].sender_device = 1;
            envs[i].server_ts_ms = ts;
            envs[i].ciphertext = ct;
            envs[i].ciphertext_len = bytes;
            envs[i].group = shared; /* group 0: the same pointer is not shared */
        }
        if ((r = pl_store_mailbox_append(s, envs, n, &failed)) != PL_STORE_OK)
            return fail("append", s, r);
    }
    return 0;
}

static int run(const char *dir, size_t n, size_t k, const uint8_t *ct, size_t bytes, int shared)
{
    static char names[10000][16];
    char path[256];
    pl_store_options o = {.mailbox_quota = 1000000, .retention_ms = 1000};
    pl_store *s = NULL;
    pl_store_envelope *envs = calloc(n, sizeof *envs);
    uint64_t *seqs = calloc(k, sizeof *seqs), t0, t_append, t_ack, t_expire, expired = 0;
    uint8_t key[PL_PUBKEY_BYTES] = {1};
    char err[256];
    int r;

    if (!envs || !seqs)
        return 1;
    snprintf(path, sizeof path, "%s/bench-%d.db", dir, shared);
    if ((r = pl_store_open_sqlite(path, &o, &s, err, sizeof err)) != PL_STORE_OK) {
        fprintf(stderr, "fanout-store-bench: %s\n", err);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        pl_store_device d;

        memset(&d, 0, sizeof d);
        d.device_id = 1;
        snprintf(names[i], sizeof names[i], "m%u", (unsigned)i); /* i < 10000 */
        if ((r = pl_store_account_create(s, names[i], key, 1)) != PL_STORE_OK ||
            (r = pl_store_device_add(s, names[i], &d)) != PL_STORE_OK)
            return fail("register", s, r);
    }
    t0 = mono_ns();
    if (append_all(s, names, n, k, ct, bytes, shared, 5000, envs))
        return 1;
    t_append = mono_ns() - t0;
    for (size_t j = 0; j < k; j++)
        seqs[j] = j + 1;
    t0 = mono_ns();
    for (size_t i = 0; i < n; i++)
        if ((r = pl_store_mailbox_ack(s, names[i], 1, seqs, k, NULL)) != PL_STORE_OK)
            return fail("ack", s, r);
    t_ack = mono_ns() - t0;
    if (append_all(s, names, n, k, ct, bytes, shared, 5000, envs))
        return 1;
    t0 = mono_ns();
    if ((r = pl_store_mailbox_expire(s, 9000, NULL, NULL, &expired)) != PL_STORE_OK)
        return fail("expire", s, r);
    t_expire = mono_ns() - t0;
    if (expired != (uint64_t)n * k)
        return fail("expire count", s, PL_STORE_E_CORRUPT);
    printf("%-6s %zu fan-outs x %zu devices, %zu B: append %.2f us/envelope (%.1f ms/fan-out), "
           "ack %.2f us/envelope, expire %.2f us/envelope\n",
           shared ? "shared" : "copied", k, n, bytes, t_append / 1e3 / (double)(n * k),
           t_append / 1e6 / (double)k, t_ack / 1e3 / (double)(n * k),
           t_expire / 1e3 / (double)(n * k));
    printf("{\"bench\":\"fanout_store\",\"mode\":\"%s\",\"devices\":%zu,\"fanouts\":%zu,"
           "\"bytes\":%zu,\"append_us_per_env\":%.3f,\"ack_us_per_env\":%.3f,"
           "\"expire_us_per_env\":%.3f}\n",
           shared ? "shared" : "copied", n, k, bytes, t_append / 1e3 / (double)(n * k),
           t_ack / 1e3 / (double)(n * k), t_expire / 1e3 / (double)(n * k));
    pl_store_close(s);
    for (size_t i = 0; i < 3; i++) {
        static const char *const suffixes[] = {"", "-wal", "-shm"};
        char p[300];

        snprintf(p, sizeof p, "%s%s", path, suffixes[i]);
        (void)unlink(p);
    }
    free(envs);
    free(seqs);
    return 0;
}

int main(int argc, char **argv)
{
    size_t n = 1000, k = 20, bytes = 16384;
    char dir[] = "/tmp/fanout-store-bench-XXXXXX";
    uint8_t *ct;
    int rc = 0;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--devices") == 0)
            n = strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--fanouts") == 0)
            k = strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--bytes") == 0)
            bytes = strtoul(argv[i + 1], NULL, 10);
    }
    if (n == 0 || n > 10000 || k == 0 || k > 1000 || bytes == 0 || bytes > 98440 || !mkdtemp(dir) ||
        !(ct = malloc(bytes))) {
        fprintf(stderr, "usage: fanout-store-bench [--devices N<=10000] [--fanouts K<=1000] "
                        "[--bytes B<=98440]\n");
        return 2;
    }
    memset(ct, 0xa5, bytes);
    rc = run(dir, n, k, ct, bytes, 1) || run(dir, n, k, ct, bytes, 0);
    free(ct);
    rmdir(dir);
    return rc;
}
