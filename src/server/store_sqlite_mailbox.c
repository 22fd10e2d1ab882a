/*
 * store_sqlite_mailbox.c: per-device mailboxes in the SQLite backend: group-commit append,
 * ordered fetch, idempotent ack, counts and retention expiry; and the send records that
 * deduplicate a client's resends, pruned by the same expiry pass.
 *
 * Invariants, kept inside each transaction:
 *   - devices.next_seq is greater than every seq the device's mailbox has ever held, so seqs
 *     are strictly increasing per device and never reused, even after acks and expiry;
 *   - devices.pending equals the number of the device's rows in envelopes, so the quota
 *     check costs one row update instead of a count; an envelope sharing a payload counts
 *     one like any other;
 *   - a group_payloads row exists exactly while some envelope refers to it (the trigger
 *     envelopes_release_payload deletes it with the last one, see below).
 */
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "store.h"
#include "store_sqlite_internal.h"

/* Devices handled per expiry transaction: bounds how long one chunk holds the write lock. */
#define SQ_EXPIRE_CHUNK 128
/* Send records deleted per pruning transaction, for the same reason. */
#define SQ_PRUNE_CHUNK 1024

static const uint8_t zero_message_id[PL_STORE_CLIENT_MESSAGE_ID_BYTES];

/* Binds a blob that may be empty (SQLite binds NULL for a NULL pointer). */
static int bind_bytes(sqlite3_stmt *st, int col, const uint8_t *p, size_t len)
{
    return sqlite3_bind_blob(st, col, len ? (const void *)p : (const void *)"", (int)len,
                             SQLITE_STATIC);
}

static int check_envelope(pl__sq *s, const pl_store_envelope *e)
{
    int r;

    if ((r = pl__sq_check_username(s, e->recipient)) != PL_STORE_OK ||
        (r = pl__sq_check_username(s, e->sender)) != PL_STORE_OK)
        return r;
    if (e->ciphertext_len > PL_STORE_CIPHERTEXT_MAX || (e->ciphertext_len && !e->ciphertext))
        return pl__sq_error(s, PL_STORE_E_INVALID_ARG, "ciphertext size out of range");
    return PL_STORE_OK;
}

/* Takes the device's next seq and counts the envelope as pending; refuses past the quota. */
static int reserve_seq(pl__sq *s, int64_t ref, uint64_t *seq)
{
    sqlite3_stmt *st;
    int64_t pending;
    int r, rc;

    if (!(st = pl__sq_stmt(s, PL__SQ_MB_RESERVE, &r)))
        return r;
    if ((rc = sqlite3_bind_int64(st, 1, ref)) != SQLITE_OK ||
        (rc = sqlite3_step(st)) != SQLITE_ROW) {
        r = pl__sq_fail(s, rc, "reserve sequence number");
        sqlite3_reset(st);
        return r;
    }
    *seq = (uint64_t)sqlite3_column_int64(st, 0);
    pending = sqlite3_column_int64(st, 1);
    if ((r = pl__sq_step_done(s, st, "reserve sequence number")) != PL_STORE_OK)
        return r;
    if (pending < 0 || (uint64_t)pending > s->opt.mailbox_quota)
        return pl__sq_error(s, PL_STORE_E_QUOTA, "recipient device mailbox is full");
    return PL_STORE_OK;
}

/*
 * Shared payloads (schema v5). Envelopes of one append call that are a run of group envelopes
 * with the same ciphertext pointer and length (a GroupSend's fan-out) share one row of
 * group_payloads: the ciphertext is written once and each envelope row holds an empty
 * ciphertext and the payload's id. The payload is deleted by the trigger
 * envelopes_release_payload when its last envelope goes, whatever deletes it (ack, expiry,
 * a device's or an account's removal by cascade), in the same transaction; see the
 * migration in store_sqlite.c for why a NOT EXISTS check and not a reference count.
 */

/* 1 if envs[i] shares its ciphertext with envs[i - 1] (see above). */
static int shares_previous(const pl_store_envelope *envs, size_t i)
{
    return i > 0 && envs[i].group && envs[i - 1].group && envs[i].ciphertext_len > 0 &&
           envs[i].ciphertext == envs[i - 1].ciphertext &&
           envs[i].ciphertext_len == envs[i - 1].ciphertext_len;
}

