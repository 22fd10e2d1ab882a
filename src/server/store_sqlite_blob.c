/*
 * store_sqlite_blob.c: attachment blobs' metadata in the SQLite backend (store.h, schema
 * version 4; PROTOCOL.md §27). The bytes are files under DATA/blobs/ (blob_store.c); a row
 * here is the truth about how many of them are durable (`received`), so a file longer than
 * `received` (a put whose batch did not commit) is simply overwritten by the next put.
 */
#include <string.h>

#include <sqlite3.h>

#include "store.h"
#include "store_sqlite_internal.h"

static int bind_id(pl__sq *s, sqlite3_stmt *st, const uint8_t id[PL_STORE_BLOB_ID_BYTES])
{
    int rc = sqlite3_bind_blob(st, 1, id, PL_STORE_BLOB_ID_BYTES, SQLITE_STATIC);

    return rc == SQLITE_OK ? PL_STORE_OK : pl__sq_fail(s, rc, "bind");
}

int pl__sq_blob_create(pl_store *store, const pl_store_blob *b, uint64_t quota_bytes,
                       uint32_t max_blobs)
{
    pl__sq *s = (pl__sq *)store;
    sqlite3_stmt *st;
    int r, rc;
    int64_t count;
    double total;

    if ((r = pl__sq_check_username(s, b->owner)) != PL_STORE_OK)
        return r;
    if (b->size == 0 || b->size > INT64_MAX || b->expected_fetches == 0 ||
        b->created_at_ms > INT64_MAX || b->expires_at_ms > INT64_MAX)
        return pl__sq_error(s, PL_STORE_E_INVALID_ARG, "blob out of range");
    if ((r = pl__sq_begin(s)) != PL_STORE_OK)
        return r;
    if (!(st = pl__sq_stmt(s, PL__SQ_BLOB_USAGE, &r)))
        goto out;
    if ((rc = sqlite3_bind_text(st, 1, b->owner, -1, SQLITE_STATIC)) != SQLITE_OK ||
        (rc = sqlite3_step(st)) != SQLITE_ROW) {
        r = pl__sq_fail(s, rc, "blob usage");
        sqlite3_reset(st);
        goto out;
    }
    count = sqlite3_column_int64(st, 0);
    total = sqlite3_column_double(st, 1); /* total() is a float; sizes stay far below 2^53 */
    sqlite3_reset(st);
    if ((uint64_t)count >= max_blobs) {
        r = pl__sq_error(s, PL_STORE_E_LIMIT, "the account holds its maximum number of blobs");
        goto out;
    }
    if (total + (double)b->size > (double)quota_bytes) {
        r = pl__sq_error(s, PL_STORE_E_QUOTA, "the account's blob quota would be exceeded");
        goto out;
    }
    if (!(st = pl__sq_stmt(s, PL__SQ_BLOB_INSERT, &r)))
        goto out;
    if ((r = bind_id(s, st, b->id)) != PL_STORE_OK ||
        (rc = sqlite3_bind_text(st, 2, b->owner, -1, SQLITE_STATIC)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 3, (sqlite3_int64)b->size)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 4, b->expected_fetches)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 5, (sqlite3_int64)b->created_at_ms)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 6, (sqlite3_int64)b->expires_at_ms)) != SQLITE_OK) {
        if (r == PL_STORE_OK)
            r = pl__sq_fail(s, rc, "bind");
        sqlite3_reset(st);
        goto out;
    }
    if ((r = pl__sq_step_done(s, st, "insert a blob")) != PL_STORE_OK)
        goto out;
    r = pl__sq_commit(s);
out:
    if (r != PL_STORE_OK)
        pl__sq_rollback(s);
    return r;
}

int pl__sq_blob_get(pl_store *store, const uint8_t id[PL_STORE_BLOB_ID_BYTES], pl_store_blob *out)
{
    pl__sq *s = (pl__sq *)store;
    sqlite3_stmt *st;
    const unsigned char *owner;
    int r, rc;
    int owner_len;

    memset(out, 0, sizeof *out);
    if (!(st = pl__sq_stmt(s, PL__SQ_BLOB_GET, &r)))
        return r;
    if ((r = bind_id(s, st, id)) != PL_STORE_OK)
        goto out;
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        r = pl__sq_error(s, PL_STORE_E_NOT_FOUND, "no such blob");
        goto out;
    }
    if (rc != SQLITE_ROW) {
        r = pl__sq_fail(s, rc, "read a blob");
        goto out;
    }
    owner = sqlite3_column_text(st, 0);
    owner_len = sqlite3_column_bytes(st, 0);
    if (!owner || owner_len <= 0 || (size_t)owner_len > PL_STORE_USERNAME_MAX) {
        r = pl__sq_error(s, PL_STORE_E_CORRUPT, "a blob's owner is damaged");
        goto out;
    }
    memcpy(out->id, id, PL_STORE_BLOB_ID_BYTES);
    memcpy(out->owner, owner, (size_t)owner_len);
    out->size = (uint64_t)sqlite3_column_int64(st, 1);
    out->received = (uint64_t)sqlite3_column_int64(st, 2);
    out->complete = sqlite3_column_int(st, 3) != 0;
    out->expected_fetches = (uint32_t)sqlite3_column_int64(st, 4);
    out->created_at_ms = (uint64_t)sqlite3_column_int64(st, 5);
    out->expires_at_ms = (uint64_t)sqlite3_column_int64(st, 6);
    out->fetched = (uint32_t)sqlite3_column_int64(st, 7);
    if (out->received > out->size) {
        memset(out, 0, sizeof *out);
        r = pl__sq_error(s, PL_STORE_E_CORRUPT, "a blob's received count exceeds its size");
        goto out;
    }
    r = PL_STORE_OK;
