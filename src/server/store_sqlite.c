/*
 * store_sqlite.c: the SQLite backend of store.h: opening, schema migrations, accounts,
 * devices and prekeys (mailboxes are in store_sqlite_mailbox.c).
 *
 * Durability: WAL with synchronous=FULL, so COMMIT returns only after the WAL is fsynced
 * (NORMAL may lose committed transactions on power loss). Every write is one
 * BEGIN IMMEDIATE ... COMMIT; any failure rolls back, so nothing is left half-written.
 *
 * Batches: pl_store_batch_begin runs BEGIN IMMEDIATE itself and marks the handle; while it
 * is marked, pl__sq_begin / _commit / _rollback turn into SAVEPOINT / RELEASE /
 * ROLLBACK TO + RELEASE, so every operation keeps its all-or-nothing contract inside the
 * batch without knowing about it, and pl_store_batch_commit's COMMIT is the one fsync.
 * Some errors (I/O, out of memory, a lock lost) make SQLite abandon the whole transaction;
 * the handle notices (sqlite3_get_autocommit) and marks the batch lost: later operations fail
 * until the batch ends, and its commit reports the loss, so nothing runs outside the batch
 * by accident.
 *
 * Schema (version 5; the version lives in the one-row table schema_version, and
 * PRAGMA application_id marks the file as parleyd's):
 *   accounts(id, username UNIQUE, account_key, created_at)
 *   devices(id, account_id -> accounts, device_id, record, identity_key, created_at,
 *           next_seq, pending)            UNIQUE(account_id, device_id)
 *   signed_prekeys(device_ref -> devices PRIMARY KEY, public)
 *   onetime_prekeys(device_ref -> devices, key_id, public)   PRIMARY KEY(device_ref, key_id)
 *   envelopes(id, device_ref -> devices, seq, sender, sender_device, server_ts, ciphertext,
 *           client_message_id)    UNIQUE(device_ref, seq), INDEX(server_ts)
 *   removed_devices(account_id -> accounts, device_id)   PRIMARY KEY(account_id, device_id)
 *   sent_messages(device_ref -> devices, client_message_id, first_ts)
 *           PRIMARY KEY(device_ref, client_message_id), INDEX(first_ts)
 * devices.next_seq is the next sequence number for the device's mailbox and only grows, so a
 * seq is never reused; devices.pending counts its envelopes so quota checks need no scan.
 * Deleting a device cascades to its prekeys, envelopes and send records; removed_devices
 * keeps its id so it is never handed out again.
 * Version 2 added removed_devices, sent_messages and envelopes.client_message_id (16 zero
 * bytes for envelopes stored before).
 * Version 3 added key transparency (store_sqlite_kt.c; research note §3.7, adapted):
 *   kt_versions(id, label, version, state, position, vrf_out, vrf_proof, next_vrf_proof,
 *           commitment)   UNIQUE(label, version); position NULL while pending
 *   kt_entries(position PRIMARY KEY, timestamp, prefix_root, checkpoint, published)
 *   kt_cosignatures(size, witness, line)   PRIMARY KEY(size, witness)
 * The prefix tree and the log's interior hashes are not stored: parleyd rebuilds them in
 * memory from kt_versions and kt_entries at start.
 * Version 4 added attachment blobs' metadata (store_sqlite_blob.c; their bytes are files
 * under DATA/blobs/, blob_store.c):
 *   blobs(id PRIMARY KEY, owner, size, received, complete, expected_fetches, created_at,
 *           expires_at)   INDEX(owner), INDEX(expires_at)
 *   blob_fetches(blob_id -> blobs, username, device_id)   PRIMARY KEY(all three)
 * Version 5 gave the group flag a column and lets the envelopes of one GroupSend share one
 * stored ciphertext (store_sqlite_mailbox.c):
 *   envelopes.is_group (0/1; until v4 it was bit 32 of sender_device, moved by the migration)
 *   envelopes.payload_id -> group_payloads, NULL for an envelope holding its own ciphertext
 *           (then envelopes.ciphertext is empty)   INDEX(payload_id) WHERE NOT NULL
 *   group_payloads(id, ciphertext)   deleted with its last envelope by the trigger
 *           envelopes_release_payload
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store.h"
#include "store_sqlite_internal.h"

#define SQ_APPLICATION_ID 0x506c7944 /* "PlyD" */
#define SQ_SCHEMA_VERSION 5