/* 1 if envs[i] starts a run of at least two envelopes sharing one ciphertext. */
static int starts_shared_run(const pl_store_envelope *envs, size_t n, size_t i)
{
    return !shares_previous(envs, i) && i + 1 < n && shares_previous(envs, i + 1);
}

/* Stores one shared ciphertext; *id is its group_payloads row. */
static int insert_payload(pl__sq *s, const pl_store_envelope *e, int64_t *id)
{
    sqlite3_stmt *st;
    int r, rc;

    if (!(st = pl__sq_stmt(s, PL__SQ_MB_PAYLOAD_INSERT, &r)))
        return r;
    if ((rc = bind_bytes(st, 1, e->ciphertext, e->ciphertext_len)) != SQLITE_OK) {
        r = pl__sq_fail(s, rc, "bind");
        sqlite3_reset(st);
        return r;
    }
    if ((r = pl__sq_step_done(s, st, "store shared payload")) != PL_STORE_OK)
        return r;
    *id = sqlite3_last_insert_rowid(s->db);
    return PL_STORE_OK;
}

/* Stores one envelope; payload is its shared payload's id, or 0 to keep the ciphertext in
 * the envelope's own row. */
static int insert_envelope(pl__sq *s, int64_t ref, uint64_t seq, const pl_store_envelope *e,
                           int64_t payload)
{
    sqlite3_stmt *st;
    int r, rc;

    if (!(st = pl__sq_stmt(s, PL__SQ_MB_INSERT, &r)))
        return r;
    if ((rc = sqlite3_bind_int64(st, 1, ref)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 2, (sqlite3_int64)seq)) != SQLITE_OK ||
        (rc = sqlite3_bind_text(st, 3, e->sender, -1, SQLITE_STATIC)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 4, (sqlite3_int64)e->sender_device)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 5, (sqlite3_int64)e->server_ts_ms)) != SQLITE_OK ||
        (rc = payload ? bind_bytes(st, 6, NULL, 0)
                      : bind_bytes(st, 6, e->ciphertext, e->ciphertext_len)) != SQLITE_OK ||
        (rc =
             sqlite3_bind_blob(st, 7, e->client_message_id ? e->client_message_id : zero_message_id,
                               PL_STORE_CLIENT_MESSAGE_ID_BYTES, SQLITE_STATIC)) != SQLITE_OK ||
        (rc = sqlite3_bind_int(st, 8, e->group ? 1 : 0)) != SQLITE_OK ||
        (rc = payload ? sqlite3_bind_int64(st, 9, payload) : sqlite3_bind_null(st, 9)) !=
            SQLITE_OK) {
        r = pl__sq_fail(s, rc, "bind");
        sqlite3_reset(st);
        return r;
    }
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    /* (device_ref, seq) is unique and next_seq only grows: a clash means a damaged table. */
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return pl__sq_error(s, PL_STORE_E_CORRUPT, "sequence number already in use");
    if (rc != SQLITE_DONE)
        return pl__sq_fail(s, rc, "store envelope");
    return PL_STORE_OK;
}

int pl__sq_mailbox_append(pl_store *store, pl_store_envelope *envs, size_t n, size_t *failed)
{
    pl__sq *s = (pl__sq *)store;
    size_t i;
    int64_t ref = 0, payload = 0;
    uint64_t seq = 0;
    int r;

    *failed = n;
    for (i = 0; i < n; i++)
        envs[i].seq = 0;
    for (i = 0; i < n; i++) {
        if ((r = check_envelope(s, &envs[i])) != PL_STORE_OK) {
            *failed = i;
            return r;
        }
    }
    if (n == 0)
        return PL_STORE_OK;
    if ((r = pl__sq_begin(s)) != PL_STORE_OK)
        return r;
    for (i = 0; i < n; i++) {
        if ((r = pl__sq_device_ref(s, envs[i].recipient, envs[i].recipient_device, &ref)) !=
                PL_STORE_OK ||
            (r = reserve_seq(s, ref, &seq)) != PL_STORE_OK) {
            if (r == PL_STORE_E_NOT_FOUND || r == PL_STORE_E_QUOTA)
                *failed = i;
            goto out;
        }
        if (starts_shared_run(envs, n, i))
            r = insert_payload(s, &envs[i], &payload);
        else if (!shares_previous(envs, i))
            payload = 0;
        if (r != PL_STORE_OK ||
            (r = insert_envelope(s, ref, seq, &envs[i], payload)) != PL_STORE_OK)
            goto out;
        envs[i].seq = seq;
    }
    /* COMMIT returns after the WAL fsync (synchronous=FULL): now the caller may ack. */
    r = pl__sq_commit(s);
out:
    if (r != PL_STORE_OK) {
        pl__sq_rollback(s);
        for (i = 0; i < n; i++)
            envs[i].seq = 0;
    }
    return r;
}

