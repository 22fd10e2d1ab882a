/*
 * mitm_proxy.c: the malicious operator's TLS man-in-the-middle (see mitm_proxy.h).
 *
 * Byte flow of one connection, each direction alike:
 *   socket -> pl_tls_conn_feed -> pl_tls_conn_read -> pl_frame_reader -> unpack -> hook
 *   -> (the original bytes, or the hook's frames) -> pl_tls_conn_write -> socket
 * The upstream handshake is finished before the client's bytes are read, so a frame from the
 * client always has somewhere to go. Frames are unpacked with protobuf-c directly rather than
 * with parley_net's validating decoder: the proxy must relay whatever its two ends say,
 * including frames the validator of this build does not know yet, and both ends are the
 * test's own programs.
 */
#define _DEFAULT_SOURCE
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
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
#include "mitm_proxy.h"
#include "tls_conn.h"
#include "tls_ctx.h"

#define MP_POLL_MS 50
#define MP_HANDSHAKE_TIMEOUT_MS 5000u
#define MP_WRITE_TIMEOUT_MS 10000u
#define MP_CLOSE_FLUSH_MS 200u
#define MP_CUT_TIMEOUT_MS 5000u
#define MP_PIECE (16u * 1024u)
#define MP_PATH_MAX 512

/* One end of a relayed connection: its socket, its TLS engine and its frame reader. */
typedef struct mp_side {
    int fd;
    pl_tls_conn *tls;
    pl_frame_reader *rd;
    int eof;          /* the peer ended the TCP stream */
    int close_notify; /* the peer sent close_notify */
    const char *name; /* "client" or "upstream", for messages */
} mp_side;

/* A request seen from the client and not yet answered. */
typedef struct mp_pending {
    uint64_t id;
    uint64_t age; /* insertion order, to evict the oldest when full */
    Parley__ClientFrame *frame;
} mp_pending;

typedef struct mp_conn {
    mp_proxy *p;
    unsigned no;
    unsigned cut_gen; /* the proxy's generation when accepted */
    mp_side down;     /* towards the client: TLS server side */
    mp_side up;       /* towards parleyd: TLS client side */
    uint16_t upstream_port;
    char upstream_cert[MP_PATH_MAX];
    mp_pending pending[MP_MAX_PENDING];
    uint64_t pending_age;
    unsigned client_frames, server_frames;
    uint8_t challenge[32]; /* the last AuthChallenge parleyd sent on this connection */
    int have_challenge;
    pthread_t thread;
    int used; /* slot taken (guarded by p->lock) */
    int done; /* the thread finished (atomic) */
} mp_conn;

struct mp_proxy {
    pthread_mutex_t lock;
    int lfd;
    uint16_t port;
    pl_tls_ctx *server_ctx;
    uint16_t upstream_port;          /* guarded by lock */
    char upstream_cert[MP_PATH_MAX]; /* guarded by lock */
    mp_server_hook server_hook;      /* guarded by lock */
    mp_client_hook client_hook;      /* guarded by lock */
    void *hook_arg;                  /* guarded by lock */
    mp_auth_signer signer;           /* guarded by lock */
    void *signer_arg;                /* guarded by lock */
    mp_stats stats;                  /* guarded by lock */
    unsigned next_conn_no;           /* listener thread only */
    int stop;                        /* atomic */
    unsigned cut_gen;                /* atomic */
    pthread_t listener;
    mp_conn conns[MP_MAX_CONNS];
};

static uint64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int load_int(const int *v)
{
    return __atomic_load_n(v, __ATOMIC_ACQUIRE);
}

static unsigned load_uint(const unsigned *v)
{
    return __atomic_load_n(v, __ATOMIC_ACQUIRE);
}

static void count(mp_proxy *p, unsigned *counter)
{
    pthread_mutex_lock(&p->lock);
    (*counter)++;
    pthread_mutex_unlock(&p->lock);
}

