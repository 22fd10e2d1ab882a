/*
 * dispatch.c: every frame a client sends, from bytes to a handler (handlers.h).
 *
 * Order of checks for one frame, cheapest first (PROTOCOL.md §11.4): decode and validate
 * (frame.h, bounded allocation); the connection's state (Hello first, exactly once); the
 * frame rate (token bucket); the request table (known body, authentication needed); then
 * the handler, which checks usernames, the store and signatures in that order.
 */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "handlers.h"
#include "log.h"
#include "metrics.h"
#include "server.h"

#define SERVER_NAME "parleyd/" PL_VERSION_STRING

typedef struct route_entry {
    pl_handler_fn handler;
    int needs_auth;
} route_entry;

/* Indexed by Request.body case, which is also the Response body's field number. */
static const route_entry routes[] = {
    [PARLEY__REQUEST__BODY_REGISTER_ACCOUNT] = {pl_handle_register_account, 0},
    [PARLEY__REQUEST__BODY_AUTH_CHALLENGE] = {pl_handle_auth_challenge, 0},
    [PARLEY__REQUEST__BODY_AUTH_PROOF] = {pl_handle_auth_proof, 0},
    [PARLEY__REQUEST__BODY_ADD_DEVICE] = {pl_handle_add_device, 0},
    [PARLEY__REQUEST__BODY_REMOVE_DEVICE] = {pl_handle_remove_device, 0},
    [PARLEY__REQUEST__BODY_LIST_DEVICES] = {pl_handle_list_devices, 1},
    [PARLEY__REQUEST__BODY_UPLOAD_SIGNED_PREKEY] = {pl_handle_upload_signed_prekey, 1},
    [PARLEY__REQUEST__BODY_UPLOAD_ONETIME_PREKEYS] = {pl_handle_upload_onetime_prekeys, 1},
    [PARLEY__REQUEST__BODY_FETCH_BUNDLES] = {pl_handle_fetch_bundles, 1},
    [PARLEY__REQUEST__BODY_SEND] = {pl_handle_send, 1},
    [PARLEY__REQUEST__BODY_ACK] = {pl_handle_ack, 1},
    [PARLEY__REQUEST__BODY_PING] = {pl_handle_ping, 0},
    [PARLEY__REQUEST__BODY_PREKEY_STATUS] = {pl_handle_prekey_status, 1},
    [PARLEY__REQUEST__BODY_LINK_PUT] = {pl_handle_link_put, 0},
    [PARLEY__REQUEST__BODY_LINK_GET] = {pl_handle_link_get, 0},
    [PARLEY__REQUEST__BODY_KT_CONFIG] = {pl_handle_kt_config, 0},
    [PARLEY__REQUEST__BODY_KT_CHECKPOINT] = {pl_handle_kt_checkpoint, 0},
    [PARLEY__REQUEST__BODY_KT_LOOKUP] = {pl_handle_kt_lookup, 0},
    [PARLEY__REQUEST__BODY_KT_AUDIT] = {pl_handle_kt_audit, 0},
    [PARLEY__REQUEST__BODY_KT_COSIGN] = {pl_handle_kt_cosign, 0},
    [PARLEY__REQUEST__BODY_KT_WATCH] = {pl_handle_kt_watch, 0},
    [PARLEY__REQUEST__BODY_GROUP_SEND] = {pl_handle_group_send, 1},
    [PARLEY__REQUEST__BODY_BLOB_CREATE] = {pl_handle_blob_create, 1},
    [PARLEY__REQUEST__BODY_BLOB_PUT] = {pl_handle_blob_put, 1},
    [PARLEY__REQUEST__BODY_BLOB_STATUS] = {pl_handle_blob_status, 1},
    [PARLEY__REQUEST__BODY_BLOB_COMPLETE] = {pl_handle_blob_complete, 1},
    [PARLEY__REQUEST__BODY_BLOB_GET] = {pl_handle_blob_get, 1},
    [PARLEY__REQUEST__BODY_BLOB_FETCHED] = {pl_handle_blob_fetched, 1},
};

/* ---- Requests through the store worker ----------------------------------------------------- */

pl_request *pl_request_new(size_t size, pl_conn *c, pl_reply *slot, Parley__ClientFrame *f,
                           size_t frame_bytes, void (*run)(pl_job *, pl_store *),
                           void (*done)(pl_job *))
{
    pl_request *rq = calloc(1, size);

    if (!rq) {
        pl_conn_reply_status(c, slot, f->request->id, PARLEY__STATUS_CODE__STATUS_INTERNAL,
                             "out of memory");
        pl_frame_client_free(f);
        return NULL;
    }
    rq->conn = c;
    rq->slot = slot;
    rq->frame = f;
    rq->id = f->request->id;
    rq->frame_bytes = frame_bytes;
    rq->job.run = run;
    rq->job.done = done;
    rq->status = PARLEY__STATUS_CODE__STATUS_OK;
    rq->message = "";
    return rq;
}

