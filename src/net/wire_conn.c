/*
 * wire_conn.c: a blocking wire-protocol connection to parleyd (wire_conn.h).
 *
 * Byte flow: socket -> pl_tls_conn_feed -> pl_tls_conn_read -> pt[] -> pl_frame_reader ->
 * pl_frame_decode_server; and frame -> pl_frame_encode_client -> pl_tls_conn_write (16 KiB
 * pieces) -> pending output -> socket. Every wait is bounded by a deadline and the stop flag.
 */
#define _DEFAULT_SOURCE
#include "wire_conn.h"

#include <errno.h>
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

#include "frame.h"
#include "tls_ctx.h"

#define PT_BYTES (16u * 1024u)
#define WRITE_PIECE (16u * 1024u)
/* A wait is cut into slices this long, so that the stop flag is seen even when a signal
 * arrives between two checks and does not interrupt poll(). */
#define SLICE_MS 250

struct pl_wire_conn {
    int fd;
    pl_tls_ctx *ctx;
    pl_tls_conn *tls;
    pl_frame_reader *rd;
    volatile sig_atomic_t *stop;
    uint8_t pt[PT_BYTES];
    size_t pt_off, pt_len;
    int eof;
    int goodbye;
    uint64_t next_id;
    char err[512];
};

uint64_t pl_wire_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int pl_wire_conn_fail(pl_wire_conn *c, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    return code;
}

static int stopped(const pl_wire_conn *c)
{
    return c->stop && *c->stop;
}

/* Waits for events on fd until deadline. Returns 1 ready, 0 timed out, -1 interrupted by the
 * stop flag, -2 poll failed. */
static int wait_fd(const pl_wire_conn *c, int fd, short events, uint64_t deadline)
{
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = events};
        uint64_t now = pl_wire_mono_ms();
        int r, slice;

        if (stopped(c))
            return -1;
        if (now >= deadline)
            return 0;
        slice = deadline - now < SLICE_MS ? (int)(deadline - now) : SLICE_MS;
        r = poll(&pfd, 1, slice);
        if (r > 0)
            return 1;
        if (r < 0 && errno != EINTR)
            return -2;
    }
}

/* The error for a wait that did not end ready; timed_out says what a timeout means here. */
static int wait_fail(pl_wire_conn *c, int w, const char *timed_out)
{
    if (w == -1)
        return pl_wire_conn_fail(c, PL_WIRE_E_INTERRUPTED, "stopped");
    if (w == -2)
        return pl_wire_conn_fail(c, PL_WIRE_E_UNREACHABLE, "poll: %s", strerror(errno));
    return pl_wire_conn_fail(c, PL_WIRE_E_UNREACHABLE, "%s", timed_out);
}

/* Writes all pending TLS output before deadline. */
static int flush_output(pl_wire_conn *c, uint64_t deadline)
{
    for (;;) {
        const uint8_t *p;
        size_t len;
        ssize_t n;
        int w;

        pl_tls_conn_pending_output(c->tls, &p, &len);
        if (len == 0)
            return PL_WIRE_OK;
        n = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            pl_tls_conn_consume_output(c->tls, (size_t)n);
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return pl_wire_conn_fail(c, PL_WIRE_E_UNREACHABLE,
                                     "the connection to the server broke: %s", strerror(errno));
        if ((w = wait_fd(c, c->fd, POLLOUT, deadline)) != 1)
            return wait_fail(c, w, "the server stopped reading");
    }
}

/* Reads once from the socket into TLS. PL_WIRE_E_TIMEOUT (error line untouched) when the
 * deadline passes first. */
