/*
 * test_kt_lookup.c: the combined key-transparency lookup proof (PROTOCOL.md §23).
 *
 * The log entry and VRF input bytes are built by hand from §23.1 and compared; the VRF
 * output of pl_kt_vrf_prove is checked against pl_vrf_verify; a lookup with real prefix
 * proofs round-trips through the encoder and decoder, and the decoder refuses each bound.
 *
 * Verification runs against the demo log of kt_log.h (five entries, cumulative prefix trees
 * with real VRF outputs, commitments and signed account states): greatest and fixed
 * lookups pass, and one mutation per check of §23.3 fails with that check's reason, while
 * *out is zeroed on every error. Then the VRF cache, every truncation, trailing bytes.
 * Finally the golden vectors of tests/vectors/kt_lookup.json verify as they say, and the
 * generator (kt_vectors.c) reproduces the file byte for byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "parley/parley.h"
#include "fixture.h"
#include "kt_log.h"
#include "kt_vectors.h"
#include "testutil.h"
#include "tjson.h"

#define LABEL "alice"
#define LABEL_LEN (sizeof LABEL - 1)

static uint8_t proof_buf[PL_KT_LOOKUP_MAX_BYTES];

static ktl_log demo;
static uint8_t demo_root[KTL_DEMO_SIZE + 1][PL_MERKLE_HASH_BYTES]; /* by checkpoint size */

static int setup(void **state)
{
    (void)state;
    if (pl_init() != PL_OK || ktl_demo_log(&demo) != PL_OK)
        return -1;
    for (uint64_t size = 1; size <= KTL_DEMO_SIZE; size++)
        if (ktl_root(&demo, size, demo_root[size]) != PL_OK)
            return -1;
    return 0;
}

static void fixed_seed(uint8_t seed[PL_VRF_SECRET_KEY_BYTES], uint8_t b)
{
    memset(seed, b, PL_VRF_SECRET_KEY_BYTES);
}

/* ---- Step 1: entry, VRF input, VRF prove, encoding round trip -------------------------- */

static void test_kt_log_entry_is_timestamp_then_root(void **state)
{
    uint8_t root[PL_PREFIX_HASH_BYTES], entry[PL_KT_LOG_ENTRY_BYTES];
    const uint8_t ts[8] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};

    (void)state;
    for (size_t i = 0; i < sizeof root; i++)
        root[i] = (uint8_t)(0xa0 + i);
    pl_kt_log_entry(UINT64_C(0x0102030405060708), root, entry);
    assert_memory_equal(entry, ts, 8);
    assert_memory_equal(entry + 8, root, 32);
}

static void test_kt_vrf_input_is_len_label_version(void **state)
{
    uint8_t out[300], label[255];
    const uint8_t want[] = {5, 'a', 'l', 'i', 'c', 'e', 0xde, 0xad, 0xbe, 0xef};
    size_t n = 99;

    (void)state;
    assert_int_equal(
        pl_kt_vrf_input((const uint8_t *)LABEL, LABEL_LEN, 0xdeadbeefu, out, sizeof out, &n),
        PL_OK);
    assert_int_equal(n, sizeof want);
    assert_memory_equal(out, want, sizeof want);
    /* Exactly enough room, one byte short. */
    assert_int_equal(pl_kt_vrf_input((const uint8_t *)LABEL, LABEL_LEN, 1, out, 10, &n), PL_OK);
    assert_int_equal(pl_kt_vrf_input((const uint8_t *)LABEL, LABEL_LEN, 1, out, 9, &n),
                     PL_E_BUFFER_TOO_SMALL);
    assert_int_equal(n, 0);
    /* 255 bytes is the longest label; 256 is refused. */
    memset(label, 'x', sizeof label);
    assert_int_equal(pl_kt_vrf_input(label, 255, 0, out, sizeof out, &n), PL_OK);
    assert_int_equal(n, 260);
    assert_int_equal(out[0], 255);
    assert_int_equal(pl_kt_vrf_input(label, 256, 0, out, sizeof out, &n), PL_E_TOO_LARGE);
    assert_int_equal(n, 0);
    /* The empty label. */
    assert_int_equal(pl_kt_vrf_input(NULL, 0, 2, out, sizeof out, &n), PL_OK);
    assert_int_equal(n, 5);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[4], 2);
}

static void test_kt_vrf_prove_output_is_the_verified_beta_prefix(void **state)
{
    uint8_t seed[32], pk[32], pi[PL_VRF_PROOF_BYTES], out[32], out1[32];
    uint8_t alpha[300], beta[PL_VRF_OUTPUT_BYTES], label[256];
    size_t alpha_len;

    (void)state;
    fixed_seed(seed, 0x11);
    pl_vrf_keypair_from_seed(seed, pk);
    for (uint32_t v = 0; v < 3; v++) {
        assert_int_equal(pl_kt_vrf_prove(seed, (const uint8_t *)LABEL, LABEL_LEN, v, pi, out),
                         PL_OK);
        assert_int_equal(
            pl_kt_vrf_input((const uint8_t *)LABEL, LABEL_LEN, v, alpha, sizeof alpha, &alpha_len),
            PL_OK);
        assert_int_equal(pl_vrf_verify(pk, alpha, alpha_len, pi, beta), PL_OK);
        assert_memory_equal(out, beta, 32);
        if (v == 0)
            memcpy(out1, out, 32);
        else
            assert_memory_not_equal(out, out1, 32); /* versions give unrelated outputs */
    }
    memset(label, 'x', sizeof label);
    memset(out, 0xff, sizeof out);
    memset(pi, 0xff, sizeof pi);
    assert_int_equal(pl_kt_vrf_prove(seed, label, 256, 0, pi, out), PL_E_TOO_LARGE);
    for (size_t i = 0; i < sizeof out; i++)
        assert_int_equal(out[i], 0);
    for (size_t i = 0; i < sizeof pi; i++)
        assert_int_equal(pi[i], 0);
}