void pl_request_submit(pl_request *rq)
{
    pl_conn *c = rq->conn;

    pl_conn_ref(c);
    c->requests_in_flight++;
    c->request_bytes_in_flight += rq->frame_bytes;
    pl_store_worker_submit(c->srv->worker, &rq->job);
}

void pl_request_fail(pl_request *rq, Parley__StatusCode status, const char *message)
{
    rq->status = status;
    rq->message = message;
}

void pl_request_finish(pl_request *rq, Parley__Response *resp)
{
    pl_conn *c = rq->conn;

    if (rq->job.commit_failed)
        pl_request_fail(rq, PARLEY__STATUS_CODE__STATUS_INTERNAL, "the store failed; retry later");
    if (rq->status != PARLEY__STATUS_CODE__STATUS_OK || !resp)
        pl_conn_reply_status(c, rq->slot, rq->id, rq->status, rq->message);
    else
        pl_conn_reply_finish(c, rq->slot, resp);
    c->requests_in_flight--;
    c->request_bytes_in_flight -= rq->frame_bytes;
    pl_frame_client_free(rq->frame);
    free(rq);
    pl_conn_on_drain(c);
    pl_conn_unref(c);
}

void pl_refuse(pl_conn *c, pl_reply *slot, Parley__ClientFrame *f, Parley__StatusCode code,
               const char *message, uint32_t retry_after_ms)
{
    Parley__Response resp = PARLEY__RESPONSE__INIT;
    Parley__Status st = PARLEY__STATUS__INIT;

    st.code = code;
    st.message = (char *)message;
    st.retry_after_ms = retry_after_ms;
    resp.id = f->request->id;
    resp.status = &st;
    pl_conn_reply_finish(c, slot, &resp);
    pl_frame_client_free(f);
}

Parley__StatusCode pl_status_from_store(int store_error, Parley__StatusCode exists,
                                        Parley__StatusCode limit)
{
    switch (store_error) {
    case PL_STORE_OK:
        return PARLEY__STATUS_CODE__STATUS_OK;
    case PL_STORE_E_NOT_FOUND:
        return PARLEY__STATUS_CODE__STATUS_NOT_FOUND;
    case PL_STORE_E_EXISTS:
        return exists;
    case PL_STORE_E_LIMIT:
        return limit;
    case PL_STORE_E_QUOTA:
        return PARLEY__STATUS_CODE__STATUS_MAILBOX_FULL;
    default:
        return PARLEY__STATUS_CODE__STATUS_INTERNAL;
    }
}

void pl_response_ok(Parley__Response *resp, Parley__Status *status, uint64_t id, int body_case,
                    void *body)
{
    status->code = PARLEY__STATUS_CODE__STATUS_OK;
    resp->id = id;
    resp->status = status;
    resp->body_case = (Parley__Response__BodyCase)body_case;
    /* Every member of the body union is a pointer to a message; they share storage. */
    resp->register_account = body;
}

int pl_wire_username(const char *in, char out[PL_USERNAME_MAX + 1], const char **why)
{
    pl_username_reason reason = PL_USERNAME_OK;

    if (pl_username_normalize(in, strlen(in), out, &reason) != PL_OK) {
        *why = pl_username_reason_str(reason);
        return 0;
    }
    return 1;
}

/* ---- Simple requests ------------------------------------------------------------------------ */

void pl_handle_ping(pl_conn *c, pl_reply *slot, Parley__ClientFrame *f, size_t frame_bytes)
{
    Parley__Response resp = PARLEY__RESPONSE__INIT;
    Parley__Status st = PARLEY__STATUS__INIT;
    Parley__Empty empty = PARLEY__EMPTY__INIT;

    (void)frame_bytes;
    pl_response_ok(&resp, &st, f->request->id, PARLEY__RESPONSE__BODY_PING, &empty);
    pl_conn_reply_finish(c, slot, &resp);
    pl_frame_client_free(f);
}

/* ---- Frames --------------------------------------------------------------------------------- */