static int fill_input(pl_wire_conn *c, uint64_t deadline)
{
    uint8_t buf[16384];
    ssize_t n;
    int w, r;

    w = wait_fd(c, c->fd, POLLIN, deadline);
    if (w == 0)
        return PL_WIRE_E_TIMEOUT;
    if (w != 1)
        return wait_fail(c, w, "");
    n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) {
        c->eof = 1;
        return pl_wire_conn_fail(c, PL_WIRE_E_UNREACHABLE, "the server closed the connection");
    }
    if (n < 0)
        return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                   ? PL_WIRE_OK
                   : pl_wire_conn_fail(c, PL_WIRE_E_UNREACHABLE, "recv: %s", strerror(errno));
    if ((r = pl_tls_conn_feed(c->tls, buf, (size_t)n)) != PL_TLS_OK) {
        c->eof = 1;
        return pl_wire_conn_fail(
            c, r == PL_TLS_E_CLOSED ? PL_WIRE_E_UNREACHABLE : PL_WIRE_E_PROTOCOL, "TLS: %s %s",
            pl_tls_strerror(r), pl_tls_conn_error_detail(c->tls));
    }
    return PL_WIRE_OK;
}

static const char *status_name(int code)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&parley__status_code__descriptor, code);

    return v ? v->name : "STATUS_UNKNOWN";
}

int pl_wire_conn_read(pl_wire_conn *c, Parley__ServerFrame **out, uint64_t deadline)
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
                return pl_wire_conn_fail(c, PL_WIRE_E_PROTOCOL, "server frame: %s",
                                         pl_frame_strerror(r));
            if (!frame)
                continue;
            if ((r = pl_frame_decode_server(frame, flen, out, &diag)) != PL_FRAME_OK)
                return pl_wire_conn_fail(c, PL_WIRE_E_PROTOCOL, "invalid server frame: %s (%s)",
                                         pl_frame_strerror(r), diag.detail);
            if ((*out)->kind_case == PARLEY__SERVER_FRAME__KIND_GOODBYE) {
                const Parley__Status *st = (*out)->goodbye->status;

                c->goodbye = (int)st->code;
                pl_wire_conn_fail(c, PL_WIRE_E_PROTOCOL, "the server said goodbye: %s: %s",
                                  status_name(c->goodbye), st->message);
            }
            return PL_WIRE_OK;
        }
        c->pt_off = 0;
        r = pl_tls_conn_read(c->tls, c->pt, sizeof c->pt, &n);
        if (r == PL_TLS_OK) {
            c->pt_len = n;
            continue;
        }
        if (r == PL_TLS_E_CLOSED || (r == PL_TLS_E_AGAIN && c->eof))
            return pl_wire_conn_fail(c, PL_WIRE_E_UNREACHABLE, "the server closed the connection");
        if (r != PL_TLS_E_AGAIN)
            return pl_wire_conn_fail(c, PL_WIRE_E_PROTOCOL, "TLS: %s", pl_tls_strerror(r));
        /* TLS may owe the server an answer (a key update) before more comes. */
        if ((r = flush_output(c, deadline)) != PL_WIRE_OK ||
            (r = fill_input(c, deadline)) != PL_WIRE_OK)
            return r;
    }
}

