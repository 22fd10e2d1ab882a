/*
 * kt_server_bench.c: kt-bench-server, what parleyd's key-transparency log costs the server
 * (docs/BENCHMARKS.md, "Key transparency on the server"). It runs in one process, on one
 * thread, against the server's own code linked from parleyd_core (kt_log.c, kt_logtree.c,
 * store_sqlite_kt.c), with a SQLite store in a temporary directory on this machine's disk
 * (WAL, synchronous=FULL: every entry's transaction is fsynced, as in parleyd):
 *
 *   1. the sequencer, pl_kt_log_step, the very function parleyd's store thread runs once per
 *      batch_interval: per label-version two VRF proofs (v and v + 1), the opening and the
 *      commitment, the prefix-tree insert, and the entry's SQLite transaction with its fsync;
 *      at batch sizes 1, 100, 1000 and 10^4 pending updates, and 10^5 updates in all. Beside
 *      it, each label-version's cryptography alone, and what an entry with no update costs;
 *      then 1,000 device changes (version 1 of logged labels), where the sequencer reuses the
 *      proof of (label, 1) that version 0 stored and so makes one proof instead of two;
 *   2. the store's growth per label-version after the 10^5;
 *   3. pl_kt_log_lookup, the lookup proof a KtLookup is answered with, at 10^5
 *      label-versions (the log of 2, reopened, which also times the rebuild at start), and at
 *      10^6, where all but 100 label-versions are filler written straight to the store.
 *
 * Pending updates are account states as RegisterAccount carries them (291 bytes: one
 * device), from a pool of 64 accounts made with libparley; the sequencer does not re-verify
 * them (parleyd verified each at acceptance, kt_account.c), so their number, not their
 * variety, is what costs. Figures, never assertions: the program exits non-zero only when an
 * operation fails. Every loop is bounded by a count.
 *
 *   build-bench/bench/kt-bench-server [--quick] [--total N] [--fill N] [--keep]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>
#include <sqlite3.h>

#include "config.h"
#include "kt_bench_util.h"
#include "kt_keys.h"
#include "kt_log.h"
#include "kt_logtree.h"
#include "log.h"
#include "store.h"

#define POOL 64u
#define ENTRY_MAX PL_WIRE_KT_MAX_ENTRY_LEAVES
#define LOOKUP_LABELS 100u

static uint8_t pool[POOL][PL_ACCOUNT_STATE_MAX_BYTES];
static size_t pool_len[POOL];

/* One server log on a temporary data directory. */
typedef struct srv {
    char dir[512];
    char db[600];
    pl_store *store;
    pl_kt_log *log;
    pl_config cfg;
    uint64_t clock_ms; /* the step's now: synthetic, 1 ms per step, so runs are repeatable */
    uint32_t labels;   /* user0000000 .. of this log */
} srv;

static int make_pool(void)
{
    for (unsigned i = 0; i < POOL; i++) {
        kb_account a;

        if (kb_account_new(&a, 1764000000000ull + i) != 0)
            return -1;
        memcpy(pool[i], a.state, a.state_len);
        pool_len[i] = a.state_len;
        kb_account_free(&a);
    }
    return 0;
}

static void label_of(char out[PL_STORE_USERNAME_MAX + 1], const char *prefix, uint32_t i)
{
    snprintf(out, PL_STORE_USERNAME_MAX + 1, "%s%07u", prefix, (unsigned)i);
}

/* Opens the store and the log on s->dir (made here when dir is NULL). *rebuild_ns gets the
 * time pl_kt_log_open took (it replays every stored entry) when not NULL. */
