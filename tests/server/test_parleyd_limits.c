/*
 * test_parleyd_limits.c: parleyd's resource limits against a running server (PROTOCOL.md
 * §11.2, §11.9): a slow reader is closed while other clients keep prompt service, frames per
 * second per connection, the connection limit; and the admin endpoints.
 */
#include "parleyd_test.h"

static ph_server *own;

static int teardown(void **state)
{
    (void)state;
    ph_test_teardown(NULL);
    ph_free(own);
    own = NULL;
    return 0;
}

#define SLOW_SENDS 128
#define SLOW_BYTES (64 * 1024)
#define PROMPT_MS 2000u
#define SLOW_METRIC "parleyd_refusals_total{reason=\"slow_reader\"}"

/* Whether the server has closed a slow reader yet (its refusal counter). */
static int slow_reader_closed(void)
{
    double v = 0;

    return ph_metric(own, SLOW_METRIC, &v) == 0 && v >= 1;
}

static void test_slow_reader_is_closed(void **state)
{
    wi_account *a, *b, *c3;
    wc_conn *ca, *cb, *cc;
    wc_opts small = {.rcvbuf = 4096};
    char *big = malloc(SLOW_BYTES + 1);
    uint8_t challenge[32], exporter[32], sig[64];
    int r = WC_OK, received = 0, sent = 0, closed = 0;
    uint64_t deadline;

    (void)state;
    ph_test_begin();
    own = ph_start((const char *const[]){"server.write_timeout=1s", NULL});
    a = wo_new_user(own->port, own->cert_path, "fast", NULL);
    b = wo_new_user(own->port, own->cert_path, "slow", NULL);
    c3 = wo_new_user(own->port, own->cert_path, "other", NULL);
    /* b: a small receive buffer, authenticated, then it stops reading. */
    EXPECT(wc_open(&cb, own->port, own->cert_path, &small), WC_OK);
    EXPECT(wc_hello(cb, 1, 1, NULL), WC_OK);
    EXPECT(wo_challenge(cb, challenge), ST(OK));
    EXPECT(wc_exporter(cb, exporter), WC_OK);
    wi_auth_signature(&b->devices[0], challenge, exporter, b->username, sig);
    EXPECT(wo_proof(cb, b->username, 1, sig, NULL), ST(OK));
    ca = wo_login(own->port, own->cert_path, a, &a->devices[0]);
    cc = wo_login(own->port, own->cert_path, c3, &c3->devices[0]);
    memset(big, 'z', SLOW_BYTES);
    big[SLOW_BYTES] = '\0';
    /* Push until the server gives up on b (at most SLOW_SENDS * 64 KiB = 8 MiB); the other
     * clients get prompt answers all along. */
    while (sent < SLOW_SENDS && !slow_reader_closed()) {
        uint64_t t = ph_mono_ms();

        EXPECT(wo_send_text(ca, a, 1, b, big, NULL, NULL), ST(OK));
        sent++;
        EXPECT(wo_ping(cc), ST(OK));
        if (ph_mono_ms() - t > PROMPT_MS)
            fail_msg("a send and a ping took %llu ms while a reader was slow",
                     (unsigned long long)(ph_mono_ms() - t));
    }
    /* write_timeout is 1 s: the close follows within a few seconds (bounded poll). */
    deadline = ph_mono_ms() + 10000;
    while (!(closed = slow_reader_closed()) && ph_mono_ms() < deadline) {
        EXPECT(wo_ping(cc), ST(OK));
        ph_sleep_ms(50);
    }
    if (!closed)
        fail_msg("the slow reader was not closed within 10 s of %d sends (%s stayed 0)", sent,
                 SLOW_METRIC);
    /* b reads what the kernel buffered, then the connection ends. */
    for (int i = 0; i <= sent + 10; i++) {
        Parley__ServerFrame *f = NULL;

        if ((r = wc_read_frame(cb, &f, WC_TIMEOUT_MS)) != WC_OK)
            break;
        if (f->kind_case == PARLEY__SERVER_FRAME__KIND_PUSH &&
            f->push->kind_case == PARLEY__PUSH__KIND_ENVELOPE)
            received++;
        pl_frame_server_free(f);
    }
    fprintf(stderr, "[slow] %d sent, %d read by the slow reader, then %s\n", sent, received,
            wc_name(r));
    if (r != WC_EOF && r != WC_ERROR)
        fail_msg("the slow reader's connection did not end: %s", wc_name(r));
    assert_true(received < sent);
    /* The envelopes are still in the mailbox: a reading client gets them all. */
    wc_close(cb);
    cb = wo_login(own->port, own->cert_path, b, &b->devices[0]);
    for (int i = 0; i < sent; i++) {
        Parley__ServerFrame *f = NULL;

        EXPECT(wo_next_envelope(cb, &f, WC_TIMEOUT_MS), WC_OK);
        pl_frame_server_free(f);
    }
    EXPECT(wo_expect_queue_empty(cb, WC_TIMEOUT_MS), WC_OK);
    wc_close(cb);
    wc_close(ca);
    wc_close(cc);
    free(big);
    wi_account_free(a);
    wi_account_free(b);
    wi_account_free(c3);
    ph_stop(own);
    ph_test_end();
}

