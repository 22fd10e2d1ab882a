/*
 * main.c: parley-bench, Parley's cost beside bare libsodium and beside libolm.
 *
 * For each operation it runs one warm-up batch and then BATCHES timed batches. Within a
 * batch the three implementations take turns in small chunks (the order rotating), so
 * that the fast and slow spells of a shared machine fall on all three alike. It prints
 * the median over the batches of ns per operation, with the two ratios the targets are
 * stated in:
 *
 *   Parley / composed  <= 1.3   (libparley's overhead over its own libsodium calls)
 *   libolm / Parley    >= 3.0   (throughput against Matrix's libolm)
 *
 * It prints figures and exits 0 whether or not a target is met; it exits 1 only when an
 * operation fails. docs/BENCHMARKS.md says what each timed region covers and records runs.
 *
 *   parley-bench [--quick] [--verbose] [--only parley|composed|libolm] [--op TEXT]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <olm/olm.h>
#include <sodium.h>

#include "parley/parley.h"

#include "bench.h"

#define BATCHES 11u
#define N_IMPL 3u
#define TARGET_OVERHEAD 1.3
#define TARGET_VS_OLM 3.0

enum { IMPL_PARLEY, IMPL_COMPOSED, IMPL_OLM };

static const bench_impl *const impls[N_IMPL] = {&bench_parley_impl, &bench_composed_impl,
                                                &bench_olm_impl};

typedef enum op_kind { OP_INITIATOR, OP_RESPONDER, OP_CHAIN, OP_RATCHET } op_kind;

typedef struct op {
    const char *name;
    op_kind kind;
    size_t len;     /* message length, for per-message operations */
    unsigned iters; /* operations (messages) per batch and implementation */
    unsigned chunk; /* operations one implementation runs before the next takes its turn */
} op;

/* A chunk takes roughly 2 to 10 ms; a batch of all three about a second. */
static const op ops[] = {
    {"setup, initiator", OP_INITIATOR, 0, 200, 10},
    {"setup, responder", OP_RESPONDER, 0, 200, 10},
    {"100 B, same chain", OP_CHAIN, 100, 2000, 250},
    {"1 KiB, same chain", OP_CHAIN, 1024, 2000, 250},
    {"100 B, DH step each", OP_RATCHET, 100, 400, 20},
    {"1 KiB, DH step each", OP_RATCHET, 1024, 400, 20},
};
#define N_OPS (sizeof ops / sizeof ops[0])

