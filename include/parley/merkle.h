/*
 * parley/merkle.h: RFC 9162 Merkle trees, the log tree of key transparency (PROTOCOL.md §16).
 *
 * Hashing is RFC 9162 §2.1.1: the leaf hash of an entry is SHA-256(0x00 || entry), an
 * interior node is SHA-256(0x01 || left || right), and the Merkle Tree Hash (MTH) of n > 1
 * leaves splits them at k, the largest power of two below n, so the tree is left-balanced.
 * MTH of no leaves is SHA-256 of the empty string.
 *
 * A log server generates inclusion proofs (§2.1.3.1) and consistency proofs (§2.1.4.1)
 * from its leaf hashes; clients, witnesses and auditors verify them with the algorithms of
 * §2.1.3.2 and §2.1.4.2, implemented step by step. Proofs are arrays of 32-byte hashes,
 * ordered as the RFC orders them (from the leaf, or the old tree, towards the root).
 *
 * Every function here is pure: no allocation, no state; sizes and indexes are 64-bit.
 */
#ifndef PARLEY_MERKLE_H
#define PARLEY_MERKLE_H

#include "parley/defs.h"

#define PL_MERKLE_HASH_BYTES 32u
/* Longest proof accepted or produced. An inclusion proof has at most ceil(log2(size)) <= 64
 * hashes; a consistency proof at most ceil(log2(size2)) + 1, which fits for size2 <= 2^63. */
#define PL_MERKLE_MAX_PROOF 64u

/* Writes the leaf hash SHA-256(0x00 || entry[0..len)). entry may be NULL when len is 0. */
PL_API void pl_merkle_leaf_hash(const uint8_t *entry, size_t len,
                                uint8_t out[PL_MERKLE_HASH_BYTES]);

/* Writes the interior node hash SHA-256(0x01 || left || right). out may alias either input. */
PL_API void pl_merkle_node_hash(const uint8_t left[PL_MERKLE_HASH_BYTES],
                                const uint8_t right[PL_MERKLE_HASH_BYTES],
                                uint8_t out[PL_MERKLE_HASH_BYTES]);

/*
 * Writes MTH(D[0:n]) of the n leaf hashes at leaf_hashes (borrowed, read only); n may be 0,
 * and leaf_hashes may then be NULL. Costs n - 1 node hashes and no allocation.
 * Returns PL_OK, or PL_E_INVALID_ARG (leaf_hashes NULL with n > 0, or n larger than any
 * array can be), with out zeroed.
 */
PL_API PL_NODISCARD int pl_merkle_root(const uint8_t (*leaf_hashes)[PL_MERKLE_HASH_BYTES],
                                       uint64_t n, uint8_t out[PL_MERKLE_HASH_BYTES]);

/*
 * Writes PATH(index, D[0:size]), the inclusion proof of leaf `index` in the tree of the first
 * `size` leaf hashes at leaf_hashes (borrowed), into proof[0..*proof_len). The caller owns
 * proof. Costs about size node hashes (every sibling subtree is hashed from its leaves) and
 * no allocation; a server with a large log should keep its interior nodes instead.
 * Returns PL_OK, or PL_E_INVALID_ARG (index >= size, leaf_hashes NULL, size larger than any
 * array can be) with *proof_len 0 and proof zeroed.
 */
PL_API PL_NODISCARD int
pl_merkle_inclusion_proof(const uint8_t (*leaf_hashes)[PL_MERKLE_HASH_BYTES], uint64_t size,
                          uint64_t index, uint8_t proof[PL_MERKLE_MAX_PROOF][PL_MERKLE_HASH_BYTES],
                          size_t *proof_len);

/*
 * Writes PROOF(size1, D[0:size2]), the consistency proof between the trees of the first size1
 * and the first size2 leaf hashes at leaf_hashes (borrowed), into proof[0..*proof_len).
 * The caller owns proof. size1 == size2 gives the empty proof. Costs about size2 node hashes
 * and no allocation.
 * Returns PL_OK, or PL_E_INVALID_ARG (size1 == 0, for which RFC 9162 defines no proof;
 * size1 > size2; leaf_hashes NULL; a proof longer than PL_MERKLE_MAX_PROOF, possible only
 * for size2 > 2^63) with *proof_len 0 and proof zeroed.
 */
PL_API PL_NODISCARD int pl_merkle_consistency_proof(
    const uint8_t (*leaf_hashes)[PL_MERKLE_HASH_BYTES], uint64_t size1, uint64_t size2,
    uint8_t proof[PL_MERKLE_MAX_PROOF][PL_MERKLE_HASH_BYTES], size_t *proof_len);

/*
 * Verifies that leaf_hash is leaf `index` of the tree of `size` leaves whose MTH is root,
 * given the n hashes of its inclusion proof (RFC 9162 §2.1.3.2). All inputs are borrowed;
 * proof may be NULL when n is 0. The final comparison with root is constant-time.
 * Returns PL_OK, PL_E_BAD_PROOF, or PL_E_INVALID_ARG (index >= size, n > PL_MERKLE_MAX_PROOF,
 * proof NULL with n > 0).
 */
PL_API PL_NODISCARD int pl_merkle_verify_inclusion(uint64_t index, uint64_t size,
                                                   const uint8_t leaf_hash[PL_MERKLE_HASH_BYTES],
                                                   const uint8_t (*proof)[PL_MERKLE_HASH_BYTES],
                                                   size_t n,
                                                   const uint8_t root[PL_MERKLE_HASH_BYTES]);

/*
 * Verifies that the tree of size2 leaves with MTH root2 extends the tree of size1 leaves with
 * MTH root1, given the n hashes of a consistency proof (RFC 9162 §2.1.4.2). When
 * size1 == size2 the proof must be empty and the roots equal. All inputs are borrowed; proof
 * may be NULL when n is 0. The final comparisons with the roots are constant-time.
 * Returns PL_OK, PL_E_BAD_PROOF, or PL_E_INVALID_ARG (size1 == 0: any tree extends the empty
 * one and there is nothing to verify; size1 > size2; n > PL_MERKLE_MAX_PROOF; proof NULL with
 * n > 0).
 */
PL_API PL_NODISCARD int pl_merkle_verify_consistency(uint64_t size1, uint64_t size2,
                                                     const uint8_t root1[PL_MERKLE_HASH_BYTES],
                                                     const uint8_t root2[PL_MERKLE_HASH_BYTES],
                                                     const uint8_t (*proof)[PL_MERKLE_HASH_BYTES],
                                                     size_t n);

#endif
