/*
 * handle_group_send.c: GroupSend (PROTOCOL.md §31), the fan-out of one group message.
 *
 * The sender encrypted the group message once; the request carries that one ciphertext and
 * the devices it is for, per account, as the sender verified them through key transparency.
 * The server knows nothing of groups: it checks only that each listed account's device set
 * is exactly its current one (as Send does), and stores and pushes the same bytes to every
 * listed device.
 *
 * On the loop thread, cheap checks first: the ciphertext size, the configured maximum of
 * addressed devices, the usernames, and no account listed twice. On the store worker, in one
 * group of the batch: every listed account's devices are compared with the request (the
 * sender's own account without the sending device; and the sender's account counts as
 * listed with no devices when it is absent, so omitting one's own other devices is a
 * mismatch too); any difference is STATUS_MISMATCHED_DEVICES naming up to
 * PL_WIRE_MAX_GROUP_MISMATCHED accounts, nothing stored. Then the (sender device,
 * client_message_id) pair is recorded, shared with Send: a resend is answered with the first
 * time and not stored again. Then one envelope per device is appended, all or none (a full
 * mailbox refuses the whole request with STATUS_MAILBOX_FULL). The sender hears STATUS_OK
 * only after the batch's commit; then each envelope is offered to its device's connection
 * for a push with Envelope.group set.
 *
 * Every envelope points at the request's one ciphertext buffer, so the store keeps one copy
 * of it for the whole fan-out (store.h, pl_store_mailbox_append; §31.4).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "handlers.h"
#include "log.h"
#include "metrics.h"
#include "server.h"

#define ST(x) PARLEY__STATUS_CODE__STATUS_##x

/* What is wrong with one account's listed devices. */
typedef struct group_mismatch {
    const char *username;
    uint32_t missing[PL_STORE_DEVICES_MAX], extra[PL_WIRE_MAX_DEVICES], stale[PL_WIRE_MAX_DEVICES];
    size_t n_missing, n_extra, n_stale;
} group_mismatch;

typedef struct group_rq {
    pl_request rq;
    char sender[PL_USERNAME_MAX + 1];
    uint32_t sender_device;
    size_t n_users;
    char (*names)[PL_USERNAME_MAX + 1]; /* normalized, in request order */
    int sender_listed;
    pl_store_envelope *envs; /* one per listed device, in request order */
    size_t n_envs;
    uint64_t server_ts_ms;
    int duplicate;
    group_mismatch *mm; /* PL_WIRE_MAX_GROUP_MISMATCHED slots */
    size_t n_mm;
    size_t n_mismatched; /* every mismatched account, reported or not */
    char message[PL_USERNAME_MAX + 96];
} group_rq;

/* Compares one account's listed devices (ids[0..n), keys 33 bytes each) with its current
 * devices; skip is a device id that must not be listed (the sending device), or 0. Fills
 * *mm and returns 1 if they match. */
static int compare(group_mismatch *mm, const pl_store_device *devs, size_t n_devs,
                   const uint32_t *ids, const uint8_t *keys, size_t n, uint32_t skip)
{
    for (size_t i = 0; i < n_devs; i++) {
        size_t j = 0;

        if (devs[i].device_id == skip)
            continue;
        while (j < n && ids[j] != devs[i].device_id)
            j++;
        if (j == n)
            mm->missing[mm->n_missing++] = devs[i].device_id;
        else if (memcmp(keys + j * PL_PUBKEY_BYTES, devs[i].identity_key, PL_PUBKEY_BYTES) != 0)
            mm->stale[mm->n_stale++] = devs[i].device_id;
    }
    for (size_t j = 0; j < n; j++) {
        int known = 0;

        for (size_t i = 0; i < n_devs && !known && ids[j] != skip; i++)
            known = devs[i].device_id == ids[j];
        if (!known)
            mm->extra[mm->n_extra++] = ids[j];
    }
    return mm->n_missing + mm->n_extra + mm->n_stale == 0;
}

