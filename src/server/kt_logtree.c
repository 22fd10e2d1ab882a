/*
 * kt_logtree.c: the log's Merkle tree with stored complete subtrees (kt_logtree.h).
 *
 * levels[k][i] = MTH(D[i·2^k : (i+1)·2^k]) for every complete aligned subtree. Appending
 * leaf n adds levels[0][n], then for k = 1, 2, ... while 2^k divides n + 1 the parent of the
 * last two nodes of level k - 1. MTH of any range [a, b) is then a stored hash when the
 * range is complete and aligned, else node(MTH(a, a + k), MTH(a + k, b)) with k the largest
 * power of two below b - a, as RFC 9162 §2.1.1 defines it; the RFC's recursions only ever
 * ask for ranges whose left part is aligned, so each call costs O(log n).
 */
#include "kt_logtree.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define LEVELS 64

typedef uint8_t hash_t[PL_MERKLE_HASH_BYTES];

struct pl_kt_logtree {
    uint64_t size;
    hash_t *levels[LEVELS];
    uint64_t cap[LEVELS];
};

pl_kt_logtree *pl_kt_logtree_new(void)
{
    return calloc(1, sizeof(pl_kt_logtree));
}

void pl_kt_logtree_free(pl_kt_logtree *t)
{
    if (!t)
        return;
    for (int k = 0; k < LEVELS; k++)
        free(t->levels[k]);
    free(t);
}

uint64_t pl_kt_logtree_size(const pl_kt_logtree *t)
{
    return t->size;
}

/* Makes room for one more node at level k, which holds `have` nodes. */
static int reserve(pl_kt_logtree *t, int k, uint64_t have)
{
    uint64_t cap;
    hash_t *p;

    if (have < t->cap[k])
        return 0;
    cap = t->cap[k] ? t->cap[k] * 2 : 64;
    if (cap > SIZE_MAX / sizeof(hash_t) || !(p = realloc(t->levels[k], cap * sizeof(hash_t))))
        return -1;
    t->levels[k] = p;
    t->cap[k] = cap;
    return 0;
}

int pl_kt_logtree_append(pl_kt_logtree *t, const uint8_t leaf_hash[PL_MERKLE_HASH_BYTES])
{
    uint64_t n = t->size + 1; /* leaves after the append */
    int k;

    /* Reserve every level first, so a failure leaves the tree as it was. */
    for (k = 0; k < LEVELS && (k == 0 || (n & ((UINT64_C(1) << k) - 1)) == 0); k++)
        if (reserve(t, k, n >> k ? (n >> k) - 1 : 0) != 0)
            return -1;
    memcpy(t->levels[0][t->size], leaf_hash, PL_MERKLE_HASH_BYTES);
    for (k = 1; k < LEVELS && (n & ((UINT64_C(1) << k) - 1)) == 0; k++) {
        uint64_t i = (n >> k) - 1;

        pl_merkle_node_hash(t->levels[k - 1][2 * i], t->levels[k - 1][2 * i + 1], t->levels[k][i]);
    }
    t->size = n;
    return 0;
}

/* The largest power of two below n (n >= 2). */
static uint64_t split(uint64_t n)
{
    uint64_t k = 1;

    while (k << 1 < n)
        k <<= 1;
    return k;
}

/* MTH(D[a : b]), 0 <= a < b <= size. */
static void mth(const pl_kt_logtree *t, uint64_t a, uint64_t b, uint8_t out[PL_MERKLE_HASH_BYTES])
{
    uint64_t n = b - a, k;
    uint8_t l[PL_MERKLE_HASH_BYTES], r[PL_MERKLE_HASH_BYTES];
    int level = 0;

    if ((n & (n - 1)) == 0 && a % n == 0) {
        while ((UINT64_C(1) << level) < n)
            level++;
        memcpy(out, t->levels[level][a >> level], PL_MERKLE_HASH_BYTES);
        return;
    }
    k = split(n);
    mth(t, a, a + k, l);
    mth(t, a + k, b, r);
    pl_merkle_node_hash(l, r, out);
}

int pl_kt_logtree_root(const pl_kt_logtree *t, uint64_t size, uint8_t out[PL_MERKLE_HASH_BYTES])
{
    if (size > t->size)
        return -1;
    if (size == 0) {
        crypto_hash_sha256(out, NULL, 0);
        return 0;
    }
    mth(t, 0, size, out);
    return 0;
}

int pl_kt_logtree_leaf(const pl_kt_logtree *t, uint64_t index, uint8_t out[PL_MERKLE_HASH_BYTES])
{
    if (index >= t->size)
        return -1;
    memcpy(out, t->levels[0][index], PL_MERKLE_HASH_BYTES);
    return 0;
}

/* PATH(m, D[a : b]) of RFC 9162 §2.1.3.1, appended to proof from the leaf up. */
static void path(const pl_kt_logtree *t, uint64_t m, uint64_t a, uint64_t b,
                 uint8_t proof[PL_MERKLE_MAX_PROOF][PL_MERKLE_HASH_BYTES], size_t *len)
{
    uint64_t n = b - a, k;

    if (n == 1)
        return;
    k = split(n);
    if (m < k) {
        path(t, m, a, a + k, proof, len);
        mth(t, a + k, b, proof[(*len)++]);
    } else {
        path(t, m - k, a + k, b, proof, len);
        mth(t, a, a + k, proof[(*len)++]);
    }
}

int pl_kt_logtree_inclusion(const pl_kt_logtree *t, uint64_t index, uint64_t size,
                            uint8_t proof[PL_MERKLE_MAX_PROOF][PL_MERKLE_HASH_BYTES],
                            size_t *proof_len)
{
    *proof_len = 0;
    if (size > t->size || index >= size)
        return -1;
    path(t, index, 0, size, proof, proof_len);
    return 0;
}

/* SUBPROOF(m, D[a : b], whole) of RFC 9162 §2.1.4.1. */
static void subproof(const pl_kt_logtree *t, uint64_t m, uint64_t a, uint64_t b, int whole,
                     uint8_t proof[PL_MERKLE_MAX_PROOF][PL_MERKLE_HASH_BYTES], size_t *len)
{
    uint64_t n = b - a, k;

    if (m == n) {
        if (!whole)
            mth(t, a, b, proof[(*len)++]);
        return;
    }
    k = split(n);
    if (m <= k) {
        subproof(t, m, a, a + k, whole, proof, len);
        mth(t, a + k, b, proof[(*len)++]);
    } else {
        subproof(t, m - k, a + k, b, 0, proof, len);
        mth(t, a, a + k, proof[(*len)++]);
    }
}

int pl_kt_logtree_consistency(const pl_kt_logtree *t, uint64_t size1, uint64_t size2,
                              uint8_t proof[PL_MERKLE_MAX_PROOF][PL_MERKLE_HASH_BYTES],
                              size_t *proof_len)
{
    *proof_len = 0;
    if (size1 == 0 || size1 > size2 || size2 > t->size)
        return -1;
    if (size1 == size2)
        return 0;
    subproof(t, size1, 0, size2, 1, proof, proof_len);
    return 0;
}
