/*
 * test_kt_logtree.c: the log's in-memory Merkle tree (src/server/kt_logtree.c) against
 * libparley's whole-tree reference (pl_merkle_root, pl_merkle_inclusion_proof,
 * pl_merkle_consistency_proof): every root, every inclusion proof and every consistency
 * proof of every size up to 70, byte for byte, and the proofs verify.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "kt_logtree.h"
#include "parley/parley.h"

#define N 70

static uint8_t leaves[N][PL_MERKLE_HASH_BYTES];

static pl_kt_logtree *build(uint64_t n)
{
    pl_kt_logtree *t = pl_kt_logtree_new();

    assert_non_null(t);
    for (uint64_t i = 0; i < n; i++) {
        uint8_t entry[8];

        memcpy(entry, &i, sizeof entry);
        pl_merkle_leaf_hash(entry, sizeof entry, leaves[i]);
        assert_int_equal(pl_kt_logtree_append(t, leaves[i]), 0);
    }
    assert_int_equal(pl_kt_logtree_size(t), n);
    return t;
}

static void roots_match_the_reference(void **state)
{
    pl_kt_logtree *t = build(N);
    uint8_t a[32], b[32];

    (void)state;
    for (uint64_t size = 0; size <= N; size++) {
        assert_int_equal(pl_kt_logtree_root(t, size, a), 0);
        if (size == 0)
            crypto_hash_sha256(b, NULL, 0);
        else
            assert_int_equal(pl_merkle_root((const uint8_t(*)[32])leaves, size, b), PL_OK);
        assert_memory_equal(a, b, 32);
    }
    assert_int_equal(pl_kt_logtree_root(t, N + 1, a), -1);
    pl_kt_logtree_free(t);
}

static void inclusion_proofs_match_and_verify(void **state)
{
    pl_kt_logtree *t = build(N);
    uint8_t p[PL_MERKLE_MAX_PROOF][32], q[PL_MERKLE_MAX_PROOF][32], root[32];
    size_t lp, lq;

    (void)state;
    for (uint64_t size = 1; size <= N; size++) {
        assert_int_equal(pl_kt_logtree_root(t, size, root), 0);
        for (uint64_t i = 0; i < size; i++) {
            assert_int_equal(pl_kt_logtree_inclusion(t, i, size, p, &lp), 0);
            assert_int_equal(
                pl_merkle_inclusion_proof((const uint8_t(*)[32])leaves, size, i, q, &lq), PL_OK);
            assert_int_equal(lp, lq);
            assert_memory_equal(p, q, lp * 32);
            assert_int_equal(
                pl_merkle_verify_inclusion(i, size, leaves[i], (const uint8_t(*)[32])p, lp, root),
                PL_OK);
        }
    }
    assert_int_equal(pl_kt_logtree_inclusion(t, 5, 5, p, &lp), -1);
    assert_int_equal(pl_kt_logtree_inclusion(t, 0, N + 1, p, &lp), -1);
    pl_kt_logtree_free(t);
}

static void consistency_proofs_match_and_verify(void **state)
{
    pl_kt_logtree *t = build(N);
    uint8_t p[PL_MERKLE_MAX_PROOF][32], q[PL_MERKLE_MAX_PROOF][32], r1[32], r2[32];
    size_t lp, lq;

    (void)state;
    for (uint64_t s2 = 1; s2 <= N; s2++) {
        assert_int_equal(pl_kt_logtree_root(t, s2, r2), 0);
        for (uint64_t s1 = 1; s1 <= s2; s1++) {
            assert_int_equal(pl_kt_logtree_consistency(t, s1, s2, p, &lp), 0);
            assert_int_equal(
                pl_merkle_consistency_proof((const uint8_t(*)[32])leaves, s1, s2, q, &lq), PL_OK);
            assert_int_equal(lp, lq);
            assert_memory_equal(p, q, lp * 32);
            assert_int_equal(pl_kt_logtree_root(t, s1, r1), 0);
            assert_int_equal(
                pl_merkle_verify_consistency(s1, s2, r1, r2, (const uint8_t(*)[32])p, lp), PL_OK);
        }
    }
    assert_int_equal(pl_kt_logtree_consistency(t, 0, 3, p, &lp), -1);
    assert_int_equal(pl_kt_logtree_consistency(t, 4, 3, p, &lp), -1);
    assert_int_equal(pl_kt_logtree_consistency(t, 3, N + 1, p, &lp), -1);
    pl_kt_logtree_free(t);
}

static void leaves_read_back(void **state)
{
    pl_kt_logtree *t = build(N);
    uint8_t h[32];

    (void)state;
    assert_int_equal(pl_kt_logtree_leaf(t, 37, h), 0);
    assert_memory_equal(h, leaves[37], 32);
    assert_int_equal(pl_kt_logtree_leaf(t, N, h), -1);
    pl_kt_logtree_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(roots_match_the_reference),
        cmocka_unit_test(inclusion_proofs_match_and_verify),
        cmocka_unit_test(consistency_proofs_match_and_verify),
        cmocka_unit_test(leaves_read_back),
    };

    if (pl_init() != PL_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