/* A lookup with real prefix proofs from a small tree, and arbitrary other fields. */
static void synthetic_lookup(pl_kt_lookup *l, pl_prefix_tree **tree_out, uint8_t kind,
                             const uint8_t *value, size_t value_len)
{
    pl_prefix_tree *t = NULL;
    uint8_t key[32], c[32];

    memset(l, 0, sizeof *l);
    assert_int_equal(pl_prefix_tree_new(&t), PL_OK);
    for (int i = 0; i < 20; i++) {
        crypto_generichash(key, sizeof key, (const uint8_t *)&i, sizeof i, NULL, 0);
        memset(c, i, sizeof c);
        assert_int_equal(pl_prefix_tree_insert(t, key, c), PL_OK);
    }
    l->kind = kind;
    l->tree_size = 1000;
    l->timestamp_ms = UINT64_C(1700000000123);
    pl_prefix_tree_root(t, l->prefix_root);
    l->n_inclusion = 10;
    for (size_t i = 0; i < l->n_inclusion; i++)
        memset(l->inclusion[i], (int)(0x40 + i), 32);
    l->version = 3;
    memset(l->vrf_proof, 0x55, sizeof l->vrf_proof);
    memset(l->opening, 0x66, sizeof l->opening);
    l->value = value;
    l->value_len = value_len;
    {
        int i = 3;
        crypto_generichash(key, sizeof key, (const uint8_t *)&i, sizeof i, NULL, 0);
    }
    assert_int_equal(pl_prefix_tree_prove(t, key, &l->prefix), PL_OK);
    assert_int_equal(l->prefix.result_type, PL_PREFIX_INCLUSION);
    if (kind == PL_KT_LOOKUP_GREATEST) {
        memset(l->next_vrf_proof, 0x77, sizeof l->next_vrf_proof);
        memset(key, 0x99, sizeof key);
        assert_int_equal(pl_prefix_tree_prove(t, key, &l->next_prefix), PL_OK);
        assert_int_not_equal(l->next_prefix.result_type, PL_PREFIX_INCLUSION);
    }
    *tree_out = t;
}

static void assert_same_lookup(const pl_kt_lookup *a, const pl_kt_lookup *b)
{
    assert_int_equal(a->kind, b->kind);
    assert_int_equal(a->tree_size, b->tree_size);
    assert_int_equal(a->timestamp_ms, b->timestamp_ms);
    assert_memory_equal(a->prefix_root, b->prefix_root, 32);
    assert_int_equal(a->n_inclusion, b->n_inclusion);
    assert_memory_equal(a->inclusion, b->inclusion, a->n_inclusion * 32);
    assert_int_equal(a->version, b->version);
    assert_memory_equal(a->vrf_proof, b->vrf_proof, sizeof a->vrf_proof);
    assert_memory_equal(a->opening, b->opening, sizeof a->opening);
    assert_int_equal(a->value_len, b->value_len);
    assert_memory_equal(a->value, b->value, a->value_len);
    assert_memory_equal(&a->prefix, &b->prefix, sizeof a->prefix);
    assert_memory_equal(a->next_vrf_proof, b->next_vrf_proof, sizeof a->next_vrf_proof);
    assert_memory_equal(&a->next_prefix, &b->next_prefix, sizeof a->next_prefix);
}

static void test_kt_lookup_encode_decode_round_trip(void **state)
{
    static pl_kt_lookup l, d;
    static uint8_t again[PL_KT_LOOKUP_MAX_BYTES];
    const uint8_t value[] = "an account state";
    pl_prefix_tree *t = NULL;
    size_t n, n2;

    (void)state;
    for (uint8_t kind = 1; kind <= 2; kind++) {
        synthetic_lookup(&l, &t, kind, value, sizeof value);
        assert_int_equal(pl_kt_lookup_encode(&l, proof_buf, sizeof proof_buf, &n), PL_OK);
        assert_int_equal(proof_buf[0], PL_KT_LOOKUP_VERSION);
        assert_int_equal(proof_buf[1], kind);
        assert_int_equal(pl_kt_lookup_decode(&d, proof_buf, n), PL_OK);
        assert_same_lookup(&l, &d);
        /* The value points into the input, after its fixed-size header fields. */
        assert_ptr_equal(d.value, proof_buf + 2 + 8 + 8 + 32 + 1 + 10 * 32 + 4 + 80 + 16 + 2);
        /* Re-encoding the decoded proof gives the same bytes. */
        assert_int_equal(pl_kt_lookup_encode(&d, again, sizeof again, &n2), PL_OK);
        assert_int_equal(n2, n);
        assert_memory_equal(again, proof_buf, n);
        /* Every buffer one byte short is refused. */
        assert_int_equal(pl_kt_lookup_encode(&l, again, n - 1, &n2), PL_E_BUFFER_TOO_SMALL);
        assert_int_equal(n2, 0);
        pl_prefix_tree_free(t);
        t = NULL;
    }
}

static void test_kt_lookup_encode_refuses_bad_fields(void **state)
{
    static pl_kt_lookup l;
    const uint8_t value[] = "v";
    pl_prefix_tree *t = NULL;
    size_t n = 1;

    (void)state;
    synthetic_lookup(&l, &t, PL_KT_LOOKUP_GREATEST, value, sizeof value);
#define REFUSED(mutation)                                                                          \
    do {                                                                                           \
        static pl_kt_lookup m;                                                                     \
        m = l;                                                                                     \
        mutation;                                                                                  \
        n = 1;                                                                                     \
        assert_int_equal(pl_kt_lookup_encode(&m, proof_buf, sizeof proof_buf, &n),                 \
                         PL_E_INVALID_ARG);                                                        \
        assert_int_equal(n, 0);                                                                    \
    } while (0)
    REFUSED(m.kind = 0);
    REFUSED(m.kind = 3);
    REFUSED(m.tree_size = 0);
    REFUSED(m.n_inclusion = PL_MERKLE_MAX_PROOF + 1);
    REFUSED(m.value = NULL);
    REFUSED(m.value_len = 0);
    REFUSED(m.value_len = PL_ACCOUNT_STATE_MAX_BYTES + 1);
    REFUSED(m.version = UINT32_MAX);
    REFUSED(m.prefix.result_type = 0);
    REFUSED(m.prefix.depth = PL_PREFIX_MAX_DEPTH + 1);
    REFUSED(m.next_prefix.result_type = 4);
#undef REFUSED
    /* A fixed proof of the last version is fine, and ignores the next_* fields. */
    l.kind = PL_KT_LOOKUP_FIXED;
    l.version = UINT32_MAX;
    l.next_prefix.result_type = 0;
    assert_int_equal(pl_kt_lookup_encode(&l, proof_buf, sizeof proof_buf, &n), PL_OK);
    pl_prefix_tree_free(t);
}

/* ---- Step 2: verification against the demo log ------------------------------------------ */

static pl_kt_lookup_result result;
static pl_kt_lookup lookup;

/* Verifies proof_buf[0..n) for label against the demo checkpoint of `size` entries. */
static int verify_at(const char *label, uint64_t size, uint8_t want_kind, uint32_t want_version,
                     const pl_kt_vrf_cached *cache, size_t n_cache, const uint8_t *in, size_t n,
                     pl_kt_lookup_failure *why)
{
    memset(&result, 0xa5, sizeof result);
    *why = (pl_kt_lookup_failure)99;
    return pl_kt_lookup_verify(demo.vrf_pk, (const uint8_t *)label, strlen(label), size,
                               demo_root[size], want_kind, want_version, cache, n_cache, in, n,
                               &result, why);
}

