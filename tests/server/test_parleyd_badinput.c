/*
 * test_parleyd_badinput.c: hostile and malformed input against a running parleyd
 * (PROTOCOL.md §11.1, §11.2, §11.4, §11.8): bad frames, frame lengths, truncation, unknown
 * kinds and requests, Hello rules, invalid requests and a non-TLS peer. After each, the
 * server must still serve other clients.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "parleyd_test.h"

static ph_server *srv;

static int group_setup(void **state)
{
    (void)state;
    srv = ph_start(NULL);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (srv && srv->pid)
        ph_stop(srv);
    ph_free(srv);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ph_test_teardown(srv);
    return 0;
}

/* The server still answers a fresh client. */
static void assert_server_alive(void)
{
    wc_conn *c = NULL;

    EXPECT(wc_connect(&c, srv->port, srv->cert_path), WC_OK);
    EXPECT(wo_ping(c), ST(OK));
    wc_close(c);
}

/* Opens a connection (after Hello if hello), sends raw plaintext bytes and expects a Goodbye
 * with status want, then the end of the connection. */
static void expect_goodbye_after(int hello, const uint8_t *bytes, size_t len, int want)
{
    wc_conn *c = NULL;
    int code = -1;

    if (hello)
        EXPECT(wc_connect(&c, srv->port, srv->cert_path), WC_OK);
    else
        EXPECT(wc_open(&c, srv->port, srv->cert_path, NULL), WC_OK);
    EXPECT(wc_send_plain(c, bytes, len), WC_OK);
    EXPECT(wc_wait_goodbye(c, WC_TIMEOUT_MS, &code), WC_OK);
    EXPECT(code, want);
    wc_close(c);
    assert_server_alive();
}

static void test_malformed_protobuf(void **state)
{
    /* Length 6, then bytes that are no protobuf (a field with wire type 7). */
    static const uint8_t bad[] = {0, 0, 0, 6, 0x0f, 0xff, 0xff, 0xff, 0xff, 0xff};
    /* A length-delimited field whose length runs past the end. */
    static const uint8_t overrun[] = {0, 0, 0, 3, 0x12, 0x40, 0x08};

    (void)state;
    ph_test_begin();
    expect_goodbye_after(1, bad, sizeof bad, ST(BAD_FRAME));
    expect_goodbye_after(1, overrun, sizeof overrun, ST(BAD_FRAME));
    ph_test_end();
}

static void test_frame_length_zero(void **state)
{
    static const uint8_t zero[] = {0, 0, 0, 0};

    (void)state;
    ph_test_begin();
    expect_goodbye_after(1, zero, sizeof zero, ST(BAD_FRAME));
    ph_test_end();
}

static void test_frame_length_too_large(void **state)
{
    uint8_t big[4];
    uint32_t len = PL_FRAME_MAX_BYTES + 1;
    static const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff};

    (void)state;
    ph_test_begin();
    big[0] = (uint8_t)(len >> 24);
    big[1] = (uint8_t)(len >> 16);
    big[2] = (uint8_t)(len >> 8);
    big[3] = (uint8_t)len;
    expect_goodbye_after(1, big, sizeof big, ST(FRAME_TOO_LARGE));
    expect_goodbye_after(1, huge, sizeof huge, ST(FRAME_TOO_LARGE));
    ph_test_end();
}

static void test_truncated_frame_then_close(void **state)
{
    static const uint8_t part[] = {0, 0, 0, 100, 0x12, 0x62, 0x08, 0x01, 0x6a};
    wc_conn *c = NULL;

    (void)state;
    ph_test_begin();
    EXPECT(wc_connect(&c, srv->port, srv->cert_path), WC_OK);
    EXPECT(wc_send_plain(c, part, sizeof part), WC_OK);
    wc_close(c); /* close_notify in the middle of the frame */
    EXPECT(wc_connect(&c, srv->port, srv->cert_path), WC_OK);
    EXPECT(wc_send_plain(c, part, 2), WC_OK); /* inside the length prefix */
    shutdown(wc_fd(c), SHUT_RDWR);            /* and a TCP close without close_notify */
    wc_close(c);
    assert_server_alive();
    ph_test_end();
}

static void test_unknown_frame_kind(void **state)
{
    /* ClientFrame field 7 (reserved, unknown to the server), empty. */
    static const uint8_t unknown[] = {0, 0, 0, 2, 0x3a, 0x00};

    (void)state;
    ph_test_begin();
    expect_goodbye_after(1, unknown, sizeof unknown, ST(BAD_FRAME));
    ph_test_end();
}

