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
    XX(SAVEPOINT, "SAVEPOINT pl_op")                                                               \
    XX(RELEASE, "RELEASE pl_op")                                                                   \
    XX(ROLLBACK_TO, "ROLLBACK TO pl_op")                                                           \
    XX(GROUP_BEGIN, "SAVEPOINT pl_group")                                                          \
    XX(GROUP_RELEASE, "RELEASE pl_group")                                                          \
    XX(GROUP_ROLLBACK_TO, "ROLLBACK TO pl_group")                                                  \
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
    XX(DEVICE_RETIRE, "INSERT OR IGNORE INTO removed_devices(account_id, device_id)"               \
                      " SELECT account_id, device_id FROM devices WHERE id = ?1")                  \
    XX(DEVICE_ID_USED, "SELECT 1 FROM devices WHERE account_id = ?1 AND device_id = ?2"            \
                       " UNION ALL SELECT 1 FROM removed_devices"                                  \
                       " WHERE account_id = ?1 AND device_id = ?2")                                \
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
                  " ciphertext, client_message_id, is_group, payload_id)"                          \
                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")                                  \
    XX(MB_PAYLOAD_INSERT, "INSERT INTO group_payloads(ciphertext) VALUES (?1)")                    \
    /* Column 7 is 1 for an envelope whose shared payload is missing (a damaged database). */      \
    XX(MB_FETCH, "SELECT e.seq, e.sender, e.sender_device, e.server_ts,"                           \
                 " CASE WHEN e.payload_id IS NULL THEN e.ciphertext ELSE p.ciphertext END,"        \
                 " e.client_message_id, e.is_group, e.payload_id IS NOT NULL AND p.id IS NULL"     \
                 " FROM envelopes e LEFT JOIN group_payloads p ON p.id = e.payload_id"             \
                 " WHERE e.device_ref = ?1 AND e.seq > ?2 ORDER BY e.seq LIMIT ?3")                \
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
    XX(MB_EXPIRE_DELETE, "DELETE FROM envelopes WHERE device_ref = ?1 AND server_ts < ?2")         \
    XX(SEND_FIND, "SELECT first_ts FROM sent_messages WHERE device_ref = ?1"                       \
                  " AND client_message_id = ?2")                                                   \
    XX(SEND_INSERT, "INSERT INTO sent_messages(device_ref, client_message_id, first_ts)"           \
                    " VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING")                                 \
    /* DELETE ... LIMIT needs a compile-time option; a row-value IN does the same. */              \
    XX(SEND_PRUNE, "DELETE FROM sent_messages WHERE (device_ref, client_message_id) IN"            \
                   " (SELECT device_ref, client_message_id FROM sent_messages"                     \
                   " INDEXED BY sent_messages_by_time WHERE first_ts < ?1 LIMIT ?2)")              \
    XX(KT_STATE_INSERT, "INSERT INTO kt_versions(label, version, state) VALUES (?1, ?2, ?3)")      \
    XX(KT_VERSION_LAST, "SELECT label, version, state, position, vrf_out, vrf_proof,"              \
                        " next_vrf_proof, commitment FROM kt_versions WHERE label = ?1"            \
                        " ORDER BY version DESC LIMIT 1")                                          \
    XX(KT_VERSION_LAST_BELOW, "SELECT label, version, state, position, vrf_out, vrf_proof,"        \
                              " next_vrf_proof, commitment FROM kt_versions WHERE label = ?1"      \
                              " AND position < ?2 ORDER BY version DESC LIMIT 1")                  \
    XX(KT_VERSION_ONE, "SELECT label, version, state, position, vrf_out, vrf_proof,"               \
                       " next_vrf_proof, commitment FROM kt_versions WHERE label = ?1"             \
                       " AND version = ?2 AND (?3 < 0 OR position < ?3)")                          \
    XX(KT_PENDING, "SELECT label, version, state, position, vrf_out, vrf_proof, next_vrf_proof,"   \
                   " commitment FROM kt_versions WHERE position IS NULL ORDER BY id LIMIT ?1")     \
    XX(KT_ENTRY_INSERT, "INSERT INTO kt_entries(position, timestamp, prefix_root, checkpoint)"     \
                        " VALUES (?1, ?2, ?3, ?4)")                                                \
    XX(KT_ENTRY_NEXT, "SELECT coalesce(max(position) + 1, 0) FROM kt_entries")                     \
    XX(KT_VERSION_LOG, "UPDATE kt_versions SET position = ?3, vrf_out = ?4, vrf_proof = ?5,"       \
                       " next_vrf_proof = ?6, commitment = ?7"                                     \
                       " WHERE label = ?1 AND version = ?2 AND position IS NULL")                  \
    XX(KT_ENTRY_PUBLISH, "UPDATE kt_entries SET published = ?2 WHERE position = ?1")               \
    XX(KT_ENTRIES, "SELECT position, timestamp, prefix_root, checkpoint, published"                \
                   " FROM kt_entries WHERE position >= ?1 ORDER BY position LIMIT ?2")             \
    XX(KT_LEAVES, "SELECT position, vrf_out, commitment FROM kt_versions"                          \
                  " WHERE position >= ?1 AND position < ?2 ORDER BY position, vrf_out")            \
    XX(KT_COSIG_PUT, "INSERT OR REPLACE INTO kt_cosignatures(size, witness, line)"                 \
                     " VALUES (?1, ?2, ?3)")                                                       \
    XX(KT_COSIGS, "SELECT witness, line FROM kt_cosignatures WHERE size = ?1 ORDER BY witness")    \
    XX(BLOB_USAGE, "SELECT count(*), total(size) FROM blobs WHERE owner = ?1")                     \
    XX(BLOB_INSERT, "INSERT INTO blobs(id, owner, size, expected_fetches, created_at, expires_at)" \
                    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)")                                            \
    XX(BLOB_GET, "SELECT owner, size, received, complete, expected_fetches, created_at,"           \
                 " expires_at, (SELECT count(*) FROM blob_fetches WHERE blob_id = ?1)"             \
                 " FROM blobs WHERE id = ?1")                                                      \
    XX(BLOB_UPDATE, "UPDATE blobs SET received = ?2, complete = ?3, expires_at = ?4"               \
                    " WHERE id = ?1")                                                              \
    XX(BLOB_FETCHED, "INSERT OR IGNORE INTO blob_fetches(blob_id, username, device_id)"            \
                     " SELECT id, ?2, ?3 FROM blobs WHERE id = ?1")                                \
    XX(BLOB_FETCH_COUNT, "SELECT count(*) FROM blob_fetches WHERE blob_id = ?1")                   \
    XX(BLOB_EXPIRE, "DELETE FROM blobs WHERE id IN (SELECT id FROM blobs"                          \
                    " INDEXED BY blobs_by_expiry WHERE expires_at <= ?1 LIMIT ?2) RETURNING id")

