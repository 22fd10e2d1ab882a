/*
 * conn.c: a client connection's I/O: accept, TLS, frames in, replies and pushes out,
 * backpressure, timeouts and closing (conn.h). What a frame means is dispatch.c's business.
 */
#include "conn.h"

#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <sodium.h>
#include <stdio.h>

#include "clock.h"
#include "handlers.h"
#include "log.h"
#include "metrics.h"
#include "server.h"

/* Shared by every connection: libuv reads into it and the data is consumed (fed to TLS)
 * before the next read callback, all on the one loop thread. */
static uint8_t read_buf[64 * 1024];
/* Decrypted bytes, likewise consumed at once by the frame reader. */
static uint8_t plain_buf[16 * 1024];

static void flush_output(pl_conn *c);
static int commit_staged(pl_conn *c);
static void hard_close(pl_conn *c, const char *reason);

int pl_conn_alive(const pl_conn *c)
{
    return c->state == PL_CONN_HELLO || c->state == PL_CONN_OPEN;
}

size_t pl_conn_output_queued(const pl_conn *c)
{
    const uint8_t *p;
    size_t len = 0;

    if (c->tls)
        pl_tls_conn_pending_output(c->tls, &p, &len);
    return len + c->write_len + c->staged_len;
}

int pl_conn_has_room(const pl_conn *c)
{
    return pl_conn_output_queued(c) < PL_TLS_DEFAULT_OUTPUT_BOUND / 2;
}

/* ---- Lifetime ------------------------------------------------------------------------------ */

void pl_conn_ref(pl_conn *c)
{
    c->refs++;
}

static void conn_free(pl_conn *c)
{
    pl_reply *r, *next;
    pl_deferred *d, *dnext;

    for (d = c->deferred_head; d; d = dnext) {
        dnext = d->next;
        pl_frame_client_free(d->frame);
        free(d);
    }
    for (r = c->reply_head; r; r = next) {
        next = r->next;
        free(r->frame);
        free(r);
    }
    pl_tls_conn_free(c->tls);
    pl_frame_reader_free(c->reader);
    free(c->write_buf);
    free(c->staged);
    sodium_memzero(c->challenge, sizeof c->challenge);
    free(c);
}

void pl_conn_unref(pl_conn *c)
{
    if (--c->refs == 0)
        conn_free(c);
}

static void on_closed(uv_handle_t *h)
{
    pl_conn *c = h->data;

    pl_server_conn_closed(c->srv, c);
    pl_conn_unref(c);
}