int pl__sq_mailbox_fetch(pl_store *store, const char *username, uint32_t device_id,
                         uint64_t after_seq, size_t max, pl_store_envelope_cb cb, void *ctx,
                         size_t *fetched)
{
    pl__sq *s = (pl__sq *)store;
    pl_store_envelope e;
    sqlite3_stmt *st;
    int64_t ref = 0;
    size_t count = 0;
    int r, rc;

    if (fetched)
        *fetched = 0;
    if ((r = pl__sq_device_ref(s, username, device_id, &ref)) != PL_STORE_OK)
        return r;
    if (max == 0)
        return PL_STORE_OK;
    if (!(st = pl__sq_stmt(s, PL__SQ_MB_FETCH, &r)))
        return r;
    if ((rc = sqlite3_bind_int64(st, 1, ref)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(
             st, 2, after_seq > INT64_MAX ? INT64_MAX : (sqlite3_int64)after_seq)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 3, max > INT64_MAX ? INT64_MAX : (sqlite3_int64)max)) !=
            SQLITE_OK) {
        r = pl__sq_fail(s, rc, "bind");
        goto out;
    }
    r = PL_STORE_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *sender = sqlite3_column_text(st, 1);
        const void *ct = sqlite3_column_blob(st, 4);
        int ct_len = sqlite3_column_bytes(st, 4);
        const void *cmid = sqlite3_column_blob(st, 5);
        int cmid_len = sqlite3_column_bytes(st, 5);
        sqlite3_int64 sender_device = sqlite3_column_int64(st, 2);
        sqlite3_int64 group = sqlite3_column_int64(st, 6);

        if (!sender || ct_len < 0 || !cmid || cmid_len != PL_STORE_CLIENT_MESSAGE_ID_BYTES ||
            sender_device < 0 || sender_device > UINT32_MAX || (group != 0 && group != 1) ||
            sqlite3_column_int(st, 7) != 0) {
            r = pl__sq_error(s, PL_STORE_E_CORRUPT, "stored envelope is damaged");
            goto out;
        }
        memset(&e, 0, sizeof e);
        e.recipient = username;
        e.recipient_device = device_id;
        e.seq = (uint64_t)sqlite3_column_int64(st, 0);
        e.sender = (const char *)sender;
        e.sender_device = (uint32_t)sender_device;
        e.group = (int)group;
        e.server_ts_ms = (uint64_t)sqlite3_column_int64(st, 3);
        e.ciphertext = ct ? ct : (const void *)"";
        e.ciphertext_len = (size_t)ct_len;
        e.client_message_id = cmid;
        count++;
        if (cb(ctx, &e) != 0)
            goto out;
    }
    if (rc != SQLITE_DONE)
        r = pl__sq_fail(s, rc, "fetch envelopes");
out:
    sqlite3_reset(st);
    if (fetched)
        *fetched = count;
    return r;
}

/* devices.pending -= n for the device. */
static int pending_sub(pl__sq *s, int64_t ref, int64_t n)
{
    sqlite3_stmt *st;
    int r, rc;

    if (n == 0)
        return PL_STORE_OK;
    if (!(st = pl__sq_stmt(s, PL__SQ_MB_PENDING_SUB, &r)))
        return r;
    if ((rc = sqlite3_bind_int64(st, 1, ref)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 2, n)) != SQLITE_OK) {
        r = pl__sq_fail(s, rc, "bind");
        sqlite3_reset(st);
        return r;
    }
    return pl__sq_step_done(s, st, "update pending count");
}

