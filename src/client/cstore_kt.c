/*
 * cstore_kt.c: the key-transparency tables of the client store (cstore.h, schema version 2):
 * the pinned log with the last verified checkpoint (kt_log, one row), the last verified
 * account state of each label with its VRF cache (kt_labels), and alerts with their evidence
 * (kt_alerts, kt_evidence).
 *
 * Everything here is public data and is stored plain. What is read back is checked for
 * range and size only (_E_CORRUPT otherwise); its meaning (signatures, proofs, the chain)
 * is verified again by the caller (client_kt.c), which treats the disk as hostile.
 *
 * The VRF cache is stored as n x (u32 version big-endian || vrf_out[32]).
 */
#include <stdio.h>
#include <string.h>

#include "cstore_internal.h"

#define KT_LABEL_MAX 32
#define KT_VRF_ENTRY 36u

static size_t text_len(const char *s, size_t max)
{
    size_t n = 0;

    while (n <= max && s[n])
        n++;
    return n;
}

static int bind_text(sqlite3_stmt *st, int i, const char *v, size_t len)
{
    return sqlite3_bind_text(st, i, v, (int)len, SQLITE_STATIC);
}

static int bind_u64(sqlite3_stmt *st, int i, uint64_t v)
{
    return sqlite3_bind_int64(st, i, (sqlite3_int64)v); /* same bits (cstore.c) */
}

/* Steps st for one row: PL_CSTORE_OK with a row, _E_NOT_FOUND without. */
static int step_row(pl_cstore *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);

    if (rc == SQLITE_ROW)
        return PL_CSTORE_OK;
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return PL_CSTORE_E_NOT_FOUND;
    return pl__cs_fail(s, rc, what);
}

/* A blob column of at most max bytes into out; its length in *len. */
static int column_blob(pl_cstore *s, sqlite3_stmt *st, int col, uint8_t *out, size_t max,
                       size_t *len)
{
    const void *p = sqlite3_column_blob(st, col);
    int n = sqlite3_column_bytes(st, col);

    if (n < 0 || (size_t)n > max || (n > 0 && !p))
        return pl__cs_error(s, PL_CSTORE_E_CORRUPT, "a stored key-transparency value is too large");
    if (n > 0)
        memcpy(out, p, (size_t)n);
    *len = (size_t)n;
    return PL_CSTORE_OK;
}

/* ---- The pinned log ---------------------------------------------------------------------- */

static int log_check(const pl_cstore_kt_log *l)
{
    size_t olen = text_len(l->origin, PL_CSTORE_KT_ORIGIN_MAX);
    size_t vlen = text_len(l->log_vkey, PL_CSTORE_KT_VKEY_MAX);

    if (olen == 0 || olen > PL_CSTORE_KT_ORIGIN_MAX || vlen == 0 || vlen > PL_CSTORE_KT_VKEY_MAX)
        return -1;
    if (l->n_witnesses > PL_CSTORE_KT_WITNESSES_MAX || l->quorum > l->n_witnesses)
        return -1;
    for (size_t i = 0; i < l->n_witnesses; i++) {
        size_t w = text_len(l->witness_vkeys[i], PL_CSTORE_KT_VKEY_MAX);

        if (w == 0 || w > PL_CSTORE_KT_VKEY_MAX || memchr(l->witness_vkeys[i], '\n', w))
            return -1;
    }
    if (l->note_len > PL_CSTORE_KT_NOTE_MAX || (l->has_checkpoint && l->note_len == 0) ||
        (!l->has_checkpoint && l->note_len != 0))
        return -1;
    return 0;
}