/* The proof of (label, version, kind) at `size`, encoded into proof_buf. */
static size_t prove(const char *label, uint64_t size, uint8_t kind, uint32_t version)
{
    size_t n = 0;

    FX_RC(ktl_prove(&demo, size, kind, label, version, &lookup), PL_OK);
    FX_RC(pl_kt_lookup_encode(&lookup, proof_buf, sizeof proof_buf, &n), PL_OK);
    return n;
}

/* Re-encodes the (mutated) global lookup into proof_buf. */
static size_t reencode(void)
{
    size_t n = 0;

    FX_RC(pl_kt_lookup_encode(&lookup, proof_buf, sizeof proof_buf, &n), PL_OK);
    return n;
}

static void expect_ok(const char *label, uint64_t size, uint8_t kind, uint32_t version, size_t n)
{
    pl_kt_lookup_failure why;
    const ktl_label_version *lv = NULL;
    uint8_t h[32], pi[PL_VRF_PROOF_BYTES], next[32];

    FX_RC(verify_at(label, size, kind, version, NULL, 0, proof_buf, n, &why), PL_OK);
    assert_int_equal(why, PL_KT_LOOKUP_OK);
    for (size_t i = 0; i < demo.n_lv; i++)
        if (strlen(label) == demo.lv[i].label_len &&
            memcmp(label, demo.lv[i].label, demo.lv[i].label_len) == 0 &&
            demo.lv[i].version == lookup.version)
            lv = &demo.lv[i];
    assert_non_null(lv);
    assert_int_equal(result.kind, kind);
    assert_int_equal(result.tree_size, size);
    assert_int_equal(result.timestamp_ms, demo.timestamp_ms[size - 1]);
    assert_int_equal(result.version, lookup.version);
    assert_int_equal(result.state.seq, lookup.version);
    if (kind == PL_KT_LOOKUP_FIXED)
        assert_int_equal(result.version, version);
    assert_int_equal(result.value_len, lv->value_len);
    assert_memory_equal(result.value, lv->value, lv->value_len);
    assert_true(result.value > proof_buf && result.value + result.value_len <= proof_buf + n);
    pl_account_state_hash(lv->value, lv->value_len, h);
    assert_memory_equal(result.state_hash, h, 32);
    assert_memory_equal(result.vrf_out, lv->vrf_out, 32);
    if (kind == PL_KT_LOOKUP_GREATEST) {
        FX_RC(pl_kt_vrf_prove(demo.vrf_seed, (const uint8_t *)label, strlen(label),
                              lookup.version + 1, pi, next),
              PL_OK);
        assert_memory_equal(result.next_vrf_out, next, 32);
    } else {
        FX_ZEROED(result.next_vrf_out, 32);
    }
}

/* Verification must fail with rc and reason why, leaving the result zeroed. */
static void expect_fail_with(const char *label, uint64_t size, uint8_t kind, uint32_t version,
                             const pl_kt_vrf_cached *cache, size_t n_cache, const uint8_t *in,
                             size_t n, int rc, pl_kt_lookup_failure want_why)
{
    pl_kt_lookup_failure why;

    FX_RC(verify_at(label, size, kind, version, cache, n_cache, in, n, &why), rc);
    if (why != want_why)
        fail_msg("reason %d (%s), want %d (%s)", why, pl_kt_lookup_failure_str(why), want_why,
                 pl_kt_lookup_failure_str(want_why));
    FX_ZEROED(&result, sizeof result);
}

#define EXPECT_FAIL(label, size, kind, version, n, why)                                            \
    expect_fail_with(label, size, kind, version, NULL, 0, proof_buf, n, PL_E_BAD_PROOF, why)

static void test_kt_lookup_verify_greatest(void **state)
{
    (void)state;
    expect_ok("alice", 5, PL_KT_LOOKUP_GREATEST, 2, prove("alice", 5, PL_KT_LOOKUP_GREATEST, 2));
    expect_ok("bob", 5, PL_KT_LOOKUP_GREATEST, 0, prove("bob", 5, PL_KT_LOOKUP_GREATEST, 0));
    /* Older checkpoints: alice's greatest version was 0 at size 1, 1 at sizes 2 and 3. */
    expect_ok("alice", 1, PL_KT_LOOKUP_GREATEST, 0, prove("alice", 1, PL_KT_LOOKUP_GREATEST, 0));
    expect_ok("alice", 2, PL_KT_LOOKUP_GREATEST, 1, prove("alice", 2, PL_KT_LOOKUP_GREATEST, 1));
    expect_ok("alice", 3, PL_KT_LOOKUP_GREATEST, 1, prove("alice", 3, PL_KT_LOOKUP_GREATEST, 1));
    expect_ok("alice", 4, PL_KT_LOOKUP_GREATEST, 2, prove("alice", 4, PL_KT_LOOKUP_GREATEST, 2));
    /* want_version is ignored for a greatest lookup. */
    expect_ok("alice", 5, PL_KT_LOOKUP_GREATEST, 77, prove("alice", 5, PL_KT_LOOKUP_GREATEST, 2));
}

static void test_kt_lookup_verify_fixed(void **state)
{
    (void)state;
    for (uint32_t v = 0; v <= 2; v++)
        expect_ok("alice", 5, PL_KT_LOOKUP_FIXED, v, prove("alice", 5, PL_KT_LOOKUP_FIXED, v));
    expect_ok("alice", 2, PL_KT_LOOKUP_FIXED, 0, prove("alice", 2, PL_KT_LOOKUP_FIXED, 0));
    expect_ok("bob", 1, PL_KT_LOOKUP_FIXED, 0, prove("bob", 1, PL_KT_LOOKUP_FIXED, 0));
}

static void test_kt_lookup_verify_wrong_kind(void **state)
{
    size_t n;

    (void)state;
    n = prove("alice", 5, PL_KT_LOOKUP_FIXED, 2);
    EXPECT_FAIL("alice", 5, PL_KT_LOOKUP_GREATEST, 2, n, PL_KT_LOOKUP_WRONG_KIND);
    EXPECT_FAIL("alice", 5, PL_KT_LOOKUP_FIXED, 1, n, PL_KT_LOOKUP_WRONG_KIND);
    n = prove("alice", 5, PL_KT_LOOKUP_GREATEST, 2);
    EXPECT_FAIL("alice", 5, PL_KT_LOOKUP_FIXED, 2, n, PL_KT_LOOKUP_WRONG_KIND);
}

