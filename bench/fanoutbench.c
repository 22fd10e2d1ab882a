/*
 * fanoutbench.c: GroupSend fan-out through a real parleyd over loopback TLS (PROTOCOL.md §31).
 *
 *   fanout-bench [--reps K] [--bytes B] [--online O] [SIZE...]     (default sizes 10 100 1000)
 *
 * Starts the parleyd of this build (the integration tests' harness), registers
 * max(SIZE) one-device accounts and a sender, logs O of the recipient devices in (default
 * 10; they receive live pushes, the others are stored for later), then for each SIZE sends
 * K GroupSends of a B-byte ciphertext (default 50 and 300) to the first SIZE devices, one at
 * a time, each waited for: the request latency is from writing the frame to reading
 * STATUS_OK, which the server sends only after every envelope is committed (one fsync).
 * The fan-out rate is SIZE * K envelopes over the total time. The online devices' pushes are
 * read and counted after each size. Human-readable lines, then one JSON line per size.
 *
 * Built only with the tests (it links their blocking client); run from the build tree:
 * build/bench/fanout-bench. Figures in docs/BENCHMARKS.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "parleyd_test.h"

#define MAX_SIZE 2000u

static uint64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

/* One GroupSend of ct to the first n accounts of rcpt (device 1 each). Returns the status. */
static int group_send(wc_conn *c, wi_account **rcpt, size_t n, const uint8_t *ct, size_t ct_len)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__GroupSend body = PARLEY__GROUP_SEND__INIT;
    Parley__ServerFrame *f = NULL;
    static char names[MAX_SIZE * (WI_NAME_MAX + 1)];
    static uint32_t counts[MAX_SIZE], ids[MAX_SIZE];
    static uint8_t keys[MAX_SIZE * PL_PUBKEY_BYTES];
    uint8_t cmid[16];
    size_t at = 0;
    int r;

    for (size_t i = 0; i < n; i++) {
        at += (size_t)snprintf(names + at, sizeof names - at, i ? " %s" : "%s", rcpt[i]->username);
        counts[i] = 1;
        ids[i] = rcpt[i]->devices[0].id;
        memcpy(keys + i * PL_PUBKEY_BYTES, rcpt[i]->devices[0].identity_key, PL_PUBKEY_BYTES);
    }
    randombytes_buf(cmid, sizeof cmid);
    body.ciphertext.data = (uint8_t *)ct;
    body.ciphertext.len = ct_len;
    body.client_message_id.data = cmid;
    body.client_message_id.len = sizeof cmid;
    body.usernames = names;
    body.device_counts = counts;
    body.n_device_counts = n;
    body.device_ids = ids;
    body.n_device_ids = n;
    body.identity_keys.data = keys;
    body.identity_keys.len = n * PL_PUBKEY_BYTES;
    req.body_case = PARLEY__REQUEST__BODY_GROUP_SEND;
    req.group_send = &body;
    if ((r = wc_request(c, &req, &f, 60000)) != WC_OK)
        return r;
    r = wc_status(f);
    pl_frame_server_free(f);
    return r;
}

