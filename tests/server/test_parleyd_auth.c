/*
 * test_parleyd_auth.c: integration tests of device authentication against a running parleyd
 * (PROTOCOL.md §11.6): challenge and proof, every way a proof fails, replays on the same and
 * on another connection, the three-failure close, requests before authentication, and a
 * second connection of one device replacing the first.
 */
#include <sodium.h>

#include "parley/statement.h"
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

static wc_conn *connect_srv(void)
{
    wc_conn *c = NULL;

    EXPECT(wc_connect(&c, srv->port, srv->cert_path), WC_OK);
    return c;
}

/* libparley's statements are the ones PROTOCOL.md describes (no server needed). */
static void test_statements_match_protocol(void **state)
{
    wi_account *a = wi_account_new("statement");
    uint8_t challenge[32], exporter[32], s1[64], s2[64];

    (void)state;
    randombytes_buf(challenge, sizeof challenge);
    randombytes_buf(exporter, sizeof exporter);
    wi_auth_signature(&a->devices[0], challenge, exporter, a->username, s1);
    wi_auth_signature_spec(&a->devices[0], challenge, exporter, a->username, s2);
    assert_memory_equal(s1, s2, 64);
    assert_int_equal(pl_auth_verify(a->devices[0].identity_key, challenge, exporter, a->username,
                                    strlen(a->username), 1, s1),
                     PL_OK);
    wi_removal_signature(a, 7, s1);
    wi_removal_signature_spec(a, 7, s2);
    assert_memory_equal(s1, s2, 64);
    assert_int_equal(pl_removal_verify(a->account_key, 7, s1), PL_OK);
    wi_account_free(a);
}

static void test_auth_ok(void **state)
{
    wi_account *a;
    wc_conn *c;
    uint8_t challenge[32], exporter[32], sig[64];
    Parley__ServerFrame *f = NULL;

    (void)state;
    ph_test_begin();
    a = wo_new_user(srv->port, srv->cert_path, "auth", &c);
    EXPECT(wo_challenge(c, challenge), ST(OK));
    EXPECT(wc_exporter(c, exporter), WC_OK);
    wi_auth_signature(&a->devices[0], challenge, exporter, a->username, sig);
    EXPECT(wo_proof(c, a->username, 1, sig, &f), ST(OK));
    assert_int_equal(f->response->body_case, PARLEY__RESPONSE__BODY_AUTH_PROOF);
    assert_int_equal(f->response->auth_proof->onetime_prekeys, 0);
    assert_false(f->response->auth_proof->has_signed_prekey);
    pl_frame_server_free(f);
    /* An empty mailbox: QueueEmpty at once. */
    EXPECT(wo_expect_queue_empty(c, WC_TIMEOUT_MS), WC_OK);
    EXPECT(wo_ping(c), ST(OK));
    EXPECT(wo_prekey_status(c, NULL), ST(OK));
    wc_close(c);
    wi_account_free(a);
    ph_test_end();
}

static void test_auth_failures(void **state)
{
    wi_account *a, *b;
    wc_conn *c;
    uint8_t challenge[32], exporter[32], sig[64];

    (void)state;
    ph_test_begin();
    a = wo_new_user(srv->port, srv->cert_path, "authbad", NULL);
    b = wi_account_new("authbadother");

    /* Bad signature (a flipped bit); then a good proof on the same connection still works. */
    c = connect_srv();
    EXPECT(wo_challenge(c, challenge), ST(OK));
    EXPECT(wc_exporter(c, exporter), WC_OK);
    wi_auth_signature(&a->devices[0], challenge, exporter, a->username, sig);
    sig[0] ^= 0x01;
    EXPECT(wo_proof(c, a->username, 1, sig, NULL), ST(AUTH_FAILED));
    EXPECT(wo_auth(c, a, &a->devices[0]), ST(OK));
    wc_close(c);

    /* No challenge at all. */
    c = connect_srv();
    EXPECT(wc_exporter(c, exporter), WC_OK);
    memset(challenge, 0, sizeof challenge);
    wi_auth_signature(&a->devices[0], challenge, exporter, a->username, sig);
    EXPECT(wo_proof(c, a->username, 1, sig, NULL), ST(AUTH_FAILED));
    wc_close(c);

    /* Signed by another key; unknown device; unknown user. */
    c = connect_srv();
    EXPECT(wo_challenge(c, challenge), ST(OK));
    EXPECT(wc_exporter(c, exporter), WC_OK);
    wi_auth_signature(&b->devices[0], challenge, exporter, a->username, sig);
    EXPECT(wo_proof(c, a->username, 1, sig, NULL), ST(AUTH_FAILED));
    wc_close(c);
    c = connect_srv();
    EXPECT(wo_challenge(c, challenge), ST(OK));
    EXPECT(wc_exporter(c, exporter), WC_OK);
    wi_auth_signature(&a->devices[0], challenge, exporter, a->username, sig);
    EXPECT(wo_proof(c, a->username, 9, sig, NULL), ST(AUTH_FAILED));
    wc_close(c);
    c = connect_srv();
    EXPECT(wo_challenge(c, challenge), ST(OK));
    EXPECT(wc_exporter(c, exporter), WC_OK);
    wi_auth_signature(&b->devices[0], challenge, exporter, b->username, sig);
    EXPECT(wo_proof(c, b->username, 1, sig, NULL), ST(AUTH_FAILED));
    wc_close(c);

    wi_account_free(a);
    wi_account_free(b);
    ph_test_end();
}

