/*
 * replay.h: the auditor's check of one log entry (docs/PROTOCOL.md §23.1, §26): replay the
 * prefix-tree leaves a KtAuditEntry says it added into the auditor's own tree and its own
 * list of log leaves, and refuse anything that is not an append-only, well-formed entry.
 *
 * For entry i (its position), in this order, cheapest first:
 *   1. position  = the number of entries replayed so far                 WRONG_POSITION
 *   2. timestamp_ms >= the previous entry's                              TIME_BACKWARDS
 *   3. leaves strictly ascending by vrf_out (so none twice)              LEAVES_UNSORTED
 *   4. every added vrf_out absent from the tree (the tree only grows)    LEAF_PRESENT
 *   5. the tree can hold them (PL_PREFIX_TREE_MAX_LEAVES)                PL_E_TOO_LARGE
 *   6. after inserting them, the tree's root = the entry's prefix_root   PREFIX_ROOT
 *   7. then the log leaf SHA-256(0x00 || u64 timestamp_ms || prefix_root) is appended to the
 *      auditor's log frontier, whose root pl_audit_replay_check_root compares with a
 *      checkpoint's                                                      LOG_ROOT
 *
 * Pure: no I/O, no clock. The auditor feeds it entries from the network (hostile) and, on
 * start, the entries of its own database (which it checked once already, so a failure there
 * is corruption). A failure in steps 1-5 changes nothing. Steps 6 (and an allocation failure
 * while inserting) fail after leaves went into the tree, which has no removal: the replay is
 * then marked poisoned and the caller must free it and rebuild it from its store. Using a
 * poisoned replay is a caller bug and aborts.
 */
#ifndef PARLEY_AUDIT_REPLAY_H
#define PARLEY_AUDIT_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "parley/merkle.h"
#include "parley/prefix_tree.h"

#include "log_frontier.h"

/* A prefix-tree leaf as KtAuditEntry.leaves carries it: vrf_out[32] || commitment[32]. */
#define PL_AUDIT_LEAF_BYTES (PL_PREFIX_KEY_BYTES + PL_PREFIX_HASH_BYTES)

/* One log entry and the leaves it added, after their lengths were checked. Borrowed. */
typedef struct pl_audit_entry {
    uint64_t position;
    uint64_t timestamp_ms;
    uint8_t prefix_root[PL_PREFIX_HASH_BYTES];
    const uint8_t (*leaves)[PL_AUDIT_LEAF_BYTES]; /* may be NULL when n_leaves is 0 */
    size_t n_leaves;
} pl_audit_entry;

/* Why an entry or a root was refused, for the log line and the evidence kept. */
typedef enum pl_audit_failure {
    PL_AUDIT_OK = 0,
    PL_AUDIT_WRONG_POSITION,  /* not the next entry */
    PL_AUDIT_TIME_BACKWARDS,  /* an earlier timestamp than the previous entry's */
    PL_AUDIT_LEAVES_UNSORTED, /* leaves not strictly ascending by vrf_out */
    PL_AUDIT_LEAF_PRESENT,    /* an added vrf_out was already in the tree */
    PL_AUDIT_TREE_FULL,       /* more leaves than an in-memory tree holds */
    PL_AUDIT_PREFIX_ROOT,     /* the replayed prefix root is not the entry's */
    PL_AUDIT_LOG_ROOT         /* the log root over the replayed entries is not the checkpoint's */
} pl_audit_failure;

/* A short English phrase for f ("an added leaf was already in the tree"). */
const char *pl_audit_failure_str(pl_audit_failure f);
/* A stable token for f ("leaf_present"), for the database and scripts. */
const char *pl_audit_failure_name(pl_audit_failure f);

typedef struct pl_audit_replay pl_audit_replay;

/* Creates an empty replay (no entry) in *out (NULL first). Returns PL_OK or PL_E_NOMEM. */
int pl_audit_replay_new(pl_audit_replay **out);

/* Frees r and its tree; accepts NULL. */
void pl_audit_replay_free(pl_audit_replay *r);

/*
 * Checks entry *e (hostile) against r and, if it passes, adds it: steps 1-7 above.
 * Returns PL_OK; PL_E_BAD_PROOF with *why set for a refusal of steps 1-4 and 6;
 * PL_E_TOO_LARGE (*why TREE_FULL, or a log of 2^63 entries); PL_E_NOMEM. On every failure
 * *why says which (PL_AUDIT_OK for PL_E_NOMEM); r is unchanged except after PREFIX_ROOT or
 * PL_E_NOMEM, when pl_audit_replay_poisoned(r) is 1. why may be NULL.
 */
int pl_audit_replay_entry(pl_audit_replay *r, const pl_audit_entry *e, pl_audit_failure *why);

/*
 * Compares the log root over the entries replayed so far with root, the root of a
 * checkpoint of `size` entries. Returns PL_OK; PL_E_BAD_PROOF (*why LOG_ROOT); or
 * PL_E_INVALID_ARG when size is not the number of entries replayed (a caller bug the caller
 * can report). why may be NULL.
 */
int pl_audit_replay_check_root(const pl_audit_replay *r, uint64_t size,
                               const uint8_t root[PL_MERKLE_HASH_BYTES], pl_audit_failure *why);

/* The number of entries replayed. */
uint64_t pl_audit_replay_size(const pl_audit_replay *r);
/* The number of prefix-tree leaves. */
uint64_t pl_audit_replay_leaves(const pl_audit_replay *r);
/* The timestamp of the last entry replayed (0 before the first). */
uint64_t pl_audit_replay_last_timestamp(const pl_audit_replay *r);
/* Writes the prefix root after the last entry (32 zero bytes before the first). */
void pl_audit_replay_prefix_root(const pl_audit_replay *r, uint8_t out[PL_PREFIX_HASH_BYTES]);
/* Writes the log root over the entries replayed (SHA-256("") before the first). */
void pl_audit_replay_log_root(const pl_audit_replay *r, uint8_t out[PL_MERKLE_HASH_BYTES]);
/* 1 if a failed replay left r unusable (free it and rebuild), else 0. */
int pl_audit_replay_poisoned(const pl_audit_replay *r);

#endif
