/*
 * prefix_tree.c: the key-transparency prefix tree, its search proofs, their encoding and
 * their verification (parley/prefix_tree.h, docs/PROTOCOL.md §20).
 *
 *   leaf  = SHA-256(0x02 || vrf_out || commitment)
 *   node  = SHA-256(0x03 || left || right), missing child = 32 zero bytes
 *   root of the empty tree = 32 zero bytes
 *
 * The tree is a binary trie on the key bits, not path-compressed, with each leaf at the
 * shallowest depth where its prefix is unique. Every node keeps its hash, updated along the
 * path of each insert, so a proof is a walk that copies hashes.
 *
 * Proof encoding (§20.3), after draft-ietf-keytrans-protocol's PrefixSearchResult:
 *
 *   u8  result_type            1 inclusion, 2 nonInclusionLeaf, 3 nonInclusionParent
 *   select (result_type)
 *     inclusion:        commitment[32]
 *     nonInclusionLeaf: vrf_out[32] commitment[32]
 *   u16 depth                  0..256, the depth of the terminal position
 *   u16 count                  == depth
 *   hash elements[count]       the copath, in the draft's left-to-right order
 *
 * Left-to-right order of one path: at depth i the path goes to child bit b_i and the
 * sibling at depth i + 1 is on the other side. A sibling on the left (b_i = 1) comes before
 * everything deeper, one on the right (b_i = 0) after it; so the elements are the left
 * siblings from the root down, then the right siblings from the bottom up.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "parley/error.h"
#include "parley/prefix_tree.h"

#define HB PL_PREFIX_HASH_BYTES
#define KB PL_PREFIX_KEY_BYTES
#define MAX_DEPTH PL_PREFIX_MAX_DEPTH

typedef struct node {
    struct node *child[2]; /* both NULL for a leaf; at least one set for an interior node */
    uint8_t hash[HB];
    uint8_t key[KB]; /* leaves only */
    uint8_t commitment[HB];
    int is_leaf;
} node;

struct pl_prefix_tree {
    node *root;
    uint64_t leaves;
};

static const uint8_t zero_hash[HB];

/* Bit i of key, most significant bit of byte 0 first. */
static unsigned key_bit(const uint8_t key[KB], unsigned i)
{
    return (key[i >> 3] >> (7u - (i & 7u))) & 1u;
}

static void leaf_hash(const uint8_t key[KB], const uint8_t commitment[HB], uint8_t out[HB])
{
    static const uint8_t prefix = 0x02;
    crypto_hash_sha256_state st;

    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, &prefix, 1);
    crypto_hash_sha256_update(&st, key, KB);
    crypto_hash_sha256_update(&st, commitment, HB);
    crypto_hash_sha256_final(&st, out);
}

/* out may alias left or right: both are absorbed before out is written. */
static void node_hash(const uint8_t left[HB], const uint8_t right[HB], uint8_t out[HB])
{
    static const uint8_t prefix = 0x03;
    crypto_hash_sha256_state st;

    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, &prefix, 1);
    crypto_hash_sha256_update(&st, left, HB);
    crypto_hash_sha256_update(&st, right, HB);
    crypto_hash_sha256_final(&st, out);
}

static const uint8_t *hash_of(const node *n)
{
    return n ? n->hash : zero_hash;
}

static void rehash(node *n)
{
    node_hash(hash_of(n->child[0]), hash_of(n->child[1]), n->hash);
}

static void free_node(node *n)
{
    if (n == NULL)
        return;
    /* Recursion is bounded by the depth, at most 257 frames. */
    free_node(n->child[0]);
    free_node(n->child[1]);
    sodium_memzero(n, sizeof *n);
    free(n);
}

int pl_prefix_tree_new(pl_prefix_tree **out)
{
    pl_prefix_tree *t;

    *out = NULL;
    if (!(t = calloc(1, sizeof *t)))
        return PL_E_NOMEM;
    *out = t;
    return PL_OK;
}