static int srv_open(srv *s, const char *dir, uint64_t *rebuild_ns)
{
    char err[256];
    pl_kt_keys *keys = NULL;
    int created = 0;
    uint64_t t0;

    if (dir) {
        if (dir != s->dir)
            snprintf(s->dir, sizeof s->dir, "%s", dir);
    } else {
        memset(s, 0, sizeof *s);
        if (kb_mkdtemp(s->dir, sizeof s->dir, "parley-ktbench") != 0) {
            fprintf(stderr, "kt-bench-server: cannot make a temporary directory: %s\n",
                    strerror(errno));
            return -1;
        }
        s->clock_ms = 1764000000000ull;
    }
    snprintf(s->db, sizeof s->db, "%s/parleyd.db", s->dir);
    pl_config_defaults(&s->cfg); /* [kt]: no witnesses, so quorum 0: published at once */
    if (pl_store_open_sqlite(s->db, NULL, &s->store, err, sizeof err) != PL_STORE_OK) {
        fprintf(stderr, "kt-bench-server: store: %s\n", err);
        return -1;
    }
    if (pl_kt_keys_load(&keys, s->dir, "bench.example", &created, err, sizeof err) != 0) {
        fprintf(stderr, "kt-bench-server: keys: %s\n", err);
        return -1;
    }
    t0 = kb_now_ns();
    if (pl_kt_log_open(&s->log, &s->cfg, keys, s->store, err, sizeof err) != 0) {
        fprintf(stderr, "kt-bench-server: %s\n", err);
        return -1;
    }
    if (rebuild_ns)
        *rebuild_ns = kb_now_ns() - t0;
    return 0;
}

static void srv_close(srv *s, int remove)
{
    pl_kt_log_free(s->log);
    s->log = NULL;
    pl_store_close(s->store);
    s->store = NULL;
    if (remove) {
        kb_rm_rf(s->dir);
        s->dir[0] = '\0';
    }
}

/* Adds n pending account states under fresh labels, in store batches (untimed). */
static int add_pending(srv *s, size_t n)
{
    char label[PL_STORE_USERNAME_MAX + 1];
    size_t done = 0;

    while (done < n) {
        size_t chunk = n - done < 10000 ? n - done : 10000;

        if (pl_store_batch_begin(s->store) != PL_STORE_OK)
            return -1;
        for (size_t i = 0; i < chunk; i++) {
            uint32_t k = s->labels++;

            label_of(label, "user", k);
            if (pl_store_kt_state_add(s->store, label, 0, pool[k % POOL], pool_len[k % POOL]) !=
                PL_STORE_OK) {
                pl_store_batch_rollback(s->store);
                return -1;
            }
        }
        if (pl_store_batch_commit(s->store) != PL_STORE_OK)
            return -1;
        done += chunk;
    }
    return 0;
}

/* Adds n pending next versions (version `version`) of the labels first..first + n - 1, which
 * hold version - 1 already: device changes after registration (untimed). */
static int add_pending_changes(srv *s, uint32_t first, size_t n, uint32_t version)
{
    char label[PL_STORE_USERNAME_MAX + 1];

    if (pl_store_batch_begin(s->store) != PL_STORE_OK)
        return -1;
    for (size_t i = 0; i < n; i++) {
        uint32_t k = first + (uint32_t)i;

        label_of(label, "user", k);
        if (pl_store_kt_state_add(s->store, label, version, pool[k % POOL], pool_len[k % POOL]) !=
            PL_STORE_OK) {
            pl_store_batch_rollback(s->store);
            return -1;
        }
    }
    return pl_store_batch_commit(s->store) == PL_STORE_OK ? 0 : -1;
}

/* Runs sequencer steps until `want` label-versions were logged (at most want + 2 steps).
 * Adds the wall and thread-CPU time of the steps alone, and counts the entries made. */
static int run_steps(srv *s, size_t want, uint64_t *wall, uint64_t *cpu, size_t *entries)
{
    size_t logged = 0, steps = 0;

    while (logged < want && steps++ < want + 2) {
        pl_kt_step st;
        uint64_t w0 = kb_now_ns(), c0 = kb_thread_cpu_ns();
        int r = pl_kt_log_step(s->log, s->store, s->clock_ms++, &st);

        *cpu += kb_thread_cpu_ns() - c0;
        *wall += kb_now_ns() - w0;
        free(st.note);
        if (r != 0 || !st.signed_new || st.logged == 0) {
            fprintf(stderr, "kt-bench-server: a sequencer step logged nothing (r=%d)\n", r);
            return -1;
        }
        logged += st.logged;
        (*entries)++;
    }
    return logged == want ? 0 : -1;
}

