/*
 * cstore.c: the client's local store (cstore.h): creating and opening the home, the SQLite
 * database and its schema, sealed columns, and every table's operations. The key files are
 * in cstore_key.c, the home's permissions, lock and atomic writes in cstore_home.c.
 *
 * Durability: WAL with synchronous=FULL; each call is one statement (atomic by itself) or,
 * for pl_cstore_devices_set, one SAVEPOINT, so it also nests inside pl_cstore_begin.
 *
 * Sealed values: nonce (24) || XChaCha20-Poly1305(store key, value, ad), with ad naming the
 * value's place: "secrets/value/<name>", "sessions/state/<username>/<device id>",
 * "messages/body/<peer>/<kind>/<message id hex>", "meta/value/key_check". A value copied to
 * another row or column, or a flipped bit, fails to open: PL_CSTORE_E_CORRUPT.
 *
 * Schema (version 4; the version lives in the one-row table schema_version, and
 * PRAGMA application_id marks the file as a parley client store):
 *   meta(name PRIMARY KEY, value)   key_check: a sealed constant proving the key fits
 *   settings(name PRIMARY KEY, value TEXT)
 *   secrets(name PRIMARY KEY, value sealed)
 *   contacts(username PRIMARY KEY, account_key, verified, verified_key, first_seen,
 *            key_changed)
 *   devices(username, device_id, record, name)   PRIMARY KEY(username, device_id)
 *   sessions(username, device_id, state sealed)  PRIMARY KEY(username, device_id)
 *   messages(id, peer, kind, msg_id, device_id, sent_at, received_at, body sealed)
 *            UNIQUE(peer, kind, msg_id), INDEX(peer, id)
 *   seen(seq PRIMARY KEY)
 * Version 2 adds key transparency (cstore_kt.c, public data, not sealed):
 *   kt_log(id = 1, origin, log_vkey, vrf_key, witness_vkeys, quorum, max_ahead, max_behind,
 *          pinned_at, has_checkpoint, size, root, note, checked_at)   the pinned log and view
 *   kt_labels(label PRIMARY KEY, version, state, vrf_cache, tree_size, entry_time,
 *             verified_at)                        the last verified account state per label
 *   kt_alerts(id, label, kind, reason, high, created_at, acknowledged)
 *   kt_evidence(alert_id, seq, name, data)        PRIMARY KEY(alert_id, seq)
 * Version 3 adds receipts (cstore_receipt.c, plain: the server saw the envelopes anyway):
 *   receipts(peer, kind, msg_id, status, updated_at)   PRIMARY KEY(peer, kind, msg_id)
 *            the status of a message of the messages table (same peer, kind, msg_id)
 * Version 4 adds groups (cstore_group.c): the local name and number of each group; its state,
 * our sender key and the received ones are sealed secrets named "g<id>/state", "g<id>/own",
 * "g<id>/rx/<username>/<device id>":
 *   groups(id, group_id UNIQUE, name UNIQUE, active)
 * Timestamps are stored as the int64 with the same bits as the uint64.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cstore_internal.h"

#define CS_APPLICATION_ID 0x506c7943 /* "PlyC" */
#define CS_SCHEMA_VERSION 4

#define CS_USERNAME_MAX 32
#define CS_NAME_MAX 64          /* setting and secret names */
#define CS_SETTING_MAX 4096     /* setting values */
#define CS_VALUE_MAX (4u << 20) /* sealed plaintexts: secrets, session states, bodies */
#define CS_DEVICES_MAX 16
#define CS_KEY_BYTES 33     /* pl_cstore_contact.account_key */
#define CS_RECORD_BYTES 143 /* pl_cstore_device.record */
#define CS_DEVICE_NAME_MAX 64
#define CS_AD_MAX 192
#define CS_KEY_CHECK "parley client store key check v1"

#define CS_SEAL_OVERHEAD                                                                           \
    (crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES)

/* migrations[i] takes the schema from version i to i + 1. Append; never edit. */
static const char *const migrations[CS_SCHEMA_VERSION] = {
    "CREATE TABLE meta(name TEXT PRIMARY KEY, value BLOB NOT NULL) STRICT, WITHOUT ROWID;"
    "CREATE TABLE settings(name TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT, WITHOUT ROWID;"
    "CREATE TABLE secrets(name TEXT PRIMARY KEY, value BLOB NOT NULL) STRICT, WITHOUT ROWID;"
    "CREATE TABLE contacts(username TEXT PRIMARY KEY, account_key BLOB NOT NULL,"
    " verified INTEGER NOT NULL, verified_key BLOB NOT NULL, first_seen INTEGER NOT NULL,"
    " key_changed INTEGER NOT NULL) STRICT, WITHOUT ROWID;"
    "CREATE TABLE devices(username TEXT NOT NULL, device_id INTEGER NOT NULL,"
    " record BLOB NOT NULL, name TEXT NOT NULL, PRIMARY KEY(username, device_id)) STRICT,"
    " WITHOUT ROWID;"
    "CREATE TABLE sessions(username TEXT NOT NULL, device_id INTEGER NOT NULL,"
    " state BLOB NOT NULL, PRIMARY KEY(username, device_id)) STRICT, WITHOUT ROWID;"
    "CREATE TABLE messages(id INTEGER PRIMARY KEY, peer TEXT NOT NULL, kind INTEGER NOT NULL,"
    " msg_id BLOB NOT NULL, device_id INTEGER NOT NULL, sent_at INTEGER NOT NULL,"
    " received_at INTEGER NOT NULL, body BLOB NOT NULL, UNIQUE(peer, kind, msg_id)) STRICT;"
    "CREATE INDEX messages_by_peer ON messages(peer, id);"
    "CREATE TABLE seen(seq INTEGER PRIMARY KEY) STRICT;",
    /* 1 -> 2: key transparency (docs/CLIENT.md, PROTOCOL.md §25). */
    "CREATE TABLE kt_log(id INTEGER PRIMARY KEY CHECK (id = 1), origin TEXT NOT NULL,"
    " log_vkey TEXT NOT NULL, vrf_key BLOB NOT NULL, witness_vkeys TEXT NOT NULL,"
    " quorum INTEGER NOT NULL, max_ahead INTEGER NOT NULL, max_behind INTEGER NOT NULL,"
    " pinned_at INTEGER NOT NULL, has_checkpoint INTEGER NOT NULL, size INTEGER NOT NULL,"
    " root BLOB NOT NULL, note TEXT NOT NULL, checked_at INTEGER NOT NULL) STRICT;"
    "CREATE TABLE kt_labels(label TEXT PRIMARY KEY, version INTEGER NOT NULL,"
    " state BLOB NOT NULL, vrf_cache BLOB NOT NULL, tree_size INTEGER NOT NULL,"
    " entry_time INTEGER NOT NULL, verified_at INTEGER NOT NULL) STRICT, WITHOUT ROWID;"
    "CREATE TABLE kt_alerts(id INTEGER PRIMARY KEY, label TEXT NOT NULL, kind TEXT NOT NULL,"
    " reason TEXT NOT NULL, high INTEGER NOT NULL, created_at INTEGER NOT NULL,"
    " acknowledged INTEGER NOT NULL) STRICT;"
    "CREATE TABLE kt_evidence(alert_id INTEGER NOT NULL REFERENCES kt_alerts(id),"
    " seq INTEGER NOT NULL, name TEXT NOT NULL, data BLOB NOT NULL,"
    " PRIMARY KEY(alert_id, seq)) STRICT, WITHOUT ROWID;",
    /* 2 -> 3: receipts (cstore_receipt.c; PROTOCOL.md §28). */
    "CREATE TABLE receipts(peer TEXT NOT NULL, kind INTEGER NOT NULL, msg_id BLOB NOT NULL,"
    " status INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
    " PRIMARY KEY(peer, kind, msg_id)) STRICT, WITHOUT ROWID;",
    /* 3 -> 4: groups (cstore_group.c; PROTOCOL.md §32). */
    /* (three literals: clang's -Wstring-concatenation takes two for a missing comma) */
    "CREATE TABLE groups(id INTEGER PRIMARY KEY,"
    " group_id BLOB NOT NULL UNIQUE, name TEXT NOT NULL UNIQUE,"
    " active INTEGER NOT NULL) STRICT;",
};

