/* log_frontier.c: the right edge of an RFC 9162 log tree (log_frontier.h). */
#include "log_frontier.h"

#include <string.h>

#include <sodium.h>

#include "parley/error.h"

void pl_audit_frontier_init(pl_audit_frontier *f)
{
    memset(f, 0, sizeof *f);
}

int pl_audit_frontier_append(pl_audit_frontier *f, const uint8_t leaf_hash[PL_MERKLE_HASH_BYTES])
{
    uint8_t h[PL_MERKLE_HASH_BYTES];
    uint64_t carry;

    if (f->size >= (UINT64_C(1) << 63))
        return PL_E_TOO_LARGE;
    memcpy(h, leaf_hash, sizeof h);
    /* Adding one to size merges the trailing perfect subtrees of sizes 1, 2, 4, ... (the
     * trailing one bits of size) with the new leaf into one subtree, as binary carry does. */
    for (carry = f->size; carry & 1u; carry >>= 1) {
        f->n_subtrees--;
        pl_merkle_node_hash(f->subtree[f->n_subtrees], h, h);
    }
    memcpy(f->subtree[f->n_subtrees++], h, sizeof h);
    f->size++;
    sodium_memzero(h, sizeof h);
    return PL_OK;
}

void pl_audit_frontier_root(const pl_audit_frontier *f, uint8_t out[PL_MERKLE_HASH_BYTES])
{
    unsigned i;

    if (f->n_subtrees == 0) {
        crypto_hash_sha256(out, NULL, 0); /* MTH({}) = SHA-256("") */
        return;
    }
    memcpy(out, f->subtree[f->n_subtrees - 1], PL_MERKLE_HASH_BYTES);
    for (i = f->n_subtrees - 1; i-- > 0;)
        pl_merkle_node_hash(f->subtree[i], out, out);
}