int pl_cstore_kt_log_put(pl_cstore *s, const pl_cstore_kt_log *l)
{
    char witnesses[PL_CSTORE_KT_WITNESSES_MAX * (PL_CSTORE_KT_VKEY_MAX + 1) + 1];
    size_t wlen = 0;
    sqlite3_stmt *st;
    int r, rc;

    if (!l || log_check(l) != 0)
        return pl__cs_error(s, PL_CSTORE_E_INVALID_ARG,
                            "a key-transparency log field is out of range");
    /* Witness vkeys, one per line (a vkey holds no newline). */
    for (size_t i = 0; i < l->n_witnesses; i++) {
        size_t n = strlen(l->witness_vkeys[i]);

        memcpy(witnesses + wlen, l->witness_vkeys[i], n);
        wlen += n;
        witnesses[wlen++] = '\n';
    }
    witnesses[wlen] = '\0';
    if (!(st = pl__cs_stmt(s, PL__CS_KT_LOG_PUT, &r)))
        return r;
    if ((rc = bind_text(st, 1, l->origin, strlen(l->origin))) != SQLITE_OK ||
        (rc = bind_text(st, 2, l->log_vkey, strlen(l->log_vkey))) != SQLITE_OK ||
        (rc = sqlite3_bind_blob(st, 3, l->vrf_key, sizeof l->vrf_key, SQLITE_STATIC)) !=
            SQLITE_OK ||
        (rc = bind_text(st, 4, witnesses, wlen)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 5, l->quorum)) != SQLITE_OK ||
        (rc = bind_u64(st, 6, l->max_ahead_ms)) != SQLITE_OK ||
        (rc = bind_u64(st, 7, l->max_behind_ms)) != SQLITE_OK ||
        (rc = bind_u64(st, 8, l->pinned_at_ms)) != SQLITE_OK ||
        (rc = sqlite3_bind_int(st, 9, l->has_checkpoint ? 1 : 0)) != SQLITE_OK ||
        (rc = bind_u64(st, 10, l->size)) != SQLITE_OK ||
        (rc = sqlite3_bind_blob(st, 11, l->root, sizeof l->root, SQLITE_STATIC)) != SQLITE_OK ||
        (rc = bind_text(st, 12, l->note, l->note_len)) != SQLITE_OK ||
        (rc = bind_u64(st, 13, l->checked_at_ms)) != SQLITE_OK) {
        sqlite3_reset(st);
        return pl__cs_fail(s, rc, "bind");
    }
    return pl__cs_step_done(s, st, "store the key-transparency log");
}

/* Splits the newline-terminated vkeys of column col into out. */
static int column_witnesses(pl_cstore *s, sqlite3_stmt *st, int col, pl_cstore_kt_log *out)
{
    const unsigned char *p = sqlite3_column_text(st, col);
    int n = sqlite3_column_bytes(st, col);
    size_t i = 0;

    if (n < 0 || (n > 0 && !p))
        return pl__cs_error(s, PL_CSTORE_E_CORRUPT, "stored witness keys are damaged");
    while (i < (size_t)n) {
        const unsigned char *nl = memchr(p + i, '\n', (size_t)n - i);
        size_t len = nl ? (size_t)(nl - (p + i)) : 0;

        if (!nl || len == 0 || len > PL_CSTORE_KT_VKEY_MAX ||
            out->n_witnesses == PL_CSTORE_KT_WITNESSES_MAX || memchr(p + i, 0, len))
            return pl__cs_error(s, PL_CSTORE_E_CORRUPT, "stored witness keys are damaged");
        memcpy(out->witness_vkeys[out->n_witnesses], p + i, len);
        out->witness_vkeys[out->n_witnesses++][len] = '\0';
        i += len + 1;
    }
    return PL_CSTORE_OK;
}