static const char *const stmt_sql[PL__CS_STMT_COUNT] = {
#define CS_STMT_SQL(id, sql) [PL__CS_##id] = sql,
    PL__CS_STMT_MAP(CS_STMT_SQL)
#undef CS_STMT_SQL
};

const char *pl_cstore_strerror(int code)
{
    switch (code) {
#define CS_ERR_CASE(name, value, msg)                                                              \
    case PL_CSTORE_##name:                                                                         \
        return msg;
        PL_CSTORE_ERRNO_MAP(CS_ERR_CASE)
#undef CS_ERR_CASE
    default:
        return "unknown store error";
    }
}

/* ---- Errors and statements ------------------------------------------------------------- */

static int map_rc(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_NOMEM:
        return PL_CSTORE_E_NOMEM;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return PL_CSTORE_E_CORRUPT;
    case SQLITE_CONSTRAINT:
        return PL_CSTORE_E_EXISTS;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return PL_CSTORE_E_LOCKED;
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
        return PL_CSTORE_E_INVALID_ARG;
    default:
        return PL_CSTORE_E_IO;
    }
}

static int fail(pl_cstore *s, int rc, const char *what)
{
    snprintf(s->err, sizeof s->err, "%s: %s (sqlite %d)", what, sqlite3_errmsg(s->db), rc);
    return map_rc(rc);
}

static int error(pl_cstore *s, int code, const char *msg)
{
    snprintf(s->err, sizeof s->err, "%s", msg);
    return code;
}

static sqlite3_stmt *stmt(pl_cstore *s, enum pl__cs_stmt_id id, int *r)
{
    int rc;

    *r = PL_CSTORE_OK;
    if (s->stmt[id]) {
        sqlite3_reset(s->stmt[id]);
        sqlite3_clear_bindings(s->stmt[id]);
        return s->stmt[id];
    }
    rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[id], NULL);
    if (rc != SQLITE_OK) {
        *r = fail(s, rc, "prepare");
        s->stmt[id] = NULL;
        return NULL;
    }
    return s->stmt[id];
}

/* Runs a statement that returns no rows, then resets it. */
static int step_done(pl_cstore *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);

    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return fail(s, rc, what);
    return PL_CSTORE_OK;
}

static int run(pl_cstore *s, enum pl__cs_stmt_id id, const char *what)
{
    int r;
    sqlite3_stmt *st = stmt(s, id, &r);

    if (!st)
        return r;
    return step_done(s, st, what);
}

static int exec(pl_cstore *s, const char *sql, const char *what)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

    return rc == SQLITE_OK ? PL_CSTORE_OK : fail(s, rc, what);
}

/* Runs sql and returns the first column of its first row as an integer (0 if no row). */
static int query_int(pl_cstore *s, const char *sql, int64_t *value)
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
    return rc == SQLITE_OK ? PL_CSTORE_OK : fail(s, rc, sql);
}

/* Length of a NUL-terminated string of 1..max bytes, or 0 if it is NULL, empty or longer. */
static size_t bounded_len(const char *str, size_t max)
{
    size_t len = 0;

    if (!str)
        return 0;
    while (len <= max && str[len])
        len++;
    return len > max ? 0 : len;
}

static int check_username(pl_cstore *s, const char *username)
{
    if (!bounded_len(username, CS_USERNAME_MAX))
        return error(s, PL_CSTORE_E_INVALID_ARG, "username must be 1 to 32 bytes");
    return PL_CSTORE_OK;
}

static int check_name(pl_cstore *s, const char *name)
{
    if (!bounded_len(name, CS_NAME_MAX))
        return error(s, PL_CSTORE_E_INVALID_ARG, "name must be 1 to 64 bytes");
    return PL_CSTORE_OK;
}

/* Copies a text column of 1..max bytes with no NUL into out (max + 1 bytes). */
static int column_text(pl_cstore *s, sqlite3_stmt *st, int col, char *out, size_t max,
                       int may_be_empty)
{
    const unsigned char *p = sqlite3_column_text(st, col);
    int n = sqlite3_column_bytes(st, col);

    if (!p || n < 0 || (size_t)n > max || (n == 0 && !may_be_empty) || memchr(p, 0, (size_t)n))
        return error(s, PL_CSTORE_E_CORRUPT, "a stored name has a bad length or a NUL");
    memcpy(out, p, (size_t)n);
    out[n] = '\0';
    return PL_CSTORE_OK;
}

/* Copies a blob column of exactly len bytes to out; anything else is corruption. */
static int column_fixed(pl_cstore *s, sqlite3_stmt *st, int col, uint8_t *out, size_t len)
{
    const void *p = sqlite3_column_blob(st, col);
    int n = sqlite3_column_bytes(st, col);

    if (!p || n < 0 || (size_t)n != len)
        return error(s, PL_CSTORE_E_CORRUPT, "a stored key or record has the wrong size");
    memcpy(out, p, len);
    return PL_CSTORE_OK;
}

static int column_u32(pl_cstore *s, sqlite3_stmt *st, int col, uint32_t *out)
{
    sqlite3_int64 v = sqlite3_column_int64(st, col);

    if (v < 0 || v > (sqlite3_int64)UINT32_MAX)
        return error(s, PL_CSTORE_E_CORRUPT, "a stored device id is out of range");
    *out = (uint32_t)v;
    return PL_CSTORE_OK;
}