void pl_prefix_tree_free(pl_prefix_tree *t)
{
    if (t == NULL)
        return;
    free_node(t->root);
    sodium_memzero(t, sizeof *t);
    free(t);
}

uint64_t pl_prefix_tree_size(const pl_prefix_tree *t)
{
    return t->leaves;
}

void pl_prefix_tree_root(const pl_prefix_tree *t, uint8_t out[PL_PREFIX_HASH_BYTES])
{
    memcpy(out, hash_of(t->root), HB);
}

/* The index of the first bit where a and b differ, or MAX_DEPTH if they are equal. */
static unsigned first_difference(const uint8_t a[KB], const uint8_t b[KB])
{
    unsigned i;

    for (i = 0; i < MAX_DEPTH; i++)
        if (key_bit(a, i) != key_bit(b, i))
            break;
    return i;
}

int pl_prefix_tree_insert(pl_prefix_tree *t, const uint8_t vrf_out[PL_PREFIX_KEY_BYTES],
                          const uint8_t commitment[PL_PREFIX_HASH_BYTES])
{
    /* path[0..depth) are the interior nodes above the new leaf's slot; fresh[] the nodes
     * this insert allocates (the leaf, then up to 256 interior nodes for a split). */
    node *path[MAX_DEPTH];
    node *fresh[MAX_DEPTH + 1] = {NULL};
    node **slot = &t->root;
    node *old = NULL, *leaf;
    unsigned depth = 0, split = 0, n_fresh, i;
    int r;

    while (*slot != NULL && !(*slot)->is_leaf) {
        path[depth] = *slot;
        slot = &(*slot)->child[key_bit(vrf_out, depth)];
        depth++; /* < MAX_DEPTH: an interior node at depth 255 has only leaf children */
    }
    r = PL_E_TOO_LARGE;
    if (t->leaves >= PL_PREFIX_TREE_MAX_LEAVES)
        goto out;
    n_fresh = 1;
    if (*slot != NULL) {
        old = *slot;
        r = PL_E_INVALID_ARG;
        if (sodium_memcmp(old->key, vrf_out, KB) == 0)
            goto out;
        /* The two keys share bits [0, split): interior nodes at depths depth..split, both
         * leaves at depth split + 1. split >= depth, since both keys reached this slot. */
        split = first_difference(old->key, vrf_out);
        n_fresh += split - depth + 1;
    }
    /* Allocate everything first, so that a failure leaves the tree as it was. */
    r = PL_E_NOMEM;
    if (!(leaf = calloc(1, sizeof *leaf)))
        goto out;
    fresh[0] = leaf;
    for (i = 1; i < n_fresh; i++)
        if (!(fresh[i] = calloc(1, sizeof *fresh[i])))
            goto out;

    leaf->is_leaf = 1;
    memcpy(leaf->key, vrf_out, KB);
    memcpy(leaf->commitment, commitment, HB);
    leaf_hash(vrf_out, commitment, leaf->hash);
    if (old == NULL) {
        *slot = leaf;
    } else {
        /* fresh[1 + k] is the interior node at depth depth + k; the deepest one parents
         * both leaves, the others chain down along the shared prefix. Hash bottom-up. */
        for (i = n_fresh - 1; i >= 1; i--) {
            node *n = fresh[i];
            unsigned d = depth + i - 1;

            if (d == split) {
                n->child[key_bit(vrf_out, d)] = leaf;
                n->child[key_bit(old->key, d)] = old;
            } else {
                n->child[key_bit(vrf_out, d)] = fresh[i + 1];
            }
            rehash(n);
        }
        *slot = fresh[1];
    }
    while (depth > 0)
        rehash(path[--depth]);
    t->leaves++;
    memset(fresh, 0, sizeof fresh); /* handed over to the tree */
    r = PL_OK;
out:
    for (i = 0; i <= MAX_DEPTH; i++)
        free(fresh[i]);
    return r;
}