/* ---- 1a. Each label-version's cryptography alone -------------------------------------------- */

typedef struct parts {
    double vrf2_us, commit_us, insert_us;
} parts;

static int bench_parts(unsigned n, parts *p)
{
    uint8_t seed[32], pi[PL_VRF_PROOF_BYTES], out[32], open_key[32], opening[16], c[32];
    uint64_t *vrf = calloc(n, sizeof *vrf), *com = calloc(n, sizeof *com);
    pl_prefix_tree *t = NULL;
    const unsigned inserts = 100000;
    const char *label = "user0012345";
    size_t label_len = strlen(label);
    uint64_t t0;
    int r = -1;

    randombytes_buf(seed, sizeof seed);
    randombytes_buf(open_key, sizeof open_key);
    if (!vrf || !com || pl_prefix_tree_new(&t) != PL_OK)
        goto out;
    for (unsigned i = 0; i < n; i++) {
        t0 = kb_now_ns();
        if (pl_kt_vrf_prove(seed, (const uint8_t *)label, label_len, i, pi, out) != PL_OK ||
            pl_kt_vrf_prove(seed, (const uint8_t *)label, label_len, i + 1, pi, out) != PL_OK)
            goto out;
        vrf[i] = kb_now_ns() - t0;
        t0 = kb_now_ns();
        if (pl_kt_opening(opening, open_key, (const uint8_t *)label, label_len, i) != PL_OK ||
            pl_kt_commitment(c, opening, (const uint8_t *)label, label_len, i, pool[i % POOL],
                             pool_len[i % POOL]) != PL_OK)
            goto out;
        com[i] = kb_now_ns() - t0;
    }
    /* Prefix-tree inserts: the mean over a tree growing to 10^5 keys (uniform, like VRF
     * outputs), which is the size of the 10^5 run below. */
    t0 = kb_now_ns();
    for (unsigned i = 0; i < inserts; i++) {
        uint8_t key[32], val[32];

        crypto_hash_sha256(key, (const uint8_t *)&i, sizeof i);
        memcpy(val, key, sizeof val);
        val[0] ^= 0xff;
        if (pl_prefix_tree_insert(t, key, val) != PL_OK)
            goto out;
    }
    p->insert_us = (double)(kb_now_ns() - t0) / 1000.0 / inserts;
    p->vrf2_us = (double)kb_median(vrf, n) / 1000.0;
    p->commit_us = (double)kb_median(com, n) / 1000.0;
    printf("  per label-version, alone (medians of %u; the insert a mean over 10^5):\n", n);
    printf("    VRF prove of v and of v + 1          %8.1f us\n", p->vrf2_us);
    printf("    opening + commitment (291-byte state) %7.1f us\n", p->commit_us);
    printf("    prefix-tree insert, tree to 10^5      %7.1f us\n", p->insert_us);
    printf("    sum                                   %7.1f us  = %.0f updates/s at most\n",
           p->vrf2_us + p->commit_us + p->insert_us,
           1e6 / (p->vrf2_us + p->commit_us + p->insert_us));
    r = 0;
out:
    pl_prefix_tree_free(t);
    free(vrf);
    free(com);
    return r;
}

/* ---- 1b. The sequencer by batch size --------------------------------------------------------- */

/* Times 21 entries with no update (heartbeats): every entry's fixed cost, the log-tree append,
 * the checkpoint's signature and the transaction with its fsync. */
static int empty_entries(srv *s, const char *when)
{
    uint64_t wall[21], cpu[21];

    for (unsigned i = 0; i < 21; i++) {
        pl_kt_step st;
        uint64_t t0, c0;
        int rc;

        s->clock_ms += s->cfg.kt.heartbeat_ms + 1;
        t0 = kb_now_ns();
        c0 = kb_thread_cpu_ns();
        rc = pl_kt_log_step(s->log, s->store, s->clock_ms, &st);
        cpu[i] = kb_thread_cpu_ns() - c0;
        wall[i] = kb_now_ns() - t0;
        free(st.note);
        if (rc != 0 || !st.signed_new || st.logged != 0)
            return -1;
    }
    printf("    an entry with no update (heartbeat), %s: %.2f ms wall, %.2f ms CPU (medians of "
           "21; max %.2f ms wall)\n",
           when, (double)kb_median(wall, 21) / 1e6, (double)kb_median(cpu, 21) / 1e6,
           (double)kb_max(wall, 21) / 1e6);
    return 0;
}

