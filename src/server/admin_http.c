/*
 * admin_http.c: the admin listener of admin_http.h on libuv.
 *
 * A connection's life: accepted (its timer starts) -> reading: bytes go into its head
 * buffer and through pl_http_request_parse -> answering: reading stops, one uv_write of
 * the whole response, then a shutdown -> closing: both handles (tcp, timer) closed. The
 * timer closes it from any state. A connection is freed when both of its handles have
 * closed, and the listener object when it is closing, its listening handle has closed
 * and no connection is left; so after pl_admin_http_close, running the loop to its end
 * frees everything.
 *
 * libuv runs a request's callback (write, shutdown), with UV_ECANCELED if need be, before
 * the close callback of its handle, so the connection is still alive in those callbacks.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "admin_http.h"
#include "http_request.h"
#include "log.h"
#include "metrics.h"

typedef struct conn conn;

struct conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t write_req;
    uv_shutdown_t shutdown_req;
    pl_admin_http *h;
    conn *prev, *next;
    int open_handles; /* of tcp and timer, not yet closed */
    int closing;
    char *response;
    size_t len; /* bytes of head received so far */
    char head[PL_HTTP_HEAD_MAX];
};

struct pl_admin_http {
    uv_loop_t *loop;
    uv_tcp_t listener;
    int (*ready)(void *ctx);
    void *ctx;
    uint64_t timeout_ms;
    conn *conns; /* every connection not yet freed, closing ones too */
    size_t nconns;
    int listener_open;
    int closing;
    int port;
};

/* Frees h once it is closing and nothing of it is left open. */
static void maybe_free(pl_admin_http *h)
{
    if (h->closing && !h->listener_open && h->nconns == 0)
        free(h);
}

static void on_listener_closed(uv_handle_t *handle)
{
    pl_admin_http *h = handle->data;

    h->listener_open = 0;
    maybe_free(h);
}

static void on_conn_handle_closed(uv_handle_t *handle)
{
    conn *c = handle->data;
    pl_admin_http *h = c->h;

    if (--c->open_handles > 0)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        h->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    h->nconns--;
    free(c->response);
    free(c);
    maybe_free(h);
}

static void conn_close(conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    uv_close((uv_handle_t *)&c->tcp, on_conn_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_conn_handle_closed);
}

/* The peer's address as text, for the log. */
static void peer_name(conn *c, char *out, size_t cap)
{
    struct sockaddr_storage ss;
    int n = sizeof ss;

    snprintf(out, cap, "-");
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &n) == 0)
        uv_ip_name((const struct sockaddr *)&ss, out, cap);
}

/* Logs one refused request or connection at warn. */
static void log_bad(conn *c, const char *what, int status, const char *target, size_t target_len)
{
    char peer[64], t[129];

    if (!pl_log_enabled(PL_CONFIG_LOG_WARN))
        return;
    peer_name(c, peer, sizeof peer);
    if (target_len > sizeof t - 1)
        target_len = sizeof t - 1;
    if (target)
        memcpy(t, target, target_len);
    t[target ? target_len : 0] = '\0';
    pl_log(PL_CONFIG_LOG_WARN, what, PL_LOG_STR("peer", peer), PL_LOG_I64("status", status),
           PL_LOG_STR("target", target ? t : NULL));
}

static void on_timeout(uv_timer_t *timer)
{
    conn *c = timer->data;

    log_bad(c, "admin connection timed out", 0, NULL, 0);
    conn_close(c);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;
    conn_close(req->data);
}

static void on_write(uv_write_t *req, int status)
{
    conn *c = req->data;

    if (status < 0 || c->closing ||
        uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown) != 0)
        conn_close(c);
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 431:
        return "Request Header Fields Too Large";
    case 503:
        return "Service Unavailable";
    default:
        return "Internal Server Error";
    }
}

