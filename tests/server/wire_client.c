/*
 * wire_client.c: a blocking test client for parleyd (see wire_client.h).
 *
 * Byte flow: socket -> pl_tls_conn_feed -> pl_tls_conn_read -> pt[] -> pl_frame_reader ->
 * pl_frame_decode_server; and frame -> pl_frame_encode_client -> pl_tls_conn_write (in
 * 16 KiB pieces) -> pending output -> socket. Every wait is bounded by a deadline.
 */
#define _DEFAULT_SOURCE
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "frame.h"
#include "tls_conn.h"
#include "tls_ctx.h"
#include "wire_client.h"

#define WC_PT_BYTES (16u * 1024u)
#define WC_WRITE_PIECE (16u * 1024u)
#define WC_WRITE_TIMEOUT_MS 10000u
#define WC_HANDSHAKE_TIMEOUT_MS 5000u
#define WC_MAX_QUEUE 100000u
#define WC_MAX_DISCARD 100000u

struct wc_conn {
    int fd;
    pl_tls_ctx *ctx;
    pl_tls_conn *tls;
    pl_frame_reader *rd;
    uint8_t pt[WC_PT_BYTES]; /* plaintext read from TLS, not yet given to the reader */
    size_t pt_off, pt_len;
    Parley__ServerFrame **queue; /* pushes, oldest at queue[qhead] */
    size_t qhead, qlen, qcap;
    int eof;
    int goodbye_code; /* -1 until a Goodbye arrives */
    uint64_t next_id;
    char err[256];
};

static uint64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int set_err(wc_conn *c, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int set_err(wc_conn *c, int r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    return r;
}

/* Writes all pending TLS output to the socket before deadline. */
static int flush_output(wc_conn *c, uint64_t deadline)
{
    for (;;) {
        const uint8_t *p;
        size_t len;
        ssize_t n;
        struct pollfd pfd = {.fd = c->fd, .events = POLLOUT};
        uint64_t now;

        pl_tls_conn_pending_output(c->tls, &p, &len);
        if (len == 0)
            return WC_OK;
        n = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            pl_tls_conn_consume_output(c->tls, (size_t)n);
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            if (errno == EPIPE || errno == ECONNRESET)
                return set_err(c, WC_EOF, "send: %s", strerror(errno));
            return set_err(c, WC_ERROR, "send: %s", strerror(errno));
        }
        now = mono_ms();
        if (now >= deadline)
            return set_err(c, WC_TIMEOUT, "the server did not read what we sent in time");
        poll(&pfd, 1, (int)(deadline - now));
    }
}

/* Reads from the socket into the TLS engine once, waiting until deadline. */
static int fill_input(wc_conn *c, uint64_t deadline)
{
    uint8_t buf[16384];
    struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
    uint64_t now = mono_ms();
    ssize_t n;
    int r;

    if (now >= deadline)
        return WC_TIMEOUT;
    r = poll(&pfd, 1, (int)(deadline - now));
    if (r == 0)
        return WC_TIMEOUT;
    if (r < 0)
        return errno == EINTR ? WC_OK : set_err(c, WC_ERROR, "poll: %s", strerror(errno));
    n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) {
        c->eof = 1;
        return WC_EOF;
    }
    if (n < 0)
        return (errno == EAGAIN || errno == EINTR)
                   ? WC_OK
                   : set_err(c, WC_ERROR, "recv: %s", strerror(errno));
    if ((r = pl_tls_conn_feed(c->tls, buf, (size_t)n)) != PL_TLS_OK) {
        if (r == PL_TLS_E_CLOSED) {
            c->eof = 1;
            return WC_EOF;
        }
        return set_err(c, WC_ERROR, "TLS feed: %s (%s)", pl_tls_errname(r),
                       pl_tls_conn_error_detail(c->tls));
    }
    return WC_OK;
}

/* Takes the next frame out of the stream, reading until deadline. */
static int read_frame(wc_conn *c, Parley__ServerFrame **out, uint64_t deadline)
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
                return set_err(c, WC_ERROR, "server frame length: %s", pl_frame_errname(r));
            if (!frame)
                continue;
            if ((r = pl_frame_decode_server(frame, flen, out, &diag)) != PL_FRAME_OK)
                return set_err(c, WC_ERROR, "invalid server frame: %s (%s)", pl_frame_errname(r),
                               diag.detail);
            if ((*out)->kind_case == PARLEY__SERVER_FRAME__KIND_GOODBYE)
                c->goodbye_code = (int)(*out)->goodbye->status->code;
            return WC_OK;
        }
        c->pt_off = 0;
        r = pl_tls_conn_read(c->tls, c->pt, sizeof c->pt, &n);
        flush_output(c, mono_ms() + 1000u); /* post-handshake replies, if any */
        if (r == PL_TLS_OK) {
            c->pt_len = n;
            continue;
        }
        if (r == PL_TLS_E_CLOSED) {
            c->eof = 1;
            return WC_EOF;
        }
        if (r == PL_TLS_E_AGAIN && c->eof)
            return WC_EOF;
        if (r != PL_TLS_E_AGAIN)
            return set_err(c, WC_ERROR, "TLS read: %s (%s)", pl_tls_errname(r),
                           pl_tls_conn_error_detail(c->tls));
        if ((r = fill_input(c, deadline)) == WC_EOF)
            continue; /* hand out what is buffered first */
        if (r != WC_OK)
            return r;
    }
}