/* Shared with cstore_kt.c (cstore_internal.h). */
sqlite3_stmt *pl__cs_stmt(pl_cstore *s, enum pl__cs_stmt_id id, int *r)
{
    return stmt(s, id, r);
}

int pl__cs_step_done(pl_cstore *s, sqlite3_stmt *st, const char *what)
{
    return step_done(s, st, what);
}

int pl__cs_run(pl_cstore *s, enum pl__cs_stmt_id id, const char *what)
{
    return run(s, id, what);
}

int pl__cs_fail(pl_cstore *s, int rc, const char *what)
{
    return fail(s, rc, what);
}

int pl__cs_error(pl_cstore *s, int code, const char *msg)
{
    return error(s, code, msg);
}

int pl__cs_column_text(pl_cstore *s, sqlite3_stmt *st, int col, char *out, size_t max,
                       int may_be_empty)
{
    return column_text(s, st, col, out, max, may_be_empty);
}

int pl__cs_column_fixed(pl_cstore *s, sqlite3_stmt *st, int col, uint8_t *out, size_t len)
{
    return column_fixed(s, st, col, out, len);
}

/* ---- Sealed values ---------------------------------------------------------------------- */

/* Seals len bytes under ad into a malloc'd nonce || ciphertext. */
static int seal(pl_cstore *s, const char *ad, const uint8_t *pt, size_t len, uint8_t **out,
                size_t *out_len)
{
    uint8_t *c;

    *out = NULL;
    if (len > CS_VALUE_MAX)
        return error(s, PL_CSTORE_E_INVALID_ARG, "value too large to store");
    if (!(c = malloc(len + CS_SEAL_OVERHEAD)))
        return error(s, PL_CSTORE_E_NOMEM, "out of memory");
    randombytes_buf(c, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    crypto_aead_xchacha20poly1305_ietf_encrypt(c + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
                                               NULL, pt, len, (const uint8_t *)ad, strlen(ad), NULL,
                                               c, s->key);
    *out = c;
    *out_len = len + CS_SEAL_OVERHEAD;
    return PL_CSTORE_OK;
}

/* Opens the sealed blob in column col under ad into a malloc'd buffer (at least 1 byte). */
static int unseal(pl_cstore *s, const char *ad, sqlite3_stmt *st, int col, uint8_t **out,
                  size_t *out_len)
{
    const uint8_t *c = sqlite3_column_blob(st, col);
    int n = sqlite3_column_bytes(st, col);
    size_t len;
    uint8_t *p;

    *out = NULL;
    *out_len = 0;
    if (!c || n < 0 || (size_t)n < CS_SEAL_OVERHEAD || (size_t)n - CS_SEAL_OVERHEAD > CS_VALUE_MAX)
        return error(s, PL_CSTORE_E_CORRUPT, "a sealed value has a bad size");
    len = (size_t)n - CS_SEAL_OVERHEAD;
    if (!(p = malloc(len ? len : 1)))
        return error(s, PL_CSTORE_E_NOMEM, "out of memory");
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            p, NULL, NULL, c + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
            (size_t)n - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, (const uint8_t *)ad,
            strlen(ad), c, s->key) != 0) {
        free(p);
        return error(s, PL_CSTORE_E_CORRUPT, "a sealed value does not open (damaged or moved)");
    }
    *out = p;
    *out_len = len;
    return PL_CSTORE_OK;
}

void pl_cstore_free_secret(uint8_t *data, size_t len)
{
    if (!data)
        return;
    sodium_memzero(data, len);
    free(data);
}

/* ---- Opening, migrations and closing ---------------------------------------------------- */

const char *pl_cstore_last_error(const pl_cstore *s)
{
    return s ? s->err : "no store";
}

