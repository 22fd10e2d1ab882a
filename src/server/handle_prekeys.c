/*
 * handle_prekeys.c: the prekey directory (PROTOCOL.md §11.3): UploadSignedPrekey,
 * UploadOnetimePrekeys, PrekeyStatus for the authenticated device, and FetchBundles for
 * anyone's devices.
 *
 * Each one-time prekey is handed out at most once: the claim is one store operation, and
 * every store operation runs on the one store worker, in order. A device whose stock falls
 * below the low watermark is told (PrekeysLow), at once if connected.
 */
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "log.h"
#include "metrics.h"
#include "server.h"

#define ST(x) PARLEY__STATUS_CODE__STATUS_##x

typedef struct prekey_rq {
    pl_request rq;
    char username[PL_USERNAME_MAX + 1];
    uint32_t device_id;
    pl_store_onetime_prekey otks[PL_WIRE_MAX_ONETIME_PREKEYS_PER_UPLOAD];
    size_t n_otks;
    /* Results. */
    size_t count;
    int has_signed_prekey;
} prekey_rq;

/* Fills the stock and signed-prekey presence of the request's device. */
static void read_status(prekey_rq *p, pl_store *s)
{
    uint8_t spk[PL_SIGNED_PREKEY_PUBLIC_BYTES];
    int r = pl_store_onetime_prekey_count(s, p->username, p->device_id, &p->count);

    if (r != PL_STORE_OK) {
        pl_request_fail(&p->rq, pl_status_from_store(r, ST(INTERNAL), ST(INTERNAL)),
                        pl_store_strerror(r));
        return;
    }
    p->has_signed_prekey =
        pl_store_signed_prekey_get(s, p->username, p->device_id, spk) == PL_STORE_OK;
}

static void count_done(pl_job *job, int body_case)
{
    prekey_rq *p = (prekey_rq *)job;
    Parley__Response resp = PARLEY__RESPONSE__INIT;
    Parley__Status st = PARLEY__STATUS__INIT;
    Parley__PrekeyCount count = PARLEY__PREKEY_COUNT__INIT;

    count.onetime_prekeys = (uint32_t)p->count;
    count.has_signed_prekey = p->has_signed_prekey;
    pl_response_ok(&resp, &st, p->rq.id, body_case, &count);
    pl_request_finish(&p->rq, &resp);
}

static prekey_rq *new_own(pl_conn *c, pl_reply *slot, Parley__ClientFrame *f, size_t bytes,
                          void (*run)(pl_job *, pl_store *), void (*done)(pl_job *))
{
    prekey_rq *p = (prekey_rq *)pl_request_new(sizeof *p, c, slot, f, bytes, run, done);

    if (p) {
        memcpy(p->username, c->username, sizeof p->username);
        p->device_id = c->device_id;
    }
    return p;
}

/* ---- UploadSignedPrekey -------------------------------------------------------------------- */

static void spk_run(pl_job *job, pl_store *s)
{
    prekey_rq *p = (prekey_rq *)job;
    const Parley__UploadSignedPrekey *m = p->rq.frame->request->upload_signed_prekey;
    int r = pl_store_signed_prekey_put(s, p->username, p->device_id, m->signed_prekey.data);

    if (r != PL_STORE_OK)
        pl_request_fail(&p->rq, pl_status_from_store(r, ST(INTERNAL), ST(INTERNAL)),
                        pl_store_strerror(r));
}

static void spk_done(pl_job *job)
{
    prekey_rq *p = (prekey_rq *)job;
    Parley__Response resp = PARLEY__RESPONSE__INIT;
    Parley__Status st = PARLEY__STATUS__INIT;
    Parley__Empty empty = PARLEY__EMPTY__INIT;

    pl_response_ok(&resp, &st, p->rq.id, PARLEY__RESPONSE__BODY_UPLOAD_SIGNED_PREKEY, &empty);
    pl_request_finish(&p->rq, &resp);
}

void pl_handle_upload_signed_prekey(pl_conn *c, pl_reply *slot, Parley__ClientFrame *f,
                                    size_t frame_bytes)
{
    const Parley__UploadSignedPrekey *m = f->request->upload_signed_prekey;
    pl_signed_prekey_info info;
    prekey_rq *p;

    /* Signed by this device's identity key, which the connection proved it holds. */
    if (pl_signed_prekey_verify(m->signed_prekey.data, m->signed_prekey.len, c->identity_key,
                                &info) != PL_OK) {
        pl_refuse(c, slot, f, ST(BAD_SIGNATURE),
                  "the signed prekey does not verify under this device's identity key", 0);
        return;
    }
    if ((p = new_own(c, slot, f, frame_bytes, spk_run, spk_done)))
        pl_request_submit(&p->rq);
}

