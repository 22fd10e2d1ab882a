/*
 * test_wire_client.c: the integration tests' client (wire_client.c) against a scripted
 * in-process server built from the same TLS engine and frame codec, so that a failure in
 * test_parleyd_* points at parleyd, not at the client: handshake and Hello, a Response with a
 * Push queued before it, the exporter (both ends agree), a Goodbye and the close.
 */
#define _DEFAULT_SOURCE

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "parleyd_test.h"
#include "tls_cert.h"
#include "tls_conn.h"
#include "tls_ctx.h"

static char dir[] = "/tmp/parley-wc-XXXXXX";
static char cert[256], key[256];

struct mock {
    int lfd;
    uint16_t port;
    pthread_t thread;
    int error; /* line of the first failure in the server thread, 0 if none */
};

#define MOCK_FAIL(m)                                                                               \
    do {                                                                                           \
        (m)->error = __LINE__;                                                                     \
        goto out;                                                                                  \
    } while (0)

static int flush_out(int fd, pl_tls_conn *t)
{
    const uint8_t *p;
    size_t len;

    for (;;) {
        ssize_t n;

        pl_tls_conn_pending_output(t, &p, &len);
        if (len == 0)
            return 0;
        if ((n = send(fd, p, len, MSG_NOSIGNAL)) <= 0)
            return -1;
        pl_tls_conn_consume_output(t, (size_t)n);
    }
}

/* Reads the next client frame (blocking, 5 s per read). */
static Parley__ClientFrame *next_client_frame(int fd, pl_tls_conn *t, pl_frame_reader *rd,
                                              uint8_t *pt, size_t *off, size_t *len)
{
    for (int guard = 0; guard < 10000; guard++) {
        const uint8_t *frame;
        size_t used, flen, n;
        uint8_t buf[16384];
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        ssize_t got;
        Parley__ClientFrame *f = NULL;

        if (*len > 0) {
            if (pl_frame_reader_feed(rd, pt + *off, *len, &used, &frame, &flen) != PL_FRAME_OK)
                return NULL;
            *off += used;
            *len -= used;
            if (frame)
                return pl_frame_decode_client(frame, flen, &f, NULL) == PL_FRAME_OK ? f : NULL;
            continue;
        }
        *off = 0;
        if (pl_tls_conn_read(t, pt, 16384, &n) == PL_TLS_OK) {
            *len = n;
            continue;
        }
        if (flush_out(fd, t) != 0 || poll(&pfd, 1, 5000) <= 0)
            return NULL;
        if ((got = recv(fd, buf, sizeof buf, 0)) <= 0)
            return NULL;
        if (pl_tls_conn_feed(t, buf, (size_t)got) != PL_TLS_OK)
            return NULL;
        if (flush_out(fd, t) != 0)
            return NULL;
    }
    return NULL;
}

static int send_server_frame(int fd, pl_tls_conn *t, const Parley__ServerFrame *f)
{
    uint8_t buf[4096];
    size_t len;

    if (pl_frame_encode_server(f, buf, sizeof buf, &len) != PL_FRAME_OK ||
        pl_tls_conn_write(t, buf, len) != PL_TLS_OK)
        return -1;
    return flush_out(fd, t);
}

/* The script: Hello -> HelloReply; Ping -> Push(QueueEmpty) + Response OK; AuthChallenge ->
 * Response whose challenge is the server's exporter; then Goodbye(TIMEOUT) and close. */
