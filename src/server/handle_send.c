/*
 * handle_send.c: Send (PROTOCOL.md §11.3, §11.7).
 *
 * A Send carries one ciphertext for every device of the recipient and one for every other
 * device of the sender. On the store worker, in one group of the batch: the two device
 * lists are compared with the request (any difference: STATUS_MISMATCHED_DEVICES listing
 * missing, extra and stale devices per account, nothing stored); the (sender device,
 * client_message_id) pair is recorded, and if it was already there the Send is a resend,
 * answered with the first time and not stored again; otherwise every envelope is appended.
 * The sender hears STATUS_OK only after the batch's commit, so only durable envelopes are
 * acknowledged; then each envelope is offered to its device's connection for a push.
 *
 * Sending to oneself (recipient = sender): the recipient list is every device of the
 * account except the sending one, and the sender list is empty.
 */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "handlers.h"
#include "log.h"
#include "metrics.h"
#include "server.h"

#define ST(x) PARLEY__STATUS_CODE__STATUS_##x
#define MAX_ENVS PL_WIRE_MAX_SEND_CIPHERTEXTS

/* What is wrong with one account's ciphertext set. */
typedef struct mismatch {
    const char *username;
    uint32_t missing[PL_STORE_DEVICES_MAX], extra[MAX_ENVS], stale[MAX_ENVS];
    size_t n_missing, n_extra, n_stale;
} mismatch;

typedef struct send_rq {
    pl_request rq;
    char recipient[PL_USERNAME_MAX + 1];
    char sender[PL_USERNAME_MAX + 1];
    uint32_t sender_device;
    pl_store_envelope envs[MAX_ENVS];
    size_t n_envs;
    uint64_t server_ts_ms;
    int duplicate;
    mismatch mm[2]; /* recipient, sender */
    int n_mm;
} send_rq;

/* Compares one account's ciphertexts with its current devices; skip is a device id that
 * must have no ciphertext (the sending device), or 0. Returns 1 if they match. */
static int compare(mismatch *mm, const pl_store_device *devs, size_t n_devs,
                   Parley__DeviceCiphertext *const *cts, size_t n_cts, uint32_t skip)
{
    for (size_t i = 0; i < n_devs; i++) {
        const Parley__DeviceCiphertext *found = NULL;

        if (devs[i].device_id == skip)
            continue;
        for (size_t j = 0; j < n_cts && !found; j++)
            if (cts[j]->device_id == devs[i].device_id)
                found = cts[j];
        if (!found)
            mm->missing[mm->n_missing++] = devs[i].device_id;
        else if (memcmp(found->identity_key.data, devs[i].identity_key, PL_PUBKEY_BYTES) != 0)
            mm->stale[mm->n_stale++] = devs[i].device_id;
    }
    for (size_t j = 0; j < n_cts; j++) {
        int known = cts[j]->device_id != skip;

        if (known) {
            known = 0;
            for (size_t i = 0; i < n_devs && !known; i++)
                known = devs[i].device_id == cts[j]->device_id;
        }
        if (!known)
            mm->extra[mm->n_extra++] = cts[j]->device_id;
    }
    return mm->n_missing + mm->n_extra + mm->n_stale == 0;
}

/* Queues the envelopes of one ciphertext list for `to`. */
static void add_envelopes(send_rq *q, const char *to, Parley__DeviceCiphertext *const *cts,
                          size_t n, const uint8_t *cmid)
{
    for (size_t i = 0; i < n; i++) {
        pl_store_envelope *e = &q->envs[q->n_envs++];

        e->recipient = to;
        e->recipient_device = cts[i]->device_id;
        e->sender = q->sender;
        e->sender_device = q->sender_device;
        e->server_ts_ms = q->server_ts_ms;
        e->ciphertext = cts[i]->ciphertext.data;
        e->ciphertext_len = cts[i]->ciphertext.len;
        e->client_message_id = cmid;
    }
}

