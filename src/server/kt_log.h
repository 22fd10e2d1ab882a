/*
 * kt_log.h: parleyd's key-transparency log (PROTOCOL.md §23-§24): the sequencer, the
 * publication rule, and the proofs the KT requests answer with.
 *
 * State, in memory, owned by the store worker thread (every function below but open, free
 * and pl_kt_log_keys runs there, so VRF proving never runs on the loop thread and no lock is
 * needed):
 *   - the log's Merkle tree of signed entries (kt_logtree.h);
 *   - two prefix trees (§20): of the newest SIGNED entry and of the newest PUBLISHED one. At
 *     most one signed entry is ahead of the published one, so the published tree is the
 *     signed tree without the newest entry's leaves, which are kept to advance it. With
 *     quorum 0 both are one tree;
 *   - the newest signed checkpoint note, the published note (with its cosignatures), and the
 *     cosignatures collected for the newest signed one.
 * It is rebuilt from the store at start (and checked: each entry's prefix root against the
 * replayed tree, the newest notes against the log key), so it always equals what is on disk.
 *
 * Writes (a new entry, a cosignature, a publication) each run in their own transaction,
 * from a standalone store job, and change memory only after the commit; a failure in
 * between (the prefix tree cannot undo an insert) marks the state stale, and the next
 * operation rebuilds it from the store first. Reads (checkpoints, lookups, audits) run as
 * ordinary store jobs and use memory plus read-only store queries.
 *
 * Results are wire statuses (Parley__StatusCode) with a message for the client.
 */
#ifndef PARLEYD_KT_LOG_H
#define PARLEYD_KT_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "frame.h"
#include "kt_keys.h"
#include "store.h"

typedef struct pl_kt_log pl_kt_log;

/*
 * Builds the log over store from its tables, with keys (taken over, freed with the log)
 * and cfg's [kt] settings. Runs before the store worker starts (it uses the store from the
 * calling thread). Returns 0 and *out, or -1 with a reason in err (a damaged or foreign log:
 * entries that do not replay to their roots, a checkpoint the log key did not sign).
 */
int pl_kt_log_open(pl_kt_log **out, const pl_config *cfg, pl_kt_keys *keys, pl_store *store,
                   char *err, size_t err_len);

/* Frees l and its keys. Accepts NULL. */
void pl_kt_log_free(pl_kt_log *l);

/* The log's keys and origin; immutable, readable from any thread. */
const pl_kt_keys *pl_kt_log_keys(const pl_kt_log *l);

/* Sizes for start-up logs and metrics (worker thread, or before it starts). */
uint64_t pl_kt_log_signed_size(const pl_kt_log *l);
uint64_t pl_kt_log_published_size(const pl_kt_log *l);

/* What one sequencer step did. */
typedef struct pl_kt_step {
    int signed_new;       /* a new entry and checkpoint were committed */
    int published;        /* a checkpoint became the published one */
    uint64_t signed_size; /* after the step */
    uint64_t published_size;
    size_t logged; /* label-versions the new entry holds */
    char *note;    /* the new signed note (malloc'd; the caller frees), when signed_new */
    size_t note_len;
} pl_kt_step;

/*
 * One sequencer step at now_ms (standalone job: it opens its own transaction on s). First
 * publishes the newest signed checkpoint if its quorum is met; then, if nothing is signed
 * ahead of the published one and updates are pending (or the heartbeat is due, or the log is
 * empty), makes one entry of at most PL_WIRE_KT_MAX_ENTRY_LEAVES label-versions: VRF proofs
 * of each version and of the next, commitments, prefix-tree inserts, the log entry and a
 * signed checkpoint, committed in one transaction. Returns 0 (also when there was nothing to
 * do) or -1 when the store failed (logged; the state is rebuilt on the next call).
 */
int pl_kt_log_step(pl_kt_log *l, pl_store *s, uint64_t now_ms, pl_kt_step *out);

