/*
 * test_prefix_tree.c: the key-transparency prefix tree and its proofs (parley/prefix_tree.h,
 * PROTOCOL.md §20).
 *
 * - Roots of the empty tree, of one leaf and of two leaves that differ only in their last
 *   bit, written out from the hashing rules with bare libsodium calls.
 * - Random trees of 1..300 leaves, and trees whose keys share 240-bit prefixes: the root
 *   equals an independent recursive computation from the definition of the shape (below),
 *   does not depend on insertion order, and every key's inclusion proof and 100 absent
 *   keys' non-inclusion proofs round-trip through the encoding and verify.
 * - Proofs fail against another root, after any bit flip, truncation or extension, and for
 *   crafted results the shape rules out; the decoder refuses each malformed field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "parley/parley.h"
#include "testutil.h"

#define HB PL_PREFIX_HASH_BYTES
#define KB PL_PREFIX_KEY_BYTES
#define MAX_LEAVES 300u
#define ABSENT_KEYS 100u
#define FULL_FLIP_BYTES 1024u

static int setup_library(void **state)
{
    (void)state;
    return pl_init() == PL_OK ? 0 : -1;
}

static void assert_rc(int got, int want)
{
    if (got != want)
        fail_msg("got %s (%d), want %s (%d)", pl_errname(got), got, pl_errname(want), want);
}

/* ---- A reference transcription of the hashing and the shape (PROTOCOL.md §20.1-2) --------- */

static void ref_leaf(const uint8_t key[KB], const uint8_t commitment[HB], uint8_t out[HB])
{
    uint8_t buf[1 + KB + HB];

    buf[0] = 0x02;
    memcpy(buf + 1, key, KB);
    memcpy(buf + 1 + KB, commitment, HB);
    crypto_hash_sha256(out, buf, sizeof buf);
}

static void ref_node(const uint8_t left[HB], const uint8_t right[HB], uint8_t out[HB])
{
    uint8_t buf[1 + 2 * HB];

    buf[0] = 0x03;
    memcpy(buf + 1, left, HB);
    memcpy(buf + 1 + HB, right, HB);
    crypto_hash_sha256(out, buf, sizeof buf);
}

static unsigned ref_bit(const uint8_t key[KB], unsigned i)
{
    return (key[i / 8] >> (7 - i % 8)) & 1;
}

/* The root of the subtree at `depth` holding the n leaves idx[0..n) of keys/commits: none is
 * the missing node (zeros), one is that leaf wherever it stands, more split on bit `depth`. */
static void ref_root(const uint8_t (*keys)[KB], const uint8_t (*commits)[HB], const size_t *idx,
                     size_t n, unsigned depth, uint8_t out[HB])
{
    size_t *side[2];
    size_t count[2] = {0, 0};
    uint8_t h[2][HB];

    if (n == 0) {
        memset(out, 0, HB);
        return;
    }
    if (n == 1) {
        ref_leaf(keys[idx[0]], commits[idx[0]], out);
        return;
    }
    assert_true(depth < 256);
    side[0] = malloc(n * sizeof(size_t));
    side[1] = malloc(n * sizeof(size_t));
    assert_non_null(side[0]);
    assert_non_null(side[1]);
    for (size_t i = 0; i < n; i++) {
        unsigned b = ref_bit(keys[idx[i]], depth);
        side[b][count[b]++] = idx[i];
    }
    ref_root(keys, commits, side[0], count[0], depth + 1, h[0]);
    ref_root(keys, commits, side[1], count[1], depth + 1, h[1]);
    ref_node(h[0], h[1], out);
    free(side[0]);
    free(side[1]);
}

static void ref_tree_root(const uint8_t (*keys)[KB], const uint8_t (*commits)[HB], size_t n,
                          uint8_t out[HB])
{
    size_t *idx = malloc((n ? n : 1) * sizeof(size_t));

    assert_non_null(idx);
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    ref_root(keys, commits, idx, n, 0, out);
    free(idx);
}

/* ---- Helpers ------------------------------------------------------------------------------- */

/* Deterministic bytes: the stream of seed `tag` at position *ctr. */
static void det_bytes(uint8_t *out, size_t len, uint32_t tag, uint64_t *ctr)
{
    uint8_t seed[randombytes_SEEDBYTES] = {0};

    memcpy(seed, &tag, sizeof tag);
    memcpy(seed + 8, ctr, sizeof *ctr);
    (*ctr)++;
    randombytes_buf_deterministic(out, len, seed);
}