int pl__sq_mailbox_ack(pl_store *store, const char *username, uint32_t device_id,
                       const uint64_t *seqs, size_t n, size_t *deleted)
{
    pl__sq *s = (pl__sq *)store;
    sqlite3_stmt *st;
    int64_t ref = 0, gone = 0;
    size_t i;
    int r, rc;

    if (deleted)
        *deleted = 0;
    if ((r = pl__sq_begin(s)) != PL_STORE_OK)
        return r;
    if ((r = pl__sq_device_ref(s, username, device_id, &ref)) != PL_STORE_OK)
        goto out;
    for (i = 0; i < n; i++) {
        if (seqs[i] > INT64_MAX)
            continue; /* never assigned */
        if (!(st = pl__sq_stmt(s, PL__SQ_MB_ACK, &r)))
            goto out;
        if ((rc = sqlite3_bind_int64(st, 1, ref)) != SQLITE_OK ||
            (rc = sqlite3_bind_int64(st, 2, (sqlite3_int64)seqs[i])) != SQLITE_OK) {
            r = pl__sq_fail(s, rc, "bind");
            goto out;
        }
        if ((r = pl__sq_step_done(s, st, "acknowledge envelope")) != PL_STORE_OK)
            goto out;
        gone += sqlite3_changes(s->db);
    }
    if ((r = pending_sub(s, ref, gone)) != PL_STORE_OK || (r = pl__sq_commit(s)) != PL_STORE_OK)
        goto out;
    if (deleted)
        *deleted = (size_t)gone;
out:
    if (r != PL_STORE_OK)
        pl__sq_rollback(s);
    return r;
}

int pl__sq_mailbox_count(pl_store *store, const char *username, uint32_t device_id, uint64_t *count)
{
    pl__sq *s = (pl__sq *)store;
    sqlite3_stmt *st;
    int64_t ref = 0, v;
    int r, rc;

    *count = 0;
    if ((r = pl__sq_device_ref(s, username, device_id, &ref)) != PL_STORE_OK)
        return r;
    if (!(st = pl__sq_stmt(s, PL__SQ_MB_COUNT, &r)))
        return r;
    if ((rc = sqlite3_bind_int64(st, 1, ref)) != SQLITE_OK ||
        (rc = sqlite3_step(st)) != SQLITE_ROW) {
        r = pl__sq_fail(s, rc, "count envelopes");
    } else if ((v = sqlite3_column_int64(st, 0)) < 0) {
        r = pl__sq_error(s, PL_STORE_E_CORRUPT, "negative pending count");
    } else {
        *count = (uint64_t)v;
        r = PL_STORE_OK;
    }
    sqlite3_reset(st);
    return r;
}

struct expired_device {
    int64_t ref;
    char username[PL_STORE_USERNAME_MAX + 1];
    uint32_t device_id;
    uint64_t count;
};

/* Expires one chunk of devices in one transaction; *n is how many devices it touched. */
static int expire_chunk(pl__sq *s, int64_t cutoff, struct expired_device *dev, size_t *n)
{
    sqlite3_stmt *st;
    size_t k = 0, i;
    int r, rc;

    *n = 0;
    if ((r = pl__sq_begin(s)) != PL_STORE_OK)
        return r;
    if (!(st = pl__sq_stmt(s, PL__SQ_MB_EXPIRE_SCAN, &r)))
        goto out;
    if ((rc = sqlite3_bind_int64(st, 1, cutoff)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 2, SQ_EXPIRE_CHUNK)) != SQLITE_OK) {
        r = pl__sq_fail(s, rc, "bind");
        goto out;
    }
    while (k < SQ_EXPIRE_CHUNK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *name = sqlite3_column_text(st, 1);

        memset(&dev[k], 0, sizeof dev[k]);
        dev[k].ref = sqlite3_column_int64(st, 0);
        if (name)
            strncpy(dev[k].username, (const char *)name, PL_STORE_USERNAME_MAX);
        dev[k].device_id = (uint32_t)sqlite3_column_int64(st, 2);
        k++;
    }
    sqlite3_reset(st);
    if (k < SQ_EXPIRE_CHUNK && rc != SQLITE_DONE) {
        r = pl__sq_fail(s, rc, "find expired envelopes");
        goto out;
    }
    for (i = 0; i < k; i++) {
        if (!(st = pl__sq_stmt(s, PL__SQ_MB_EXPIRE_DELETE, &r)))
            goto out;
        if ((rc = sqlite3_bind_int64(st, 1, dev[i].ref)) != SQLITE_OK ||
            (rc = sqlite3_bind_int64(st, 2, cutoff)) != SQLITE_OK) {
            r = pl__sq_fail(s, rc, "bind");
            goto out;
        }
        if ((r = pl__sq_step_done(s, st, "expire envelopes")) != PL_STORE_OK)
            goto out;
        dev[i].count = (uint64_t)sqlite3_changes(s->db);
        if ((r = pending_sub(s, dev[i].ref, (int64_t)dev[i].count)) != PL_STORE_OK)
            goto out;
    }
    if ((r = pl__sq_commit(s)) != PL_STORE_OK)
        goto out;
    *n = k;
