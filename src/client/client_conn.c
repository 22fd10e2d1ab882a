/*
 * client_conn.c: the client's blocking connection to parleyd (client_conn.h).
 *
 * Byte flow: socket -> pl_tls_conn_feed -> pl_tls_conn_read -> pt[] -> pl_frame_reader ->
 * pl_frame_decode_server; and frame -> pl_frame_encode_client -> pl_tls_conn_write (16 KiB
 * pieces) -> pending output -> socket. Every wait is bounded by a deadline.
 */
#define _DEFAULT_SOURCE
#include "client_conn.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "frame.h"
#include "tls_ctx.h"

#define PT_BYTES (16u * 1024u)
#define WRITE_PIECE (16u * 1024u)
#define MAX_QUEUE 100000u

struct pl_cconn {
    int fd;
    pl_tls_ctx *ctx;
    pl_tls_conn *tls;
    pl_frame_reader *rd;
    uint8_t pt[PT_BYTES];
    size_t pt_off, pt_len;
    Parley__ServerFrame **queue;
    size_t qhead, qlen, qcap;
    int eof;
    int goodbye;
    uint64_t next_id;
    char err[256];
};

static uint64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int fail(pl_cconn *c, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(pl_cconn *c, int r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    return r;
}

static int wait_fd(int fd, short events, uint64_t deadline)
{
    struct pollfd pfd = {.fd = fd, .events = events};
    uint64_t now = mono_ms();
    int r;

    if (now >= deadline)
        return 0;
    do
        r = poll(&pfd, 1, (int)(deadline - now));
    while (r < 0 && errno == EINTR);
    return r;
}

/* Writes all pending TLS output before deadline. */
static int flush_output(pl_cconn *c, uint64_t deadline)
{
    for (;;) {
        const uint8_t *p;
        size_t len;
        ssize_t n;

        pl_tls_conn_pending_output(c->tls, &p, &len);
        if (len == 0)
            return PL_CLIENT_OK;
        n = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            pl_tls_conn_consume_output(c->tls, (size_t)n);
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return fail(c, PL_CLIENT_E_UNREACHABLE, "the connection to the server broke: %s",
                        strerror(errno));
        if (wait_fd(c->fd, POLLOUT, deadline) == 0)
            return fail(c, PL_CLIENT_E_UNREACHABLE, "the server stopped reading");
    }
}

/* Reads once from the socket into TLS, waiting until deadline. */
static int fill_input(pl_cconn *c, uint64_t deadline)
{
    uint8_t buf[16384];
    ssize_t n;
    int r;

    r = wait_fd(c->fd, POLLIN, deadline);
    if (r == 0)
        return PL_CLIENT_E_TIMEOUT;
    if (r < 0)
        return fail(c, PL_CLIENT_E_UNREACHABLE, "poll: %s", strerror(errno));
    n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) {
        c->eof = 1;
        return fail(c, PL_CLIENT_E_UNREACHABLE, "the server closed the connection");
    }
    if (n < 0)
        return (errno == EAGAIN || errno == EINTR)
                   ? PL_CLIENT_OK
                   : fail(c, PL_CLIENT_E_UNREACHABLE, "recv: %s", strerror(errno));
    if ((r = pl_tls_conn_feed(c->tls, buf, (size_t)n)) != PL_TLS_OK) {
        c->eof = 1;
        return fail(c, r == PL_TLS_E_CLOSED ? PL_CLIENT_E_UNREACHABLE : PL_CLIENT_E_PROTOCOL,
                    "TLS: %s %s", pl_tls_strerror(r), pl_tls_conn_error_detail(c->tls));
    }
    return PL_CLIENT_OK;
}

static const char *status_name(int code)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&parley__status_code__descriptor, code);

    return v ? v->name : "STATUS_UNKNOWN";
}