/* migrations[i] takes the schema from version i to i + 1. Append; never edit. */
static const char *const migrations[SQ_SCHEMA_VERSION] = {
    "CREATE TABLE accounts(id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE,"
    " account_key BLOB NOT NULL, created_at INTEGER NOT NULL) STRICT;"
    "CREATE TABLE devices(id INTEGER PRIMARY KEY,"
    " account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
    " device_id INTEGER NOT NULL, record BLOB NOT NULL, identity_key BLOB NOT NULL,"
    " created_at INTEGER NOT NULL, next_seq INTEGER NOT NULL DEFAULT 1,"
    " pending INTEGER NOT NULL DEFAULT 0, UNIQUE(account_id, device_id)) STRICT;"
    "CREATE TABLE signed_prekeys(device_ref INTEGER PRIMARY KEY"
    " REFERENCES devices(id) ON DELETE CASCADE, public BLOB NOT NULL) STRICT;"
    "CREATE TABLE onetime_prekeys(device_ref INTEGER NOT NULL"
    " REFERENCES devices(id) ON DELETE CASCADE, key_id INTEGER NOT NULL,"
    " public BLOB NOT NULL, PRIMARY KEY(device_ref, key_id)) STRICT, WITHOUT ROWID;"
    "CREATE TABLE envelopes(id INTEGER PRIMARY KEY,"
    " device_ref INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
    " seq INTEGER NOT NULL, sender TEXT NOT NULL, sender_device INTEGER NOT NULL,"
    " server_ts INTEGER NOT NULL, ciphertext BLOB NOT NULL, UNIQUE(device_ref, seq)) STRICT;"
    "CREATE INDEX envelopes_by_time ON envelopes(server_ts);",
    /* 1 -> 2: retired device ids, client message ids, send deduplication. */
    "CREATE TABLE removed_devices(account_id INTEGER NOT NULL"
    " REFERENCES accounts(id) ON DELETE CASCADE, device_id INTEGER NOT NULL,"
    " PRIMARY KEY(account_id, device_id)) STRICT, WITHOUT ROWID;"
    "ALTER TABLE envelopes ADD COLUMN client_message_id BLOB NOT NULL"
    " DEFAULT x'00000000000000000000000000000000';"
    "CREATE TABLE sent_messages(device_ref INTEGER NOT NULL"
    " REFERENCES devices(id) ON DELETE CASCADE, client_message_id BLOB NOT NULL,"
    " first_ts INTEGER NOT NULL, PRIMARY KEY(device_ref, client_message_id)) STRICT,"
    " WITHOUT ROWID;"
    "CREATE INDEX sent_messages_by_time ON sent_messages(first_ts);",
    /* 2 -> 3: key transparency (PROTOCOL.md §23-§24). */
    "CREATE TABLE kt_versions(id INTEGER PRIMARY KEY, label TEXT NOT NULL,"
    " version INTEGER NOT NULL, state BLOB NOT NULL, position INTEGER, vrf_out BLOB,"
    " vrf_proof BLOB, next_vrf_proof BLOB, commitment BLOB, UNIQUE(label, version)) STRICT;"
    "CREATE INDEX kt_versions_pending ON kt_versions(id) WHERE position IS NULL;"
    "CREATE INDEX kt_versions_by_position ON kt_versions(position, vrf_out)"
    " WHERE position IS NOT NULL;"
    "CREATE TABLE kt_entries(position INTEGER PRIMARY KEY, timestamp INTEGER NOT NULL,"
    " prefix_root BLOB NOT NULL, checkpoint TEXT NOT NULL, published TEXT) STRICT;"
    "CREATE TABLE kt_cosignatures(size INTEGER NOT NULL, witness TEXT NOT NULL,"
    " line TEXT NOT NULL, PRIMARY KEY(size, witness)) STRICT, WITHOUT ROWID;",
    /* 3 -> 4: attachment blobs (PROTOCOL.md §27, store_sqlite_blob.c). */
    "CREATE TABLE blobs(id BLOB PRIMARY KEY, owner TEXT NOT NULL, size INTEGER NOT NULL,"
    " received INTEGER NOT NULL DEFAULT 0, complete INTEGER NOT NULL DEFAULT 0,"
    " expected_fetches INTEGER NOT NULL, created_at INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL) STRICT, WITHOUT ROWID;"
    "CREATE INDEX blobs_by_owner ON blobs(owner);"
    "CREATE INDEX blobs_by_expiry ON blobs(expires_at);"
    "CREATE TABLE blob_fetches(blob_id BLOB NOT NULL REFERENCES blobs(id) ON DELETE CASCADE,"
    " username TEXT NOT NULL, device_id INTEGER NOT NULL,"
    " PRIMARY KEY(blob_id, username, device_id)) STRICT, WITHOUT ROWID;",
    /* 4 -> 5: the group flag in a column of its own (it rode in bit 32 of sender_device),
     * and one stored ciphertext per GroupSend (PROTOCOL.md §31.4, store_sqlite_mailbox.c).
     * A NOT EXISTS check in a trigger, not a reference count: it fires for every way an
     * envelope goes, including the cascades of a device's or an account's removal, which
     * no C code sees; there is no counter to drift; and a count kept in the payload's row
     * would rewrite that row (the ciphertext with it) at every acknowledgement. Its cost is
     * one probe of the partial index per deleted shared envelope. No REFERENCES clause: the
     * trigger is the only deleter and checks first, so a foreign key would repeat its probe
     * and add a lookup to each insert; a fetch reports a dangling payload_id as corruption.
     * AUTOINCREMENT: an id is never reused, so even a damaged file cannot hand a dangling
     * payload_id another fan-out's ciphertext (one more row write per GroupSend). */
    "ALTER TABLE envelopes ADD COLUMN is_group INTEGER NOT NULL DEFAULT 0"
    " CHECK (is_group IN (0, 1));"
    "UPDATE envelopes SET is_group = (sender_device >> 32) & 1,"
    " sender_device = sender_device & 4294967295"
    " WHERE sender_device < 0 OR sender_device > 4294967295;"
    "CREATE TABLE group_payloads(id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " ciphertext BLOB NOT NULL) STRICT;"
    "ALTER TABLE envelopes ADD COLUMN payload_id INTEGER;"
    "CREATE INDEX envelopes_by_payload ON envelopes(payload_id) WHERE payload_id IS NOT NULL;"
    "CREATE TRIGGER envelopes_release_payload AFTER DELETE ON envelopes"
    " WHEN old.payload_id IS NOT NULL BEGIN"
    " DELETE FROM group_payloads WHERE id = old.payload_id"
    " AND NOT EXISTS (SELECT 1 FROM envelopes WHERE payload_id = old.payload_id); END;",
};

static const char *const stmt_sql[PL__SQ_STMT_COUNT] = {
#define SQ_STMT_SQL(id, sql) [PL__SQ_##id] = sql,
    PL__SQ_STMT_MAP(SQ_STMT_SQL)
#undef SQ_STMT_SQL
};

/* ---- Errors and statements ------------------------------------------------------------- */

static int map_rc(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_NOMEM:
        return PL_STORE_E_NOMEM;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return PL_STORE_E_BUSY;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return PL_STORE_E_CORRUPT;
    case SQLITE_CONSTRAINT:
        return PL_STORE_E_EXISTS;
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
        return PL_STORE_E_INVALID_ARG;
    default:
        return PL_STORE_E_IO;
    }
}

