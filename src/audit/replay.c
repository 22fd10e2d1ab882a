/* replay.c: the auditor's check of one log entry (replay.h; PROTOCOL.md §23.1, §26). */
#include "replay.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "parley/error.h"
#include "parley/kt_lookup.h"

struct pl_audit_replay {
    pl_prefix_tree *tree;
    pl_audit_frontier log; /* leaf hashes of the entries replayed */
    uint64_t last_timestamp_ms;
    int poisoned;
    pl_prefix_proof scratch; /* for the absence checks; 8 KiB, so not on the stack */
};

static const struct {
    const char *name;
    const char *text;
} failures[] = {
    [PL_AUDIT_OK] = {"ok", "no failure"},
    [PL_AUDIT_WRONG_POSITION] = {"wrong_position", "the entry is not the next one"},
    [PL_AUDIT_TIME_BACKWARDS] = {"time_backwards",
                                 "the entry's timestamp is earlier than the previous entry's"},
    [PL_AUDIT_LEAVES_UNSORTED] = {"leaves_unsorted",
                                  "the entry's leaves are not strictly ascending by vrf_out"},
    [PL_AUDIT_LEAF_PRESENT] = {"leaf_present", "an added leaf was already in the prefix tree"},
    [PL_AUDIT_TREE_FULL] = {"tree_full", "the prefix tree would pass its size limit"},
    [PL_AUDIT_PREFIX_ROOT] = {"prefix_root",
                              "the replayed prefix root is not the one the entry states"},
    [PL_AUDIT_LOG_ROOT] = {"log_root",
                           "the log root over the replayed entries is not the checkpoint's"},
};

const char *pl_audit_failure_str(pl_audit_failure f)
{
    return (unsigned)f < sizeof failures / sizeof failures[0] ? failures[f].text
                                                              : "unknown failure";
}

const char *pl_audit_failure_name(pl_audit_failure f)
{
    return (unsigned)f < sizeof failures / sizeof failures[0] ? failures[f].name : "unknown";
}

int pl_audit_replay_new(pl_audit_replay **out)
{
    pl_audit_replay *r;

    *out = NULL;
    if (!(r = calloc(1, sizeof *r)))
        return PL_E_NOMEM;
    if (pl_prefix_tree_new(&r->tree) != PL_OK) {
        free(r);
        return PL_E_NOMEM;
    }
    pl_audit_frontier_init(&r->log);
    *out = r;
    return PL_OK;
}

void pl_audit_replay_free(pl_audit_replay *r)
{
    if (!r)
        return;
    pl_prefix_tree_free(r->tree);
    free(r);
}

static int refuse(pl_audit_failure *why, pl_audit_failure f, int code)
{
    if (why)
        *why = f;
    return code;
}

