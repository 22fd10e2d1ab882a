/*
 * round.h: one round of the auditor (docs/PROTOCOL.md §22, §24.2, §26): decide about the
 * log's newest signed checkpoint and, if it is an append-only extension of everything this
 * auditor has seen, cosign it.
 *
 *   0. halted (an earlier fork, rollback or bad replay)?         refuse: HALTED
 *   1. KtConfigGet: valid, and the pinned one (pinned here on the first round)
 *   2. KtCheckpointGet{known_size = ws.size, latest_signed}: the note and the consistency
 *      proof from the witness's size (a server that refuses that size because it has less is
 *      asked again from 0, to keep its smaller signed checkpoint as rollback evidence)
 *   3. pl_kt_witness_add_checkpoint as a dry run: the note is the log's, of the pinned
 *      origin, not smaller than ws (ROLLBACK) and consistent with it (else BAD_PROOF: fork).
 *      Cheap checks first: a fork is refused before any entry is fetched
 *   4. BEGIN; KtAuditGet from the replayed size up to the checkpoint's, in batches of at most
 *      PL_AUDIT_BATCH entries; each entry replayed (replay.h) and stored
 *   5. the log root over the replayed entries equals the checkpoint's root (LOG_ROOT)
 *   6. pl_kt_witness_add_checkpoint for real, at the current time; the new witness state and
 *      the cosignature are stored; COMMIT (fsync)
 *   7. only then KtCosign{size, line}
 *
 * A fork, a rollback, a replay failure, a log root mismatch or a changed config is refused
 * with its evidence (the signed note, the proof, the offending entry as encoded by the
 * server) stored, and halts the auditor: no later round cosigns anything until an operator
 * runs `parley-audit resume`. What proves nothing about the signed log is refused with its
 * evidence but does not halt: a note that does not verify, of another origin, or malformed;
 * an entry that is malformed or out of place; entries withheld below the signed size. Such
 * evidence is kept once per checkpoint, not once per round. Network and server errors
 * (a status other than OK, a timeout) are transient: nothing is stored and the round can
 * simply be run again. Any failure after step 4 began rolls the transaction back and
 * rebuilds the replay from the database.
 */
#ifndef PARLEY_AUDIT_ROUND_H
#define PARLEY_AUDIT_ROUND_H

#include <stdint.h>

#include "audit_conn.h"
#include "auditor.h"

/* Entries per KtAuditGet (PROTOCOL.md §24.4: max <= 256). */
#define PL_AUDIT_BATCH 256u

typedef enum pl_audit_outcome {
    PL_AUDIT_ROUND_COSIGNED = 0, /* the newest signed checkpoint is cosigned, state committed */
    PL_AUDIT_ROUND_REFUSED,      /* the log misbehaved now: evidence kept (halted for some) */
    PL_AUDIT_ROUND_HALTED,       /* refusing because of an earlier detection */
    PL_AUDIT_ROUND_TRANSIENT,    /* the network or the server failed: nothing changed */
    PL_AUDIT_ROUND_LOCAL,        /* this auditor's database failed */
    PL_AUDIT_ROUND_STOPPED       /* the stop flag was raised: nothing changed */
} pl_audit_outcome;

typedef struct pl_audit_round_result {
    pl_audit_outcome outcome;
    uint64_t size;     /* the checkpoint's size, once known */
    uint64_t replayed; /* entries replayed and stored by this round */
    int accepted;      /* COSIGNED: the server took the cosignature (KtCosign OK) */
    int halted;        /* REFUSED: the refusal halted the auditor */
    int code;          /* REFUSED: the PL_E_* code of the check that failed */
    char reason[32];   /* REFUSED / HALTED: "fork", "rollback", "leaf_present", ... */
    char detail[512];  /* one sentence */
} pl_audit_round_result;

/* Runs one round over the open connection c. Never aborts on what the server sends. */
void pl_audit_round(pl_auditor *a, pl_audit_conn *c, pl_audit_round_result *res);

/* A short name for an outcome ("cosigned"). */
const char *pl_audit_outcome_name(pl_audit_outcome o);

#endif
