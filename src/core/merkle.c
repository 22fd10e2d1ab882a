/*
 * merkle.c: RFC 9162 Merkle tree hashing, proof generation and proof verification
 * (parley/merkle.h, docs/PROTOCOL.md §16).
 *
 *   leaf:  SHA-256(0x00 || entry)                              RFC 9162 §2.1.1
 *   node:  SHA-256(0x01 || left || right)
 *   MTH({}) = SHA-256(), MTH({d}) = leaf(d),
 *   MTH(D[n]) = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two < n
 *
 * Generation follows the recursive definitions of PATH (§2.1.3.1) and SUBPROOF (§2.1.4.1),
 * unrolled into a walk from the root down; the walk meets the proof's hashes root first, so
 * they are reversed at the end into the RFC's order. Verification is §2.1.3.2 and §2.1.4.2
 * step by step, with the RFC's names (fn, sn, r, fr, sr).
 */
#include <string.h>

#include <sodium.h>

#include "parley/error.h"
#include "parley/merkle.h"

#define HASH_BYTES PL_MERKLE_HASH_BYTES

/* A uint64_t count of hashes that can index an array in this address space. */
#define FITS_IN_MEMORY(n) ((n) <= SIZE_MAX / HASH_BYTES)

void pl_merkle_leaf_hash(const uint8_t *entry, size_t len, uint8_t out[PL_MERKLE_HASH_BYTES])
{
    static const uint8_t prefix = 0x00;
    crypto_hash_sha256_state st;

    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, &prefix, 1);
    if (len > 0)
        crypto_hash_sha256_update(&st, entry, len);
    crypto_hash_sha256_final(&st, out);
}

void pl_merkle_node_hash(const uint8_t left[PL_MERKLE_HASH_BYTES],
                         const uint8_t right[PL_MERKLE_HASH_BYTES],
                         uint8_t out[PL_MERKLE_HASH_BYTES])
{
    static const uint8_t prefix = 0x01;
    crypto_hash_sha256_state st;

    /* Both inputs are absorbed before out is written, so out may alias them. */
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, &prefix, 1);
    crypto_hash_sha256_update(&st, left, HASH_BYTES);
    crypto_hash_sha256_update(&st, right, HASH_BYTES);
    crypto_hash_sha256_final(&st, out);
}

/* The largest power of two smaller than n, for n >= 2 (RFC 9162's k). */
static uint64_t split_point(uint64_t n)
{
    uint64_t k = 1;

    while (k < n - k) /* 2k < n, written so that it cannot overflow */
        k <<= 1;
    return k;
}

/*
 * MTH of leaves[0..n). Instead of recursing, keeps a stack of the roots of the perfect
 * subtrees seen so far (at most one per bit of n, largest first): each leaf is pushed, then
 * merged with its left neighbours as long as the count of leaves so far is even at that
 * level. At the end the stack holds the subtrees of the binary decomposition of n, and
 * folding them from the right gives exactly the left-balanced split of §2.1.1.
 */
static void subtree_root(const uint8_t (*leaves)[PL_MERKLE_HASH_BYTES], uint64_t n,
                         uint8_t out[PL_MERKLE_HASH_BYTES])
{
    uint8_t stack[64][HASH_BYTES];
    unsigned depth = 0;

    if (n == 0) {
        crypto_hash_sha256(out, NULL, 0);
        return;
    }
    for (uint64_t i = 0; i < n; i++) {
        memcpy(stack[depth++], leaves[i], HASH_BYTES);
        for (uint64_t count = i + 1; (count & 1) == 0; count >>= 1) {
            pl_merkle_node_hash(stack[depth - 2], stack[depth - 1], stack[depth - 2]);
            depth--;
        }
    }
    while (depth > 1) {
        pl_merkle_node_hash(stack[depth - 2], stack[depth - 1], stack[depth - 2]);
        depth--;
    }
    memcpy(out, stack[0], HASH_BYTES);
}