int pl_cstore_kt_log_get(pl_cstore *s, pl_cstore_kt_log *out)
{
    sqlite3_stmt *st;
    sqlite3_int64 quorum, flag;
    size_t note_len = 0;
    int r;

    memset(out, 0, sizeof *out);
    if (!(st = pl__cs_stmt(s, PL__CS_KT_LOG_GET, &r)))
        return r;
    if ((r = step_row(s, st, "read the key-transparency log")) != PL_CSTORE_OK)
        return r;
    quorum = sqlite3_column_int64(st, 4);
    flag = sqlite3_column_int64(st, 8);
    if ((r = pl__cs_column_text(s, st, 0, out->origin, PL_CSTORE_KT_ORIGIN_MAX, 0)) !=
            PL_CSTORE_OK ||
        (r = pl__cs_column_text(s, st, 1, out->log_vkey, PL_CSTORE_KT_VKEY_MAX, 0)) !=
            PL_CSTORE_OK ||
        (r = pl__cs_column_fixed(s, st, 2, out->vrf_key, sizeof out->vrf_key)) != PL_CSTORE_OK ||
        (r = column_witnesses(s, st, 3, out)) != PL_CSTORE_OK ||
        (r = pl__cs_column_fixed(s, st, 10, out->root, sizeof out->root)) != PL_CSTORE_OK ||
        (r = column_blob(s, st, 11, (uint8_t *)out->note, sizeof out->note, &note_len)) !=
            PL_CSTORE_OK)
        goto out;
    out->note_len = note_len;
    out->max_ahead_ms = (uint64_t)sqlite3_column_int64(st, 5);
    out->max_behind_ms = (uint64_t)sqlite3_column_int64(st, 6);
    out->pinned_at_ms = (uint64_t)sqlite3_column_int64(st, 7);
    out->has_checkpoint = flag == 1;
    out->size = (uint64_t)sqlite3_column_int64(st, 9);
    out->checked_at_ms = (uint64_t)sqlite3_column_int64(st, 12);
    if (quorum < 0 || quorum > PL_CSTORE_KT_WITNESSES_MAX || (flag != 0 && flag != 1)) {
        r = pl__cs_error(s, PL_CSTORE_E_CORRUPT, "the stored key-transparency log is damaged");
        goto out;
    }
    out->quorum = (uint32_t)quorum;
    if (log_check(out) != 0)
        r = pl__cs_error(s, PL_CSTORE_E_CORRUPT, "the stored key-transparency log is damaged");
out:
    sqlite3_reset(st);
    if (r != PL_CSTORE_OK)
        memset(out, 0, sizeof *out);
    return r;
}

/* ---- Verified labels ---------------------------------------------------------------------- */

static int label_ok(const char *label)
{
    size_t n = text_len(label, KT_LABEL_MAX);

    return n > 0 && n <= KT_LABEL_MAX;
}

int pl_cstore_kt_label_put(pl_cstore *s, const pl_cstore_kt_label *l)
{
    uint8_t cache[PL_CSTORE_KT_VRF_CACHE_MAX * KT_VRF_ENTRY];
    sqlite3_stmt *st;
    int r, rc;

    if (!l || !label_ok(l->label) || l->state_len == 0 || l->state_len > PL_CSTORE_KT_STATE_MAX ||
        l->n_vrf_cache > PL_CSTORE_KT_VRF_CACHE_MAX)
        return pl__cs_error(s, PL_CSTORE_E_INVALID_ARG, "a verified label is out of range");
    for (size_t i = 0; i < l->n_vrf_cache; i++) {
        uint8_t *e = cache + i * KT_VRF_ENTRY;
        uint32_t v = l->vrf_cache[i].version;

        e[0] = (uint8_t)(v >> 24);
        e[1] = (uint8_t)(v >> 16);
        e[2] = (uint8_t)(v >> 8);
        e[3] = (uint8_t)v;
        memcpy(e + 4, l->vrf_cache[i].vrf_out, 32);
    }
    if (!(st = pl__cs_stmt(s, PL__CS_KT_LABEL_PUT, &r)))
        return r;
    if ((rc = bind_text(st, 1, l->label, strlen(l->label))) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 2, l->version)) != SQLITE_OK ||
        (rc = sqlite3_bind_blob(st, 3, l->state, (int)l->state_len, SQLITE_STATIC)) != SQLITE_OK ||
        (rc = sqlite3_bind_blob(st, 4, cache, (int)(l->n_vrf_cache * KT_VRF_ENTRY),
                                SQLITE_STATIC)) != SQLITE_OK ||
        (rc = bind_u64(st, 5, l->tree_size)) != SQLITE_OK ||
        (rc = bind_u64(st, 6, l->entry_time_ms)) != SQLITE_OK ||
        (rc = bind_u64(st, 7, l->verified_at_ms)) != SQLITE_OK) {
        sqlite3_reset(st);
        return pl__cs_fail(s, rc, "bind");
    }
    return pl__cs_step_done(s, st, "store a verified label");
}