/*
 * A witness's cosignature line[0..len) of the checkpoint of `size` (standalone job). Checks
 * it under the configured witness it names (pl_cosignature_verify), stores it, and if it is
 * for the newest signed checkpoint and completes its quorum, publishes that checkpoint with
 * every cosignature attached, in the same transaction. *published is 1 when it did.
 * Returns STATUS_OK, STATUS_NOT_FOUND (no checkpoint of that size), STATUS_BAD_SIGNATURE
 * (not a valid cosignature by a configured witness) or STATUS_INTERNAL; *why says why.
 */
Parley__StatusCode pl_kt_log_cosign(pl_kt_log *l, pl_store *s, uint64_t size, const char *line,
                                    size_t len, int *published, const char **why);

/* A checkpoint with its consistency proof from a size the client knows. */
typedef struct pl_kt_checkpoint_answer {
    char *note; /* malloc'd, NUL-terminated; the caller frees */
    size_t note_len;
    uint64_t size;
    uint8_t consistency[PL_MERKLE_MAX_PROOF][PL_MERKLE_HASH_BYTES];
    size_t n_consistency;
} pl_kt_checkpoint_answer;

/*
 * The newest published (or, with latest_signed, signed) checkpoint and the consistency
 * proof from known_size (none when it is 0 or the same size). Returns STATUS_OK,
 * STATUS_NOT_FOUND (nothing published yet), STATUS_BAD_REQUEST (known_size larger) or
 * STATUS_INTERNAL.
 */
Parley__StatusCode pl_kt_log_checkpoint(pl_kt_log *l, uint64_t known_size, int latest_signed,
                                        pl_kt_checkpoint_answer *out, const char **why);

/*
 * A lookup (§23) of label against the published checkpoint: the greatest version, or with
 * fixed exactly `version`. Fills *cp as pl_kt_log_checkpoint does and *proof (malloc'd, the
 * caller frees) with the encoded lookup proof. Returns STATUS_OK, STATUS_NOT_FOUND (nothing
 * published, or no such published version of the label), STATUS_BAD_REQUEST or
 * STATUS_INTERNAL.
 */
Parley__StatusCode pl_kt_log_lookup(pl_kt_log *l, pl_store *s, const char *label,
                                    uint64_t known_size, int fixed, uint32_t version,
                                    pl_kt_checkpoint_answer *cp, uint8_t **proof, size_t *proof_len,
                                    const char **why);

/* Audit entries (§24.4 KtAuditGet). leaves points into one malloc'd block owned by the
 * batch. */
typedef struct pl_kt_audit_entry {
    uint64_t position;
    uint64_t timestamp_ms;
    uint8_t prefix_root[PL_PREFIX_HASH_BYTES];
    size_t first_leaf, n_leaves; /* into pl_kt_audit_batch.leaves */
} pl_kt_audit_entry;

typedef struct pl_kt_audit_batch {
    pl_kt_audit_entry entries[PL_WIRE_KT_MAX_AUDIT_ENTRIES];
    size_t n_entries;
    uint8_t (*leaves)[PL_WIRE_KT_LEAF_BYTES]; /* malloc'd; free with pl_kt_audit_batch_clear */
    size_t n_leaves;
} pl_kt_audit_batch;

/*
 * Entries from `from` on, at most max (1..256) and below the newest signed size, each with
 * the leaves it added (vrf_out || commitment, ascending vrf_out); stops before an entry whose
 * leaves would pass PL_WIRE_KT_MAX_AUDIT_LEAVES in all. Empty when from is at or past the
 * signed size. Returns STATUS_OK or STATUS_INTERNAL.
 */
Parley__StatusCode pl_kt_log_audit(pl_kt_log *l, pl_store *s, uint64_t from, uint32_t max,
                                   pl_kt_audit_batch *out, const char **why);

void pl_kt_audit_batch_clear(pl_kt_audit_batch *b);

#endif