out:
    if (r != PL_STORE_OK)
        pl__sq_rollback(s);
    return r;
}

/* Expires envelopes chunk by chunk; *total counts them, reported or not before an error. */
static int expire_envelopes(pl__sq *s, uint64_t now_ms, pl_store_expire_cb cb, void *ctx,
                            uint64_t *total)
{
    struct expired_device dev[SQ_EXPIRE_CHUNK];
    uint64_t cutoff;
    size_t n, i;
    int r;

    if (now_ms <= s->opt.retention_ms)
        return PL_STORE_OK;
    cutoff = now_ms - s->opt.retention_ms;
    if (cutoff > INT64_MAX)
        cutoff = INT64_MAX;
    for (;;) {
        if ((r = expire_chunk(s, (int64_t)cutoff, dev, &n)) != PL_STORE_OK)
            break;
        for (i = 0; i < n; i++) {
            *total += dev[i].count;
            if (cb && dev[i].count)
                cb(ctx, dev[i].username, dev[i].device_id, dev[i].count);
        }
        if (n < SQ_EXPIRE_CHUNK)
            break;
    }
    return r;
}

/* Deletes up to SQ_PRUNE_CHUNK send records older than cutoff in one transaction. */
static int prune_chunk(pl__sq *s, int64_t cutoff, int *deleted)
{
    sqlite3_stmt *st;
    int r, rc;

    *deleted = 0;
    if ((r = pl__sq_begin(s)) != PL_STORE_OK)
        return r;
    if (!(st = pl__sq_stmt(s, PL__SQ_SEND_PRUNE, &r)))
        goto out;
    if ((rc = sqlite3_bind_int64(st, 1, cutoff)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 2, SQ_PRUNE_CHUNK)) != SQLITE_OK) {
        r = pl__sq_fail(s, rc, "bind");
        goto out;
    }
    if ((r = pl__sq_step_done(s, st, "prune send records")) != PL_STORE_OK)
        goto out;
    if ((r = pl__sq_commit(s)) != PL_STORE_OK)
        goto out;
    *deleted = sqlite3_changes(s->db);
out:
    if (r != PL_STORE_OK)
        pl__sq_rollback(s);
    return r;
}

/* Deletes the send records older than PL_STORE_SEND_DEDUP_MS before now_ms. */
static int prune_sends(pl__sq *s, uint64_t now_ms)
{
    uint64_t cutoff;
    int deleted = 0;
    int r;

    if (now_ms <= PL_STORE_SEND_DEDUP_MS)
        return PL_STORE_OK;
    cutoff = now_ms - PL_STORE_SEND_DEDUP_MS;
    if (cutoff > INT64_MAX)
        cutoff = INT64_MAX;
    do {
        r = prune_chunk(s, (int64_t)cutoff, &deleted);
    } while (r == PL_STORE_OK && deleted >= SQ_PRUNE_CHUNK);
    return r;
}