int pl_cstore_kt_label_get(pl_cstore *s, const char *label, pl_cstore_kt_label *out)
{
    uint8_t cache[PL_CSTORE_KT_VRF_CACHE_MAX * KT_VRF_ENTRY];
    size_t cache_len = 0;
    sqlite3_int64 version;
    sqlite3_stmt *st;
    int r, rc;

    memset(out, 0, sizeof *out);
    if (!label || !label_ok(label))
        return pl__cs_error(s, PL_CSTORE_E_INVALID_ARG, "a label is 1 to 32 bytes");
    if (!(st = pl__cs_stmt(s, PL__CS_KT_LABEL_GET, &r)))
        return r;
    if ((rc = bind_text(st, 1, label, strlen(label))) != SQLITE_OK) {
        sqlite3_reset(st);
        return pl__cs_fail(s, rc, "bind");
    }
    if ((r = step_row(s, st, "read a verified label")) != PL_CSTORE_OK)
        return r;
    version = sqlite3_column_int64(st, 1);
    if ((r = pl__cs_column_text(s, st, 0, out->label, KT_LABEL_MAX, 0)) != PL_CSTORE_OK ||
        (r = column_blob(s, st, 2, out->state, sizeof out->state, &out->state_len)) !=
            PL_CSTORE_OK ||
        (r = column_blob(s, st, 3, cache, sizeof cache, &cache_len)) != PL_CSTORE_OK)
        goto out;
    if (version < 0 || version > (sqlite3_int64)UINT32_MAX || out->state_len == 0 ||
        cache_len % KT_VRF_ENTRY != 0) {
        r = pl__cs_error(s, PL_CSTORE_E_CORRUPT, "a stored verified label is damaged");
        goto out;
    }
    out->version = (uint32_t)version;
    out->n_vrf_cache = cache_len / KT_VRF_ENTRY;
    for (size_t i = 0; i < out->n_vrf_cache; i++) {
        const uint8_t *e = cache + i * KT_VRF_ENTRY;

        out->vrf_cache[i].version =
            (uint32_t)e[0] << 24 | (uint32_t)e[1] << 16 | (uint32_t)e[2] << 8 | e[3];
        memcpy(out->vrf_cache[i].vrf_out, e + 4, 32);
    }
    out->tree_size = (uint64_t)sqlite3_column_int64(st, 4);
    out->entry_time_ms = (uint64_t)sqlite3_column_int64(st, 5);
    out->verified_at_ms = (uint64_t)sqlite3_column_int64(st, 6);
out:
    sqlite3_reset(st);
    if (r != PL_CSTORE_OK)
        memset(out, 0, sizeof *out);
    return r;
}

/* ---- Alerts and evidence ----------------------------------------------------------------- */

static int evidence_name_ok(const char *name, size_t len)
{
    if (len == 0 || len > PL_CSTORE_KT_EVIDENCE_NAME_MAX || name[0] == '.')
        return 0;
    for (size_t i = 0; i < len; i++) {
        char ch = name[i];

        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ||
              ch == '_'))
            return 0;
    }
    return 1;
}