void pl_cstore_close(pl_cstore *s)
{
    size_t i;

    if (!s)
        return;
    for (i = 0; i < PL__CS_STMT_COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    sqlite3_close(s->db);
    if (s->key)
        sodium_free(s->key); /* sodium_free wipes it */
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    free(s);
}

/* Builds or checks the schema and the key check, in one transaction. */
static int migrate(pl_cstore *s, int create)
{
    int64_t app = 0, version = 0, rows = 0;
    static const char ad[] = "meta/value/key_check";
    uint8_t *sealed = NULL, *check = NULL;
    size_t sealed_len = 0, check_len = 0;
    sqlite3_stmt *st;
    char sql[96];
    int r, rc;

    if ((r = run(s, PL__CS_BEGIN, "begin")) != PL_CSTORE_OK)
        return r;
    if ((r = query_int(s, "PRAGMA application_id", &app)) != PL_CSTORE_OK)
        goto out;
    if (app != (create ? 0 : CS_APPLICATION_ID)) {
        r = error(s, PL_CSTORE_E_CORRUPT, "not a parley client database (application_id)");
        goto out;
    }
    if ((r = exec(s, "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL) STRICT",
                  "create schema_version")) != PL_CSTORE_OK ||
        (r = query_int(s, "SELECT count(*) FROM schema_version", &rows)) != PL_CSTORE_OK ||
        (r = query_int(s, "SELECT version FROM schema_version", &version)) != PL_CSTORE_OK)
        goto out;
    if (rows != (create ? 0 : 1) || version < 0) {
        r = error(s, PL_CSTORE_E_CORRUPT, "schema_version table is damaged");
        goto out;
    }
    if (version > CS_SCHEMA_VERSION) {
        snprintf(s->err, sizeof s->err,
                 "database schema version %lld is newer than this parley's (%d)",
                 (long long)version, CS_SCHEMA_VERSION);
        r = PL_CSTORE_E_VERSION;
        goto out;
    }
    for (; version < CS_SCHEMA_VERSION; version++) {
        if ((r = exec(s, migrations[version], "migrate schema")) != PL_CSTORE_OK)
            goto out;
    }
    snprintf(sql, sizeof sql, "DELETE FROM schema_version; INSERT INTO schema_version VALUES (%d)",
             CS_SCHEMA_VERSION);
    if ((r = exec(s, sql, "record schema version")) != PL_CSTORE_OK)
        goto out;
    snprintf(sql, sizeof sql, "PRAGMA application_id = %d", CS_APPLICATION_ID);
    if ((r = exec(s, sql, "set application_id")) != PL_CSTORE_OK)
        goto out;
    if (create) {
        if ((r = seal(s, ad, (const uint8_t *)CS_KEY_CHECK, sizeof CS_KEY_CHECK - 1, &sealed,
                      &sealed_len)) != PL_CSTORE_OK ||
            !(st = stmt(s, PL__CS_META_PUT, &r)))
            goto out;
        if ((rc = sqlite3_bind_text(st, 1, "key_check", -1, SQLITE_STATIC)) != SQLITE_OK ||
            (rc = sqlite3_bind_blob(st, 2, sealed, (int)sealed_len, SQLITE_STATIC)) != SQLITE_OK) {
            r = fail(s, rc, "bind");
            goto out;
        }
        if ((r = step_done(s, st, "store key check")) != PL_CSTORE_OK)
            goto out;
    } else {
        if (!(st = stmt(s, PL__CS_META_GET, &r)))
            goto out;
        if ((rc = sqlite3_bind_text(st, 1, "key_check", -1, SQLITE_STATIC)) != SQLITE_OK) {
            r = fail(s, rc, "bind");
            goto out;
        }
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            r = unseal(s, ad, st, 0, &check, &check_len);
        else if (rc == SQLITE_DONE)
            r = error(s, PL_CSTORE_E_CORRUPT, "the database has no key check");
        else
            r = fail(s, rc, "read key check");
        sqlite3_reset(st);
        if (r == PL_CSTORE_OK &&
            (check_len != sizeof CS_KEY_CHECK - 1 || memcmp(check, CS_KEY_CHECK, check_len) != 0))
            r = PL_CSTORE_E_CORRUPT;
        if (r != PL_CSTORE_OK) {
            if (r == PL_CSTORE_E_CORRUPT)
                error(s, r, "the store key does not open this database");
            goto out;
        }
    }
    if ((r = run(s, PL__CS_COMMIT, "commit")) != PL_CSTORE_OK)
        goto out;
out:
    if (r != PL_CSTORE_OK && !sqlite3_get_autocommit(s->db))
        (void)run(s, PL__CS_ROLLBACK, "rollback");
    free(sealed);
    free(check);
    return r;
}

/* Opens the database file (which exists), sets WAL, synchronous=FULL and foreign keys. */
static int open_db(pl_cstore *s, const char *path, int create)
{
    int64_t sync = 0;
    char mode[16] = "";
    sqlite3_stmt *st = NULL;
    int r, rc;

    rc = sqlite3_open_v2(path, &s->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW, NULL);
    if (rc != SQLITE_OK) {
        r = s->db ? fail(s, rc, "open") : error(s, PL_CSTORE_E_NOMEM, "out of memory");
        goto out;
    }
    sqlite3_extended_result_codes(s->db, 1);
    if ((r = exec(s, "PRAGMA foreign_keys = ON", "enable foreign keys")) != PL_CSTORE_OK)
        goto out;
    /* journal_mode answers with the mode in force; anything but "wal" means no WAL. */
    rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *m = sqlite3_column_text(st, 0);
        snprintf(mode, sizeof mode, "%s", m ? (const char *)m : "");
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st); /* an unfinished statement would block every later COMMIT */
    if (rc != SQLITE_OK) {
        r = fail(s, rc, "enable WAL");
        goto out;
    }
    if (strcmp(mode, "wal") != 0) {
        r = error(s, PL_CSTORE_E_IO, "the database refused WAL journal mode");
        goto out;
    }
    if ((r = exec(s, "PRAGMA synchronous = FULL", "set synchronous")) != PL_CSTORE_OK ||
        (r = query_int(s, "PRAGMA synchronous", &sync)) != PL_CSTORE_OK)
        goto out;
    if (sync != 2) {
        r = error(s, PL_CSTORE_E_IO, "the database refused synchronous=FULL");
        goto out;
    }
    r = migrate(s, create);
out:
    return r;
}

static const char *const db_files[] = {PL__CSTORE_DB, PL__CSTORE_DB "-wal", PL__CSTORE_DB "-shm"};

/* Creates home/parley.db empty, 0600 whatever the umask. */
static int create_db_file(pl_cstore *s, const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    int ok;

    if (fd < 0)
        return error(s, PL_CSTORE_E_IO, "cannot create the database file");
    ok = fchmod(fd, 0600) == 0;
    if (close(fd) != 0)
        ok = 0;
    return ok ? PL_CSTORE_OK : error(s, PL_CSTORE_E_IO, "cannot set the database file's mode");
}

/* Shared by create and open; err gets "path: reason" on failure. */
static int open_home(pl_cstore **out, const char *home, const char *passphrase, int create,
                     char *err, size_t err_len)
{
    char path[PL__CSTORE_PATH_MAX], sub[PL__CSTORE_PATH_MAX];
    uint8_t key[PL__CSTORE_KEY_BYTES];
    int exists, any = 0, made_db = 0;
    pl_cstore *s = NULL;
    size_t i;
    int r;

    *out = NULL;
    pl__cstore_set_err(err, err_len, "%s", "");
    r = PL_CSTORE_E_INVALID_ARG;
    if (!home || !home[0] || pl__cstore_join(path, home, PL__CSTORE_DB) != PL_CSTORE_OK) {
        pl__cstore_set_err(err, err_len, "bad home directory path");
        goto out;
    }
    r = PL_CSTORE_E_IO;
    if (sodium_init() < 0) {
        pl__cstore_set_err(err, err_len, "libsodium could not initialise");
        goto out;
    }
    r = PL_CSTORE_E_NOMEM;
    if (!(s = calloc(1, sizeof *s))) {
        pl__cstore_set_err(err, err_len, "out of memory");
        goto out;
    }
    s->lock_fd = -1;
    if (!(s->key = sodium_malloc(PL__CSTORE_KEY_BYTES))) {
        pl__cstore_set_err(err, err_len, "out of memory");
        goto out;
    }
    if ((r = pl__cstore_home_check(home, create, err, err_len)) != PL_CSTORE_OK)
        goto out;
    for (i = 0; i < sizeof db_files / sizeof db_files[0]; i++) {
        if ((r = pl__cstore_file_check(home, db_files[i], &exists, err, err_len)) != PL_CSTORE_OK &&
            !create)
            goto out;
        any |= exists;
        if (i == 0 && !exists && !create) {
            /* Without parley.db, a key file alone is not a usable store. */
            if ((r = pl__cstore_file_check(home, PL__CSTORE_KEY, &exists, err, err_len)) !=
                PL_CSTORE_OK)
                goto out;
            any = exists;
            if ((r = pl__cstore_file_check(home, PL__CSTORE_KEY_ENC, &exists, err, err_len)) !=
                PL_CSTORE_OK)
                goto out;
            any |= exists;
            r = any ? PL_CSTORE_E_CORRUPT : PL_CSTORE_E_NO_HOME;
            pl__cstore_set_err(err, err_len,
                               any ? "%s: the database is missing" : "%s: no parley store here",
                               home);
            goto out;
        }
    }
    if (create) {
        for (i = 0; i < 2; i++) {
            const char *name = i ? PL__CSTORE_KEY_ENC : PL__CSTORE_KEY;
            struct stat st;

            if (pl__cstore_join(sub, home, name) != PL_CSTORE_OK || lstat(sub, &st) == 0)
                any = 1;
        }
        if (any) {
            pl__cstore_set_err(err, err_len, "%s: a parley store is already there", home);
            r = PL_CSTORE_E_EXISTS;
            goto out;
        }
    } else {
        /* Refuses a missing key before creating the lock file in a foreign directory. */
        int plain, sealed;

        if ((r = pl__cstore_file_check(home, PL__CSTORE_KEY, &plain, err, err_len)) !=
                PL_CSTORE_OK ||
            (r = pl__cstore_file_check(home, PL__CSTORE_KEY_ENC, &sealed, err, err_len)) !=
                PL_CSTORE_OK)
            goto out;
        if (!plain && !sealed) {
            pl__cstore_set_err(err, err_len, "%s: no parley store here (no store key)", home);
            r = PL_CSTORE_E_NO_HOME;
            goto out;
        }
    }
    if ((r = pl__cstore_lock(home, &s->lock_fd, err, err_len)) != PL_CSTORE_OK)
        goto out;
    if (create) {
        /* The key file is written last: until it exists, there is no store. */
        randombytes_buf(key, sizeof key);
        memcpy(s->key, key, sizeof key);
        if ((r = create_db_file(s, path)) != PL_CSTORE_OK)
            goto fail_db;
        made_db = 1;
        if ((r = open_db(s, path, 1)) != PL_CSTORE_OK)
            goto fail_db;
        if ((r = pl__cstore_key_create(home, passphrase, key, err, err_len)) != PL_CSTORE_OK)
            goto out;
    } else {
        if ((r = pl__cstore_key_load(home, passphrase, key, err, err_len)) != PL_CSTORE_OK)
            goto out;
        memcpy(s->key, key, sizeof key);
        if ((r = open_db(s, path, 0)) != PL_CSTORE_OK)
            goto fail_db;
    }
    *out = s; /* hand over */
    s = NULL;
    r = PL_CSTORE_OK;
    goto out;
fail_db:
    pl__cstore_set_err(err, err_len, "%s: %s", path, s->err);
out:
    if (s && made_db) {
        sqlite3_close(s->db);
        s->db = NULL;
        for (i = 0; i < sizeof db_files / sizeof db_files[0]; i++) {
            if (pl__cstore_join(sub, home, db_files[i]) == PL_CSTORE_OK)
                (void)unlink(sub);
        }
    }
    pl_cstore_close(s);
    sodium_memzero(key, sizeof key);
    return r;
}