static void answer_hello(pl_conn *c, const Parley__Hello *h)
{
    const pl_config *cfg = &c->srv->cfg;
    Parley__ServerFrame f = PARLEY__SERVER_FRAME__INIT;
    Parley__HelloReply reply = PARLEY__HELLO_REPLY__INIT;
    Parley__Limits limits = PARLEY__LIMITS__INIT;
    uint8_t buf[512];
    size_t len;

    if (h->max_version < PL_WIRE_VERSION_MIN || h->min_version > PL_WIRE_VERSION_MAX) {
        pl_conn_goodbye(c, PARLEY__STATUS_CODE__STATUS_UNSUPPORTED_VERSION,
                        "this server speaks wire protocol version 1 only");
        return;
    }
    if (c->over_limit) {
        pl_conn_goodbye(c, PARLEY__STATUS_CODE__STATUS_SERVER_BUSY,
                        "the server has too many connections; retry later");
        return;
    }
    limits.max_frame_bytes = cfg->server.max_frame_bytes;
    limits.max_ciphertext_bytes = cfg->server.max_envelope_bytes;
    limits.max_devices_per_account = cfg->accounts.max_devices;
    limits.max_onetime_prekeys = cfg->prekeys.max_onetime_prekeys_per_device;
    limits.max_onetime_prekeys_per_upload = PL_WIRE_MAX_ONETIME_PREKEYS_PER_UPLOAD;
    limits.max_acks_per_request = PL_WIRE_MAX_ACKS;
    limits.max_frames_per_second = cfg->server.frames_per_second;
    limits.max_username_bytes = PL_USERNAME_MAX;
    limits.max_group_recipient_devices = cfg->limits.max_group_recipient_devices;
    reply.version = PL_WIRE_VERSION_MAX;
    reply.limits = &limits;
    reply.server = SERVER_NAME;
    f.kind_case = PARLEY__SERVER_FRAME__KIND_HELLO_REPLY;
    f.hello_reply = &reply;
    if (pl_frame_encode_server(&f, buf, sizeof buf, &len) != PL_FRAME_OK ||
        pl_tls_conn_write(c->tls, buf, len) != PL_TLS_OK) {
        pl_conn_close(c, "could not send HelloReply");
        return;
    }
    c->state = PL_CONN_OPEN;
    pl_log(PL_CONFIG_LOG_DEBUG, "hello", PL_LOG_U64("conn", c->id),
           PL_LOG_STR("client", h->client));
}

/* Takes one token from a bucket refilled at rate per second up to burst; returns 0 and
 * *retry_ms if it is empty. */
static int take_from(double *tokens, uint64_t *at_ns, double rate, double burst, uint32_t *retry_ms)
{
    uint64_t now = pl_clock_mono_ns();

    *tokens += (double)(now - *at_ns) * rate / 1e9;
    if (*tokens > burst)
        *tokens = burst;
    *at_ns = now;
    if (*tokens >= 1.0) {
        *tokens -= 1.0;
        return 1;
    }
    *retry_ms = (uint32_t)((1.0 - *tokens) * 1000.0 / rate) + 1;
    return 0;
}

/* Takes one token for request r from the connection's bucket for its kind: BlobPut and
 * BlobGet, which carry a chunk each, from the blob bucket ([blobs] frames_per_second), every
 * other request from the frame bucket ([server] frames_per_second). */
static int take_token(pl_conn *c, const Parley__Request *r, uint32_t *retry_ms)
{
    const pl_config *cfg = &c->srv->cfg;

    if (r->body_case == PARLEY__REQUEST__BODY_BLOB_PUT ||
        r->body_case == PARLEY__REQUEST__BODY_BLOB_GET)
        return take_from(&c->blob_tokens, &c->blob_tokens_at_ns, cfg->blobs.frames_per_second,
                         cfg->blobs.frames_burst, retry_ms);
    return take_from(&c->tokens, &c->tokens_at_ns, cfg->server.frames_per_second,
                     cfg->server.frames_burst, retry_ms);
}

static void refuse(pl_conn *c, uint64_t id, Parley__StatusCode code, const char *message,
                   uint32_t retry_after_ms)
{
    Parley__Response resp = PARLEY__RESPONSE__INIT;
    Parley__Status st = PARLEY__STATUS__INIT;
    pl_reply *slot = pl_conn_reply_reserve(c);

    if (!slot) {
        pl_conn_close(c, "out of memory");
        return;
    }
    st.code = code;
    st.message = (char *)message;
    st.retry_after_ms = retry_after_ms;
    resp.id = id;
    resp.status = &st;
    pl_conn_reply_finish(c, slot, &resp);
}