/* Checks one account; records a mismatch in the next free slot, if any is left. Returns a
 * PL_STORE_* code; *ok says whether it matched. */
static int check_account(group_rq *q, pl_store *s, const char *name, const uint32_t *ids,
                         const uint8_t *keys, size_t n, int *ok)
{
    pl_store_device devs[PL_STORE_DEVICES_MAX];
    group_mismatch scratch, *mm;
    size_t n_devs = 0;
    int is_sender = strcmp(name, q->sender) == 0;
    int r = pl_store_device_list(s, name, devs, &n_devs);

    if (r != PL_STORE_OK)
        return r;
    mm = q->n_mm < PL_WIRE_MAX_GROUP_MISMATCHED ? &q->mm[q->n_mm] : &scratch;
    memset(mm, 0, sizeof *mm);
    mm->username = name;
    *ok = compare(mm, devs, n_devs, ids, keys, n, is_sender ? q->sender_device : 0);
    if (!*ok) {
        q->n_mismatched++;
        if (mm != &scratch)
            q->n_mm++;
    }
    return PL_STORE_OK;
}

static void group_run(pl_job *job, pl_store *s)
{
    group_rq *q = (group_rq *)job;
    const Parley__GroupSend *m = q->rq.frame->request->group_send;
    size_t at = 0, failed = 0;
    uint64_t first_ts = 0;
    int ok, r;

    for (size_t i = 0; i < q->n_users; at += m->device_counts[i], i++) {
        r = check_account(q, s, q->names[i], m->device_ids + at,
                          m->identity_keys.data + at * PL_PUBKEY_BYTES, m->device_counts[i], &ok);
        if (r != PL_STORE_OK) {
            if (r == PL_STORE_E_NOT_FOUND)
                snprintf(q->message, sizeof q->message, "no such user: %s", q->names[i]);
            pl_request_fail(&q->rq, pl_status_from_store(r, ST(INTERNAL), ST(INTERNAL)),
                            r == PL_STORE_E_NOT_FOUND ? q->message : pl_store_strerror(r));
            return;
        }
    }
    /* Not listing one's own other devices is a mismatch too (they would miss the message). */
    if (!q->sender_listed &&
        (r = check_account(q, s, q->sender, NULL, NULL, 0, &ok)) != PL_STORE_OK) {
        pl_request_fail(&q->rq, ST(INTERNAL), pl_store_strerror(r));
        return;
    }
    if (q->n_mismatched) {
        snprintf(q->message, sizeof q->message,
                 "the devices of %zu account(s) do not match their current devices",
                 q->n_mismatched);
        pl_request_fail(&q->rq, ST(MISMATCHED_DEVICES), q->message);
        return;
    }
    q->server_ts_ms = pl_clock_now_ms();
    at = 0;
    for (size_t i = 0; i < q->n_users; i++)
        for (size_t k = 0; k < m->device_counts[i]; k++, at++) {
            pl_store_envelope *e = &q->envs[q->n_envs++];

            e->recipient = q->names[i];
            e->recipient_device = m->device_ids[at];
            e->sender = q->sender;
            e->sender_device = q->sender_device;
            e->server_ts_ms = q->server_ts_ms;
            e->ciphertext = m->ciphertext.data;
            e->ciphertext_len = m->ciphertext.len;
            e->client_message_id = m->client_message_id.data;
            e->group = 1;
        }
    job->envelopes = q->n_envs;
    r = pl_send_store(s, q->sender, q->sender_device, m->client_message_id.data, q->server_ts_ms,
                      q->envs, q->n_envs, &first_ts, &failed);
    if (r == PL_STORE_E_EXISTS) {
        q->duplicate = 1;
        q->server_ts_ms = first_ts;
        return;
    }
    if (r == PL_STORE_E_QUOTA && failed < q->n_envs) {
        snprintf(q->message, sizeof q->message, "the mailbox of %s device %u is full",
                 q->envs[failed].recipient, (unsigned)q->envs[failed].recipient_device);
        pl_request_fail(&q->rq, ST(MAILBOX_FULL), q->message);
    } else if (r != PL_STORE_OK) {
        pl_request_fail(&q->rq, pl_status_from_store(r, ST(INTERNAL), ST(INTERNAL)),
                        pl_store_strerror(r));
    }
}

