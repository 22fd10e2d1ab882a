/*
 * parley/prefix_tree.h: the prefix tree of key transparency, keyed by 32-byte VRF outputs,
 * whose root goes into every log entry (PROTOCOL.md §20).
 *
 * Hashing (SHA-256, PROTOCOL.md §20.1):
 *   leaf  = SHA-256(0x02 || vrf_out[32] || commitment[32])
 *   node  = SHA-256(0x03 || left[32] || right[32]), a missing child counting as 32 zero bytes
 *   empty tree: its root is 32 zero bytes (the value of a missing node)
 *
 * Shape: a binary trie on the bits of vrf_out, most significant bit of byte 0 first (bit 0
 * picks the root's child: 0 left, 1 right). It is not path-compressed: every node on the way
 * down is hashed, even when it has one child. Each leaf sits at the shallowest depth where
 * its prefix is unique, so
 *   - a tree of one leaf is that leaf (depth 0: root = leaf hash);
 *   - otherwise a leaf whose longest common prefix with any other key is c bits sits at
 *     depth c + 1, below c + 1 interior nodes; two keys differing only in the last bit give
 *     depth 256, the maximum.
 * The shape, and so the root, depends only on the set of (vrf_out, commitment) pairs, not on
 * the order of insertion.
 *
 * Proofs (PROTOCOL.md §20.3) are single-key PrefixSearchResults of draft-ietf-keytrans-protocol
 * ("Tree Proofs", "Prefix Tree"): the terminal node of the search (inclusion,
 * nonInclusionLeaf, nonInclusionParent), its depth, and the copath hashes in the draft's
 * left-to-right order. They are built by a server, sent over the network, and decoded and
 * verified by clients and auditors as hostile input.
 */
#ifndef PARLEY_PREFIX_TREE_H
#define PARLEY_PREFIX_TREE_H

#include "parley/defs.h"

#define PL_PREFIX_KEY_BYTES 32u
#define PL_PREFIX_HASH_BYTES 32u
/* Deepest terminal node: two keys that differ only in their last bit. */
#define PL_PREFIX_MAX_DEPTH 256u
/* Most leaves an in-memory tree holds. Keys are VRF outputs, so an honest tree of n leaves
 * is about log2(n) + 2 deep and holds about 2n nodes. */
#define PL_PREFIX_TREE_MAX_LEAVES (UINT32_C(1) << 24)

/* result_type of a proof (draft-ietf-keytrans-protocol PrefixSearchResultType). */
#define PL_PREFIX_INCLUSION 1u           /* the terminal node is the key's leaf */
#define PL_PREFIX_NONINCLUSION_LEAF 2u   /* the terminal node is the leaf of another key */
#define PL_PREFIX_NONINCLUSION_PARENT 3u /* the terminal position is an empty child */

/* Longest encoding: type, leaf (vrf_out, commitment), depth, count, 256 hashes. */
#define PL_PREFIX_PROOF_MAX_BYTES (1u + 64u + 2u + 2u + PL_PREFIX_MAX_DEPTH * 32u)

/* A decoded proof: plain public data. elements[0..depth) are in wire (left-to-right) order. */
typedef struct pl_prefix_proof {
    uint8_t result_type;
    uint16_t depth;
    /* inclusion: the key's commitment in leaf_commitment, leaf_key unused (zero);
     * nonInclusionLeaf: the leaf found instead; nonInclusionParent: both zero. */
    uint8_t leaf_key[PL_PREFIX_KEY_BYTES];
    uint8_t leaf_commitment[PL_PREFIX_HASH_BYTES];
    uint8_t elements[PL_PREFIX_MAX_DEPTH][PL_PREFIX_HASH_BYTES];
} pl_prefix_proof;

/* An in-memory prefix tree, for servers, auditors and tests. Not thread-safe. */
typedef struct pl_prefix_tree pl_prefix_tree;

/*
 * Creates an empty tree in *out (set to NULL first); the caller frees it with
 * pl_prefix_tree_free(). Returns PL_OK or PL_E_NOMEM.
 */
PL_API PL_NODISCARD int pl_prefix_tree_new(pl_prefix_tree **out);

/* Frees t and every node (wiped first). Accepts NULL. */
PL_API void pl_prefix_tree_free(pl_prefix_tree *t);

/* The number of leaves in t. */
PL_API uint64_t pl_prefix_tree_size(const pl_prefix_tree *t);