static void set_err(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;

    if (!buf || len == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

int pl__sq_fail(pl__sq *s, int rc, const char *what)
{
    set_err(s->err, sizeof s->err, "%s: %s (sqlite %d)", what, sqlite3_errmsg(s->db), rc);
    return map_rc(rc);
}

int pl__sq_error(pl__sq *s, int code, const char *msg)
{
    set_err(s->err, sizeof s->err, "%s", msg);
    return code;
}

sqlite3_stmt *pl__sq_stmt(pl__sq *s, enum pl__sq_stmt_id id, int *rc)
{
    int src;

    *rc = PL_STORE_OK;
    if (s->stmt[id]) {
        sqlite3_reset(s->stmt[id]);
        sqlite3_clear_bindings(s->stmt[id]);
        return s->stmt[id];
    }
    src =
        sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[id], NULL);
    if (src != SQLITE_OK) {
        *rc = pl__sq_fail(s, src, "prepare");
        s->stmt[id] = NULL;
        return NULL;
    }
    return s->stmt[id];
}

/* Runs a statement that returns no rows (store_sqlite_internal.h). */
int pl__sq_step_done(pl__sq *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);

    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return pl__sq_fail(s, rc, what);
    return PL_STORE_OK;
}

static int run(pl__sq *s, enum pl__sq_stmt_id id, const char *what)
{
    int r;
    sqlite3_stmt *st = pl__sq_stmt(s, id, &r);

    if (!st)
        return r;
    return pl__sq_step_done(s, st, what);
}

/* Inside a batch: notices that SQLite has rolled the batch's whole transaction back. */
static void batch_check(pl__sq *s)
{
    if (s->batch == PL__SQ_BATCH_OPEN && sqlite3_get_autocommit(s->db)) {
        s->batch = PL__SQ_BATCH_LOST;
        s->op_open = 0;
    }
}

int pl__sq_begin(pl__sq *s)
{
    int r;

    if (s->batch == PL__SQ_NO_BATCH)
        return run(s, PL__SQ_BEGIN, "begin");
    batch_check(s);
    if (s->batch == PL__SQ_BATCH_LOST)
        return pl__sq_error(s, PL_STORE_E_IO, "the batch was rolled back by an earlier error");
    if ((r = run(s, PL__SQ_SAVEPOINT, "savepoint")) == PL_STORE_OK)
        s->op_open = 1;
    else
        batch_check(s);
    return r;
}

int pl__sq_commit(pl__sq *s)
{
    int r;

    if (s->batch == PL__SQ_NO_BATCH) {
        if ((r = run(s, PL__SQ_COMMIT, "commit")) != PL_STORE_OK)
            pl__sq_rollback(s);
        return r;
    }
    /* The batch's COMMIT will make this durable; RELEASE keeps the changes in it. */
    if ((r = run(s, PL__SQ_RELEASE, "release savepoint")) == PL_STORE_OK)
        s->op_open = 0;
    else
        pl__sq_rollback(s);
    return r;
}

void pl__sq_rollback(pl__sq *s)
{
    if (s->batch == PL__SQ_NO_BATCH) {
        /* After some errors SQLite has already rolled back; then there is nothing to undo. */
        if (!sqlite3_get_autocommit(s->db))
            (void)run(s, PL__SQ_ROLLBACK, "rollback");
        return;
    }
    batch_check(s);
    if (!s->op_open)
        return;
    /* ROLLBACK TO undoes the operation but keeps its savepoint open; RELEASE ends it. */
    (void)run(s, PL__SQ_ROLLBACK_TO, "roll back savepoint");
    (void)run(s, PL__SQ_RELEASE, "release savepoint");
    s->op_open = 0;
    batch_check(s);
}

int pl__sq_check_username(pl__sq *s, const char *username)
{
    size_t len = 0;

    while (username && len <= PL_STORE_USERNAME_MAX && username[len])
        len++;
    if (len == 0 || len > PL_STORE_USERNAME_MAX)
        return pl__sq_error(s, PL_STORE_E_INVALID_ARG, "username length out of range");
    return PL_STORE_OK;
}

int pl__sq_device_ref(pl__sq *s, const char *username, uint32_t device_id, int64_t *ref)
{
    int r, rc;
    sqlite3_stmt *st;

    if ((r = pl__sq_check_username(s, username)) != PL_STORE_OK)
        return r;
    if (!(st = pl__sq_stmt(s, PL__SQ_DEVICE_REF, &r)))
        return r;
    if ((rc = sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 2, device_id)) != SQLITE_OK) {
        r = pl__sq_fail(s, rc, "bind");
        goto out;
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *ref = sqlite3_column_int64(st, 0);
        r = PL_STORE_OK;
    } else if (rc == SQLITE_DONE) {
        r = pl__sq_error(s, PL_STORE_E_NOT_FOUND, "no such device");
    } else {
        r = pl__sq_fail(s, rc, "find device");
    }
out:
    sqlite3_reset(st);
    return r;
}

/* Copies a blob column of exactly len bytes to out; anything else is corruption. */
static int column_fixed(pl__sq *s, sqlite3_stmt *st, int col, uint8_t *out, size_t len)
{
    const void *p = sqlite3_column_blob(st, col);
    int n = sqlite3_column_bytes(st, col);

    if (!p || n < 0 || (size_t)n != len)
        return pl__sq_error(s, PL_STORE_E_CORRUPT, "stored key or record has the wrong size");
    memcpy(out, p, len);
    return PL_STORE_OK;
}

/* ---- Accounts --------------------------------------------------------------------------- */

static int sq_account_create(pl_store *store, const char *username,
                             const uint8_t account_key[PL_PUBKEY_BYTES], uint64_t created_at_ms)
{
    pl__sq *s = (pl__sq *)store;
    sqlite3_stmt *st;
    int r, rc;

    if ((r = pl__sq_check_username(s, username)) != PL_STORE_OK)
        return r;
    /* One INSERT would be atomic alone, but inside a batch it must not run outside it. */
    if ((r = pl__sq_begin(s)) != PL_STORE_OK)
        return r;
    if (!(st = pl__sq_stmt(s, PL__SQ_ACCOUNT_INSERT, &r)))
        goto out;
    if ((rc = sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC)) != SQLITE_OK ||
        (rc = sqlite3_bind_blob(st, 2, account_key, PL_PUBKEY_BYTES, SQLITE_STATIC)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 3, (sqlite3_int64)created_at_ms)) != SQLITE_OK) {
        r = pl__sq_fail(s, rc, "bind");
        sqlite3_reset(st);
        goto out;
    }
    if ((r = pl__sq_step_done(s, st, "create account")) != PL_STORE_OK) {
        if (r == PL_STORE_E_EXISTS)
            r = pl__sq_error(s, r, "username taken");
        goto out;
    }
    r = pl__sq_commit(s);