/* ---- UploadOnetimePrekeys ------------------------------------------------------------------ */

static void otk_run(pl_job *job, pl_store *s)
{
    prekey_rq *p = (prekey_rq *)job;
    int r = pl_store_onetime_prekeys_add(s, p->username, p->device_id, p->otks, p->n_otks);

    if (r != PL_STORE_OK) {
        pl_request_fail(&p->rq, pl_status_from_store(r, ST(BAD_REQUEST), ST(TOO_MANY_PREKEYS)),
                        r == PL_STORE_E_LIMIT    ? "the upload would exceed the prekey stock limit"
                        : r == PL_STORE_E_EXISTS ? "a prekey id is already in stock"
                                                 : pl_store_strerror(r));
        return;
    }
    read_status(p, s);
}

static void otk_done(pl_job *job)
{
    count_done(job, PARLEY__RESPONSE__BODY_UPLOAD_ONETIME_PREKEYS);
}

void pl_handle_upload_onetime_prekeys(pl_conn *c, pl_reply *slot, Parley__ClientFrame *f,
                                      size_t frame_bytes)
{
    const Parley__UploadOnetimePrekeys *m = f->request->upload_onetime_prekeys;
    uint8_t key[PL_PUBKEY_BYTES];
    prekey_rq *p;

    if (!(p = new_own(c, slot, f, frame_bytes, otk_run, otk_done)))
        return;
    for (size_t i = 0; i < m->n_onetime_prekeys; i++) {
        const ProtobufCBinaryData *k = &m->onetime_prekeys[i];

        if (pl_onetime_prekey_parse(k->data, k->len, &p->otks[i].id, key) != PL_OK) {
            pl_refuse(c, slot, f, ST(BAD_REQUEST), "a one-time prekey is malformed", 0);
            free(p);
            return;
        }
        memcpy(p->otks[i].public_part, k->data, PL_ONETIME_PREKEY_PUBLIC_BYTES);
    }
    p->n_otks = m->n_onetime_prekeys;
    pl_request_submit(&p->rq);
}

/* ---- PrekeyStatus -------------------------------------------------------------------------- */

static void status_run(pl_job *job, pl_store *s)
{
    read_status((prekey_rq *)job, s);
}

static void status_done(pl_job *job)
{
    count_done(job, PARLEY__RESPONSE__BODY_PREKEY_STATUS);
}

void pl_handle_prekey_status(pl_conn *c, pl_reply *slot, Parley__ClientFrame *f, size_t frame_bytes)
{
    prekey_rq *p = new_own(c, slot, f, frame_bytes, status_run, status_done);

    if (p)
        pl_request_submit(&p->rq);
}

/* ---- FetchBundles -------------------------------------------------------------------------- */

typedef struct fetch_rq {
    pl_request rq;
    char username[PL_USERNAME_MAX + 1];
    uint8_t account_key[PL_PUBKEY_BYTES];
    uint8_t bundles[PL_STORE_DEVICES_MAX][PL_BUNDLE_MAX_BYTES];
    size_t bundle_len[PL_STORE_DEVICES_MAX];
    uint32_t device_ids[PL_STORE_DEVICES_MAX];
    size_t remaining[PL_STORE_DEVICES_MAX]; /* stock after the claim; SIZE_MAX: none claimed */
    size_t n;
    size_t claimed;
} fetch_rq;