static void send_run(pl_job *job, pl_store *s)
{
    send_rq *q = (send_rq *)job;
    const Parley__Send *m = q->rq.frame->request->send;
    pl_store_device rdevs[PL_STORE_DEVICES_MAX], sdevs[PL_STORE_DEVICES_MAX];
    size_t n_r = 0, n_s = 0, failed = 0;
    int to_self = strcmp(q->recipient, q->sender) == 0, ok_r, ok_s, r;
    uint64_t first_ts = 0;

    if ((r = pl_store_device_list(s, q->recipient, rdevs, &n_r)) != PL_STORE_OK ||
        (r = pl_store_device_list(s, q->sender, sdevs, &n_s)) != PL_STORE_OK) {
        pl_request_fail(&q->rq, pl_status_from_store(r, ST(INTERNAL), ST(INTERNAL)),
                        r == PL_STORE_E_NOT_FOUND ? "no such user" : pl_store_strerror(r));
        return;
    }
    q->mm[0].username = q->recipient;
    q->mm[1].username = q->sender;
    ok_r = compare(&q->mm[0], rdevs, n_r, m->recipient_devices, m->n_recipient_devices,
                   to_self ? q->sender_device : 0);
    ok_s = compare(&q->mm[1], to_self ? NULL : sdevs, to_self ? 0 : n_s, m->sender_devices,
                   m->n_sender_devices, q->sender_device);
    if (!ok_r || !ok_s) {
        q->n_mm = 2;
        pl_request_fail(&q->rq, ST(MISMATCHED_DEVICES),
                        "the ciphertexts do not match the current devices");
        return;
    }
    q->server_ts_ms = pl_clock_now_ms();
    add_envelopes(q, q->recipient, m->recipient_devices, m->n_recipient_devices,
                  m->client_message_id.data);
    add_envelopes(q, q->sender, m->sender_devices, m->n_sender_devices, m->client_message_id.data);
    job->envelopes = q->n_envs;
    r = pl_send_store(s, q->sender, q->sender_device, m->client_message_id.data, q->server_ts_ms,
                      q->envs, q->n_envs, &first_ts, &failed);
    if (r == PL_STORE_E_EXISTS) {
        q->duplicate = 1;
        q->server_ts_ms = first_ts;
        return;
    }
    if (r != PL_STORE_OK)
        pl_request_fail(&q->rq, pl_status_from_store(r, ST(INTERNAL), ST(INTERNAL)),
                        r == PL_STORE_E_QUOTA ? "a recipient device's mailbox is full"
                                              : pl_store_strerror(r));
}

int pl_send_store(pl_store *s, const char *sender, uint32_t sender_device,
                  const uint8_t *client_message_id, uint64_t now_ms, pl_store_envelope *envs,
                  size_t n, uint64_t *first_ts_ms, size_t *failed)
{
    int r;

    *failed = 0;
    if ((r = pl_store_group_begin(s)) != PL_STORE_OK)
        return r;
    r = pl_store_send_record(s, sender, sender_device, client_message_id, now_ms, first_ts_ms);
    if (r == PL_STORE_OK)
        r = pl_store_mailbox_append(s, envs, n, failed);
    if (r == PL_STORE_OK)
        return pl_store_group_end(s, 1);
    (void)pl_store_group_end(s, 0);
    return r;
}