/* The next frame of the stream, reading until deadline. */
static int read_frame(pl_cconn *c, Parley__ServerFrame **out, uint64_t deadline)
{
    *out = NULL;
    for (;;) {
        size_t n;
        int r;

        while (c->pt_len > 0) {
            const uint8_t *frame;
            size_t used, flen;
            pl_frame_diag diag;

            r = pl_frame_reader_feed(c->rd, c->pt + c->pt_off, c->pt_len, &used, &frame, &flen);
            c->pt_off += used;
            c->pt_len -= used;
            if (r != PL_FRAME_OK)
                return fail(c, PL_CLIENT_E_PROTOCOL, "server frame: %s", pl_frame_strerror(r));
            if (!frame)
                continue;
            if ((r = pl_frame_decode_server(frame, flen, out, &diag)) != PL_FRAME_OK)
                return fail(c, PL_CLIENT_E_PROTOCOL, "invalid server frame: %s (%s)",
                            pl_frame_strerror(r), diag.detail);
            if ((*out)->kind_case == PARLEY__SERVER_FRAME__KIND_GOODBYE) {
                const Parley__Status *st = (*out)->goodbye->status;

                c->goodbye = (int)st->code;
                fail(c, PL_CLIENT_E_PROTOCOL, "the server said goodbye: %s: %s",
                     status_name(c->goodbye), st->message);
            }
            return PL_CLIENT_OK;
        }
        c->pt_off = 0;
        r = pl_tls_conn_read(c->tls, c->pt, sizeof c->pt, &n);
        (void)flush_output(c, mono_ms() + 1000u); /* post-handshake replies, if any */
        if (r == PL_TLS_OK) {
            c->pt_len = n;
            continue;
        }
        if (r == PL_TLS_E_CLOSED || (r == PL_TLS_E_AGAIN && c->eof))
            return fail(c, PL_CLIENT_E_UNREACHABLE, "the server closed the connection");
        if (r != PL_TLS_E_AGAIN)
            return fail(c, PL_CLIENT_E_PROTOCOL, "TLS: %s", pl_tls_strerror(r));
        if ((r = fill_input(c, deadline)) != PL_CLIENT_OK)
            return r;
    }
}

static int send_frame(pl_cconn *c, const Parley__ClientFrame *f, uint64_t deadline)
{
    size_t cap = pl_frame_client_size(f), len, off = 0;
    uint8_t *buf = malloc(cap ? cap : 1);
    int r = PL_CLIENT_E_NOMEM;

    if (!buf)
        return fail(c, r, "out of memory");
    if (pl_frame_encode_client(f, buf, cap, &len) != PL_FRAME_OK) {
        r = fail(c, PL_CLIENT_E_USAGE, "a request is too large to send");
        goto out;
    }
    while (off < len) {
        size_t piece = len - off < WRITE_PIECE ? len - off : WRITE_PIECE;
        int t = pl_tls_conn_write(c->tls, buf + off, piece);

        if (t == PL_TLS_E_OUTPUT_FULL) {
            if ((r = flush_output(c, deadline)) != PL_CLIENT_OK)
                goto out;
            continue;
        }
        if (t != PL_TLS_OK) {
            r = fail(c, PL_CLIENT_E_UNREACHABLE, "TLS write: %s", pl_tls_strerror(t));
            goto out;
        }
        off += piece;
    }
    r = flush_output(c, deadline);
out:
    free(buf);
    return r;
}

static int queue_push(pl_cconn *c, Parley__ServerFrame *f)
{
    if (c->qhead + c->qlen == c->qcap) {
        Parley__ServerFrame **q;
        size_t cap = c->qcap ? 2 * c->qcap : 64;

        if (c->qhead > 0) {
            memmove(c->queue, c->queue + c->qhead, c->qlen * sizeof *c->queue);
            c->qhead = 0;
        } else if (cap > MAX_QUEUE || !(q = realloc(c->queue, cap * sizeof *q))) {
            pl_frame_server_free(f);
            return fail(c, PL_CLIENT_E_NOMEM, "too many pushes queued");
        } else {
            c->queue = q;
            c->qcap = cap;
        }
    }
    c->queue[c->qhead + c->qlen++] = f;
    return PL_CLIENT_OK;
}

/* Splits "host:port" or "[v6]:port". Returns 0 or -1. */
static int split_server(const char *server, char host[256], char port[8])
{
    const char *colon;
    size_t hl;

    if (server[0] == '[') {
        const char *end = strchr(server, ']');

        if (!end || end[1] != ':')
            return -1;
        hl = (size_t)(end - server - 1);
        colon = end + 1;
        server++;
    } else {
        if (!(colon = strrchr(server, ':')))
            return -1;
        hl = (size_t)(colon - server);
    }
    if (hl == 0 || hl >= 256 || strlen(colon + 1) == 0 || strlen(colon + 1) >= 8)
        return -1;
    memcpy(host, server, hl);
    host[hl] = '\0';
    strcpy(port, colon + 1);
    for (const char *p = port; *p; p++)
        if (*p < '0' || *p > '9')
            return -1;
    return 0;
}