static int queue_push(wc_conn *c, Parley__ServerFrame *f)
{
    if (c->qhead + c->qlen == c->qcap) {
        Parley__ServerFrame **q;

        if (c->qhead > 0) {
            memmove(c->queue, c->queue + c->qhead, c->qlen * sizeof *c->queue);
            c->qhead = 0;
        } else {
            size_t cap = c->qcap ? 2 * c->qcap : 64;

            if (cap > WC_MAX_QUEUE || !(q = realloc(c->queue, cap * sizeof *q))) {
                pl_frame_server_free(f);
                return set_err(c, WC_ERROR, "push queue full");
            }
            c->queue = q;
            c->qcap = cap;
        }
    }
    c->queue[c->qhead + c->qlen++] = f;
    return WC_OK;
}

int wc_open(wc_conn **out, uint16_t port, const char *cert_path, const wc_opts *opts)
{
    struct sockaddr_in sa = {0};
    char err[512];
    wc_conn *c = NULL;
    uint64_t deadline = mono_ms() + WC_HANDSHAKE_TIMEOUT_MS;
    const char *name = opts && opts->server_name ? opts->server_name : "127.0.0.1";
    int r = WC_ERROR;

    *out = NULL;
    if (!(c = calloc(1, sizeof *c)))
        return WC_ERROR;
    c->fd = -1;
    c->goodbye_code = -1;
    c->next_id = 1;
    if (pl_tls_ctx_new_client(&c->ctx, cert_path, err, sizeof err) != PL_TLS_OK) {
        fprintf(stderr, "[wire_client] client TLS context: %s\n", err);
        goto out;
    }
    if (pl_tls_conn_new_client(&c->tls, c->ctx, name) != PL_TLS_OK ||
        pl_frame_reader_new(&c->rd, PL_FRAME_MAX_BYTES) != PL_FRAME_OK)
        goto out;
    if ((c->fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
        goto out;
    /* Small frames back to back (Finished, then Hello) must not wait for a delayed ACK. */
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
    if (opts && opts->rcvbuf > 0)
        setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &opts->rcvbuf, sizeof opts->rcvbuf);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        fprintf(stderr, "[wire_client] connect to port %u: %s\n", port, strerror(errno));
        goto out;
    }
    while (!pl_tls_conn_handshake_done(c->tls)) {
        int fr;

        if (flush_output(c, deadline) != WC_OK || (fr = fill_input(c, deadline)) != WC_OK) {
            fprintf(stderr, "[wire_client] TLS handshake failed: %s %s\n", c->err,
                    pl_tls_conn_error_detail(c->tls));
            goto out;
        }
    }
    if (flush_output(c, deadline) != WC_OK)
        goto out;
    *out = c;
    c = NULL;
    r = WC_OK;
out:
    wc_close(c);
    return r;
}

int wc_hello(wc_conn *c, uint32_t min_version, uint32_t max_version, Parley__ServerFrame **reply)
{
    Parley__ClientFrame f = PARLEY__CLIENT_FRAME__INIT;
    Parley__Hello h = PARLEY__HELLO__INIT;
    Parley__ServerFrame *got = NULL;
    int r;

    if (reply)
        *reply = NULL;
    h.min_version = min_version;
    h.max_version = max_version;
    h.client = "parley-tests";
    f.kind_case = PARLEY__CLIENT_FRAME__KIND_HELLO;
    f.hello = &h;
    if ((r = wc_send_frame(c, &f)) != WC_OK)
        return r;
    if ((r = wc_read_frame(c, &got, WC_TIMEOUT_MS)) != WC_OK)
        return r;
    if (got->kind_case == PARLEY__SERVER_FRAME__KIND_GOODBYE)
        r = WC_GOODBYE;
    else if (got->kind_case != PARLEY__SERVER_FRAME__KIND_HELLO_REPLY)
        r = set_err(c, WC_ERROR, "first server frame is kind %d, not a HelloReply",
                    (int)got->kind_case);
    if (reply)
        *reply = got;
    else
        pl_frame_server_free(got);
    return r;
}

