/*
 * audit_db.h: the auditor's database, DIR/audit.db (SQLite, WAL, synchronous=FULL: a COMMIT
 * returns only once it is on disk).
 *
 * Tables (schema version 1):
 *   meta(key, value)                    schema_version, witness_name
 *   log_config(id = 1, origin, log_vkey, text, pinned_at_ms)
 *                                       the KtConfig pinned on the first run (log_config.h)
 *   witness(id = 1, size, root, note, updated_at_ms)
 *                                       the last checkpoint cosigned: pl_kt_witness_state's
 *                                       size and root, and the signed note; absent before the
 *                                       first cosignature
 *   entries(position, timestamp_ms, prefix_root)
 *   leaves(vrf_out, commitment, position)
 *                                       every log entry replayed and the prefix-tree leaves it
 *                                       added: the auditor's own copy of the log, from which
 *                                       it rebuilds its tree on start, never asking the server
 *   cosignatures(size, root, line, cosigned_at_ms)
 *                                       every cosignature released
 *   evidence(id, at_ms, reason, code, detail, known_size, note, consistency, entry_position,
 *            entry)                     what a refusal was about: the signed checkpoint note,
 *                                       the consistency proof, and the offending KtAuditEntry
 *                                       as the server encoded it
 *   halt(id = 1, since_ms, reason, evidence_id)
 *                                       set on a fork, a rollback or a bad replay: the auditor
 *                                       then refuses every checkpoint until an operator runs
 *                                       `parley-audit resume`
 *
 * Invariant, checked on open (pl_audit_db_load): the entries replayed are exactly the first
 * `witness.size` entries of the log, and their log root is witness.root. Entries and the new
 * witness state are written in one transaction (pl_audit_db_begin .. pl_audit_db_commit), and
 * the cosignature leaves the auditor only after that COMMIT.
 *
 * Integers: SQLite stores signed 64-bit values; u64 fields are stored as their two's
 * complement bit pattern and read back the same way. Functions return 0 or -1 with a
 * sentence in the handle's error (pl_audit_db_error).
 */
#ifndef PARLEY_AUDIT_DB_H
#define PARLEY_AUDIT_DB_H

#include <stddef.h>
#include <stdint.h>

#include "parley/kt_witness.h"

#include "replay.h"

#define PL_AUDIT_DB_FILE "audit.db"
#define PL_AUDIT_DB_SCHEMA 1

typedef struct pl_audit_db pl_audit_db;

/* What the database holds about the log, filled by pl_audit_db_load. */
typedef struct pl_audit_db_state {
    char witness_name[PL_NOTE_NAME_MAX_BYTES + 1];
    int pinned; /* a config is pinned */
    char origin[PL_NOTE_NAME_MAX_BYTES + 1];
    char log_vkey[PL_NOTE_VKEY_MAX_BYTES + 1];
    char config_text[4096];
    int has_witness; /* a checkpoint was cosigned */
    uint64_t size;
    uint8_t root[PL_MERKLE_HASH_BYTES];
    int halted;
    char halt_reason[32];
    uint64_t halt_since_ms;
    int64_t halt_evidence_id;
    uint64_t n_evidence;
    uint64_t n_cosignatures;
    uint64_t n_entries, n_leaves;
} pl_audit_db_state;

/*
 * Creates DIR/audit.db (which must not exist) with the schema and witness_name. Returns 0 or
 * -1 with a sentence in err.
 */
int pl_audit_db_create(const char *dir, const char *witness_name, char *err, size_t err_len);

/*
 * Opens DIR/audit.db (which must exist and have this schema). Read-write opens take an
 * exclusive lock on DIR/audit.lock for the life of the handle, so that one process at a time
 * decides for this witness; read_only (for `status`) takes none and cannot write.
 * Returns 0 and *out, or -1 with a sentence in err.
 */
int pl_audit_db_open(const char *dir, int read_only, pl_audit_db **out, char *err, size_t err_len);

void pl_audit_db_close(pl_audit_db *db);

/* The last error, one sentence. */
const char *pl_audit_db_error(const pl_audit_db *db);

/* Reads the state (no replay). */
int pl_audit_db_state_get(pl_audit_db *db, pl_audit_db_state *out);

/*
 * Rebuilds the auditor's replay from its own entries and leaves, each checked as it was when
 * first replayed, and checks the invariant above. Returns 0 and *out (free with
 * pl_audit_replay_free), or -1 (corruption, or a database error).
 */
int pl_audit_db_load_replay(pl_audit_db *db, const pl_audit_db_state *st, pl_audit_replay **out);

/* Stores the pinned config (once: a second call fails). */
int pl_audit_db_pin_config(pl_audit_db *db, const char *origin, const char *log_vkey,
                           const char *text, uint64_t now_ms);

/* Transactions: BEGIN IMMEDIATE / COMMIT (durable on return) / ROLLBACK. */
int pl_audit_db_begin(pl_audit_db *db);
int pl_audit_db_commit(pl_audit_db *db);
void pl_audit_db_rollback(pl_audit_db *db);

/* Inside a transaction: one replayed entry and its leaves. */
int pl_audit_db_put_entry(pl_audit_db *db, const pl_audit_entry *e);

/* Inside a transaction: the new witness state (its signed note) and the line to release. */
int pl_audit_db_put_witness(pl_audit_db *db, uint64_t size, const uint8_t root[32],
                            const char *note, size_t note_len, const char *line, size_t line_len,
                            uint64_t now_ms);

/* Evidence of a refusal, in its own transaction. known_size is the size the auditor held;
 * note, consistency and entry may be NULL. Sets *id (may be NULL). */
typedef struct pl_audit_evidence {
    const char *reason; /* a stable token: "fork", "rollback", "leaf_present", ... */
    const char *code;   /* the PL_E_* name, or "" */
    const char *detail; /* one sentence */
    uint64_t known_size;
    const char *note;
    size_t note_len;
    const uint8_t *consistency; /* n_consistency x 32 bytes */
    size_t n_consistency;
    int has_entry;
    uint64_t entry_position;
    const uint8_t *entry; /* the KtAuditEntry's protobuf encoding */
    size_t entry_len;
} pl_audit_evidence;

int pl_audit_db_add_evidence(pl_audit_db *db, const pl_audit_evidence *ev, uint64_t now_ms,
                             int64_t *id);

/* 1 if the newest evidence row has ev's reason, note and entry, 0 if not, -1 on error. */
int pl_audit_db_same_as_last_evidence(pl_audit_db *db, const pl_audit_evidence *ev);

/* Sets the halt (in its own transaction), unless one is set already. */
int pl_audit_db_halt(pl_audit_db *db, const char *reason, int64_t evidence_id, uint64_t now_ms);

/* Clears the halt (the operator's `resume`). Evidence stays. */
int pl_audit_db_resume(pl_audit_db *db);

/* Calls fn for each evidence row, newest first, at most max rows. */
typedef void (*pl_audit_evidence_fn)(void *arg, int64_t id, uint64_t at_ms, const char *reason,
                                     const char *code, const char *detail, uint64_t known_size,
                                     const char *note);
int pl_audit_db_list_evidence(pl_audit_db *db, unsigned max, pl_audit_evidence_fn fn, void *arg);

#endif