static void test_kt_lookup_verify_wrong_tree(void **state)
{
    size_t n;

    (void)state;
    /* A proof for the checkpoint of 4 entries, checked against the one of 5. */
    n = prove("alice", 4, PL_KT_LOOKUP_GREATEST, 2);
    EXPECT_FAIL("alice", 5, PL_KT_LOOKUP_GREATEST, 0, n, PL_KT_LOOKUP_WRONG_TREE);
    /* ... and against the one of 3 (smaller). */
    EXPECT_FAIL("alice", 3, PL_KT_LOOKUP_GREATEST, 0, n, PL_KT_LOOKUP_WRONG_TREE);
}

static void test_kt_lookup_verify_bad_inclusion(void **state)
{
    (void)state;
    /* The old entry 3 passed off as the newest of 5 entries (its tree has alice v2 too). */
    prove("alice", 4, PL_KT_LOOKUP_GREATEST, 2);
    lookup.tree_size = 5;
    EXPECT_FAIL("alice", 5, PL_KT_LOOKUP_GREATEST, 0, reencode(), PL_KT_LOOKUP_BAD_INCLUSION);
    /* A flipped bit in each inclusion hash (leaf 3 of 4 has two, leaf 4 of 5 one). */
    for (uint64_t size = 4; size <= 5; size++)
        for (size_t i = 0; i < 6 - size; i++) {
            prove("alice", size, PL_KT_LOOKUP_GREATEST, 2);
            assert_int_equal(lookup.n_inclusion, 6 - size);
            lookup.inclusion[i][i] ^= 0x10;
            EXPECT_FAIL("alice", size, PL_KT_LOOKUP_GREATEST, 0, reencode(),
                        PL_KT_LOOKUP_BAD_INCLUSION);
        }
    /* A hash dropped, a hash added. */
    prove("alice", 5, PL_KT_LOOKUP_GREATEST, 2);
    lookup.n_inclusion--;
    EXPECT_FAIL("alice", 5, PL_KT_LOOKUP_GREATEST, 0, reencode(), PL_KT_LOOKUP_BAD_INCLUSION);
    prove("alice", 5, PL_KT_LOOKUP_GREATEST, 2);
    lookup.n_inclusion++;
    EXPECT_FAIL("alice", 5, PL_KT_LOOKUP_GREATEST, 0, reencode(), PL_KT_LOOKUP_BAD_INCLUSION);
    /* Another timestamp, another prefix root: not the logged entry. */
    prove("alice", 5, PL_KT_LOOKUP_GREATEST, 2);
    lookup.timestamp_ms++;
    EXPECT_FAIL("alice", 5, PL_KT_LOOKUP_GREATEST, 0, reencode(), PL_KT_LOOKUP_BAD_INCLUSION);
    prove("alice", 5, PL_KT_LOOKUP_GREATEST, 2);
    lookup.prefix_root[31] ^= 1;
    EXPECT_FAIL("alice", 5, PL_KT_LOOKUP_GREATEST, 0, reencode(), PL_KT_LOOKUP_BAD_INCLUSION);
    /* The right proof under another checkpoint root of the same size. */
    prove("alice", 5, PL_KT_LOOKUP_GREATEST, 2);
    demo_root[5][0] ^= 1;
    EXPECT_FAIL("alice", 5, PL_KT_LOOKUP_GREATEST, 0, reencode(), PL_KT_LOOKUP_BAD_INCLUSION);
    demo_root[5][0] ^= 1;
}

static void test_kt_lookup_verify_bad_vrf(void **state)
{
    pl_kt_lookup_failure why;
    uint8_t other_pk[32], seed[32];
    size_t n;

    (void)state;
    prove("alice", 5, PL_KT_LOOKUP_GREATEST, 2);
    lookup.vrf_proof[40] ^= 1; /* in c */
    EXPECT_FAIL("alice", 5, PL_KT_LOOKUP_GREATEST, 0, reencode(), PL_KT_LOOKUP_BAD_VRF);
    prove("alice", 5, PL_KT_LOOKUP_GREATEST, 2);
    lookup.next_vrf_proof[0] ^= 1; /* in Gamma */
    EXPECT_FAIL("alice", 5, PL_KT_LOOKUP_GREATEST, 0, reencode(), PL_KT_LOOKUP_BAD_VRF);
    /* The proof of another version in its place. */
    prove("alice", 5, PL_KT_LOOKUP_GREATEST, 2);
    memcpy(lookup.vrf_proof, lookup.next_vrf_proof, PL_VRF_PROOF_BYTES);
    EXPECT_FAIL("alice", 5, PL_KT_LOOKUP_GREATEST, 0, reencode(), PL_KT_LOOKUP_BAD_VRF);
    /* Another label than the one proven. */
    n = prove("alice", 5, PL_KT_LOOKUP_FIXED, 1);
    EXPECT_FAIL("alicf", 5, PL_KT_LOOKUP_FIXED, 1, n, PL_KT_LOOKUP_BAD_VRF);
    EXPECT_FAIL("", 5, PL_KT_LOOKUP_FIXED, 1, n, PL_KT_LOOKUP_BAD_VRF);
    /* Another pinned VRF key. */
    fixed_seed(seed, 0x03);
    pl_vrf_keypair_from_seed(seed, other_pk);
    memset(&result, 0xa5, sizeof result);
    FX_RC(pl_kt_lookup_verify(other_pk, (const uint8_t *)"alice", 5, 5, demo_root[5],
                              PL_KT_LOOKUP_FIXED, 1, NULL, 0, proof_buf, n, &result, &why),
          PL_E_BAD_PROOF);
    assert_int_equal(why, PL_KT_LOOKUP_BAD_VRF);
    FX_ZEROED(&result, sizeof result);
}