/* ------------------------------------------------------------------ hook output */

static mp_verdict emit(mp_frame_ctx *fx, size_t size,
                       int (*encode)(const void *, uint8_t *, size_t, size_t *), const void *f)
{
    size_t len;

    if (fx->out_failed || size == 0 || fx->out_len + size > MP_MAX_REPLACEMENT_BYTES) {
        fx->out_failed = 1;
        return MP_CLOSE;
    }
    if (fx->out_len + size > fx->out_cap) {
        size_t cap = fx->out_len + size;
        uint8_t *b = realloc(fx->out, cap);

        if (!b) {
            fx->out_failed = 1;
            return MP_CLOSE;
        }
        fx->out = b;
        fx->out_cap = cap;
    }
    if (encode(f, fx->out + fx->out_len, fx->out_cap - fx->out_len, &len) != PL_FRAME_OK) {
        fx->out_failed = 1;
        return MP_CLOSE;
    }
    fx->out_len += len;
    return MP_REPLACE;
}

static int encode_server(const void *f, uint8_t *out, size_t cap, size_t *len)
{
    return pl_frame_encode_server(f, out, cap, len);
}

static int encode_client(const void *f, uint8_t *out, size_t cap, size_t *len)
{
    return pl_frame_encode_client(f, out, cap, len);
}

mp_verdict mp_emit_server(mp_frame_ctx *fx, const Parley__ServerFrame *f)
{
    return emit(fx, pl_frame_server_size(f), encode_server, f);
}

mp_verdict mp_emit_client(mp_frame_ctx *fx, const Parley__ClientFrame *f)
{
    return emit(fx, pl_frame_client_size(f), encode_client, f);
}

/* ------------------------------------------------------------------ socket and TLS */