/* Answers and releases q (pl_request_finish), then frees what q pointed to: the response
 * may borrow names and mismatch lists until it is encoded. */
static void group_finish(group_rq *q, Parley__Response *resp)
{
    void *names = q->names, *envs = q->envs, *mm = q->mm;

    pl_request_finish(&q->rq, resp);
    free(names);
    free(envs);
    free(mm);
}

/* Answers a refusal for mismatched devices, the lists in the response itself. */
static void answer_mismatched(group_rq *q)
{
    Parley__Response resp = PARLEY__RESPONSE__INIT;
    Parley__Status st = PARLEY__STATUS__INIT;
    Parley__MismatchedDevices mmd[PL_WIRE_MAX_GROUP_MISMATCHED];
    Parley__MismatchedDevices *mmp[PL_WIRE_MAX_GROUP_MISMATCHED];

    for (size_t i = 0; i < q->n_mm; i++) {
        group_mismatch *mm = &q->mm[i];

        parley__mismatched_devices__init(&mmd[i]);
        mmd[i].username = (char *)mm->username;
        mmd[i].missing = mm->missing;
        mmd[i].n_missing = mm->n_missing;
        mmd[i].extra = mm->extra;
        mmd[i].n_extra = mm->n_extra;
        mmd[i].stale = mm->stale;
        mmd[i].n_stale = mm->n_stale;
        mmp[i] = &mmd[i];
    }
    st.code = ST(MISMATCHED_DEVICES);
    st.message = (char *)q->rq.message;
    st.mismatched = mmp;
    st.n_mismatched = q->n_mm;
    resp.id = q->rq.id;
    resp.status = &st;
    q->rq.status = ST(OK); /* the response carries the refusal itself */
    group_finish(q, &resp);
}