static void test_kt_lookup_verify_bad_prefix(void **state)
{
    (void)state;
    /* A copath hash flipped, in the proof of v and in the proof of v + 1. */
    prove("alice", 5, PL_KT_LOOKUP_GREATEST, 2);
    assert_true(lookup.prefix.depth >= 1);
    lookup.prefix.elements[0][5] ^= 1;
    EXPECT_FAIL("alice", 5, PL_KT_LOOKUP_GREATEST, 0, reencode(), PL_KT_LOOKUP_BAD_PREFIX);
    prove("alice", 5, PL_KT_LOOKUP_GREATEST, 2);
    assert_true(lookup.next_prefix.depth >= 1);
    lookup.next_prefix.elements[lookup.next_prefix.depth - 1][0] ^= 1;
    EXPECT_FAIL("alice", 5, PL_KT_LOOKUP_GREATEST, 0, reencode(), PL_KT_LOOKUP_BAD_PREFIX);
    /* The commitment in the leaf changed: the prefix root no longer matches (BAD_PREFIX,
     * not BAD_COMMITMENT: the value is checked against what the tree holds). */
    prove("alice", 5, PL_KT_LOOKUP_GREATEST, 2);
    lookup.prefix.leaf_commitment[0] ^= 1;
    EXPECT_FAIL("alice", 5, PL_KT_LOOKUP_GREATEST, 0, reencode(), PL_KT_LOOKUP_BAD_PREFIX);
    /* The key absent: a proof of absence where presence is needed. alice v2 entered the log
     * in entry 3, so the tree of 3 entries proves its absence. */
    EXPECT_FAIL("alice", 3, PL_KT_LOOKUP_FIXED, 2, prove("alice", 3, PL_KT_LOOKUP_FIXED, 2),
                PL_KT_LOOKUP_BAD_PREFIX);
    /* The proof of v + 1 swapped for the proof of v (present, other key). */
    prove("alice", 5, PL_KT_LOOKUP_GREATEST, 2);
    lookup.next_prefix = lookup.prefix;
    EXPECT_FAIL("alice", 5, PL_KT_LOOKUP_GREATEST, 0, reencode(), PL_KT_LOOKUP_BAD_PREFIX);
    /* A proof of another depth (one copath hash dropped). */
    prove("alice", 5, PL_KT_LOOKUP_GREATEST, 2);
    lookup.next_prefix.depth--;
    EXPECT_FAIL("alice", 5, PL_KT_LOOKUP_GREATEST, 0, reencode(), PL_KT_LOOKUP_BAD_PREFIX);
}

static void test_kt_lookup_verify_bad_commitment(void **state)
{
    (void)state;
    /* A wrong opening. */
    prove("alice", 5, PL_KT_LOOKUP_GREATEST, 2);
    lookup.opening[3] ^= 0x80;
    EXPECT_FAIL("alice", 5, PL_KT_LOOKUP_GREATEST, 0, reencode(), PL_KT_LOOKUP_BAD_COMMITMENT);
    /* Another value: alice's previous state, a valid signed state, under v2's commitment. */
    prove("alice", 5, PL_KT_LOOKUP_GREATEST, 2);
    for (size_t i = 0; i < demo.n_lv; i++)
        if (demo.lv[i].label_len == 5 && memcmp(demo.lv[i].label, "alice", 5) == 0 &&
            demo.lv[i].version == 1) {
            lookup.value = demo.lv[i].value;
            lookup.value_len = demo.lv[i].value_len;
        }
    EXPECT_FAIL("alice", 5, PL_KT_LOOKUP_GREATEST, 0, reencode(), PL_KT_LOOKUP_BAD_COMMITMENT);
    /* One byte of the value changed, in the encoding itself. */
    prove("alice", 5, PL_KT_LOOKUP_FIXED, 0);
    {
        size_t n = reencode();
        size_t value_at = 2 + 8 + 8 + 32 + 1 + lookup.n_inclusion * 32 + 4 + 80 + 16 + 2;

        proof_buf[value_at + 40] ^= 1;
        EXPECT_FAIL("alice", 5, PL_KT_LOOKUP_FIXED, 0, n, PL_KT_LOOKUP_BAD_COMMITMENT);
    }
}

static void test_kt_lookup_verify_not_greatest(void **state)
{
    (void)state;
    /* alice v1 and v0 replayed as current while v2 is in the tree. */
    EXPECT_FAIL("alice", 5, PL_KT_LOOKUP_GREATEST, 0, prove("alice", 5, PL_KT_LOOKUP_GREATEST, 1),
                PL_KT_LOOKUP_NOT_GREATEST);
    EXPECT_FAIL("alice", 5, PL_KT_LOOKUP_GREATEST, 0, prove("alice", 5, PL_KT_LOOKUP_GREATEST, 0),
                PL_KT_LOOKUP_NOT_GREATEST);
    EXPECT_FAIL("alice", 2, PL_KT_LOOKUP_GREATEST, 0, prove("alice", 2, PL_KT_LOOKUP_GREATEST, 0),
                PL_KT_LOOKUP_NOT_GREATEST);
    /* The same proofs as fixed lookups are fine. */
    expect_ok("alice", 5, PL_KT_LOOKUP_FIXED, 0, prove("alice", 5, PL_KT_LOOKUP_FIXED, 0));
}

static void test_kt_lookup_verify_bad_state(void **state)
{
    (void)state;
    /* mallory v0 is logged and committed correctly, but its value is no account state. */
    EXPECT_FAIL("mallory", 5, PL_KT_LOOKUP_GREATEST, 0,
                prove("mallory", 5, PL_KT_LOOKUP_GREATEST, 0), PL_KT_LOOKUP_BAD_STATE);
    EXPECT_FAIL("mallory", 5, PL_KT_LOOKUP_FIXED, 0, prove("mallory", 5, PL_KT_LOOKUP_FIXED, 0),
                PL_KT_LOOKUP_BAD_STATE);
}

static void test_kt_lookup_verify_version_mismatch(void **state)
{
    (void)state;
    /* eve v1 holds eve's state of seq 0. */
    EXPECT_FAIL("eve", 5, PL_KT_LOOKUP_GREATEST, 0, prove("eve", 5, PL_KT_LOOKUP_GREATEST, 1),
                PL_KT_LOOKUP_VERSION_MISMATCH);
    EXPECT_FAIL("eve", 3, PL_KT_LOOKUP_FIXED, 1, prove("eve", 3, PL_KT_LOOKUP_FIXED, 1),
                PL_KT_LOOKUP_VERSION_MISMATCH);
}

/* The first failing check wins: a proof broken in every way reports the earliest reason. */
static void test_kt_lookup_verify_check_order(void **state)
{
    (void)state;
    /* eve (VERSION_MISMATCH) with a bad opening: BAD_COMMITMENT comes first. */
    prove("eve", 5, PL_KT_LOOKUP_GREATEST, 1);
    lookup.opening[0] ^= 1;
    EXPECT_FAIL("eve", 5, PL_KT_LOOKUP_GREATEST, 0, reencode(), PL_KT_LOOKUP_BAD_COMMITMENT);
    /* ... and a bad VRF proof before that. */
    lookup.vrf_proof[50] ^= 1;
    EXPECT_FAIL("eve", 5, PL_KT_LOOKUP_GREATEST, 0, reencode(), PL_KT_LOOKUP_BAD_VRF);
    /* ... and a bad inclusion proof before that. */
    lookup.inclusion[0][0] ^= 1;
    EXPECT_FAIL("eve", 5, PL_KT_LOOKUP_GREATEST, 0, reencode(), PL_KT_LOOKUP_BAD_INCLUSION);
    /* ... a wrong tree before that, a wrong kind before that. */
    EXPECT_FAIL("eve", 4, PL_KT_LOOKUP_GREATEST, 0, reencode(), PL_KT_LOOKUP_WRONG_TREE);
    EXPECT_FAIL("eve", 4, PL_KT_LOOKUP_FIXED, 1, reencode(), PL_KT_LOOKUP_WRONG_KIND);
    /* mallory's replayed v0 (NOT_GREATEST would need v1; BAD_STATE follows step 8). */
    prove("alice", 5, PL_KT_LOOKUP_GREATEST, 1);
    lookup.prefix.elements[0][0] ^= 1; /* BAD_PREFIX at step 6, before NOT_GREATEST */
    EXPECT_FAIL("alice", 5, PL_KT_LOOKUP_GREATEST, 0, reencode(), PL_KT_LOOKUP_BAD_PREFIX);
}