/* Non-blocking connect to the first address that answers before deadline. */
static int connect_to(pl_cconn *c, const char *host, const char *port, uint64_t deadline)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL, *ai;
    int r = getaddrinfo(host, port, &hints, &res);

    if (r != 0)
        return fail(c, PL_CLIENT_E_UNREACHABLE, "cannot resolve %s: %s", host, gai_strerror(r));
    r = fail(c, PL_CLIENT_E_UNREACHABLE, "cannot connect to %s:%s", host, port);
    for (ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        int soerr = 0;
        socklen_t sl = sizeof soerr;

        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
            r = fail(c, PL_CLIENT_E_UNREACHABLE, "cannot connect to %s:%s: %s", host, port,
                     strerror(errno));
            close(fd);
            continue;
        }
        if (wait_fd(fd, POLLOUT, deadline) <= 0 ||
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
            r = fail(c, PL_CLIENT_E_UNREACHABLE, "cannot connect to %s:%s: %s", host, port,
                     soerr ? strerror(soerr) : "timed out");
            close(fd);
            continue;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
        c->fd = fd;
        r = PL_CLIENT_OK;
        break;
    }
    freeaddrinfo(res);
    return r;
}

static int hello(pl_cconn *c, uint64_t deadline)
{
    Parley__ClientFrame f = PARLEY__CLIENT_FRAME__INIT;
    Parley__Hello h = PARLEY__HELLO__INIT;
    Parley__ServerFrame *got = NULL;
    int r;

    h.min_version = PL_WIRE_VERSION_MIN;
    h.max_version = PL_WIRE_VERSION_MAX;
    h.client = "parley/" PL_VERSION_STRING;
    f.kind_case = PARLEY__CLIENT_FRAME__KIND_HELLO;
    f.hello = &h;
    if ((r = send_frame(c, &f, deadline)) != PL_CLIENT_OK ||
        (r = read_frame(c, &got, deadline)) != PL_CLIENT_OK)
        return r;
    if (got->kind_case != PARLEY__SERVER_FRAME__KIND_HELLO_REPLY)
        r = c->goodbye >= 0 ? PL_CLIENT_E_PROTOCOL
                            : fail(c, PL_CLIENT_E_PROTOCOL, "the server did not answer Hello");
    pl_frame_server_free(got);
    return r;
}

int pl_cconn_open(pl_cconn **out, const char *server, const char *ca_file, const char *pin,
                  char fingerprint_out[PL_TLS_FINGERPRINT_BYTES], char *err, size_t err_len)
{
    char host[256], port[8], fp[PL_TLS_FINGERPRINT_BYTES] = "", terr[256] = "";
    uint64_t deadline = mono_ms() + PL_CCONN_TIMEOUT_MS;
    pl_cconn *c = calloc(1, sizeof *c);
    int r = PL_CLIENT_E_NOMEM, t;

    *out = NULL;
    if (fingerprint_out)
        fingerprint_out[0] = '\0';
    if (!c) {
        snprintf(err, err_len, "out of memory");
        return r;
    }
    c->fd = -1;
    c->goodbye = -1;
    c->next_id = 1;
    if (split_server(server, host, port) != 0) {
        r = fail(c, PL_CLIENT_E_USAGE, "server must be HOST:PORT, not \"%s\"", server);
        goto out;
    }
    t = ca_file ? pl_tls_ctx_new_client(&c->ctx, ca_file, terr, sizeof terr)
                : pl_tls_ctx_new_client_pinned(&c->ctx, terr, sizeof terr);
    if (t != PL_TLS_OK) {
        r = fail(c, PL_CLIENT_E_CERT, "%s", terr);
        goto out;
    }
    if (pl_tls_conn_new_client(&c->tls, c->ctx, ca_file ? host : NULL) != PL_TLS_OK ||
        pl_frame_reader_new(&c->rd, PL_FRAME_MAX_BYTES) != PL_FRAME_OK) {
        r = fail(c, PL_CLIENT_E_NOMEM, "out of memory");
        goto out;
    }
    if ((r = connect_to(c, host, port, deadline)) != PL_CLIENT_OK)
        goto out;
    while (!pl_tls_conn_handshake_done(c->tls)) {
        if ((r = flush_output(c, deadline)) != PL_CLIENT_OK ||
            (r = fill_input(c, deadline)) != PL_CLIENT_OK) {
            const char *detail = pl_tls_conn_error_detail(c->tls);

            if (ca_file && *detail)
                r = fail(c, PL_CLIENT_E_CERT, "the server's certificate is not the one in %s: %s",
                         ca_file, detail);
            else if (r == PL_CLIENT_E_TIMEOUT)
                r = fail(c, PL_CLIENT_E_UNREACHABLE, "%s did not complete TLS in time", server);
            goto out;
        }
    }
    (void)pl_tls_conn_peer_fingerprint(c->tls, fp);
    if (!ca_file && pin && *pin && strcmp(pin, fp) != 0) {
        r = fail(c, PL_CLIENT_E_CERT,
                 "%s presented certificate %s, not the pinned %s: someone may be intercepting "
                 "the connection, or the server's certificate changed",
                 server, fp, pin);
        goto out;
    }
    if (fingerprint_out)
        memcpy(fingerprint_out, fp, sizeof fp);
    if ((r = hello(c, deadline)) != PL_CLIENT_OK)
        goto out;
    *out = c;
    c = NULL;
out:
    if (c) {
        snprintf(err, err_len, "%s", c->err);
        pl_cconn_close(c);
    }
    return r;
}

