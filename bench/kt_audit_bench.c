/*
 * kt_audit_bench.c: kt-bench-audit, how fast parley-audit replays a log (docs/BENCHMARKS.md,
 * "Key transparency: the auditor's replay"). It records a feed of KtAuditEntry messages as
 * parleyd sends them (PROTOCOL.md §24.4: position, timestamp, prefix root, and the leaves
 * vrf_out || commitment the entry added, ascending by vrf_out), then times the auditor's
 * replay checker over it: pl_audit_replay_entry (src/audit/replay.c, the pure function
 * parley-audit's rounds call for every entry: order, time, absence of every added key,
 * inserts, the recomputed prefix root, the log leaf), and at the end
 * pl_audit_replay_check_root against the log's root.
 *
 * The feed: `total` label-versions (default 10^5) in entries of 100..1000 leaves (sizes
 * drawn uniformly from a fixed seed, so every run replays the same feed). vrf_out is
 * SHA-256 of a counter, uniform as real VRF outputs are, which is all the auditor sees of
 * them; each entry's prefix root comes from the server's side of the same tree, and each
 * entry is protobuf-encoded as on the wire. Three timings, each the median of several runs:
 *   replay        pl_audit_replay_entry over entries already in the checker's form;
 *   wire+replay   protobuf unpacking and pl_audit_entry_from_wire (the length checks and the
 *                 copy of the leaves) before each replay, as a round does per KtAuditEntry;
 *   +store        the same, and each entry stored in a fresh audit.db (pl_audit_db_put_entry,
 *                 WAL, synchronous=FULL), committed every PL_AUDIT_BATCH entries, as a round
 *                 catching up stores them (a round commits once at its end: fewer fsyncs).
 * Not included: the network, and the round's checkpoint and witness steps.
 * Figures, never assertions; it exits non-zero only if the replay refuses the honest feed.
 *
 *   build-bench/bench/kt-bench-audit [--quick] [--total N] [--runs R]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit_db.h"
#include "kt_bench_util.h"
#include "replay.h"
#include "round.h"
#include "wire_kt.h"

#define MIN_LEAVES 100u
#define MAX_LEAVES 1000u

/* One recorded entry: its wire bytes, and the same in the checker's form. */
typedef struct rec {
    uint8_t *wire;
    size_t wire_len;
    pl_audit_entry e;
} rec;

typedef struct feed {
    rec *recs;
    size_t n;
    uint8_t (*leaves)[PL_AUDIT_LEAF_BYTES]; /* every entry's leaves, entry after entry */
    uint8_t log_root[PL_MERKLE_HASH_BYTES];
    size_t wire_bytes;
} feed;

static int cmp_leaf(const void *a, const void *b)
{
    return memcmp(a, b, PL_PREFIX_KEY_BYTES);
}

static void feed_free(feed *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->recs[i].wire);
    free(f->recs);
    free(f->leaves);
    memset(f, 0, sizeof *f);
}

