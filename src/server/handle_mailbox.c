/*
 * handle_mailbox.c: pushing a device's mailbox, and Ack (PROTOCOL.md §11.7).
 *
 * Envelopes reach a connected device two ways, both in seq order:
 *   - the backlog: after authentication, and whenever a push had to be held back, pages of
 *     the mailbox are fetched on the store worker (seq > last pushed) and pushed, one page
 *     at a time and only while the connection has room; after the first full pass the
 *     device gets QueueEmpty;
 *   - live: an envelope committed for a connected device that is in step (no backlog
 *     running or owed, room in its output) is pushed from memory at once.
 * Why they cannot reorder or lose an envelope: the store worker runs jobs in order and the
 * loop sees their completions in the same order. An envelope committed before a page was
 * read is in that page (and its live offer, arriving while the backlog runs, is skipped);
 * one committed after the last, short page was read is offered after that page's
 * completion, when the backlog is done, and pushed live. A skipped push leaves
 * backlog_pending set, so the envelope is fetched later. last_pushed_seq drops duplicates.
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
/* Bytes of ciphertext per fetched page, besides the envelope count. */
#define PAGE_BYTES (256u * 1024u)

typedef struct page_env {
    uint64_t seq;
    char sender[PL_USERNAME_MAX + 1];
    uint32_t sender_device;
    uint64_t server_ts_ms;
    uint8_t cmid[PL_STORE_CLIENT_MESSAGE_ID_BYTES];
    uint8_t *ciphertext;
    size_t ciphertext_len;
    int group;
} page_env;

typedef struct fetch_page {
    pl_job job;
    pl_conn *conn;
    char username[PL_USERNAME_MAX + 1];
    uint32_t device_id;
    uint64_t after_seq;
    page_env envs[PL_SERVER_FETCH_PAGE];
    size_t n;
    size_t bytes;
    int more; /* the page stopped on its size bounds, not on the mailbox's end */
    int failed;
} fetch_page;

static int page_collect(void *ctx, const pl_store_envelope *e)
{
    fetch_page *p = ctx;
    page_env *pe = &p->envs[p->n];

    if (p->n > 0 && p->bytes + e->ciphertext_len > PAGE_BYTES) {
        p->more = 1;
        return 1;
    }
    if (!(pe->ciphertext = malloc(e->ciphertext_len ? e->ciphertext_len : 1))) {
        p->failed = 1;
        return 1;
    }
    memcpy(pe->ciphertext, e->ciphertext, e->ciphertext_len);
    pe->ciphertext_len = e->ciphertext_len;
    pe->seq = e->seq;
    snprintf(pe->sender, sizeof pe->sender, "%s", e->sender);
    pe->sender_device = e->sender_device;
    pe->server_ts_ms = e->server_ts_ms;
    pe->group = e->group;
    if (e->client_message_id)
        memcpy(pe->cmid, e->client_message_id, sizeof pe->cmid);
    p->bytes += e->ciphertext_len;
    p->n++;
    return 0;
}

static void page_run(pl_job *job, pl_store *s)
{
    fetch_page *p = (fetch_page *)job;
    size_t fetched = 0;
    int r = pl_store_mailbox_fetch(s, p->username, p->device_id, p->after_seq, PL_SERVER_FETCH_PAGE,
                                   page_collect, p, &fetched);

    if (r != PL_STORE_OK)
        p->failed = 1;
    if (p->n == PL_SERVER_FETCH_PAGE)
        p->more = 1;
}

static void push_envelope(pl_conn *c, const Parley__Envelope *env)
{
    Parley__Push push = PARLEY__PUSH__INIT;

    push.kind_case = PARLEY__PUSH__KIND_ENVELOPE;
    push.envelope = (Parley__Envelope *)env;
    if (pl_conn_push(c, &push) == 0) {
        c->last_pushed_seq = env->seq;
        pl_metrics_inc(PL_M_ENVELOPES_DELIVERED);
    }
}

static void fetch_next(pl_conn *c);