out:
    if (r != PL_STORE_OK)
        pl__sq_rollback(s);
    return r;
}

static int sq_account_get(pl_store *store, const char *username, pl_store_account *out)
{
    pl__sq *s = (pl__sq *)store;
    sqlite3_stmt *st;
    int r, rc;

    memset(out, 0, sizeof *out);
    if ((r = pl__sq_check_username(s, username)) != PL_STORE_OK)
        return r;
    if (!(st = pl__sq_stmt(s, PL__SQ_ACCOUNT_GET, &r)))
        return r;
    if ((rc = sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC)) != SQLITE_OK) {
        r = pl__sq_fail(s, rc, "bind");
        goto out;
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        r = pl__sq_error(s, PL_STORE_E_NOT_FOUND, "no such account");
        goto out;
    }
    if (rc != SQLITE_ROW) {
        r = pl__sq_fail(s, rc, "get account");
        goto out;
    }
    if ((r = column_fixed(s, st, 1, out->account_key, PL_PUBKEY_BYTES)) != PL_STORE_OK)
        goto out;
    memcpy(out->username, username, strlen(username) + 1);
    out->created_at_ms = (uint64_t)sqlite3_column_int64(st, 2);
    r = PL_STORE_OK;
out:
    sqlite3_reset(st);
    if (r != PL_STORE_OK)
        memset(out, 0, sizeof *out);
    return r;
}

/* ---- Devices ---------------------------------------------------------------------------- */

/* Reads the account row id inside a transaction. */
static int account_id(pl__sq *s, const char *username, int64_t *id)
{
    sqlite3_stmt *st;
    int r, rc;

    if (!(st = pl__sq_stmt(s, PL__SQ_ACCOUNT_GET, &r)))
        return r;
    if ((rc = sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC)) != SQLITE_OK) {
        r = pl__sq_fail(s, rc, "bind");
    } else if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        r = PL_STORE_OK;
    } else if (rc == SQLITE_DONE) {
        r = pl__sq_error(s, PL_STORE_E_NOT_FOUND, "no such account");
    } else {
        r = pl__sq_fail(s, rc, "find account");
    }
    sqlite3_reset(st);
    return r;
}

/* PL_STORE_E_EXISTS if the account has a device with this id or had one that was removed. */
static int device_id_used(pl__sq *s, int64_t acct, uint32_t device_id)
{
    sqlite3_stmt *st;
    int r, rc;

    if (!(st = pl__sq_stmt(s, PL__SQ_DEVICE_ID_USED, &r)))
        return r;
    if ((rc = sqlite3_bind_int64(st, 1, acct)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 2, device_id)) != SQLITE_OK)
        r = pl__sq_fail(s, rc, "bind");
    else if ((rc = sqlite3_step(st)) == SQLITE_ROW)
        r = pl__sq_error(s, PL_STORE_E_EXISTS, "device id taken or retired");
    else if (rc == SQLITE_DONE)
        r = PL_STORE_OK;
    else
        r = pl__sq_fail(s, rc, "look up device id");
    sqlite3_reset(st);
    return r;
}

static int sq_device_add(pl_store *store, const char *username, const pl_store_device *device)
{
    pl__sq *s = (pl__sq *)store;
    sqlite3_stmt *st;
    int64_t acct = 0;
    int r, rc;

    if ((r = pl__sq_check_username(s, username)) != PL_STORE_OK)
        return r;
    if ((r = pl__sq_begin(s)) != PL_STORE_OK)
        return r;
    if ((r = account_id(s, username, &acct)) != PL_STORE_OK ||
        (r = device_id_used(s, acct, device->device_id)) != PL_STORE_OK)
        goto out;
    if (!(st = pl__sq_stmt(s, PL__SQ_DEVICE_COUNT, &r)))
        goto out;
    if ((rc = sqlite3_bind_int64(st, 1, acct)) != SQLITE_OK ||
        (rc = sqlite3_step(st)) != SQLITE_ROW) {
        r = pl__sq_fail(s, rc, "count devices");
        sqlite3_reset(st);
        goto out;
    }
    rc = sqlite3_column_int(st, 0);
    sqlite3_reset(st);
    if (rc < 0 || (uint32_t)rc >= s->opt.max_devices) {
        r = pl__sq_error(s, PL_STORE_E_LIMIT, "account has the maximum number of devices");
        goto out;
    }
    if (!(st = pl__sq_stmt(s, PL__SQ_DEVICE_INSERT, &r)))
        goto out;
    if ((rc = sqlite3_bind_int64(st, 1, acct)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 2, device->device_id)) != SQLITE_OK ||
        (rc = sqlite3_bind_blob(st, 3, device->record, PL_DEVICE_RECORD_BYTES, SQLITE_STATIC)) !=
            SQLITE_OK ||
        (rc = sqlite3_bind_blob(st, 4, device->identity_key, PL_PUBKEY_BYTES, SQLITE_STATIC)) !=
            SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 5, (sqlite3_int64)device->created_at_ms)) != SQLITE_OK) {
        r = pl__sq_fail(s, rc, "bind");
        sqlite3_reset(st);
        goto out;
    }
    if ((r = pl__sq_step_done(s, st, "add device")) != PL_STORE_OK) {
        if (r == PL_STORE_E_EXISTS)
            r = pl__sq_error(s, r, "device id taken");
        goto out;
    }
    r = pl__sq_commit(s);
out:
    if (r != PL_STORE_OK)
        pl__sq_rollback(s);
    return r;
}

