/*
 * fuzz_prefix_proof.c: pl_prefix_proof_verify() (decode + evaluate + root comparison) on
 * hostile proof bytes, against the root of a fixed prefix tree (parley/prefix_tree.h).
 *
 * Input: selector[1] || key[32] || proof bytes. A selector below 0x80 replaces the key with
 * that of the fixed tree's leaf (selector % FZ_PREFIX_LEAVES), so inclusion proofs can
 * match; otherwise the key is taken as given.
 *
 * Invariants: no crash; only PL_OK, PL_E_TRUNCATED, PL_E_MALFORMED or PL_E_BAD_PROOF; on
 * PL_OK, found says whether the key is in the fixed tree, and an included key's commitment
 * is the fixed tree's; an accepted proof is byte for byte the one the tree itself generates
 * (proofs are unique); and anything pl_prefix_proof_decode() accepts re-encodes to the same
 * bytes (the encoding is canonical).
 */
#include <string.h>

#include "fuzz.h"

static pl_prefix_tree *fixed_tree(uint8_t keys[FZ_PREFIX_LEAVES][32],
                                  uint8_t commits[FZ_PREFIX_LEAVES][32])
{
    static pl_prefix_tree *t;
    static uint8_t k[FZ_PREFIX_LEAVES][32], c[FZ_PREFIX_LEAVES][32];

    if (t == NULL) {
        FZ_CHECK(pl_init() == PL_OK);
        FZ_CHECK(pl_prefix_tree_new(&t) == PL_OK);
        for (unsigned i = 0; i < FZ_PREFIX_LEAVES; i++) {
            fz_prefix_leaf(i, k[i], c[i]);
            FZ_CHECK(pl_prefix_tree_insert(t, k[i], c[i]) == PL_OK);
        }
    }
    memcpy(keys, k, sizeof k);
    memcpy(commits, c, sizeof c);
    return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t keys[FZ_PREFIX_LEAVES][32], commits[FZ_PREFIX_LEAVES][32];
    static pl_prefix_proof proof;
    static uint8_t again[PL_PREFIX_PROOF_MAX_BYTES];
    const pl_prefix_tree *t = fixed_tree(keys, commits);
    uint8_t key[32], root[32], commitment[32];
    const uint8_t *in;
    size_t len, again_len;
    int found = -1, member = -1, rc;

    if (size < 33)
        return 0;
    if (data[0] < 0x80)
        memcpy(key, keys[data[0] % FZ_PREFIX_LEAVES], 32);
    else
        memcpy(key, data + 1, 32);
    in = data + 33;
    len = size - 33;
    for (unsigned i = 0; i < FZ_PREFIX_LEAVES; i++)
        if (memcmp(key, keys[i], 32) == 0)
            member = (int)i;
    pl_prefix_tree_root(t, root);

    rc = pl_prefix_proof_verify(key, in, len, root, &found, commitment);
    FZ_CHECK_RC(rc);
    FZ_CHECK(rc == PL_OK || rc == PL_E_TRUNCATED || rc == PL_E_MALFORMED || rc == PL_E_BAD_PROOF);
    if (rc == PL_OK) {
        FZ_CHECK(found == (member >= 0));
        if (found)
            FZ_CHECK(memcmp(commitment, commits[member], 32) == 0);
        else
            FZ_CHECK(fz_is_zero(commitment, 32));
        FZ_CHECK(pl_prefix_tree_prove(t, key, &proof) == PL_OK);
        FZ_CHECK(pl_prefix_proof_encode(&proof, again, sizeof again, &again_len) == PL_OK);
        FZ_CHECK(again_len == len && memcmp(again, in, len) == 0);
    } else {
        FZ_CHECK(found == 0 && fz_is_zero(commitment, 32));
    }

    rc = pl_prefix_proof_decode(&proof, in, len);
    FZ_CHECK(rc == PL_OK || rc == PL_E_TRUNCATED || rc == PL_E_MALFORMED);
    if (rc == PL_OK) {
        FZ_CHECK(pl_prefix_proof_encode(&proof, again, sizeof again, &again_len) == PL_OK);
        FZ_CHECK(again_len == len && memcmp(again, in, len) == 0);
    }
    return 0;
}