/* Writes the side's pending TLS output to its socket, waiting until deadline. 0 or -1. */
static int flush_side(mp_side *s, uint64_t deadline)
{
    for (;;) {
        const uint8_t *b;
        size_t len;
        ssize_t n;
        struct pollfd pfd = {.fd = s->fd, .events = POLLOUT};
        uint64_t now;

        pl_tls_conn_pending_output(s->tls, &b, &len);
        if (len == 0)
            return 0;
        n = send(s->fd, b, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            pl_tls_conn_consume_output(s->tls, (size_t)n);
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return -1;
        now = mono_ms();
        if (now >= deadline)
            return -1;
        poll(&pfd, 1, (int)(deadline - now));
    }
}

/* Sends bytes[0..len) as plaintext through the side's TLS engine. 0 or -1. */
static int write_side(mp_side *s, const uint8_t *bytes, size_t len)
{
    uint64_t deadline = mono_ms() + MP_WRITE_TIMEOUT_MS;
    size_t off = 0;

    while (off < len) {
        size_t piece = len - off < MP_PIECE ? len - off : MP_PIECE;
        int r = pl_tls_conn_write(s->tls, bytes + off, piece);

        if (r == PL_TLS_E_OUTPUT_FULL) {
            if (flush_side(s, deadline) != 0)
                return -1;
            continue;
        }
        if (r != PL_TLS_OK)
            return -1;
        off += piece;
    }
    return flush_side(s, deadline);
}

/* Reads what the socket has (one recv) into the TLS engine. 1 if bytes came, 0 if none,
 * -1 on a failure; sets s->eof at the end of the stream. */
static int fill_side(mp_side *s)
{
    uint8_t buf[16384];
    ssize_t n = recv(s->fd, buf, sizeof buf, MSG_DONTWAIT);
    int r;

    if (n == 0 || (n < 0 && errno == ECONNRESET)) {
        s->eof = 1;
        return 0;
    }
    if (n < 0)
        return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
    r = pl_tls_conn_feed(s->tls, buf, (size_t)n);
    if (r == PL_TLS_E_CLOSED) {
        s->close_notify = 1;
        return 0;
    }
    return r == PL_TLS_OK ? 1 : -1;
}

static int tcp_connect(uint16_t port)
{
    struct sockaddr_in sa = {0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0)
        return -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Opens the upstream side: TCP, then a TLS handshake trusting conn->upstream_cert. 0 or -1. */
static int open_upstream(mp_conn *conn)
{
    mp_side *s = &conn->up;
    pl_tls_ctx *ctx = NULL;
    char err[256];
    uint64_t deadline = mono_ms() + MP_HANDSHAKE_TIMEOUT_MS;
    int r = -1;

    if ((s->fd = tcp_connect(conn->upstream_port)) < 0)
        goto out;
    if (pl_tls_ctx_new_client(&ctx, conn->upstream_cert, err, sizeof err) != PL_TLS_OK) {
        fprintf(stderr, "[mitm_proxy] upstream TLS context: %s\n", err);
        goto out;
    }
    if (pl_tls_conn_new_client(&s->tls, ctx, "127.0.0.1") != PL_TLS_OK)
        goto out;
    while (!pl_tls_conn_handshake_done(s->tls)) {
        struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
        uint64_t now;

        if (flush_side(s, deadline) != 0)
            goto out;
        now = mono_ms();
        if (now >= deadline)
            goto out;
        if (poll(&pfd, 1, (int)(deadline - now)) > 0 && (fill_side(s) < 0 || s->eof))
            goto out;
    }
    if (flush_side(s, deadline) != 0)
        goto out;
    r = 0;
out:
    pl_tls_ctx_free(ctx); /* the connection keeps its own reference */
    return r;
}

/* ------------------------------------------------------------------ requests seen */

static void remember_request(mp_conn *conn, Parley__ClientFrame *f)
{
    mp_pending *slot = &conn->pending[0];

    for (size_t i = 0; i < MP_MAX_PENDING; i++) {
        if (!conn->pending[i].frame) {
            slot = &conn->pending[i];
            break;
        }
        if (conn->pending[i].age < slot->age)
            slot = &conn->pending[i];
    }
    if (slot->frame)
        parley__client_frame__free_unpacked(slot->frame, NULL);
    slot->id = f->request->id;
    slot->age = ++conn->pending_age;
    slot->frame = f;
}

static mp_pending *find_request(mp_conn *conn, uint64_t id)
{
    for (size_t i = 0; i < MP_MAX_PENDING; i++) {
        if (conn->pending[i].frame && conn->pending[i].id == id)
            return &conn->pending[i];
    }
    return NULL;
}

static void forget_request(mp_pending *pend)
{
    if (!pend)
        return;
    parley__client_frame__free_unpacked(pend->frame, NULL);
    pend->frame = NULL;
}

/* ------------------------------------------------------------------ authentication */

/* Remembers the challenge of an AuthChallenge Response (relayed unchanged to the client). */
static void note_challenge(mp_conn *conn, const Parley__ServerFrame *sf)
{
    const Parley__Response *r;

    if (sf->kind_case != PARLEY__SERVER_FRAME__KIND_RESPONSE)
        return;
    r = sf->response;
    if (r->body_case == PARLEY__RESPONSE__BODY_AUTH_CHALLENGE && r->auth_challenge &&
        r->auth_challenge->challenge.len == sizeof conn->challenge) {
        memcpy(conn->challenge, r->auth_challenge->challenge.data, sizeof conn->challenge);
        conn->have_challenge = 1;
    }
}

/*
 * For an AuthProof, the same frame with a signature over the upstream exporter, encoded into
 * *out (malloc'd, length prefix included) when the signer has the device's key. Called with
 * the lock held. Returns 1 if *out was made, else 0.
 */
static int rebind_auth(mp_conn *conn, const Parley__ClientFrame *cf, uint8_t **out, size_t *out_len)
{
    mp_proxy *p = conn->p;
    const Parley__AuthProof *ap;
    Parley__AuthProof proof;
    Parley__Request rq;
    Parley__ClientFrame nf;
    uint8_t exporter[PL_TLS_EXPORTER_BYTES], sig[64];
    size_t cap;

    *out = NULL;
    if (cf->kind_case != PARLEY__CLIENT_FRAME__KIND_REQUEST ||
        cf->request->body_case != PARLEY__REQUEST__BODY_AUTH_PROOF || !p->signer ||
        !conn->have_challenge)
        return 0;
    ap = cf->request->auth_proof;
    if (!ap->username || pl_tls_conn_exporter(conn->up.tls, exporter) != PL_TLS_OK ||
        p->signer(p->signer_arg, ap->username, ap->device_id, conn->challenge, exporter, sig) != 0)
        return 0;
    proof = *ap;
    proof.signature.data = sig;
    proof.signature.len = sizeof sig;
    rq = *cf->request;
    rq.auth_proof = &proof;
    nf = *cf;
    nf.request = &rq;
    cap = pl_frame_client_size(&nf);
    if (!(*out = malloc(cap)) || pl_frame_encode_client(&nf, *out, cap, out_len) != PL_FRAME_OK) {
        free(*out);
        *out = NULL;
        return 0;
    }
    p->stats.auth_rebound++;
    return 1;
}

/* ------------------------------------------------------------------ relaying */

/* Waits ms milliseconds in short slices, returning early if the proxy stops. */
static void hold(mp_proxy *p, unsigned ms)
{
    uint64_t until = mono_ms() + (ms > MP_MAX_DELAY_MS ? MP_MAX_DELAY_MS : ms);

    while (!load_int(&p->stop)) {
        uint64_t now = mono_ms();
        struct timespec ts = {0, 10 * 1000000L};

        if (now >= until)
            break;
        if (until - now < 10)
            ts.tv_nsec = (long)(until - now) * 1000000L;
        nanosleep(&ts, NULL);
    }
}

/*
 * One whole frame body from `from`, going to `to`: decode, hook, relay. from_client says the
 * direction. Returns 0 to go on, -1 to end the connection.
 */
static int relay_frame(mp_conn *conn, int from_client, const uint8_t *body, size_t len)
{
    mp_proxy *p = conn->p;
    mp_side *to = from_client ? &conn->up : &conn->down;
    mp_frame_ctx fx = {0};
    mp_verdict v = MP_FORWARD;
    Parley__ClientFrame *cf = NULL;
    Parley__ServerFrame *sf = NULL;
    mp_pending *answered = NULL;
    uint8_t *rebound = NULL;
    size_t rebound_len = 0;
    int keep_cf = 0, r = -1;

    fx.conn = conn->no;
    if (from_client)
        cf = parley__client_frame__unpack(NULL, len, body);
    else
        sf = parley__server_frame__unpack(NULL, len, body);
    pthread_mutex_lock(&p->lock);
    if (!cf && !sf) {
        p->stats.undecoded_frames++;
    } else if (cf) {
        p->stats.client_frames++;
        fx.frame_no = ++conn->client_frames;
        rebind_auth(conn, cf, &rebound, &rebound_len);
        if (p->client_hook)
            v = p->client_hook(p->hook_arg, &fx, cf);
    } else {
        p->stats.server_frames++;
        fx.frame_no = ++conn->server_frames;
        note_challenge(conn, sf);
        if (sf->kind_case == PARLEY__SERVER_FRAME__KIND_RESPONSE &&
            (answered = find_request(conn, sf->response->id)))
            fx.request = answered->frame->request;
        if (p->server_hook)
            v = p->server_hook(p->hook_arg, &fx, sf);
    }
    if (fx.out_failed)
        v = MP_CLOSE;
    if (v == MP_REPLACE)
        p->stats.replaced++;
    else if (v == MP_DROP)
        p->stats.dropped++;
    else if (v == MP_CLOSE)
        p->stats.closed++;
    pthread_mutex_unlock(&p->lock);

    /* The request stays remembered until its Response has passed the hook. */
    if (cf && cf->kind_case == PARLEY__CLIENT_FRAME__KIND_REQUEST && cf->request->id != 0) {
        remember_request(conn, cf);
        keep_cf = 1;
    }
    forget_request(answered);
    if (v == MP_CLOSE)
        goto out;
    if (fx.delay_ms)
        hold(p, fx.delay_ms);
    if (v == MP_FORWARD && rebound) {
        if (write_side(to, rebound, rebound_len) != 0)
            goto out;
    } else if (v == MP_FORWARD) {
        uint8_t prefix[PL_FRAME_HEADER_BYTES] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16),
                                                 (uint8_t)(len >> 8), (uint8_t)len};

        if (write_side(to, prefix, sizeof prefix) != 0 || write_side(to, body, len) != 0)
            goto out;
    } else if (v == MP_REPLACE && fx.out_len > 0) {
        if (write_side(to, fx.out, fx.out_len) != 0)
            goto out;
    }
    r = 0;
out:
    free(fx.out);
    free(rebound);
    if (!keep_cf && cf)
        parley__client_frame__free_unpacked(cf, NULL);
    if (sf)
        parley__server_frame__free_unpacked(sf, NULL);
    return r;
}

