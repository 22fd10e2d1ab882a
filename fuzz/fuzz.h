/*
 * fuzz.h: what the fuzz targets share: the libFuzzer entry point, checks that survive
 * NDEBUG, and a fixed cast of keys, bundles, sessions and messages built once from
 * deterministic RNGs (fixtures.c). gen_corpus.c writes its seed corpus from the same
 * fixtures, so a seed is a genuine input for the target that reads it.
 *
 * Not part of libparley. A target may abort only when the library breaks its contract:
 * a crash, an undocumented return code, or a broken invariant. Hostile bytes alone must
 * never make a target abort.
 */
#ifndef PARLEY_FUZZ_H
#define PARLEY_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "parley/parley.h"

/* Defined once by every fuzz_*.c; called by libFuzzer or by replay_main.c. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Like assert(), but also in release builds, and says which invariant broke. */
#define FZ_CHECK(cond)                                                                             \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fz_fail(__FILE__, __LINE__, #cond);                                                    \
    } while (0)

/* Aborts unless rc is PL_OK or one of the codes of parley/error.h. */
#define FZ_CHECK_RC(rc) fz_check_rc((rc), __FILE__, __LINE__, #rc)

static inline void fz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", file, line, what);
    abort();
}

static inline void fz_check_rc(int rc, const char *file, int line, const char *what)
{
    switch (rc) {
#define FZ__ERR_CASE(name, value, msg) case (value):
        PL_ERRNO_MAP(FZ__ERR_CASE)
#undef FZ__ERR_CASE
        return;
    default:
        break;
    }
    fprintf(stderr, "%s:%d: %s returned %d, which is not a parley error code\n", file, line, what,
            rc);
    abort();
}

/* 1 if p[0..n) is all zero bytes. */
static inline int fz_is_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint8_t acc = 0;

    for (size_t i = 0; i < n; i++)
        acc |= b[i];
    return acc == 0;
}

/* Reads the big-endian u32 that every parley format writes (src/core/buf.h). */
static inline uint32_t fz_be32(const uint8_t p[4])
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* A malloc'd buffer of exactly n bytes (at least 1, so that n == 0 is fine too), so that
 * AddressSanitizer catches a write one past the capacity the library was given. */
static inline uint8_t *fz_alloc(size_t n)
{
    uint8_t *p = malloc(n ? n : 1);

    if (p == NULL)
        fz_fail(__FILE__, __LINE__, "malloc");
    return p;
}

/* An RNG seeded from `label`; each input gets a fresh one so that runs replay exactly. */
pl_rng fz_rng(pl_rng_deterministic *state, const char *label);

/*
 * Copies in[0..len) into a new buffer and, when it is long enough to hold a saved-state
 * frame, rewrites the frame's trailing BLAKE2b-128 checksum (src/core/blob.h) so that the
 * body reaches the loader's parser instead of stopping at the checksum. The caller frees.
 */
uint8_t *fz_fix_checksum(const uint8_t *in, size_t len);

/* Saves a session the library handed out; saving a live session must not fail. The caller
 * frees. */
uint8_t *fz_save_session(const pl_session *session, size_t *len);

/* Checks that session saves, loads and saves again to the same bytes. */
void fz_check_reload(const pl_session *session);

/* Checks that out[0..len) holds nothing but `fill` (what it held before a failed call) and
 * zeros: a failing call may wipe its output but must not leave plaintext in it. */
void fz_check_untouched_or_zero(const uint8_t *out, size_t len, uint8_t fill);

/* The creation time stated by every fixture key and record. */
#define FZ_CREATED_AT UINT64_C(1700000000)

/* A message of the fixed conversation below, with the plaintext it carries. */
typedef struct fz_message {
    uint8_t *bytes;
    size_t len;
    const char *text;
} fz_message;

/*
 * The fixed cast. Bob (device 7 of his account) publishes signed prekey 1 and one-time
 * prekey 11; Alice (device 1) starts a session from his full bundle:
 *
 *   P0, P1  Alice -> Bob, prekey messages of the same X3DH run
 *           (Bob accepts P0)
 *   R0      Bob -> Alice, his first reply (Alice decrypts it)
 *   A0..A2  Alice -> Bob, ratchet messages of Alice's second chain, not yet decrypted
 *   Q0      Alice -> Bob, prekey message of a second run, from the bundle without the
 *           one-time prekey
 *
 * bob_session_saved is Bob's session after accepting P0 and encrypting R0: the state the
 * ratchet target decrypts from. The other saved sessions are extra seeds for session_load.
 */
