/* audit_db.c: the auditor's SQLite database (audit_db.h). */
#define _POSIX_C_SOURCE 200809L
#include "audit_db.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>
#include <sodium.h>

#include "parley/error.h"

#define LOCK_FILE "audit.lock"
/* Most leaves one stored entry may have when loaded (a frame of 1 MiB holds ~16k). */
#define LOAD_MAX_LEAVES_PER_ENTRY (1u << 20)

struct pl_audit_db {
    sqlite3 *db;
    int lock_fd;
    char err[512];
};

static const char schema[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value ANY) STRICT;"
    "CREATE TABLE log_config(id INTEGER PRIMARY KEY CHECK (id = 1), origin TEXT NOT NULL,"
    " log_vkey TEXT NOT NULL, text TEXT NOT NULL, pinned_at_ms INTEGER NOT NULL) STRICT;"
    "CREATE TABLE witness(id INTEGER PRIMARY KEY CHECK (id = 1), size INTEGER NOT NULL,"
    " root BLOB NOT NULL CHECK (length(root) = 32), note TEXT NOT NULL,"
    " updated_at_ms INTEGER NOT NULL) STRICT;"
    "CREATE TABLE entries(position INTEGER PRIMARY KEY, timestamp_ms INTEGER NOT NULL,"
    " prefix_root BLOB NOT NULL CHECK (length(prefix_root) = 32)) STRICT;"
    "CREATE TABLE leaves(vrf_out BLOB PRIMARY KEY CHECK (length(vrf_out) = 32),"
    " commitment BLOB NOT NULL CHECK (length(commitment) = 32),"
    " position INTEGER NOT NULL) STRICT, WITHOUT ROWID;"
    "CREATE INDEX leaves_by_position ON leaves(position, vrf_out);"
    "CREATE TABLE cosignatures(size INTEGER NOT NULL, root BLOB NOT NULL, line TEXT NOT NULL,"
    " cosigned_at_ms INTEGER NOT NULL) STRICT;"
    "CREATE TABLE evidence(id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, reason TEXT NOT NULL,"
    " code TEXT NOT NULL, detail TEXT NOT NULL, known_size INTEGER NOT NULL, note TEXT,"
    " consistency BLOB, entry_position INTEGER, entry BLOB) STRICT;"
    "CREATE TABLE halt(id INTEGER PRIMARY KEY CHECK (id = 1), since_ms INTEGER NOT NULL,"
    " reason TEXT NOT NULL, evidence_id INTEGER) STRICT;";