static int sq_device_remove(pl_store *store, const char *username, uint32_t device_id)
{
    pl__sq *s = (pl__sq *)store;
    sqlite3_stmt *st;
    int64_t ref = 0;
    int r, rc;

    if ((r = pl__sq_begin(s)) != PL_STORE_OK)
        return r;
    if ((r = pl__sq_device_ref(s, username, device_id, &ref)) != PL_STORE_OK)
        goto out;
    /* Retire the id first: the row it copies from is deleted next. */
    if (!(st = pl__sq_stmt(s, PL__SQ_DEVICE_RETIRE, &r)))
        goto out;
    if ((rc = sqlite3_bind_int64(st, 1, ref)) != SQLITE_OK) {
        r = pl__sq_fail(s, rc, "bind");
        goto out;
    }
    if ((r = pl__sq_step_done(s, st, "retire device id")) != PL_STORE_OK)
        goto out;
    if (!(st = pl__sq_stmt(s, PL__SQ_DEVICE_DELETE, &r)))
        goto out;
    if ((rc = sqlite3_bind_int64(st, 1, ref)) != SQLITE_OK) {
        r = pl__sq_fail(s, rc, "bind");
        goto out;
    }
    if ((r = pl__sq_step_done(s, st, "remove device")) != PL_STORE_OK)
        goto out;
    r = pl__sq_commit(s);
out:
    if (r != PL_STORE_OK)
        pl__sq_rollback(s);
    return r;
}

static int read_device(pl__sq *s, sqlite3_stmt *st, pl_store_device *out)
{
    int r;

    memset(out, 0, sizeof *out);
    out->device_id = (uint32_t)sqlite3_column_int64(st, 0);
    if ((r = column_fixed(s, st, 1, out->record, PL_DEVICE_RECORD_BYTES)) != PL_STORE_OK ||
        (r = column_fixed(s, st, 2, out->identity_key, PL_PUBKEY_BYTES)) != PL_STORE_OK)
        return r;
    out->created_at_ms = (uint64_t)sqlite3_column_int64(st, 3);
    return PL_STORE_OK;
}

static int sq_device_get(pl_store *store, const char *username, uint32_t device_id,
                         pl_store_device *out)
{
    pl__sq *s = (pl__sq *)store;
    sqlite3_stmt *st;
    int r, rc;

    memset(out, 0, sizeof *out);
    if ((r = pl__sq_check_username(s, username)) != PL_STORE_OK)
        return r;
    if (!(st = pl__sq_stmt(s, PL__SQ_DEVICE_GET, &r)))
        return r;
    if ((rc = sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 2, device_id)) != SQLITE_OK) {
        r = pl__sq_fail(s, rc, "bind");
        goto out;
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        r = read_device(s, st, out);
    else if (rc == SQLITE_DONE)
        r = pl__sq_error(s, PL_STORE_E_NOT_FOUND, "no such device");
    else
        r = pl__sq_fail(s, rc, "get device");
out:
    sqlite3_reset(st);
    if (r != PL_STORE_OK)
        memset(out, 0, sizeof *out);
    return r;
}

static int sq_device_list(pl_store *store, const char *username,
                          pl_store_device out[PL_STORE_DEVICES_MAX], size_t *count)
{
    pl__sq *s = (pl__sq *)store;
    sqlite3_stmt *st;
    size_t n = 0;
    int64_t acct;
    int r, rc;

    *count = 0;
    if ((r = pl__sq_check_username(s, username)) != PL_STORE_OK)
        return r;
    if (!(st = pl__sq_stmt(s, PL__SQ_DEVICE_LIST, &r)))
        return r;
    if ((rc = sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 2, PL_STORE_DEVICES_MAX)) != SQLITE_OK) {
        r = pl__sq_fail(s, rc, "bind");
        goto out;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if ((r = read_device(s, st, &out[n])) != PL_STORE_OK)
            goto out;
        n++;
    }
    if (rc != SQLITE_DONE) {
        r = pl__sq_fail(s, rc, "list devices");
        goto out;
    }
    sqlite3_reset(st);
    /* No rows: tell an account without devices from no account. */
    if (n == 0 && (r = account_id(s, username, &acct)) != PL_STORE_OK)
        goto out;
    *count = n;
    r = PL_STORE_OK;
out:
    sqlite3_reset(st);
    return r;
}

/* ---- Prekeys ---------------------------------------------------------------------------- */

static int sq_signed_prekey_put(pl_store *store, const char *username, uint32_t device_id,
                                const uint8_t prekey[PL_SIGNED_PREKEY_PUBLIC_BYTES])
{
    pl__sq *s = (pl__sq *)store;
    sqlite3_stmt *st;
    int64_t ref = 0;
    int r, rc;

    if ((r = pl__sq_begin(s)) != PL_STORE_OK)
        return r;
    if ((r = pl__sq_device_ref(s, username, device_id, &ref)) != PL_STORE_OK)
        goto out;
    if (!(st = pl__sq_stmt(s, PL__SQ_SPK_PUT, &r)))
        goto out;
    if ((rc = sqlite3_bind_int64(st, 1, ref)) != SQLITE_OK ||
        (rc = sqlite3_bind_blob(st, 2, prekey, PL_SIGNED_PREKEY_PUBLIC_BYTES, SQLITE_STATIC)) !=
            SQLITE_OK) {
        r = pl__sq_fail(s, rc, "bind");
        sqlite3_reset(st);
        goto out;
    }
    if ((r = pl__sq_step_done(s, st, "put signed prekey")) != PL_STORE_OK)
        goto out;
    r = pl__sq_commit(s);
out:
    if (r != PL_STORE_OK)
        pl__sq_rollback(s);
    return r;
}

static int sq_signed_prekey_get(pl_store *store, const char *username, uint32_t device_id,
                                uint8_t out[PL_SIGNED_PREKEY_PUBLIC_BYTES])
{
    pl__sq *s = (pl__sq *)store;
    sqlite3_stmt *st;
    int64_t ref = 0;
    int r, rc;

    memset(out, 0, PL_SIGNED_PREKEY_PUBLIC_BYTES);
    if ((r = pl__sq_device_ref(s, username, device_id, &ref)) != PL_STORE_OK)
        return r;
    if (!(st = pl__sq_stmt(s, PL__SQ_SPK_GET, &r)))
        return r;
    if ((rc = sqlite3_bind_int64(st, 1, ref)) != SQLITE_OK) {
        r = pl__sq_fail(s, rc, "bind");
    } else if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        r = column_fixed(s, st, 0, out, PL_SIGNED_PREKEY_PUBLIC_BYTES);
    } else if (rc == SQLITE_DONE) {
        r = pl__sq_error(s, PL_STORE_E_NOT_FOUND, "device has no signed prekey");
    } else {
        r = pl__sq_fail(s, rc, "get signed prekey");
    }
    sqlite3_reset(st);
    if (r != PL_STORE_OK)
        memset(out, 0, PL_SIGNED_PREKEY_PUBLIC_BYTES);
    return r;
}