enum pl__sq_stmt_id {
#define PL__SQ_STMT_ENUM(id, sql) PL__SQ_##id,
    PL__SQ_STMT_MAP(PL__SQ_STMT_ENUM)
#undef PL__SQ_STMT_ENUM
        PL__SQ_STMT_COUNT
};

/* Where a handle stands with respect to batches (pl_store_batch_*). */
enum pl__sq_batch {
    PL__SQ_NO_BATCH = 0, /* each operation is its own BEGIN IMMEDIATE ... COMMIT */
    PL__SQ_BATCH_OPEN,   /* inside BEGIN IMMEDIATE; each operation is a SAVEPOINT */
    PL__SQ_BATCH_LOST    /* SQLite rolled the batch's transaction back after an error */
};

typedef struct pl__sq {
    pl_store base; /* first: the function table */
    sqlite3 *db;
    pl_store_options opt;
    sqlite3_stmt *stmt[PL__SQ_STMT_COUNT];
    enum pl__sq_batch batch;
    int op_open;    /* inside a batch: an operation's savepoint is open */
    int group_open; /* inside a batch: a group's savepoint (enclosing operations) is open */
    char err[256];
} pl__sq;

/* Records "what: sqlite's message" in s->err and returns the store error for rc. */
int pl__sq_fail(pl__sq *s, int rc, const char *what);
/* Records msg in s->err and returns code (for errors the backend itself detects). */
int pl__sq_error(pl__sq *s, int code, const char *msg);
/* Steps st, which must not return rows, and resets it: PL_STORE_OK when it ran to
 * SQLITE_DONE, else pl__sq_fail(s, rc, what) (a constraint is PL_STORE_E_EXISTS). */