int pl_cstore_kt_alert_add(pl_cstore *s, const pl_cstore_kt_alert *a,
                           const pl_cstore_kt_evidence *ev, size_t n, int64_t *id)
{
    sqlite3_stmt *st;
    int64_t row = 0;
    int r, rc;

    if (id)
        *id = 0;
    if (!a || text_len(a->label, KT_LABEL_MAX) > KT_LABEL_MAX ||
        text_len(a->kind, PL_CSTORE_KT_KIND_MAX) == 0 ||
        text_len(a->kind, PL_CSTORE_KT_KIND_MAX) > PL_CSTORE_KT_KIND_MAX ||
        text_len(a->reason, PL_CSTORE_KT_REASON_MAX) > PL_CSTORE_KT_REASON_MAX ||
        n > PL_CSTORE_KT_EVIDENCE_MAX || (n && !ev))
        return pl__cs_error(s, PL_CSTORE_E_INVALID_ARG, "an alert field is out of range");
    for (size_t i = 0; i < n; i++)
        if (!ev[i].name || !evidence_name_ok(ev[i].name, strlen(ev[i].name)) ||
            ev[i].len > PL_CSTORE_KT_EVIDENCE_BYTES || (ev[i].len && !ev[i].data))
            return pl__cs_error(s, PL_CSTORE_E_INVALID_ARG, "a piece of evidence is out of range");
    if ((r = pl__cs_run(s, PL__CS_SAVEPOINT, "savepoint")) != PL_CSTORE_OK)
        return r;
    if (!(st = pl__cs_stmt(s, PL__CS_KT_ALERT_ADD, &r)))
        goto out;
    if ((rc = bind_text(st, 1, a->label, strlen(a->label))) != SQLITE_OK ||
        (rc = bind_text(st, 2, a->kind, strlen(a->kind))) != SQLITE_OK ||
        (rc = bind_text(st, 3, a->reason, strlen(a->reason))) != SQLITE_OK ||
        (rc = sqlite3_bind_int(st, 4, a->high ? 1 : 0)) != SQLITE_OK ||
        (rc = bind_u64(st, 5, a->created_at_ms)) != SQLITE_OK) {
        sqlite3_reset(st);
        r = pl__cs_fail(s, rc, "bind");
        goto out;
    }
    if ((r = pl__cs_step_done(s, st, "add an alert")) != PL_CSTORE_OK)
        goto out;
    row = sqlite3_last_insert_rowid(s->db);
    for (size_t i = 0; i < n; i++) {
        static const uint8_t empty[1];

        if (!(st = pl__cs_stmt(s, PL__CS_KT_EVIDENCE_ADD, &r)))
            goto out;
        if ((rc = sqlite3_bind_int64(st, 1, row)) != SQLITE_OK ||
            (rc = sqlite3_bind_int64(st, 2, (sqlite3_int64)i)) != SQLITE_OK ||
            (rc = bind_text(st, 3, ev[i].name, strlen(ev[i].name))) != SQLITE_OK ||
            (rc = sqlite3_bind_blob(st, 4, ev[i].len ? ev[i].data : empty, (int)ev[i].len,
                                    SQLITE_STATIC)) != SQLITE_OK) {
            sqlite3_reset(st);
            r = pl__cs_fail(s, rc, "bind");
            goto out;
        }
        if ((r = pl__cs_step_done(s, st, "add evidence")) != PL_CSTORE_OK)
            goto out;
    }
    r = pl__cs_run(s, PL__CS_RELEASE, "release savepoint");
out:
    if (r != PL_CSTORE_OK && !sqlite3_get_autocommit(s->db)) {
        char keep[sizeof s->err];

        memcpy(keep, s->err, sizeof keep);
        (void)pl__cs_run(s, PL__CS_ROLLBACK_TO, "roll back savepoint");
        (void)pl__cs_run(s, PL__CS_RELEASE, "release savepoint");
        memcpy(s->err, keep, sizeof keep);
    }
    if (r == PL_CSTORE_OK && id)
        *id = row;
    return r;
}