/* Records the feed of `total` label-versions: what an honest parleyd would send. */
static int feed_make(feed *f, size_t total)
{
    static const uint8_t seed[randombytes_SEEDBYTES] = {'p', 'a', 'r', 'l', 'e', 'y'};
    size_t max_entries = total / MIN_LEAVES + 1, done = 0;
    uint32_t *sizes = malloc(max_entries * sizeof *sizes);
    uint8_t(*log_leaves)[PL_MERKLE_HASH_BYTES] = malloc(max_entries * sizeof *log_leaves);
    pl_prefix_tree *server = NULL;
    int r = -1;

    memset(f, 0, sizeof *f);
    f->recs = calloc(max_entries, sizeof *f->recs);
    f->leaves = malloc(total * sizeof *f->leaves);
    if (!sizes || !log_leaves || !f->recs || !f->leaves || pl_prefix_tree_new(&server) != PL_OK)
        goto out;
    randombytes_buf_deterministic(sizes, max_entries * sizeof *sizes, seed);
    while (done < total) {
        rec *rc = &f->recs[f->n];
        size_t n = MIN_LEAVES + sizes[f->n] % (MAX_LEAVES - MIN_LEAVES + 1);
        uint8_t entry[PL_KT_LOG_ENTRY_BYTES];
        Parley__KtAuditEntry w = PARLEY__KT_AUDIT_ENTRY__INIT;
        ProtobufCBinaryData *bins = NULL;

        if (n > total - done)
            n = total - done;
        rc->e.position = f->n;
        rc->e.timestamp_ms = 1764000000000ull + 1000u * f->n;
        rc->e.leaves = (const uint8_t(*)[PL_AUDIT_LEAF_BYTES])f->leaves[done];
        rc->e.n_leaves = n;
        for (size_t i = 0; i < n; i++) {
            uint64_t k = done + i;
            uint8_t *leaf = f->leaves[done + i];

            crypto_hash_sha256(leaf, (const uint8_t *)&k, sizeof k);
            crypto_hash_sha256(leaf + PL_PREFIX_KEY_BYTES, leaf, PL_PREFIX_KEY_BYTES);
        }
        qsort(f->leaves[done], n, PL_AUDIT_LEAF_BYTES, cmp_leaf);
        for (size_t i = 0; i < n; i++)
            if (pl_prefix_tree_insert(server, f->leaves[done + i],
                                      f->leaves[done + i] + PL_PREFIX_KEY_BYTES) != PL_OK)
                goto out;
        pl_prefix_tree_root(server, rc->e.prefix_root);
        pl_kt_log_entry(rc->e.timestamp_ms, rc->e.prefix_root, entry);
        pl_merkle_leaf_hash(entry, sizeof entry, log_leaves[f->n]);
        /* On the wire. */
        if (!(bins = calloc(n, sizeof *bins)))
            goto out;
        for (size_t i = 0; i < n; i++) {
            bins[i].data = f->leaves[done + i];
            bins[i].len = PL_AUDIT_LEAF_BYTES;
        }
        w.position = rc->e.position;
        w.timestamp_ms = rc->e.timestamp_ms;
        w.prefix_root.data = rc->e.prefix_root;
        w.prefix_root.len = PL_PREFIX_HASH_BYTES;
        w.leaves = bins;
        w.n_leaves = n;
        rc->wire_len = parley__kt_audit_entry__get_packed_size(&w);
        if ((rc->wire = malloc(rc->wire_len)))
            parley__kt_audit_entry__pack(&w, rc->wire);
        free(bins);
        if (!rc->wire)
            goto out;
        f->wire_bytes += rc->wire_len;
        f->n++;
        done += n;
    }
    if (pl_merkle_root((const uint8_t(*)[PL_MERKLE_HASH_BYTES])log_leaves, f->n, f->log_root) !=
        PL_OK)
        goto out;
    r = 0;
out:
    pl_prefix_tree_free(server);
    free(sizes);
    free(log_leaves);
    if (r != 0)
        feed_free(f);
    return r;
}

enum { MODE_REPLAY, MODE_WIRE, MODE_STORE, MODES };
static const char *const mode_name[MODES] = {"replay", "wire+replay", "+store"};

/* Replays the whole feed into a fresh checker: from the checker's form, or from the recorded
 * bytes, or from them and into a fresh audit.db. Returns the wall time in ns, or 0 if
 * anything failed or was refused. */