static int otk_count(pl__sq *s, int64_t ref, size_t *count)
{
    sqlite3_stmt *st;
    int r, rc;

    if (!(st = pl__sq_stmt(s, PL__SQ_OTK_COUNT, &r)))
        return r;
    if ((rc = sqlite3_bind_int64(st, 1, ref)) != SQLITE_OK ||
        (rc = sqlite3_step(st)) != SQLITE_ROW) {
        r = pl__sq_fail(s, rc, "count one-time prekeys");
    } else {
        *count = (size_t)sqlite3_column_int64(st, 0);
        r = PL_STORE_OK;
    }
    sqlite3_reset(st);
    return r;
}

static int sq_onetime_prekeys_add(pl_store *store, const char *username, uint32_t device_id,
                                  const pl_store_onetime_prekey *keys, size_t n)
{
    pl__sq *s = (pl__sq *)store;
    sqlite3_stmt *st;
    int64_t ref = 0;
    size_t have = 0, i;
    int r, rc;

    if (n > s->opt.max_onetime_prekeys)
        return pl__sq_error(s, PL_STORE_E_LIMIT, "too many one-time prekeys");
    if ((r = pl__sq_begin(s)) != PL_STORE_OK)
        return r;
    if ((r = pl__sq_device_ref(s, username, device_id, &ref)) != PL_STORE_OK ||
        (r = otk_count(s, ref, &have)) != PL_STORE_OK)
        goto out;
    if (have + n > s->opt.max_onetime_prekeys) {
        r = pl__sq_error(s, PL_STORE_E_LIMIT, "one-time prekey stock would exceed its limit");
        goto out;
    }
    for (i = 0; i < n; i++) {
        if (!(st = pl__sq_stmt(s, PL__SQ_OTK_INSERT, &r)))
            goto out;
        if ((rc = sqlite3_bind_int64(st, 1, ref)) != SQLITE_OK ||
            (rc = sqlite3_bind_int64(st, 2, keys[i].id)) != SQLITE_OK ||
            (rc = sqlite3_bind_blob(st, 3, keys[i].public_part, PL_ONETIME_PREKEY_PUBLIC_BYTES,
                                    SQLITE_STATIC)) != SQLITE_OK) {
            r = pl__sq_fail(s, rc, "bind");
            sqlite3_reset(st);
            goto out;
        }
        if ((r = pl__sq_step_done(s, st, "add one-time prekey")) != PL_STORE_OK) {
            if (r == PL_STORE_E_EXISTS)
                r = pl__sq_error(s, r, "one-time prekey id already in stock");
            goto out;
        }
    }
    r = pl__sq_commit(s);
out:
    if (r != PL_STORE_OK)
        pl__sq_rollback(s);
    return r;
}

static int sq_onetime_prekey_claim(pl_store *store, const char *username, uint32_t device_id,
                                   pl_store_onetime_prekey *out, size_t *remaining)
{
    pl__sq *s = (pl__sq *)store;
    sqlite3_stmt *st;
    pl_store_onetime_prekey got;
    int64_t ref = 0;
    size_t left = 0;
    int r, rc;

    memset(out, 0, sizeof *out);
    memset(&got, 0, sizeof got);
    if (remaining)
        *remaining = 0;
    /* BEGIN IMMEDIATE takes the write lock first, so the delete-and-return below cannot race
     * another connection's: the loser waits, then sees the key gone. */
    if ((r = pl__sq_begin(s)) != PL_STORE_OK)
        return r;
    if ((r = pl__sq_device_ref(s, username, device_id, &ref)) != PL_STORE_OK)
        goto out;
    if (!(st = pl__sq_stmt(s, PL__SQ_OTK_CLAIM, &r)))
        goto out;
    if ((rc = sqlite3_bind_int64(st, 1, ref)) != SQLITE_OK) {
        r = pl__sq_fail(s, rc, "bind");
        goto out;
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        r = pl__sq_error(s, PL_STORE_E_EMPTY, "no one-time prekey left");
        sqlite3_reset(st);
        goto out;
    }
    if (rc != SQLITE_ROW) {
        r = pl__sq_fail(s, rc, "claim one-time prekey");
        sqlite3_reset(st);
        goto out;
    }
    got.id = (uint32_t)sqlite3_column_int64(st, 0);
    r = column_fixed(s, st, 1, got.public_part, PL_ONETIME_PREKEY_PUBLIC_BYTES);
    /* RETURNING rows are computed before the first one is handed out; finish the statement
     * so the delete is complete before commit. */
    if (r == PL_STORE_OK && (rc = sqlite3_step(st)) != SQLITE_DONE)
        r = pl__sq_fail(s, rc, "claim one-time prekey");
    sqlite3_reset(st);
    if (r != PL_STORE_OK || (r = otk_count(s, ref, &left)) != PL_STORE_OK ||
        (r = pl__sq_commit(s)) != PL_STORE_OK)
        goto out;
    *out = got;
    if (remaining)
        *remaining = left;
out:
    if (r != PL_STORE_OK)
        pl__sq_rollback(s);
    return r;
}

static int sq_onetime_prekey_count(pl_store *store, const char *username, uint32_t device_id,
                                   size_t *count)
{
    pl__sq *s = (pl__sq *)store;
    int64_t ref = 0;
    int r;

    *count = 0;
    if ((r = pl__sq_device_ref(s, username, device_id, &ref)) != PL_STORE_OK)
        return r;
    return otk_count(s, ref, count);
}

/* ---- Batches ----------------------------------------------------------------------------- */