static void fetch_run(pl_job *job, pl_store *s)
{
    fetch_rq *q = (fetch_rq *)job;
    pl_store_device devs[PL_STORE_DEVICES_MAX];
    pl_store_account acct;
    size_t n = 0;
    int r;

    if ((r = pl_store_account_get(s, q->username, &acct)) == PL_STORE_OK)
        r = pl_store_device_list(s, q->username, devs, &n);
    if (r != PL_STORE_OK) {
        pl_request_fail(&q->rq, pl_status_from_store(r, ST(INTERNAL), ST(INTERNAL)),
                        r == PL_STORE_E_NOT_FOUND ? "no such user" : pl_store_strerror(r));
        return;
    }
    memcpy(q->account_key, acct.account_key, PL_PUBKEY_BYTES);
    for (size_t i = 0; i < n; i++) {
        uint8_t spk[PL_SIGNED_PREKEY_PUBLIC_BYTES];
        pl_store_onetime_prekey otk;
        size_t remaining = 0, k = q->n;

        /* A device without a signed prekey cannot be reached yet and is left out. */
        if (pl_store_signed_prekey_get(s, q->username, devs[i].device_id, spk) != PL_STORE_OK)
            continue;
        r = pl_store_onetime_prekey_claim(s, q->username, devs[i].device_id, &otk, &remaining);
        q->remaining[k] = SIZE_MAX;
        if (r == PL_STORE_OK) {
            q->remaining[k] = remaining;
            q->claimed++;
        } else if (r != PL_STORE_E_EMPTY) {
            pl_request_fail(&q->rq, ST(INTERNAL), pl_store_strerror(r));
            return;
        }
        if (pl_bundle_encode(devs[i].record, spk, r == PL_STORE_OK ? otk.public_part : NULL,
                             q->bundles[k], PL_BUNDLE_MAX_BYTES, &q->bundle_len[k]) != PL_OK) {
            pl_request_fail(&q->rq, ST(INTERNAL), "could not assemble a bundle");
            return;
        }
        q->device_ids[k] = devs[i].device_id;
        q->n++;
    }
}

static void fetch_done(pl_job *job)
{
    fetch_rq *q = (fetch_rq *)job;
    pl_server *srv = q->rq.conn->srv;
    Parley__Response resp = PARLEY__RESPONSE__INIT;
    Parley__Status st = PARLEY__STATUS__INIT;
    Parley__BundleList list = PARLEY__BUNDLE_LIST__INIT;
    ProtobufCBinaryData b[PL_STORE_DEVICES_MAX];
    int ok = !job->commit_failed && q->rq.status == ST(OK);

    for (size_t i = 0; ok && i < q->n; i++) {
        b[i].data = q->bundles[i];
        b[i].len = q->bundle_len[i];
        if (q->remaining[i] != SIZE_MAX && q->remaining[i] < srv->cfg.prekeys.low_watermark)
            pl_prekeys_low_notify(srv, q->username, q->device_ids[i], (uint32_t)q->remaining[i]);
    }
    if (ok)
        pl_metrics_add(PL_M_ONETIME_PREKEYS_CLAIMED, q->claimed);
    list.account_key.data = q->account_key;
    list.account_key.len = PL_PUBKEY_BYTES;
    list.bundles = b;
    list.n_bundles = ok ? q->n : 0;
    pl_response_ok(&resp, &st, q->rq.id, PARLEY__RESPONSE__BODY_FETCH_BUNDLES, &list);
    pl_request_finish(&q->rq, &resp);
}

void pl_handle_fetch_bundles(pl_conn *c, pl_reply *slot, Parley__ClientFrame *f, size_t frame_bytes)
{
    char name[PL_USERNAME_MAX + 1];
    const char *why;
    fetch_rq *q;

    if (!pl_wire_username(f->request->fetch_bundles->username, name, &why)) {
        pl_refuse(c, slot, f, ST(BAD_USERNAME), why, 0);
        return;
    }
    if (!(q = (fetch_rq *)pl_request_new(sizeof *q, c, slot, f, frame_bytes, fetch_run,
                                         fetch_done)))
        return;
    memcpy(q->username, name, sizeof name);
    pl_request_submit(&q->rq);
}

void pl_prekeys_low_notify(pl_server *srv, const char *username, uint32_t device_id,
                           uint32_t remaining)
{
    pl_conn *c = pl_registry_find(&srv->registry, username, device_id);
    Parley__Push push = PARLEY__PUSH__INIT;
    Parley__PrekeysLow low = PARLEY__PREKEYS_LOW__INIT;

    if (!c || !pl_conn_alive(c))
        return; /* told when it next authenticates (AuthResult and a push then) */
    low.remaining = remaining;
    low.max = srv->cfg.prekeys.max_onetime_prekeys_per_device;
    push.kind_case = PARLEY__PUSH__KIND_PREKEYS_LOW;
    push.prekeys_low = &low;
    (void)pl_conn_push(c, &push);
}