static void test_frames_per_second(void **state)
{
    wc_conn *c = NULL, *other = NULL;
    int ok = 0, limited = 0;
    uint32_t retry = 0;
    uint64_t deadline;

    (void)state;
    ph_test_begin();
    own = ph_start(
        (const char *const[]){"server.frames_per_second=5", "server.frames_burst=5", NULL});
    EXPECT(wc_connect(&c, own->port, own->cert_path), WC_OK);
    for (int i = 0; i < 12; i++) {
        Parley__Request req = PARLEY__REQUEST__INIT;
        Parley__Ping ping = PARLEY__PING__INIT;
        Parley__ServerFrame *f = NULL;

        req.body_case = PARLEY__REQUEST__BODY_PING;
        req.ping = &ping;
        EXPECT(wc_request(c, &req, &f, WC_TIMEOUT_MS), WC_OK);
        if (wc_status(f) == ST(OK)) {
            ok++;
        } else {
            EXPECT(wc_status(f), ST(RATE_LIMITED));
            retry = f->response->status->retry_after_ms;
            limited++;
        }
        pl_frame_server_free(f);
    }
    fprintf(stderr, "[fps] %d ok, %d rate limited, retry_after_ms %u\n", ok, limited, retry);
    assert_true(limited > 0);
    assert_true(ok <= 6); /* the burst, plus what refilled meanwhile */
    assert_true(retry > 0 && retry <= 1000);
    /* Another connection has its own bucket. */
    EXPECT(wc_connect(&other, own->port, own->cert_path), WC_OK);
    EXPECT(wo_ping(other), ST(OK));
    wc_close(other);
    /* After the wait it is served again. */
    deadline = ph_mono_ms() + 5000;
    ph_sleep_ms(retry);
    while (wo_ping(c) != ST(OK)) {
        if (ph_mono_ms() > deadline)
            fail_msg("still rate limited 5 s later");
        ph_sleep_ms(100);
    }
    wc_close(c);
    ph_stop(own);
    ph_test_end();
}

/* One BlobGet of an unknown blob: whatever the answer, it went through the rate limiter. */
static uint32_t blob_get_status(wc_conn *c, uint32_t *retry)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__BlobGet body = PARLEY__BLOB_GET__INIT;
    Parley__ServerFrame *f = NULL;
    uint8_t id[16] = {7};
    uint32_t st;

    body.blob_id.data = id;
    body.blob_id.len = sizeof id;
    body.max = 1024;
    req.body_case = PARLEY__REQUEST__BODY_BLOB_GET;
    req.blob_get = &body;
    EXPECT(wc_request(c, &req, &f, WC_TIMEOUT_MS), WC_OK);
    st = wc_status(f);
    if (st == ST(RATE_LIMITED))
        *retry = f->response->status->retry_after_ms;
    pl_frame_server_free(f);
    return st;
}

/*
 * BlobPut and BlobGet draw from a bucket of their own ([blobs] frames_per_second,
 * frames_burst): past its burst a BlobGet is RATE_LIMITED, and the connection's other requests
 * are still served from the untouched frame bucket ([server]).
 */