int pl__sq_mailbox_expire(pl_store *store, uint64_t now_ms, pl_store_expire_cb cb, void *ctx,
                          uint64_t *expired)
{
    pl__sq *s = (pl__sq *)store;
    uint64_t total = 0;
    int r;

    if (expired)
        *expired = 0;
    /* Its chunks commit one by one; a batch would hold them all until its own commit. */
    if (s->batch != PL__SQ_NO_BATCH)
        return pl__sq_error(s, PL_STORE_E_INVALID_ARG, "mailbox expiry cannot run in a batch");
    if ((r = expire_envelopes(s, now_ms, cb, ctx, &total)) == PL_STORE_OK)
        r = prune_sends(s, now_ms);
    if (expired)
        *expired = total;
    return r;
}

/* ---- Send deduplication ----------------------------------------------------------------- */

/* Looks up the first time of an existing send record: PL_STORE_OK or an I/O-class error. */
static int send_first_ts(pl__sq *s, int64_t ref, const uint8_t *id, int64_t *first)
{
    sqlite3_stmt *st;
    int r, rc;

    if (!(st = pl__sq_stmt(s, PL__SQ_SEND_FIND, &r)))
        return r;
    if ((rc = sqlite3_bind_int64(st, 1, ref)) != SQLITE_OK ||
        (rc = sqlite3_bind_blob(st, 2, id, PL_STORE_CLIENT_MESSAGE_ID_BYTES, SQLITE_STATIC)) !=
            SQLITE_OK)
        r = pl__sq_fail(s, rc, "bind");
    else if ((rc = sqlite3_step(st)) != SQLITE_ROW)
        r = pl__sq_fail(s, rc, "find send record"); /* DONE too: the insert just clashed */
    else if ((*first = sqlite3_column_int64(st, 0)) < 0)
        r = pl__sq_error(s, PL_STORE_E_CORRUPT, "negative send record time");
    else
        r = PL_STORE_OK;
    sqlite3_reset(st);
    return r;
}

int pl__sq_send_record(pl_store *store, const char *sender, uint32_t sender_device,
                       const uint8_t client_message_id[PL_STORE_CLIENT_MESSAGE_ID_BYTES],
                       uint64_t now_ms, uint64_t *first_ts_ms)
{
    pl__sq *s = (pl__sq *)store;
    sqlite3_stmt *st;
    int64_t ref = 0, first = 0;
    int r, rc;

    if (first_ts_ms)
        *first_ts_ms = 0;
    if (!client_message_id || now_ms > INT64_MAX)
        return pl__sq_error(s, PL_STORE_E_INVALID_ARG, "missing message id or time out of range");
    if ((r = pl__sq_check_username(s, sender)) != PL_STORE_OK)
        return r;
    if ((r = pl__sq_begin(s)) != PL_STORE_OK)
        return r;
    if ((r = pl__sq_device_ref(s, sender, sender_device, &ref)) != PL_STORE_OK)
        goto out;
    /* The new message is the common case: one INSERT, and a lookup only when it clashes. */
    if (!(st = pl__sq_stmt(s, PL__SQ_SEND_INSERT, &r)))
        goto out;
    if ((rc = sqlite3_bind_int64(st, 1, ref)) != SQLITE_OK ||
        (rc = sqlite3_bind_blob(st, 2, client_message_id, PL_STORE_CLIENT_MESSAGE_ID_BYTES,
                                SQLITE_STATIC)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 3, (sqlite3_int64)now_ms)) != SQLITE_OK) {
        r = pl__sq_fail(s, rc, "bind");
        sqlite3_reset(st);
        goto out;
    }
    if ((r = pl__sq_step_done(s, st, "record send")) != PL_STORE_OK)
        goto out;
    if (sqlite3_changes(s->db) == 0) {
        if ((r = send_first_ts(s, ref, client_message_id, &first)) == PL_STORE_OK)
            r = pl__sq_error(s, PL_STORE_E_EXISTS, "message already sent by this device");
        goto out;
    }
    if ((r = pl__sq_commit(s)) != PL_STORE_OK)
        goto out;
    first = (int64_t)now_ms;
out:
    if (r != PL_STORE_OK)
        pl__sq_rollback(s);
    if (first_ts_ms && (r == PL_STORE_OK || r == PL_STORE_E_EXISTS))
        *first_ts_ms = (uint64_t)first;
    return r;
}
