/*
 * loadgen_conn.c: a load-generator connection: libuv TCP <-> TLS engine <-> frames.
 *
 * Output path: lg_conn_send() encrypts into the engine's output queue and puts the
 * connection on net->dirty; flush() first tries a synchronous uv_try_write() of the queue
 * and only copies what the socket would not take into an owned buffer for one uv_write()
 * (the engine's pending pointer is borrowed until the next call on it, so it cannot be
 * handed to an asynchronous write). At most one uv_write is in flight per connection; its
 * completion flushes again.
 *
 * Input path: read -> pl_tls_conn_feed -> pl_tls_conn_read until AGAIN -> frame reader ->
 * pl_frame_decode_server (which validates) -> on_frame. A frame that does not decode or
 * validate is a failure: the load generator talks to a server it trusts to be correct.
 */
#include <stdlib.h>
#include <string.h>

#include "loadgen_conn.h"

#define OUTPUT_BOUND (8u * 1024u * 1024u)

static void conn_fail(lg_conn *c, const char *why)
{
    if (c->closed)
        return;
    lg_conn_close(c);
    if (c->net->cbs->on_fail)
        c->net->cbs->on_fail(c, why);
}

static void mark_dirty(lg_conn *c)
{
    if (c->in_dirty || c->closed)
        return;
    c->in_dirty = 1;
    c->next_dirty = c->net->dirty;
    c->net->dirty = c;
}

static void on_write(uv_write_t *req, int status);

static void flush(lg_conn *c)
{
    const uint8_t *p;
    size_t len;
    uv_buf_t b;
    int n;

    while (!c->closed && !c->writing) {
        pl_tls_conn_pending_output(c->tls, &p, &len);
        if (len == 0)
            return;
        b = uv_buf_init((char *)(uintptr_t)p, (unsigned int)len);
        n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
        if (n > 0) {
            c->net->bytes_out += (uint64_t)n;
            pl_tls_conn_consume_output(c->tls, (size_t)n);
            continue;
        }
        if (n != UV_EAGAIN) {
            conn_fail(c, "write to the server failed");
            return;
        }
        if (!(c->wbuf = malloc(len))) {
            conn_fail(c, "out of memory");
            return;
        }
        memcpy(c->wbuf, p, len);
        pl_tls_conn_consume_output(c->tls, len);
        b = uv_buf_init((char *)c->wbuf, (unsigned int)len);
        if (uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &b, 1, on_write) != 0) {
            free(c->wbuf);
            c->wbuf = NULL;
            conn_fail(c, "write to the server failed");
            return;
        }
        c->net->bytes_out += len;
        c->writing = 1;
    }
}

static void on_write(uv_write_t *req, int status)
{
    lg_conn *c = req->data;

    free(c->wbuf);
    c->wbuf = NULL;
    c->writing = 0;
    if (c->closed)
        return;
    if (status != 0) {
        conn_fail(c, "write to the server failed");
        return;
    }
    flush(c);
}

static void flush_dirty(lg_net *net)
{
    lg_conn *c;

    if (net->before_flush)
        net->before_flush(net);
    while ((c = net->dirty) != NULL) {
        net->dirty = c->next_dirty;
        c->next_dirty = NULL;
        c->in_dirty = 0;
        flush(c);
    }
}

static void on_check(uv_check_t *h)
{
    flush_dirty(h->data);
}

static void on_prepare(uv_prepare_t *h)
{
    flush_dirty(h->data);
}

int lg_net_init(lg_net *net, uv_loop_t *loop, pl_tls_ctx *tls_ctx, const struct sockaddr_in *addr,
                const lg_conn_cbs *cbs)
{
    int r;

    net->loop = loop;
    net->tls_ctx = tls_ctx;
    net->addr = *addr;
    net->cbs = cbs;
    net->dirty = NULL;
    if ((r = uv_check_init(loop, &net->check)) != 0 ||
        (r = uv_prepare_init(loop, &net->prepare)) != 0)
        return r;
    net->check.data = net;
    net->prepare.data = net;
    if ((r = uv_check_start(&net->check, on_check)) != 0 ||
        (r = uv_prepare_start(&net->prepare, on_prepare)) != 0)
        return r;
    return 0;
}

void lg_net_close(lg_net *net)
{
    if (!uv_is_closing((uv_handle_t *)&net->check))
        uv_close((uv_handle_t *)&net->check, NULL);
    if (!uv_is_closing((uv_handle_t *)&net->prepare))
        uv_close((uv_handle_t *)&net->prepare, NULL);
}

/* Hands every complete frame in the plaintext p[0..len) to on_frame. Returns 0 or -1
 * (failed and closed). */
static int deliver_plaintext(lg_conn *c, const uint8_t *p, size_t len)
{
    size_t off = 0, used, flen;
    const uint8_t *frame;
    Parley__ServerFrame *f;
    pl_frame_diag diag;

    while (off < len && !c->closed) {
        if (pl_frame_reader_feed(c->reader, p + off, len - off, &used, &frame, &flen) !=
            PL_FRAME_OK) {
            conn_fail(c, "the server sent a bad frame length");
            return -1;
        }
        off += used;
        if (!frame)
            continue;
        if (pl_frame_decode_server(frame, flen, &f, &diag) != PL_FRAME_OK) {
            conn_fail(c, diag.detail[0] ? diag.detail : "the server sent an invalid frame");
            return -1;
        }
        c->net->cbs->on_frame(c, f);
        pl_frame_server_free(f);
    }
    return c->closed ? -1 : 0;
}