static void test_unknown_request_stays_open(void **state)
{
    /* Request {id 5, field 50 (reserved for later requests): empty}. */
    static const uint8_t req[] = {0, 0, 0, 7, 0x12, 0x05, 0x08, 0x05, 0x92, 0x03, 0x00};
    wc_conn *c = NULL;
    Parley__ServerFrame *f = NULL;

    (void)state;
    ph_test_begin();
    EXPECT(wc_connect(&c, srv->port, srv->cert_path), WC_OK);
    EXPECT(wc_send_plain(c, req, sizeof req), WC_OK);
    EXPECT(wc_read_frame(c, &f, WC_TIMEOUT_MS), WC_OK);
    assert_int_equal(f->kind_case, PARLEY__SERVER_FRAME__KIND_RESPONSE);
    assert_int_equal(f->response->id, 5);
    EXPECT(wc_status(f), ST(UNKNOWN_REQUEST));
    pl_frame_server_free(f);
    EXPECT(wo_ping(c), ST(OK));
    wc_close(c);
    ph_test_end();
}

static void test_invalid_request_fields_stay_open(void **state)
{
    wc_conn *c = NULL;
    uint8_t key[PL_PUBKEY_BYTES] = {1}, rec[PL_DEVICE_RECORD_BYTES] = {0}, sig[64] = {0};
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__RegisterAccount body = PARLEY__REGISTER_ACCOUNT__INIT;

    (void)state;
    ph_test_begin();
    EXPECT(wc_connect(&c, srv->port, srv->cert_path), WC_OK);
    /* A 10-byte account key. */
    body.username = "shortkey";
    body.account_key = (ProtobufCBinaryData){10, key};
    body.device_record = (ProtobufCBinaryData){PL_DEVICE_RECORD_BYTES, rec};
    req.body_case = PARLEY__REQUEST__BODY_REGISTER_ACCOUNT;
    req.register_account = &body;
    {
        Parley__ServerFrame *f = NULL;

        EXPECT(wc_request(c, &req, &f, WC_TIMEOUT_MS), WC_OK);
        EXPECT(wc_status(f), ST(BAD_REQUEST));
        pl_frame_server_free(f);
    }
    /* A missing username; a 63-byte signature. */
    EXPECT(wo_register(c, "", key, rec), ST(BAD_REQUEST));
    {
        Parley__Request r2 = PARLEY__REQUEST__INIT;
        Parley__RemoveDevice rd = PARLEY__REMOVE_DEVICE__INIT;
        Parley__ServerFrame *f = NULL;

        rd.username = "someone";
        rd.device_id = 1;
        rd.signature = (ProtobufCBinaryData){63, sig};
        r2.body_case = PARLEY__REQUEST__BODY_REMOVE_DEVICE;
        r2.remove_device = &rd;
        EXPECT(wc_request(c, &r2, &f, WC_TIMEOUT_MS), WC_OK);
        EXPECT(wc_status(f), ST(BAD_REQUEST));
        pl_frame_server_free(f);
    }
    /* Ack: more than PL_WIRE_MAX_ACKS sequence numbers, and a seq of 0 (checked before
     * authentication, by the frame validator). */
    {
        uint64_t seqs[PL_WIRE_MAX_ACKS + 1];

        for (size_t i = 0; i < PL_WIRE_MAX_ACKS + 1; i++)
            seqs[i] = i + 1;
        EXPECT(wo_ack(c, seqs, PL_WIRE_MAX_ACKS + 1), ST(BAD_REQUEST));
        seqs[0] = 0;
        EXPECT(wo_ack(c, seqs, 1), ST(BAD_REQUEST));
    }
    /* The connection is still good. */
    EXPECT(wo_ping(c), ST(OK));
    wc_close(c);
    ph_test_end();
}

static void test_request_id_zero(void **state)
{
    /* Request {ping {}} without an id: not answerable by id, so Goodbye. */
    static const uint8_t req[] = {0, 0, 0, 4, 0x12, 0x02, 0x6a, 0x00};

    (void)state;
    ph_test_begin();
    expect_goodbye_after(1, req, sizeof req, ST(BAD_REQUEST));
    ph_test_end();
}

static void test_request_before_hello(void **state)
{
    static const uint8_t ping[] = {0, 0, 0, 6, 0x12, 0x04, 0x08, 0x01, 0x6a, 0x00};

    (void)state;
    ph_test_begin();
    expect_goodbye_after(0, ping, sizeof ping, ST(PROTOCOL_VIOLATION));
    ph_test_end();
}

static void test_hello_twice(void **state)
{
    wc_conn *c = NULL;
    int code = -1;

    (void)state;
    ph_test_begin();
    EXPECT(wc_connect(&c, srv->port, srv->cert_path), WC_OK);
    EXPECT(wc_hello(c, 1, 1, NULL), WC_GOODBYE);
    EXPECT(wc_goodbye_code(c), ST(PROTOCOL_VIOLATION));
    EXPECT(wc_wait_goodbye(c, WC_TIMEOUT_MS, &code), WC_OK);
    wc_close(c);
    assert_server_alive();
    ph_test_end();
}