int pl_wire_conn_send(pl_wire_conn *c, const Parley__ClientFrame *f, uint64_t deadline)
{
    size_t cap = pl_frame_client_size(f), len, off = 0;
    uint8_t *buf = malloc(cap ? cap : 1);
    int r = PL_WIRE_E_NOMEM;

    if (!buf)
        return pl_wire_conn_fail(c, r, "out of memory");
    if (pl_frame_encode_client(f, buf, cap, &len) != PL_FRAME_OK) {
        r = pl_wire_conn_fail(c, PL_WIRE_E_USAGE, "a request is too large to send");
        goto out;
    }
    while (off < len) {
        size_t piece = len - off < WRITE_PIECE ? len - off : WRITE_PIECE;
        int t = pl_tls_conn_write(c->tls, buf + off, piece);

        if (t == PL_TLS_E_OUTPUT_FULL) {
            if ((r = flush_output(c, deadline)) != PL_WIRE_OK)
                goto out;
            continue;
        }
        if (t != PL_TLS_OK) {
            r = pl_wire_conn_fail(c, PL_WIRE_E_UNREACHABLE, "TLS write: %s", pl_tls_strerror(t));
            goto out;
        }
        off += piece;
    }
    r = flush_output(c, deadline);
out:
    free(buf);
    return r;
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
static int connect_to(pl_wire_conn *c, const char *host, const char *port, uint64_t deadline)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL, *ai;
    int r = getaddrinfo(host, port, &hints, &res);

    if (r != 0)
        return pl_wire_conn_fail(c, PL_WIRE_E_UNREACHABLE, "cannot resolve %s: %s", host,
                                 gai_strerror(r));
    r = pl_wire_conn_fail(c, PL_WIRE_E_UNREACHABLE, "cannot connect to %s:%s", host, port);
    for (ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        int soerr = 0, w;
        socklen_t sl = sizeof soerr;

        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
            r = pl_wire_conn_fail(c, PL_WIRE_E_UNREACHABLE, "cannot connect to %s:%s: %s", host,
                                  port, strerror(errno));
            close(fd);
            continue;
        }
        w = wait_fd(c, fd, POLLOUT, deadline);
        if (w == -1) {
            close(fd);
            r = pl_wire_conn_fail(c, PL_WIRE_E_INTERRUPTED, "stopped");
            break;
        }
        if (w != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
            r = pl_wire_conn_fail(c, PL_WIRE_E_UNREACHABLE, "cannot connect to %s:%s: %s", host,
                                  port, soerr ? strerror(soerr) : "timed out");
            close(fd);
            continue;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
        c->fd = fd;
        r = PL_WIRE_OK;
        break;
    }
    freeaddrinfo(res);
    return r;
}

/* TLS to completion, then the certificate checks of the header. */
static int handshake(pl_wire_conn *c, const pl_wire_conn_options *o, uint64_t deadline,
                     char fp[PL_TLS_FINGERPRINT_BYTES])
{
    int r;

    while (!pl_tls_conn_handshake_done(c->tls)) {
        if ((r = flush_output(c, deadline)) != PL_WIRE_OK ||
            (r = fill_input(c, deadline)) != PL_WIRE_OK) {
            const char *detail = pl_tls_conn_error_detail(c->tls);

            if (r == PL_WIRE_E_INTERRUPTED)
                return r;
            if (o->ca_file && *detail)
                return pl_wire_conn_fail(c, PL_WIRE_E_CERT,
                                         "the server's certificate is not the one in %s: %s",
                                         o->ca_file, detail);
            if (r == PL_WIRE_E_TIMEOUT)
                return pl_wire_conn_fail(c, PL_WIRE_E_UNREACHABLE,
                                         "%s did not complete TLS in time", o->server);
            return r;
        }
    }
    (void)pl_tls_conn_peer_fingerprint(c->tls, fp);
    if (!o->ca_file && o->pin && *o->pin && strcmp(o->pin, fp) != 0)
        return pl_wire_conn_fail(
            c, PL_WIRE_E_CERT,
            "%s presented certificate %s, not the pinned %s: someone may be intercepting "
            "the connection, or the server's certificate changed",
            o->server, fp, o->pin);
    return PL_WIRE_OK;
}

static int hello(pl_wire_conn *c, const char *client_name, uint64_t deadline)
{
    Parley__ClientFrame f = PARLEY__CLIENT_FRAME__INIT;
    Parley__Hello h = PARLEY__HELLO__INIT;
    Parley__ServerFrame *got = NULL;
    int r;

    h.min_version = PL_WIRE_VERSION_MIN;
    h.max_version = PL_WIRE_VERSION_MAX;
    h.client = (char *)client_name;
    f.kind_case = PARLEY__CLIENT_FRAME__KIND_HELLO;
    f.hello = &h;
    if ((r = pl_wire_conn_send(c, &f, deadline)) != PL_WIRE_OK)
        return r;
    if ((r = pl_wire_conn_read(c, &got, deadline)) != PL_WIRE_OK)
        return r == PL_WIRE_E_TIMEOUT
                   ? pl_wire_conn_fail(c, PL_WIRE_E_UNREACHABLE, "the server did not answer Hello")
                   : r;
    if (got->kind_case == PARLEY__SERVER_FRAME__KIND_GOODBYE)
        r = PL_WIRE_E_PROTOCOL; /* the error line already says which status */
    else if (got->kind_case != PARLEY__SERVER_FRAME__KIND_HELLO_REPLY)
        r = pl_wire_conn_fail(c, PL_WIRE_E_PROTOCOL, "the server did not answer Hello");
    pl_frame_server_free(got);
    return r;
}