/* Orders siblings[0..depth) (sibling i is the one at depth i + 1) into the wire order. */
static void to_wire_order(const uint8_t key[KB], unsigned depth, const uint8_t (*siblings)[HB],
                          uint8_t (*elements)[HB])
{
    unsigned k = 0, i;

    for (i = 0; i < depth; i++)
        if (key_bit(key, i) == 1)
            memcpy(elements[k++], siblings[i], HB);
    for (i = depth; i-- > 0;)
        if (key_bit(key, i) == 0)
            memcpy(elements[k++], siblings[i], HB);
}

int pl_prefix_tree_prove(const pl_prefix_tree *t, const uint8_t vrf_out[PL_PREFIX_KEY_BYTES],
                         pl_prefix_proof *proof)
{
    uint8_t siblings[MAX_DEPTH][HB];
    const node *n = t->root;
    unsigned depth = 0;
    unsigned b;

    memset(proof, 0, sizeof *proof);
    while (n != NULL && !n->is_leaf) {
        b = key_bit(vrf_out, depth);
        memcpy(siblings[depth], hash_of(n->child[b ^ 1u]), HB);
        n = n->child[b];
        depth++;
    }
    if (n == NULL) {
        proof->result_type = PL_PREFIX_NONINCLUSION_PARENT;
    } else if (sodium_memcmp(n->key, vrf_out, KB) == 0) {
        proof->result_type = PL_PREFIX_INCLUSION;
        memcpy(proof->leaf_commitment, n->commitment, HB);
    } else {
        proof->result_type = PL_PREFIX_NONINCLUSION_LEAF;
        memcpy(proof->leaf_key, n->key, KB);
        memcpy(proof->leaf_commitment, n->commitment, HB);
    }
    proof->depth = (uint16_t)depth;
    to_wire_order(vrf_out, depth, (const uint8_t(*)[HB])siblings, proof->elements);
    return PL_OK;
}

int pl_prefix_proof_encode(const pl_prefix_proof *proof, uint8_t *out, size_t cap, size_t *out_len)
{
    pl__writer w = pl__writer_init(out, cap);

    *out_len = 0;
    if (proof->depth > MAX_DEPTH || proof->result_type < PL_PREFIX_INCLUSION ||
        proof->result_type > PL_PREFIX_NONINCLUSION_PARENT)
        return PL_E_INVALID_ARG;
    pl__put_u8(&w, proof->result_type);
    if (proof->result_type == PL_PREFIX_NONINCLUSION_LEAF)
        pl__put_bytes(&w, proof->leaf_key, KB);
    if (proof->result_type != PL_PREFIX_NONINCLUSION_PARENT)
        pl__put_bytes(&w, proof->leaf_commitment, HB);
    pl__put_u16(&w, proof->depth);
    pl__put_u16(&w, proof->depth);
    pl__put_bytes(&w, proof->elements, (size_t)proof->depth * HB);
    if (w.err)
        return w.err;
    *out_len = w.off;
    return PL_OK;
}

int pl_prefix_proof_decode(pl_prefix_proof *proof, const uint8_t *in, size_t len)
{
    pl__reader rd = pl__reader_init(in, len);
    uint16_t count;
    int r;

    memset(proof, 0, sizeof *proof);
    proof->result_type = pl__get_u8(&rd);
    r = PL_E_MALFORMED;
    if (!rd.err && (proof->result_type < PL_PREFIX_INCLUSION ||
                    proof->result_type > PL_PREFIX_NONINCLUSION_PARENT))
        goto out;
    if (proof->result_type == PL_PREFIX_NONINCLUSION_LEAF)
        pl__get_copy(&rd, proof->leaf_key, KB);
    if (proof->result_type != PL_PREFIX_NONINCLUSION_PARENT)
        pl__get_copy(&rd, proof->leaf_commitment, HB);
    proof->depth = pl__get_u16(&rd);
    count = pl__get_u16(&rd);
    /* Cheap checks before reading the hashes, so a huge count fails as malformed. */
    if (!rd.err && (proof->depth > MAX_DEPTH || count != proof->depth))
        goto out;
    pl__get_copy(&rd, proof->elements, (size_t)count * HB);
    r = pl__reader_finish(&rd);
out:
    if (r != PL_OK)
        memset(proof, 0, sizeof *proof);
    return r;
}