static int bench_batches(int quick, const parts *p)
{
    static const size_t sizes[] = {1, 100, 1000, 10000};
    const unsigned runs_full[] = {51, 21, 7, 3}, runs_quick[] = {11, 5, 3, 1};
    const unsigned *runs = quick ? runs_quick : runs_full;
    double ms[64], per[64], cpu_per[64], rate[64], cpu_rate[64];
    srv s;
    int r = -1;

    if (srv_open(&s, NULL, NULL) != 0)
        goto out;
    printf("  sequencer steps (pl_kt_log_step; each entry is one fsynced transaction), medians "
           "of runs:\n");
    if (empty_entries(&s, "log empty") != 0)
        goto out;
    printf("    %-7s %4s %7s %10s %10s %10s %11s %11s\n", "batch", "runs", "entries", "ms/batch",
           "us/update", "CPU us/up", "updates/s", "CPU upd/s");
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t entries = 0;

        for (unsigned i = 0; i < runs[k]; i++) {
            uint64_t wall = 0, cpu = 0;

            if (add_pending(&s, sizes[k]) != 0 || run_steps(&s, sizes[k], &wall, &cpu, &entries))
                goto out;
            ms[i] = (double)wall / 1e6;
            per[i] = (double)wall / 1000.0 / (double)sizes[k];
            cpu_per[i] = (double)cpu / 1000.0 / (double)sizes[k];
            rate[i] = (double)sizes[k] * 1e9 / (double)wall;
            cpu_rate[i] = (double)sizes[k] * 1e9 / (double)cpu;
        }
        printf("    %-7zu %4u %7zu %10.2f %10.1f %10.1f %11.0f %11.0f\n", sizes[k], runs[k],
               entries / runs[k], kb_median_d(ms, runs[k]), kb_median_d(per, runs[k]),
               kb_median_d(cpu_per, runs[k]), kb_median_d(rate, runs[k]),
               kb_median_d(cpu_rate, runs[k]));
    }
    /* Device changes: version 1 of labels logged at version 0 above, whose proof of
     * (label, 1) the sequencer reuses from version 0's next_vrf_proof. */
    {
        const size_t b = 1000;
        const unsigned n = quick ? 1 : 3;
        size_t entries = 0;

        for (unsigned i = 0; i < n && (i + 1) * b <= s.labels; i++) {
            uint64_t wall = 0, cpu = 0;

            if (add_pending_changes(&s, (uint32_t)(i * b), b, 1) != 0 ||
                run_steps(&s, b, &wall, &cpu, &entries))
                goto out;
            ms[i] = (double)wall / 1e6;
            per[i] = (double)wall / 1000.0 / (double)b;
            cpu_per[i] = (double)cpu / 1000.0 / (double)b;
            rate[i] = (double)b * 1e9 / (double)wall;
            cpu_rate[i] = (double)b * 1e9 / (double)cpu;
        }
        printf("    %-7s %4u %7zu %10.2f %10.1f %10.1f %11.0f %11.0f   (device changes: "
               "version 1 of logged labels)\n",
               "1000 v1", n, entries / n, kb_median_d(ms, n), kb_median_d(per, n),
               kb_median_d(cpu_per, n), kb_median_d(rate, n), kb_median_d(cpu_rate, n));
    }
    if (empty_entries(&s, "after the batches") != 0)
        goto out;
    printf("    (the log held %u label-versions at the end; the crypto alone is %.1f us per "
           "update)\n",
           s.labels, p->vrf2_us + p->commit_us + p->insert_us);
    r = 0;
out:
    if (s.store)
        srv_close(&s, 1);
    return r;
}

/* ---- 2. 10^5 updates, and the store's growth ------------------------------------------------- */