static uint64_t replay_feed(const feed *f, int mode, uint64_t *cpu_ns)
{
    pl_audit_replay *r = NULL;
    pl_audit_failure why = PL_AUDIT_OK;
    pl_audit_db *db = NULL;
    char dir[512] = "", err[256];
    uint64_t t0, c0, t = 0;
    int wire = mode != MODE_REPLAY;

    if (pl_audit_replay_new(&r) != PL_OK)
        return 0;
    if (mode == MODE_STORE &&
        (kb_mkdtemp(dir, sizeof dir, "parley-ktbench-auditdb") != 0 ||
         pl_audit_db_create(dir, "bench.example/w1", err, sizeof err) != 0 ||
         pl_audit_db_open(dir, 0, &db, err, sizeof err) != 0 || pl_audit_db_begin(db) != 0)) {
        fprintf(stderr, "kt-bench-audit: cannot make an audit.db in %s\n", dir);
        goto out;
    }
    t0 = kb_now_ns();
    c0 = kb_thread_cpu_ns();
    for (size_t i = 0; i < f->n; i++) {
        int rc;

        if (wire) {
            Parley__KtAuditEntry *w =
                parley__kt_audit_entry__unpack(NULL, f->recs[i].wire_len, f->recs[i].wire);
            uint8_t(*leaves)[PL_AUDIT_LEAF_BYTES] = NULL;
            const char *bad = NULL;
            pl_audit_entry e;

            rc = w ? pl_audit_entry_from_wire(w, &e, &leaves, &bad) : PL_E_MALFORMED;
            if (rc == PL_OK)
                rc = pl_audit_replay_entry(r, &e, &why);
            if (rc == PL_OK && db &&
                (pl_audit_db_put_entry(db, &e) != 0 ||
                 ((i + 1) % PL_AUDIT_BATCH == 0 &&
                  (pl_audit_db_commit(db) != 0 || pl_audit_db_begin(db) != 0)))) {
                fprintf(stderr, "kt-bench-audit: audit.db: %s\n", pl_audit_db_error(db));
                rc = PL_E_CORRUPT;
            }
            free(leaves);
            parley__kt_audit_entry__free_unpacked(w, NULL);
        } else {
            rc = pl_audit_replay_entry(r, &f->recs[i].e, &why);
        }
        if (rc != PL_OK) {
            fprintf(stderr, "kt-bench-audit: entry %zu failed: %s\n", i, pl_audit_failure_str(why));
            goto out;
        }
    }
    if (db && pl_audit_db_commit(db) != 0) {
        fprintf(stderr, "kt-bench-audit: audit.db: %s\n", pl_audit_db_error(db));
        goto out;
    }
    if (pl_audit_replay_check_root(r, f->n, f->log_root, &why) != PL_OK) {
        fprintf(stderr, "kt-bench-audit: the log root differs: %s\n", pl_audit_failure_str(why));
        goto out;
    }
    *cpu_ns = kb_thread_cpu_ns() - c0;
    t = kb_now_ns() - t0;
out:
    pl_audit_replay_free(r);
    pl_audit_db_close(db);
    kb_rm_rf(dir);
    return t;
}

int main(int argc, char **argv)
{
    size_t total = 100000;
    unsigned runs = 5;
    double rate[MODES][32], cpu_rate[MODES][32], secs[MODES][32];
    feed f;
    uint64_t t0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            total = 10000;
            runs = 3;
        } else if (i + 1 < argc && strcmp(argv[i], "--total") == 0) {
            total = strtoul(argv[++i], NULL, 10);
        } else if (i + 1 < argc && strcmp(argv[i], "--runs") == 0) {
            runs = (unsigned)strtoul(argv[++i], NULL, 10);
        } else {
            fprintf(stderr, "usage: kt-bench-audit [--quick] [--total N] [--runs R]\n");
            return 2;
        }
    }
    if (total < MIN_LEAVES || total > 10000000 || runs < 1 || runs > 32) {
        fprintf(stderr, "kt-bench-audit: --total must be 100..10^7 and --runs 1..32\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (pl_init() != PL_OK)
        return 1;
    t0 = kb_now_ns();
    if (feed_make(&f, total) != 0) {
        fprintf(stderr, "kt-bench-audit: could not record the feed\n");
        return 1;
    }
    printf("kt-bench-audit: the auditor's replay checker (pl_audit_replay_entry), one thread\n");
    printf("  feed: %zu label-versions in %zu entries of %u..%u leaves (mean %.0f), %.1f MB of "
           "KtAuditEntry, recorded in %.1f s\n",
           total, f.n, MIN_LEAVES, MAX_LEAVES, (double)total / (double)f.n,
           (double)f.wire_bytes / 1e6, (double)(kb_now_ns() - t0) / 1e9);
    for (unsigned i = 0; i < runs; i++)
        for (int m = 0; m < MODES; m++) {
            uint64_t cpu = 0, t = replay_feed(&f, m, &cpu);

            if (t == 0) {
                feed_free(&f);
                return 1;
            }
            secs[m][i] = (double)t / 1e9;
            rate[m][i] = (double)total * 1e9 / (double)t;
            cpu_rate[m][i] = (double)total * 1e9 / (double)cpu;
            printf("    run %u, %-11s %.3f s  %8.0f updates/s (CPU: %.0f/s)\n", i + 1, mode_name[m],
                   secs[m][i], rate[m][i], cpu_rate[m][i]);
        }
    for (int m = 0; m < MODES; m++)
        printf("  %-11s median of %u runs: %.3f s, %.0f updates/s wall, %.0f updates/s CPU\n",
               mode_name[m], runs, kb_median_d(secs[m], runs), kb_median_d(rate[m], runs),
               kb_median_d(cpu_rate[m], runs));
    feed_free(&f);
    return 0;
}