int pl_prefix_proof_evaluate(const pl_prefix_proof *proof,
                             const uint8_t vrf_out[PL_PREFIX_KEY_BYTES],
                             uint8_t root[PL_PREFIX_HASH_BYTES], int *found,
                             uint8_t commitment[PL_PREFIX_HASH_BYTES])
{
    uint8_t siblings[MAX_DEPTH][HB];
    uint8_t h[HB];
    unsigned depth = proof->depth;
    unsigned k = 0, i;
    int r = PL_E_BAD_PROOF;

    memset(root, 0, HB);
    memset(commitment, 0, HB);
    *found = 0;
    if (depth > MAX_DEPTH)
        goto out;
    /* The terminal value at depth `depth` on vrf_out's path. */
    switch (proof->result_type) {
    case PL_PREFIX_INCLUSION:
        leaf_hash(vrf_out, proof->leaf_commitment, h);
        break;
    case PL_PREFIX_NONINCLUSION_LEAF:
        /* Another key's leaf, at a position on vrf_out's path: they share `depth` bits. */
        if (first_difference(proof->leaf_key, vrf_out) < depth ||
            sodium_memcmp(proof->leaf_key, vrf_out, KB) == 0)
            goto out;
        leaf_hash(proof->leaf_key, proof->leaf_commitment, h);
        break;
    case PL_PREFIX_NONINCLUSION_PARENT:
        memset(h, 0, HB);
        break;
    default:
        goto out;
    }
    /* Undo the wire order (see the top of this file). */
    for (i = 0; i < depth; i++)
        if (key_bit(vrf_out, i) == 1)
            memcpy(siblings[i], proof->elements[k++], HB);
    for (i = depth; i-- > 0;)
        if (key_bit(vrf_out, i) == 0)
            memcpy(siblings[i], proof->elements[k++], HB);
    /* A terminal position below the root always has a non-empty sibling: a leaf sits where
     * its prefix first becomes unique, and an interior node has a child. */
    if (depth > 0 && sodium_is_zero(siblings[depth - 1], HB))
        goto out;
    for (i = depth; i-- > 0;) {
        if (key_bit(vrf_out, i) == 0)
            node_hash(h, siblings[i], h);
        else
            node_hash(siblings[i], h, h);
    }
    memcpy(root, h, HB);
    if (proof->result_type == PL_PREFIX_INCLUSION) {
        *found = 1;
        memcpy(commitment, proof->leaf_commitment, HB);
    }
    r = PL_OK;
out:
    return r;
}

int pl_prefix_proof_verify(const uint8_t vrf_out[PL_PREFIX_KEY_BYTES], const uint8_t *in,
                           size_t len, const uint8_t root[PL_PREFIX_HASH_BYTES], int *found,
                           uint8_t commitment[PL_PREFIX_HASH_BYTES])
{
    pl_prefix_proof proof;
    uint8_t got[HB];
    int r;

    *found = 0;
    memset(commitment, 0, HB);
    if ((r = pl_prefix_proof_decode(&proof, in, len)) != PL_OK)
        goto out;
    if ((r = pl_prefix_proof_evaluate(&proof, vrf_out, got, found, commitment)) != PL_OK)
        goto out;
    r = PL_E_BAD_PROOF;
    if (crypto_verify_32(got, root) != 0)
        goto out;
    r = PL_OK;
out:
    if (r != PL_OK) {
        *found = 0;
        memset(commitment, 0, HB);
    }
    return r;
}