/* Prints the bytes of each table and index (SQLite's dbstat), if this SQLite has it. */
static void print_dbstat(const char *db, uint64_t versions)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;

    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(h,
                           "SELECT name, SUM(pgsize), SUM(payload) FROM dbstat"
                           " WHERE name LIKE 'kt%' OR name LIKE 'sqlite_autoindex_kt%'"
                           " GROUP BY name ORDER BY 2 DESC",
                           -1, &st, NULL) != SQLITE_OK) {
        printf("    (no per-table figures: this SQLite has no dbstat)\n");
        goto out;
    }
    printf("    per table and index (dbstat): pages / payload, bytes per label-version\n");
    while (sqlite3_step(st) == SQLITE_ROW)
        printf("      %-36s %8.1f / %8.1f\n", (const char *)sqlite3_column_text(st, 0),
               (double)sqlite3_column_int64(st, 1) / (double)versions,
               (double)sqlite3_column_int64(st, 2) / (double)versions);
out:
    sqlite3_finalize(st);
    sqlite3_close(h);
}

static uint64_t db_bytes(const srv *s)
{
    char p[700];
    uint64_t n = kb_file_bytes(s->db);

    snprintf(p, sizeof p, "%s-wal", s->db);
    n += kb_file_bytes(p);
    return n;
}

/* Logs `total` updates on fresh logs, `runs` times; keeps the last log's directory in
 * keep_dir for the lookups. */
static int bench_total(size_t total, unsigned runs, char *keep_dir, size_t keep_cap)
{
    double rate[8], cpu_rate[8], growth[8];
    uint64_t empty_db = 0;
    srv s;
    int r = -1;

    memset(&s, 0, sizeof s);
    /* The size of a store whose log is empty, for the growth's baseline. */
    if (srv_open(&s, NULL, NULL) != 0)
        goto out;
    srv_close(&s, 0);
    empty_db = db_bytes(&s);
    kb_rm_rf(s.dir);
    for (unsigned i = 0; i < runs; i++) {
        uint64_t wall = 0, cpu = 0;
        size_t entries = 0;

        if (srv_open(&s, NULL, NULL) != 0 || add_pending(&s, total) != 0 ||
            run_steps(&s, total, &wall, &cpu, &entries) != 0)
            goto out;
        rate[i] = (double)total * 1e9 / (double)wall;
        cpu_rate[i] = (double)total * 1e9 / (double)cpu;
        srv_close(&s, 0); /* closing checkpoints the WAL into the database file */
        growth[i] = (double)(db_bytes(&s) - empty_db) / (double)total;
        printf("    run %u: %zu updates in %zu entries, %.2f s (%.0f updates/s; CPU %.2f s, "
               "%.0f updates/s), store %.1f MB\n",
               i + 1, total, entries, (double)wall / 1e9, rate[i], (double)cpu / 1e9, cpu_rate[i],
               (double)db_bytes(&s) / 1e6);
        if (i + 1 < runs) {
            kb_rm_rf(s.dir);
        } else {
            print_dbstat(s.db, total);
            snprintf(keep_dir, keep_cap, "%s", s.dir);
        }
        s.dir[0] = '\0';
    }
    printf("  %zu updates: median %.0f updates/s wall (%.0f/s CPU) over %u runs; store growth "
           "%.0f bytes per label-version (empty store %.0f KB)\n",
           total, kb_median_d(rate, runs), kb_median_d(cpu_rate, runs), runs,
           kb_median_d(growth, runs), (double)empty_db / 1e3);
    r = 0;
out:
    if (r != 0 && s.dir[0])
        srv_close(&s, 1);
    return r;
}

/* ---- 3. Lookup proofs ------------------------------------------------------------------------ */

static int self_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int kib = -1;

    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = atoi(line + 6);
    fclose(f);
    return kib;
}

/* Checks one proof the way a client does (its checkpoint, then pl_kt_lookup_verify), so the
 * proofs timed are known to be good ones. */