/* Renders the metrics into a new buffer; NULL if memory ran out. */
static char *render_metrics(size_t *len)
{
    size_t cap = pl_metrics_render(NULL, 0) + 1024;
    char *body = NULL;

    /* The text may grow between sizing and writing; a few tries always suffice. */
    for (int tries = 0; tries < 4; tries++) {
        char *b = realloc(body, cap);

        if (b == NULL)
            break;
        body = b;
        *len = pl_metrics_render(body, cap);
        if (*len < cap)
            return body;
        cap = *len + 1024;
    }
    free(body);
    return NULL;
}

/* Sends the whole response and stops reading; the write's callback closes. */
static void respond(conn *c, int status, const char *content_type, const char *body,
                    size_t body_len)
{
    char head[256];
    int n;
    uv_buf_t buf;

    uv_read_stop((uv_stream_t *)&c->tcp);
    n = snprintf(head, sizeof head,
                 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
                 "Connection: close\r\n\r\n",
                 status, reason_phrase(status), content_type, body_len,
                 status == 405 ? "Allow: GET\r\n" : "");
    if (n < 0 || (size_t)n >= sizeof head || !(c->response = malloc((size_t)n + body_len + 1))) {
        conn_close(c);
        return;
    }
    memcpy(c->response, head, (size_t)n);
    if (body_len > 0)
        memcpy(c->response + n, body, body_len);
    buf = uv_buf_init(c->response, (unsigned)((size_t)n + body_len));
    if (uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &buf, 1, on_write) != 0)
        conn_close(c);
}

static void respond_text(conn *c, int status, const char *text)
{
    respond(c, status, "text/plain; charset=utf-8", text, strlen(text));
}

static int path_is(const pl_http_request *req, const char *path)
{
    return req->path_len == strlen(path) && memcmp(req->target, path, req->path_len) == 0;
}

/* Answers a complete request head. */
static void route(conn *c, const pl_http_request *req)
{
    pl_admin_http *h = c->h;
    int known = path_is(req, "/healthz") || path_is(req, "/readyz") || path_is(req, "/metrics");
    char *body;
    size_t len;

    if (!known) {
        log_bad(c, "admin request for an unknown path", 404, req->target, req->target_len);
        respond_text(c, 404, "not found\n");
    } else if (req->method_len != 3 || memcmp(req->method, "GET", 3) != 0) {
        log_bad(c, "admin request with a method other than GET", 405, req->target, req->target_len);
        respond_text(c, 405, "method not allowed\n");
    } else if (path_is(req, "/healthz")) {
        respond_text(c, 200, "ok\n");
    } else if (path_is(req, "/readyz")) {
        if (h->ready != NULL && h->ready(h->ctx))
            respond_text(c, 200, "ready\n");
        else
            respond_text(c, 503, "not ready\n");
    } else if ((body = render_metrics(&len)) != NULL) {
        respond(c, 200, "text/plain; version=0.0.4", body, len);
        free(body);
    } else {
        respond_text(c, 500, "out of memory\n");
    }
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    conn *c = handle->data;

    (void)suggested;
    /* Never full while reading: a full buffer always parses to an answer. */
    *buf = uv_buf_init(c->head + c->len, (unsigned)(sizeof c->head - c->len));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    conn *c = stream->data;
    pl_http_request req;

    (void)buf;
    if (nread < 0) {
        conn_close(c); /* EOF before a whole head, or an error */
        return;
    }
    c->len += (size_t)nread;
    switch (pl_http_request_parse(c->head, c->len, &req)) {
    case PL_HTTP_NEED_MORE:
        return;
    case PL_HTTP_COMPLETE:
        route(c, &req);
        return;
    case PL_HTTP_TOO_LARGE:
        log_bad(c, "admin request head too large", 431, NULL, 0);
        respond_text(c, 431, "request head too large\n");
        return;
    default:
        log_bad(c, "admin request malformed", 400, NULL, 0);
        respond_text(c, 400, "bad request\n");
        return;
    }
}

static void on_refused_closed(uv_handle_t *handle)
{
    free(handle);
}

/* Accepts and closes at once a connection over the limit, so it leaves the backlog. */
static void refuse(pl_admin_http *h, uv_stream_t *server)
{
    uv_tcp_t *t = malloc(sizeof *t);

    if (t == NULL || uv_tcp_init(h->loop, t) != 0) {
        free(t);
        return;
    }
    uv_accept(server, (uv_stream_t *)t);
    uv_close((uv_handle_t *)t, on_refused_closed);
    pl_log(PL_CONFIG_LOG_WARN, "admin connection refused: too many open",
           PL_LOG_U64("open", h->nconns));
}

