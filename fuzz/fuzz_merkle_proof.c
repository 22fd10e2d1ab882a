/*
 * fuzz_merkle_proof.c: pl_merkle_verify_inclusion() and pl_merkle_verify_consistency() on
 * hostile sizes, hashes and proofs (parley/merkle.h).
 *
 * Input: flags[1] || a[8] || b[8] (big-endian) || h1[32] || h2[32] || proof hashes[32 each]
 * (a trailing partial hash is ignored). Inclusion reads (index a, size b, leaf h1, root h2);
 * consistency reads (size1 a, size2 b, root1 h1, root2 h2). Flag bit 0 takes a and b modulo
 * 1024, so that small trees, where proofs can match, are common; flag bit 1 replaces the roots
 * with those the proof's shape implies, so that the accepting path is reached.
 *
 * Invariants: no crash; only PL_OK, PL_E_BAD_PROOF and PL_E_INVALID_ARG, the last exactly for
 * the impossible arguments documented in merkle.h; and the verifiers accept exactly when an
 * independent reconstruction below (which follows the shape of the RFC's recursive PATH and
 * SUBPROOF, not the §2.1.3.2 / §2.1.4.2 bit walks) uses every proof hash and recomputes the
 * given roots.
 */
#include <string.h>

#include "fuzz.h"

#define HB PL_MERKLE_HASH_BYTES
#define MAX_STEPS 70

static uint64_t be64(const uint8_t p[8])
{
    return (uint64_t)fz_be32(p) << 32 | fz_be32(p + 4);
}

static uint64_t split(uint64_t n)
{
    uint64_t k = 1;

    while (k < n - k)
        k <<= 1;
    return k;
}

/* Inclusion: walks from the root of `size` to leaf `index`, then folds the proof from the
 * leaf up. Returns 0 if the proof has the wrong number of hashes. */
static int inclusion_root(uint64_t index, uint64_t size, const uint8_t leaf[HB],
                          const uint8_t (*proof)[HB], size_t n, uint8_t out[HB])
{
    int went_right[MAX_STEPS];
    size_t steps = 0;
    uint64_t k;

    while (size > 1) {
        k = split(size);
        went_right[steps++] = index >= k;
        if (index >= k) {
            index -= k;
            size -= k;
        } else {
            size = k;
        }
    }
    if (steps != n)
        return 0;
    memcpy(out, leaf, HB);
    for (size_t i = 0; i < n; i++) {
        /* proof[i] is the sibling at depth steps - 1 - i */
        if (went_right[steps - 1 - i])
            pl_merkle_node_hash(proof[i], out, out);
        else
            pl_merkle_node_hash(out, proof[i], out);
    }
    return 1;
}

/* Consistency, m < n: walks SUBPROOF's recursion from the root of n down to the node where
 * the old tree ends, then folds up: every sibling goes into the new root, only the left ones
 * (wholly inside the old tree) into the old root. When that node is the old root itself
 * (power-of-two m on the left edge) the proof does not carry it: root1 is used. */
static int consistency_roots(uint64_t m, uint64_t n, const uint8_t root1[HB],
                             const uint8_t (*proof)[HB], size_t len, uint8_t out1[HB],
                             uint8_t out2[HB])
{
    int went_right[MAX_STEPS];
    size_t steps = 0, at;
    int b = 1;
    uint64_t k;

    while (m != n) {
        k = split(n);
        went_right[steps++] = m > k;
        if (m > k) {
            m -= k;
            n -= k;
            b = 0;
        } else {
            n = k;
        }
    }
    if (len != steps + (b ? 0 : 1))
        return 0;
    at = 0;
    memcpy(out1, b ? root1 : proof[at++], HB);
    memcpy(out2, out1, HB);
    for (size_t i = 0; i < steps; i++, at++) {
        if (went_right[steps - 1 - i]) {
            pl_merkle_node_hash(proof[at], out1, out1);
            pl_merkle_node_hash(proof[at], out2, out2);
        } else {
            pl_merkle_node_hash(out2, proof[at], out2);
        }
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t h1[HB], h2[HB], want1[HB], want2[HB];
    const uint8_t(*proof)[HB];
    uint8_t *copy;
    uint64_t a, b;
    size_t n;
    int rc, fits;

    if (size < 1 + 16 + 2 * HB)
        return 0;
    a = be64(data + 1);
    b = be64(data + 9);
    if (data[0] & 1) {
        a %= 1024;
        b %= 1024;
    }
    memcpy(h1, data + 17, HB);
    memcpy(h2, data + 17 + HB, HB);
    n = (size - 17 - 2 * HB) / HB;
    /* An exact-size copy, so that ASan sees a read past the n hashes. */
    copy = fz_alloc(n * HB);
    if (n)
        memcpy(copy, data + 17 + 2 * HB, n * HB);
    proof = (const uint8_t(*)[HB])copy;

    /* Inclusion of leaf h1 at index a in a tree of size b with root h2. */
    fits = 0;
    if (a < b && n <= PL_MERKLE_MAX_PROOF) {
        fits = inclusion_root(a, b, h1, proof, n, want2);
        if (fits && (data[0] & 2))
            memcpy(h2, want2, HB);
    }
    rc = pl_merkle_verify_inclusion(a, b, h1, n ? proof : NULL, n, h2);
    FZ_CHECK_RC(rc);
    FZ_CHECK(rc == PL_OK || rc == PL_E_BAD_PROOF || rc == PL_E_INVALID_ARG);
    FZ_CHECK((rc == PL_E_INVALID_ARG) == (a >= b || n > PL_MERKLE_MAX_PROOF));
    FZ_CHECK((rc == PL_OK) == (fits && memcmp(want2, h2, HB) == 0));

    /* Consistency of the tree of size a and root h1 with the tree of size b and root h2. */
    memcpy(h2, data + 17 + HB, HB);
    fits = 0;
    if (a != 0 && a < b && n <= PL_MERKLE_MAX_PROOF) {
        fits = consistency_roots(a, b, h1, proof, n, want1, want2);
        if (fits && (data[0] & 2)) {
            memcpy(h1, want1, HB);
            memcpy(h2, want2, HB);
        }
    } else if (a != 0 && a == b && n == 0) {
        /* the same tree: root2 must be root1 */
        fits = 1;
        memcpy(want1, h1, HB);
        memcpy(want2, h1, HB);
        if (data[0] & 2)
            memcpy(h2, h1, HB);
    }
    rc = pl_merkle_verify_consistency(a, b, h1, h2, n ? proof : NULL, n);
    FZ_CHECK_RC(rc);
    FZ_CHECK(rc == PL_OK || rc == PL_E_BAD_PROOF || rc == PL_E_INVALID_ARG);
    FZ_CHECK((rc == PL_E_INVALID_ARG) == (a == 0 || a > b || n > PL_MERKLE_MAX_PROOF));
    FZ_CHECK((rc == PL_OK) == (fits && memcmp(want1, h1, HB) == 0 && memcmp(want2, h2, HB) == 0));
    free(copy);
    return 0;
}