static int verify_one(const srv *s, const char *label, const pl_kt_checkpoint_answer *cp,
                      const uint8_t *proof, size_t len)
{
    const pl_kt_keys *k = pl_kt_log_keys(s->log);
    pl_note_opened o;
    pl_checkpoint c;
    pl_kt_lookup_result *res = malloc(sizeof *res);
    pl_kt_lookup_failure why = PL_KT_LOOKUP_OK;
    int r = -1;

    if (res && pl_note_open(cp->note, cp->note_len, &k->log_verifier, 1, &o) == PL_OK &&
        pl_checkpoint_parse(o.text, o.text_len, &c) == PL_OK &&
        pl_kt_lookup_verify(k->vrf_pk, (const uint8_t *)label, strlen(label), c.size, c.root,
                            PL_KT_LOOKUP_GREATEST, 0, NULL, 0, proof, len, res, &why) == PL_OK)
        r = 0;
    else
        fprintf(stderr, "kt-bench-server: a lookup proof does not verify: %s\n",
                pl_kt_lookup_failure_str(why));
    free(res);
    return r;
}

/* Times n lookups (greatest) of labels prefix + [first, first + count), first with no known
 * size, then with a consistency proof from size 1. */
static int time_lookups(srv *s, const char *prefix, uint32_t first, uint32_t count, unsigned n)
{
    uint64_t *fresh = calloc(n, sizeof *fresh), *repeat = calloc(n, sizeof *repeat);
    size_t proof_bytes = 0;
    int r = -1;

    if (!fresh || !repeat)
        goto out;
    for (unsigned pass = 0; pass < 2; pass++)
        for (unsigned i = 0; i < n; i++) {
            char label[PL_STORE_USERNAME_MAX + 1];
            pl_kt_checkpoint_answer cp;
            uint8_t *proof = NULL;
            size_t len = 0;
            const char *why = "";
            uint64_t t0;
            Parley__StatusCode st;

            label_of(label, prefix, first + randombytes_uniform(count));
            t0 = kb_now_ns();
            st = pl_kt_log_lookup(s->log, s->store, label, pass ? 1 : 0, 0, 0, &cp, &proof, &len,
                                  &why);
            (pass ? repeat : fresh)[i] = kb_now_ns() - t0;
            if (st != PARLEY__STATUS_CODE__STATUS_OK) {
                fprintf(stderr, "kt-bench-server: lookup of %s: %s\n", label, why);
                free(cp.note);
                goto out;
            }
            if (pass == 0 && i == 0) {
                proof_bytes = len;
                if (verify_one(s, label, &cp, proof, len) != 0) {
                    free(cp.note);
                    free(proof);
                    goto out;
                }
            }
            free(cp.note);
            free(proof);
        }
    printf("    pl_kt_log_lookup, greatest, no known size:        %7.1f us  (median of %u; "
           "proof %zu bytes, verified once)\n",
           (double)kb_median(fresh, n) / 1000.0, n, proof_bytes);
    printf("    pl_kt_log_lookup, greatest, consistency from 1:   %7.1f us\n",
           (double)kb_median(repeat, n) / 1000.0);
    r = 0;
out:
    free(fresh);
    free(repeat);
    return r;
}

static int bench_lookup_at(const char *dir, uint32_t labels, unsigned n)
{
    srv s;
    uint64_t rebuild = 0;
    int r = -1;

    memset(&s, 0, sizeof s);
    if (srv_open(&s, dir, &rebuild) != 0)
        goto out;
    printf("  at %u label-versions, %llu log entries (the log above, reopened: rebuild %.2f s, "
           "RSS %d MiB):\n",
           labels, (unsigned long long)pl_kt_log_signed_size(s.log), (double)rebuild / 1e9,
           self_rss_kib() / 1024);
    r = time_lookups(&s, "user", 0, labels, n);
out:
    if (s.store)
        srv_close(&s, 0);
    return r;
}

/*
 * A log of `fill` filler label-versions written straight to the store, in entries of 1024
 * leaves as the sequencer makes them: each a pending row, then the entry with its prefix
 * root, its checkpoint signed by the log key and published. The VRF outputs are SHA-256 of
 * the index (uniform keys: the tree's shape is what they decide) and the proofs zero bytes,
 * since nobody looks them up; the real labels come after, through the real sequencer.
 */