static void send_done(pl_job *job)
{
    send_rq *q = (send_rq *)job;
    pl_server *srv = q->rq.conn->srv;
    Parley__Response resp = PARLEY__RESPONSE__INIT;
    Parley__Status st = PARLEY__STATUS__INIT;
    Parley__SendResult result = PARLEY__SEND_RESULT__INIT;
    Parley__MismatchedDevices mmd[2] = {PARLEY__MISMATCHED_DEVICES__INIT,
                                        PARLEY__MISMATCHED_DEVICES__INIT};
    Parley__MismatchedDevices *mmp[2] = {&mmd[0], &mmd[1]};
    int ok = !job->commit_failed && q->rq.status == ST(OK);

    if (!job->commit_failed && q->rq.status == ST(MISMATCHED_DEVICES)) {
        size_t n = 0;

        for (int i = 0; i < q->n_mm; i++) {
            mismatch *mm = &q->mm[i];

            if (mm->n_missing + mm->n_extra + mm->n_stale == 0)
                continue;
            mmd[n].username = (char *)mm->username;
            mmd[n].missing = mm->missing;
            mmd[n].n_missing = mm->n_missing;
            mmd[n].extra = mm->extra;
            mmd[n].n_extra = mm->n_extra;
            mmd[n].stale = mm->stale;
            mmd[n].n_stale = mm->n_stale;
            n++;
        }
        st.code = ST(MISMATCHED_DEVICES);
        st.message = (char *)q->rq.message;
        st.mismatched = mmp;
        st.n_mismatched = n;
        resp.id = q->rq.id;
        resp.status = &st;
        q->rq.status = ST(OK); /* the response carries the refusal itself */
        pl_request_finish(&q->rq, &resp);
        return;
    }
    if (!job->commit_failed && q->rq.status == ST(MAILBOX_FULL)) {
        pl_metrics_inc(PL_M_ENVELOPES_QUOTA_REFUSED);
        pl_log(PL_CONFIG_LOG_WARN, "mailbox quota reached; send refused",
               PL_LOG_U64("conn", q->rq.conn->id), PL_LOG_STR("sender", q->sender),
               PL_LOG_STR("recipient", q->recipient));
    }
    if (ok && q->duplicate)
        pl_metrics_inc(PL_M_SENDS_DEDUPLICATED);
    if (ok && !q->duplicate) {
        const Parley__Send *m = q->rq.frame->request->send;

        pl_metrics_add(PL_M_ENVELOPES_ACCEPTED, q->n_envs);
        for (size_t i = 0; i < q->n_envs; i++) {
            Parley__Envelope env = PARLEY__ENVELOPE__INIT;
            const pl_store_envelope *e = &q->envs[i];

            env.seq = e->seq;
            env.sender = q->sender;
            env.sender_device = q->sender_device;
            env.server_time_ms = q->server_ts_ms;
            env.ciphertext.data = (uint8_t *)e->ciphertext;
            env.ciphertext.len = e->ciphertext_len;
            env.client_message_id = m->client_message_id;
            pl_mailbox_offer(srv, e->recipient, e->recipient_device, &env, job->enqueued_ns);
        }
    }
    result.server_time_ms = q->server_ts_ms;
    pl_response_ok(&resp, &st, q->rq.id, PARLEY__RESPONSE__BODY_SEND, &result);
    pl_request_finish(&q->rq, &resp);
}

/* 1 if no device id appears twice in cts. */
static int ids_unique(Parley__DeviceCiphertext *const *cts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (cts[i]->device_id == cts[j]->device_id)
                return 0;
    return 1;
}

static int sizes_ok(Parley__DeviceCiphertext *const *cts, size_t n, uint32_t max)
{
    for (size_t i = 0; i < n; i++)
        if (cts[i]->ciphertext.len > max)
            return 0;
    return 1;
}

void pl_handle_send(pl_conn *c, pl_reply *slot, Parley__ClientFrame *f, size_t frame_bytes)
{
    const Parley__Send *m = f->request->send;
    uint32_t max = c->srv->cfg.server.max_envelope_bytes;
    char name[PL_USERNAME_MAX + 1];
    const char *why;
    send_rq *q;

    if (!sizes_ok(m->recipient_devices, m->n_recipient_devices, max) ||
        !sizes_ok(m->sender_devices, m->n_sender_devices, max)) {
        pl_refuse(c, slot, f, ST(TOO_LARGE), "a ciphertext is above max_ciphertext_bytes", 0);
        return;
    }
    if (!ids_unique(m->recipient_devices, m->n_recipient_devices) ||
        !ids_unique(m->sender_devices, m->n_sender_devices)) {
        pl_refuse(c, slot, f, ST(BAD_REQUEST), "a device id appears twice in a list", 0);
        return;
    }
    if (!pl_wire_username(m->recipient, name, &why)) {
        pl_refuse(c, slot, f, ST(BAD_USERNAME), why, 0);
        return;
    }
    if (!(q = (send_rq *)pl_request_new(sizeof *q, c, slot, f, frame_bytes, send_run, send_done)))
        return;
    memcpy(q->recipient, name, sizeof name);
    memcpy(q->sender, c->username, sizeof q->sender);
    q->sender_device = c->device_id;
    q->rq.job.envelopes = m->n_recipient_devices + m->n_sender_devices;
    pl_request_submit(&q->rq);
}