/* Decrypts everything `from` holds and relays each complete frame. 0, or -1 to end. */
static int drain(mp_conn *conn, int from_client)
{
    mp_side *from = from_client ? &conn->down : &conn->up;
    uint8_t pt[MP_PIECE];

    for (;;) {
        size_t n, off = 0;
        int r = pl_tls_conn_read(from->tls, pt, sizeof pt, &n);

        if (r == PL_TLS_E_AGAIN)
            return 0;
        if (r == PL_TLS_E_CLOSED) {
            from->close_notify = 1;
            return 0;
        }
        if (r != PL_TLS_OK)
            return -1;
        while (off < n) {
            const uint8_t *frame;
            size_t used, flen;

            if (pl_frame_reader_feed(from->rd, pt + off, n - off, &used, &frame, &flen) !=
                PL_FRAME_OK)
                return -1;
            off += used;
            if (frame && relay_frame(conn, from_client, frame, flen) != 0)
                return -1;
        }
    }
}

static int ended(const mp_side *s)
{
    return s->eof || s->close_notify;
}

/* Orderly close of a side still open: close_notify, then a short flush. */
static void close_side(mp_side *s)
{
    if (s->fd < 0)
        return;
    if (s->tls && !ended(s) && pl_tls_conn_handshake_done(s->tls) &&
        pl_tls_conn_close(s->tls) == PL_TLS_OK)
        flush_side(s, mono_ms() + MP_CLOSE_FLUSH_MS);
    close(s->fd);
    s->fd = -1;
}