static void *mock_thread(void *arg)
{
    struct mock *m = arg;
    pl_tls_ctx *ctx = NULL;
    pl_tls_conn *t = NULL;
    pl_frame_reader *rd = NULL;
    Parley__ClientFrame *cf = NULL;
    uint8_t *pt = malloc(16384), exporter[32];
    size_t off = 0, len = 0;
    char err[256];
    int fd = -1;

    if (pl_tls_ctx_new_server(&ctx, cert, key, err, sizeof err) != PL_TLS_OK ||
        pl_tls_conn_new(&t, ctx) != PL_TLS_OK ||
        pl_frame_reader_new(&rd, PL_FRAME_MAX_BYTES) != PL_FRAME_OK || !pt)
        MOCK_FAIL(m);
    if ((fd = accept(m->lfd, NULL, NULL)) < 0)
        MOCK_FAIL(m);
    if (!(cf = next_client_frame(fd, t, rd, pt, &off, &len)) ||
        cf->kind_case != PARLEY__CLIENT_FRAME__KIND_HELLO)
        MOCK_FAIL(m);
    {
        Parley__ServerFrame sf = PARLEY__SERVER_FRAME__INIT;
        Parley__HelloReply hr = PARLEY__HELLO_REPLY__INIT;
        Parley__Limits lim = PARLEY__LIMITS__INIT;

        hr.version = 1;
        hr.limits = &lim;
        hr.server = "mock";
        sf.kind_case = PARLEY__SERVER_FRAME__KIND_HELLO_REPLY;
        sf.hello_reply = &hr;
        if (send_server_frame(fd, t, &sf) != 0)
            MOCK_FAIL(m);
    }
    pl_frame_client_free(cf);
    if (!(cf = next_client_frame(fd, t, rd, pt, &off, &len)) ||
        cf->kind_case != PARLEY__CLIENT_FRAME__KIND_REQUEST ||
        cf->request->body_case != PARLEY__REQUEST__BODY_PING)
        MOCK_FAIL(m);
    {
        Parley__ServerFrame sf = PARLEY__SERVER_FRAME__INIT;
        Parley__Push push = PARLEY__PUSH__INIT;
        Parley__QueueEmpty qe = PARLEY__QUEUE_EMPTY__INIT;
        Parley__Response resp = PARLEY__RESPONSE__INIT;
        Parley__Status st = PARLEY__STATUS__INIT;
        Parley__Empty empty = PARLEY__EMPTY__INIT;

        push.kind_case = PARLEY__PUSH__KIND_QUEUE_EMPTY;
        push.queue_empty = &qe;
        sf.kind_case = PARLEY__SERVER_FRAME__KIND_PUSH;
        sf.push = &push;
        if (send_server_frame(fd, t, &sf) != 0)
            MOCK_FAIL(m);
        resp.id = cf->request->id;
        resp.status = &st;
        resp.body_case = PARLEY__RESPONSE__BODY_PING;
        resp.ping = &empty;
        sf.kind_case = PARLEY__SERVER_FRAME__KIND_RESPONSE;
        sf.response = &resp;
        if (send_server_frame(fd, t, &sf) != 0)
            MOCK_FAIL(m);
    }
    pl_frame_client_free(cf);
    if (!(cf = next_client_frame(fd, t, rd, pt, &off, &len)) ||
        cf->kind_case != PARLEY__CLIENT_FRAME__KIND_REQUEST ||
        cf->request->body_case != PARLEY__REQUEST__BODY_AUTH_CHALLENGE)
        MOCK_FAIL(m);
    if (pl_tls_conn_exporter(t, exporter) != PL_TLS_OK)
        MOCK_FAIL(m);
    {
        Parley__ServerFrame sf = PARLEY__SERVER_FRAME__INIT;
        Parley__Response resp = PARLEY__RESPONSE__INIT;
        Parley__Status st = PARLEY__STATUS__INIT;
        Parley__AuthChallenge ch = PARLEY__AUTH_CHALLENGE__INIT;
        Parley__Goodbye bye = PARLEY__GOODBYE__INIT;
        Parley__Status byest = PARLEY__STATUS__INIT;

        ch.challenge = (ProtobufCBinaryData){32, exporter};
        resp.id = cf->request->id;
        resp.status = &st;
        resp.body_case = PARLEY__RESPONSE__BODY_AUTH_CHALLENGE;
        resp.auth_challenge = &ch;
        sf.kind_case = PARLEY__SERVER_FRAME__KIND_RESPONSE;
        sf.response = &resp;
        if (send_server_frame(fd, t, &sf) != 0)
            MOCK_FAIL(m);
        byest.code = PARLEY__STATUS_CODE__STATUS_TIMEOUT;
        bye.status = &byest;
        sf.kind_case = PARLEY__SERVER_FRAME__KIND_GOODBYE;
        sf.goodbye = &bye;
        if (send_server_frame(fd, t, &sf) != 0)
            MOCK_FAIL(m);
        pl_tls_conn_close(t);
        flush_out(fd, t);
    }
out:
    pl_frame_client_free(cf);
    if (fd >= 0)
        close(fd);
    pl_frame_reader_free(rd);
    pl_tls_conn_free(t);
    pl_tls_ctx_free(ctx);
    free(pt);
    return NULL;
}

