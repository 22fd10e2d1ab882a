/*
 * cstore_receipt.c: the receipts table of the local store (cstore.h, schema version 3): the
 * delivery and read status of stored messages (PROTOCOL.md §28). Plain values: which message
 * ids were delivered or read is what the server could already guess from the traffic.
 */
#include <string.h>

#include "cstore_internal.h"

static int bind_key(pl_cstore *s, sqlite3_stmt *st, const char *peer, int kind,
                    const uint8_t id[16])
{
    int rc;

    if ((rc = sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC)) != SQLITE_OK ||
        (rc = sqlite3_bind_int(st, 2, kind)) != SQLITE_OK ||
        (rc = sqlite3_bind_blob(st, 3, id, 16, SQLITE_STATIC)) != SQLITE_OK)
        return pl__cs_fail(s, rc, "bind");
    return PL_CSTORE_OK;
}

static int check_args(pl_cstore *s, const char *peer, int kind, int status)
{
    size_t len = peer ? strnlen(peer, 33) : 0;

    if (len == 0 || len > 32 || kind < PL_CSTORE_MSG_IN || kind > PL_CSTORE_MSG_OUT ||
        status < PL_CSTORE_STATUS_SENT || status > PL_CSTORE_STATUS_READ)
        return pl__cs_error(s, PL_CSTORE_E_INVALID_ARG, "bad receipt arguments");
    return PL_CSTORE_OK;
}

int pl_cstore_receipt_raise(pl_cstore *s, const char *peer, int kind, const uint8_t id[16],
                            int status, uint64_t now_ms, int *changed)
{
    sqlite3_stmt *st;
    int r, rc;

    if (changed)
        *changed = 0;
    if ((r = check_args(s, peer, kind, status)) != PL_CSTORE_OK)
        return r;
    if (!(st = pl__cs_stmt(s, PL__CS_RECEIPT_RAISE, &r)))
        return r;
    if ((r = bind_key(s, st, peer, kind, id)) != PL_CSTORE_OK)
        goto out;
    if ((rc = sqlite3_bind_int(st, 4, status)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 5, (sqlite3_int64)now_ms)) != SQLITE_OK) {
        r = pl__cs_fail(s, rc, "bind");
        goto out;
    }
    r = pl__cs_step_done(s, st, "record a receipt");
    if (r == PL_CSTORE_OK && changed)
        *changed = sqlite3_changes(sqlite3_db_handle(st)) > 0;
    return r;
out:
    sqlite3_reset(st);
    return r;
}

int pl_cstore_receipt_get(pl_cstore *s, const char *peer, int kind, const uint8_t id[16],
                          int *status)
{
    sqlite3_stmt *st;
    sqlite3_int64 v;
    int r, rc;

    *status = PL_CSTORE_STATUS_SENT;
    if ((r = check_args(s, peer, kind, PL_CSTORE_STATUS_SENT)) != PL_CSTORE_OK)
        return r;
    if (!(st = pl__cs_stmt(s, PL__CS_RECEIPT_GET, &r)))
        return r;
    if ((r = bind_key(s, st, peer, kind, id)) != PL_CSTORE_OK)
        goto out;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        v = sqlite3_column_int64(st, 0);
        if (v < PL_CSTORE_STATUS_SENT || v > PL_CSTORE_STATUS_READ)
            r = pl__cs_error(s, PL_CSTORE_E_CORRUPT, "a stored receipt status is out of range");
        else
            *status = (int)v;
    } else if (rc != SQLITE_DONE) {
        r = pl__cs_fail(s, rc, "read a receipt");
    }
out:
    sqlite3_reset(st);
    return r;
}

int pl_cstore_receipt_below(pl_cstore *s, const char *peer, int status, uint8_t (*ids)[16],
                            size_t max, size_t *n)
{
    sqlite3_stmt *st;
    int r, rc;

    *n = 0;
    if ((r = check_args(s, peer, PL_CSTORE_MSG_IN, status)) != PL_CSTORE_OK)
        return r;
    if (max > INT32_MAX)
        max = INT32_MAX;
    if (!(st = pl__cs_stmt(s, PL__CS_RECEIPT_BELOW, &r)))
        return r;
    if ((rc = sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC)) != SQLITE_OK ||
        (rc = sqlite3_bind_int(st, 2, status)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 3, (sqlite3_int64)max)) != SQLITE_OK) {
        r = pl__cs_fail(s, rc, "bind");
        goto out;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < max) {
        if ((r = pl__cs_column_fixed(s, st, 0, ids[*n], 16)) != PL_CSTORE_OK)
            goto out;
        (*n)++;
    }
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        r = pl__cs_fail(s, rc, "list unreported messages");
out:
    sqlite3_reset(st);
    return r;
}