int pl_cstore_create(pl_cstore **out, const char *path, const char *passphrase, char *err,
                     size_t err_len)
{
    return open_home(out, path, passphrase, 1, err, err_len);
}

int pl_cstore_open(pl_cstore **out, const char *path, const char *passphrase, char *err,
                   size_t err_len)
{
    return open_home(out, path, passphrase, 0, err, err_len);
}

/* ---- Transactions ----------------------------------------------------------------------- */

int pl_cstore_begin(pl_cstore *s)
{
    int r;

    if (s->in_tx)
        return error(s, PL_CSTORE_E_INVALID_ARG, "a transaction is already open");
    if ((r = run(s, PL__CS_BEGIN, "begin")) == PL_CSTORE_OK)
        s->in_tx = 1;
    return r;
}

int pl_cstore_commit(pl_cstore *s)
{
    int r;

    if (!s->in_tx)
        return error(s, PL_CSTORE_E_INVALID_ARG, "no transaction is open");
    if (sqlite3_get_autocommit(s->db)) {
        /* An earlier error (I/O, out of memory) made SQLite roll the transaction back. */
        s->in_tx = 0;
        return error(s, PL_CSTORE_E_IO, "the transaction was rolled back by an earlier error");
    }
    if ((r = run(s, PL__CS_COMMIT, "commit")) != PL_CSTORE_OK)
        pl_cstore_rollback(s);
    s->in_tx = 0;
    return r;
}

void pl_cstore_rollback(pl_cstore *s)
{
    if (!s->in_tx)
        return;
    if (!sqlite3_get_autocommit(s->db))
        (void)run(s, PL__CS_ROLLBACK, "rollback");
    s->in_tx = 0;
}

/* ---- Settings --------------------------------------------------------------------------- */

int pl_cstore_setting_set(pl_cstore *s, const char *name, const char *value)
{
    sqlite3_stmt *st;
    size_t len;
    int r, rc;

    if ((r = check_name(s, name)) != PL_CSTORE_OK)
        return r;
    if (!value || (len = strnlen(value, CS_SETTING_MAX + 1)) > CS_SETTING_MAX)
        return error(s, PL_CSTORE_E_INVALID_ARG, "setting value missing or too long");
    if (!(st = stmt(s, PL__CS_SETTING_SET, &r)))
        return r;
    if ((rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC)) != SQLITE_OK ||
        (rc = sqlite3_bind_text(st, 2, value, (int)len, SQLITE_STATIC)) != SQLITE_OK) {
        sqlite3_reset(st);
        return fail(s, rc, "bind");
    }
    return step_done(s, st, "set setting");
}

int pl_cstore_setting_get(pl_cstore *s, const char *name, char *out, size_t cap)
{
    sqlite3_stmt *st;
    const unsigned char *p;
    int r, rc, n;

    if (!out || cap == 0)
        return error(s, PL_CSTORE_E_INVALID_ARG, "no room for the setting");
    out[0] = '\0';
    if ((r = check_name(s, name)) != PL_CSTORE_OK)
        return r;
    if (!(st = stmt(s, PL__CS_SETTING_GET, &r)))
        return r;
    if ((rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC)) != SQLITE_OK) {
        r = fail(s, rc, "bind");
        goto out;
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        r = error(s, PL_CSTORE_E_NOT_FOUND, "no such setting");
        goto out;
    }
    if (rc != SQLITE_ROW) {
        r = fail(s, rc, "get setting");
        goto out;
    }
    p = sqlite3_column_text(st, 0);
    n = sqlite3_column_bytes(st, 0);
    if (!p || n < 0 || n > CS_SETTING_MAX || memchr(p, 0, (size_t)n)) {
        r = error(s, PL_CSTORE_E_CORRUPT, "a stored setting is damaged");
        goto out;
    }
    if ((size_t)n >= cap) {
        r = error(s, PL_CSTORE_E_INVALID_ARG, "the setting does not fit the buffer");
        goto out;
    }
    memcpy(out, p, (size_t)n);
    out[n] = '\0';
    r = PL_CSTORE_OK;
out:
    sqlite3_reset(st);
    return r;
}

/* ---- Secrets ---------------------------------------------------------------------------- */