int pl_wire_conn_open(pl_wire_conn **out, const pl_wire_conn_options *o,
                      char fingerprint_out[PL_TLS_FINGERPRINT_BYTES], char *err, size_t err_len)
{
    char host[256], port[8], fp[PL_TLS_FINGERPRINT_BYTES] = "", terr[256] = "";
    uint64_t deadline = pl_wire_mono_ms() + o->timeout_ms;
    pl_wire_conn *c = calloc(1, sizeof *c);
    int r = PL_WIRE_E_NOMEM, t;

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
    c->stop = o->stop;
    if (split_server(o->server, host, port) != 0) {
        r = pl_wire_conn_fail(c, PL_WIRE_E_USAGE, "server must be HOST:PORT, not \"%s\"",
                              o->server);
        goto out;
    }
    t = o->ca_file ? pl_tls_ctx_new_client(&c->ctx, o->ca_file, terr, sizeof terr)
                   : pl_tls_ctx_new_client_pinned(&c->ctx, terr, sizeof terr);
    if (t != PL_TLS_OK) {
        r = pl_wire_conn_fail(c, PL_WIRE_E_CERT, "%s", terr);
        goto out;
    }
    if (pl_tls_conn_new_client(&c->tls, c->ctx, o->ca_file ? host : NULL) != PL_TLS_OK ||
        pl_frame_reader_new(&c->rd, PL_FRAME_MAX_BYTES) != PL_FRAME_OK) {
        r = pl_wire_conn_fail(c, PL_WIRE_E_NOMEM, "out of memory");
        goto out;
    }
    if ((r = connect_to(c, host, port, deadline)) != PL_WIRE_OK ||
        (r = handshake(c, o, deadline, fp)) != PL_WIRE_OK)
        goto out;
    if (fingerprint_out)
        memcpy(fingerprint_out, fp, sizeof fp);
    if ((r = hello(c, o->client_name, deadline)) != PL_WIRE_OK)
        goto out;
    *out = c;
    c = NULL;
out:
    if (c) {
        snprintf(err, err_len, "%s", c->err);
        pl_wire_conn_close(c);
    }
    return r;
}

void pl_wire_conn_close(pl_wire_conn *c)
{
    if (!c)
        return;
    if (c->tls && c->fd >= 0 && !c->eof && pl_tls_conn_handshake_done(c->tls) &&
        pl_tls_conn_close(c->tls) == PL_TLS_OK) {
        c->stop = NULL; /* a last close_notify even when stopping */
        (void)flush_output(c, pl_wire_mono_ms() + 200u);
    }
    if (c->fd >= 0)
        close(c->fd);
    pl_frame_reader_free(c->rd);
    pl_tls_conn_free(c->tls);
    pl_tls_ctx_free(c->ctx);
    free(c);
}

uint64_t pl_wire_conn_next_request_id(pl_wire_conn *c)
{
    return c->next_id++;
}

int pl_wire_conn_exporter(pl_wire_conn *c, uint8_t out[PL_TLS_EXPORTER_BYTES])
{
    return pl_tls_conn_exporter(c->tls, out) == PL_TLS_OK ? PL_WIRE_OK : PL_WIRE_E_PROTOCOL;
}

int pl_wire_conn_goodbye(const pl_wire_conn *c)
{
    return c->goodbye;
}

const char *pl_wire_conn_error(const pl_wire_conn *c)
{
    return c->err;
}