static void test_kt_lookup_verify_vrf_cache(void **state)
{
    pl_kt_vrf_cached cache[3];
    const ktl_label_version *v2 = NULL;
    uint8_t pi[PL_VRF_PROOF_BYTES];
    size_t n;

    (void)state;
    for (size_t i = 0; i < demo.n_lv; i++)
        if (demo.lv[i].label_len == 5 && memcmp(demo.lv[i].label, "alice", 5) == 0 &&
            demo.lv[i].version == 2)
            v2 = &demo.lv[i];
    assert_non_null(v2);
    memset(cache, 0, sizeof cache);
    cache[0].version = 7; /* an unrelated entry first */
    memset(cache[0].vrf_out, 0x33, 32);
    cache[1].version = 2;
    memcpy(cache[1].vrf_out, v2->vrf_out, 32);
    cache[2].version = 3;
    FX_RC(pl_kt_vrf_prove(demo.vrf_seed, (const uint8_t *)"alice", 5, 3, pi, cache[2].vrf_out),
          PL_OK);

    /* A correct cache skips VRF verification: the proof passes with both VRF proofs zeroed,
     * which fail without the cache. */
    prove("alice", 5, PL_KT_LOOKUP_GREATEST, 2);
    memset(lookup.vrf_proof, 0, sizeof lookup.vrf_proof);
    memset(lookup.next_vrf_proof, 0, sizeof lookup.next_vrf_proof);
    n = reencode();
    EXPECT_FAIL("alice", 5, PL_KT_LOOKUP_GREATEST, 0, n, PL_KT_LOOKUP_BAD_VRF);
    assert_int_equal(verify_at("alice", 5, PL_KT_LOOKUP_GREATEST, 0, cache, 3, proof_buf, n,
                               &(pl_kt_lookup_failure){0}),
                     PL_OK);
    assert_memory_equal(result.vrf_out, v2->vrf_out, 32);
    assert_memory_equal(result.next_vrf_out, cache[2].vrf_out, 32);
    assert_int_equal(result.state.seq, 2);
    /* Only v cached: v + 1's proof is still verified. */
    expect_fail_with("alice", 5, PL_KT_LOOKUP_GREATEST, 0, cache, 2, proof_buf, n, PL_E_BAD_PROOF,
                     PL_KT_LOOKUP_BAD_VRF);

    /* A WRONG cached output fails, for v and for v + 1, even with valid VRF proofs. */
    n = prove("alice", 5, PL_KT_LOOKUP_GREATEST, 2);
    cache[1].vrf_out[0] ^= 0x80;
    expect_fail_with("alice", 5, PL_KT_LOOKUP_GREATEST, 0, cache, 3, proof_buf, n, PL_E_BAD_PROOF,
                     PL_KT_LOOKUP_BAD_PREFIX);
    cache[1].vrf_out[0] ^= 0x80;
    cache[2].vrf_out[0] ^= 0x80;
    expect_fail_with("alice", 5, PL_KT_LOOKUP_GREATEST, 0, cache, 3, proof_buf, n, PL_E_BAD_PROOF,
                     PL_KT_LOOKUP_BAD_PREFIX);
    /* The cached output of v1 offered for v2 (a stale cache) fails too. */
    cache[2].vrf_out[0] ^= 0x80;
    cache[1].version = 1;
    memcpy(cache[1].vrf_out, demo.lv[2].vrf_out, 32); /* alice v1, added third */
    assert_int_equal(demo.lv[2].version, 1);
    cache[0].version = 2;
    memcpy(cache[0].vrf_out, demo.lv[2].vrf_out, 32);
    expect_fail_with("alice", 5, PL_KT_LOOKUP_GREATEST, 0, cache, 3, proof_buf, n, PL_E_BAD_PROOF,
                     PL_KT_LOOKUP_BAD_PREFIX);
}

static void test_kt_lookup_verify_every_truncation_and_trailing_bytes(void **state)
{
    size_t n;

    (void)state;
    for (uint8_t kind = 1; kind <= 2; kind++) {
        n = prove("alice", 5, kind, 2);
        for (size_t cut = 0; cut < n; cut++)
            expect_fail_with("alice", 5, kind, 2, NULL, 0, cut ? proof_buf : NULL, cut,
                             PL_E_TRUNCATED, PL_KT_LOOKUP_MALFORMED);
        proof_buf[n] = 0;
        expect_fail_with("alice", 5, kind, 2, NULL, 0, proof_buf, n + 1, PL_E_MALFORMED,
                         PL_KT_LOOKUP_MALFORMED);
        expect_ok("alice", 5, kind, 2, n);
    }
}

/* Field offsets of the encoding of a greatest proof with n inclusion hashes. */
#define OFF_N_INCLUSION 50u
#define OFF_VERSION(n) (51u + 32u * (n))
#define OFF_VALUE_LEN(n) (OFF_VERSION(n) + 4u + 80u + 16u)