static void usage(void)
{
    fprintf(stderr, "usage: fanout-bench [--reps K] [--bytes B] [--online O] [SIZE...]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    size_t sizes[16] = {0}, n_sizes = 0, max_size = 0, reps = 50, bytes = 300, online = 10;
    static const char *const settings[] = {"server.frames_per_second=100000",
                                           "server.frames_burst=100000",
                                           "server.log_level=warn",
                                           "mailbox.quota_envelopes=1000000",
                                           "limits.max_group_recipient_devices=10000",
                                           NULL};
    wi_account **rcpt, *snd = NULL;
    wc_conn *reg = NULL, *cs, **on;
    uint8_t *ct;
    ph_server *srv;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--bytes") == 0 && i + 1 < argc)
            bytes = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--online") == 0 && i + 1 < argc)
            online = strtoul(argv[++i], NULL, 10);
        else if (argv[i][0] != '-' && n_sizes < 16)
            sizes[n_sizes++] = strtoul(argv[i], NULL, 10);
        else
            usage();
    }
    if (n_sizes == 0) {
        sizes[0] = 10;
        sizes[1] = 100;
        sizes[2] = 1000;
        n_sizes = 3;
    }
    for (size_t i = 0; i < n_sizes; i++) {
        if (sizes[i] == 0 || sizes[i] > MAX_SIZE)
            usage();
        if (sizes[i] > max_size)
            max_size = sizes[i];
    }
    if (reps == 0 || bytes == 0 || bytes > 98440)
        usage();
    if (online > max_size)
        online = max_size;
    if (pl_init() != PL_OK)
        return 1;
    srv = ph_start(settings);
    rcpt = calloc(max_size, sizeof *rcpt);
    on = calloc(online ? online : 1, sizeof *on);
    ct = malloc(bytes);
    if (!rcpt || !on || !ct)
        return 1;
    randombytes_buf(ct, bytes);

    if (wc_connect(&reg, srv->port, srv->cert_path) != WC_OK)
        return 1;
    for (size_t i = 0; i <= max_size; i++) {
        char name[WI_NAME_MAX];
        wi_account *a;

        wi_unique_name(name, sizeof name, i == max_size ? "sender" : "member");
        a = wi_account_new(name);
        if (wo_register_account(reg, a) != ST(OK)) {
            fprintf(stderr, "fanout-bench: registering %s failed\n", name);
            return 1;
        }
        if (i == max_size)
            snd = a;
        else
            rcpt[i] = a;
    }
    wc_close(reg);
    cs = wo_login(srv->port, srv->cert_path, snd, &snd->devices[0]);
    for (size_t i = 0; i < online; i++) {
        on[i] = wo_login(srv->port, srv->cert_path, rcpt[i], &rcpt[i]->devices[0]);
        if (wo_expect_queue_empty(on[i], 10000) != WC_OK)
            return 1;
    }
    printf("fanout-bench: %zu-byte ciphertext, %zu GroupSends per size, %zu recipient devices "
           "online, parleyd %s\n",
           bytes, reps, online, srv->dir);
    for (size_t s = 0; s < n_sizes; s++) {
        size_t n = sizes[s], pushes = 0;
        uint64_t *lat = calloc(reps, sizeof *lat), t0, total;
        double rate;

        if (!lat)
            return 1;
        for (int w = 0; w < 2; w++) /* warm-up: statements prepared, pages cached */
            if (group_send(cs, rcpt, n, ct, bytes) != ST(OK))
                return 1;
        t0 = mono_ns();
        for (size_t k = 0; k < reps; k++) {
            uint64_t a = mono_ns();
            int r = group_send(cs, rcpt, n, ct, bytes);

            lat[k] = mono_ns() - a;
            if (r != ST(OK)) {
                fprintf(stderr, "fanout-bench: GroupSend to %zu devices: %s\n", n, wc_name(r));
                return 1;
            }
        }
        total = mono_ns() - t0;
        /* Every online device among the first n got reps + 2 pushes, each marked group. */
        for (size_t i = 0; i < online && i < n; i++)
            for (size_t k = 0; k < reps + 2; k++) {
                Parley__ServerFrame *f = NULL;

                if (wo_next_envelope(on[i], &f, 10000) != WC_OK || !f->push->envelope->group ||
                    f->push->envelope->ciphertext.len != bytes) {
                    fprintf(stderr, "fanout-bench: a push is missing or wrong\n");
                    return 1;
                }
                pl_frame_server_free(f);
                pushes++;
            }
        qsort(lat, reps, sizeof *lat, cmp_u64);
        rate = (double)n * (double)reps / ((double)total / 1e9);
        printf("  %5zu devices: latency median %8.2f ms, p90 %8.2f ms, max %8.2f ms; "
               "fan-out %9.0f envelopes/s; %zu live pushes checked\n",
               n, lat[reps / 2] / 1e6, lat[reps * 9 / 10] / 1e6, lat[reps - 1] / 1e6, rate, pushes);
        printf("{\"bench\":\"group_send\",\"devices\":%zu,\"bytes\":%zu,\"reps\":%zu,"
               "\"latency_median_ms\":%.3f,\"latency_p90_ms\":%.3f,\"latency_max_ms\":%.3f,"
               "\"envelopes_per_s\":%.0f}\n",
               n, bytes, reps, lat[reps / 2] / 1e6, lat[reps * 9 / 10] / 1e6, lat[reps - 1] / 1e6,
               rate);
        free(lat);
    }
    wc_close(cs);
    for (size_t i = 0; i < online; i++)
        wc_close(on[i]);
    ph_stop(srv);
    ph_free(srv);
    return 0;
}