int wc_connect(wc_conn **out, uint16_t port, const char *cert_path)
{
    wc_conn *c = NULL;
    int r;

    *out = NULL;
    if ((r = wc_open(&c, port, cert_path, NULL)) != WC_OK)
        return r;
    if ((r = wc_hello(c, PL_WIRE_VERSION_MIN, PL_WIRE_VERSION_MAX, NULL)) != WC_OK) {
        fprintf(stderr, "[wire_client] Hello failed: %s %s\n", wc_name(r), c->err);
        wc_close(c);
        return r;
    }
    *out = c;
    return WC_OK;
}

void wc_close(wc_conn *c)
{
    if (!c)
        return;
    if (c->tls && c->fd >= 0 && !c->eof && pl_tls_conn_handshake_done(c->tls) &&
        pl_tls_conn_close(c->tls) == PL_TLS_OK)
        flush_output(c, mono_ms() + 200u);
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

int wc_send_plain(wc_conn *c, const void *p, size_t len)
{
    const uint8_t *b = p;
    uint64_t deadline = mono_ms() + WC_WRITE_TIMEOUT_MS;
    size_t off = 0;
    int r;

    while (off < len) {
        size_t piece = len - off < WC_WRITE_PIECE ? len - off : WC_WRITE_PIECE;

        r = pl_tls_conn_write(c->tls, b + off, piece);
        if (r == PL_TLS_E_OUTPUT_FULL) {
            if ((r = flush_output(c, deadline)) != WC_OK)
                return r;
            continue;
        }
        if (r == PL_TLS_E_CLOSED)
            return set_err(c, WC_EOF, "TLS write after close");
        if (r != PL_TLS_OK)
            return set_err(c, WC_ERROR, "TLS write: %s", pl_tls_errname(r));
        off += piece;
    }
    return flush_output(c, deadline);
}

int wc_send_frame(wc_conn *c, const Parley__ClientFrame *f)
{
    size_t cap = pl_frame_client_size(f), len;
    uint8_t *buf = malloc(cap ? cap : 1);
    int r;

    if (!buf)
        return set_err(c, WC_ERROR, "out of memory");
    if ((r = pl_frame_encode_client(f, buf, cap, &len)) != PL_FRAME_OK) {
        free(buf);
        return set_err(c, WC_ERROR, "encode: %s", pl_frame_errname(r));
    }
    r = wc_send_plain(c, buf, len);
    free(buf);
    return r;
}

int wc_read_frame(wc_conn *c, Parley__ServerFrame **out, unsigned timeout_ms)
{
    return read_frame(c, out, mono_ms() + timeout_ms);
}

int wc_request(wc_conn *c, Parley__Request *req, Parley__ServerFrame **out, unsigned timeout_ms)
{
    Parley__ClientFrame f = PARLEY__CLIENT_FRAME__INIT;
    uint64_t deadline = mono_ms() + timeout_ms;
    int r;

    if (out)
        *out = NULL;
    if (req->id == 0)
        req->id = wc_take_id(c);
    f.kind_case = PARLEY__CLIENT_FRAME__KIND_REQUEST;
    f.request = req;
    if ((r = wc_send_frame(c, &f)) != WC_OK)
        return r;
    for (;;) {
        Parley__ServerFrame *got;

        if ((r = read_frame(c, &got, deadline)) != WC_OK)
            return r;
        switch (got->kind_case) {
        case PARLEY__SERVER_FRAME__KIND_PUSH:
            if ((r = queue_push(c, got)) != WC_OK)
                return r;
            continue;
        case PARLEY__SERVER_FRAME__KIND_RESPONSE:
            if (got->response->id != req->id) {
                r = set_err(c, WC_ERROR, "response id %llu, expected %llu",
                            (unsigned long long)got->response->id, (unsigned long long)req->id);
                pl_frame_server_free(got);
                return r;
            }
            if (out)
                *out = got;
            else
                pl_frame_server_free(got);
            return WC_OK;
        case PARLEY__SERVER_FRAME__KIND_GOODBYE:
            pl_frame_server_free(got);
            return set_err(c, WC_GOODBYE, "Goodbye %s", wc_name(c->goodbye_code));
        default:
            pl_frame_server_free(got);
            return set_err(c, WC_ERROR, "unexpected server frame kind while awaiting response");
        }
    }
}

int wc_status(const Parley__ServerFrame *f)
{
    if (!f || f->kind_case != PARLEY__SERVER_FRAME__KIND_RESPONSE)
        fail_msg("not a Response frame");
    return (int)f->response->status->code;
}

int wc_next_push(wc_conn *c, Parley__ServerFrame **out, unsigned timeout_ms)
{
    Parley__ServerFrame *got;
    int r;

    *out = NULL;
    if (c->qlen > 0) {
        *out = c->queue[c->qhead++];
        if (--c->qlen == 0)
            c->qhead = 0;
        return WC_OK;
    }
    if ((r = wc_read_frame(c, &got, timeout_ms)) != WC_OK)
        return r;
    if (got->kind_case == PARLEY__SERVER_FRAME__KIND_PUSH) {
        *out = got;
        return WC_OK;
    }
    r = got->kind_case == PARLEY__SERVER_FRAME__KIND_GOODBYE
            ? WC_GOODBYE
            : set_err(c, WC_ERROR, "server frame kind %d where a Push was awaited",
                      (int)got->kind_case);
    pl_frame_server_free(got);
    return r;
}

size_t wc_pushes_queued(const wc_conn *c)
{
    return c->qlen;
}

int wc_wait_goodbye(wc_conn *c, unsigned timeout_ms, int *code)
{
    uint64_t deadline = mono_ms() + timeout_ms;

    for (size_t i = 0; i < WC_MAX_DISCARD; i++) {
        Parley__ServerFrame *got;
        int r = read_frame(c, &got, deadline);

        if (r == WC_EOF) {
            *code = c->goodbye_code;
            return c->goodbye_code >= 0 ? WC_OK : WC_EOF;
        }
        if (r != WC_OK)
            return r;
        if (got->kind_case == PARLEY__SERVER_FRAME__KIND_GOODBYE) {
            /* Nothing may follow a Goodbye: the next event must be the end. */
            pl_frame_server_free(got);
            *code = c->goodbye_code;
            r = read_frame(c, &got, deadline);
            if (r == WC_OK) {
                pl_frame_server_free(got);
                return set_err(c, WC_ERROR, "a frame followed the Goodbye");
            }
            return r == WC_EOF ? WC_OK : r;
        }
        pl_frame_server_free(got);
    }
    return set_err(c, WC_ERROR, "no Goodbye within %u frames", WC_MAX_DISCARD);
}

int wc_wait_eof(wc_conn *c, unsigned timeout_ms)
{
    uint64_t deadline = mono_ms() + timeout_ms;

    for (size_t i = 0; i < WC_MAX_DISCARD; i++) {
        Parley__ServerFrame *got;
        int r = read_frame(c, &got, deadline);

        if (r == WC_EOF)
            return WC_OK;
        if (r != WC_OK)
            return r;
        pl_frame_server_free(got);
    }
    return set_err(c, WC_ERROR, "connection still open after %u frames", WC_MAX_DISCARD);
}

int wc_goodbye_code(const wc_conn *c)
{
    return c->goodbye_code;
}

int wc_exporter(wc_conn *c, uint8_t out[PL_TLS_EXPORTER_BYTES])
{
    return pl_tls_conn_exporter(c->tls, out) == PL_TLS_OK ? WC_OK : WC_ERROR;
}

uint64_t wc_take_id(wc_conn *c)
{
    return c->next_id++;
}

const char *wc_error(const wc_conn *c)
{
    return c->err;
}

int wc_fd(const wc_conn *c)
{
    return c->fd;
}

const char *wc_name(int code)
{
    static const char *const statuses[] = {
        "STATUS_OK",
        "STATUS_BAD_FRAME",
        "STATUS_FRAME_TOO_LARGE",
        "STATUS_UNSUPPORTED_VERSION",
        "STATUS_PROTOCOL_VIOLATION",
        "STATUS_UNKNOWN_REQUEST",
        "STATUS_BAD_REQUEST",
        "STATUS_NOT_AUTHENTICATED",
        "STATUS_ALREADY_AUTHENTICATED",
        "STATUS_AUTH_FAILED",
        "STATUS_BAD_SIGNATURE",
        "STATUS_BAD_USERNAME",
        "STATUS_USERNAME_TAKEN",
        "STATUS_NOT_FOUND",
        "STATUS_DEVICE_EXISTS",
        "STATUS_TOO_MANY_DEVICES",
        "STATUS_TOO_MANY_PREKEYS",
        "STATUS_MISMATCHED_DEVICES",
        "STATUS_TOO_LARGE",
        "STATUS_RATE_LIMITED",
        "STATUS_SERVER_BUSY",
        "STATUS_SLOW_READER",
        "STATUS_TIMEOUT",
        "STATUS_INTERNAL",
        "STATUS_REPLACED",
        "STATUS_MAILBOX_FULL",
        "STATUS_LINK_SLOT_TAKEN",
    };

    switch (code) {
    case WC_TIMEOUT:
        return "WC_TIMEOUT";
    case WC_EOF:
        return "WC_EOF";
    case WC_GOODBYE:
        return "WC_GOODBYE";
    case WC_ERROR:
        return "WC_ERROR";
    default:
        break;
    }
    if (code >= 0 && (size_t)code < sizeof statuses / sizeof *statuses)
        return statuses[code];
    return "(unknown)";
}