/* Closes the socket now; queued output is dropped. */
static void hard_close(pl_conn *c, const char *reason)
{
    if (c->state == PL_CONN_CLOSED)
        return;
    if (reason)
        pl_log(PL_CONFIG_LOG_INFO, "connection closed", PL_LOG_U64("conn", c->id),
               PL_LOG_STR("peer", c->peer), PL_LOG_STR("reason", reason));
    c->state = PL_CONN_CLOSED;
    if (c->authenticated) {
        pl_registry_remove(&c->srv->registry, c);
        pl_metrics_gauge_add(PL_G_CONNECTIONS_AUTHENTICATED, -1);
    }
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = 0;
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

void pl_conn_close(pl_conn *c, const char *reason)
{
    if (!pl_conn_alive(c))
        return;
    if (reason)
        pl_log(PL_CONFIG_LOG_INFO, "closing connection", PL_LOG_U64("conn", c->id),
               PL_LOG_STR("peer", c->peer), PL_LOG_STR("reason", reason));
    if (commit_staged(c) != 0)
        return;
    c->state = PL_CONN_CLOSING;
    c->closing_since_ns = pl_clock_mono_ns();
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = 0;
    if (pl_tls_conn_handshake_done(c->tls))
        (void)pl_tls_conn_close(c->tls);
    flush_output(c);
}

/* ---- Output ------------------------------------------------------------------------------- */

/*
 * Frames are not encrypted one by one as they are produced: they are staged as plaintext and
 * encrypted and written together once per loop iteration (pl_conn_flush_all, from the
 * server's check handle), so the responses and pushes a batch of store completions makes
 * for one client cost one run of TLS records and one write, not one each.
 */

/* Queues c for the end of this loop iteration. */
static void schedule_flush(pl_conn *c)
{
    pl_server *srv = c->srv;

    if (c->flush_queued)
        return;
    c->flush_queued = 1;
    pl_conn_ref(c);
    if (!srv->flush_head)
        uv_idle_start(&srv->flush_idle, pl_server_noop_idle); /* poll must not block now */
    c->flush_next = srv->flush_head;
    srv->flush_head = c;
}

/* Encrypts the staged plaintext into TLS's output. Returns 0, or -1 after closing c. */
static int commit_staged(pl_conn *c)
{
    int t;

    if (!c->staged_len || c->state == PL_CONN_CLOSED)
        return 0;
    t = pl_tls_conn_write(c->tls, c->staged, c->staged_len);
    free(c->staged);
    c->staged = NULL;
    c->staged_len = c->staged_cap = 0;
    if (t == PL_TLS_E_OUTPUT_FULL) {
        pl_metrics_refusal(PARLEY__STATUS_CODE__STATUS_SLOW_READER);
        hard_close(c, "slow reader: output queue full");
        return -1;
    }
    if (t != PL_TLS_OK) {
        hard_close(c, pl_tls_strerror(t));
        return -1;
    }
    return 0;
}

/* Appends one encoded frame to the staged plaintext. Returns 0, or -1 after closing c (the
 * client's queued output would pass its bound: it stopped reading; or no memory). */
static int stage(pl_conn *c, const uint8_t *frame, size_t len)
{
    /* Below the TLS bound by a margin for the records' overhead (22 bytes per 16 KiB). */
    if (pl_conn_output_queued(c) + len > PL_TLS_DEFAULT_OUTPUT_BOUND - 16 * 1024) {
        pl_metrics_refusal(PARLEY__STATUS_CODE__STATUS_SLOW_READER);
        hard_close(c, "slow reader: output queue full");
        return -1;
    }
    if (c->staged_len + len > c->staged_cap) {
        size_t cap = c->staged_cap ? c->staged_cap : 4096;
        uint8_t *p;

        while (cap < c->staged_len + len)
            cap *= 2;
        if (!(p = realloc(c->staged, cap))) {
            hard_close(c, "out of memory");
            return -1;
        }
        c->staged = p;
        c->staged_cap = cap;
    }
    memcpy(c->staged + c->staged_len, frame, len);
    c->staged_len += len;
    pl_metrics_inc(PL_M_FRAMES_SENT);
    schedule_flush(c);
    return 0;
}

void pl_conn_flush_all(pl_server *srv)
{
    pl_conn *c = srv->flush_head, *next;

    srv->flush_head = NULL;
    uv_idle_stop(&srv->flush_idle);
    for (; c; c = next) {
        next = c->flush_next;
        c->flush_next = NULL;
        c->flush_queued = 0;
        flush_output(c);
        /* The output may have gone out at once (no write callback follows): reading and a
         * held-back mailbox fetch may resume now. */
        pl_conn_on_drain(c);
        pl_conn_unref(c);
    }
}

static void on_write_done(uv_write_t *req, int status)
{
    pl_conn *c = req->data;

    free(c->write_buf);
    c->write_buf = NULL;
    c->write_len = 0;
    c->output_stuck_since_ns = 0;
    if (c->state == PL_CONN_CLOSED)
        return;
    if (status < 0) {
        hard_close(c, uv_strerror(status));
        return;
    }
    flush_output(c);
    pl_conn_on_drain(c);
}

/* Writes TLS's pending output: as much as the socket takes now, the rest through one
 * uv_write from a copy. When a closing connection has nothing left to send, closes it. */
static void flush_output(pl_conn *c)
{
    const uint8_t *p;
    size_t len;
    uv_buf_t b;
    int n;

    if (c->state == PL_CONN_CLOSED || commit_staged(c) != 0 || c->write_buf)
        return;
    pl_tls_conn_pending_output(c->tls, &p, &len);
    if (len) {
        b = uv_buf_init((char *)p, (unsigned)len);
        n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
        if (n < 0 && n != UV_EAGAIN) {
            hard_close(c, uv_strerror(n));
            return;
        }
        if (n > 0) {
            pl_tls_conn_consume_output(c->tls, (size_t)n);
            pl_tls_conn_pending_output(c->tls, &p, &len);
        }
    }
    if (len) {
        if (!(c->write_buf = malloc(len))) {
            hard_close(c, "out of memory");
            return;
        }
        memcpy(c->write_buf, p, len);
        c->write_len = len;
        pl_tls_conn_consume_output(c->tls, len);
        b = uv_buf_init((char *)c->write_buf, (unsigned)len);
        c->write_req.data = c;
        if ((n = uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &b, 1, on_write_done)) != 0) {
            free(c->write_buf);
            c->write_buf = NULL;
            c->write_len = 0;
            hard_close(c, uv_strerror(n));
            return;
        }
        if (!c->output_stuck_since_ns)
            c->output_stuck_since_ns = pl_clock_mono_ns();
        return;
    }
    if (c->state == PL_CONN_CLOSING)
        hard_close(c, NULL);
}

