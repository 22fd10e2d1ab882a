/*
 * kt_bench_util.h: what the key-transparency benchmark programs share (kt-bench-server,
 * kt-bench-device, kt-bench-audit; docs/BENCHMARKS.md): clocks, medians, temporary
 * directories, and signed one-device account states to feed the log.
 *
 * Benchmark support only: it prints nothing, and every function reports failure by its
 * return value so each program's main decides what to say.
 */
#ifndef PARLEY_KT_BENCH_UTIL_H
#define PARLEY_KT_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "parley/parley.h"

/* CLOCK_MONOTONIC in ns. */
uint64_t kb_now_ns(void);

/* CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID) in ns. */
uint64_t kb_thread_cpu_ns(void);

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
uint64_t kb_wall_ms(void);

/* Sleeps ms milliseconds (nanosleep, restarted on EINTR). */
void kb_sleep_ms(unsigned ms);

/* Sorts v[0..n) in place and returns its median (v[n / 2]); 0 when n is 0. */
uint64_t kb_median(uint64_t *v, size_t n);
double kb_median_d(double *v, size_t n);

/* The largest of v[0..n); 0 when n is 0. */
uint64_t kb_max(const uint64_t *v, size_t n);

/*
 * Makes a fresh directory "<TMPDIR or /tmp>/<tag>.XXXXXX" (mode 0700) into out[0..cap).
 * Returns 0, or -1 (out is then "").
 */
int kb_mkdtemp(char *out, size_t cap, const char *tag);

/* Removes path and everything under it (no symlinks followed). Accepts "". */
void kb_rm_rf(const char *path);

/* Bytes of the regular file at path; 0 when it does not exist. */
uint64_t kb_file_bytes(const char *path);

/*
 * A fresh account with one device: the account, device 1, its record and the account state
 * of seq 0 (PROTOCOL.md §19, 291 bytes) as RegisterAccount sends it. Free with
 * kb_account_free.
 */
typedef struct kb_account {
    pl_account *account;
    uint8_t account_key[PL_PUBKEY_BYTES];
    uint8_t records[PL_ACCOUNT_STATE_MAX_DEVICES][PL_DEVICE_RECORD_BYTES]; /* ascending ids */
    size_t n_records;
    uint32_t next_device_id;
    uint8_t state[PL_ACCOUNT_STATE_MAX_BYTES]; /* the last state made */
    size_t state_len;
    uint32_t seq;
} kb_account;

/* Returns 0 and *a filled (at created_at_ms), or -1. */
int kb_account_new(kb_account *a, uint64_t created_at_ms);

/*
 * Makes the account's next state, adding one new device (record written to new_record):
 * seq + 1, extending the last state, published by device 1. Returns 0, or -1 (no room for
 * another device, or a library failure; *a is then unchanged).
 */
int kb_account_add_device(kb_account *a, uint64_t created_at_ms,
                          uint8_t new_record[PL_DEVICE_RECORD_BYTES]);

/* Frees the account key; accepts a zeroed struct. */
void kb_account_free(kb_account *a);

#endif
