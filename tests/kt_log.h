/*
 * kt_log.h: a small key-transparency log built the way the server builds it (PROTOCOL.md
 * §23.1), for the lookup tests, the golden vectors, the fuzz fixtures and the benchmark.
 * TEST-ONLY: not part of libparley.
 *
 * Label-versions are added with ktl_add() (real VRF outputs from the log's fixed VRF seed,
 * real openings and commitments), then ktl_close_entry() appends log entry i: a cumulative
 * prefix tree of every label-version added so far, its root in u64 ts || root, and the
 * entry's RFC 9162 leaf hash. ktl_prove() acts as the server: it proves whatever it is asked
 * (even a greatest proof of a replayed old version), so tests see the verifier refuse it.
 *
 * Everything is deterministic; nothing here uses cmocka, so fuzz targets link it too.
 */
#ifndef PARLEY_TEST_KT_LOG_H
#define PARLEY_TEST_KT_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "parley/parley.h"

#define KTL_MAX_LABEL_VERSIONS 32u
#define KTL_MAX_ENTRIES 32u
#define KTL_MAX_STATES 4u

typedef struct ktl_label_version {
    uint8_t label[PL_KT_LABEL_MAX_BYTES];
    size_t label_len;
    uint32_t version;
    uint8_t value[PL_ACCOUNT_STATE_MAX_BYTES];
    size_t value_len;
    size_t entry; /* the first log entry whose tree holds it */
    uint8_t vrf_out[PL_KT_VRF_OUT_BYTES];
    uint8_t commitment[PL_KT_COMMITMENT_BYTES];
} ktl_label_version;

typedef struct ktl_log {
    uint8_t vrf_seed[PL_VRF_SECRET_KEY_BYTES];
    uint8_t vrf_pk[PL_VRF_PUBLIC_KEY_BYTES];
    uint8_t open_key[PL_KT_OPEN_KEY_BYTES];
    size_t n_lv;
    ktl_label_version lv[KTL_MAX_LABEL_VERSIONS];
    size_t n_entries;
    uint64_t timestamp_ms[KTL_MAX_ENTRIES];
    uint8_t prefix_root[KTL_MAX_ENTRIES][PL_PREFIX_HASH_BYTES];
    uint8_t leaves[KTL_MAX_ENTRIES][PL_MERKLE_HASH_BYTES]; /* leaf hashes of the entries */
} ktl_log;

/* An account's chain of signed states seq 0..n-1, from a fixed seed byte. */
typedef struct ktl_states {
    size_t n;
    uint8_t state[KTL_MAX_STATES][PL_ACCOUNT_STATE_MAX_BYTES];
    size_t len[KTL_MAX_STATES];
} ktl_states;

/* Starts an empty log whose VRF seed and opening key are the given bytes repeated. */
void ktl_init(ktl_log *log, uint8_t vrf_seed_byte, uint8_t open_key_byte);

/* Queues (label, version) -> value for the next entry. Returns PL_OK, PL_E_TOO_LARGE, or
 * PL_E_INVALID_ARG (the log is full, or that label-version was added before). */
int ktl_add(ktl_log *log, const char *label, uint32_t version, const uint8_t *value,
            size_t value_len);

/* Appends the next log entry with every label-version added so far. Returns PL_OK,
 * PL_E_INVALID_ARG (the log is full) or a prefix tree error. */
int ktl_close_entry(ktl_log *log, uint64_t timestamp_ms);

/* Writes the RFC 9162 root of the first size entries (the checkpoint's root). */
int ktl_root(const ktl_log *log, uint64_t size, uint8_t root[PL_MERKLE_HASH_BYTES]);

/* The prefix tree of entry size - 1: every label-version added before it closed. The caller
 * frees it. */
int ktl_tree(const ktl_log *log, uint64_t size, pl_prefix_tree **out);

/*
 * Fills *l as the server would for a lookup of (label, version) of the given kind against
 * the checkpoint of the first size entries. l->value points into log. Returns PL_OK or
 * PL_E_INVALID_ARG (no such label-version, size 0 or past the log).
 */
int ktl_prove(const ktl_log *log, uint64_t size, uint8_t kind, const char *label, uint32_t version,
              pl_kt_lookup *l);

/* ktl_prove() then pl_kt_lookup_encode() into out[0..cap). */
int ktl_prove_encoded(const ktl_log *log, uint64_t size, uint8_t kind, const char *label,
                      uint32_t version, uint8_t *out, size_t cap, size_t *out_len);

/* Signs n states of one account (seed byte account_seed): seq i holds 1 + i % 2 devices. */
int ktl_make_states(uint8_t account_seed, size_t n, ktl_states *out);

/*
 * The demo log of the tests, vectors and fuzz fixtures (VRF seed 0x01.., opening key
 * 0x02..), five entries at KTL_DEMO_T0 + 1000 * i:
 *   0  alice v0, bob v0
 *   1  alice v1
 *   2  mallory v0 = bytes that are no account state; eve v1 = eve's seq-0 state
 *   3  alice v2
 *   4  nothing new (the same prefix root, a new timestamp)
 * Returns PL_OK or the first error.
 */
#define KTL_DEMO_T0 UINT64_C(1700000000000)
#define KTL_DEMO_SIZE 5u
int ktl_demo_log(ktl_log *log);

#endif