/* Encodes f and queues it on the TLS stream. Returns 0, or -1 after closing the connection
 * (output full: the client stopped reading; or no memory). */
static int send_frame(pl_conn *c, const Parley__ServerFrame *f)
{
    uint8_t stack[2048], *buf = stack;
    size_t size = pl_frame_server_size(f), len = 0;
    int r = -1;

    if (size > sizeof stack && !(buf = malloc(size))) {
        hard_close(c, "out of memory");
        return -1;
    }
    if (pl_frame_encode_server(f, buf, size, &len) != PL_FRAME_OK) {
        hard_close(c, "frame encoding failed");
        goto out;
    }
    r = stage(c, buf, len);
out:
    if (buf != stack)
        free(buf);
    return r;
}

/* ---- Replies ------------------------------------------------------------------------------ */

pl_reply *pl_conn_reply_reserve(pl_conn *c)
{
    pl_reply *r = calloc(1, sizeof *r);

    if (!r)
        return NULL;
    if (c->reply_tail)
        c->reply_tail->next = r;
    else
        c->reply_head = r;
    c->reply_tail = r;
    return r;
}

/* Sends the ready prefix of the reply FIFO. */
static void flush_replies(pl_conn *c)
{
    pl_reply *r;

    while ((r = c->reply_head) && r->ready) {
        c->reply_head = r->next;
        if (!c->reply_head)
            c->reply_tail = NULL;
        if (pl_conn_alive(c))
            (void)stage(c, r->frame, r->len);
        free(r->frame);
        free(r);
    }
}

void pl_conn_reply_finish(pl_conn *c, pl_reply *slot, Parley__Response *resp)
{
    Parley__ServerFrame f = PARLEY__SERVER_FRAME__INIT;
    size_t size;

    f.kind_case = PARLEY__SERVER_FRAME__KIND_RESPONSE;
    f.response = resp;
    size = pl_frame_server_size(&f);
    slot->ready = 1;
    if (pl_conn_alive(c) && (slot->frame = malloc(size)) &&
        pl_frame_encode_server(&f, slot->frame, size, &slot->len) != PL_FRAME_OK) {
        free(slot->frame);
        slot->frame = NULL;
    }
    if (pl_conn_alive(c) && !slot->frame) {
        hard_close(c, "could not encode a response");
        slot->len = 0;
    }
    if (resp->status && resp->status->code != PARLEY__STATUS_CODE__STATUS_OK)
        pl_metrics_refusal((int)resp->status->code);
    flush_replies(c);
}

void pl_conn_reply_status(pl_conn *c, pl_reply *slot, uint64_t id, Parley__StatusCode code,
                          const char *message)
{
    Parley__Response resp = PARLEY__RESPONSE__INIT;
    Parley__Status st = PARLEY__STATUS__INIT;

    st.code = code;
    st.message = (char *)(message ? message : "");
    resp.id = id;
    resp.status = &st;
    pl_conn_reply_finish(c, slot, &resp);
}

int pl_conn_push(pl_conn *c, Parley__Push *push)
{
    Parley__ServerFrame f = PARLEY__SERVER_FRAME__INIT;

    if (!pl_conn_alive(c))
        return -1;
    f.kind_case = PARLEY__SERVER_FRAME__KIND_PUSH;
    f.push = push;
    return send_frame(c, &f);
}