static void page_done(pl_job *job)
{
    fetch_page *p = (fetch_page *)job;
    pl_conn *c = p->conn;
    int same = pl_conn_alive(c) && c->authenticated && c->device_id == p->device_id &&
               strcmp(c->username, p->username) == 0;

    c->backlog_running = 0;
    for (size_t i = 0; i < p->n; i++) {
        page_env *pe = &p->envs[i];

        if (same && pe->seq > c->last_pushed_seq) {
            Parley__Envelope env = PARLEY__ENVELOPE__INIT;

            env.seq = pe->seq;
            env.sender = pe->sender;
            env.sender_device = pe->sender_device;
            env.server_time_ms = pe->server_ts_ms;
            env.ciphertext.data = pe->ciphertext;
            env.ciphertext.len = pe->ciphertext_len;
            env.client_message_id.data = pe->cmid;
            env.client_message_id.len = sizeof pe->cmid;
            env.group = pe->group;
            push_envelope(c, &env);
        }
        free(pe->ciphertext);
    }
    if (same && (p->failed || job->commit_failed)) {
        pl_log(PL_CONFIG_LOG_ERROR, "mailbox fetch failed", PL_LOG_U64("conn", c->id));
        pl_conn_goodbye(c, ST(INTERNAL), "the store failed; reconnect later");
    } else if (same) {
        if (p->more) {
            c->backlog_pending = 1;
            fetch_next(c);
        } else if (!c->queue_empty_sent) {
            Parley__Push push = PARLEY__PUSH__INIT;
            Parley__QueueEmpty qe = PARLEY__QUEUE_EMPTY__INIT;

            c->queue_empty_sent = 1;
            push.kind_case = PARLEY__PUSH__KIND_QUEUE_EMPTY;
            push.queue_empty = &qe;
            (void)pl_conn_push(c, &push);
        }
    }
    free(p);
    pl_conn_unref(c);
}

/* Starts a page fetch if one is owed, none runs, and there is room. */
static void fetch_next(pl_conn *c)
{
    fetch_page *p;

    if (!c->backlog_pending || c->backlog_running || !pl_conn_has_room(c) || !pl_conn_alive(c))
        return;
    if (!(p = calloc(1, sizeof *p))) {
        pl_conn_goodbye(c, ST(INTERNAL), "out of memory");
        return;
    }
    p->job.run = page_run;
    p->job.done = page_done;
    p->conn = c;
    memcpy(p->username, c->username, sizeof p->username);
    p->device_id = c->device_id;
    p->after_seq = c->last_pushed_seq;
    c->backlog_pending = 0;
    c->backlog_running = 1;
    pl_conn_ref(c);
    pl_store_worker_submit(c->srv->worker, &p->job);
}

void pl_mailbox_start(pl_conn *c)
{
    c->last_pushed_seq = 0;
    c->queue_empty_sent = 0;
    c->backlog_pending = 1;
    fetch_next(c);
}

void pl_mailbox_resume(pl_conn *c)
{
    fetch_next(c);
}

void pl_mailbox_offer(pl_server *srv, const char *username, uint32_t device_id,
                      const Parley__Envelope *env, uint64_t accepted_ns)
{
    pl_conn *c = pl_registry_find(&srv->registry, username, device_id);

    if (!c || !pl_conn_alive(c) || env->seq <= c->last_pushed_seq)
        return;
    if (c->backlog_running || c->backlog_pending || !pl_conn_has_room(c)) {
        /* Not in step: the backlog fetch will find it. */
        if (!c->backlog_running)
            c->backlog_pending = 1;
        return;
    }
    push_envelope(c, env);
    pl_metrics_observe_ns(PL_H_DELIVERY_SECONDS, pl_clock_mono_ns() - accepted_ns);
}

/* ---- Ack ----------------------------------------------------------------------------------- */

typedef struct ack_rq {
    pl_request rq;
    char username[PL_USERNAME_MAX + 1];
    uint32_t device_id;
    size_t deleted;
} ack_rq;

static void ack_run(pl_job *job, pl_store *s)
{
    ack_rq *a = (ack_rq *)job;
    const Parley__Ack *m = a->rq.frame->request->ack;
    int r = pl_store_mailbox_ack(s, a->username, a->device_id, m->seqs, m->n_seqs, &a->deleted);

    if (r != PL_STORE_OK)
        pl_request_fail(&a->rq, pl_status_from_store(r, ST(INTERNAL), ST(INTERNAL)),
                        pl_store_strerror(r));
}

static void ack_done(pl_job *job)
{
    ack_rq *a = (ack_rq *)job;
    Parley__Response resp = PARLEY__RESPONSE__INIT;
    Parley__Status st = PARLEY__STATUS__INIT;
    Parley__Empty empty = PARLEY__EMPTY__INIT;

    if (!job->commit_failed && a->rq.status == ST(OK))
        pl_metrics_add(PL_M_ENVELOPES_ACKED, a->deleted);
    pl_response_ok(&resp, &st, a->rq.id, PARLEY__RESPONSE__BODY_ACK, &empty);
    pl_request_finish(&a->rq, &resp);
}

void pl_handle_ack(pl_conn *c, pl_reply *slot, Parley__ClientFrame *f, size_t frame_bytes)
{
    ack_rq *a = (ack_rq *)pl_request_new(sizeof *a, c, slot, f, frame_bytes, ack_run, ack_done);

    if (!a)
        return;
    memcpy(a->username, c->username, sizeof a->username);
    a->device_id = c->device_id;
    pl_request_submit(&a->rq);
}