static int errf(pl_audit_db *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes the message into db->err, cut to its size (a long SQLite message is cut, not an
 * error), and returns -1. */
static int errf(pl_audit_db *db, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(db->err, sizeof db->err, fmt, ap);
    va_end(ap);
    return -1;
}

static int dbfail(pl_audit_db *db, const char *what)
{
    return errf(db, "audit.db: %s: %s", what, sqlite3_errmsg(db->db));
}

static int exec(pl_audit_db *db, const char *sql)
{
    return sqlite3_exec(db->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : dbfail(db, sql);
}

static int path_of(char *out, size_t cap, const char *dir, const char *file)
{
    int n = snprintf(out, cap, "%s/%s", dir, file);

    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* Opens the file with the settings every connection needs. */
static int open_sqlite(pl_audit_db *db, const char *path, int flags)
{
    if (sqlite3_open_v2(path, &db->db, flags | SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK)
        return dbfail(db, "open");
    sqlite3_extended_result_codes(db->db, 1);
    sqlite3_busy_timeout(db->db, 5000);
    /* WAL + FULL: a COMMIT has reached the disk when it returns (the cosignature rule) */
    if (!(flags & SQLITE_OPEN_READONLY) && exec(db, "PRAGMA journal_mode=WAL") != 0)
        return -1;
    if (exec(db, "PRAGMA synchronous=FULL") != 0 || exec(db, "PRAGMA foreign_keys=ON") != 0 ||
        exec(db, "PRAGMA trusted_schema=OFF") != 0)
        return -1;
    return 0;
}

static pl_audit_db *db_new(void)
{
    pl_audit_db *db = calloc(1, sizeof *db);

    if (db)
        db->lock_fd = -1;
    return db;
}

int pl_audit_db_create(const char *dir, const char *witness_name, char *err, size_t err_len)
{
    char path[4096];
    pl_audit_db *db = db_new();
    sqlite3_stmt *st = NULL;
    int r = -1;

    if (!db) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    if (path_of(path, sizeof path, dir, PL_AUDIT_DB_FILE) != 0) {
        errf(db, "state directory path too long");
        goto out;
    }
    if (access(path, F_OK) == 0) {
        errf(db, "%s exists already", path);
        goto out;
    }
    if (open_sqlite(db, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) != 0)
        goto out;
    if (exec(db, "BEGIN IMMEDIATE") != 0)
        goto out;
    if (exec(db, schema) != 0)
        goto rollback;
    if (sqlite3_prepare_v2(db->db,
                           "INSERT INTO meta(key, value) VALUES ('schema_version', ?1),"
                           " ('witness_name', ?2)",
                           -1, &st, NULL) != SQLITE_OK) {
        dbfail(db, "prepare");
        goto rollback;
    }
    sqlite3_bind_int(st, 1, PL_AUDIT_DB_SCHEMA);
    sqlite3_bind_text(st, 2, witness_name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        dbfail(db, "meta");
        goto rollback;
    }
    if (exec(db, "COMMIT") != 0)
        goto rollback;
    r = 0;
    goto out;
rollback:
    sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
out:
    if (r != 0)
        snprintf(err, err_len, "%s", db->err);
    sqlite3_finalize(st);
    pl_audit_db_close(db);
    return r;
}

int pl_audit_db_open(const char *dir, int read_only, pl_audit_db **out, char *err, size_t err_len)
{
    char path[4096], lock[4096];
    pl_audit_db *db = db_new();
    sqlite3_stmt *st = NULL;
    int r = -1;

    *out = NULL;
    if (!db) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    if (path_of(path, sizeof path, dir, PL_AUDIT_DB_FILE) != 0 ||
        path_of(lock, sizeof lock, dir, LOCK_FILE) != 0) {
        errf(db, "state directory path too long");
        goto out;
    }
    if (access(path, F_OK) != 0) {
        errf(db, "%s does not exist: run `parley-audit init` first", path);
        goto out;
    }
    if (read_only) {
        if (open_sqlite(db, path, SQLITE_OPEN_READONLY) != 0)
            goto out;
        goto check;
    }
    /* One process per state: two auditors deciding from the same witness state could each
     * release a cosignature for a different tree. */
    db->lock_fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (db->lock_fd < 0) {
        errf(db, "cannot open %s: %s", lock, strerror(errno));
        goto out;
    }
    if (flock(db->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        errf(db, "another parley-audit is using %s", dir);
        goto out;
    }
    if (open_sqlite(db, path, SQLITE_OPEN_READWRITE) != 0)
        goto out;
check:
    if (sqlite3_prepare_v2(db->db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &st,
                           NULL) != SQLITE_OK) {
        dbfail(db, "not an audit database");
        goto out;
    }
    if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int(st, 0) != PL_AUDIT_DB_SCHEMA) {
        errf(db, "%s: unknown schema version", path);
        goto out;
    }
    *out = db;
    db = NULL;
    r = 0;
out:
    sqlite3_finalize(st);
    if (db) {
        snprintf(err, err_len, "%s", db->err);
        pl_audit_db_close(db);
    }
    return r;
}

void pl_audit_db_close(pl_audit_db *db)
{
    if (!db)
        return;
    sqlite3_close_v2(db->db);
    if (db->lock_fd >= 0)
        close(db->lock_fd); /* releases the flock */
    free(db);
}

const char *pl_audit_db_error(const pl_audit_db *db)
{
    return db->err;
}

static void copy_text(char *out, size_t cap, const unsigned char *s)
{
    snprintf(out, cap, "%s", s ? (const char *)s : "");
}

int pl_audit_db_state_get(pl_audit_db *db, pl_audit_db_state *out)
{
    sqlite3_stmt *st = NULL;
    int r = -1, rc;

    memset(out, 0, sizeof *out);
    if (sqlite3_prepare_v2(db->db, "SELECT value FROM meta WHERE key = 'witness_name'", -1, &st,
                           NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW)
        goto fail;
    copy_text(out->witness_name, sizeof out->witness_name, sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    st = NULL;

    if (sqlite3_prepare_v2(db->db, "SELECT origin, log_vkey, text FROM log_config WHERE id = 1", -1,
                           &st, NULL) != SQLITE_OK)
        goto fail;
    if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        out->pinned = 1;
        copy_text(out->origin, sizeof out->origin, sqlite3_column_text(st, 0));
        copy_text(out->log_vkey, sizeof out->log_vkey, sqlite3_column_text(st, 1));
        copy_text(out->config_text, sizeof out->config_text, sqlite3_column_text(st, 2));
    } else if (rc != SQLITE_DONE)
        goto fail;
    sqlite3_finalize(st);
    st = NULL;

    if (sqlite3_prepare_v2(db->db, "SELECT size, root FROM witness WHERE id = 1", -1, &st, NULL) !=
        SQLITE_OK)
        goto fail;
    if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 1) != PL_MERKLE_HASH_BYTES)
            goto corrupt;
        out->has_witness = 1;
        out->size = (uint64_t)sqlite3_column_int64(st, 0);
        memcpy(out->root, sqlite3_column_blob(st, 1), PL_MERKLE_HASH_BYTES);
    } else if (rc != SQLITE_DONE)
        goto fail;
    sqlite3_finalize(st);
    st = NULL;

    if (sqlite3_prepare_v2(db->db, "SELECT since_ms, reason, evidence_id FROM halt WHERE id = 1",
                           -1, &st, NULL) != SQLITE_OK)
        goto fail;
    if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        out->halted = 1;
        out->halt_since_ms = (uint64_t)sqlite3_column_int64(st, 0);
        copy_text(out->halt_reason, sizeof out->halt_reason, sqlite3_column_text(st, 1));
        out->halt_evidence_id = sqlite3_column_int64(st, 2);
    } else if (rc != SQLITE_DONE)
        goto fail;
    sqlite3_finalize(st);
    st = NULL;

    if (sqlite3_prepare_v2(db->db,
                           "SELECT (SELECT count(*) FROM evidence),"
                           " (SELECT count(*) FROM cosignatures), (SELECT count(*) FROM entries),"
                           " (SELECT count(*) FROM leaves)",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW)
        goto fail;
    out->n_evidence = (uint64_t)sqlite3_column_int64(st, 0);
    out->n_cosignatures = (uint64_t)sqlite3_column_int64(st, 1);
    out->n_entries = (uint64_t)sqlite3_column_int64(st, 2);
    out->n_leaves = (uint64_t)sqlite3_column_int64(st, 3);
    r = 0;
    goto out;
corrupt:
    errf(db, "audit.db: the witness row is corrupt");
    goto out;
fail:
    dbfail(db, "read state");
out:
    sqlite3_finalize(st);
    return r;
}

int pl_audit_db_load_replay(pl_audit_db *db, const pl_audit_db_state *s, pl_audit_replay **out)
{
    sqlite3_stmt *es = NULL, *ls = NULL;
    pl_audit_replay *rp = NULL;
    uint8_t(*leaves)[PL_AUDIT_LEAF_BYTES] = NULL;
    size_t cap = 0;
    int r = -1, rc, lrc;
    uint64_t expect = 0;

    *out = NULL;
    if (pl_audit_replay_new(&rp) != PL_OK)
        return errf(db, "out of memory");
    if (sqlite3_prepare_v2(db->db,
                           "SELECT position, timestamp_ms, prefix_root FROM entries"
                           " ORDER BY position",
                           -1, &es, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db->db,
                           "SELECT vrf_out, commitment, position FROM leaves"
                           " ORDER BY position, vrf_out",
                           -1, &ls, NULL) != SQLITE_OK) {
        dbfail(db, "load");
        goto out;
    }
    lrc = sqlite3_step(ls);
    while ((rc = sqlite3_step(es)) == SQLITE_ROW) {
        pl_audit_entry e = {0};
        pl_audit_failure why;
        int prc;

        e.position = (uint64_t)sqlite3_column_int64(es, 0);
        e.timestamp_ms = (uint64_t)sqlite3_column_int64(es, 1);
        if (e.position != expect || sqlite3_column_bytes(es, 2) != PL_PREFIX_HASH_BYTES) {
            errf(db, "audit.db is corrupt: entry %" PRIu64 " is missing or damaged", expect);
            goto out;
        }
        memcpy(e.prefix_root, sqlite3_column_blob(es, 2), PL_PREFIX_HASH_BYTES);
        while (lrc == SQLITE_ROW && (uint64_t)sqlite3_column_int64(ls, 2) == e.position) {
            if (e.n_leaves == cap) {
                size_t ncap = cap ? 2 * cap : 64;
                void *p;

                if (ncap > LOAD_MAX_LEAVES_PER_ENTRY ||
                    !(p = realloc(leaves, ncap * sizeof *leaves))) {
                    errf(db, "audit.db: entry %" PRIu64 " has too many leaves to load", expect);
                    goto out;
                }
                leaves = p;
                cap = ncap;
            }
            if (sqlite3_column_bytes(ls, 0) != PL_PREFIX_KEY_BYTES ||
                sqlite3_column_bytes(ls, 1) != PL_PREFIX_HASH_BYTES) {
                errf(db, "audit.db is corrupt: a leaf of entry %" PRIu64 " is damaged", expect);
                goto out;
            }
            memcpy(leaves[e.n_leaves], sqlite3_column_blob(ls, 0), PL_PREFIX_KEY_BYTES);
            memcpy(leaves[e.n_leaves] + PL_PREFIX_KEY_BYTES, sqlite3_column_blob(ls, 1),
                   PL_PREFIX_HASH_BYTES);
            e.n_leaves++;
            lrc = sqlite3_step(ls);
        }
        e.leaves = (const uint8_t(*)[PL_AUDIT_LEAF_BYTES])leaves;
        /* the same checks as when the entry came from the server: a database edited or
         * damaged behind the auditor's back is caught here, not trusted */
        if ((prc = pl_audit_replay_entry(rp, &e, &why)) != PL_OK) {
            errf(db, "audit.db is corrupt: entry %" PRIu64 " does not replay: %s", expect,
                 why != PL_AUDIT_OK ? pl_audit_failure_str(why) : pl_strerror(prc));
            goto out;
        }
        expect++;
    }
    if (rc != SQLITE_DONE || (lrc != SQLITE_DONE && lrc != SQLITE_ROW)) {
        dbfail(db, "load");
        goto out;
    }
    if (lrc == SQLITE_ROW) {
        errf(db, "audit.db is corrupt: leaves of an entry that is not stored");
        goto out;
    }
    if (expect != (s->has_witness ? s->size : 0)) {
        errf(db,
             "audit.db is corrupt: %" PRIu64
             " entries stored, but the witness state holds %" PRIu64,
             expect, s->has_witness ? s->size : 0);
        goto out;
    }
    if (s->has_witness && pl_audit_replay_check_root(rp, s->size, s->root, NULL) != PL_OK) {
        errf(db, "audit.db is corrupt: the stored entries do not give the cosigned root");
        goto out;
    }
    *out = rp;
    rp = NULL;
    r = 0;
out:
    free(leaves);
    sqlite3_finalize(es);
    sqlite3_finalize(ls);
    pl_audit_replay_free(rp);
    return r;
}

int pl_audit_db_pin_config(pl_audit_db *db, const char *origin, const char *log_vkey,
                           const char *text, uint64_t now_ms)
{
    sqlite3_stmt *st = NULL;
    int r = -1;

    if (sqlite3_prepare_v2(db->db,
                           "INSERT INTO log_config(id, origin, log_vkey, text, pinned_at_ms)"
                           " VALUES (1, ?1, ?2, ?3, ?4)",
                           -1, &st, NULL) != SQLITE_OK)
        return dbfail(db, "pin config");
    sqlite3_bind_text(st, 1, origin, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, log_vkey, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)now_ms);
    r = sqlite3_step(st) == SQLITE_DONE ? 0 : dbfail(db, "pin config");
    sqlite3_finalize(st);
    return r;
}

int pl_audit_db_begin(pl_audit_db *db)
{
    return exec(db, "BEGIN IMMEDIATE");
}

int pl_audit_db_commit(pl_audit_db *db)
{
    if (exec(db, "COMMIT") != 0) {
        sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

void pl_audit_db_rollback(pl_audit_db *db)
{
    if (!sqlite3_get_autocommit(db->db))
        sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
}

int pl_audit_db_put_entry(pl_audit_db *db, const pl_audit_entry *e)
{
    sqlite3_stmt *st = NULL;
    int r = -1;

    if (sqlite3_prepare_v2(db->db,
                           "INSERT INTO entries(position, timestamp_ms, prefix_root)"
                           " VALUES (?1, ?2, ?3)",
                           -1, &st, NULL) != SQLITE_OK)
        return dbfail(db, "put entry");
    sqlite3_bind_int64(st, 1, (sqlite3_int64)e->position);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)e->timestamp_ms);
    sqlite3_bind_blob(st, 3, e->prefix_root, PL_PREFIX_HASH_BYTES, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        dbfail(db, "put entry");
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(db->db,
                           "INSERT INTO leaves(vrf_out, commitment, position) VALUES (?1, ?2, ?3)",
                           -1, &st, NULL) != SQLITE_OK) {
        dbfail(db, "put leaf");
        goto out;
    }
    for (size_t i = 0; i < e->n_leaves; i++) {
        sqlite3_reset(st);
        sqlite3_bind_blob(st, 1, e->leaves[i], PL_PREFIX_KEY_BYTES, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, e->leaves[i] + PL_PREFIX_KEY_BYTES, PL_PREFIX_HASH_BYTES,
                          SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)e->position);
        if (sqlite3_step(st) != SQLITE_DONE) {
            dbfail(db, "put leaf");
            goto out;
        }
    }
    r = 0;
out:
    sqlite3_finalize(st);
    return r;
}