/* Reads all plaintext the engine has. Returns 0 or -1 (failed and closed). */
static int drain(lg_conn *c)
{
    size_t n;
    int r;

    if (!c->ready && pl_tls_conn_handshake_done(c->tls)) {
        c->ready = 1;
        if (c->net->cbs->on_ready)
            c->net->cbs->on_ready(c);
        if (c->closed)
            return -1;
    }
    for (;;) {
        r = pl_tls_conn_read(c->tls, c->net->pbuf, sizeof c->net->pbuf, &n);
        if (r == PL_TLS_E_AGAIN)
            return 0;
        if (r != PL_TLS_OK) {
            conn_fail(c, r == PL_TLS_E_CLOSED ? "the server closed TLS" : "TLS failed");
            return -1;
        }
        if (deliver_plaintext(c, c->net->pbuf, n) != 0)
            return -1;
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    lg_conn *c = h->data;

    (void)suggested;
    *buf = uv_buf_init((char *)c->net->rbuf, sizeof c->net->rbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    lg_conn *c = s->data;
    size_t off = 0, chunk;
    int r;

    if (c->closed || nread == 0)
        return;
    if (nread < 0) {
        conn_fail(c, nread == UV_EOF ? "the server closed the connection" : "read failed");
        return;
    }
    c->net->bytes_in += (uint64_t)nread;
    while (off < (size_t)nread) {
        chunk = (size_t)nread - off;
        r = pl_tls_conn_feed(c->tls, (const uint8_t *)buf->base + off, chunk);
        if (r == PL_TLS_E_INPUT_FULL) {
            /* Cannot happen while every feed is drained at once; fail rather than spin. */
            conn_fail(c, "TLS input full");
            return;
        }
        if (r != PL_TLS_OK) {
            conn_fail(c, r == PL_TLS_E_CLOSED ? "the server closed TLS" : "TLS failed");
            return;
        }
        off += chunk;
        if (drain(c) != 0)
            return;
    }
    mark_dirty(c);
}

static void on_connect(uv_connect_t *req, int status)
{
    lg_conn *c = req->data;

    if (c->closed)
        return;
    if (status != 0) {
        conn_fail(c, "connect failed");
        return;
    }
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
        conn_fail(c, "read start failed");
        return;
    }
    mark_dirty(c); /* the ClientHello */
}

int lg_conn_start(lg_conn *c, lg_net *net, void *user)
{
    int r;

    c->net = net;
    c->user = user;
    c->next_id = 1;
    if (pl_tls_conn_new_client(&c->tls, net->tls_ctx, NULL) != PL_TLS_OK)
        return -1;
    pl_tls_conn_set_output_bound(c->tls, OUTPUT_BOUND);
    if (pl_frame_reader_new(&c->reader, PL_FRAME_MAX_BYTES) != PL_FRAME_OK)
        return -1;
    if ((r = uv_tcp_init(net->loop, &c->tcp)) != 0)
        return r;
    c->started = 1;
    c->tcp.data = c;
    c->connect_req.data = c;
    c->write_req.data = c;
    uv_tcp_nodelay(&c->tcp, 1);
    if ((r = uv_tcp_connect(&c->connect_req, &c->tcp, (const struct sockaddr *)&net->addr,
                            on_connect)) != 0)
        return r;
    return 0;
}

int lg_conn_send(lg_conn *c, const Parley__ClientFrame *f)
{
    size_t size = pl_frame_client_size(f), len;
    uint8_t *buf = c->net->fbuf;
    int r;

    if (c->closed)
        return -1;
    if (size > sizeof c->net->fbuf && !(buf = malloc(size))) {
        conn_fail(c, "out of memory");
        return -1;
    }
    r = pl_frame_encode_client(f, buf, size, &len);
    if (r == PL_FRAME_OK)
        r = pl_tls_conn_write(c->tls, buf, len);
    if (buf != c->net->fbuf)
        free(buf);
    if (r != 0) {
        conn_fail(c, "could not encode or encrypt a frame");
        return -1;
    }
    mark_dirty(c);
    return 0;
}

int lg_conn_request(lg_conn *c, Parley__Request *req)
{
    Parley__ClientFrame f = PARLEY__CLIENT_FRAME__INIT;

    req->id = c->next_id++;
    f.kind_case = PARLEY__CLIENT_FRAME__KIND_REQUEST;
    f.request = req;
    return lg_conn_send(c, &f);
}

void lg_conn_close(lg_conn *c)
{
    if (c->closed)
        return;
    c->closed = 1;
    if (c->started && !uv_is_closing((uv_handle_t *)&c->tcp))
        uv_close((uv_handle_t *)&c->tcp, NULL);
    pl_tls_conn_free(c->tls);
    c->tls = NULL;
    pl_frame_reader_free(c->reader);
    c->reader = NULL;
}