/*
 * Adds the leaf (vrf_out, commitment), both borrowed, and updates the hashes on its path.
 * A key is added once: the log commits to a label-version once, so a second insert of the
 * same vrf_out is a caller bug. Returns PL_OK, PL_E_INVALID_ARG (vrf_out already present),
 * PL_E_TOO_LARGE (the tree holds PL_PREFIX_TREE_MAX_LEAVES leaves) or PL_E_NOMEM; on any
 * error the tree is unchanged.
 */
PL_API PL_NODISCARD int pl_prefix_tree_insert(pl_prefix_tree *t,
                                              const uint8_t vrf_out[PL_PREFIX_KEY_BYTES],
                                              const uint8_t commitment[PL_PREFIX_HASH_BYTES]);

/* Writes the root hash of t (32 zero bytes for the empty tree). */
PL_API void pl_prefix_tree_root(const pl_prefix_tree *t, uint8_t out[PL_PREFIX_HASH_BYTES]);

/*
 * Writes into *proof (caller-owned) the search proof for vrf_out: inclusion if the key is in
 * t, else nonInclusionLeaf or nonInclusionParent. Costs no hashing (node hashes are kept).
 * Returns PL_OK; t is not changed.
 */
PL_API PL_NODISCARD int pl_prefix_tree_prove(const pl_prefix_tree *t,
                                             const uint8_t vrf_out[PL_PREFIX_KEY_BYTES],
                                             pl_prefix_proof *proof);

/*
 * Writes the canonical encoding of proof into out[0..cap) and its length into *out_len
 * (PROTOCOL.md §20.3; at most PL_PREFIX_PROOF_MAX_BYTES). Returns PL_OK,
 * PL_E_BUFFER_TOO_SMALL, or PL_E_INVALID_ARG (a result_type or depth no decoder accepts);
 * on error *out_len is 0.
 */
PL_API PL_NODISCARD int pl_prefix_proof_encode(const pl_prefix_proof *proof, uint8_t *out,
                                               size_t cap, size_t *out_len);

/*
 * Decodes in[0..len) (hostile) into *proof (caller-owned; zeroed first and on error).
 * Returns PL_OK, PL_E_TRUNCATED (the input ends early) or PL_E_MALFORMED (unknown
 * result_type, depth > 256, element count != depth, trailing bytes).
 */
PL_API PL_NODISCARD int pl_prefix_proof_decode(pl_prefix_proof *proof, const uint8_t *in,
                                               size_t len);

/*
 * Evaluates a decoded proof for vrf_out to the root it implies (for proofs whose root is not
 * known yet, as when rebuilding log entries). *found is 1 for an inclusion proof, 0 for a
 * proof of absence; commitment receives the key's commitment when found, else zeros.
 * Returns PL_OK, or PL_E_BAD_PROOF (a nonInclusionLeaf whose leaf is vrf_out itself or lies
 * off vrf_out's path, a depth >= 1 whose deepest sibling is empty, which no tree of this
 * shape has, or a bad result_type or depth), with root, *found and commitment zeroed.
 */
PL_API PL_NODISCARD int pl_prefix_proof_evaluate(const pl_prefix_proof *proof,
                                                 const uint8_t vrf_out[PL_PREFIX_KEY_BYTES],
                                                 uint8_t root[PL_PREFIX_HASH_BYTES], int *found,
                                                 uint8_t commitment[PL_PREFIX_HASH_BYTES]);

/*
 * Decodes and verifies the encoded proof in[0..len) (hostile) for vrf_out against root (the
 * final comparison is constant-time). On PL_OK, *found is 1 and commitment holds the key's
 * commitment, or *found is 0 (vrf_out is absent from the tree with that root) and commitment
 * is zero. Returns PL_OK, PL_E_TRUNCATED, PL_E_MALFORMED (as pl_prefix_proof_decode()) or
 * PL_E_BAD_PROOF (as pl_prefix_proof_evaluate(), or another root); on error *found is 0 and
 * commitment is zeroed.
 */
PL_API PL_NODISCARD int pl_prefix_proof_verify(const uint8_t vrf_out[PL_PREFIX_KEY_BYTES],
                                               const uint8_t *in, size_t len,
                                               const uint8_t root[PL_PREFIX_HASH_BYTES], int *found,
                                               uint8_t commitment[PL_PREFIX_HASH_BYTES]);

#endif