void pl_conn_goodbye(pl_conn *c, Parley__StatusCode code, const char *message)
{
    Parley__ServerFrame f = PARLEY__SERVER_FRAME__INIT;
    Parley__Goodbye g = PARLEY__GOODBYE__INIT;
    Parley__Status st = PARLEY__STATUS__INIT;
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&parley__status_code__descriptor, (int)code);

    if (!pl_conn_alive(c))
        return;
    pl_metrics_refusal((int)code);
    pl_log(PL_CONFIG_LOG_INFO, "goodbye", PL_LOG_U64("conn", c->id), PL_LOG_STR("peer", c->peer),
           PL_LOG_STR("status", v ? v->name : "?"), PL_LOG_STR("reason", message));
    if (pl_tls_conn_handshake_done(c->tls)) {
        st.code = code;
        st.message = (char *)(message ? message : "");
        if (code == PARLEY__STATUS_CODE__STATUS_SERVER_BUSY)
            st.retry_after_ms = 1000;
        g.status = &st;
        f.kind_case = PARLEY__SERVER_FRAME__KIND_GOODBYE;
        f.goodbye = &g;
        if (send_frame(c, &f) != 0)
            return;
    }
    pl_conn_close(c, NULL);
}

/* ---- Input -------------------------------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    *buf = uv_buf_init((char *)read_buf, sizeof read_buf);
}

/* Whether the connection should read now: alive, not draining, and neither its requests in
 * flight nor its queued output above their bounds. */
static int wants_input(const pl_conn *c)
{
    return pl_conn_alive(c) && !c->srv->draining &&
           c->requests_in_flight < PL_SERVER_MAX_REQUESTS_IN_FLIGHT &&
           c->request_bytes_in_flight < PL_SERVER_MAX_REQUEST_BYTES_IN_FLIGHT &&
           pl_conn_has_room(c);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void update_reading(pl_conn *c)
{
    int want = wants_input(c);

    if (want && !c->reading) {
        if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
            c->reading = 1;
    } else if (!want && c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = 0;
    }
}

void pl_conn_stop_reading(pl_conn *c)
{
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = 0;
    }
}

/* Cuts the decrypted bytes into frames and dispatches each, while the connection lives. */
static void take_plaintext(pl_conn *c, const uint8_t *p, size_t n)
{
    size_t off = 0, used, flen;
    const uint8_t *frame;
    int r;

    while (off < n && pl_conn_alive(c)) {
        r = pl_frame_reader_feed(c->reader, p + off, n - off, &used, &frame, &flen);
        off += used;
        if (r != PL_FRAME_OK) {
            pl_conn_goodbye(c, pl_frame_status(r), pl_frame_strerror(r));
            return;
        }
        if (frame)
            pl_dispatch_frame(c, frame, flen);
    }
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    pl_conn *c = s->data;
    size_t n;
    int r;

    if (nread == 0 || !pl_conn_alive(c))
        return;
    if (nread < 0) {
        if (nread == UV_EOF && pl_frame_reader_finish(c->reader) == PL_FRAME_E_TRUNCATED)
            hard_close(c, "the stream ended inside a frame");
        else
            hard_close(c, nread == UV_EOF ? "peer closed" : uv_strerror((int)nread));
        return;
    }
    c->last_input_ns = pl_clock_mono_ns();
    r = pl_tls_conn_feed(c->tls, (const uint8_t *)buf->base, (size_t)nread);
    if (r == PL_TLS_OK) {
        for (;;) {
            r = pl_tls_conn_read(c->tls, plain_buf, sizeof plain_buf, &n);
            if (r != PL_TLS_OK)
                break;
            take_plaintext(c, plain_buf, n);
            if (!pl_conn_alive(c))
                return;
        }
        if (r == PL_TLS_E_AGAIN)
            r = PL_TLS_OK;
    }
    if (r == PL_TLS_E_CLOSED) {
        pl_conn_close(c, "peer sent close_notify");
        return;
    }
    if (r != PL_TLS_OK) {
        pl_log(PL_CONFIG_LOG_INFO, "tls error", PL_LOG_U64("conn", c->id),
               PL_LOG_STR("peer", c->peer), PL_LOG_STR("error", pl_tls_strerror(r)),
               PL_LOG_STR("detail", pl_tls_conn_error_detail(c->tls)));
        /* Send the alert if there is one, then close. */
        c->state = PL_CONN_CLOSING;
        c->closing_since_ns = pl_clock_mono_ns();
        pl_conn_stop_reading(c);
        flush_output(c);
        return;
    }
    flush_output(c);
    update_reading(c);
}

void pl_conn_on_drain(pl_conn *c)
{
    if (!pl_conn_alive(c))
        return;
    update_reading(c);
    if (c->backlog_pending && !c->backlog_running && pl_conn_has_room(c))
        pl_mailbox_resume(c);
}

