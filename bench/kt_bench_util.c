/* kt_bench_util.c: shared helpers of the key-transparency benchmarks (kt_bench_util.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kt_bench_util.h"

uint64_t kb_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t kb_thread_cpu_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t kb_wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void kb_sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

uint64_t kb_median(uint64_t *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, cmp_u64);
    return v[n / 2];
}

double kb_median_d(double *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, cmp_d);
    return v[n / 2];
}

uint64_t kb_max(const uint64_t *v, size_t n)
{
    uint64_t m = 0;

    for (size_t i = 0; i < n; i++)
        if (v[i] > m)
            m = v[i];
    return m;
}

int kb_mkdtemp(char *out, size_t cap, const char *tag)
{
    const char *tmp = getenv("TMPDIR");
    int n = snprintf(out, cap, "%s/%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", tag);

    if (n < 0 || (size_t)n >= cap || !mkdtemp(out)) {
        if (cap)
            out[0] = '\0';
        return -1;
    }
    return 0;
}

void kb_rm_rf(const char *path)
{
    struct stat st;
    struct dirent *e;
    char sub[1024];
    DIR *d;

    if (!path[0] || lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode) && (d = opendir(path)) != NULL) {
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            if (snprintf(sub, sizeof sub, "%s/%s", path, e->d_name) < (int)sizeof sub)
                kb_rm_rf(sub);
        }
        closedir(d);
        rmdir(path);
        return;
    }
    unlink(path);
}

uint64_t kb_file_bytes(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
}

/* A new device's record under a's key, with id a->next_device_id. */
static int new_record(kb_account *a, uint64_t created_at_ms, uint8_t out[PL_DEVICE_RECORD_BYTES])
{
    pl_device *dev = NULL;
    uint8_t ik[PL_PUBKEY_BYTES];
    int r;

    if (pl_device_generate(&dev, NULL, a->next_device_id) != PL_OK)
        return -1;
    pl_device_identity_key(dev, ik);
    r = pl_account_sign_device(a->account, a->next_device_id, ik, created_at_ms, out);
    pl_device_free(dev);
    return r == PL_OK ? 0 : -1;
}

int kb_account_new(kb_account *a, uint64_t created_at_ms)
{
    memset(a, 0, sizeof *a);
    if (pl_account_generate(&a->account, NULL) != PL_OK)
        return -1;
    pl_account_public_key(a->account, a->account_key);
    a->next_device_id = 1;
    if (new_record(a, created_at_ms, a->records[0]) != 0 ||
        pl_account_state_sign(a->account, 0, NULL, created_at_ms, 0,
                              (const uint8_t(*)[PL_DEVICE_RECORD_BYTES])a->records, 1, a->state,
                              sizeof a->state, &a->state_len) != PL_OK) {
        kb_account_free(a);
        return -1;
    }
    a->n_records = 1;
    a->next_device_id = 2;
    return 0;
}

int kb_account_add_device(kb_account *a, uint64_t created_at_ms,
                          uint8_t out_record[PL_DEVICE_RECORD_BYTES])
{
    uint8_t prev[PL_ACCOUNT_STATE_HASH_BYTES], state[PL_ACCOUNT_STATE_MAX_BYTES];
    size_t len = 0;

    if (a->n_records == PL_ACCOUNT_STATE_MAX_DEVICES ||
        new_record(a, created_at_ms, a->records[a->n_records]) != 0)
        return -1;
    pl_account_state_hash(a->state, a->state_len, prev);
    /* Device ids only grow, so the new record is the last and the ids stay ascending. */
    if (pl_account_state_sign(a->account, a->seq + 1, prev, created_at_ms, 1,
                              (const uint8_t(*)[PL_DEVICE_RECORD_BYTES])a->records,
                              a->n_records + 1, state, sizeof state, &len) != PL_OK)
        return -1;
    memcpy(out_record, a->records[a->n_records], PL_DEVICE_RECORD_BYTES);
    memcpy(a->state, state, len);
    a->state_len = len;
    a->n_records++;
    a->next_device_id++;
    a->seq++;
    return 0;
}

void kb_account_free(kb_account *a)
{
    pl_account_free(a->account);
    memset(a, 0, sizeof *a);
}