/* Proves key in t, encodes, verifies against t's root; checks found and the commitment. */
static void check_key(const pl_prefix_tree *t, const uint8_t key[KB], int want_found,
                      const uint8_t want_commitment[HB], uint8_t *enc, size_t *enc_len)
{
    static pl_prefix_proof proof;
    uint8_t root[HB], c[HB];
    int found = -1;

    pl_prefix_tree_root(t, root);
    assert_rc(pl_prefix_tree_prove(t, key, &proof), PL_OK);
    assert_int_equal(proof.result_type == PL_PREFIX_INCLUSION, want_found);
    assert_rc(pl_prefix_proof_encode(&proof, enc, PL_PREFIX_PROOF_MAX_BYTES, enc_len), PL_OK);
    assert_rc(pl_prefix_proof_verify(key, enc, *enc_len, root, &found, c), PL_OK);
    assert_int_equal(found, want_found);
    if (want_found)
        assert_memory_equal(c, want_commitment, HB);
    else
        assert_true(sodium_is_zero(c, HB));
}

/* A tree of n leaves from keys/commits, checked against the reference root. */
static pl_prefix_tree *build(const uint8_t (*keys)[KB], const uint8_t (*commits)[HB], size_t n)
{
    pl_prefix_tree *t = NULL;
    uint8_t got[HB], want[HB];

    assert_rc(pl_prefix_tree_new(&t), PL_OK);
    for (size_t i = 0; i < n; i++)
        assert_rc(pl_prefix_tree_insert(t, keys[i], commits[i]), PL_OK);
    assert_int_equal(pl_prefix_tree_size(t), n);
    pl_prefix_tree_root(t, got);
    ref_tree_root(keys, commits, n, want);
    assert_memory_equal(got, want, HB);
    return t;
}

/* Every bit flip, every truncation and a one-byte extension of enc are refused. Past
 * FULL_FLIP_BYTES (a 256-deep proof costs 66k verifications of 256 hashes each) only the
 * header and one rotating bit of every later byte are flipped. */