int pl_audit_replay_entry(pl_audit_replay *r, const pl_audit_entry *e, pl_audit_failure *why)
{
    uint8_t root[PL_PREFIX_HASH_BYTES], entry[PL_KT_LOG_ENTRY_BYTES],
        leaf_hash[PL_MERKLE_HASH_BYTES];
    size_t i;

    if (why)
        *why = PL_AUDIT_OK;
    if (r->poisoned || (e->n_leaves > 0 && !e->leaves))
        sodium_misuse();
    /* 1. the next entry, and one the frontier can still take */
    if (e->position != r->log.size)
        return refuse(why, PL_AUDIT_WRONG_POSITION, PL_E_BAD_PROOF);
    if (r->log.size >= (UINT64_C(1) << 63))
        return PL_E_TOO_LARGE;
    /* 2. time does not go backwards */
    if (r->log.size > 0 && e->timestamp_ms < r->last_timestamp_ms)
        return refuse(why, PL_AUDIT_TIME_BACKWARDS, PL_E_BAD_PROOF);
    /* 3. strictly ascending: the server's canonical order, and no key twice */
    for (i = 1; i < e->n_leaves; i++)
        if (memcmp(e->leaves[i - 1], e->leaves[i], PL_PREFIX_KEY_BYTES) >= 0)
            return refuse(why, PL_AUDIT_LEAVES_UNSORTED, PL_E_BAD_PROOF);
    /* 4. the tree only grows: a label-version is logged once */
    for (i = 0; i < e->n_leaves; i++) {
        if (pl_prefix_tree_prove(r->tree, e->leaves[i], &r->scratch) != PL_OK)
            return PL_E_NOMEM; /* documented never to fail; nothing changed either way */
        if (r->scratch.result_type == PL_PREFIX_INCLUSION)
            return refuse(why, PL_AUDIT_LEAF_PRESENT, PL_E_BAD_PROOF);
    }
    /* 5. room for them */
    if (e->n_leaves > PL_PREFIX_TREE_MAX_LEAVES - pl_prefix_tree_size(r->tree))
        return refuse(why, PL_AUDIT_TREE_FULL, PL_E_TOO_LARGE);
    /* 6. insert and recompute; from the first insert on, a failure poisons the replay */
    for (i = 0; i < e->n_leaves; i++) {
        int rc = pl_prefix_tree_insert(r->tree, e->leaves[i], e->leaves[i] + PL_PREFIX_KEY_BYTES);

        if (rc != PL_OK) {
            r->poisoned = i > 0;
            return rc == PL_E_TOO_LARGE ? refuse(why, PL_AUDIT_TREE_FULL, rc) : rc;
        }
    }
    pl_prefix_tree_root(r->tree, root);
    if (sodium_memcmp(root, e->prefix_root, sizeof root) != 0) {
        r->poisoned = e->n_leaves > 0;
        return refuse(why, PL_AUDIT_PREFIX_ROOT, PL_E_BAD_PROOF);
    }
    /* 7. the log leaf of §23.1 */
    pl_kt_log_entry(e->timestamp_ms, e->prefix_root, entry);
    pl_merkle_leaf_hash(entry, sizeof entry, leaf_hash);
    if (pl_audit_frontier_append(&r->log, leaf_hash) != PL_OK)
        sodium_misuse(); /* size < 2^63 was checked in step 1 */
    r->last_timestamp_ms = e->timestamp_ms;
    return PL_OK;
}

int pl_audit_replay_check_root(const pl_audit_replay *r, uint64_t size,
                               const uint8_t root[PL_MERKLE_HASH_BYTES], pl_audit_failure *why)
{
    uint8_t mine[PL_MERKLE_HASH_BYTES];

    if (why)
        *why = PL_AUDIT_OK;
    if (r->poisoned)
        sodium_misuse();
    if (size != r->log.size)
        return PL_E_INVALID_ARG;
    pl_audit_frontier_root(&r->log, mine);
    if (sodium_memcmp(mine, root, sizeof mine) != 0)
        return refuse(why, PL_AUDIT_LOG_ROOT, PL_E_BAD_PROOF);
    return PL_OK;
}

uint64_t pl_audit_replay_size(const pl_audit_replay *r)
{
    return r->log.size;
}

uint64_t pl_audit_replay_leaves(const pl_audit_replay *r)
{
    return pl_prefix_tree_size(r->tree);
}

uint64_t pl_audit_replay_last_timestamp(const pl_audit_replay *r)
{
    return r->last_timestamp_ms;
}

void pl_audit_replay_prefix_root(const pl_audit_replay *r, uint8_t out[PL_PREFIX_HASH_BYTES])
{
    pl_prefix_tree_root(r->tree, out);
}

void pl_audit_replay_log_root(const pl_audit_replay *r, uint8_t out[PL_MERKLE_HASH_BYTES])
{
    pl_audit_frontier_root(&r->log, out);
}

int pl_audit_replay_poisoned(const pl_audit_replay *r)
{
    return r->poisoned;
}