static void test_hello_versions(void **state)
{
    wc_conn *c = NULL;
    Parley__ServerFrame *f = NULL;
    int code = -1;

    (void)state;
    ph_test_begin();
    /* No common version. */
    EXPECT(wc_open(&c, srv->port, srv->cert_path, NULL), WC_OK);
    EXPECT(wc_hello(c, 2, 3, NULL), WC_GOODBYE);
    EXPECT(wc_goodbye_code(c), ST(UNSUPPORTED_VERSION));
    EXPECT(wc_wait_goodbye(c, WC_TIMEOUT_MS, &code), WC_OK);
    wc_close(c);
    /* A wider range: the server picks 1, and announces its limits. */
    EXPECT(wc_open(&c, srv->port, srv->cert_path, NULL), WC_OK);
    EXPECT(wc_hello(c, 1, 7, &f), WC_OK);
    assert_int_equal(f->hello_reply->version, 1);
    assert_int_equal(f->hello_reply->limits->max_frame_bytes, PL_FRAME_MAX_BYTES);
    assert_int_equal(f->hello_reply->limits->max_ciphertext_bytes, PL_WIRE_MAX_CIPHERTEXT_BYTES);
    assert_int_equal(f->hello_reply->limits->max_devices_per_account, 6);
    assert_int_equal(f->hello_reply->limits->max_onetime_prekeys, 100);
    assert_int_equal(f->hello_reply->limits->max_onetime_prekeys_per_upload, 100);
    assert_int_equal(f->hello_reply->limits->max_acks_per_request, 256);
    assert_int_equal(f->hello_reply->limits->max_frames_per_second, 100);
    assert_true(f->hello_reply->limits->max_username_bytes >= 32);
    pl_frame_server_free(f);
    EXPECT(wo_ping(c), ST(OK));
    wc_close(c);
    /* An invalid Hello: min_version 0, and min above max. */
    EXPECT(wc_open(&c, srv->port, srv->cert_path, NULL), WC_OK);
    EXPECT(wc_hello(c, 0, 1, NULL), WC_GOODBYE);
    EXPECT(wc_goodbye_code(c), ST(BAD_REQUEST));
    wc_close(c);
    EXPECT(wc_open(&c, srv->port, srv->cert_path, NULL), WC_OK);
    EXPECT(wc_hello(c, 3, 2, NULL), WC_GOODBYE);
    EXPECT(wc_goodbye_code(c), ST(BAD_REQUEST));
    wc_close(c);
    assert_server_alive();
    ph_test_end();
}

static void test_garbage_instead_of_tls(void **state)
{
    static const char garbage[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    struct sockaddr_in sa = {0};
    int fd;
    char buf[4096];
    uint64_t deadline;
    int closed = 0;

    (void)state;
    ph_test_begin();
    assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(srv->port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(send(fd, garbage, sizeof garbage - 1, MSG_NOSIGNAL),
                     (ssize_t)(sizeof garbage - 1));
    /* The server closes the connection (possibly after a TLS alert). */
    deadline = ph_mono_ms() + WC_TIMEOUT_MS;
    while (!closed && ph_mono_ms() < deadline) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        ssize_t n;

        if (poll(&pfd, 1, 100) <= 0)
            continue;
        n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            closed = 1;
    }
    close(fd);
    if (!closed)
        fail_msg("the server kept a non-TLS connection open for %u ms", WC_TIMEOUT_MS);
    assert_server_alive();
    ph_test_end();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_malformed_protobuf, teardown),
        cmocka_unit_test_teardown(test_frame_length_zero, teardown),
        cmocka_unit_test_teardown(test_frame_length_too_large, teardown),
        cmocka_unit_test_teardown(test_truncated_frame_then_close, teardown),
        cmocka_unit_test_teardown(test_unknown_frame_kind, teardown),
        cmocka_unit_test_teardown(test_unknown_request_stays_open, teardown),
        cmocka_unit_test_teardown(test_invalid_request_fields_stay_open, teardown),
        cmocka_unit_test_teardown(test_request_id_zero, teardown),
        cmocka_unit_test_teardown(test_request_before_hello, teardown),
        cmocka_unit_test_teardown(test_hello_twice, teardown),
        cmocka_unit_test_teardown(test_hello_versions, teardown),
        cmocka_unit_test_teardown(test_garbage_instead_of_tls, teardown),
    };

    if (pl_init() != PL_OK)
        return 1;
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
