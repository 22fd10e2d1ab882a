/*
 * store_sqlite_kt.c: key transparency's tables in the SQLite backend (store.h, schema
 * version 3 in store_sqlite.c): label-versions (pending, then logged), log entries with their
 * signed and published checkpoints, and witnesses' cosignatures.
 *
 * Invariants, kept inside each transaction:
 *   - kt_entries.position is 0, 1, 2, ... without gaps: an append names the next position;
 *   - a version row's position, VRF output, proofs and commitment are set once, together,
 *     by the append of the entry that logs it, and never change afterwards.
 * Rows read back are checked for their lengths (the disk is not trusted): a damaged row is
 * PL_STORE_E_CORRUPT, never a short copy.
 */
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "store.h"
#include "store_sqlite_internal.h"

static int check_label(pl__sq *s, const char *label)
{
    return pl__sq_check_username(s, label);
}

/* Copies a blob column of exactly n bytes (or, with n_out, of 1..n bytes) into out. */
static int column_bytes(sqlite3_stmt *st, int col, uint8_t *out, size_t n, size_t *n_out)
{
    const void *p = sqlite3_column_blob(st, col);
    int len = sqlite3_column_bytes(st, col);

    if (!p || len <= 0 || (size_t)len > n || (!n_out && (size_t)len != n))
        return -1;
    memcpy(out, p, (size_t)len);
    if (n_out)
        *n_out = (size_t)len;
    return 0;
}

/* Reads a kt_versions row (label, version, state, position, vrf_out, vrf_proof,
 * next_vrf_proof, commitment) into *v. */
static int read_version(pl__sq *s, sqlite3_stmt *st, pl_store_kt_version *v)
{
    const unsigned char *label = sqlite3_column_text(st, 0);
    int label_len = sqlite3_column_bytes(st, 0);
    sqlite3_int64 version = sqlite3_column_int64(st, 1);

    memset(v, 0, sizeof *v);
    if (!label || label_len <= 0 || (size_t)label_len > PL_STORE_USERNAME_MAX || version < 0 ||
        version > UINT32_MAX || column_bytes(st, 2, v->state, sizeof v->state, &v->state_len) != 0)
        return pl__sq_error(s, PL_STORE_E_CORRUPT, "damaged kt_versions row");
    memcpy(v->label, label, (size_t)label_len);
    v->version = (uint32_t)version;
    v->position = -1;
    if (sqlite3_column_type(st, 3) == SQLITE_NULL)
        return PL_STORE_OK;
    v->position = sqlite3_column_int64(st, 3);
    if (v->position < 0 || column_bytes(st, 4, v->vrf_out, sizeof v->vrf_out, NULL) != 0 ||
        column_bytes(st, 5, v->vrf_proof, sizeof v->vrf_proof, NULL) != 0 ||
        column_bytes(st, 6, v->next_vrf_proof, sizeof v->next_vrf_proof, NULL) != 0 ||
        column_bytes(st, 7, v->commitment, sizeof v->commitment, NULL) != 0)
        return pl__sq_error(s, PL_STORE_E_CORRUPT, "damaged kt_versions row");
    return PL_STORE_OK;
}

int pl__sq_kt_state_add(pl_store *store, const char *username, uint32_t version,
                        const uint8_t *state, size_t len)
{
    pl__sq *s = (pl__sq *)store;
    sqlite3_stmt *st;
    int r, rc;

    if ((r = check_label(s, username)) != PL_STORE_OK)
        return r;
    if (!state || len == 0 || len > PL_ACCOUNT_STATE_MAX_BYTES)
        return pl__sq_error(s, PL_STORE_E_INVALID_ARG, "account state size out of range");
    if ((r = pl__sq_begin(s)) != PL_STORE_OK)
        return r;
    if (!(st = pl__sq_stmt(s, PL__SQ_KT_STATE_INSERT, &r)))
        goto out;
    if ((rc = sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 2, version)) != SQLITE_OK ||
        (rc = sqlite3_bind_blob(st, 3, state, (int)len, SQLITE_STATIC)) != SQLITE_OK) {
        r = pl__sq_fail(s, rc, "bind");
        sqlite3_reset(st);
        goto out;
    }
    if ((r = pl__sq_step_done(s, st, "add account state")) != PL_STORE_OK)
        goto out;
    r = pl__sq_commit(s);
out:
    if (r != PL_STORE_OK)
        pl__sq_rollback(s);
    return r;
}