/* ---- Accept and sweep ------------------------------------------------------------------- */

static void describe_peer(pl_conn *c)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;

    memset(c->peer_ip, 0, sizeof c->peer_ip);
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET) {
            const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;

            uv_ip4_name(a, host, sizeof host);
            port = ntohs(a->sin_port);
            c->peer_ip[10] = c->peer_ip[11] = 0xff;
            memcpy(c->peer_ip + 12, &a->sin_addr, 4);
        } else if (ss.ss_family == AF_INET6) {
            const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;

            uv_ip6_name(a, host, sizeof host);
            port = ntohs(a->sin6_port);
            memcpy(c->peer_ip, &a->sin6_addr, 16);
        }
    }
    snprintf(c->peer, sizeof c->peer, ss.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", host, port);
}

int pl_conn_accept(pl_server *srv, uv_stream_t *listener, int over_limit)
{
    pl_conn *c = calloc(1, sizeof *c);
    int r;

    if (!c)
        return UV_ENOMEM;
    c->srv = srv;
    c->refs = 1;
    if ((r = uv_tcp_init(srv->loop, &c->tcp)) != 0) {
        free(c);
        return r;
    }
    c->tcp.data = c;
    c->id = ++srv->next_conn_id;
    c->over_limit = over_limit;
    c->state = PL_CONN_HELLO;
    c->last_input_ns = c->tokens_at_ns = c->blob_tokens_at_ns = pl_clock_mono_ns();
    c->tokens = srv->cfg.server.frames_burst;
    c->blob_tokens = srv->cfg.blobs.frames_burst;
    /* The connection is in the server's list from here on, so on_closed can unlink it. */
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->n_conns++;
    if (over_limit)
        srv->n_over_limit++;
    pl_metrics_gauge_add(PL_G_CONNECTIONS_OPEN, 1);
    if ((r = uv_accept(listener, (uv_stream_t *)&c->tcp)) != 0) {
        hard_close(c, NULL);
        return r;
    }
    describe_peer(c);
    uv_tcp_nodelay(&c->tcp, 1);
    if (pl_tls_conn_new(&c->tls, srv->tls) != PL_TLS_OK ||
        pl_frame_reader_new(&c->reader, srv->cfg.server.max_frame_bytes) != PL_FRAME_OK) {
        hard_close(c, "could not set up TLS");
        return UV_ENOMEM;
    }
    pl_metrics_inc(PL_M_CONNECTIONS_ACCEPTED);
    pl_log(PL_CONFIG_LOG_DEBUG, "connection accepted", PL_LOG_U64("conn", c->id),
           PL_LOG_STR("peer", c->peer));
    update_reading(c);
    return 0;
}

void pl_conn_sweep(pl_conn *c, uint64_t now_ns)
{
    const pl_config *cfg = &c->srv->cfg;
    uint64_t idle_ns = cfg->server.idle_timeout_ms * 1000000u;
    uint64_t write_ns = cfg->server.write_timeout_ms * 1000000u;

    switch (c->state) {
    case PL_CONN_HELLO:
        if (now_ns - c->last_input_ns > PL_SERVER_HELLO_TIMEOUT_MS * 1000000ull) {
            if (pl_tls_conn_handshake_done(c->tls))
                pl_conn_goodbye(c, PARLEY__STATUS_CODE__STATUS_TIMEOUT, "no Hello in time");
            else
                hard_close(c, "no TLS handshake in time");
        }
        break;
    case PL_CONN_OPEN:
        if (c->output_stuck_since_ns && now_ns - c->output_stuck_since_ns > write_ns) {
            pl_metrics_refusal(PARLEY__STATUS_CODE__STATUS_SLOW_READER);
            hard_close(c, "slow reader: output not taken in time");
        } else if (now_ns - c->last_input_ns > idle_ns && c->requests_in_flight == 0) {
            pl_conn_goodbye(c, PARLEY__STATUS_CODE__STATUS_TIMEOUT, "idle for too long");
        }
        break;
    case PL_CONN_CLOSING:
        if (now_ns - c->closing_since_ns > PL_SERVER_CLOSE_TIMEOUT_MS * 1000000ull)
            hard_close(c, "close timed out");
        break;
    case PL_CONN_CLOSED:
        break;
    }
}