static void reverse_hashes(uint8_t (*h)[PL_MERKLE_HASH_BYTES], size_t n)
{
    uint8_t tmp[HASH_BYTES];

    for (size_t i = 0, j = n; i + 1 < j; i++, j--) {
        memcpy(tmp, h[i], HASH_BYTES);
        memcpy(h[i], h[j - 1], HASH_BYTES);
        memcpy(h[j - 1], tmp, HASH_BYTES);
    }
}

int pl_merkle_root(const uint8_t (*leaf_hashes)[PL_MERKLE_HASH_BYTES], uint64_t n,
                   uint8_t out[PL_MERKLE_HASH_BYTES])
{
    int r = PL_E_INVALID_ARG;

    memset(out, 0, HASH_BYTES);
    if ((n > 0 && !leaf_hashes) || !FITS_IN_MEMORY(n))
        goto out;
    subtree_root(leaf_hashes, n, out);
    r = PL_OK;
out:
    return r;
}

int pl_merkle_inclusion_proof(const uint8_t (*leaf_hashes)[PL_MERKLE_HASH_BYTES], uint64_t size,
                              uint64_t index,
                              uint8_t proof[PL_MERKLE_MAX_PROOF][PL_MERKLE_HASH_BYTES],
                              size_t *proof_len)
{
    const uint8_t(*d)[HASH_BYTES] = leaf_hashes;
    uint64_t m = index, n = size, k;
    size_t count = 0;
    int r = PL_E_INVALID_ARG;

    *proof_len = 0;
    memset(proof, 0, PL_MERKLE_MAX_PROOF * HASH_BYTES);
    if (index >= size || !leaf_hashes || !FITS_IN_MEMORY(size))
        goto out;
    /* PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n])       if m < k
     *               = PATH(m - k, D[k:n]) : MTH(D[0:k])  if m >= k
     * Each step halves the subtree, so count never passes 64 for a 64-bit size. */
    while (n > 1) {
        k = split_point(n);
        if (m < k) {
            subtree_root(d + k, n - k, proof[count++]);
            n = k;
        } else {
            subtree_root(d, k, proof[count++]);
            d += k;
            m -= k;
            n -= k;
        }
    }
    reverse_hashes(proof, count);
    *proof_len = count;
    r = PL_OK;
out:
    return r;
}

int pl_merkle_consistency_proof(const uint8_t (*leaf_hashes)[PL_MERKLE_HASH_BYTES], uint64_t size1,
                                uint64_t size2,
                                uint8_t proof[PL_MERKLE_MAX_PROOF][PL_MERKLE_HASH_BYTES],
                                size_t *proof_len)
{
    const uint8_t(*d)[HASH_BYTES] = leaf_hashes;
    uint64_t m = size1, n = size2, k;
    size_t count = 0;
    int b = 1; /* SUBPROOF's third argument: still on the old tree's own path */
    int r = PL_E_INVALID_ARG;

    *proof_len = 0;
    memset(proof, 0, PL_MERKLE_MAX_PROOF * HASH_BYTES);
    if (size1 == 0 || size1 > size2 || !leaf_hashes || !FITS_IN_MEMORY(size2))
        goto out;
    /* SUBPROOF(m, D[n], b) = SUBPROOF(m, D[0:k], b) : MTH(D[k:n])           if m <= k
     *                      = SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])  if m > k
     * SUBPROOF(m, D[m], true) = {}, SUBPROOF(m, D[m], false) = {MTH(D[m])} */
    while (m != n) {
        if (count == PL_MERKLE_MAX_PROOF)
            goto out;
        k = split_point(n);
        if (m <= k) {
            subtree_root(d + k, n - k, proof[count++]);
            n = k;
        } else {
            subtree_root(d, k, proof[count++]);
            d += k;
            m -= k;
            n -= k;
            b = 0;
        }
    }
    if (!b) {
        if (count == PL_MERKLE_MAX_PROOF)
            goto out;
        subtree_root(d, m, proof[count++]);
    }
    reverse_hashes(proof, count);
    *proof_len = count;
    r = PL_OK;
out:
    if (r != PL_OK)
        memset(proof, 0, PL_MERKLE_MAX_PROOF * HASH_BYTES);
    return r;
}