int pl__sq_kt_version_get(pl_store *store, const char *username, uint32_t version,
                          uint64_t below_position, pl_store_kt_version *out)
{
    pl__sq *s = (pl__sq *)store;
    sqlite3_stmt *st;
    int r, rc;
    sqlite3_int64 below = below_position > INT64_MAX ? -1 : (sqlite3_int64)below_position;

    memset(out, 0, sizeof *out);
    if ((r = check_label(s, username)) != PL_STORE_OK)
        return r;
    if (version != UINT32_MAX)
        st = pl__sq_stmt(s, PL__SQ_KT_VERSION_ONE, &r);
    else if (below < 0)
        st = pl__sq_stmt(s, PL__SQ_KT_VERSION_LAST, &r);
    else
        st = pl__sq_stmt(s, PL__SQ_KT_VERSION_LAST_BELOW, &r);
    if (!st)
        return r;
    rc = sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK && version != UINT32_MAX) {
        if ((rc = sqlite3_bind_int64(st, 2, version)) == SQLITE_OK)
            rc = sqlite3_bind_int64(st, 3, below);
    } else if (rc == SQLITE_OK && below >= 0) {
        rc = sqlite3_bind_int64(st, 2, below);
    }
    if (rc != SQLITE_OK)
        r = pl__sq_fail(s, rc, "bind");
    else if ((rc = sqlite3_step(st)) == SQLITE_ROW)
        r = read_version(s, st, out);
    else if (rc == SQLITE_DONE)
        r = pl__sq_error(s, PL_STORE_E_NOT_FOUND, "no such label version");
    else
        r = pl__sq_fail(s, rc, "look up label version");
    sqlite3_reset(st);
    if (r != PL_STORE_OK)
        memset(out, 0, sizeof *out);
    return r;
}

int pl__sq_kt_pending(pl_store *store, pl_store_kt_version *out, size_t max, size_t *n)
{
    pl__sq *s = (pl__sq *)store;
    sqlite3_stmt *st;
    int r, rc;

    *n = 0;
    if (max == 0 || max > INT32_MAX)
        return pl__sq_error(s, PL_STORE_E_INVALID_ARG, "pending: max out of range");
    if (!(st = pl__sq_stmt(s, PL__SQ_KT_PENDING, &r)))
        return r;
    if ((rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)max)) != SQLITE_OK) {
        sqlite3_reset(st);
        return pl__sq_fail(s, rc, "bind");
    }
    r = PL_STORE_OK;
    while (*n < max && (rc = sqlite3_step(st)) == SQLITE_ROW)
        if ((r = read_version(s, st, &out[(*n)++])) != PL_STORE_OK)
            break;
    if (r == PL_STORE_OK && *n < max && rc != SQLITE_DONE)
        r = pl__sq_fail(s, rc, "read pending versions");
    sqlite3_reset(st);
    if (r != PL_STORE_OK)
        *n = 0;
    return r;
}

static int entry_next(pl__sq *s, uint64_t *next)
{
    sqlite3_stmt *st;
    int r, rc;

    if (!(st = pl__sq_stmt(s, PL__SQ_KT_ENTRY_NEXT, &r)))
        return r;
    if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
        r = pl__sq_fail(s, rc, "next log position");
    } else {
        *next = (uint64_t)sqlite3_column_int64(st, 0);
        r = PL_STORE_OK;
    }
    sqlite3_reset(st);
    return r;
}

static int log_version(pl__sq *s, uint64_t position, const pl_store_kt_version *v)
{
    sqlite3_stmt *st;
    int r, rc;

    if ((r = check_label(s, v->label)) != PL_STORE_OK)
        return r;
    if (!(st = pl__sq_stmt(s, PL__SQ_KT_VERSION_LOG, &r)))
        return r;
    if ((rc = sqlite3_bind_text(st, 1, v->label, -1, SQLITE_STATIC)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 2, v->version)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 3, (sqlite3_int64)position)) != SQLITE_OK ||
        (rc = sqlite3_bind_blob(st, 4, v->vrf_out, sizeof v->vrf_out, SQLITE_STATIC)) !=
            SQLITE_OK ||
        (rc = sqlite3_bind_blob(st, 5, v->vrf_proof, sizeof v->vrf_proof, SQLITE_STATIC)) !=
            SQLITE_OK ||
        (rc = sqlite3_bind_blob(st, 6, v->next_vrf_proof, sizeof v->next_vrf_proof,
                                SQLITE_STATIC)) != SQLITE_OK ||
        (rc = sqlite3_bind_blob(st, 7, v->commitment, sizeof v->commitment, SQLITE_STATIC)) !=
            SQLITE_OK) {
        sqlite3_reset(st);
        return pl__sq_fail(s, rc, "bind");
    }
    if ((r = pl__sq_step_done(s, st, "log a version")) != PL_STORE_OK)
        return r;
    if (sqlite3_changes(s->db) != 1)
        return pl__sq_error(s, PL_STORE_E_NOT_FOUND, "a logged version is not pending");
    return PL_STORE_OK;
}