int pl__sq_step_done(pl__sq *s, sqlite3_stmt *st, const char *what);
/* Returns the cached statement id, reset and unbound, with *rc = PL_STORE_OK; or NULL with
 * s->err set and *rc the store error. */
sqlite3_stmt *pl__sq_stmt(pl__sq *s, enum pl__sq_stmt_id id, int *rc);
/*
 * One write operation's transaction. Outside a batch: BEGIN IMMEDIATE / COMMIT (durable) /
 * ROLLBACK. Inside a batch: SAVEPOINT / RELEASE / ROLLBACK TO + RELEASE, so a failing
 * operation undoes only its own changes; begin fails with PL_STORE_E_IO once the batch's
 * transaction is lost. A failed commit has already rolled back; rollback never fails from
 * the caller's view and may be called again after a failed commit.
 */
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
/* Key transparency (store_sqlite_kt.c), with the contracts of their store.h wrappers. */
int pl__sq_kt_state_add(pl_store *store, const char *username, uint32_t version,
                        const uint8_t *state, size_t len);
int pl__sq_kt_version_get(pl_store *store, const char *username, uint32_t version,
                          uint64_t below_position, pl_store_kt_version *out);
int pl__sq_kt_pending(pl_store *store, pl_store_kt_version *out, size_t max, size_t *n);
int pl__sq_kt_entry_append(pl_store *store, const pl_store_kt_entry *e,
                           const pl_store_kt_version *added, size_t n);
int pl__sq_kt_entry_publish(pl_store *store, uint64_t position, const char *note, size_t len);
int pl__sq_kt_entries(pl_store *store, uint64_t from, uint64_t max, pl_store_kt_entry_cb cb,
                      void *ctx);
int pl__sq_kt_leaves(pl_store *store, uint64_t from, uint64_t to, pl_store_kt_leaf_cb cb,
                     void *ctx);
int pl__sq_kt_cosignature_put(pl_store *store, uint64_t size, const char *witness, const char *line,
                              size_t len);
int pl__sq_kt_cosignatures(pl_store *store, uint64_t size, pl_store_kt_cosig_cb cb, void *ctx);
/* Attachment blobs (store_sqlite_blob.c), with the contracts of their store.h wrappers. */
int pl__sq_blob_create(pl_store *store, const pl_store_blob *b, uint64_t quota_bytes,
                       uint32_t max_blobs);
int pl__sq_blob_get(pl_store *store, const uint8_t id[PL_STORE_BLOB_ID_BYTES], pl_store_blob *out);
int pl__sq_blob_update(pl_store *store, const uint8_t id[PL_STORE_BLOB_ID_BYTES], uint64_t received,
                       int complete, uint64_t expires_at_ms);
int pl__sq_blob_fetched(pl_store *store, const uint8_t id[PL_STORE_BLOB_ID_BYTES],
                        const char *username, uint32_t device_id, uint32_t *fetched);
int pl__sq_blob_expire(pl_store *store, uint64_t now_ms, uint8_t (*ids)[PL_STORE_BLOB_ID_BYTES],
                       size_t max, size_t *n);
int pl__sq_send_record(pl_store *store, const char *sender, uint32_t sender_device,
                       const uint8_t client_message_id[PL_STORE_CLIENT_MESSAGE_ID_BYTES],
                       uint64_t now_ms, uint64_t *first_ts_ms);

#endif