static int sq_batch_begin(pl_store *store)
{
    pl__sq *s = (pl__sq *)store;
    int r;

    if (s->batch != PL__SQ_NO_BATCH)
        return pl__sq_error(s, PL_STORE_E_INVALID_ARG, "a batch is already open");
    if ((r = run(s, PL__SQ_BEGIN, "begin batch")) != PL_STORE_OK)
        return r;
    s->batch = PL__SQ_BATCH_OPEN;
    s->op_open = 0;
    return PL_STORE_OK;
}

static int sq_batch_commit(pl_store *store)
{
    pl__sq *s = (pl__sq *)store;
    int r;

    if (s->batch == PL__SQ_NO_BATCH)
        return pl__sq_error(s, PL_STORE_E_INVALID_ARG, "no batch is open");
    batch_check(s);
    if (s->batch == PL__SQ_BATCH_LOST) {
        r = pl__sq_error(s, PL_STORE_E_IO, "the batch was rolled back by an earlier error");
    } else if ((r = run(s, PL__SQ_COMMIT, "commit batch")) != PL_STORE_OK &&
               !sqlite3_get_autocommit(s->db)) {
        (void)run(s, PL__SQ_ROLLBACK, "roll back batch");
    }
    s->batch = PL__SQ_NO_BATCH;
    s->op_open = 0;
    s->group_open = 0;
    return r;
}

static void sq_batch_rollback(pl_store *store)
{
    pl__sq *s = (pl__sq *)store;

    if (s->batch == PL__SQ_NO_BATCH)
        return;
    if (!sqlite3_get_autocommit(s->db))
        (void)run(s, PL__SQ_ROLLBACK, "roll back batch");
    s->batch = PL__SQ_NO_BATCH;
    s->op_open = 0;
    s->group_open = 0;
}

static int sq_group_begin(pl_store *store)
{
    pl__sq *s = (pl__sq *)store;
    int r;

    if (s->batch == PL__SQ_NO_BATCH || s->group_open || s->op_open)
        return pl__sq_error(s, PL_STORE_E_INVALID_ARG, "a group needs an open batch, no group");
    batch_check(s);
    if (s->batch == PL__SQ_BATCH_LOST)
        return pl__sq_error(s, PL_STORE_E_IO, "the batch was rolled back by an earlier error");
    if ((r = run(s, PL__SQ_GROUP_BEGIN, "group savepoint")) == PL_STORE_OK)
        s->group_open = 1;
    batch_check(s);
    return r;
}

static int sq_group_end(pl_store *store, int keep)
{
    pl__sq *s = (pl__sq *)store;
    int r = PL_STORE_OK;

    if (!s->group_open)
        return pl__sq_error(s, PL_STORE_E_INVALID_ARG, "no group is open");
    batch_check(s);
    if (s->batch == PL__SQ_BATCH_LOST) {
        s->group_open = 0;
        return pl__sq_error(s, PL_STORE_E_IO, "the batch was rolled back by an earlier error");
    }
    if (keep)
        r = run(s, PL__SQ_GROUP_RELEASE, "release group");
    if (!keep || r != PL_STORE_OK) {
        (void)run(s, PL__SQ_GROUP_ROLLBACK_TO, "roll back group");
        (void)run(s, PL__SQ_GROUP_RELEASE, "release group");
    }
    s->group_open = 0;
    batch_check(s);
    return r;
}

/* ---- Opening, migrations and closing ----------------------------------------------------- */

static const char *sq_last_error(const pl_store *store)
{
    return ((const pl__sq *)store)->err;
}

static void sq_close(pl_store *store)
{
    pl__sq *s = (pl__sq *)store;
    size_t i;

    if (!s)
        return;
    for (i = 0; i < PL__SQ_STMT_COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    sqlite3_close(s->db);
    free(s);
}

static const struct pl_store_ops sq_ops = {
    .name = "sqlite",
    .close = sq_close,
    .last_error = sq_last_error,
    .account_create = sq_account_create,
    .account_get = sq_account_get,
    .device_add = sq_device_add,
    .device_remove = sq_device_remove,
    .device_get = sq_device_get,
    .device_list = sq_device_list,
    .signed_prekey_put = sq_signed_prekey_put,
    .signed_prekey_get = sq_signed_prekey_get,
    .onetime_prekeys_add = sq_onetime_prekeys_add,
    .onetime_prekey_claim = sq_onetime_prekey_claim,
    .onetime_prekey_count = sq_onetime_prekey_count,
    .mailbox_append = pl__sq_mailbox_append,
    .mailbox_fetch = pl__sq_mailbox_fetch,
    .mailbox_ack = pl__sq_mailbox_ack,
    .mailbox_count = pl__sq_mailbox_count,
    .mailbox_expire = pl__sq_mailbox_expire,
    .send_record = pl__sq_send_record,
    .kt_state_add = pl__sq_kt_state_add,
    .kt_version_get = pl__sq_kt_version_get,
    .kt_pending = pl__sq_kt_pending,
    .kt_entry_append = pl__sq_kt_entry_append,
    .kt_entry_publish = pl__sq_kt_entry_publish,
    .kt_entries = pl__sq_kt_entries,
    .kt_leaves = pl__sq_kt_leaves,
    .kt_cosignature_put = pl__sq_kt_cosignature_put,
    .kt_cosignatures = pl__sq_kt_cosignatures,
    .blob_create = pl__sq_blob_create,
    .blob_get = pl__sq_blob_get,
    .blob_update = pl__sq_blob_update,
    .blob_fetched = pl__sq_blob_fetched,
    .blob_expire = pl__sq_blob_expire,
    .batch_begin = sq_batch_begin,
    .batch_commit = sq_batch_commit,
    .batch_rollback = sq_batch_rollback,
    .group_begin = sq_group_begin,
    .group_end = sq_group_end,
};

/* Runs sql and returns its first column of its first row as an integer (0 if no row). */
static int query_int(pl__sq *s, const char *sql, int64_t *value)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);

    *value = 0;
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            *value = sqlite3_column_int64(st, 0);
        if (rc == SQLITE_ROW || rc == SQLITE_DONE)
            rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? PL_STORE_OK : pl__sq_fail(s, rc, sql);
}