static void test_auth_replay_same_connection(void **state)
{
    wi_account *a;
    wc_conn *c;
    uint8_t challenge[32], exporter[32], good[64], bad[64];

    (void)state;
    ph_test_begin();
    a = wo_new_user(srv->port, srv->cert_path, "replay", NULL);
    c = connect_srv();
    EXPECT(wo_challenge(c, challenge), ST(OK));
    EXPECT(wc_exporter(c, exporter), WC_OK);
    wi_auth_signature(&a->devices[0], challenge, exporter, a->username, good);
    memcpy(bad, good, sizeof bad);
    bad[63] ^= 0x20;
    /* The failed proof consumes the challenge: the good proof for it is refused after. */
    EXPECT(wo_proof(c, a->username, 1, bad, NULL), ST(AUTH_FAILED));
    EXPECT(wo_proof(c, a->username, 1, good, NULL), ST(AUTH_FAILED));
    wc_close(c);

    /* A new challenge replaces the old one: a proof over the old one fails. */
    c = connect_srv();
    EXPECT(wo_challenge(c, challenge), ST(OK));
    EXPECT(wc_exporter(c, exporter), WC_OK);
    wi_auth_signature(&a->devices[0], challenge, exporter, a->username, good);
    EXPECT(wo_challenge(c, challenge), ST(OK));
    EXPECT(wo_proof(c, a->username, 1, good, NULL), ST(AUTH_FAILED));
    wc_close(c);
    wi_account_free(a);
    ph_test_end();
}

static void test_auth_proof_on_other_connection(void **state)
{
    wi_account *a;
    wc_conn *ca, *cb;
    uint8_t cha[32], chb[32], expa[32], expb[32], sig[64];

    (void)state;
    ph_test_begin();
    a = wo_new_user(srv->port, srv->cert_path, "cross", NULL);
    ca = connect_srv();
    cb = connect_srv();
    EXPECT(wc_exporter(ca, expa), WC_OK);
    EXPECT(wc_exporter(cb, expb), WC_OK);
    assert_memory_not_equal(expa, expb, 32);
    EXPECT(wo_challenge(ca, cha), ST(OK));
    EXPECT(wo_challenge(cb, chb), ST(OK));
    /* B's challenge signed with A's exporter (a relay through A), sent on B. */
    wi_auth_signature(&a->devices[0], chb, expa, a->username, sig);
    EXPECT(wo_proof(cb, a->username, 1, sig, NULL), ST(AUTH_FAILED));
    /* A's whole proof sent on B. */
    EXPECT(wo_challenge(cb, chb), ST(OK));
    wi_auth_signature(&a->devices[0], cha, expa, a->username, sig);
    EXPECT(wo_proof(cb, a->username, 1, sig, NULL), ST(AUTH_FAILED));
    /* It is good on A. */
    EXPECT(wo_proof(ca, a->username, 1, sig, NULL), ST(OK));
    wc_close(ca);
    wc_close(cb);
    wi_account_free(a);
    ph_test_end();
}

static void test_auth_three_failures_close(void **state)
{
    wi_account *a;
    wc_conn *c;
    uint8_t sig[64] = {0};
    int code = -1, r;

    (void)state;
    ph_test_begin();
    a = wo_new_user(srv->port, srv->cert_path, "three", NULL);
    c = connect_srv();
    EXPECT(wo_proof(c, a->username, 1, sig, NULL), ST(AUTH_FAILED));
    EXPECT(wo_proof(c, a->username, 1, sig, NULL), ST(AUTH_FAILED));
    r = wo_proof(c, a->username, 1, sig, NULL);
    if (r != ST(AUTH_FAILED) && r != WC_GOODBYE && r != WC_EOF)
        fail_msg("third failed proof: expected AUTH_FAILED or a close, got %s", wc_name(r));
    r = wc_wait_goodbye(c, WC_TIMEOUT_MS, &code);
    if (r != WC_OK && r != WC_EOF)
        fail_msg("the connection was not closed after three failures: %s", wc_name(r));
    wc_close(c);
    wi_account_free(a);
    ph_test_end();
}