int pl__sq_kt_entry_append(pl_store *store, const pl_store_kt_entry *e,
                           const pl_store_kt_version *added, size_t n)
{
    pl__sq *s = (pl__sq *)store;
    sqlite3_stmt *st;
    uint64_t next = 0;
    int r, rc;

    if (!e->checkpoint || e->checkpoint_len == 0 || e->checkpoint_len > INT32_MAX ||
        e->position > INT64_MAX || e->timestamp_ms > INT64_MAX || (n && !added))
        return pl__sq_error(s, PL_STORE_E_INVALID_ARG, "log entry out of range");
    if ((r = pl__sq_begin(s)) != PL_STORE_OK)
        return r;
    if ((r = entry_next(s, &next)) != PL_STORE_OK)
        goto out;
    if (e->position != next) {
        r = pl__sq_error(s, PL_STORE_E_EXISTS, "log position is not the next one");
        goto out;
    }
    if (!(st = pl__sq_stmt(s, PL__SQ_KT_ENTRY_INSERT, &r)))
        goto out;
    if ((rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)e->position)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 2, (sqlite3_int64)e->timestamp_ms)) != SQLITE_OK ||
        (rc = sqlite3_bind_blob(st, 3, e->prefix_root, sizeof e->prefix_root, SQLITE_STATIC)) !=
            SQLITE_OK ||
        (rc = sqlite3_bind_text(st, 4, e->checkpoint, (int)e->checkpoint_len, SQLITE_STATIC)) !=
            SQLITE_OK) {
        r = pl__sq_fail(s, rc, "bind");
        sqlite3_reset(st);
        goto out;
    }
    if ((r = pl__sq_step_done(s, st, "append log entry")) != PL_STORE_OK)
        goto out;
    for (size_t i = 0; i < n; i++)
        if ((r = log_version(s, e->position, &added[i])) != PL_STORE_OK)
            goto out;
    r = pl__sq_commit(s);
out:
    if (r != PL_STORE_OK)
        pl__sq_rollback(s);
    return r;
}

int pl__sq_kt_entry_publish(pl_store *store, uint64_t position, const char *note, size_t len)
{
    pl__sq *s = (pl__sq *)store;
    sqlite3_stmt *st;
    int r, rc;

    if (!note || len == 0 || len > INT32_MAX || position > INT64_MAX)
        return pl__sq_error(s, PL_STORE_E_INVALID_ARG, "published note out of range");
    if ((r = pl__sq_begin(s)) != PL_STORE_OK)
        return r;
    if (!(st = pl__sq_stmt(s, PL__SQ_KT_ENTRY_PUBLISH, &r)))
        goto out;
    if ((rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)position)) != SQLITE_OK ||
        (rc = sqlite3_bind_text(st, 2, note, (int)len, SQLITE_STATIC)) != SQLITE_OK) {
        r = pl__sq_fail(s, rc, "bind");
        sqlite3_reset(st);
        goto out;
    }
    if ((r = pl__sq_step_done(s, st, "publish a checkpoint")) != PL_STORE_OK)
        goto out;
    if (sqlite3_changes(s->db) != 1) {
        r = pl__sq_error(s, PL_STORE_E_NOT_FOUND, "no log entry at this position");
        goto out;
    }
    r = pl__sq_commit(s);
out:
    if (r != PL_STORE_OK)
        pl__sq_rollback(s);
    return r;
}

int pl__sq_kt_entries(pl_store *store, uint64_t from, uint64_t max, pl_store_kt_entry_cb cb,
                      void *ctx)
{
    pl__sq *s = (pl__sq *)store;
    sqlite3_stmt *st;
    int r, rc;

    if (from > INT64_MAX)
        return PL_STORE_OK;
    if (max > INT64_MAX)
        max = INT64_MAX;
    if (!(st = pl__sq_stmt(s, PL__SQ_KT_ENTRIES, &r)))
        return r;
    if ((rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)from)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 2, (sqlite3_int64)max)) != SQLITE_OK) {
        sqlite3_reset(st);
        return pl__sq_fail(s, rc, "bind");
    }
    r = PL_STORE_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        pl_store_kt_entry e;
        sqlite3_int64 pos = sqlite3_column_int64(st, 0), ts = sqlite3_column_int64(st, 1);

        memset(&e, 0, sizeof e);
        e.checkpoint = (const char *)sqlite3_column_text(st, 3);
        e.checkpoint_len = (size_t)sqlite3_column_bytes(st, 3);
        if (sqlite3_column_type(st, 4) != SQLITE_NULL) {
            e.published = (const char *)sqlite3_column_text(st, 4);
            e.published_len = (size_t)sqlite3_column_bytes(st, 4);
        }
        if (pos < 0 || ts < 0 || !e.checkpoint || e.checkpoint_len == 0 ||
            (e.published == NULL) != (sqlite3_column_type(st, 4) == SQLITE_NULL) ||
            column_bytes(st, 2, e.prefix_root, sizeof e.prefix_root, NULL) != 0) {
            r = pl__sq_error(s, PL_STORE_E_CORRUPT, "damaged kt_entries row");
            break;
        }
        e.position = (uint64_t)pos;
        e.timestamp_ms = (uint64_t)ts;
        if (cb(ctx, &e) != 0)
            break;
    }
    if (r == PL_STORE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
        r = pl__sq_fail(s, rc, "read log entries");
    sqlite3_reset(st);
    return r;
}