static int fill_log(srv *s, size_t fill)
{
    const pl_kt_keys *k = pl_kt_log_keys(s->log);
    pl_store_kt_version *rows = calloc(ENTRY_MAX, sizeof *rows);
    pl_prefix_tree *pt = NULL;
    pl_kt_logtree *lt = pl_kt_logtree_new();
    char *note = malloc(PL_NOTE_MAX_BYTES + 1), text[PL_NOTE_MAX_BYTES];
    uint64_t pos = pl_kt_log_signed_size(s->log);
    size_t done = 0;
    int r = -1, in_batch = 0;

    if (!rows || !lt || !note || pos != 0 || pl_prefix_tree_new(&pt) != PL_OK)
        goto out;
    while (done < fill) {
        size_t n = fill - done < ENTRY_MAX ? fill - done : ENTRY_MAX, tlen = 0, nlen = 0;
        uint8_t entry[PL_KT_LOG_ENTRY_BYTES], leaf[32];
        pl_store_kt_entry e;
        pl_checkpoint cp;

        if (!in_batch && pl_store_batch_begin(s->store) != PL_STORE_OK)
            goto out;
        in_batch = 1;
        for (size_t i = 0; i < n; i++) {
            uint64_t idx = done + i;
            pl_store_kt_version *v = &rows[i];

            memset(v, 0, sizeof *v);
            label_of(v->label, "fill", (uint32_t)idx);
            v->state_len = pool_len[idx % POOL];
            memcpy(v->state, pool[idx % POOL], v->state_len);
            crypto_hash_sha256(v->vrf_out, (const uint8_t *)&idx, sizeof idx);
            memcpy(v->commitment, v->vrf_out, 32);
            v->commitment[0] ^= 0x5a;
            if (pl_store_kt_state_add(s->store, v->label, 0, v->state, v->state_len) !=
                    PL_STORE_OK ||
                pl_prefix_tree_insert(pt, v->vrf_out, v->commitment) != PL_OK)
                goto out;
        }
        memset(&e, 0, sizeof e);
        e.position = pos;
        e.timestamp_ms = s->clock_ms++;
        pl_prefix_tree_root(pt, e.prefix_root);
        pl_kt_log_entry(e.timestamp_ms, e.prefix_root, entry);
        pl_merkle_leaf_hash(entry, sizeof entry, leaf);
        memset(&cp, 0, sizeof cp);
        memcpy(cp.origin, k->origin, k->origin_len + 1);
        cp.origin_len = k->origin_len;
        cp.size = pos + 1;
        if (pl_kt_logtree_append(lt, leaf) != 0 || pl_kt_logtree_root(lt, pos + 1, cp.root) != 0 ||
            pl_checkpoint_format(&cp, text, sizeof text, &tlen) != PL_OK ||
            pl_note_sign(text, tlen, k->origin, k->origin_len, k->log_sk, note, PL_NOTE_MAX_BYTES,
                         &nlen) != PL_OK)
            goto out;
        e.checkpoint = note;
        e.checkpoint_len = nlen;
        if (pl_store_kt_entry_append(s->store, &e, rows, n) != PL_STORE_OK ||
            pl_store_kt_entry_publish(s->store, pos, note, nlen) != PL_STORE_OK)
            goto out;
        pos++;
        done += n;
        if (pos % 16 == 0 || done == fill) {
            in_batch = 0;
            if (pl_store_batch_commit(s->store) != PL_STORE_OK)
                goto out;
        }
    }
    r = 0;
out:
    if (in_batch)
        pl_store_batch_rollback(s->store);
    if (r != 0)
        fprintf(stderr, "kt-bench-server: filling the log failed: %s\n",
                pl_store_last_error(s->store));
    pl_prefix_tree_free(pt);
    pl_kt_logtree_free(lt);
    free(rows);
    free(note);
    return r;
}