static void on_connection(uv_stream_t *server, int status)
{
    pl_admin_http *h = server->data;
    conn *c;

    if (status < 0) {
        pl_log(PL_CONFIG_LOG_WARN, "admin accept failed", PL_LOG_STR("error", uv_strerror(status)));
        return;
    }
    if (h->closing)
        return;
    if (h->nconns >= PL_ADMIN_HTTP_MAX_CONNECTIONS) {
        refuse(h, server);
        return;
    }
    if ((c = calloc(1, sizeof *c)) == NULL) {
        refuse(h, server);
        return;
    }
    c->h = h;
    uv_tcp_init(h->loop, &c->tcp); /* cannot fail for AF_UNSPEC */
    uv_timer_init(h->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->write_req.data = c;
    c->shutdown_req.data = c;
    c->open_handles = 2;
    c->next = h->conns;
    if (h->conns)
        h->conns->prev = c;
    h->conns = c;
    h->nconns++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 ||
        uv_timer_start(&c->timer, on_timeout, h->timeout_ms, 0) != 0 ||
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
        conn_close(c);
}

int pl_admin_http_start(pl_admin_http **out, uv_loop_t *loop, const struct sockaddr *addr,
                        int (*ready)(void *ctx), void *ctx, char *err, size_t err_len)
{
    pl_admin_http *h = NULL;
    struct sockaddr_storage ss;
    int n = sizeof ss;
    int r;

    *out = NULL;
    if (err_len > 0)
        err[0] = '\0';
    r = UV_EINVAL;
    if (loop == NULL || addr == NULL ||
        (addr->sa_family != AF_INET && addr->sa_family != AF_INET6)) {
        if (err_len > 0)
            snprintf(err, err_len, "admin listener: not an IPv4 or IPv6 address");
        goto out;
    }
    r = UV_ENOMEM;
    if ((h = calloc(1, sizeof *h)) == NULL) {
        if (err_len > 0)
            snprintf(err, err_len, "admin listener: out of memory");
        goto out;
    }
    h->loop = loop;
    h->ready = ready;
    h->ctx = ctx;
    h->timeout_ms = PL_ADMIN_HTTP_TIMEOUT_MS;
    if ((r = uv_tcp_init(loop, &h->listener)) != 0) {
        if (err_len > 0)
            snprintf(err, err_len, "admin listener: %s", uv_strerror(r));
        free(h);
        h = NULL;
        goto out;
    }
    h->listener.data = h;
    h->listener_open = 1;
    if ((r = uv_tcp_bind(&h->listener, addr, 0)) != 0 ||
        (r = uv_listen((uv_stream_t *)&h->listener, 64, on_connection)) != 0 ||
        (r = uv_tcp_getsockname(&h->listener, (struct sockaddr *)&ss, &n)) != 0) {
        if (err_len > 0)
            snprintf(err, err_len, "admin listener: cannot listen: %s", uv_strerror(r));
        pl_admin_http_close(h); /* the loop frees it */
        h = NULL;
        goto out;
    }
    h->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                       : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    *out = h; /* hand over */
    h = NULL;
    r = 0;
out:
    return r;
}

int pl_admin_http_port(const pl_admin_http *h)
{
    return h->port;
}

void pl_admin_http_set_timeout_ms(pl_admin_http *h, uint64_t ms)
{
    h->timeout_ms = ms ? ms : PL_ADMIN_HTTP_TIMEOUT_MS;
}

size_t pl_admin_http_connections(const pl_admin_http *h)
{
    return h->nconns;
}

void pl_admin_http_close(pl_admin_http *h)
{
    conn *c;

    if (h == NULL || h->closing)
        return;
    h->closing = 1;
    for (c = h->conns; c != NULL; c = c->next)
        conn_close(c);
    uv_close((uv_handle_t *)&h->listener, on_listener_closed);
}