static void check_mutations_refused(const uint8_t key[KB], const uint8_t *enc, size_t len,
                                    const uint8_t root[HB])
{
    uint8_t *copy = malloc(len + 1);
    uint8_t c[HB];
    int found;

    assert_non_null(copy);
    memcpy(copy, enc, len);
    for (size_t i = 0; i < len * 8; i++) {
        if (i / 8 >= FULL_FLIP_BYTES && i % 8 != (i / 8) % 8)
            continue;
        copy[i / 8] ^= (uint8_t)(1u << (i % 8));
        if (pl_prefix_proof_verify(key, copy, len, root, &found, c) == PL_OK)
            fail_msg("bit %zu of %zu flipped, still accepted", i, len * 8);
        assert_int_equal(found, 0);
        copy[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    for (size_t cut = 0; cut < len; cut++)
        if (pl_prefix_proof_verify(key, copy, cut, root, &found, c) == PL_OK)
            fail_msg("cut to %zu of %zu bytes, still accepted", cut, len);
    copy[len] = 0;
    assert_rc(pl_prefix_proof_verify(key, copy, len + 1, root, &found, c), PL_E_MALFORMED);
    free(copy);
}

/* ---- Tests --------------------------------------------------------------------------------- */

static void test_prefix_tree_empty_root_is_zero_and_proves_absence(void **state)
{
    static uint8_t enc[PL_PREFIX_PROOF_MAX_BYTES];
    const uint8_t expect[] = {0x03, 0x00, 0x00, 0x00, 0x00};
    pl_prefix_tree *t = NULL;
    uint8_t root[HB], key[KB];
    size_t len;

    (void)state;
    memset(key, 0xa5, KB);
    assert_rc(pl_prefix_tree_new(&t), PL_OK);
    pl_prefix_tree_root(t, root);
    assert_true(sodium_is_zero(root, HB));
    check_key(t, key, 0, NULL, enc, &len);
    /* nonInclusionParent at depth 0, no elements. */
    assert_int_equal(len, sizeof expect);
    assert_memory_equal(enc, expect, sizeof expect);
    check_mutations_refused(key, enc, len, root);
    pl_prefix_tree_free(t);
    pl_prefix_tree_free(NULL);
}

static void test_prefix_tree_one_leaf_is_the_root(void **state)
{
    static uint8_t enc[PL_PREFIX_PROOF_MAX_BYTES];
    pl_prefix_tree *t = NULL;
    uint8_t key[KB], commit[HB], other[KB], root[HB], want[HB];
    size_t len;

    (void)state;
    memset(key, 0x11, KB);
    memset(commit, 0x22, HB);
    memset(other, 0x11, KB);
    other[0] = 0x91; /* differs in bit 0 */
    assert_rc(pl_prefix_tree_new(&t), PL_OK);
    assert_rc(pl_prefix_tree_insert(t, key, commit), PL_OK);
    pl_prefix_tree_root(t, root);
    ref_leaf(key, commit, want);
    assert_memory_equal(root, want, HB);

    check_key(t, key, 1, commit, enc, &len);
    assert_int_equal(len, 1 + HB + 2 + 2); /* inclusion at depth 0 */
    check_mutations_refused(key, enc, len, root);
    check_key(t, other, 0, NULL, enc, &len);
    assert_int_equal(len, 1 + KB + HB + 2 + 2); /* nonInclusionLeaf at depth 0 */
    assert_int_equal(enc[0], PL_PREFIX_NONINCLUSION_LEAF);
    check_mutations_refused(other, enc, len, root);

    /* A key is added once; the failed insert changes nothing. */
    memset(commit, 0x33, HB);
    assert_rc(pl_prefix_tree_insert(t, key, commit), PL_E_INVALID_ARG);
    assert_int_equal(pl_prefix_tree_size(t), 1);
    pl_prefix_tree_root(t, want);
    assert_memory_equal(root, want, HB);
    pl_prefix_tree_free(t);
}

static void test_prefix_tree_keys_differing_in_last_bit_sit_at_depth_256(void **state)
{
    static uint8_t enc[PL_PREFIX_PROOF_MAX_BYTES];
    static pl_prefix_proof proof;
    uint8_t keys[3][KB], commits[3][HB], root[HB], h[HB], want[HB], zero[HB] = {0};
    pl_prefix_tree *t;
    size_t len;

    (void)state;
    memset(keys[0], 0x5c, KB);
    memcpy(keys[1], keys[0], KB);
    keys[1][KB - 1] ^= 0x01; /* bit 255 */
    memcpy(keys[2], keys[0], KB);
    keys[2][KB - 1] ^= 0x02; /* bit 254 */
    for (int i = 0; i < 3; i++)
        memset(commits[i], 0x70 + i, HB);

    t = build((const uint8_t(*)[KB])keys, (const uint8_t(*)[HB])commits, 2);
    /* By hand: node(leaf0, leaf1) at depth 255 (bit 255 of keys[0] is 0), then 255 single-
     * child nodes above, each on the side of the shared prefix's bit. */
    ref_leaf(keys[0], commits[0], h);
    ref_leaf(keys[1], commits[1], want);
    ref_node(h, want, h);
    for (unsigned d = 255; d-- > 0;) {
        if (ref_bit(keys[0], d) == 0)
            ref_node(h, zero, h);
        else
            ref_node(zero, h, h);
    }
    pl_prefix_tree_root(t, root);
    assert_memory_equal(root, h, HB);

    for (int i = 0; i < 2; i++) {
        assert_rc(pl_prefix_tree_prove(t, keys[i], &proof), PL_OK);
        assert_int_equal(proof.depth, 256);
        check_key(t, keys[i], 1, commits[i], enc, &len);
        assert_int_equal(len, PL_PREFIX_PROOF_MAX_BYTES - KB);
        check_mutations_refused(keys[i], enc, len, root);
    }
    /* keys[2] ends at the empty child of the depth-254 node: nonInclusionParent at 255. */
    assert_rc(pl_prefix_tree_prove(t, keys[2], &proof), PL_OK);
    assert_int_equal(proof.result_type, PL_PREFIX_NONINCLUSION_PARENT);
    assert_int_equal(proof.depth, 255);
    check_key(t, keys[2], 0, NULL, enc, &len);
    check_mutations_refused(keys[2], enc, len, root);
    pl_prefix_tree_free(t);

    /* With all three: keys[2] at depth 255, the other two still at 256. */
    t = build((const uint8_t(*)[KB])keys, (const uint8_t(*)[HB])commits, 3);
    assert_rc(pl_prefix_tree_prove(t, keys[2], &proof), PL_OK);
    assert_int_equal(proof.depth, 255);
    assert_rc(pl_prefix_tree_prove(t, keys[1], &proof), PL_OK);
    assert_int_equal(proof.depth, 256);
    for (int i = 0; i < 3; i++)
        check_key(t, keys[i], 1, commits[i], enc, &len);
    pl_prefix_tree_free(t);
}

/* Builds trees of n keys made by fill(), checks every key and ABSENT_KEYS absent ones. */
static void check_random_tree(size_t n, uint32_t tag, unsigned shared_bits, int mutate)
{
    static uint8_t enc[PL_PREFIX_PROOF_MAX_BYTES];
    static uint8_t keys[MAX_LEAVES][KB], commits[MAX_LEAVES][HB], rev_k[MAX_LEAVES][KB],
        rev_c[MAX_LEAVES][HB];
    uint8_t prefix[KB], key[KB], root[HB], other[HB], c[HB];
    pl_prefix_tree *t, *t2;
    uint64_t ctr = 0;
    size_t len;
    int found;

    det_bytes(prefix, KB, tag, &ctr);
    for (size_t i = 0; i < n; i++) {
        det_bytes(keys[i], KB, tag, &ctr);
        /* Keep the first shared_bits bits of prefix, so the keys cluster deep down. */
        for (unsigned b = 0; b < shared_bits; b++) {
            uint8_t m = (uint8_t)(0x80u >> (b % 8));
            keys[i][b / 8] = (uint8_t)((keys[i][b / 8] & ~m) | (prefix[b / 8] & m));
        }
        det_bytes(commits[i], HB, tag, &ctr);
        for (size_t j = 0; j < i; j++)
            if (memcmp(keys[i], keys[j], KB) == 0)
                fail_msg("duplicate random key"); /* 2^-16 at worst; change the tag */
    }
    t = build((const uint8_t(*)[KB])keys, (const uint8_t(*)[HB])commits, n);
    pl_prefix_tree_root(t, root);
    /* The root depends on the set only. */
    for (size_t i = 0; i < n; i++) {
        memcpy(rev_k[i], keys[n - 1 - i], KB);
        memcpy(rev_c[i], commits[n - 1 - i], HB);
    }
    t2 = build((const uint8_t(*)[KB])rev_k, (const uint8_t(*)[HB])rev_c, n);
    pl_prefix_tree_root(t2, other);
    assert_memory_equal(root, other, HB);
    pl_prefix_tree_free(t2);

    memcpy(other, root, HB);
    other[HB - 1] ^= 0x01;
    for (size_t i = 0; i < n; i++) {
        check_key(t, keys[i], 1, commits[i], enc, &len);
        assert_rc(pl_prefix_proof_verify(keys[i], enc, len, other, &found, c), PL_E_BAD_PROOF);
        if (mutate && i == n / 2)
            check_mutations_refused(keys[i], enc, len, root);
    }
    for (unsigned a = 0; a < ABSENT_KEYS; a++) {
        det_bytes(key, KB, tag ^ 0x80000000u, &ctr);
        if (a % 2 == 0) /* half of them inside the cluster */
            memcpy(key, keys[a % n], KB / 2);
        check_key(t, key, 0, NULL, enc, &len);
        assert_rc(pl_prefix_proof_verify(key, enc, len, other, &found, c), PL_E_BAD_PROOF);
        if (mutate && a < 2)
            check_mutations_refused(key, enc, len, root);
    }
    pl_prefix_tree_free(t);
}

static void test_prefix_tree_random_trees_1_to_300(void **state)
{
    (void)state;
    for (size_t n = 1; n <= MAX_LEAVES; n++)
        check_random_tree(n, (uint32_t)n, 0, n % 37 == 1);
}

static void test_prefix_tree_keys_sharing_240_bits(void **state)
{
    (void)state;
    for (size_t n = 2; n <= 64; n += 31)
        check_random_tree(n, 0x1000u + (uint32_t)n, 240, n == 2);
}

static void test_prefix_tree_decoder_refuses_malformed_fields(void **state)
{
    static pl_prefix_proof proof;
    static uint8_t enc[PL_PREFIX_PROOF_MAX_BYTES + 8];
    uint8_t key[KB] = {0}, root[HB] = {0}, c[HB];
    int found;

    (void)state;
    assert_rc(pl_prefix_proof_decode(&proof, enc, 0), PL_E_TRUNCATED);
    /* Unknown result types. */
    memset(enc, 0, 5);
    assert_rc(pl_prefix_proof_decode(&proof, enc, 5), PL_E_MALFORMED);
    enc[0] = 4;
    assert_rc(pl_prefix_proof_decode(&proof, enc, 5), PL_E_MALFORMED);
    /* nonInclusionParent, depth 257 with 257 elements. */
    memset(enc, 0, sizeof enc);
    enc[0] = PL_PREFIX_NONINCLUSION_PARENT;
    enc[1] = 0x01, enc[2] = 0x01, enc[3] = 0x01, enc[4] = 0x01;
    assert_rc(pl_prefix_proof_decode(&proof, enc, 5 + 257 * HB), PL_E_MALFORMED);
    /* Count differs from depth. */
    enc[1] = 0, enc[2] = 1, enc[3] = 0, enc[4] = 2;
    assert_rc(pl_prefix_proof_decode(&proof, enc, 5 + 2 * HB), PL_E_MALFORMED);
    /* Depth 1, one element, but it is short. */
    enc[4] = 1;
    assert_rc(pl_prefix_proof_decode(&proof, enc, 5 + HB - 1), PL_E_TRUNCATED);
    assert_rc(pl_prefix_proof_decode(&proof, enc, 5 + HB), PL_OK);
    /* ... and decodes, but an empty deepest sibling is no tree of this shape. */
    assert_rc(pl_prefix_proof_verify(key, enc, 5 + HB, root, &found, c), PL_E_BAD_PROOF);
    /* Encoding refuses what decoding refuses. */
    memset(&proof, 0, sizeof proof);
    proof.result_type = 4;
    assert_rc(pl_prefix_proof_encode(&proof, enc, sizeof enc, &(size_t){0}), PL_E_INVALID_ARG);
    proof.result_type = PL_PREFIX_INCLUSION;
    proof.depth = 257;
    assert_rc(pl_prefix_proof_encode(&proof, enc, sizeof enc, &(size_t){0}), PL_E_INVALID_ARG);
    proof.depth = 3;
    assert_rc(pl_prefix_proof_encode(&proof, enc, 10, &(size_t){0}), PL_E_BUFFER_TOO_SMALL);
}

static void test_prefix_tree_crafted_non_inclusion_leaf_is_refused(void **state)
{
    static pl_prefix_proof proof;
    uint8_t key[KB], commit[HB], root[HB], c[HB];
    int found;

    (void)state;
    memset(key, 0x42, KB);
    memset(commit, 0x24, HB);
    /* A one-leaf tree holding key: claiming key's own leaf as "another key" is refused. */
    ref_leaf(key, commit, root);
    memset(&proof, 0, sizeof proof);
    proof.result_type = PL_PREFIX_NONINCLUSION_LEAF;
    memcpy(proof.leaf_key, key, KB);
    memcpy(proof.leaf_commitment, commit, HB);
    assert_rc(pl_prefix_proof_evaluate(&proof, key, root, &found, c), PL_E_BAD_PROOF);
    assert_true(sodium_is_zero(root, HB));
    /* A leaf off key's path (differs in bit 0) at depth 1 is refused before hashing. */
    proof.leaf_key[0] ^= 0x80;
    proof.depth = 1;
    memset(proof.elements[0], 0x99, HB);
    assert_rc(pl_prefix_proof_evaluate(&proof, key, root, &found, c), PL_E_BAD_PROOF);
    /* At depth 0 it is the single leaf of another tree, which proves absence. */
    proof.depth = 0;
    assert_rc(pl_prefix_proof_evaluate(&proof, key, root, &found, c), PL_OK);
    assert_int_equal(found, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefix_tree_empty_root_is_zero_and_proves_absence),
        cmocka_unit_test(test_prefix_tree_one_leaf_is_the_root),
        cmocka_unit_test(test_prefix_tree_keys_differing_in_last_bit_sit_at_depth_256),
        cmocka_unit_test(test_prefix_tree_random_trees_1_to_300),
        cmocka_unit_test(test_prefix_tree_keys_sharing_240_bits),
        cmocka_unit_test(test_prefix_tree_decoder_refuses_malformed_fields),
        cmocka_unit_test(test_prefix_tree_crafted_non_inclusion_leaf_is_refused),
    };

    return cmocka_run_group_tests(tests, setup_library, NULL);
}