static void put16(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void test_kt_lookup_decode_refuses_each_bound(void **state)
{
    static uint8_t b[PL_KT_LOOKUP_MAX_BYTES + 64];
    static pl_kt_lookup d;
    size_t n, ni, prefix_at, value_len;

    (void)state;
    n = prove("alice", 5, PL_KT_LOOKUP_GREATEST, 2);
    ni = lookup.n_inclusion;
    value_len = lookup.value_len;
    prefix_at = OFF_VALUE_LEN(ni) + 2 + value_len;
#define DECODES_TO(rc, mutation)                                                                   \
    do {                                                                                           \
        memcpy(b, proof_buf, n);                                                                   \
        mutation;                                                                                  \
        memset(&d, 0xa5, sizeof d);                                                                \
        FX_RC(pl_kt_lookup_decode(&d, b, n), rc);                                                  \
        FX_ZEROED(&d, sizeof d);                                                                   \
        expect_fail_with("alice", 5, PL_KT_LOOKUP_GREATEST, 0, NULL, 0, b, n, rc,                  \
                         PL_KT_LOOKUP_MALFORMED);                                                  \
    } while (0)
    DECODES_TO(PL_E_VERSION, b[0] = 0);
    DECODES_TO(PL_E_VERSION, b[0] = 2);
    DECODES_TO(PL_E_MALFORMED, b[1] = 0);
    DECODES_TO(PL_E_MALFORMED, b[1] = 3);
    DECODES_TO(PL_E_MALFORMED, memset(b + 2, 0, 8));                  /* tree_size 0 */
    DECODES_TO(PL_E_MALFORMED, b[OFF_N_INCLUSION] = 65);              /* longer than 64 hashes */
    DECODES_TO(PL_E_MALFORMED, memset(b + OFF_VERSION(ni), 0xff, 4)); /* greatest of 2^32-1 */
    DECODES_TO(PL_E_MALFORMED, put16(b + OFF_VALUE_LEN(ni), 0));
    DECODES_TO(PL_E_MALFORMED, put16(b + OFF_VALUE_LEN(ni), PL_ACCOUNT_STATE_MAX_BYTES + 1));
    DECODES_TO(PL_E_MALFORMED, b[prefix_at + 2] = 9); /* prefix result_type */
    /* The prefix proof one byte shorter than its length says, the rest taken up by the
     * next field: malformed inside, not truncated. */
    DECODES_TO(PL_E_MALFORMED, b[prefix_at + 1] -= 1);
    DECODES_TO(PL_E_MALFORMED, b[prefix_at + 1] += 1);
    /* The value length one larger: every later field shifts and the input ends early or
     * the prefix proof no longer decodes. */
    memcpy(b, proof_buf, n);
    put16(b + OFF_VALUE_LEN(ni), value_len + 1);
    assert_int_not_equal(pl_kt_lookup_decode(&d, b, n), PL_OK);
    FX_ZEROED(&d, sizeof d);
#undef DECODES_TO
    /* A fixed proof of 2^32 - 1 decodes. */
    n = prove("alice", 5, PL_KT_LOOKUP_FIXED, 2);
    memset(proof_buf + OFF_VERSION(ni), 0xff, 4);
    FX_RC(pl_kt_lookup_decode(&d, proof_buf, n), PL_OK);
    assert_int_equal(d.version, UINT32_MAX);
    EXPECT_FAIL("alice", 5, PL_KT_LOOKUP_FIXED, UINT32_MAX, n, PL_KT_LOOKUP_BAD_VRF);
}

static void test_kt_lookup_verify_refuses_bad_arguments(void **state)
{
    pl_kt_lookup_failure why;
    uint8_t label[256];
    size_t n;

    (void)state;
    n = prove("alice", 5, PL_KT_LOOKUP_GREATEST, 2);
    memset(label, 'a', sizeof label);
#define BAD_ARG(...)                                                                               \
    do {                                                                                           \
        memset(&result, 0xa5, sizeof result);                                                      \
        FX_RC(pl_kt_lookup_verify(__VA_ARGS__), PL_E_INVALID_ARG);                                 \
        FX_ZEROED(&result, sizeof result);                                                         \
    } while (0)
    BAD_ARG(NULL, label, 5, 5, demo_root[5], 1, 0, NULL, 0, proof_buf, n, &result, &why);
    BAD_ARG(demo.vrf_pk, NULL, 5, 5, demo_root[5], 1, 0, NULL, 0, proof_buf, n, &result, &why);
    BAD_ARG(demo.vrf_pk, label, 256, 5, demo_root[5], 1, 0, NULL, 0, proof_buf, n, &result, &why);
    BAD_ARG(demo.vrf_pk, label, 5, 5, NULL, 1, 0, NULL, 0, proof_buf, n, &result, &why);
    BAD_ARG(demo.vrf_pk, label, 5, 5, demo_root[5], 0, 0, NULL, 0, proof_buf, n, &result, &why);
    BAD_ARG(demo.vrf_pk, label, 5, 5, demo_root[5], 3, 0, NULL, 0, proof_buf, n, &result, &why);
    BAD_ARG(demo.vrf_pk, label, 5, 5, demo_root[5], 1, 0, NULL, 1, proof_buf, n, &result, &why);
    BAD_ARG(demo.vrf_pk, label, 5, 5, demo_root[5], 1, 0, NULL, 0, NULL, n, &result, &why);
    FX_RC(pl_kt_lookup_verify(demo.vrf_pk, label, 5, 5, demo_root[5], 1, 0, NULL, 0, proof_buf, n,
                              NULL, &why),
          PL_E_INVALID_ARG);
#undef BAD_ARG
    /* why may be NULL. */
    FX_RC(pl_kt_lookup_verify(demo.vrf_pk, (const uint8_t *)"alice", 5, 5, demo_root[5], 1, 0, NULL,
                              0, proof_buf, n, &result, NULL),
          PL_OK);
    FX_RC(pl_kt_lookup_verify(demo.vrf_pk, (const uint8_t *)"alice", 5, 4, demo_root[4], 1, 0, NULL,
                              0, proof_buf, n, &result, NULL),
          PL_E_BAD_PROOF);
    /* A checkpoint of size 0 matches no proof. */
    FX_RC(pl_kt_lookup_verify(demo.vrf_pk, (const uint8_t *)"alice", 5, 0, demo_root[5], 1, 0, NULL,
                              0, proof_buf, n, &result, &why),
          PL_E_BAD_PROOF);
    assert_int_equal(why, PL_KT_LOOKUP_WRONG_TREE);
}

static void test_kt_lookup_failure_str_names_every_reason(void **state)
{
    const char *seen[PL_KT_LOOKUP_VERSION_MISMATCH + 1];

    (void)state;
    for (int f = PL_KT_LOOKUP_OK; f <= PL_KT_LOOKUP_VERSION_MISMATCH; f++) {
        seen[f] = pl_kt_lookup_failure_str((pl_kt_lookup_failure)f);
        assert_non_null(seen[f]);
        assert_true(strlen(seen[f]) > 3);
        for (int g = 0; g < f; g++)
            assert_string_not_equal(seen[f], seen[g]);
    }
    assert_string_equal(pl_kt_lookup_failure_str(PL_KT_LOOKUP_NOT_GREATEST),
                        "not the greatest version");
    assert_string_equal(pl_kt_lookup_failure_str((pl_kt_lookup_failure)42),
                        "unknown lookup failure");
}

/* ---- Step 3: the golden vectors (tests/vectors/kt_lookup.json) ---------------------------- */

#define VECTORS_FILE PARLEY_TEST_VECTORS_DIR "/kt_lookup.json"

/* The string value of key (no escapes) as a NUL-terminated copy in out. */
static void tj_text(const char *json, const char *key, char *out, size_t cap)
{
    const char *p = tj_require(json, key), *end;

    assert_true(*p == '"');
    end = tj_skip_string(p) - 1;
    assert_true((size_t)(end - p - 1) < cap);
    memcpy(out, p + 1, (size_t)(end - p - 1));
    out[end - p - 1] = '\0';
}

/* Checks one vector object (NUL-terminated flat JSON); returns 1 if it expects success. */
static int check_vector(const char *v)
{
    static uint8_t proof[PL_KT_LOOKUP_MAX_BYTES];
    static pl_kt_lookup_result res;
    uint8_t vrf_pk[32], root[32], label[PL_KT_LABEL_MAX_BYTES], h[32];
    char name[64], expect_error[64], expect_failure[64];
    pl_kt_lookup_failure why;
    size_t label_len, n;
    int rc;

    tj_text(v, "name", name, sizeof name);
    tj_text(v, "expect_error", expect_error, sizeof expect_error);
    tj_text(v, "expect_failure", expect_failure, sizeof expect_failure);
    assert_int_equal(tj_b64(v, "vrf_pk", vrf_pk, sizeof vrf_pk), 32);
    assert_int_equal(tj_b64(v, "root", root, sizeof root), 32);
    label_len = tj_b64(v, "label", label, sizeof label);
    n = tj_b64(v, "proof", proof, sizeof proof);
    rc = pl_kt_lookup_verify(vrf_pk, label, label_len, tj_u64(v, "tree_size"), root,
                             (uint8_t)tj_u64(v, "want_kind"), (uint32_t)tj_u64(v, "want_version"),
                             NULL, 0, proof, n, &res, &why);
    if (strcmp(pl_errname(rc), expect_error) != 0 ||
        strcmp(ktv_failure_token(why), expect_failure) != 0)
        fail_msg("vector %s: got %s/%s, want %s/%s", name, pl_errname(rc), ktv_failure_token(why),
                 expect_error, expect_failure);
    if (rc != PL_OK) {
        assert_null(tj_find(v, "state_hash"));
        return 0;
    }
    assert_int_equal(res.version, tj_u64(v, "version"));
    assert_int_equal(res.timestamp_ms, tj_u64(v, "timestamp_ms"));
    assert_int_equal(tj_b64(v, "state_hash", h, sizeof h), 32);
    assert_memory_equal(res.state_hash, h, 32);
    assert_int_equal(tj_b64(v, "vrf_out", h, sizeof h), 32);
    assert_memory_equal(res.vrf_out, h, 32);
    if (res.kind == PL_KT_LOOKUP_GREATEST) {
        assert_int_equal(tj_b64(v, "next_vrf_out", h, sizeof h), 32);
        assert_memory_equal(res.next_vrf_out, h, 32);
    } else {
        assert_int_equal(tj_b64(v, "next_vrf_out", h, sizeof h), 0);
    }
    return 1;
}

static void test_kt_lookup_vectors_verify(void **state)
{
    static char obj[64 * 1024];
    uint8_t *file;
    const char *p, *start;
    size_t len, n_vectors = 0, n_ok = 0;

    (void)state;
    file = tu_read_file(VECTORS_FILE, &len);
    assert_non_null(file);
    p = tj_skip_ws((const char *)file);
    assert_true(*p == '[');
    p = tj_skip_ws(p + 1);
    for (;;) {
        /* One flat object: skip strings whole, stop at its closing brace. */
        assert_true(*p == '{');
        for (start = p++; *p != '}'; p = *p == '"' ? tj_skip_string(p) : p + 1)
            assert_true(*p != '\0' && *p != '{');
        p++;
        assert_true((size_t)(p - start) < sizeof obj);
        memcpy(obj, start, (size_t)(p - start));
        obj[p - start] = '\0';
        n_ok += (size_t)check_vector(obj);
        n_vectors++;
        p = tj_skip_ws(p);
        if (*p == ']')
            break;
        assert_true(*p == ',');
        p = tj_skip_ws(p + 1);
    }
    assert_true(*tj_skip_ws(p + 1) == '\0');
    assert_int_equal(n_vectors, 16);
    assert_int_equal(n_ok, 5);
    free(file);
}

static void test_kt_lookup_vectors_reproduce_byte_for_byte(void **state)
{
    static char json[KTV_MAX_JSON_BYTES];
    uint8_t *file;
    size_t len, n;

    (void)state;
    file = tu_read_file(VECTORS_FILE, &len);
    assert_non_null(file);
    n = ktv_generate(json, sizeof json);
    assert_true(n > 0);
    assert_int_equal(n, len);
    assert_memory_equal(json, file, len);
    free(file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kt_log_entry_is_timestamp_then_root),
        cmocka_unit_test(test_kt_vrf_input_is_len_label_version),
        cmocka_unit_test(test_kt_vrf_prove_output_is_the_verified_beta_prefix),
        cmocka_unit_test(test_kt_lookup_encode_decode_round_trip),
        cmocka_unit_test(test_kt_lookup_encode_refuses_bad_fields),
        cmocka_unit_test(test_kt_lookup_verify_greatest),
        cmocka_unit_test(test_kt_lookup_verify_fixed),
        cmocka_unit_test(test_kt_lookup_verify_wrong_kind),
        cmocka_unit_test(test_kt_lookup_verify_wrong_tree),
        cmocka_unit_test(test_kt_lookup_verify_bad_inclusion),
        cmocka_unit_test(test_kt_lookup_verify_bad_vrf),
        cmocka_unit_test(test_kt_lookup_verify_bad_prefix),
        cmocka_unit_test(test_kt_lookup_verify_bad_commitment),
        cmocka_unit_test(test_kt_lookup_verify_not_greatest),
        cmocka_unit_test(test_kt_lookup_verify_bad_state),
        cmocka_unit_test(test_kt_lookup_verify_version_mismatch),
        cmocka_unit_test(test_kt_lookup_verify_check_order),
        cmocka_unit_test(test_kt_lookup_verify_vrf_cache),
        cmocka_unit_test(test_kt_lookup_verify_every_truncation_and_trailing_bytes),
        cmocka_unit_test(test_kt_lookup_decode_refuses_each_bound),
        cmocka_unit_test(test_kt_lookup_verify_refuses_bad_arguments),
        cmocka_unit_test(test_kt_lookup_failure_str_names_every_reason),
        cmocka_unit_test(test_kt_lookup_vectors_verify),
        cmocka_unit_test(test_kt_lookup_vectors_reproduce_byte_for_byte),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