int pl_audit_db_put_witness(pl_audit_db *db, uint64_t size, const uint8_t root[32],
                            const char *note, size_t note_len, const char *line, size_t line_len,
                            uint64_t now_ms)
{
    sqlite3_stmt *st = NULL;
    int r = -1;

    if (sqlite3_prepare_v2(db->db,
                           "INSERT OR REPLACE INTO witness(id, size, root, note, updated_at_ms)"
                           " VALUES (1, ?1, ?2, ?3, ?4)",
                           -1, &st, NULL) != SQLITE_OK)
        return dbfail(db, "put witness");
    sqlite3_bind_int64(st, 1, (sqlite3_int64)size);
    sqlite3_bind_blob(st, 2, root, 32, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, note, (int)note_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)now_ms);
    if (sqlite3_step(st) != SQLITE_DONE) {
        dbfail(db, "put witness");
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(db->db,
                           "INSERT INTO cosignatures(size, root, line, cosigned_at_ms)"
                           " VALUES (?1, ?2, ?3, ?4)",
                           -1, &st, NULL) != SQLITE_OK) {
        dbfail(db, "put cosignature");
        goto out;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)size);
    sqlite3_bind_blob(st, 2, root, 32, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, line, (int)line_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)now_ms);
    r = sqlite3_step(st) == SQLITE_DONE ? 0 : dbfail(db, "put cosignature");
