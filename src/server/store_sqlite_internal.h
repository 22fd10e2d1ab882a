/*
 * store_sqlite_internal.h: what store_sqlite.c (open, schema, accounts, devices, prekeys) and
 * store_sqlite_mailbox.c (mailboxes) share: the handle, the cached statements and the
 * error and transaction helpers. Not for other modules; they use store.h.
 */
#ifndef PARLEYD_STORE_SQLITE_INTERNAL_H
#define PARLEYD_STORE_SQLITE_INTERNAL_H

#include <sqlite3.h>

#include "store.h"

/*
 * Every statement the backend runs, prepared once on first use and kept in the handle.
 * XX(id, sql). Devices are named by (username, device id) in the API and by devices.id
 * ("device_ref") inside.
 */
#define PL__SQ_STMT_MAP(XX)                                                                        \
    XX(BEGIN, "BEGIN IMMEDIATE")                                                                   \
    XX(COMMIT, "COMMIT")                                                                           \
    XX(ROLLBACK, "ROLLBACK")                                                                       \
    XX(DEVICE_REF, "SELECT d.id FROM devices d JOIN accounts a ON a.id = d.account_id"             \
                   " WHERE a.username = ?1 AND d.device_id = ?2")                                  \
    XX(ACCOUNT_INSERT,                                                                             \
       "INSERT INTO accounts(username, account_key, created_at) VALUES (?1, ?2, ?3)")              \
    XX(ACCOUNT_GET, "SELECT id, account_key, created_at FROM accounts WHERE username = ?1")        \
    XX(DEVICE_COUNT, "SELECT count(*) FROM devices WHERE account_id = ?1")                         \
    XX(DEVICE_INSERT,                                                                              \
       "INSERT INTO devices(account_id, device_id, record, identity_key, created_at)"              \
       " VALUES (?1, ?2, ?3, ?4, ?5)")                                                             \
    XX(DEVICE_DELETE, "DELETE FROM devices WHERE id = ?1")                                         \
    XX(DEVICE_LIST, "SELECT d.device_id, d.record, d.identity_key, d.created_at FROM devices d"    \
                    " JOIN accounts a ON a.id = d.account_id WHERE a.username = ?1"                \
                    " ORDER BY d.device_id LIMIT ?2")                                              \
    XX(DEVICE_GET, "SELECT d.device_id, d.record, d.identity_key, d.created_at FROM devices d"     \
                   " JOIN accounts a ON a.id = d.account_id WHERE a.username = ?1"                 \
                   " AND d.device_id = ?2")                                                        \
    XX(SPK_PUT, "INSERT INTO signed_prekeys(device_ref, public) VALUES (?1, ?2)"                   \
                " ON CONFLICT(device_ref) DO UPDATE SET public = excluded.public")                 \
    XX(SPK_GET, "SELECT public FROM signed_prekeys WHERE device_ref = ?1")                         \
    XX(OTK_COUNT, "SELECT count(*) FROM onetime_prekeys WHERE device_ref = ?1")                    \
    XX(OTK_INSERT, "INSERT INTO onetime_prekeys(device_ref, key_id, public) VALUES (?1, ?2, ?3)")  \
    XX(OTK_CLAIM, "DELETE FROM onetime_prekeys WHERE device_ref = ?1 AND key_id ="                 \
                  " (SELECT min(key_id) FROM onetime_prekeys WHERE device_ref = ?1)"               \
                  " RETURNING key_id, public")                                                     \
    XX(MB_RESERVE, "UPDATE devices SET next_seq = next_seq + 1, pending = pending + 1"             \
                   " WHERE id = ?1 RETURNING next_seq - 1, pending")                               \
    XX(MB_INSERT, "INSERT INTO envelopes(device_ref, seq, sender, sender_device, server_ts,"       \
                  " ciphertext) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")                                  \
    XX(MB_FETCH, "SELECT seq, sender, sender_device, server_ts, ciphertext FROM envelopes"         \
                 " WHERE device_ref = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3")                      \
    XX(MB_ACK, "DELETE FROM envelopes WHERE device_ref = ?1 AND seq = ?2")                         \
    XX(MB_PENDING_SUB, "UPDATE devices SET pending = pending - ?2 WHERE id = ?1")                  \
    XX(MB_COUNT, "SELECT pending FROM devices WHERE id = ?1")                                      \
    /* INDEXED BY: without statistics the planner would rather walk the whole table in             \
     * device order; expiry must cost only the expired rows. */                                    \
    XX(MB_EXPIRE_SCAN, "SELECT x.device_ref, a.username, d.device_id FROM"                         \
                       " (SELECT DISTINCT device_ref FROM envelopes"                               \
                       " INDEXED BY envelopes_by_time WHERE server_ts < ?1 LIMIT ?2) x"            \
                       " JOIN devices d ON d.id = x.device_ref"                                    \
                       " JOIN accounts a ON a.id = d.account_id")                                  \
    XX(MB_EXPIRE_DELETE, "DELETE FROM envelopes WHERE device_ref = ?1 AND server_ts < ?2")

enum pl__sq_stmt_id {
#define PL__SQ_STMT_ENUM(id, sql) PL__SQ_##id,
    PL__SQ_STMT_MAP(PL__SQ_STMT_ENUM)
#undef PL__SQ_STMT_ENUM
        PL__SQ_STMT_COUNT
};

typedef struct pl__sq {
    pl_store base; /* first: the function table */
    sqlite3 *db;
    pl_store_options opt;
    sqlite3_stmt *stmt[PL__SQ_STMT_COUNT];
    char err[256];
} pl__sq;

/* Records "what: sqlite's message" in s->err and returns the store error for rc. */
int pl__sq_fail(pl__sq *s, int rc, const char *what);
/* Records msg in s->err and returns code (for errors the backend itself detects). */
int pl__sq_error(pl__sq *s, int code, const char *msg);
/* Returns the cached statement id, reset and unbound, with *rc = PL_STORE_OK; or NULL with
 * s->err set and *rc the store error. */
sqlite3_stmt *pl__sq_stmt(pl__sq *s, enum pl__sq_stmt_id id, int *rc);
/* BEGIN IMMEDIATE / COMMIT; rollback never fails from the caller's view. */
int pl__sq_begin(pl__sq *s);
int pl__sq_commit(pl__sq *s);
void pl__sq_rollback(pl__sq *s);
/* Finds devices.id for (username, device_id): PL_STORE_OK, _NOT_FOUND or an I/O error. */
int pl__sq_device_ref(pl__sq *s, const char *username, uint32_t device_id, int64_t *ref);
/* Checks a username's length (1..PL_STORE_USERNAME_MAX): PL_STORE_OK or _INVALID_ARG. */
int pl__sq_check_username(pl__sq *s, const char *username);

/* Mailbox operations (store_sqlite_mailbox.c), with the contracts of their store.h wrappers. */
int pl__sq_mailbox_append(pl_store *store, pl_store_envelope *envs, size_t n, size_t *failed);
int pl__sq_mailbox_fetch(pl_store *store, const char *username, uint32_t device_id,
                         uint64_t after_seq, size_t max, pl_store_envelope_cb cb, void *ctx,
                         size_t *fetched);
int pl__sq_mailbox_ack(pl_store *store, const char *username, uint32_t device_id,
                       const uint64_t *seqs, size_t n, size_t *deleted);
int pl__sq_mailbox_count(pl_store *store, const char *username, uint32_t device_id,
                         uint64_t *count);
int pl__sq_mailbox_expire(pl_store *store, uint64_t now_ms, pl_store_expire_cb cb, void *ctx,
                          uint64_t *expired);

#endif
