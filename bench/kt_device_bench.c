/*
 * kt_device_bench.c: kt-bench-device, how long a new device takes to become visible to a
 * contact through key transparency, end to end (docs/BENCHMARKS.md, "Key transparency: a
 * new device, end to end").
 *
 * It starts a real parleyd (the one built here, in a fresh temporary directory, listening on
 * 127.0.0.1 at a port the system picks; loadgen_server.c) with [kt] batch_interval = 1000 ms,
 * once with quorum 0 and once with quorum 1 and one witness: a real `parley-audit run`
 * (initialised here, its vkey put in parleyd's [kt] witnesses), which replays and cosigns
 * each checkpoint parleyd pushes to it (KtWatch, KtAuditGet, KtCosign). Two client
 * connections, both TLS 1.3 trusting exactly the server's certificate (the auditor's
 * blocking wire client, audit_conn.c):
 *   - the owner registers `accounts` accounts (one device each), waits until they are all
 *     published, then for each: sleeps a random 0..999 ms (so the AddDevice lands at a random
 *     phase of the sequencer's timer), sends AddDevice with the account's next state, and
 *     takes t0 when the OK Response arrives (after parleyd's commit);
 *   - the contact polls KtLookup{greatest} for that account every 50 ms (a poll starts 50 ms
 *     after the previous one started, or at once if that one took longer), and checks each
 *     answer as a client does: pl_kt_view_update with the checkpoint and its consistency
 *     proof against the view it keeps (pinned from KtConfig, quorum and witnesses as the
 *     server announces them), then pl_kt_lookup_verify. t1 is when a verified answer shows
 *     version 1 listing the new device's record.
 * The figure is t1 - t0 for each account: median and max. Every wait is bounded (10 s per
 * device, 30 s for the initial publication). Figures, never assertions: it exits non-zero
 * only if something fails (a refused request, a proof that does not verify, a timeout).
 *
 *   build-bench/bench/kt-bench-device [--accounts N] [--quorum 0|1] [--keep]
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "audit_conn.h"
#include "frame.h"
#include "kt_bench_util.h"
#include "loadgen_server.h"

#define MAX_ACCOUNTS 100u
#define POLL_MS 50u
#define DEVICE_TIMEOUT_MS 10000u
#define PUBLISH_TIMEOUT_MS 30000u
#define WITNESS_NAME "bench.example/w1"

#define ST_OK PARLEY__STATUS_CODE__STATUS_OK

/* The contact: a connection and the view it keeps of the log. */
typedef struct contact {
    pl_audit_conn *conn;
    pl_kt_view view;
    uint8_t vrf_pk[PL_VRF_PUBLIC_KEY_BYTES];
    unsigned polls;
} contact;

/* ---- Processes ------------------------------------------------------------------------------- */

/* Runs argv (argv[0] a path) to its end with stdout into out[0..cap) (NUL-terminated, one
 * line: the newline cut) and stderr to /dev/null. Returns its exit status, or -1. */