int pl__sq_kt_leaves(pl_store *store, uint64_t from, uint64_t to, pl_store_kt_leaf_cb cb, void *ctx)
{
    pl__sq *s = (pl__sq *)store;
    sqlite3_stmt *st;
    int r, rc;

    if (from > INT64_MAX)
        return PL_STORE_OK;
    if (to > INT64_MAX)
        to = INT64_MAX;
    if (!(st = pl__sq_stmt(s, PL__SQ_KT_LEAVES, &r)))
        return r;
    if ((rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)from)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 2, (sqlite3_int64)to)) != SQLITE_OK) {
        sqlite3_reset(st);
        return pl__sq_fail(s, rc, "bind");
    }
    r = PL_STORE_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint8_t vrf_out[PL_STORE_KT_HASH_BYTES], commitment[PL_STORE_KT_HASH_BYTES];
        sqlite3_int64 pos = sqlite3_column_int64(st, 0);

        if (pos < 0 || column_bytes(st, 1, vrf_out, sizeof vrf_out, NULL) != 0 ||
            column_bytes(st, 2, commitment, sizeof commitment, NULL) != 0) {
            r = pl__sq_error(s, PL_STORE_E_CORRUPT, "damaged kt_versions row");
            break;
        }
        if (cb(ctx, (uint64_t)pos, vrf_out, commitment) != 0)
            break;
    }
    if (r == PL_STORE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
        r = pl__sq_fail(s, rc, "read log leaves");
    sqlite3_reset(st);
    return r;
}

int pl__sq_kt_cosignature_put(pl_store *store, uint64_t size, const char *witness, const char *line,
                              size_t len)
{
    pl__sq *s = (pl__sq *)store;
    sqlite3_stmt *st;
    int r, rc;

    if (!witness || !*witness || !line || len == 0 || len > INT32_MAX || size > INT64_MAX)
        return pl__sq_error(s, PL_STORE_E_INVALID_ARG, "cosignature out of range");
    if ((r = pl__sq_begin(s)) != PL_STORE_OK)
        return r;
    if (!(st = pl__sq_stmt(s, PL__SQ_KT_COSIG_PUT, &r)))
        goto out;
    if ((rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)size)) != SQLITE_OK ||
        (rc = sqlite3_bind_text(st, 2, witness, -1, SQLITE_STATIC)) != SQLITE_OK ||
        (rc = sqlite3_bind_text(st, 3, line, (int)len, SQLITE_STATIC)) != SQLITE_OK) {
        r = pl__sq_fail(s, rc, "bind");
        sqlite3_reset(st);
        goto out;
    }
    if ((r = pl__sq_step_done(s, st, "store a cosignature")) != PL_STORE_OK)
        goto out;
    r = pl__sq_commit(s);
out:
    if (r != PL_STORE_OK)
        pl__sq_rollback(s);
    return r;
}

int pl__sq_kt_cosignatures(pl_store *store, uint64_t size, pl_store_kt_cosig_cb cb, void *ctx)
{
    pl__sq *s = (pl__sq *)store;
    sqlite3_stmt *st;
    int r, rc;

    if (size > INT64_MAX)
        return PL_STORE_OK;
    if (!(st = pl__sq_stmt(s, PL__SQ_KT_COSIGS, &r)))
        return r;
    if ((rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)size)) != SQLITE_OK) {
        sqlite3_reset(st);
        return pl__sq_fail(s, rc, "bind");
    }
    r = PL_STORE_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *w = (const char *)sqlite3_column_text(st, 0);
        const char *line = (const char *)sqlite3_column_text(st, 1);
        int len = sqlite3_column_bytes(st, 1);

        if (!w || !line || len <= 0) {
            r = pl__sq_error(s, PL_STORE_E_CORRUPT, "damaged kt_cosignatures row");
            break;
        }
        if (cb(ctx, w, line, (size_t)len) != 0)
            break;
    }
    if (r == PL_STORE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
        r = pl__sq_fail(s, rc, "read cosignatures");
    sqlite3_reset(st);
    return r;
}