/* Samples of one table row: ns per operation, per implementation, per batch. */
typedef struct row {
    char name[48];
    double ns[N_IMPL][BATCHES];
    int failed[N_IMPL]; /* 1: an operation failed; 2: not run (--only, or its set-up failed) */
    int judge_olm;      /* whether the libolm target applies to this row */
} row;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double median(const double *v, size_t n)
{
    double s[BATCHES];

    memcpy(s, v, n * sizeof *v);
    qsort(s, n, sizeof *s, cmp_double);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static double min_of(const double *v, size_t n)
{
    double m = v[0];

    for (size_t i = 1; i < n; i++)
        m = v[i] < m ? v[i] : m;
    return m;
}

static double max_of(const double *v, size_t n)
{
    double m = v[0];

    for (size_t i = 1; i < n; i++)
        m = v[i] > m ? v[i] : m;
    return m;
}

/* The cost of one clock reading, taken off every individually timed call. */
static double timer_overhead(void)
{
    double d[BATCHES];

    for (unsigned b = 0; b < BATCHES; b++) {
        uint64_t t0 = bench_now(), t = t0;

        for (unsigned i = 0; i < 10000; i++)
            t = bench_now();
        d[b] = (double)(t - t0) / 10000.0;
    }
    return median(d, BATCHES);
}

void bench_fill_plaintext(uint8_t *buf, size_t len, unsigned i)
{
    for (size_t j = 0; j < len; j++)
        buf[j] = (uint8_t)(i * 131u + j * 7u + 1u);
}

int bench_check_plaintext(const uint8_t *buf, size_t len, unsigned i)
{
    for (size_t j = 0; j < len; j++) {
        if (buf[j] != (uint8_t)(i * 131u + j * 7u + 1u))
            return -1;
    }
    return 0;
}

static void print_machine(void)
{
    char line[512], model[256] = "unknown";
    FILE *f = fopen("/proc/cpuinfo", "r");
    int avx2 = 0, sha = 0;
    uint8_t maj = 0, min = 0, pat = 0;
    struct utsname u;

    if (f != NULL) {
        while (fgets(line, sizeof line, f) != NULL) {
            char *colon = strchr(line, ':');

            if (strncmp(line, "model name", 10) == 0 && colon != NULL && model[0] == 'u') {
                snprintf(model, sizeof model, "%s", colon + 2);
                model[strcspn(model, "\n")] = 0;
            }
            if (strncmp(line, "flags", 5) == 0) {
                avx2 |= strstr(line, " avx2") != NULL;
                sha |= strstr(line, " sha_ni") != NULL;
            }
        }
        fclose(f);
    }
    olm_get_library_version(&maj, &min, &pat);
    printf("cpu:       %s, %ld online, avx2 %s, sha_ni %s\n", model, sysconf(_SC_NPROCESSORS_ONLN),
           avx2 ? "yes" : "no", sha ? "yes" : "no");
    if (uname(&u) == 0)
        printf("system:    %s %s %s\n", u.sysname, u.release, u.machine);
    printf("libraries: libparley %s, libsodium %s, libolm %u.%u.%u\n", pl_version(),
           sodium_version_string(), maj, min, pat);
    printf("compiler:  %s%s\n", __VERSION__,
#ifdef NDEBUG
           ", NDEBUG"
#else
           ", assertions on (not a Release build?)"
#endif
    );
}

/* Runs one chunk of n operations of o on implementation k, adding to the batch's sums. */
static int run_chunk(unsigned k, void *state, const op *o, unsigned n, uint64_t sum[2])
{
    const bench_impl *impl = impls[k];

    switch (o->kind) {
    case OP_INITIATOR:
        return impl->setup_initiator(state, n, &sum[0]);
    case OP_RESPONDER:
        return impl->setup_responder(state, n, &sum[0]);
    case OP_CHAIN:
        return impl->chain(state, o->len, n, &sum[0], &sum[1]);
    default:
        return impl->ratchet(state, o->len, n, &sum[0], &sum[1]);
    }
}

/*
 * Runs one batch of o->iters operations on every implementation still working, in chunks
 * taken in turn (the order rotating), so that all three share the machine's fast and slow
 * moments within the batch. With rw non-NULL stores ns per operation as sample b.
 */
static int run_batch(void *const *states, const op *o, double over, row *rw, unsigned nr,
                     unsigned b)
{
    uint64_t sum[N_IMPL][2] = {{0}};
    unsigned done = 0, turn = 0;
    int errors = 0;

    while (done < o->iters) {
        unsigned n = o->iters - done < o->chunk ? o->iters - done : o->chunk;

        for (unsigned s = 0; s < N_IMPL; s++) {
            unsigned k = (s + turn) % N_IMPL;

            if (rw[0].failed[k])
                continue;
            if (run_chunk(k, states[k], o, n, sum[k]) != 0) {
                fprintf(stderr, "parley-bench: %s: %s failed\n", impls[k]->name, o->name);
                for (unsigned j = 0; j < nr; j++)
                    rw[j].failed[k] = 1;
                errors = 1;
            }
        }
        done += n;
        turn++;
    }
    for (unsigned k = 0; k < N_IMPL; k++) {
        double e = (double)sum[k][0] / o->iters, d = (double)sum[k][1] / o->iters;

        if (b >= BATCHES || rw[0].failed[k])
            continue;
        if (o->kind == OP_INITIATOR || o->kind == OP_RESPONDER) {
            rw[0].ns[k][b] = e;
            continue;
        }
        if (o->kind == OP_RATCHET) {
            e -= over;
            d -= over;
        }
        rw[0].ns[k][b] = e;
        rw[1].ns[k][b] = d;
        rw[2].ns[k][b] = e + d;
    }
    return errors;
}

static void print_row(const row *rw, int verbose, int *all_overhead, int *all_olm)
{
    double m[N_IMPL];
    char pc[16] = "-", op_[16] = "-";
    const char *v1 = "-", *v2 = "-";

    for (unsigned k = 0; k < N_IMPL; k++)
        m[k] = rw->failed[k] ? 0 : median(rw->ns[k], BATCHES);
    if (!rw->failed[IMPL_PARLEY] && !rw->failed[IMPL_COMPOSED] && m[IMPL_COMPOSED] > 0) {
        double x = m[IMPL_PARLEY] / m[IMPL_COMPOSED];

        snprintf(pc, sizeof pc, "%.2fx", x);
        v1 = x <= TARGET_OVERHEAD ? "PASS" : "FAIL";
        *all_overhead &= x <= TARGET_OVERHEAD;
    }
    if (!rw->failed[IMPL_PARLEY] && !rw->failed[IMPL_OLM] && m[IMPL_PARLEY] > 0) {
        double x = m[IMPL_OLM] / m[IMPL_PARLEY];

        snprintf(op_, sizeof op_, "%.2fx", x);
        if (rw->judge_olm) {
            v2 = x >= TARGET_VS_OLM ? "PASS" : "FAIL";
            *all_olm &= x >= TARGET_VS_OLM;
        } else {
            v2 = "info";
        }
    }
    printf("%-30s", rw->name);
    for (unsigned k = 0; k < N_IMPL; k++) {
        if (rw->failed[k])
            printf(" %10s", rw->failed[k] == 1 ? "error" : "-");
        else
            printf(" %10.0f", m[k]);
    }
    printf(" %7s %7s  %-5s %s\n", pc, op_, v1, v2);
    if (!verbose)
        return;
    for (unsigned k = 0; k < N_IMPL; k++) {
        if (rw->failed[k])
            continue;
        printf("    %-9s min %10.0f  median %10.0f  max %10.0f  (ns/op over %u batches)\n",
               impls[k]->name, min_of(rw->ns[k], BATCHES), m[k], max_of(rw->ns[k], BATCHES),
               BATCHES);
    }
}

static void usage(void)
{
    fprintf(
        stderr,
        "usage: parley-bench [--quick] [--verbose] [--only parley|composed|libolm] [--op TEXT]\n"
        "  --quick    a tenth of the iterations (a smoke run; figures are noisier)\n"
        "  --verbose  min, median and max per implementation under each row\n"
        "  --only     run one implementation (for profiling); no ratios\n"
        "  --op       run only the operations whose name contains TEXT, e.g. initiator\n");
}

int main(int argc, char **argv)
{
    void *states[N_IMPL] = {NULL};
    int enabled[N_IMPL] = {1, 1, 1};
    row rows[N_OPS * 3];
    unsigned n_rows = 0, divisor = 1;
    int verbose = 0, all_overhead = 1, all_olm = 1, errors = 0;
    const char *only_op = NULL;
    double over;
    uint64_t start = bench_now();

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            divisor = 10;
        } else if (strcmp(argv[i], "--verbose") == 0 || strcmp(argv[i], "-v") == 0) {
            verbose = 1;
        } else if (strcmp(argv[i], "--op") == 0 && i + 1 < argc) {
            only_op = argv[++i];
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            i++;
            for (unsigned k = 0; k < N_IMPL; k++)
                enabled[k] = strcmp(argv[i], impls[k]->name) == 0;
        } else {
            usage();
            return 2;
        }
    }
    if (pl_init() != PL_OK || sodium_init() < 0) {
        fprintf(stderr, "parley-bench: initialisation failed\n");
        return 1;
    }

    printf("parley-bench: median ns per operation over %u batches "
           "(CLOCK_MONOTONIC; warm-up batch discarded)\n",
           BATCHES);
    print_machine();
    over = timer_overhead();
    printf("timer:     %.1f ns per clock reading, subtracted from individually timed calls\n",
           over);

    for (unsigned k = 0; k < N_IMPL; k++) {
        if (enabled[k] && (states[k] = impls[k]->open()) == NULL) {
            fprintf(stderr, "parley-bench: %s: set-up failed\n", impls[k]->name);
            enabled[k] = 0;
            errors = 1;
        }
    }

    memset(rows, 0, sizeof rows);
    for (unsigned i = 0; i < N_OPS; i++) {
        op o = ops[i];
        unsigned nr = o.kind == OP_INITIATOR || o.kind == OP_RESPONDER ? 1 : 3;
        row *rw = rows + n_rows;

        if (only_op != NULL && strstr(o.name, only_op) == NULL)
            continue;
        o.iters = o.iters / divisor < 2 ? 2 : o.iters / divisor;
        o.iters += o.iters % 2;
        o.chunk = o.chunk > o.iters ? o.iters : o.chunk;
        if (nr == 1) {
            snprintf(rw[0].name, sizeof rw[0].name, "%s", o.name);
            rw[0].judge_olm = 1;
        } else {
            snprintf(rw[0].name, sizeof rw[0].name, "%s: encrypt", o.name);
            snprintf(rw[1].name, sizeof rw[1].name, "%s: decrypt", o.name);
            snprintf(rw[2].name, sizeof rw[2].name, "%s: enc+dec", o.name);
            /* Olm makes its new ratchet key when it next encrypts, Parley when it
             * receives, so only the pair compares like with like when keys change. */
            rw[0].judge_olm = rw[1].judge_olm = o.kind == OP_CHAIN;
            rw[2].judge_olm = 1;
        }
        for (unsigned k = 0; k < N_IMPL; k++) {
            for (unsigned j = 0; j < nr; j++)
                rw[j].failed[k] = enabled[k] ? 0 : 2;
        }
        /* The first batch warms caches and the CPU's clock up and is not kept. */
        for (unsigned b = 0; b <= BATCHES; b++)
            errors |= run_batch(states, &o, over, rw, nr, b == 0 ? BATCHES : b - 1);
        n_rows += nr;
    }

    printf("\n%-30s %10s %10s %10s %7s %7s  %-5s %s\n", "operation (ns/op, median)", "parley",
           "composed", "libolm", "P/C", "O/P", "<=1.3", ">=3");
    for (unsigned i = 0; i < n_rows; i++) {
        if (strstr(rows[i].name, ": encrypt") != NULL)
            printf("\n");
        print_row(&rows[i], verbose, &all_overhead, &all_olm);
    }
    printf("\nP/C = parley / composed (target <= %.1f); O/P = libolm / parley (target >= %.1f);\n"
           "\"info\": not judged, the two place their DH ratchet work on different calls.\n",
           TARGET_OVERHEAD, TARGET_VS_OLM);
    bench_print_primitives(divisor);
    printf("\n");
    if (enabled[IMPL_PARLEY] && enabled[IMPL_COMPOSED] && enabled[IMPL_OLM])
        printf("targets:   overhead <= %.1fx: %s;  libolm/parley >= %.1fx: %s\n", TARGET_OVERHEAD,
               all_overhead ? "met on every row" : "MISSED (see FAIL rows)", TARGET_VS_OLM,
               all_olm ? "met on every judged row" : "MISSED (see FAIL rows)");
    printf("run time:  %.1f s\n", (double)(bench_now() - start) / 1e9);

    for (unsigned k = 0; k < N_IMPL; k++) {
        if (states[k] != NULL)
            impls[k]->close(states[k]);
    }
    return errors;
}