static void test_blob_frames_have_their_own_bucket(void **state)
{
    wc_conn *c = NULL;
    int limited = 0, passed = 0;
    uint32_t retry = 0;

    (void)state;
    ph_test_begin();
    own =
        ph_start((const char *const[]){"server.frames_per_second=5", "server.frames_burst=5",
                                       "blobs.frames_per_second=5", "blobs.frames_burst=5", NULL});
    EXPECT(wc_connect(&c, own->port, own->cert_path), WC_OK);
    for (int i = 0; i < 10; i++) {
        if (blob_get_status(c, &retry) == ST(RATE_LIMITED))
            limited++;
        else
            passed++;
    }
    fprintf(stderr, "[blob fps] %d passed the limiter, %d rate limited, retry_after_ms %u\n",
            passed, limited, retry);
    assert_true(limited > 0);
    assert_true(passed <= 6); /* the burst, plus what refilled meanwhile */
    assert_true(retry > 0 && retry <= 1000);
    /* The frame bucket was not drawn from: its burst of 5 is all there. */
    for (int i = 0; i < 4; i++)
        EXPECT(wo_ping(c), ST(OK));
    wc_close(c);
    ph_stop(own);
    ph_test_end();
}

static void test_max_connections(void **state)
{
    wc_conn *c[3] = {NULL}, *extra = NULL;
    int r, served = 0;
    uint64_t deadline;

    (void)state;
    ph_test_begin();
    own = ph_start((const char *const[]){"server.max_connections=3", NULL});
    for (int i = 0; i < 3; i++)
        EXPECT(wc_connect(&c[i], own->port, own->cert_path), WC_OK);
    r = wc_open(&extra, own->port, own->cert_path, NULL);
    if (r == WC_OK) {
        int code = -1;

        r = wc_hello(extra, 1, 1, NULL);
        if (r != WC_GOODBYE && r != WC_EOF)
            fail_msg("a 4th connection got %s, expected Goodbye STATUS_SERVER_BUSY", wc_name(r));
        EXPECT(wc_goodbye_code(extra), ST(SERVER_BUSY));
        wc_wait_goodbye(extra, WC_TIMEOUT_MS, &code);
        wc_close(extra);
    } else {
        fail_msg("a 4th connection failed before TLS completed; expected Goodbye SERVER_BUSY");
    }
    for (int i = 0; i < 3; i++)
        EXPECT(wo_ping(c[i]), ST(OK));
    /* Closing one makes room (the server notices the close asynchronously: poll). */
    wc_close(c[0]);
    deadline = ph_mono_ms() + 5000;
    while (!served && ph_mono_ms() < deadline) {
        if (wc_connect(&c[0], own->port, own->cert_path) == WC_OK && wo_ping(c[0]) == ST(OK))
            served = 1;
        else {
            wc_close(c[0]);
            c[0] = NULL;
            ph_sleep_ms(20);
        }
    }
    assert_true(served);
    for (int i = 0; i < 3; i++)
        wc_close(c[i]);
    ph_stop(own);
    ph_test_end();
}

static void test_admin_endpoints(void **state)
{
    char *body = malloc(1 << 20);

    (void)state;
    ph_test_begin();
    own = ph_start(NULL);
    assert_int_not_equal(own->admin_port, 0);
    EXPECT(ph_admin_get(own, "/healthz", body, 1 << 20), 200);
    EXPECT(ph_admin_get(own, "/readyz", body, 1 << 20), 200);
    EXPECT(ph_admin_get(own, "/metrics", body, 1 << 20), 200);
    if (!strstr(body, "parleyd_"))
        fail_msg("/metrics has no parleyd_ metric:\n%.2000s", body);
    if (!strstr(body, "# TYPE"))
        fail_msg("/metrics is not Prometheus text (no # TYPE line)");
    EXPECT(ph_admin_get(own, "/no-such-page", body, 1 << 20), 404);
    fprintf(stderr, "[admin] metrics start:\n%.600s\n", body);
    free(body);
    ph_stop(own);
    ph_test_end();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_slow_reader_is_closed, teardown),
        cmocka_unit_test_teardown(test_frames_per_second, teardown),
        cmocka_unit_test_teardown(test_blob_frames_have_their_own_bucket, teardown),
        cmocka_unit_test_teardown(test_max_connections, teardown),
        cmocka_unit_test_teardown(test_admin_endpoints, teardown),
    };

    if (pl_init() != PL_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