void pl_cconn_close(pl_cconn *c)
{
    if (!c)
        return;
    if (c->tls && c->fd >= 0 && !c->eof && pl_tls_conn_handshake_done(c->tls) &&
        pl_tls_conn_close(c->tls) == PL_TLS_OK)
        (void)flush_output(c, mono_ms() + 200u);
    if (c->fd >= 0)
        close(c->fd);
    for (size_t i = 0; i < c->qlen; i++)
        pl_frame_server_free(c->queue[c->qhead + i]);
    free(c->queue);
    pl_frame_reader_free(c->rd);
    pl_tls_conn_free(c->tls);
    pl_tls_ctx_free(c->ctx);
    free(c);
}

int pl_cconn_send(pl_cconn *c, Parley__Request *req, unsigned timeout_ms)
{
    Parley__ClientFrame f = PARLEY__CLIENT_FRAME__INIT;

    req->id = c->next_id++;
    f.kind_case = PARLEY__CLIENT_FRAME__KIND_REQUEST;
    f.request = req;
    return send_frame(c, &f, mono_ms() + timeout_ms);
}

int pl_cconn_await(pl_cconn *c, uint64_t id, Parley__ServerFrame **out, unsigned timeout_ms)
{
    uint64_t deadline = mono_ms() + timeout_ms;
    int r;

    *out = NULL;
    for (;;) {
        Parley__ServerFrame *got;

        if ((r = read_frame(c, &got, deadline)) != PL_CLIENT_OK)
            return r == PL_CLIENT_E_TIMEOUT
                       ? fail(c, PL_CLIENT_E_UNREACHABLE, "the server did not answer in time")
                       : r;
        if (got->kind_case == PARLEY__SERVER_FRAME__KIND_PUSH) {
            if ((r = queue_push(c, got)) != PL_CLIENT_OK)
                return r;
            continue;
        }
        if (got->kind_case == PARLEY__SERVER_FRAME__KIND_RESPONSE && got->response->id == id) {
            *out = got;
            return PL_CLIENT_OK;
        }
        pl_frame_server_free(got);
        return c->goodbye >= 0 ? PL_CLIENT_E_PROTOCOL
                               : fail(c, PL_CLIENT_E_PROTOCOL, "unexpected frame from the server");
    }
}

int pl_cconn_request(pl_cconn *c, Parley__Request *req, Parley__ServerFrame **out,
                     unsigned timeout_ms)
{
    int r;

    *out = NULL;
    if ((r = pl_cconn_send(c, req, timeout_ms)) != PL_CLIENT_OK)
        return r;
    return pl_cconn_await(c, req->id, out, timeout_ms);
}

int pl_cconn_next_push(pl_cconn *c, Parley__ServerFrame **out, unsigned timeout_ms)
{
    Parley__ServerFrame *got;
    int r;

    *out = NULL;
    if (c->qlen > 0) {
        *out = c->queue[c->qhead++];
        if (--c->qlen == 0)
            c->qhead = 0;
        return PL_CLIENT_OK;
    }
    if ((r = read_frame(c, &got, mono_ms() + timeout_ms)) != PL_CLIENT_OK)
        return r;
    if (got->kind_case == PARLEY__SERVER_FRAME__KIND_PUSH) {
        *out = got;
        return PL_CLIENT_OK;
    }
    pl_frame_server_free(got);
    return c->goodbye >= 0 ? PL_CLIENT_E_PROTOCOL
                           : fail(c, PL_CLIENT_E_PROTOCOL, "unexpected frame from the server");
}

int pl_cconn_exporter(pl_cconn *c, uint8_t out[PL_TLS_EXPORTER_BYTES])
{
    return pl_tls_conn_exporter(c->tls, out) == PL_TLS_OK ? PL_CLIENT_OK : PL_CLIENT_E_PROTOCOL;
}

int pl_cconn_goodbye(const pl_cconn *c)
{
    return c->goodbye;
}

const char *pl_cconn_error(const pl_cconn *c)
{
    return c->err;
}