static int bench_lookup_filled(size_t fill, unsigned n)
{
    srv s;
    uint64_t t0, rebuild = 0, wall = 0, cpu = 0;
    size_t entries = 0;
    int r = -1;

    memset(&s, 0, sizeof s);
    t0 = kb_now_ns();
    if (srv_open(&s, NULL, NULL) != 0 || fill_log(&s, fill) != 0)
        goto out;
    srv_close(&s, 0);
    printf("  at %zu + %u label-versions (%zu filler written in %.1f s, store %.0f MB):\n", fill,
           LOOKUP_LABELS, fill, (double)(kb_now_ns() - t0) / 1e9, (double)db_bytes(&s) / 1e6);
    if (srv_open(&s, s.dir, &rebuild) != 0)
        goto out;
    printf("    reopened: pl_kt_log_open rebuilt and checked %llu entries in %.2f s, RSS %d MiB\n",
           (unsigned long long)pl_kt_log_signed_size(s.log), (double)rebuild / 1e9,
           self_rss_kib() / 1024);
    s.clock_ms = 1764000000000ull + 1000000000ull; /* after every filler timestamp */
    if (add_pending(&s, LOOKUP_LABELS) != 0 || run_steps(&s, LOOKUP_LABELS, &wall, &cpu, &entries))
        goto out;
    printf("    %u real updates by the sequencer into a tree of %zu: %.1f ms (%.0f us each)\n",
           LOOKUP_LABELS, fill, (double)wall / 1e6, (double)wall / 1000.0 / LOOKUP_LABELS);
    r = time_lookups(&s, "user", 0, LOOKUP_LABELS, n);
out:
    if (s.store || s.dir[0])
        srv_close(&s, 1);
    return r;
}

/* ---- main ------------------------------------------------------------------------------------ */

static void usage(void)
{
    fprintf(stderr, "usage: kt-bench-server [--quick] [--total N] [--fill N] [--keep]\n"
                    "  --quick    fewer runs, 10^4 updates in all, fill 10^5 (a smoke test)\n"
                    "  --total N  updates of the long run (default 100000)\n"
                    "  --fill N   filler label-versions for the large lookup (default 10^6; 0: "
                    "skip)\n"
                    "  --keep     keep the 10^5 run's directory\n");
}

int main(int argc, char **argv)
{
    int quick = 0, keep = 0;
    size_t total = 100000, fill = 1000000;
    char dir[512] = "";
    parts p;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            quick = 1;
            total = 10000;
            fill = 100000;
        } else if (strcmp(argv[i], "--keep") == 0) {
            keep = 1;
        } else if (i + 1 < argc && strcmp(argv[i], "--total") == 0) {
            total = strtoul(argv[++i], NULL, 10);
        } else if (i + 1 < argc && strcmp(argv[i], "--fill") == 0) {
            fill = strtoul(argv[++i], NULL, 10);
        } else {
            usage();
            return 2;
        }
    }
    if (total < 1000 || total > 10000000 || fill > 16000000) {
        usage();
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (pl_init() != PL_OK || make_pool() != 0)
        return 1;
    pl_log_setup(PL_CONFIG_LOG_WARN, PL_CONFIG_LOG_TEXT, 2);
    printf("kt-bench-server: parleyd's key-transparency log in-process, one thread, SQLite "
           "WAL + synchronous=FULL in %s\n",
           getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    printf("1. the sequencer\n");
    if (bench_parts(quick ? 51 : 201, &p) != 0 || bench_batches(quick, &p) != 0) {
        fprintf(stderr, "kt-bench-server: the sequencer benchmark failed\n");
        return 1;
    }
    printf("2. %zu updates in all, and the store\n", total);
    if (bench_total(total, quick ? 1 : 3, dir, sizeof dir) != 0) {
        fprintf(stderr, "kt-bench-server: the long run failed\n");
        return 1;
    }
    printf("3. lookup proofs on the server (pl_kt_log_lookup: checkpoint, one indexed read, "
           "inclusion proof, opening, two prefix proofs, encoding)\n");
    if (bench_lookup_at(dir, (uint32_t)total, quick ? 101 : 1001) != 0) {
        fprintf(stderr, "kt-bench-server: the lookup benchmark failed\n");
        return 1;
    }
    if (keep)
        printf("  kept %s\n", dir);
    else
        kb_rm_rf(dir);
    if (fill > 0 && bench_lookup_filled(fill, quick ? 101 : 1001) != 0) {
        fprintf(stderr, "kt-bench-server: the large lookup benchmark failed\n");
        return 1;
    }
    return 0;
}