static int exec(pl__sq *s, const char *sql, const char *what)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

    return rc == SQLITE_OK ? PL_STORE_OK : pl__sq_fail(s, rc, what);
}

static int migrate(pl__sq *s)
{
    int64_t app = 0, version = 0, rows = 0;
    char sql[96];
    int r;

    if ((r = pl__sq_begin(s)) != PL_STORE_OK)
        return r;
    if ((r = query_int(s, "PRAGMA application_id", &app)) != PL_STORE_OK)
        goto out;
    if (app != 0 && app != SQ_APPLICATION_ID) {
        r = pl__sq_error(s, PL_STORE_E_CORRUPT, "not a parleyd database (application_id)");
        goto out;
    }
    if ((r = exec(s, "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL) STRICT",
                  "create schema_version")) != PL_STORE_OK ||
        (r = query_int(s, "SELECT count(*) FROM schema_version", &rows)) != PL_STORE_OK ||
        (r = query_int(s, "SELECT version FROM schema_version", &version)) != PL_STORE_OK)
        goto out;
    if (rows > 1 || version < 0) {
        r = pl__sq_error(s, PL_STORE_E_CORRUPT, "schema_version table is damaged");
        goto out;
    }
    if (version > SQ_SCHEMA_VERSION) {
        set_err(s->err, sizeof s->err,
                "database schema version %lld is newer than this parleyd's (%d)",
                (long long)version, SQ_SCHEMA_VERSION);
        r = PL_STORE_E_VERSION;
        goto out;
    }
    for (; version < SQ_SCHEMA_VERSION; version++) {
        if ((r = exec(s, migrations[version], "migrate schema")) != PL_STORE_OK)
            goto out;
    }
    snprintf(sql, sizeof sql, "DELETE FROM schema_version; INSERT INTO schema_version VALUES (%d)",
             SQ_SCHEMA_VERSION);
    if ((r = exec(s, sql, "record schema version")) != PL_STORE_OK)
        goto out;
    snprintf(sql, sizeof sql, "PRAGMA application_id = %d", SQ_APPLICATION_ID);
    if ((r = exec(s, sql, "set application_id")) != PL_STORE_OK)
        goto out;
    r = pl__sq_commit(s);
out:
    if (r != PL_STORE_OK)
        pl__sq_rollback(s);
    return r;
}

static int check_options(const pl_store_options *in, pl_store_options *o)
{
    static const pl_store_options zero;

    *o = in ? *in : zero;
    if (!o->max_devices)
        o->max_devices = PL_STORE_DEFAULT_MAX_DEVICES;
    if (!o->max_onetime_prekeys)
        o->max_onetime_prekeys = PL_STORE_DEFAULT_MAX_ONETIME_PREKEYS;
    if (!o->mailbox_quota)
        o->mailbox_quota = PL_STORE_DEFAULT_MAILBOX_QUOTA;
    if (!o->retention_ms)
        o->retention_ms = PL_STORE_DEFAULT_RETENTION_MS;
    if (!o->busy_timeout_ms)
        o->busy_timeout_ms = PL_STORE_DEFAULT_BUSY_TIMEOUT_MS;
    if (o->max_devices > PL_STORE_DEVICES_MAX ||
        o->max_onetime_prekeys > PL_STORE_ONETIME_PREKEYS_MAX ||
        o->busy_timeout_ms > (uint32_t)INT32_MAX || o->retention_ms > (uint64_t)INT64_MAX)
        return PL_STORE_E_INVALID_ARG;
    return PL_STORE_OK;
}

int pl_store_open_sqlite(const char *path, const pl_store_options *opts, pl_store **out, char *err,
                         size_t err_len)
{
    pl__sq *s = NULL;
    int64_t wal = 0;
    char mode[16] = "";
    sqlite3_stmt *st = NULL;
    int r, rc;

    *out = NULL;
    set_err(err, err_len, "%s", "");
    r = PL_STORE_E_NOMEM;
    if (!(s = calloc(1, sizeof *s))) {
        set_err(err, err_len, "out of memory");
        goto out;
    }
    s->base.ops = &sq_ops;
    /* SQLite's memory statistics take a global mutex on every allocation; parleyd never reads
     * them. Only possible before SQLite initialises (the first open); later calls fail
     * harmlessly with SQLITE_MISUSE. */
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    if ((r = check_options(opts, &s->opt)) != PL_STORE_OK) {
        pl__sq_error(s, r, "store option out of range");
        goto out;
    }
    rc = sqlite3_open_v2(path, &s->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        r = s->db ? pl__sq_fail(s, rc, "open") : PL_STORE_E_NOMEM;
        goto out;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, (int)s->opt.busy_timeout_ms);
    if ((r = exec(s, "PRAGMA foreign_keys = ON", "enable foreign keys")) != PL_STORE_OK)
        goto out;
    /* journal_mode answers with the mode in force; anything but "wal" means no WAL. */
    rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *m = sqlite3_column_text(st, 0);
        snprintf(mode, sizeof mode, "%s", m ? (const char *)m : "");
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st); /* an unfinished statement would block every later COMMIT */
    st = NULL;
    if (rc != SQLITE_OK) {
        r = pl__sq_fail(s, rc, "enable WAL");
        goto out;
    }
    if (strcmp(mode, "wal") != 0) {
        r = pl__sq_error(s, PL_STORE_E_IO, "the database refused WAL journal mode");
        goto out;
    }
    if ((r = exec(s, "PRAGMA synchronous = FULL", "set synchronous")) != PL_STORE_OK ||
        (r = query_int(s, "PRAGMA synchronous", &wal)) != PL_STORE_OK)
        goto out;
    if (wal != 2) {
        r = pl__sq_error(s, PL_STORE_E_IO, "the database refused synchronous=FULL");
        goto out;
    }
    if ((r = migrate(s)) != PL_STORE_OK)
        goto out;
    *out = &s->base; /* hand over */
    s = NULL;
    r = PL_STORE_OK;
out:
    sqlite3_finalize(st);
    if (s) {
        if (r != PL_STORE_OK)
            set_err(err, err_len, "%s: %s", path, s->err);
        sq_close(&s->base);
    }
    return r;
}
