/*
 * auditor.h: one auditor as a running program holds it: its state directory's database and
 * witness key, the witness state of the pinned log (pl_kt_witness_state), and the replay of
 * every entry it has checked (its own prefix tree and log frontier), rebuilt from its own
 * database on open, never from the server.
 *
 * Invariant between rounds: the replay holds exactly the entries of the database, which are
 * the first ws.size entries of the log (0 before the first cosignature), and the database's
 * witness row is ws. A round that fails after replaying into memory reloads the replay from
 * the database (pl_auditor_reload), so a refused checkpoint leaves nothing behind.
 */
#ifndef PARLEY_AUDIT_AUDITOR_H
#define PARLEY_AUDIT_AUDITOR_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "parley/kt_witness.h"

#include "audit_db.h"
#include "replay.h"
#include "witness_key.h"

typedef struct pl_auditor {
    pl_audit_db *db;
    pl_audit_key *key;
    pl_audit_db_state st;   /* as last read from the database */
    pl_note_verifier me;    /* the witness's own verifier (name from the database) */
    pl_kt_witness_state ws; /* valid when st.pinned */
    pl_audit_replay *replay;
    volatile sig_atomic_t *stop; /* may be NULL */
} pl_auditor;

/*
 * Opens the state directory dir (read-write, exclusively), loads the key and rebuilds the
 * replay. Returns 0 and *out, or -1 with a sentence in err.
 */
int pl_auditor_open(pl_auditor **out, const char *dir, volatile sig_atomic_t *stop, char *err,
                    size_t err_len);

/* Re-reads the state and rebuilds the replay from the database. Returns 0 or -1 (err). */
int pl_auditor_reload(pl_auditor *a, char *err, size_t err_len);

void pl_auditor_close(pl_auditor *a);

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
uint64_t pl_auditor_now_ms(void);

#endif
