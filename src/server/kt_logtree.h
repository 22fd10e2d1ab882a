/*
 * kt_logtree.h: the key-transparency log's RFC 9162 Merkle tree in memory, with proofs that
 * cost O(log² n) hash lookups instead of rehashing the whole tree (pl_merkle_*_proof do that,
 * which is fine for tests and far too slow for a log that grows by one entry a second).
 *
 * It keeps, for every level k, the hashes of the complete aligned subtrees of 2^k leaves
 * (level 0: the leaf hashes), about 2n hashes (64 bytes per entry) in all. Any subtree hash
 * the RFC's PATH and PROOF recursions ask for is one stored hash or the node hash of a
 * stored left part and a recursively computed right part. The proofs are RFC 9162 §2.1.3.1
 * and §2.1.4.1 exactly: the same bytes as pl_merkle_inclusion_proof and
 * pl_merkle_consistency_proof (tests/server/test_kt_logtree.c compares them).
 *
 * One thread at a time (parleyd: the store worker). No I/O.
 */
#ifndef PARLEYD_KT_LOGTREE_H
#define PARLEYD_KT_LOGTREE_H

#include <stddef.h>
#include <stdint.h>

#include "parley/merkle.h"

typedef struct pl_kt_logtree pl_kt_logtree;

/* Returns a new empty tree, or NULL when out of memory. */
pl_kt_logtree *pl_kt_logtree_new(void);

/* Frees t. Accepts NULL. */
void pl_kt_logtree_free(pl_kt_logtree *t);

/* The number of leaves. */
uint64_t pl_kt_logtree_size(const pl_kt_logtree *t);

/* Appends one leaf hash (pl_merkle_leaf_hash of the entry). Returns 0, or -1 when out of
 * memory (t is then unchanged). */
int pl_kt_logtree_append(pl_kt_logtree *t, const uint8_t leaf_hash[PL_MERKLE_HASH_BYTES]);

/* The root of the first `size` leaves (SHA-256("") for 0). Returns 0, or -1 when size is
 * larger than the tree. */
int pl_kt_logtree_root(const pl_kt_logtree *t, uint64_t size, uint8_t out[PL_MERKLE_HASH_BYTES]);

/* The leaf hash at index (< size of the tree) into out. Returns 0 or -1. */
int pl_kt_logtree_leaf(const pl_kt_logtree *t, uint64_t index, uint8_t out[PL_MERKLE_HASH_BYTES]);

/* The inclusion proof of leaf `index` in the tree of the first `size` leaves. Returns 0, or
 * -1 when index >= size or size is larger than the tree. */
int pl_kt_logtree_inclusion(const pl_kt_logtree *t, uint64_t index, uint64_t size,
                            uint8_t proof[PL_MERKLE_MAX_PROOF][PL_MERKLE_HASH_BYTES],
                            size_t *proof_len);

/* The consistency proof between the first size1 and size2 leaves (0 < size1 <= size2; empty
 * when they are equal). Returns 0, or -1 for sizes outside that range or the tree. */
int pl_kt_logtree_consistency(const pl_kt_logtree *t, uint64_t size1, uint64_t size2,
                              uint8_t proof[PL_MERKLE_MAX_PROOF][PL_MERKLE_HASH_BYTES],
                              size_t *proof_len);

#endif