/* Binds name as ?1, runs a statement of one named row, returns NOT_FOUND if it changed none. */
static int delete_named(pl_cstore *s, enum pl__cs_stmt_id id, const char *name,
                        const uint32_t *device_id, const char *what)
{
    sqlite3_stmt *st;
    int r, rc;

    if (!(st = stmt(s, id, &r)))
        return r;
    if ((rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC)) != SQLITE_OK ||
        (device_id && (rc = sqlite3_bind_int64(st, 2, *device_id)) != SQLITE_OK)) {
        sqlite3_reset(st);
        return fail(s, rc, "bind");
    }
    if ((r = step_done(s, st, what)) != PL_CSTORE_OK)
        return r;
    if (sqlite3_changes(s->db) == 0)
        return error(s, PL_CSTORE_E_NOT_FOUND, "nothing to delete");
    return PL_CSTORE_OK;
}

/* Reads the sealed column 0 of the one row that st (bound) selects. */
static int get_sealed(pl_cstore *s, sqlite3_stmt *st, const char *ad, uint8_t **data, size_t *len,
                      const char *what)
{
    int rc = sqlite3_step(st);
    int r;

    if (rc == SQLITE_ROW)
        r = unseal(s, ad, st, 0, data, len);
    else if (rc == SQLITE_DONE)
        r = error(s, PL_CSTORE_E_NOT_FOUND, "not found");
    else
        r = fail(s, rc, what);
    sqlite3_reset(st);
    return r;
}

int pl_cstore_secret_put(pl_cstore *s, const char *name, const uint8_t *data, size_t len)
{
    char ad[CS_AD_MAX];
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    sqlite3_stmt *st;
    int r, rc;

    if ((r = check_name(s, name)) != PL_CSTORE_OK)
        return r;
    if (!data && len)
        return error(s, PL_CSTORE_E_INVALID_ARG, "no data");
    snprintf(ad, sizeof ad, "secrets/value/%s", name);
    if ((r = seal(s, ad, data, len, &sealed, &sealed_len)) != PL_CSTORE_OK)
        return r;
    if (!(st = stmt(s, PL__CS_SECRET_PUT, &r)))
        goto out;
    if ((rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC)) != SQLITE_OK ||
        (rc = sqlite3_bind_blob(st, 2, sealed, (int)sealed_len, SQLITE_STATIC)) != SQLITE_OK) {
        sqlite3_reset(st);
        r = fail(s, rc, "bind");
        goto out;
    }
    r = step_done(s, st, "put secret");
out:
    free(sealed);
    return r;
}

int pl_cstore_secret_get(pl_cstore *s, const char *name, uint8_t **data, size_t *len)
{
    char ad[CS_AD_MAX];
    sqlite3_stmt *st;
    int r, rc;

    *data = NULL;
    *len = 0;
    if ((r = check_name(s, name)) != PL_CSTORE_OK)
        return r;
    snprintf(ad, sizeof ad, "secrets/value/%s", name);
    if (!(st = stmt(s, PL__CS_SECRET_GET, &r)))
        return r;
    if ((rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC)) != SQLITE_OK) {
        sqlite3_reset(st);
        return fail(s, rc, "bind");
    }
    return get_sealed(s, st, ad, data, len, "get secret");
}

int pl_cstore_secret_delete(pl_cstore *s, const char *name)
{
    int r;

    if ((r = check_name(s, name)) != PL_CSTORE_OK)
        return r;
    return delete_named(s, PL__CS_SECRET_DELETE, name, NULL, "delete secret");
}

/* ---- Contacts --------------------------------------------------------------------------- */

int pl_cstore_contact_put(pl_cstore *s, const pl_cstore_contact *c)
{
    sqlite3_stmt *st;
    int r, rc;

    if (!c || memchr(c->username, 0, sizeof c->username) == NULL)
        return error(s, PL_CSTORE_E_INVALID_ARG, "contact username not terminated");
    if ((r = check_username(s, c->username)) != PL_CSTORE_OK)
        return r;
    if (!(st = stmt(s, PL__CS_CONTACT_PUT, &r)))
        return r;
    if ((rc = sqlite3_bind_text(st, 1, c->username, -1, SQLITE_STATIC)) != SQLITE_OK ||
        (rc = sqlite3_bind_blob(st, 2, c->account_key, CS_KEY_BYTES, SQLITE_STATIC)) != SQLITE_OK ||
        (rc = sqlite3_bind_int(st, 3, c->verified ? 1 : 0)) != SQLITE_OK ||
        (rc = sqlite3_bind_blob(st, 4, c->verified_key, CS_KEY_BYTES, SQLITE_STATIC)) !=
            SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 5, (sqlite3_int64)c->first_seen_ms)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 6, (sqlite3_int64)c->key_changed_ms)) != SQLITE_OK) {
        sqlite3_reset(st);
        return fail(s, rc, "bind");
    }
    return step_done(s, st, "put contact");
}

/* Reads a contact row (the columns of CONTACT_GET / CONTACT_LIST). */
static int contact_row(pl_cstore *s, sqlite3_stmt *st, pl_cstore_contact *c)
{
    int r;

    memset(c, 0, sizeof *c);
    if ((r = column_text(s, st, 0, c->username, CS_USERNAME_MAX, 0)) != PL_CSTORE_OK ||
        (r = column_fixed(s, st, 1, c->account_key, CS_KEY_BYTES)) != PL_CSTORE_OK ||
        (r = column_fixed(s, st, 3, c->verified_key, CS_KEY_BYTES)) != PL_CSTORE_OK) {
        memset(c, 0, sizeof *c);
        return r;
    }
    c->verified = sqlite3_column_int(st, 2) ? 1 : 0;
    c->first_seen_ms = (uint64_t)sqlite3_column_int64(st, 4);
    c->key_changed_ms = (uint64_t)sqlite3_column_int64(st, 5);
    return PL_CSTORE_OK;
}

int pl_cstore_contact_get(pl_cstore *s, const char *username, pl_cstore_contact *out)
{
    sqlite3_stmt *st;
    int r, rc;

    memset(out, 0, sizeof *out);
    if ((r = check_username(s, username)) != PL_CSTORE_OK)
        return r;
    if (!(st = stmt(s, PL__CS_CONTACT_GET, &r)))
        return r;
    if ((rc = sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC)) != SQLITE_OK)
        r = fail(s, rc, "bind");
    else if ((rc = sqlite3_step(st)) == SQLITE_ROW)
        r = contact_row(s, st, out);
    else if (rc == SQLITE_DONE)
        r = error(s, PL_CSTORE_E_NOT_FOUND, "no such contact");
    else
        r = fail(s, rc, "get contact");
    sqlite3_reset(st);
    return r;
}

