/*
 * client_kt_alerts.c: key-transparency alerts (client_kt.h): a failed check is stored with
 * its reason and the evidence bytes (signed checkpoints, proofs, states) that let the user or
 * an auditor check the claim without trusting this client; an unacknowledged alert blocks
 * sending to its label (or to everyone, for a log-wide one); `parley alerts` lists,
 * acknowledges and exports them.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client_kt.h"

int cl_kt_alert(pl_client *c, int code, const char *label, const char *kind, int high,
                const pl_cstore_kt_evidence *ev, size_t n, const char *fmt, ...)
{
    pl_cstore_kt_alert a;
    char msg[sizeof c->err - 48];
    int64_t id = 0;
    va_list ap;
    int r;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    memset(&a, 0, sizeof a);
    snprintf(a.label, sizeof a.label, "%s", label);
    snprintf(a.kind, sizeof a.kind, "%s", kind);
    memcpy(a.reason, msg, strnlen(msg, sizeof a.reason - 1)); /* cut to fit; NUL from memset */
    a.high = high;
    a.created_at_ms = cl_now_ms();
    r = pl_cstore_kt_alert_add(c->store, &a, ev, n, &id);
    if (r != PL_CSTORE_OK)
        return cl_fail(c, code, "%s (the alert could not be stored: %s)", msg,
                       pl_cstore_last_error(c->store));
    if (c->notice) {
        char text[sizeof msg + 64];

        snprintf(text, sizeof text, "KEY TRANSPARENCY ALERT #%lld (%s): %s", (long long)id, kind,
                 msg);
        c->notice(c->notice_ctx, label[0] ? label : c->username, text);
    }
    return cl_fail(c, code, "%s (alert #%lld, see `parley alerts`)", msg, (long long)id);
}

typedef struct block_ctx {
    const char *label;
    int64_t id;
} block_ctx;

static int block_each(void *arg, const pl_cstore_kt_alert *a)
{
    block_ctx *b = arg;

    /* Not evidence by themselves, and checked again on every send: they do not block. */
    if (strcmp(a->kind, CL_KT_ALERT_VIEW_TIMING) == 0 || strcmp(a->kind, CL_KT_ALERT_UNLOGGED) == 0)
        return 0;
    if (a->label[0] == '\0' || strcmp(a->label, b->label) == 0) {
        b->id = a->id;
        return 1;
    }
    return 0;
}

int64_t cl_kt_blocking_alert(pl_client *c, const char *label)
{
    block_ctx b = {label, 0};

    /* A store that cannot list alerts is not a reason to block: its errors surface elsewhere. */
    (void)pl_cstore_kt_alert_list(c->store, 0, block_each, &b);
    return b.id;
}

typedef struct list_ctx {
    pl_client_alert_cb cb;
    void *ctx;
} list_ctx;

static int list_each(void *arg, const pl_cstore_kt_alert *a)
{
    list_ctx *l = arg;
    pl_client_alert v;

    memset(&v, 0, sizeof v);
    v.id = a->id;
    snprintf(v.user, sizeof v.user, "%s", a->label);
    snprintf(v.kind, sizeof v.kind, "%s", a->kind);
    snprintf(v.reason, sizeof v.reason, "%s", a->reason);
    v.high = a->high;
    v.created_at_ms = a->created_at_ms;
    v.acknowledged = a->acknowledged;
    v.n_evidence = a->n_evidence;
    return l->cb(l->ctx, &v);
}

int pl_client_alerts(pl_client *c, int all, pl_client_alert_cb cb, void *ctx)
{
    list_ctx l = {cb, ctx};
    int r = pl_cstore_kt_alert_list(c->store, all, list_each, &l);

    return r == PL_CSTORE_OK ? PL_CLIENT_OK : cl_store_fail(c, r, "reading alerts");
}

int pl_client_alert_ack(pl_client *c, int64_t id)
{
    int r = pl_cstore_kt_alert_ack(c->store, id);

    if (r == PL_CSTORE_E_NOT_FOUND)
        return cl_fail(c, PL_CLIENT_E_NOT_FOUND, "there is no alert #%lld", (long long)id);
    return r == PL_CSTORE_OK ? PL_CLIENT_OK : cl_store_fail(c, r, "acknowledging an alert");
}

/* ---- Export ------------------------------------------------------------------------------- */

typedef struct export_ctx {
    pl_client *c;
    const char *dir;
    int64_t only;
    size_t files;
    int r;
} export_ctx;

/* Writes one file 0600, refusing to follow or replace anything already there. */
static int write_new_file(const char *path, const uint8_t *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    size_t off = 0;
    int ok = fd >= 0;

    while (ok && off < len) {
        ssize_t w = write(fd, data + off, len - off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            ok = 0;
        else
            off += (size_t)w;
    }
    if (fd >= 0 && (fsync(fd) != 0 || close(fd) != 0))
        ok = 0;
    return ok ? 0 : -1;
}

static int evidence_each(void *arg, const pl_cstore_kt_evidence *e)
{
    export_ctx *x = arg;
    char path[CL_PATH_MAX + 128];

    /* e->name is [a-z0-9._-] without a leading dot (checked by the store): it stays in DIR. */
    snprintf(path, sizeof path, "%s/%s", x->dir, e->name);
    if (write_new_file(path, e->data, e->len) != 0) {
        x->r = cl_fail(x->c, PL_CLIENT_E_STORE, "cannot write %s (it must not exist yet)", path);
        return 1;
    }
    x->files++;
    return 0;
}

typedef struct ids_ctx {
    int64_t ids[256];
    size_t n;
} ids_ctx;

static int ids_each(void *arg, const pl_cstore_kt_alert *a)
{
    ids_ctx *ids = arg;

    if (ids->n < sizeof ids->ids / sizeof ids->ids[0])
        ids->ids[ids->n++] = a->id;
    return 0;
}

int pl_client_alerts_export(pl_client *c, const char *dir, int64_t id, size_t *n_files)
{
    export_ctx x = {c, NULL, id, 0, PL_CLIENT_OK};
    ids_ctx ids;
    char sub[CL_PATH_MAX + 64];
    int r, found = 0;

    *n_files = 0;
    memset(&ids, 0, sizeof ids);
    if (strlen(dir) >= CL_PATH_MAX)
        return cl_fail(c, PL_CLIENT_E_USAGE, "the export directory's path is too long");
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return cl_fail(c, PL_CLIENT_E_STORE, "cannot create %s: %s", dir, strerror(errno));
    if ((r = pl_cstore_kt_alert_list(c->store, 1, ids_each, &ids)) != PL_CSTORE_OK)
        return cl_store_fail(c, r, "reading alerts");
    for (size_t i = 0; i < ids.n; i++) {
        if (id > 0 && ids.ids[i] != id)
            continue;
        found = 1;
        snprintf(sub, sizeof sub, "%s/alert-%lld", dir, (long long)ids.ids[i]);
        if (mkdir(sub, 0700) != 0 && errno != EEXIST)
            return cl_fail(c, PL_CLIENT_E_STORE, "cannot create %s: %s", sub, strerror(errno));
        x.dir = sub;
        if ((r = pl_cstore_kt_evidence_list(c->store, ids.ids[i], evidence_each, &x)) !=
            PL_CSTORE_OK)
            return cl_store_fail(c, r, "reading evidence");
        if (x.r != PL_CLIENT_OK)
            return x.r;
    }
    if (id > 0 && !found)
        return cl_fail(c, PL_CLIENT_E_NOT_FOUND, "there is no alert #%lld", (long long)id);
    *n_files = x.files;
    return PL_CLIENT_OK;
}