typedef struct fz_fixtures {
    pl_account *alice_account, *bob_account;
    pl_device *alice_device, *bob_device;
    pl_signed_prekey *bob_spk;
    pl_onetime_prekey *bob_opk;

    uint8_t alice_account_key[PL_PUBKEY_BYTES], bob_account_key[PL_PUBKEY_BYTES];
    uint8_t alice_identity_key[PL_PUBKEY_BYTES], bob_identity_key[PL_PUBKEY_BYTES];
    uint8_t alice_record[PL_DEVICE_RECORD_BYTES], bob_record[PL_DEVICE_RECORD_BYTES];
    uint8_t bob_spk_public[PL_SIGNED_PREKEY_PUBLIC_BYTES];
    uint8_t bob_opk_public[PL_ONETIME_PREKEY_PUBLIC_BYTES];
    uint8_t bundle[PL_BUNDLE_MAX_BYTES];
    size_t bundle_len;
    uint8_t bundle_no_opk[PL_BUNDLE_MAX_BYTES];
    size_t bundle_no_opk_len;

    fz_message p0, p1, r0, a0, a1, a2, q0;

    uint8_t *bob_session_saved; /* Bob after accepting P0 and sending R0 */
    size_t bob_session_saved_len;
    uint8_t *alice_session_fresh_saved; /* Alice right after pl_session_initiate */
    size_t alice_session_fresh_saved_len;
    uint8_t *alice_session_saved; /* Alice after sending A0..A2 */
    size_t alice_session_saved_len;
    uint8_t *bob_session_skipped_saved; /* Bob after decrypting A2 only: skipped keys held */
    size_t bob_session_skipped_saved_len;
} fz_fixtures;

/* Builds the fixtures on the first call (aborting if the library cannot) and returns them.
 * They are never freed: every later call returns the same objects. */
const fz_fixtures *fz_fixtures_get(void);

/* The fixed prefix tree of fuzz_prefix_proof, whose seeds gen_corpus.c writes: leaf i of
 * FZ_PREFIX_LEAVES has key SHA-256("fz-prefix-key" || i) and commitment
 * SHA-256("fz-prefix-commitment" || i), except that leaf 1's key is leaf 0's with the last
 * bit flipped, so that two leaves sit at depth 256. */
#define FZ_PREFIX_LEAVES 24u

static inline void fz_prefix_leaf(unsigned i, uint8_t key[32], uint8_t commitment[32])
{
    uint8_t buf[24] = {0};
    unsigned k = i == 1 ? 0 : i;

    memcpy(buf, "fz-prefix-key", 13);
    buf[20] = (uint8_t)k;
    crypto_hash_sha256(key, buf, sizeof buf);
    if (i == 1)
        key[31] ^= 0x01;
    memset(buf, 0, sizeof buf);
    memcpy(buf, "fz-prefix-commitment", 20);
    buf[20] = (uint8_t)i;
    crypto_hash_sha256(commitment, buf, sizeof buf);
}

/*
 * fuzz_kt_lookup's query: the demo log of tests/kt_log.h (5 entries) and what the client
 * asks, from the input's first two bytes:
 *   q0 bits 0-1  label: alice, bob, mallory, eve
 *   q0 bits 2-4  checkpoint size 1 + (bits % 5)
 *   q1 bit 0     kind: greatest (0) or fixed (1)
 *   q1 bits 1-2  want_version for a fixed lookup
 *   q1 bit 3     pass the correct VRF outputs of versions 0..3 of the label as the cache
 * gen_corpus.c writes its seeds with the same mapping.
 */
#define FZ_KT_LABELS 4u
static const char *const fz_kt_label[FZ_KT_LABELS] = {"alice", "bob", "mallory", "eve"};

typedef struct fz_kt_query {
    const char *label;
    uint64_t size;
    uint8_t kind;
    uint32_t want_version;
    int cached;
} fz_kt_query;

static inline fz_kt_query fz_kt_query_of(uint8_t q0, uint8_t q1)
{
    fz_kt_query q;

    q.label = fz_kt_label[q0 & 3u];
    q.size = 1u + ((q0 >> 2) & 7u) % 5u;
    q.kind = (q1 & 1u) ? PL_KT_LOOKUP_FIXED : PL_KT_LOOKUP_GREATEST;
    q.want_version = (q1 >> 1) & 3u;
    q.cached = (q1 >> 3) & 1u;
    return q;
}

#endif