out:
    sqlite3_reset(st);
    return r;
}

int pl__sq_blob_update(pl_store *store, const uint8_t id[PL_STORE_BLOB_ID_BYTES], uint64_t received,
                       int complete, uint64_t expires_at_ms)
{
    pl__sq *s = (pl__sq *)store;
    sqlite3_stmt *st;
    int r, rc;

    if (received > INT64_MAX || expires_at_ms > INT64_MAX)
        return pl__sq_error(s, PL_STORE_E_INVALID_ARG, "blob update out of range");
    if ((r = pl__sq_begin(s)) != PL_STORE_OK)
        return r;
    if (!(st = pl__sq_stmt(s, PL__SQ_BLOB_UPDATE, &r)))
        goto out;
    if ((r = bind_id(s, st, id)) != PL_STORE_OK ||
        (rc = sqlite3_bind_int64(st, 2, (sqlite3_int64)received)) != SQLITE_OK ||
        (rc = sqlite3_bind_int(st, 3, complete ? 1 : 0)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 4, (sqlite3_int64)expires_at_ms)) != SQLITE_OK) {
        if (r == PL_STORE_OK)
            r = pl__sq_fail(s, rc, "bind");
        sqlite3_reset(st);
        goto out;
    }
    if ((r = pl__sq_step_done(s, st, "update a blob")) != PL_STORE_OK)
        goto out;
    if (sqlite3_changes(s->db) == 0) {
        r = pl__sq_error(s, PL_STORE_E_NOT_FOUND, "no such blob");
        goto out;
    }
    r = pl__sq_commit(s);
out:
    if (r != PL_STORE_OK)
        pl__sq_rollback(s);
    return r;
}

int pl__sq_blob_fetched(pl_store *store, const uint8_t id[PL_STORE_BLOB_ID_BYTES],
                        const char *username, uint32_t device_id, uint32_t *fetched)
{
    pl__sq *s = (pl__sq *)store;
    sqlite3_stmt *st;
    int r, rc;

    *fetched = 0;
    if ((r = pl__sq_check_username(s, username)) != PL_STORE_OK)
        return r;
    if ((r = pl__sq_begin(s)) != PL_STORE_OK)
        return r;
    if (!(st = pl__sq_stmt(s, PL__SQ_BLOB_FETCHED, &r)))
        goto out;
    if ((r = bind_id(s, st, id)) != PL_STORE_OK ||
        (rc = sqlite3_bind_text(st, 2, username, -1, SQLITE_STATIC)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 3, device_id)) != SQLITE_OK) {
        if (r == PL_STORE_OK)
            r = pl__sq_fail(s, rc, "bind");
        sqlite3_reset(st);
        goto out;
    }
    if ((r = pl__sq_step_done(s, st, "record a fetch")) != PL_STORE_OK)
        goto out;
    if (!(st = pl__sq_stmt(s, PL__SQ_BLOB_FETCH_COUNT, &r)))
        goto out;
    if ((r = bind_id(s, st, id)) != PL_STORE_OK || (rc = sqlite3_step(st)) != SQLITE_ROW) {
        if (r == PL_STORE_OK)
            r = pl__sq_fail(s, rc, "count fetches");
        sqlite3_reset(st);
        goto out;
    }
    *fetched = (uint32_t)sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (*fetched == 0) { /* the INSERT ... SELECT found no blob */
        r = pl__sq_error(s, PL_STORE_E_NOT_FOUND, "no such blob");
        goto out;
    }
    r = pl__sq_commit(s);
out:
    if (r != PL_STORE_OK) {
        *fetched = 0;
        pl__sq_rollback(s);
    }
    return r;
}

int pl__sq_blob_expire(pl_store *store, uint64_t now_ms, uint8_t (*ids)[PL_STORE_BLOB_ID_BYTES],
                       size_t max, size_t *n)
{
    pl__sq *s = (pl__sq *)store;
    sqlite3_stmt *st;
    int r, rc;

    *n = 0;
    if (now_ms > INT64_MAX || max == 0 || max > INT32_MAX)
        return pl__sq_error(s, PL_STORE_E_INVALID_ARG, "blob expiry out of range");
    if ((r = pl__sq_begin(s)) != PL_STORE_OK)
        return r;
    if (!(st = pl__sq_stmt(s, PL__SQ_BLOB_EXPIRE, &r)))
        goto out;
    if ((rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)now_ms)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 2, (sqlite3_int64)max)) != SQLITE_OK) {
        r = pl__sq_fail(s, rc, "bind");
        sqlite3_reset(st);
        goto out;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n < max && sqlite3_column_bytes(st, 0) == PL_STORE_BLOB_ID_BYTES)
            memcpy(ids[(*n)++], sqlite3_column_blob(st, 0), PL_STORE_BLOB_ID_BYTES);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        r = pl__sq_fail(s, rc, "expire blobs");
        goto out;
    }
    r = pl__sq_commit(s);
out:
    if (r != PL_STORE_OK) {
        *n = 0;
        pl__sq_rollback(s);
    }
    return r;
}