int pl_cstore_contact_list(pl_cstore *s, int (*cb)(void *ctx, const pl_cstore_contact *c),
                           void *ctx)
{
    pl_cstore_contact c;
    sqlite3_stmt *st;
    int r, rc;

    if (!(st = stmt(s, PL__CS_CONTACT_LIST, &r)))
        return r;
    for (;;) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
            r = PL_CSTORE_OK;
            break;
        }
        if (rc != SQLITE_ROW) {
            r = fail(s, rc, "list contacts");
            break;
        }
        if ((r = contact_row(s, st, &c)) != PL_CSTORE_OK || cb(ctx, &c) != 0)
            break;
    }
    sqlite3_reset(st);
    return r;
}

/* ---- Devices ---------------------------------------------------------------------------- */

int pl_cstore_devices_set(pl_cstore *s, const char *username, const pl_cstore_device *devs,
                          size_t n)
{
    sqlite3_stmt *st;
    size_t i;
    int r, rc;

    if ((r = check_username(s, username)) != PL_CSTORE_OK)
        return r;
    if (n > CS_DEVICES_MAX || (n && !devs))
        return error(s, PL_CSTORE_E_INVALID_ARG, "at most 16 devices");
    for (i = 0; i < n; i++) {
        if (!memchr(devs[i].name, 0, sizeof devs[i].name))
            return error(s, PL_CSTORE_E_INVALID_ARG, "device name not terminated");
    }
    /* A savepoint: its own transaction, or a part of the caller's pl_cstore_begin. */
    if ((r = run(s, PL__CS_SAVEPOINT, "savepoint")) != PL_CSTORE_OK)
        return r;
    if (!(st = stmt(s, PL__CS_DEVICES_CLEAR, &r)))
        goto out;
    if ((rc = sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC)) != SQLITE_OK) {
        sqlite3_reset(st);
        r = fail(s, rc, "bind");
        goto out;
    }
    if ((r = step_done(s, st, "clear devices")) != PL_CSTORE_OK)
        goto out;
    for (i = 0; i < n; i++) {
        if (!(st = stmt(s, PL__CS_DEVICE_INSERT, &r)))
            goto out;
        if ((rc = sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC)) != SQLITE_OK ||
            (rc = sqlite3_bind_int64(st, 2, devs[i].device_id)) != SQLITE_OK ||
            (rc = sqlite3_bind_blob(st, 3, devs[i].record, CS_RECORD_BYTES, SQLITE_STATIC)) !=
                SQLITE_OK ||
            (rc = sqlite3_bind_text(st, 4, devs[i].name, -1, SQLITE_STATIC)) != SQLITE_OK) {
            sqlite3_reset(st);
            r = fail(s, rc, "bind");
            goto out;
        }
        if ((r = step_done(s, st, "add device")) != PL_CSTORE_OK) {
            if (r == PL_CSTORE_E_EXISTS)
                r = error(s, PL_CSTORE_E_INVALID_ARG, "the same device id twice");
            goto out;
        }
    }
    r = run(s, PL__CS_RELEASE, "release savepoint");
out:
    /* After some errors SQLite has already rolled the whole transaction back. */
    if (r != PL_CSTORE_OK && !sqlite3_get_autocommit(s->db)) {
        char keep[sizeof s->err];

        memcpy(keep, s->err, sizeof keep);
        (void)run(s, PL__CS_ROLLBACK_TO, "roll back savepoint");
        (void)run(s, PL__CS_RELEASE, "release savepoint");
        memcpy(s->err, keep, sizeof keep);
    }
    return r;
}

int pl_cstore_devices_get(pl_cstore *s, const char *username, pl_cstore_device out[16], size_t *n)
{
    sqlite3_stmt *st;
    size_t count = 0;
    int r, rc;

    *n = 0;
    if ((r = check_username(s, username)) != PL_CSTORE_OK)
        return r;
    if (!(st = stmt(s, PL__CS_DEVICES_GET, &r)))
        return r;
    if ((rc = sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC)) != SQLITE_OK) {
        r = fail(s, rc, "bind");
        goto out;
    }
    for (;;) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            break;
        if (rc != SQLITE_ROW) {
            r = fail(s, rc, "get devices");
            goto out;
        }
        if (count == CS_DEVICES_MAX) {
            r = error(s, PL_CSTORE_E_CORRUPT, "more than 16 stored devices");
            goto out;
        }
        memset(&out[count], 0, sizeof out[count]);
        if ((r = column_u32(s, st, 0, &out[count].device_id)) != PL_CSTORE_OK ||
            (r = column_fixed(s, st, 1, out[count].record, CS_RECORD_BYTES)) != PL_CSTORE_OK ||
            (r = column_text(s, st, 2, out[count].name, CS_DEVICE_NAME_MAX, 1)) != PL_CSTORE_OK)
            goto out;
        count++;
    }
    *n = count;
    r = PL_CSTORE_OK;
out:
    sqlite3_reset(st);
    if (r != PL_CSTORE_OK)
        memset(out, 0, sizeof(pl_cstore_device) * CS_DEVICES_MAX);
    return r;
}

/* ---- Sessions --------------------------------------------------------------------------- */

int pl_cstore_session_put(pl_cstore *s, const char *username, uint32_t device_id,
                          const uint8_t *state, size_t len)
{
    char ad[CS_AD_MAX];
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    sqlite3_stmt *st;
    int r, rc;

    if ((r = check_username(s, username)) != PL_CSTORE_OK)
        return r;
    if (!state && len)
        return error(s, PL_CSTORE_E_INVALID_ARG, "no state");
    snprintf(ad, sizeof ad, "sessions/state/%s/%lu", username, (unsigned long)device_id);
    if ((r = seal(s, ad, state, len, &sealed, &sealed_len)) != PL_CSTORE_OK)
        return r;
    if (!(st = stmt(s, PL__CS_SESSION_PUT, &r)))
        goto out;
    if ((rc = sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 2, device_id)) != SQLITE_OK ||
        (rc = sqlite3_bind_blob(st, 3, sealed, (int)sealed_len, SQLITE_STATIC)) != SQLITE_OK) {
        sqlite3_reset(st);
        r = fail(s, rc, "bind");
        goto out;
    }
    r = step_done(s, st, "put session");
out:
    free(sealed);
    return r;
}

int pl_cstore_session_get(pl_cstore *s, const char *username, uint32_t device_id, uint8_t **state,
                          size_t *len)
{
    char ad[CS_AD_MAX];
    sqlite3_stmt *st;
    int r, rc;

    *state = NULL;
    *len = 0;
    if ((r = check_username(s, username)) != PL_CSTORE_OK)
        return r;
    snprintf(ad, sizeof ad, "sessions/state/%s/%lu", username, (unsigned long)device_id);
    if (!(st = stmt(s, PL__CS_SESSION_GET, &r)))
        return r;
    if ((rc = sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 2, device_id)) != SQLITE_OK) {
        sqlite3_reset(st);
        return fail(s, rc, "bind");
    }
    return get_sealed(s, st, ad, state, len, "get session");
}