int pl_merkle_verify_inclusion(uint64_t index, uint64_t size,
                               const uint8_t leaf_hash[PL_MERKLE_HASH_BYTES],
                               const uint8_t (*proof)[PL_MERKLE_HASH_BYTES], size_t n,
                               const uint8_t root[PL_MERKLE_HASH_BYTES])
{
    uint8_t hash[HASH_BYTES];
    uint64_t fn, sn;
    int r = PL_E_INVALID_ARG;

    /* 1. leaf_index >= tree_size fails. */
    if (index >= size || n > PL_MERKLE_MAX_PROOF || (n > 0 && !proof))
        goto out;
    r = PL_E_BAD_PROOF;
    /* 2.-3. */
    fn = index;
    sn = size - 1;
    memcpy(hash, leaf_hash, HASH_BYTES);
    /* 4. */
    for (size_t i = 0; i < n; i++) {
        if (sn == 0)
            goto out;
        if ((fn & 1) || fn == sn) {
            pl_merkle_node_hash(proof[i], hash, hash);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            pl_merkle_node_hash(hash, proof[i], hash);
        }
        fn >>= 1;
        sn >>= 1;
    }
    /* 5. */
    if (sn == 0 && sodium_memcmp(hash, root, HASH_BYTES) == 0)
        r = PL_OK;
out:
    return r;
}

int pl_merkle_verify_consistency(uint64_t size1, uint64_t size2,
                                 const uint8_t root1[PL_MERKLE_HASH_BYTES],
                                 const uint8_t root2[PL_MERKLE_HASH_BYTES],
                                 const uint8_t (*proof)[PL_MERKLE_HASH_BYTES], size_t n)
{
    uint8_t fr[HASH_BYTES], sr[HASH_BYTES];
    uint64_t fn, sn;
    size_t i;
    int fr_ok, sr_ok;
    int r = PL_E_INVALID_ARG;

    if (size1 == 0 || size1 > size2 || n > PL_MERKLE_MAX_PROOF || (n > 0 && !proof))
        goto out;
    r = PL_E_BAD_PROOF;
    /* Equal sizes are outside §2.1.4.2: SUBPROOF(m, D[m], true) is empty, and the roots are
     * of the same tree. */
    if (size1 == size2) {
        if (n == 0 && sodium_memcmp(root1, root2, HASH_BYTES) == 0)
            r = PL_OK;
        goto out;
    }
    /* 1. An empty consistency_path fails. */
    if (n == 0)
        goto out;
    /* 3.-4. */
    fn = size1 - 1;
    sn = size2 - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    /* 2. and 5.: when first is an exact power of 2, first_hash is prepended to the path, so
     * it is the path's first value; otherwise the path's own first value is. */
    if ((size1 & (size1 - 1)) == 0) {
        memcpy(fr, root1, HASH_BYTES);
        i = 0;
    } else {
        memcpy(fr, proof[0], HASH_BYTES);
        i = 1;
    }
    memcpy(sr, fr, HASH_BYTES);
    /* 6. */
    for (; i < n; i++) {
        if (sn == 0)
            goto out;
        if ((fn & 1) || fn == sn) {
            pl_merkle_node_hash(proof[i], fr, fr);
            pl_merkle_node_hash(proof[i], sr, sr);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            pl_merkle_node_hash(sr, proof[i], sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    /* 7. Both comparisons always run. */
    fr_ok = sodium_memcmp(fr, root1, HASH_BYTES) == 0;
    sr_ok = sodium_memcmp(sr, root2, HASH_BYTES) == 0;
    if (fr_ok & sr_ok & (sn == 0))
        r = PL_OK;
out:
    return r;
}
