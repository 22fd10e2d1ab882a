/*
 * cstore_internal.h: what the local store's files share: the handle (cstore.c), the store
 * key files (cstore_key.c) and the home directory checks and lock (cstore_home.c). Not for
 * other modules; they use cstore.h.
 */
#ifndef PARLEY_CLIENT_CSTORE_INTERNAL_H
#define PARLEY_CLIENT_CSTORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "cstore.h"

#define PL__CSTORE_KEY_BYTES 32
#define PL__CSTORE_PATH_MAX 4096
#define PL__CSTORE_ERR_MAX 512

/* File names inside the home directory. */
#define PL__CSTORE_DB "parley.db"
#define PL__CSTORE_KEY "store.key"
#define PL__CSTORE_KEY_ENC "store.key.enc"
#define PL__CSTORE_LOCK "lock"

/* Writes "dir/name" to out; PL_CSTORE_E_INVALID_ARG if it does not fit. */
int pl__cstore_join(char out[PL__CSTORE_PATH_MAX], const char *dir, const char *name);

/* snprintf into err (ignored when NULL or err_len is 0). */
void pl__cstore_set_err(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- cstore_home.c ---- */

/*
 * Checks the home directory: it must be a directory owned by us that neither group nor
 * others may read or write. With create, a missing directory is made 0700 (its parent must
 * exist, else _E_IO). Returns PL_CSTORE_OK, _E_NO_HOME (missing, not a directory),
 * _E_PERMISSIONS, _E_IO.
 */
int pl__cstore_home_check(const char *home, int create, char *err, size_t err_len);

/*
 * Checks a file of the home if it exists: a regular file (not a symlink) owned by us with no
 * group or other permission bits. *exists says whether it is there. Returns PL_CSTORE_OK,
 * _E_PERMISSIONS, _E_IO.
 */
int pl__cstore_file_check(const char *home, const char *name, int *exists, char *err,
                          size_t err_len);

/*
 * Opens (creating it 0600 if needed) home/lock and takes an exclusive flock without
 * waiting. Returns PL_CSTORE_OK and *fd (close it to release), _E_LOCKED, _E_IO.
 */
int pl__cstore_lock(const char *home, int *fd, char *err, size_t err_len);

/*
 * Writes len bytes to home/name atomically and durably: a 0600 temporary file (mode set with
 * fchmod, whatever the umask), fsync, rename, fsync of the directory. The file must not exist
 * (_E_EXISTS). Returns PL_CSTORE_OK, _E_EXISTS, _E_IO.
 */
int pl__cstore_write_file(const char *home, const char *name, const uint8_t *data, size_t len,
                          char *err, size_t err_len);

/*
 * Reads home/name (not following a symlink) into out, which must then hold exactly len
 * bytes: a file of another size is _E_CORRUPT. Returns PL_CSTORE_OK, _E_CORRUPT, _E_IO.
 */
int pl__cstore_read_file(const char *home, const char *name, uint8_t *out, size_t len, char *err,
                         size_t err_len);

/* ---- cstore_key.c ---- */

/*
 * Writes the store key to the home: to store.key, or sealed under passphrase to store.key.enc when
 * passphrase is not NULL and not empty. Returns PL_CSTORE_OK, _E_EXISTS, _E_NOMEM (Argon2id could
 * not get its memory), _E_IO.
 */
int pl__cstore_key_create(const char *home, const char *passphrase,
                          const uint8_t key[PL__CSTORE_KEY_BYTES], char *err, size_t err_len);

/*
 * Loads the store key of the home into key (zeroed on failure). Returns PL_CSTORE_OK,
 * _E_NO_HOME (no key file), _E_NEED_PASSPHRASE, _E_PASSPHRASE, _E_CORRUPT (a damaged key
 * file, absurd KDF parameters, both key files present), _E_PERMISSIONS, _E_NOMEM, _E_IO.
 */
/*
 * Checks the header of a store.key.enc image (file[0..len), len must be the file's size):
 * magic, version, algorithm, and KDF limits within libsodium's INTERACTIVE..SENSITIVE, so a
 * crafted file cannot make Argon2id allocate without bound. Returns 0 with *ops and *mem,
 * -1 (not a key file of this version) or -2 (limits out of range); *ops, *mem 0 on error.
 */
int pl__cstore_key_enc_header(const uint8_t *file, size_t len, uint64_t *ops, uint64_t *mem);

int pl__cstore_key_load(const char *home, const char *passphrase, uint8_t key[PL__CSTORE_KEY_BYTES],
                        char *err, size_t err_len);

/* ---- cstore.c: the handle ---- */

/*
 * Every statement the store runs, prepared once on first use and kept in the handle.
 * XX(id, sql).
 */
#define PL__CS_STMT_MAP(XX)                                                                        \
    XX(BEGIN, "BEGIN IMMEDIATE")                                                                   \
    XX(COMMIT, "COMMIT")                                                                           \
    XX(ROLLBACK, "ROLLBACK")                                                                       \
    XX(SAVEPOINT, "SAVEPOINT pl_op")                                                               \
    XX(RELEASE, "RELEASE pl_op")                                                                   \
    XX(ROLLBACK_TO, "ROLLBACK TO pl_op")                                                           \
    XX(META_GET, "SELECT value FROM meta WHERE name = ?1")                                         \
    XX(META_PUT, "INSERT INTO meta(name, value) VALUES (?1, ?2)")                                  \
    XX(SETTING_SET, "INSERT INTO settings(name, value) VALUES (?1, ?2)"                            \
                    " ON CONFLICT(name) DO UPDATE SET value = excluded.value")                     \
    XX(SETTING_GET, "SELECT value FROM settings WHERE name = ?1")                                  \
    XX(SECRET_PUT, "INSERT INTO secrets(name, value) VALUES (?1, ?2)"                              \
                   " ON CONFLICT(name) DO UPDATE SET value = excluded.value")                      \
    XX(SECRET_GET, "SELECT value FROM secrets WHERE name = ?1")                                    \
    XX(SECRET_DELETE, "DELETE FROM secrets WHERE name = ?1")                                       \
    XX(CONTACT_PUT, "INSERT OR REPLACE INTO contacts(username, account_key, verified,"             \
                    " verified_key, first_seen, key_changed) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")     \
    XX(CONTACT_GET, "SELECT username, account_key, verified, verified_key, first_seen,"            \
                    " key_changed FROM contacts WHERE username = ?1")                              \
    XX(CONTACT_LIST, "SELECT username, account_key, verified, verified_key, first_seen,"           \
                     " key_changed FROM contacts ORDER BY username")                               \
    XX(DEVICES_CLEAR, "DELETE FROM devices WHERE username = ?1")                                   \
    XX(DEVICE_INSERT, "INSERT INTO devices(username, device_id, record, name)"                     \
                      " VALUES (?1, ?2, ?3, ?4)")                                                  \
    XX(DEVICES_GET, "SELECT device_id, record, name FROM devices WHERE username = ?1"              \
                    " ORDER BY device_id LIMIT 17")                                                \
    XX(SESSION_PUT, "INSERT INTO sessions(username, device_id, state) VALUES (?1, ?2, ?3)"         \
                    " ON CONFLICT(username, device_id) DO UPDATE SET state = excluded.state")      \
    XX(SESSION_GET, "SELECT state FROM sessions WHERE username = ?1 AND device_id = ?2")           \
    XX(SESSION_DELETE, "DELETE FROM sessions WHERE username = ?1 AND device_id = ?2")              \
    XX(MSG_ADD, "INSERT INTO messages(peer, kind, msg_id, device_id, sent_at, received_at, body)"  \
                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")                                            \
    /* The last ?2 rows (-1: all), then oldest first. */                                           \
    XX(MSG_LIST_PEER, "SELECT * FROM (SELECT id, peer, kind, msg_id, device_id, sent_at,"          \
                      " received_at, body FROM messages WHERE peer = ?1"                           \
                      " ORDER BY id DESC LIMIT ?2) ORDER BY id")                                   \
    XX(MSG_LIST_ALL, "SELECT * FROM (SELECT id, peer, kind, msg_id, device_id, sent_at,"           \
                     " received_at, body FROM messages ORDER BY id DESC LIMIT ?2) ORDER BY id")    \
    XX(SEEN_ADD, "INSERT OR IGNORE INTO seen(seq) VALUES (?1)")                                    \
    XX(SEEN_HAS, "SELECT 1 FROM seen WHERE seq = ?1")                                              \
    XX(SEEN_PRUNE, "DELETE FROM seen WHERE seq <= ?1")                                             \
    /* Key transparency (cstore_kt.c). */                                                          \
    XX(KT_LOG_PUT, "INSERT OR REPLACE INTO kt_log(id, origin, log_vkey, vrf_key, witness_vkeys,"   \
                   " quorum, max_ahead, max_behind, pinned_at, has_checkpoint, size, root, note,"  \
                   " checked_at) VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"    \
                   " ?13)")                                                                        \
    XX(KT_LOG_GET, "SELECT origin, log_vkey, vrf_key, witness_vkeys, quorum, max_ahead,"           \
                   " max_behind, pinned_at, has_checkpoint, size, root, note, checked_at"          \
                   " FROM kt_log WHERE id = 1")                                                    \
    XX(KT_LABEL_PUT, "INSERT OR REPLACE INTO kt_labels(label, version, state, vrf_cache,"          \
                     " tree_size, entry_time, verified_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")   \
    XX(KT_LABEL_GET, "SELECT label, version, state, vrf_cache, tree_size, entry_time, verified_at" \
                     " FROM kt_labels WHERE label = ?1")                                           \
    XX(KT_ALERT_ADD, "INSERT INTO kt_alerts(label, kind, reason, high, created_at, acknowledged)"  \
                     " VALUES (?1, ?2, ?3, ?4, ?5, 0)")                                            \
    XX(KT_EVIDENCE_ADD, "INSERT INTO kt_evidence(alert_id, seq, name, data)"                       \
                        " VALUES (?1, ?2, ?3, ?4)")                                                \
    XX(KT_ALERT_LIST, "SELECT id, label, kind, reason, high, created_at, acknowledged,"            \
                      " (SELECT count(*) FROM kt_evidence WHERE alert_id = kt_alerts.id)"          \
                      " FROM kt_alerts WHERE (?1 OR acknowledged = 0) ORDER BY id")                \
    XX(KT_ALERT_ACK, "UPDATE kt_alerts SET acknowledged = 1 WHERE id = ?1")                        \
    XX(KT_EVIDENCE_LIST, "SELECT name, data FROM kt_evidence WHERE alert_id = ?1 ORDER BY seq")    \
    /* Receipts (cstore_receipt.c): only for a stored message; a status never goes down. */        \
    XX(RECEIPT_RAISE, "INSERT INTO receipts(peer, kind, msg_id, status, updated_at)"               \
                      " SELECT ?1, ?2, ?3, ?4, ?5 FROM messages"                                   \
                      " WHERE peer = ?1 AND kind = ?2 AND msg_id = ?3"                             \
                      " ON CONFLICT(peer, kind, msg_id) DO UPDATE SET status = excluded.status,"   \
                      " updated_at = excluded.updated_at WHERE excluded.status > status")          \
    XX(RECEIPT_GET, "SELECT status FROM receipts WHERE peer = ?1 AND kind = ?2 AND msg_id = ?3")   \
    /* Received messages of peer not yet at status ?2, oldest first, at most ?3. */                \
    XX(RECEIPT_BELOW, "SELECT m.msg_id FROM messages m WHERE m.peer = ?1 AND m.kind = 0"           \
                      " AND NOT EXISTS (SELECT 1 FROM receipts r WHERE r.peer = m.peer"            \
                      " AND r.kind = 0 AND r.msg_id = m.msg_id AND r.status >= ?2)"                \
                      " ORDER BY m.id LIMIT ?3")                                                   \
    /* Groups (cstore_group.c). */                                                                 \
    XX(GROUP_ADD, "INSERT INTO groups(group_id, name, active) VALUES (?1, ?2, 1)")                 \
    XX(GROUP_BY_NAME, "SELECT id, group_id, name, active FROM groups WHERE name = ?1")             \
    XX(GROUP_BY_ID, "SELECT id, group_id, name, active FROM groups WHERE group_id = ?1")           \
    XX(GROUP_SET_ACTIVE, "UPDATE groups SET active = ?2 WHERE id = ?1")                            \
    XX(GROUP_LIST, "SELECT id, group_id, name, active FROM groups ORDER BY name")

enum pl__cs_stmt_id {
#define PL__CS_STMT_ENUM(id, sql) PL__CS_##id,
    PL__CS_STMT_MAP(PL__CS_STMT_ENUM)
#undef PL__CS_STMT_ENUM
        PL__CS_STMT_COUNT
};

struct pl_cstore {
    sqlite3 *db;
    sqlite3_stmt *stmt[PL__CS_STMT_COUNT];
    uint8_t *key; /* PL__CSTORE_KEY_BYTES in sodium_malloc memory */
    int lock_fd;  /* -1 when not held */
    int in_tx;    /* inside pl_cstore_begin ... commit/rollback */
    char err[PL__CSTORE_ERR_MAX];
};

/* Helpers of cstore.c for cstore_kt.c: a prepared statement (reset, bindings cleared), a
 * statement run to completion, errors recorded in s->err, and checked column reads. */
sqlite3_stmt *pl__cs_stmt(pl_cstore *s, enum pl__cs_stmt_id id, int *r);
int pl__cs_step_done(pl_cstore *s, sqlite3_stmt *st, const char *what);
int pl__cs_run(pl_cstore *s, enum pl__cs_stmt_id id, const char *what);
int pl__cs_fail(pl_cstore *s, int rc, const char *what);
int pl__cs_error(pl_cstore *s, int code, const char *msg);
int pl__cs_column_text(pl_cstore *s, sqlite3_stmt *st, int col, char *out, size_t max,
                       int may_be_empty);
int pl__cs_column_fixed(pl_cstore *s, sqlite3_stmt *st, int col, uint8_t *out, size_t len);

#endif