int pl_cstore_kt_alert_list(pl_cstore *s, int all,
                            int (*cb)(void *ctx, const pl_cstore_kt_alert *a), void *ctx)
{
    pl_cstore_kt_alert a;
    sqlite3_stmt *st;
    int r, rc;

    if (!(st = pl__cs_stmt(s, PL__CS_KT_ALERT_LIST, &r)))
        return r;
    if ((rc = sqlite3_bind_int(st, 1, all ? 1 : 0)) != SQLITE_OK) {
        sqlite3_reset(st);
        return pl__cs_fail(s, rc, "bind");
    }
    for (;;) {
        sqlite3_int64 high, acked, n;

        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
            r = PL_CSTORE_OK;
            break;
        }
        if (rc != SQLITE_ROW) {
            r = pl__cs_fail(s, rc, "list alerts");
            break;
        }
        memset(&a, 0, sizeof a);
        a.id = sqlite3_column_int64(st, 0);
        high = sqlite3_column_int64(st, 4);
        acked = sqlite3_column_int64(st, 6);
        n = sqlite3_column_int64(st, 7);
        if ((r = pl__cs_column_text(s, st, 1, a.label, KT_LABEL_MAX, 1)) != PL_CSTORE_OK ||
            (r = pl__cs_column_text(s, st, 2, a.kind, PL_CSTORE_KT_KIND_MAX, 0)) != PL_CSTORE_OK ||
            (r = pl__cs_column_text(s, st, 3, a.reason, PL_CSTORE_KT_REASON_MAX, 1)) !=
                PL_CSTORE_OK)
            break;
        if ((high != 0 && high != 1) || (acked != 0 && acked != 1) || n < 0 ||
            n > PL_CSTORE_KT_EVIDENCE_MAX) {
            r = pl__cs_error(s, PL_CSTORE_E_CORRUPT, "a stored alert is damaged");
            break;
        }
        a.high = (int)high;
        a.acknowledged = (int)acked;
        a.n_evidence = (size_t)n;
        a.created_at_ms = (uint64_t)sqlite3_column_int64(st, 5);
        if (cb(ctx, &a) != 0)
            break;
    }
    sqlite3_reset(st);
    return r;
}

int pl_cstore_kt_alert_ack(pl_cstore *s, int64_t id)
{
    sqlite3_stmt *st;
    int r, rc;

    if (!(st = pl__cs_stmt(s, PL__CS_KT_ALERT_ACK, &r)))
        return r;
    if ((rc = sqlite3_bind_int64(st, 1, id)) != SQLITE_OK) {
        sqlite3_reset(st);
        return pl__cs_fail(s, rc, "bind");
    }
    if ((r = pl__cs_step_done(s, st, "acknowledge an alert")) != PL_CSTORE_OK)
        return r;
    if (sqlite3_changes(s->db) == 0)
        return pl__cs_error(s, PL_CSTORE_E_NOT_FOUND, "no such alert");
    return PL_CSTORE_OK;
}

int pl_cstore_kt_evidence_list(pl_cstore *s, int64_t alert_id,
                               int (*cb)(void *ctx, const pl_cstore_kt_evidence *e), void *ctx)
{
    char name[PL_CSTORE_KT_EVIDENCE_NAME_MAX + 1];
    pl_cstore_kt_evidence e;
    sqlite3_stmt *st;
    int r, rc;

    if (!(st = pl__cs_stmt(s, PL__CS_KT_EVIDENCE_LIST, &r)))
        return r;
    if ((rc = sqlite3_bind_int64(st, 1, alert_id)) != SQLITE_OK) {
        sqlite3_reset(st);
        return pl__cs_fail(s, rc, "bind");
    }
    for (;;) {
        int n;

        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
            r = PL_CSTORE_OK;
            break;
        }
        if (rc != SQLITE_ROW) {
            r = pl__cs_fail(s, rc, "list evidence");
            break;
        }
        if ((r = pl__cs_column_text(s, st, 0, name, PL_CSTORE_KT_EVIDENCE_NAME_MAX, 0)) !=
            PL_CSTORE_OK)
            break;
        /* The name becomes a file name on export: a damaged one must not escape DIR. */
        if (!evidence_name_ok(name, strlen(name))) {
            r = pl__cs_error(s, PL_CSTORE_E_CORRUPT, "a stored evidence name is damaged");
            break;
        }
        n = sqlite3_column_bytes(st, 1);
        e.name = name;
        e.data = sqlite3_column_blob(st, 1);
        e.len = n > 0 ? (size_t)n : 0;
        if (e.len > PL_CSTORE_KT_EVIDENCE_BYTES || (e.len && !e.data)) {
            r = pl__cs_error(s, PL_CSTORE_E_CORRUPT, "a stored piece of evidence is damaged");
            break;
        }
        if (cb(ctx, &e) != 0)
            break;
    }
    sqlite3_reset(st);
    return r;
}
