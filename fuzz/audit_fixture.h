/*
 * audit_fixture.h: the fixed log of fuzz_audit_entry, shared with gen_corpus.c so that its
 * seeds are genuine next entries of it.
 *
 * Leaves are fz_prefix_leaf(i) (fuzz.h). Entry 0 adds leaves 0..2, entry 1 none (a
 * heartbeat), entry 2 adds leaves 3..7; entry i has timestamp FZ_AUDIT_T0 + 1000 i. State s
 * of the replay (the input's first byte, modulo FZ_AUDIT_STATES) holds the first s entries;
 * its genuine next entry is fixed entry s for s < 3, and for s = 3 an entry adding leaves
 * 8..12.
 */
#ifndef PARLEY_FUZZ_AUDIT_FIXTURE_H
#define PARLEY_FUZZ_AUDIT_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "replay.h"

#define FZ_AUDIT_STATES 4u
#define FZ_AUDIT_T0 UINT64_C(1700000000000)

static inline int fz_audit_cmp_leaf(const void *a, const void *b)
{
    return memcmp(a, b, PL_PREFIX_KEY_BYTES);
}

/* Writes the sorted leaves first..first+n-1 into out. */
static inline void fz_audit_leaves(unsigned first, unsigned n, uint8_t (*out)[PL_AUDIT_LEAF_BYTES])
{
    for (unsigned i = 0; i < n; i++)
        fz_prefix_leaf(first + i, out[i], out[i] + PL_PREFIX_KEY_BYTES);
    qsort(out, n, PL_AUDIT_LEAF_BYTES, fz_audit_cmp_leaf);
}

/* The leaf range of fixed entry i (0..2), and of the genuine next entry (i = 3). */
static inline void fz_audit_range(unsigned i, unsigned *first, unsigned *n)
{
    static const unsigned firsts[] = {0, 3, 3, 8}, counts[] = {3, 0, 5, 5};

    *first = firsts[i];
    *n = counts[i];
}

/*
 * Builds entry `position` of the fixed log (position < 3), or the genuine next entry after
 * `position` entries (range 3), into *e with its leaves in leaves[0..13): the prefix root is
 * that of the tree holding every leaf logged so far.
 */
static inline void fz_audit_entry(unsigned position, unsigned range, pl_audit_entry *e,
                                  uint8_t (*leaves)[PL_AUDIT_LEAF_BYTES])
{
    pl_prefix_tree *t = NULL;
    uint8_t all[13][PL_AUDIT_LEAF_BYTES];
    unsigned first, n, upto;

    FZ_CHECK(pl_prefix_tree_new(&t) == PL_OK);
    fz_audit_range(range, &first, &n);
    upto = first + n;
    fz_audit_leaves(0, upto, all);
    for (unsigned i = 0; i < upto; i++)
        FZ_CHECK(pl_prefix_tree_insert(t, all[i], all[i] + PL_PREFIX_KEY_BYTES) == PL_OK);
    memset(e, 0, sizeof *e);
    e->position = position;
    e->timestamp_ms = FZ_AUDIT_T0 + 1000u * position;
    pl_prefix_tree_root(t, e->prefix_root);
    fz_audit_leaves(first, n, leaves);
    e->leaves = (const uint8_t(*)[PL_AUDIT_LEAF_BYTES])leaves;
    e->n_leaves = n;
    pl_prefix_tree_free(t);
}

#endif