static int run_capture(char *const argv[], char *out, size_t cap)
{
    int p[2], status = 0, dn;
    size_t len = 0;
    ssize_t n;
    pid_t pid;

    if (pipe(p) != 0)
        return -1;
    if ((pid = fork()) < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(p[1], 1);
        if ((dn = open("/dev/null", O_WRONLY)) >= 0)
            dup2(dn, 2);
        close(p[0]);
        close(p[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    while (len + 1 < cap && (n = read(p[0], out + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    close(p[0]);
    out[len] = '\0';
    out[strcspn(out, "\n")] = '\0';
    if (waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Starts argv in the background with stdout and stderr appended to log. Returns its pid or
 * -1. */
static pid_t spawn(char *const argv[], const char *log)
{
    pid_t pid = fork();
    int fd;

    if (pid != 0)
        return pid;
    if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600)) >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
    }
    execv(argv[0], argv);
    _exit(127);
}

/* SIGTERM to our own child pid, then at most 10 s for it to end (then SIGKILL). */
static void stop_child(pid_t pid)
{
    int status;

    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    for (unsigned i = 0; i < 1000; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return;
        kb_sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
}

/* ---- Requests -------------------------------------------------------------------------------- */

/* Sends req and returns the Response's status (>= 0) with *out the frame (when out is
 * non-NULL; else freed), or -1 after printing why. */
static int request(pl_audit_conn *c, Parley__Request *req, Parley__ServerFrame **out)
{
    Parley__ServerFrame *f = NULL;
    int st;

    if (out)
        *out = NULL;
    if (pl_audit_conn_request(c, req, &f, 10000) != PL_AUDIT_CONN_OK) {
        fprintf(stderr, "kt-bench-device: request failed: %s\n", pl_audit_conn_error(c));
        return -1;
    }
    st = (int)f->response->status->code;
    if (out)
        *out = f;
    else
        pl_frame_server_free(f);
    return st;
}

static ProtobufCBinaryData bin(const uint8_t *p, size_t len)
{
    ProtobufCBinaryData b;

    b.data = (uint8_t *)(uintptr_t)p;
    b.len = len;
    return b;
}

static int register_account(pl_audit_conn *c, const char *name, const kb_account *a)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__RegisterAccount ra = PARLEY__REGISTER_ACCOUNT__INIT;

    ra.username = (char *)(uintptr_t)name;
    ra.account_key = bin(a->account_key, sizeof a->account_key);
    ra.device_record = bin(a->records[0], PL_DEVICE_RECORD_BYTES);
    ra.account_state = bin(a->state, a->state_len);
    req.body_case = PARLEY__REQUEST__BODY_REGISTER_ACCOUNT;
    req.register_account = &ra;
    return request(c, &req, NULL);
}

static int add_device(pl_audit_conn *c, const char *name, const uint8_t *record,
                      const kb_account *a)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__AddDevice ad = PARLEY__ADD_DEVICE__INIT;

    ad.username = (char *)(uintptr_t)name;
    ad.device_record = bin(record, PL_DEVICE_RECORD_BYTES);
    ad.account_state = bin(a->state, a->state_len);
    req.body_case = PARLEY__REQUEST__BODY_ADD_DEVICE;
    req.add_device = &ad;
    return request(c, &req, NULL);
}

/* KtConfigGet, and the contact's view pinned from it. */
static int contact_pin(contact *k)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__KtConfigGet g = PARLEY__KT_CONFIG_GET__INIT;
    Parley__ServerFrame *f = NULL;
    const Parley__KtConfig *c;
    pl_note_verifier log_key, w[PL_KT_VIEW_MAX_WITNESSES];
    int r = -1;

    req.body_case = PARLEY__REQUEST__BODY_KT_CONFIG;
    req.kt_config = &g;
    if (request(k->conn, &req, &f) != ST_OK ||
        f->response->body_case != PARLEY__RESPONSE__BODY_KT_CONFIG)
        goto out;
    c = f->response->kt_config;
    if (c->vrf_public_key.len != sizeof k->vrf_pk ||
        c->n_witness_vkeys > PL_KT_VIEW_MAX_WITNESSES ||
        pl_note_verifier_parse(c->log_vkey, strlen(c->log_vkey), &log_key) != PL_OK)
        goto out;
    for (size_t i = 0; i < c->n_witness_vkeys; i++)
        if (pl_note_verifier_parse(c->witness_vkeys[i], strlen(c->witness_vkeys[i]), &w[i]) !=
            PL_OK)
            goto out;
    memcpy(k->vrf_pk, c->vrf_public_key.data, sizeof k->vrf_pk);
    if (pl_kt_view_init(&k->view, c->origin, strlen(c->origin), &log_key, w, c->n_witness_vkeys,
                        c->quorum, c->max_ahead_ms, c->max_behind_ms) != PL_OK)
        goto out;
    r = 0;
out:
    if (r != 0)
        fprintf(stderr, "kt-bench-device: no usable KtConfig\n");
    pl_frame_server_free(f);
    return r;
}

/*
 * One KtLookup{greatest} of name, checked as a client checks it. Returns 1 when the verified
 * state is version `version` and lists `record` (NULL: any), 0 when it is verified but not
 * that (or nothing is published for the name yet), -1 on any failure.
 */
static int contact_lookup(contact *k, const char *name, uint32_t version, const uint8_t *record)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__KtLookup lk = PARLEY__KT_LOOKUP__INIT;
    Parley__ServerFrame *f = NULL;
    const Parley__KtLookupResult *res;
    uint8_t(*cons)[PL_MERKLE_HASH_BYTES] = NULL;
    pl_kt_view_evidence ev;
    pl_kt_lookup_result *out = malloc(sizeof *out);
    pl_kt_lookup_failure why = PL_KT_LOOKUP_OK;
    int st, r = -1;

    k->polls++;
    lk.username = (char *)(uintptr_t)name;
    lk.known_size = k->view.has_checkpoint ? k->view.size : 0;
    req.body_case = PARLEY__REQUEST__BODY_KT_LOOKUP;
    req.kt_lookup = &lk;
    if (!out || (st = request(k->conn, &req, &f)) < 0)
        goto out;
    if (st == PARLEY__STATUS_CODE__STATUS_NOT_FOUND) {
        r = 0;
        goto out;
    }
    if (st != ST_OK || f->response->body_case != PARLEY__RESPONSE__BODY_KT_LOOKUP ||
        !(res = f->response->kt_lookup)->checkpoint || !res->checkpoint->note ||
        res->checkpoint->n_consistency > PL_MERKLE_MAX_PROOF)
        goto out;
    if (res->checkpoint->n_consistency &&
        !(cons = malloc(res->checkpoint->n_consistency * sizeof *cons)))
        goto out;
    for (size_t i = 0; i < res->checkpoint->n_consistency; i++) {
        if (res->checkpoint->consistency[i].len != PL_MERKLE_HASH_BYTES)
            goto out;
        memcpy(cons[i], res->checkpoint->consistency[i].data, PL_MERKLE_HASH_BYTES);
    }
    if (pl_kt_view_update(&k->view, res->checkpoint->note, strlen(res->checkpoint->note),
                          kb_wall_ms(), (const uint8_t(*)[PL_MERKLE_HASH_BYTES])cons,
                          res->checkpoint->n_consistency, &ev) != PL_OK) {
        fprintf(stderr, "kt-bench-device: the checkpoint was refused (reason %d)\n",
                (int)ev.reason);
        goto out;
    }
    if (pl_kt_lookup_verify(k->vrf_pk, (const uint8_t *)name, strlen(name), k->view.size,
                            k->view.root, PL_KT_LOOKUP_GREATEST, 0, NULL, 0, res->proof.data,
                            res->proof.len, out, &why) != PL_OK) {
        fprintf(stderr, "kt-bench-device: a lookup proof for %s does not verify: %s\n", name,
                pl_kt_lookup_failure_str(why));
        goto out;
    }
    r = 0;
    if (out->version == version) {
        r = record == NULL;
        for (size_t i = 0; i < out->state.n_devices && !r; i++)
            r = sodium_memcmp(out->state.device_records[i], record, PL_DEVICE_RECORD_BYTES) == 0;
    }
out:
    free(cons);
    free(out);
    pl_frame_server_free(f);
    return r;
}

/* Polls name every POLL_MS until the check gives 1, at most timeout_ms. Returns 0 with
 * *seen_ns (CLOCK_MONOTONIC) the time the verified answer was in hand, or -1. */
static int poll_until(contact *k, const char *name, uint32_t version, const uint8_t *record,
                      unsigned timeout_ms, uint64_t *seen_ns)
{
    uint64_t start = kb_now_ns(), deadline = start + (uint64_t)timeout_ms * 1000000u;

    for (unsigned i = 0; i <= timeout_ms / POLL_MS; i++) {
        uint64_t began = kb_now_ns(), next = began + (uint64_t)POLL_MS * 1000000u;
        int r = contact_lookup(k, name, version, record);

        if (r < 0)
            return -1;
        if (r == 1) {
            *seen_ns = kb_now_ns();
            return 0;
        }
        if (kb_now_ns() > deadline)
            break;
        if (kb_now_ns() < next)
            kb_sleep_ms((unsigned)((next - kb_now_ns()) / 1000000u));
    }
    fprintf(stderr, "kt-bench-device: %s version %u not visible within %u ms\n", name, version,
            timeout_ms);
    return -1;
}

/* ---- One configuration ------------------------------------------------------------------------
 */

static int run_config(unsigned quorum, unsigned n_accounts, int keep, const char *audit_bin)
{
    char err[512], extra[1024], vkey[PL_NOTE_VKEY_MAX_BYTES + 64] = "", state_dir[700] = "",
                                                              audit_log[700] = "", server[128];
    char adir[512] = "";
    lg_server srv;
    pid_t auditor = -1;
    pl_audit_conn *owner = NULL;
    contact k;
    kb_account *acc = calloc(n_accounts, sizeof *acc);
    uint64_t *lat = calloc(n_accounts, sizeof *lat), t0;
    unsigned polls = 0;
    int r = -1;

    memset(&srv, 0, sizeof srv);
    memset(&k, 0, sizeof k);
    if (!acc || !lat)
        goto out;
    if (quorum > 0) {
        char *init[] = {(char *)audit_bin, "init",       "--state", state_dir,
                        "--name",          WITNESS_NAME, NULL};

        if (kb_mkdtemp(adir, sizeof adir, "parley-ktbench-audit") != 0)
            goto out;
        snprintf(state_dir, sizeof state_dir, "%s/state", adir);
        snprintf(audit_log, sizeof audit_log, "%s/audit.log", adir);
        if (run_capture(init, vkey, sizeof vkey) != 0 || !strchr(vkey, '+')) {
            fprintf(stderr, "kt-bench-device: parley-audit init failed (%s)\n", vkey);
            goto out;
        }
        snprintf(extra, sizeof extra, "[kt]\nbatch_interval = 1000ms\nwitnesses = %s\nquorum = 1\n",
                 vkey);
    } else {
        snprintf(extra, sizeof extra, "[kt]\nbatch_interval = 1000ms\nquorum = 0\n");
    }
    if (lg_server_start_with(&srv, LOADGEN_PARLEYD, 64, extra, err, sizeof err) != 0) {
        fprintf(stderr, "kt-bench-device: %s\n", err);
        goto out;
    }
    snprintf(server, sizeof server, "%s:%d", srv.host, srv.port);
    if (quorum > 0) {
        char *run[] = {(char *)audit_bin,
                       "run",
                       "--state",
                       state_dir,
                       "--server",
                       server,
                       "--ca",
                       srv.ca,
                       NULL};

        if ((auditor = spawn(run, audit_log)) < 0)
            goto out;
    }
    if (pl_audit_conn_open(&owner, server, srv.ca, NULL, NULL, err, sizeof err) !=
            PL_AUDIT_CONN_OK ||
        pl_audit_conn_open(&k.conn, server, srv.ca, NULL, NULL, err, sizeof err) !=
            PL_AUDIT_CONN_OK) {
        fprintf(stderr, "kt-bench-device: %s\n", err);
        goto out;
    }
    if (contact_pin(&k) != 0)
        goto out;
    /* Every account registered, then published (the last one's lookup verifies). */
    for (unsigned i = 0; i < n_accounts; i++) {
        char name[32];

        snprintf(name, sizeof name, "dev%03u", i);
        if (kb_account_new(&acc[i], kb_wall_ms()) != 0 ||
            register_account(owner, name, &acc[i]) != ST_OK) {
            fprintf(stderr, "kt-bench-device: could not register %s\n", name);
            goto out;
        }
    }
    {
        char name[32];
        uint64_t seen;

        snprintf(name, sizeof name, "dev%03u", n_accounts - 1);
        t0 = kb_now_ns();
        if (poll_until(&k, name, 0, NULL, PUBLISH_TIMEOUT_MS, &seen) != 0)
            goto out;
        printf("  quorum %u: %u accounts registered, published and verified after %.0f ms; "
               "log size %llu\n",
               quorum, n_accounts, (double)(seen - t0) / 1e6, (unsigned long long)k.view.size);
    }
    for (unsigned i = 0; i < n_accounts; i++) {
        char name[32];
        uint8_t record[PL_DEVICE_RECORD_BYTES];
        uint64_t seen = 0;
        unsigned before = k.polls;

        snprintf(name, sizeof name, "dev%03u", i);
        kb_sleep_ms(randombytes_uniform(1000));
        if (kb_account_add_device(&acc[i], kb_wall_ms(), record) != 0 ||
            add_device(owner, name, record, &acc[i]) != ST_OK) {
            fprintf(stderr, "kt-bench-device: AddDevice for %s refused\n", name);
            goto out;
        }
        t0 = kb_now_ns();
        if (poll_until(&k, name, 1, record, DEVICE_TIMEOUT_MS, &seen) != 0)
            goto out;
        lat[i] = seen - t0;
        polls += k.polls - before;
        printf("    %s: device 2 visible after %4.0f ms (%u polls, log size %llu)\n", name,
               (double)lat[i] / 1e6, k.polls - before, (unsigned long long)k.view.size);
    }
    {
        uint64_t max = kb_max(lat, n_accounts), med = kb_median(lat, n_accounts);

        printf("  quorum %u: AddDevice response -> verified lookup showing the device, %u "
               "devices: median %.0f ms, min %.0f ms, max %.0f ms (%.1f polls each)\n",
               quorum, n_accounts, (double)med / 1e6, (double)lat[0] / 1e6, (double)max / 1e6,
               (double)polls / n_accounts);
    }
    r = 0;
out:
    pl_audit_conn_close(owner);
    pl_audit_conn_close(k.conn);
    stop_child(auditor);
    if (srv.pid > 0 || srv.dir[0]) {
        int st = lg_server_stop(&srv, keep || r != 0);

        if (keep || r != 0)
            fprintf(stderr, "kt-bench-device: kept %s (parleyd exit %d)\n", srv.dir, st);
    }
    if (adir[0]) {
        if (keep || r != 0)
            fprintf(stderr, "kt-bench-device: kept %s\n", adir);
        else
            kb_rm_rf(adir);
    }
    for (unsigned i = 0; acc && i < n_accounts; i++)
        kb_account_free(&acc[i]);
    free(acc);
    free(lat);
    return r;
}

int main(int argc, char **argv)
{
    unsigned n = 20, only = 2;
    int keep = 0;

    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--accounts") == 0) {
            n = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (i + 1 < argc && strcmp(argv[i], "--quorum") == 0) {
            only = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--keep") == 0) {
            keep = 1;
        } else {
            fprintf(stderr, "usage: kt-bench-device [--accounts N] [--quorum 0|1] [--keep]\n"
                            "  without --quorum both configurations run, quorum 0 first\n");
            return 2;
        }
    }
    if (n < 1 || n > MAX_ACCOUNTS || (only > 1 && only != 2)) {
        fprintf(stderr, "kt-bench-device: --accounts must be 1..%u, --quorum 0 or 1\n",
                MAX_ACCOUNTS);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    if (pl_init() != PL_OK)
        return 1;
    printf("kt-bench-device: a new device visible to a contact, parleyd on 127.0.0.1, "
           "batch_interval 1000 ms, polls every %u ms\n",
           POLL_MS);
    for (unsigned q = 0; q <= 1; q++)
        if ((only == 2 || only == q) && run_config(q, n, keep, PARLEY_AUDIT_BIN) != 0) {
            fprintf(stderr, "kt-bench-device: the quorum %u run failed\n", q);
            return 1;
        }
    return 0;
}