static void group_done(pl_job *job)
{
    group_rq *q = (group_rq *)job;
    pl_server *srv = q->rq.conn->srv;
    Parley__Response resp = PARLEY__RESPONSE__INIT;
    Parley__Status st = PARLEY__STATUS__INIT;
    Parley__SendResult result = PARLEY__SEND_RESULT__INIT;
    int ok = !job->commit_failed && q->rq.status == ST(OK);

    if (!job->commit_failed && q->rq.status == ST(MISMATCHED_DEVICES)) {
        answer_mismatched(q);
        return;
    }
    if (!job->commit_failed && q->rq.status == ST(MAILBOX_FULL)) {
        pl_metrics_inc(PL_M_ENVELOPES_QUOTA_REFUSED);
        pl_log(PL_CONFIG_LOG_WARN, "mailbox quota reached; group send refused",
               PL_LOG_U64("conn", q->rq.conn->id), PL_LOG_STR("sender", q->sender),
               PL_LOG_U64("devices", q->n_envs));
    }
    if (ok && q->duplicate)
        pl_metrics_inc(PL_M_SENDS_DEDUPLICATED);
    if (ok && !q->duplicate) {
        const Parley__GroupSend *m = q->rq.frame->request->group_send;

        pl_metrics_inc(PL_M_GROUP_SENDS);
        pl_metrics_add(PL_M_ENVELOPES_ACCEPTED, q->n_envs);
        for (size_t i = 0; i < q->n_envs; i++) {
            Parley__Envelope env = PARLEY__ENVELOPE__INIT;
            const pl_store_envelope *e = &q->envs[i];

            env.seq = e->seq;
            env.sender = q->sender;
            env.sender_device = q->sender_device;
            env.server_time_ms = q->server_ts_ms;
            env.ciphertext = m->ciphertext;
            env.client_message_id = m->client_message_id;
            env.group = 1;
            pl_mailbox_offer(srv, e->recipient, e->recipient_device, &env, job->enqueued_ns);
        }
    }
    result.server_time_ms = q->server_ts_ms;
    pl_response_ok(&resp, &st, q->rq.id, PARLEY__RESPONSE__BODY_GROUP_SEND, &result);
    group_finish(q, &resp);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* 1 if no name appears twice in names[0..n) (sorted pointers into them in order[]). */
static int names_unique(char (*names)[PL_USERNAME_MAX + 1], const char **order, size_t n)
{
    for (size_t i = 0; i < n; i++)
        order[i] = names[i];
    qsort(order, n, sizeof *order, name_cmp);
    for (size_t i = 1; i < n; i++)
        if (strcmp(order[i - 1], order[i]) == 0)
            return 0;
    return 1;
}

void pl_handle_group_send(pl_conn *c, pl_reply *slot, Parley__ClientFrame *f, size_t frame_bytes)
{
    const Parley__GroupSend *m = f->request->group_send;
    const pl_config *cfg = &c->srv->cfg;
    char(*names)[PL_USERNAME_MAX + 1] = NULL;
    const char **order = NULL;
    pl_store_envelope *envs = NULL;
    group_mismatch *mm = NULL;
    const char *p = m->usernames, *why;
    size_t n_users;
    int sender_listed = 0;
    group_rq *q;

    if (m->ciphertext.len > cfg->server.max_envelope_bytes) {
        pl_refuse(c, slot, f, ST(TOO_LARGE), "the ciphertext is above max_ciphertext_bytes", 0);
        return;
    }
    if (m->n_device_ids > cfg->limits.max_group_recipient_devices) {
        pl_refuse(c, slot, f, ST(BAD_REQUEST),
                  "more devices than Limits.max_group_recipient_devices", 0);
        return;
    }
    n_users = m->n_device_counts; /* the validator checked: one per name */
    names = calloc(n_users, sizeof *names);
    order = calloc(n_users, sizeof *order);
    envs = calloc(m->n_device_ids, sizeof *envs);
    mm = calloc(PL_WIRE_MAX_GROUP_MISMATCHED, sizeof *mm);
    if (!names || !order || !envs || !mm) {
        pl_refuse(c, slot, f, ST(INTERNAL), "out of memory", 0);
        goto out;
    }
    for (size_t i = 0; i < n_users; i++) {
        char raw[PL_WIRE_MAX_USERNAME_BYTES + 1];
        size_t n = strcspn(p, " ");

        memcpy(raw, p, n); /* n <= 255: validated */
        raw[n] = '\0';
        p += n + (p[n] == ' ');
        if (!pl_wire_username(raw, names[i], &why)) {
            pl_refuse(c, slot, f, ST(BAD_USERNAME), why, 0);
            goto out;
        }
        sender_listed |= strcmp(names[i], c->username) == 0;
    }
    if (!names_unique(names, order, n_users)) {
        pl_refuse(c, slot, f, ST(BAD_REQUEST), "an account is listed twice", 0);
        goto out;
    }
    if (!(q = (group_rq *)pl_request_new(sizeof *q, c, slot, f, frame_bytes, group_run,
                                         group_done)))
        goto out;
    memcpy(q->sender, c->username, sizeof q->sender);
    q->sender_device = c->device_id;
    q->sender_listed = sender_listed;
    q->n_users = n_users;
    q->names = names;
    q->envs = envs;
    q->mm = mm;
    names = NULL;
    envs = NULL;
    mm = NULL;
    q->rq.job.envelopes = m->n_device_ids;
    pl_request_submit(&q->rq);
out:
    free(names);
    free(order);
    free(envs);
    free(mm);
}
