/*
 * log_frontier.h: the right edge of an RFC 9162 log tree (docs/PROTOCOL.md §16), enough to
 * append leaf hashes and compute the root at the current size, in O(log n) memory.
 *
 * The tree over n leaves is left-balanced, so it is the concatenation of perfect subtrees
 * whose sizes are the set bits of n, largest (leftmost) first. The frontier keeps the root of
 * each of them; the tree's MTH folds them from the right:
 *     MTH(D[n]) = node(S_0, node(S_1, ... node(S_{k-2}, S_{k-1})))
 * which is RFC 9162 §2.1.1's recursion unrolled (the split point k of the RFC is always the
 * size of S_0). The auditor appends the leaf hash of every log entry it replays and compares
 * the root with the checkpoint's, without keeping the whole list of leaf hashes.
 *
 * Plain data, no allocation, no pointers: copy it to keep a state to fall back to.
 */
#ifndef PARLEY_AUDIT_LOG_FRONTIER_H
#define PARLEY_AUDIT_LOG_FRONTIER_H

#include <stdint.h>

#include "parley/merkle.h"

/* A u64 size has at most 64 set bits, one perfect subtree each. */
#define PL_AUDIT_FRONTIER_MAX 64u

typedef struct pl_audit_frontier {
    uint64_t size; /* leaves appended */
    /* subtree[i] is the root of the perfect subtree of the i-th set bit of size, counted from
     * the most significant one (the leftmost, largest subtree first). */
    uint8_t subtree[PL_AUDIT_FRONTIER_MAX][PL_MERKLE_HASH_BYTES];
    unsigned n_subtrees; /* = the number of set bits of size */
} pl_audit_frontier;

/* Writes the frontier of the empty tree. */
void pl_audit_frontier_init(pl_audit_frontier *f);

/* Appends one leaf hash (already SHA-256(0x00 || entry)). Returns PL_OK, or PL_E_TOO_LARGE
 * when the size would pass 2^63 (the largest log whose proofs fit PL_MERKLE_MAX_PROOF);
 * then *f is unchanged. */
int pl_audit_frontier_append(pl_audit_frontier *f, const uint8_t leaf_hash[PL_MERKLE_HASH_BYTES]);

/* Writes MTH of the leaves appended so far (SHA-256("") for none). */
void pl_audit_frontier_root(const pl_audit_frontier *f, uint8_t out[PL_MERKLE_HASH_BYTES]);

#endif