int pl_cstore_session_delete(pl_cstore *s, const char *username, uint32_t device_id)
{
    int r;

    if ((r = check_username(s, username)) != PL_CSTORE_OK)
        return r;
    return delete_named(s, PL__CS_SESSION_DELETE, username, &device_id, "delete session");
}

/* ---- Messages --------------------------------------------------------------------------- */

static void message_ad(char ad[CS_AD_MAX], const char *peer, int kind, const uint8_t id[16])
{
    char hex[33];

    sodium_bin2hex(hex, sizeof hex, id, 16);
    snprintf(ad, CS_AD_MAX, "messages/body/%s/%d/%s", peer, kind, hex);
}

int pl_cstore_message_add(pl_cstore *s, const pl_cstore_message *m)
{
    char ad[CS_AD_MAX];
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    sqlite3_stmt *st;
    int r, rc;

    if (!m || !memchr(m->peer, 0, sizeof m->peer))
        return error(s, PL_CSTORE_E_INVALID_ARG, "message peer not terminated");
    if ((r = check_username(s, m->peer)) != PL_CSTORE_OK)
        return r;
    if (m->kind < PL_CSTORE_MSG_IN || m->kind > PL_CSTORE_MSG_NOTICE || (!m->body && m->body_len))
        return error(s, PL_CSTORE_E_INVALID_ARG, "bad message kind or body");
    message_ad(ad, m->peer, m->kind, m->id);
    if ((r = seal(s, ad, m->body, m->body_len, &sealed, &sealed_len)) != PL_CSTORE_OK)
        return r;
    if (!(st = stmt(s, PL__CS_MSG_ADD, &r)))
        goto out;
    if ((rc = sqlite3_bind_text(st, 1, m->peer, -1, SQLITE_STATIC)) != SQLITE_OK ||
        (rc = sqlite3_bind_int(st, 2, m->kind)) != SQLITE_OK ||
        (rc = sqlite3_bind_blob(st, 3, m->id, 16, SQLITE_STATIC)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 4, m->device_id)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 5, (sqlite3_int64)m->sent_at_ms)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 6, (sqlite3_int64)m->received_at_ms)) != SQLITE_OK ||
        (rc = sqlite3_bind_blob(st, 7, sealed, (int)sealed_len, SQLITE_STATIC)) != SQLITE_OK) {
        sqlite3_reset(st);
        r = fail(s, rc, "bind");
        goto out;
    }
    if ((r = step_done(s, st, "add message")) == PL_CSTORE_E_EXISTS)
        r = error(s, r, "message already stored");
out:
    free(sealed);
    return r;
}

/* Reads a message row of MSG_LIST_*; the body is malloc'd into m->body. */
static int message_row(pl_cstore *s, sqlite3_stmt *st, pl_cstore_message *m)
{
    char ad[CS_AD_MAX];
    sqlite3_int64 kind;
    int r;

    memset(m, 0, sizeof *m);
    m->rowid = sqlite3_column_int64(st, 0);
    kind = sqlite3_column_int64(st, 2);
    if ((r = column_text(s, st, 1, m->peer, CS_USERNAME_MAX, 0)) != PL_CSTORE_OK ||
        (r = column_fixed(s, st, 3, m->id, 16)) != PL_CSTORE_OK ||
        (r = column_u32(s, st, 4, &m->device_id)) != PL_CSTORE_OK)
        return r;
    if (kind < PL_CSTORE_MSG_IN || kind > PL_CSTORE_MSG_NOTICE)
        return error(s, PL_CSTORE_E_CORRUPT, "a stored message has an unknown kind");
    m->kind = (int)kind;
    m->sent_at_ms = (uint64_t)sqlite3_column_int64(st, 5);
    m->received_at_ms = (uint64_t)sqlite3_column_int64(st, 6);
    message_ad(ad, m->peer, m->kind, m->id);
    return unseal(s, ad, st, 7, &m->body, &m->body_len);
}

int pl_cstore_message_list(pl_cstore *s, const char *peer, size_t limit,
                           int (*cb)(void *ctx, const pl_cstore_message *m), void *ctx)
{
    pl_cstore_message m;
    sqlite3_stmt *st;
    int r, rc, stop;

    memset(&m, 0, sizeof m);
    if (peer && (r = check_username(s, peer)) != PL_CSTORE_OK)
        return r;
    if (!(st = stmt(s, peer ? PL__CS_MSG_LIST_PEER : PL__CS_MSG_LIST_ALL, &r)))
        return r;
    if ((peer && (rc = sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC)) != SQLITE_OK) ||
        (rc = sqlite3_bind_int64(
             st, 2, limit == 0 || limit > INT64_MAX ? -1 : (sqlite3_int64)limit)) != SQLITE_OK) {
        r = fail(s, rc, "bind");
        goto out;
    }
    for (;;) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
            r = PL_CSTORE_OK;
            break;
        }
        if (rc != SQLITE_ROW) {
            r = fail(s, rc, "list messages");
            break;
        }
        if ((r = message_row(s, st, &m)) != PL_CSTORE_OK)
            break;
        stop = cb(ctx, &m);
        pl_cstore_free_secret(m.body, m.body_len);
        m.body = NULL;
        if (stop)
            break;
    }
out:
    pl_cstore_free_secret(m.body, m.body_len);
    sqlite3_reset(st);
    return r;
}

/* ---- Seen envelopes --------------------------------------------------------------------- */

static int seen_run(pl_cstore *s, enum pl__cs_stmt_id id, uint64_t seq, int *row)
{
    sqlite3_stmt *st;
    int r, rc;

    if (seq > INT64_MAX)
        return error(s, PL_CSTORE_E_INVALID_ARG, "sequence number out of range");
    if (!(st = stmt(s, id, &r)))
        return r;
    if ((rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)seq)) != SQLITE_OK) {
        r = fail(s, rc, "bind");
    } else {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
            if (row)
                *row = rc == SQLITE_ROW;
            r = PL_CSTORE_OK;
        } else {
            r = fail(s, rc, "seen");
        }
    }
    sqlite3_reset(st);
    return r;
}

int pl_cstore_seen_add(pl_cstore *s, uint64_t seq)
{
    return seen_run(s, PL__CS_SEEN_ADD, seq, NULL);
}

int pl_cstore_seen_has(pl_cstore *s, uint64_t seq)
{
    int row = 0;
    int r = seen_run(s, PL__CS_SEEN_HAS, seq, &row);

    return r != PL_CSTORE_OK ? r : row;
}

int pl_cstore_seen_prune(pl_cstore *s, uint64_t up_to)
{
    if (up_to > INT64_MAX)
        up_to = INT64_MAX;
    return seen_run(s, PL__CS_SEEN_PRUNE, up_to, NULL);
}