static void test_requests_before_auth(void **state)
{
    wi_account *a;
    wc_conn *c;
    uint8_t spk[PL_SIGNED_PREKEY_PUBLIC_BYTES];
    const uint64_t seq = 1;

    (void)state;
    ph_test_begin();
    a = wo_new_user(srv->port, srv->cert_path, "noauth", &c);
    wi_signed_prekey(&a->devices[0], 1, spk);
    EXPECT(wo_ping(c), ST(OK));
    EXPECT(wo_list_devices(c, a->username, NULL), ST(NOT_AUTHENTICATED));
    EXPECT(wo_upload_signed_prekey(c, spk), ST(NOT_AUTHENTICATED));
    EXPECT(wo_upload_onetime_prekeys(c, 1, 3, NULL), ST(NOT_AUTHENTICATED));
    EXPECT(wo_prekey_status(c, NULL), ST(NOT_AUTHENTICATED));
    EXPECT(wo_fetch_bundles(c, a->username, NULL), ST(NOT_AUTHENTICATED));
    EXPECT(wo_send_text(c, a, 1, a, "hello", NULL, NULL), ST(NOT_AUTHENTICATED));
    EXPECT(wo_ack(c, &seq, 1), ST(NOT_AUTHENTICATED));
    /* Still open and usable. */
    EXPECT(wo_auth(c, a, &a->devices[0]), ST(OK));
    EXPECT(wo_prekey_status(c, NULL), ST(OK));
    wc_close(c);
    wi_account_free(a);
    ph_test_end();
}

static void test_auth_twice(void **state)
{
    wi_account *a;
    wc_conn *c;
    uint8_t challenge[32], exporter[32], sig[64];
    int r;

    (void)state;
    ph_test_begin();
    a = wo_new_user(srv->port, srv->cert_path, "twice", NULL);
    wi_device_new(a, 2);
    c = connect_srv();
    EXPECT(wo_add_device(c, a->username, a->devices[1].record), ST(OK));
    EXPECT(wo_auth(c, a, &a->devices[0]), ST(OK));
    /* Either the challenge or the proof is refused; a proof without a challenge never passes. */
    r = wo_challenge(c, challenge);
    if (r == ST(OK)) {
        EXPECT(wc_exporter(c, exporter), WC_OK);
        wi_auth_signature(&a->devices[1], challenge, exporter, a->username, sig);
        EXPECT(wo_proof(c, a->username, 2, sig, NULL), ST(ALREADY_AUTHENTICATED));
    } else {
        EXPECT(r, ST(ALREADY_AUTHENTICATED));
    }
    EXPECT(wo_ping(c), ST(OK));
    wc_close(c);
    wi_account_free(a);
    ph_test_end();
}

static void test_second_connection_replaces_first(void **state)
{
    wi_account *a;
    wc_conn *c1, *c2, *c3;
    int code = -1;

    (void)state;
    ph_test_begin();
    a = wo_new_user(srv->port, srv->cert_path, "replace", NULL);
    wi_device_new(a, 2);
    c1 = wo_login(srv->port, srv->cert_path, a, &a->devices[0]);
    EXPECT(wo_expect_queue_empty(c1, WC_TIMEOUT_MS), WC_OK);
    EXPECT(wo_add_device(c1, a->username, a->devices[1].record), ST(OK));
    /* Another device of the account does not replace device 1. */
    c3 = wo_login(srv->port, srv->cert_path, a, &a->devices[1]);
    EXPECT(wo_ping(c1), ST(OK));
    c2 = wo_login(srv->port, srv->cert_path, a, &a->devices[0]);
    EXPECT(wc_wait_goodbye(c1, WC_TIMEOUT_MS, &code), WC_OK);
    EXPECT(code, ST(REPLACED));
    EXPECT(wo_ping(c2), ST(OK));
    EXPECT(wo_ping(c3), ST(OK));
    wc_close(c1);
    wc_close(c2);
    wc_close(c3);
    wi_account_free(a);
    ph_test_end();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_statements_match_protocol),
        cmocka_unit_test_teardown(test_auth_ok, teardown),
        cmocka_unit_test_teardown(test_auth_failures, teardown),
        cmocka_unit_test_teardown(test_auth_replay_same_connection, teardown),
        cmocka_unit_test_teardown(test_auth_proof_on_other_connection, teardown),
        cmocka_unit_test_teardown(test_auth_three_failures_close, teardown),
        cmocka_unit_test_teardown(test_requests_before_auth, teardown),
        cmocka_unit_test_teardown(test_auth_twice, teardown),
        cmocka_unit_test_teardown(test_second_connection_replaces_first, teardown),
    };

    if (pl_init() != PL_OK)
        return 1;
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
