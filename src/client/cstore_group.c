/*
 * cstore_group.c: the groups table of the local store (cstore.h, schema version 4): which
 * groups this device is in, by local name. The group's state and keys are sealed secrets
 * (client_group.c names them); this table holds only what lookups need.
 */
#include <string.h>

#include "cstore_internal.h"

static int check_group_name(pl_cstore *s, const char *name)
{
    size_t len = strnlen(name, PL_CSTORE_GROUP_NAME_MAX + 1);

    if (len == 0 || len > PL_CSTORE_GROUP_NAME_MAX)
        return pl__cs_error(s, PL_CSTORE_E_INVALID_ARG, "a group name is 1 to 31 bytes");
    return PL_CSTORE_OK;
}

int pl_cstore_group_add(pl_cstore *s, pl_cstore_group *g)
{
    sqlite3_stmt *st;
    int r, rc;

    if ((r = check_group_name(s, g->name)) != PL_CSTORE_OK)
        return r;
    if (!(st = pl__cs_stmt(s, PL__CS_GROUP_ADD, &r)))
        return r;
    if ((rc = sqlite3_bind_blob(st, 1, g->group_id, 16, SQLITE_STATIC)) != SQLITE_OK ||
        (rc = sqlite3_bind_text(st, 2, g->name, -1, SQLITE_STATIC)) != SQLITE_OK) {
        sqlite3_reset(st);
        return pl__cs_fail(s, rc, "bind");
    }
    if ((r = pl__cs_step_done(s, st, "add a group")) != PL_CSTORE_OK)
        return r;
    g->local = sqlite3_last_insert_rowid(sqlite3_db_handle(st));
    g->active = 1;
    return PL_CSTORE_OK;
}

static int group_row(pl_cstore *s, sqlite3_stmt *st, pl_cstore_group *g)
{
    int r;

    memset(g, 0, sizeof *g);
    g->local = sqlite3_column_int64(st, 0);
    if ((r = pl__cs_column_fixed(s, st, 1, g->group_id, 16)) != PL_CSTORE_OK ||
        (r = pl__cs_column_text(s, st, 2, g->name, PL_CSTORE_GROUP_NAME_MAX, 0)) != PL_CSTORE_OK)
        return r;
    g->active = sqlite3_column_int64(st, 3) != 0;
    return PL_CSTORE_OK;
}

static int group_one(pl_cstore *s, sqlite3_stmt *st, pl_cstore_group *out)
{
    int rc = sqlite3_step(st), r;

    if (rc == SQLITE_ROW)
        r = group_row(s, st, out);
    else if (rc == SQLITE_DONE)
        r = pl__cs_error(s, PL_CSTORE_E_NOT_FOUND, "no such group");
    else
        r = pl__cs_fail(s, rc, "read a group");
    sqlite3_reset(st);
    return r;
}

int pl_cstore_group_by_name(pl_cstore *s, const char *name, pl_cstore_group *out)
{
    sqlite3_stmt *st;
    int r, rc;

    memset(out, 0, sizeof *out);
    if ((r = check_group_name(s, name)) != PL_CSTORE_OK)
        return r;
    if (!(st = pl__cs_stmt(s, PL__CS_GROUP_BY_NAME, &r)))
        return r;
    if ((rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC)) != SQLITE_OK) {
        sqlite3_reset(st);
        return pl__cs_fail(s, rc, "bind");
    }
    return group_one(s, st, out);
}

int pl_cstore_group_by_id(pl_cstore *s, const uint8_t group_id[16], pl_cstore_group *out)
{
    sqlite3_stmt *st;
    int r, rc;

    memset(out, 0, sizeof *out);
    if (!(st = pl__cs_stmt(s, PL__CS_GROUP_BY_ID, &r)))
        return r;
    if ((rc = sqlite3_bind_blob(st, 1, group_id, 16, SQLITE_STATIC)) != SQLITE_OK) {
        sqlite3_reset(st);
        return pl__cs_fail(s, rc, "bind");
    }
    return group_one(s, st, out);
}

int pl_cstore_group_set_active(pl_cstore *s, int64_t local, int active)
{
    sqlite3_stmt *st;
    int r, rc;

    if (!(st = pl__cs_stmt(s, PL__CS_GROUP_SET_ACTIVE, &r)))
        return r;
    if ((rc = sqlite3_bind_int64(st, 1, local)) != SQLITE_OK ||
        (rc = sqlite3_bind_int(st, 2, active ? 1 : 0)) != SQLITE_OK) {
        sqlite3_reset(st);
        return pl__cs_fail(s, rc, "bind");
    }
    return pl__cs_step_done(s, st, "update a group");
}

int pl_cstore_group_list(pl_cstore *s, int (*cb)(void *ctx, const pl_cstore_group *g), void *ctx)
{
    pl_cstore_group g;
    sqlite3_stmt *st;
    int r = PL_CSTORE_OK, rc;

    if (!(st = pl__cs_stmt(s, PL__CS_GROUP_LIST, &r)))
        return r;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if ((r = group_row(s, st, &g)) != PL_CSTORE_OK || cb(ctx, &g))
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        r = pl__cs_fail(s, rc, "list groups");
    sqlite3_reset(st);
    return r;
}