static void mock_start(struct mock *m)
{
    struct sockaddr_in sa = {0};
    socklen_t sl = sizeof sa;

    memset(m, 0, sizeof *m);
    assert_true((m->lfd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(m->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(m->lfd, 4), 0);
    assert_int_equal(getsockname(m->lfd, (struct sockaddr *)&sa, &sl), 0);
    m->port = ntohs(sa.sin_port);
    assert_int_equal(pthread_create(&m->thread, NULL, mock_thread, m), 0);
}

static void test_client_against_scripted_server(void **state)
{
    struct mock m;
    wc_conn *c = NULL;
    Parley__ServerFrame *f = NULL;
    uint8_t challenge[32], exporter[32];
    int code = -1;

    (void)state;
    mock_start(&m);
    EXPECT(wc_connect(&c, m.port, cert), WC_OK);
    EXPECT(wo_ping(c), ST(OK));
    assert_int_equal(wc_pushes_queued(c), 1);
    EXPECT(wc_next_push(c, &f, 1000), WC_OK);
    assert_int_equal(f->push->kind_case, PARLEY__PUSH__KIND_QUEUE_EMPTY);
    pl_frame_server_free(f);
    EXPECT(wo_challenge(c, challenge), ST(OK));
    EXPECT(wc_exporter(c, exporter), WC_OK);
    assert_memory_equal(challenge, exporter, 32); /* both ends computed the same exporter */
    EXPECT(wc_wait_goodbye(c, 5000, &code), WC_OK);
    EXPECT(code, ST(TIMEOUT));
    wc_close(c);
    pthread_join(m.thread, NULL);
    close(m.lfd);
    if (m.error)
        fail_msg("scripted server failed at line %d", m.error);
}

static void test_client_refuses_untrusted_server(void **state)
{
    char other[] = "/tmp/parley-wc2-XXXXXX", ocert[256], okey[256], err[256];
    struct mock m;
    wc_conn *c = NULL;
    int created;

    (void)state;
    assert_non_null(mkdtemp(other));
    assert_int_equal(pl_tls_cert_ensure(other, NULL, 0, &created, err, sizeof err), PL_TLS_OK);
    pl_tls_cert_default_paths(other, ocert, okey, sizeof ocert);
    mock_start(&m);
    EXPECT(wc_open(&c, m.port, ocert, NULL), WC_ERROR);
    pthread_join(m.thread, NULL);
    close(m.lfd);
    ph_rm_rf(other);
}

static int group_setup(void **state)
{
    int created;
    char err[256];

    (void)state;
    if (!mkdtemp(dir) || pl_tls_cert_ensure(dir, NULL, 0, &created, err, sizeof err) != PL_TLS_OK)
        return -1;
    pl_tls_cert_default_paths(dir, cert, key, sizeof cert);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    ph_rm_rf(dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_against_scripted_server),
        cmocka_unit_test(test_client_refuses_untrusted_server),
    };

    if (pl_init() != PL_OK)
        return 1;
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