/* Runs one request through the table: known body, authentication, then its handler. */
static void route(pl_conn *c, Parley__ClientFrame *f, size_t len, pl_reply *slot)
{
    const route_entry *rt = NULL;

    if ((size_t)f->request->body_case < sizeof routes / sizeof routes[0])
        rt = &routes[f->request->body_case];
    if (!rt || !rt->handler) {
        pl_refuse(c, slot, f, PARLEY__STATUS_CODE__STATUS_UNKNOWN_REQUEST, "unknown request", 0);
        return;
    }
    if (rt->needs_auth && !c->authenticated) {
        pl_refuse(c, slot, f, PARLEY__STATUS_CODE__STATUS_NOT_AUTHENTICATED,
                  "this request needs an authenticated device", 0);
        return;
    }
    rt->handler(c, slot, f, len);
}

/* Keeps a request until the pending AuthProof is decided; it counts as in flight, so a
 * client cannot queue without bound. */
static void defer(pl_conn *c, Parley__ClientFrame *f, size_t len, pl_reply *slot)
{
    pl_deferred *d = calloc(1, sizeof *d);

    if (!d) {
        pl_refuse(c, slot, f, PARLEY__STATUS_CODE__STATUS_INTERNAL, "out of memory", 0);
        return;
    }
    d->frame = f;
    d->frame_bytes = len;
    d->slot = slot;
    if (c->deferred_tail)
        c->deferred_tail->next = d;
    else
        c->deferred_head = d;
    c->deferred_tail = d;
    c->requests_in_flight++;
    c->request_bytes_in_flight += len;
}

void pl_dispatch_frame(pl_conn *c, const uint8_t *p, size_t len)
{
    Parley__ClientFrame *f = NULL;
    pl_frame_diag diag;
    uint32_t retry_ms = 0;
    pl_reply *slot;
    int r;

    pl_metrics_inc(PL_M_FRAMES_RECEIVED);
    r = pl_frame_decode_client(p, len, &f, &diag);
    if (r != PL_FRAME_OK) {
        Parley__StatusCode st = pl_frame_status(r);

        pl_log(PL_CONFIG_LOG_INFO, "bad frame", PL_LOG_U64("conn", c->id),
               PL_LOG_STR("peer", c->peer), PL_LOG_STR("error", pl_frame_errname(r)),
               PL_LOG_STR("detail", diag.detail));
        if (c->state == PL_CONN_OPEN && diag.request_id &&
            (st == PARLEY__STATUS_CODE__STATUS_UNKNOWN_REQUEST ||
             st == PARLEY__STATUS_CODE__STATUS_BAD_REQUEST))
            refuse(c, diag.request_id, st, *diag.detail ? diag.detail : pl_frame_strerror(r), 0);
        else
            pl_conn_goodbye(c, st, *diag.detail ? diag.detail : pl_frame_strerror(r));
        return;
    }
    if (f->kind_case == PARLEY__CLIENT_FRAME__KIND_HELLO) {
        if (c->state == PL_CONN_HELLO)
            answer_hello(c, f->hello);
        else
            pl_conn_goodbye(c, PARLEY__STATUS_CODE__STATUS_PROTOCOL_VIOLATION, "Hello sent twice");
        pl_frame_client_free(f);
        return;
    }
    if (c->state != PL_CONN_OPEN) {
        pl_conn_goodbye(c, PARLEY__STATUS_CODE__STATUS_PROTOCOL_VIOLATION,
                        "the first frame must be Hello");
        pl_frame_client_free(f);
        return;
    }
    if (!take_token(c, f->request, &retry_ms)) {
        refuse(c, f->request->id, PARLEY__STATUS_CODE__STATUS_RATE_LIMITED,
               "too many frames per second", retry_ms);
        pl_frame_client_free(f);
        return;
    }
    if (!(slot = pl_conn_reply_reserve(c))) {
        pl_frame_client_free(f);
        pl_conn_close(c, "out of memory");
        return;
    }
    if (c->auth_pending || c->deferred_head) {
        defer(c, f, len, slot);
        return;
    }
    route(c, f, len, slot);
}

void pl_dispatch_deferred(pl_conn *c)
{
    pl_deferred *d;

    while (!c->auth_pending && (d = c->deferred_head)) {
        c->deferred_head = d->next;
        if (!c->deferred_head)
            c->deferred_tail = NULL;
        c->requests_in_flight--;
        c->request_bytes_in_flight -= d->frame_bytes;
        if (pl_conn_alive(c))
            route(c, d->frame, d->frame_bytes, d->slot);
        else
            pl_frame_client_free(d->frame); /* its slot goes with the connection */
        free(d);
    }
    pl_conn_on_drain(c);
}