out:
    sqlite3_finalize(st);
    return r;
}

int pl_audit_db_add_evidence(pl_audit_db *db, const pl_audit_evidence *ev, uint64_t now_ms,
                             int64_t *id)
{
    sqlite3_stmt *st = NULL;
    int r = -1;

    if (id)
        *id = 0;
    if (sqlite3_prepare_v2(db->db,
                           "INSERT INTO evidence(at_ms, reason, code, detail, known_size, note,"
                           " consistency, entry_position, entry)"
                           " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                           -1, &st, NULL) != SQLITE_OK)
        return dbfail(db, "add evidence");
    sqlite3_bind_int64(st, 1, (sqlite3_int64)now_ms);
    sqlite3_bind_text(st, 2, ev->reason, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, ev->code ? ev->code : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, ev->detail ? ev->detail : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)ev->known_size);
    if (ev->note)
        sqlite3_bind_text(st, 6, ev->note, (int)ev->note_len, SQLITE_STATIC);
    if (ev->consistency)
        sqlite3_bind_blob(st, 7, ev->consistency, (int)(ev->n_consistency * 32u), SQLITE_STATIC);
    if (ev->has_entry) {
        sqlite3_bind_int64(st, 8, (sqlite3_int64)ev->entry_position);
        if (ev->entry)
            sqlite3_bind_blob(st, 9, ev->entry, (int)ev->entry_len, SQLITE_STATIC);
    }
    if (sqlite3_step(st) != SQLITE_DONE) {
        dbfail(db, "add evidence");
        goto out;
    }
    if (id)
        *id = sqlite3_last_insert_rowid(db->db);
    r = 0;
out:
    sqlite3_finalize(st);
    return r;
}

int pl_audit_db_same_as_last_evidence(pl_audit_db *db, const pl_audit_evidence *ev)
{
    sqlite3_stmt *st = NULL;
    int r = 0, rc;

    if (sqlite3_prepare_v2(db->db,
                           "SELECT reason = ?1 AND note IS ?2 AND entry IS ?3 FROM evidence"
                           " ORDER BY id DESC LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        return dbfail(db, "read evidence");
    sqlite3_bind_text(st, 1, ev->reason, -1, SQLITE_STATIC);
    if (ev->note)
        sqlite3_bind_text(st, 2, ev->note, (int)ev->note_len, SQLITE_STATIC);
    if (ev->has_entry && ev->entry)
        sqlite3_bind_blob(st, 3, ev->entry, (int)ev->entry_len, SQLITE_STATIC);
    if ((rc = sqlite3_step(st)) == SQLITE_ROW)
        r = sqlite3_column_int(st, 0) == 1;
    else if (rc != SQLITE_DONE)
        r = dbfail(db, "read evidence");
    sqlite3_finalize(st);
    return r;
}

int pl_audit_db_halt(pl_audit_db *db, const char *reason, int64_t evidence_id, uint64_t now_ms)
{
    sqlite3_stmt *st = NULL;
    int r;

    if (sqlite3_prepare_v2(db->db,
                           "INSERT OR IGNORE INTO halt(id, since_ms, reason, evidence_id)"
                           " VALUES (1, ?1, ?2, ?3)",
                           -1, &st, NULL) != SQLITE_OK)
        return dbfail(db, "halt");
    sqlite3_bind_int64(st, 1, (sqlite3_int64)now_ms);
    sqlite3_bind_text(st, 2, reason, -1, SQLITE_STATIC);
    if (evidence_id > 0)
        sqlite3_bind_int64(st, 3, evidence_id);
    r = sqlite3_step(st) == SQLITE_DONE ? 0 : dbfail(db, "halt");
    sqlite3_finalize(st);
    return r;
}

int pl_audit_db_resume(pl_audit_db *db)
{
    return exec(db, "DELETE FROM halt");
}

int pl_audit_db_list_evidence(pl_audit_db *db, unsigned max, pl_audit_evidence_fn fn, void *arg)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if (sqlite3_prepare_v2(db->db,
                           "SELECT id, at_ms, reason, code, detail, known_size, note"
                           " FROM evidence ORDER BY id DESC LIMIT ?1",
                           -1, &st, NULL) != SQLITE_OK)
        return dbfail(db, "list evidence");
    sqlite3_bind_int(st, 1, (int)max);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        fn(arg, sqlite3_column_int64(st, 0), (uint64_t)sqlite3_column_int64(st, 1),
           (const char *)sqlite3_column_text(st, 2), (const char *)sqlite3_column_text(st, 3),
           (const char *)sqlite3_column_text(st, 4), (uint64_t)sqlite3_column_int64(st, 5),
           (const char *)sqlite3_column_text(st, 6));
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : dbfail(db, "list evidence");
}