static void *conn_main(void *arg)
{
    mp_conn *conn = arg;
    mp_proxy *p = conn->p;
    int failed = 0;

    if (open_upstream(conn) != 0) {
        count(p, &p->stats.conns_refused);
        goto out;
    }
    while (!load_int(&p->stop) && load_uint(&p->cut_gen) == conn->cut_gen) {
        struct pollfd pfd[2] = {{.fd = conn->down.fd, .events = POLLIN},
                                {.fd = conn->up.fd, .events = POLLIN}};
        int n = poll(pfd, 2, MP_POLL_MS);

        if (n < 0 && errno != EINTR) {
            failed = 1;
            break;
        }
        if (n <= 0)
            continue;
        if ((pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) &&
            (fill_side(&conn->down) < 0 || drain(conn, 1) != 0 ||
             flush_side(&conn->down, mono_ms() + MP_WRITE_TIMEOUT_MS) != 0)) {
            failed = 1;
            break;
        }
        if ((pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) &&
            (fill_side(&conn->up) < 0 || drain(conn, 0) != 0 ||
             flush_side(&conn->up, mono_ms() + MP_WRITE_TIMEOUT_MS) != 0)) {
            failed = 1;
            break;
        }
        if (ended(&conn->down) || ended(&conn->up))
            break;
    }
    if (failed)
        count(p, &p->stats.relay_errors);
out:
    close_side(&conn->up);
    close_side(&conn->down);
    for (size_t i = 0; i < MP_MAX_PENDING; i++)
        forget_request(&conn->pending[i]);
    pl_tls_conn_free(conn->down.tls);
    pl_tls_conn_free(conn->up.tls);
    pl_frame_reader_free(conn->down.rd);
    pl_frame_reader_free(conn->up.rd);
    conn->down.tls = conn->up.tls = NULL;
    conn->down.rd = conn->up.rd = NULL;
    __atomic_store_n(&conn->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* ------------------------------------------------------------------ listener */

/* Joins finished connection threads and frees their slots; with all, waits for every one. */
static void reap(mp_proxy *p)
{
    for (size_t i = 0; i < MP_MAX_CONNS; i++) {
        mp_conn *c = &p->conns[i];

        if (c->used && load_int(&c->done)) {
            pthread_join(c->thread, NULL);
            pthread_mutex_lock(&p->lock);
            c->used = 0;
            pthread_mutex_unlock(&p->lock);
        }
    }
}

static void accept_one(mp_proxy *p, int cfd)
{
    mp_conn *conn = NULL;

    reap(p);
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < MP_MAX_CONNS; i++) {
        if (!p->conns[i].used) {
            conn = &p->conns[i];
            break;
        }
    }
    if (!conn) {
        p->stats.conns_refused++;
        pthread_mutex_unlock(&p->lock);
        close(cfd);
        return;
    }
    memset(conn, 0, sizeof *conn);
    conn->used = 1;
    conn->p = p;
    conn->no = ++p->next_conn_no;
    conn->cut_gen = load_uint(&p->cut_gen);
    conn->upstream_port = p->upstream_port;
    memcpy(conn->upstream_cert, p->upstream_cert, sizeof conn->upstream_cert);
    p->stats.conns_accepted++;
    pthread_mutex_unlock(&p->lock);

    conn->down.fd = cfd;
    conn->down.name = "client";
    conn->up.fd = -1;
    conn->up.name = "upstream";
    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
    if (pl_tls_conn_new(&conn->down.tls, p->server_ctx) != PL_TLS_OK ||
        pl_frame_reader_new(&conn->down.rd, PL_FRAME_MAX_BYTES) != PL_FRAME_OK ||
        pl_frame_reader_new(&conn->up.rd, PL_FRAME_MAX_BYTES) != PL_FRAME_OK ||
        pthread_create(&conn->thread, NULL, conn_main, conn) != 0) {
        count(p, &p->stats.conns_refused);
        pl_tls_conn_free(conn->down.tls);
        pl_frame_reader_free(conn->down.rd);
        pl_frame_reader_free(conn->up.rd);
        close(cfd);
        pthread_mutex_lock(&p->lock);
        conn->used = 0;
        pthread_mutex_unlock(&p->lock);
    }
}

static void *listener_main(void *arg)
{
    mp_proxy *p = arg;

    while (!load_int(&p->stop)) {
        struct pollfd pfd = {.fd = p->lfd, .events = POLLIN};
        int cfd;

        if (poll(&pfd, 1, MP_POLL_MS) <= 0)
            continue;
        if ((cfd = accept(p->lfd, NULL, NULL)) < 0)
            continue;
        accept_one(p, cfd);
    }
    return NULL;
}

/* ------------------------------------------------------------------ public */

static void set_upstream_locked(mp_proxy *p, uint16_t port, const char *cert)
{
    if (strlen(cert) >= sizeof p->upstream_cert)
        fail_msg("upstream certificate path too long: %s", cert);
    p->upstream_port = port;
    snprintf(p->upstream_cert, sizeof p->upstream_cert, "%s", cert);
}

mp_proxy *mp_start(const char *cert_path, const char *key_path, uint16_t upstream_port,
                   const char *upstream_cert_path)
{
    struct sockaddr_in sa = {0};
    socklen_t sl = sizeof sa;
    char err[512];
    mp_proxy *p = calloc(1, sizeof *p);

    if (!p)
        fail_msg("mitm_proxy: out of memory");
    pthread_mutex_init(&p->lock, NULL);
    set_upstream_locked(p, upstream_port, upstream_cert_path);
    if (pl_tls_ctx_new_server(&p->server_ctx, cert_path, key_path, err, sizeof err) != PL_TLS_OK)
        fail_msg("mitm_proxy: cannot load parleyd's certificate: %s", err);
    if ((p->lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
        fail_msg("mitm_proxy: socket: %s", strerror(errno));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(p->lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(p->lfd, 64) != 0 ||
        getsockname(p->lfd, (struct sockaddr *)&sa, &sl) != 0)
        fail_msg("mitm_proxy: cannot listen on 127.0.0.1: %s", strerror(errno));
    p->port = ntohs(sa.sin_port);
    if (pthread_create(&p->listener, NULL, listener_main, p) != 0)
        fail_msg("mitm_proxy: cannot start the listener thread");
    return p;
}

uint16_t mp_port(const mp_proxy *p)
{
    return p->port;
}

void mp_set_hooks(mp_proxy *p, mp_server_hook server_hook, mp_client_hook client_hook, void *arg)
{
    pthread_mutex_lock(&p->lock);
    p->server_hook = server_hook;
    p->client_hook = client_hook;
    p->hook_arg = arg;
    pthread_mutex_unlock(&p->lock);
}

void mp_set_auth_signer(mp_proxy *p, mp_auth_signer signer, void *arg)
{
    pthread_mutex_lock(&p->lock);
    p->signer = signer;
    p->signer_arg = arg;
    pthread_mutex_unlock(&p->lock);
}

void mp_set_upstream(mp_proxy *p, uint16_t port, const char *upstream_cert_path)
{
    pthread_mutex_lock(&p->lock);
    set_upstream_locked(p, port, upstream_cert_path);
    pthread_mutex_unlock(&p->lock);
}

void mp_cut_all(mp_proxy *p)
{
    unsigned gen = __atomic_add_fetch(&p->cut_gen, 1u, __ATOMIC_ACQ_REL);
    uint64_t deadline = mono_ms() + MP_CUT_TIMEOUT_MS;

    for (;;) {
        int live = 0;

        pthread_mutex_lock(&p->lock);
        for (size_t i = 0; i < MP_MAX_CONNS; i++) {
            if (p->conns[i].used && p->conns[i].cut_gen != gen && !load_int(&p->conns[i].done))
                live = 1;
        }
        pthread_mutex_unlock(&p->lock);
        if (!live)
            return;
        if (mono_ms() >= deadline)
            fail_msg("mitm_proxy: connections did not close within %u ms", MP_CUT_TIMEOUT_MS);
        hold(p, 10);
    }
}

void mp_stats_get(mp_proxy *p, mp_stats *out)
{
    pthread_mutex_lock(&p->lock);
    *out = p->stats;
    pthread_mutex_unlock(&p->lock);
}

void mp_lock(mp_proxy *p)
{
    pthread_mutex_lock(&p->lock);
}

void mp_unlock(mp_proxy *p)
{
    pthread_mutex_unlock(&p->lock);
}

void mp_stop(mp_proxy *p)
{
    if (!p)
        return;
    __atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE);
    pthread_join(p->listener, NULL);
    for (size_t i = 0; i < MP_MAX_CONNS; i++) {
        if (p->conns[i].used)
            pthread_join(p->conns[i].thread, NULL);
    }
    close(p->lfd);
    pl_tls_ctx_free(p->server_ctx);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
