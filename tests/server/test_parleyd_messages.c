/*
 * test_parleyd_messages.c: integration tests of messaging against a running parleyd
 * (PROTOCOL.md §11.3, §11.7): Send and its pushes, offline delivery and QueueEmpty, Ack,
 * redelivery, the sender's other devices, mismatched device sets, idempotent resends, the
 * envelope size limit, the mailbox quota and retention (with the injected clock).
 */
#include <sodium.h>

#include "parleyd_test.h"

static ph_server *srv;
static ph_server *own;

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
    ph_free(own);
    own = NULL;
    return 0;
}

/* Waits for the next envelope and checks sender, sender device and text; returns its seq. */
static uint64_t expect_envelope(wc_conn *c, const wi_account *from, uint32_t from_device,
                                const char *text)
{
    Parley__ServerFrame *f = NULL;
    Parley__Envelope *e;
    uint64_t seq;

    EXPECT(wo_next_envelope(c, &f, WC_TIMEOUT_MS), WC_OK);
    e = f->push->envelope;
    assert_string_equal(e->sender, from->username);
    assert_int_equal(e->sender_device, from_device);
    assert_int_equal(e->ciphertext.len, strlen(text));
    assert_memory_equal(e->ciphertext.data, text, strlen(text));
    assert_int_equal(e->client_message_id.len, 16);
    assert_int_not_equal(e->server_time_ms, 0);
    seq = e->seq;
    assert_int_not_equal(seq, 0);
    pl_frame_server_free(f);
    return seq;
}

/* Logs in as d of a, expects no envelope at all (QueueEmpty first), and closes. */
static void expect_empty_mailbox(ph_server *s, const wi_account *a, const wi_device *d)
{
    wc_conn *c = wo_login(s->port, s->cert_path, a, d);

    EXPECT(wo_expect_queue_empty(c, WC_TIMEOUT_MS), WC_OK);
    wc_close(c);
}

static void test_send_push_to_connected(void **state)
{
    wi_account *a, *b;
    wc_conn *ca, *cb;
    Parley__ServerFrame *f = NULL;
    uint8_t id[16];

    (void)state;
    ph_test_begin();
    a = wo_new_user(srv->port, srv->cert_path, "sa", NULL);
    b = wo_new_user(srv->port, srv->cert_path, "sb", NULL);
    cb = wo_login(srv->port, srv->cert_path, b, &b->devices[0]);
    EXPECT(wo_expect_queue_empty(cb, WC_TIMEOUT_MS), WC_OK);
    ca = wo_login(srv->port, srv->cert_path, a, &a->devices[0]);
    randombytes_buf(id, sizeof id);
    EXPECT(wo_send_text(ca, a, 1, b, "hello bob", id, &f), ST(OK));
    assert_int_equal(f->response->body_case, PARLEY__RESPONSE__BODY_SEND);
    assert_int_not_equal(f->response->send->server_time_ms, 0);
    pl_frame_server_free(f);
    {
        Parley__ServerFrame *e = NULL;

        EXPECT(wo_next_envelope(cb, &e, WC_TIMEOUT_MS), WC_OK);
        assert_memory_equal(e->push->envelope->client_message_id.data, id, 16);
        assert_string_equal(e->push->envelope->sender, a->username);
        pl_frame_server_free(e);
    }
    {
        wi_account *nobody = wi_account_new("nosuchuser46");

        EXPECT(wo_send_text(ca, a, 1, nobody, "x", NULL, NULL), ST(NOT_FOUND));
        wi_account_free(nobody);
    }
    wc_close(ca);
    wc_close(cb);
    wi_account_free(a);
    wi_account_free(b);
    ph_test_end();
}

static void test_offline_delivery_ack_and_redelivery(void **state)
{
    wi_account *a, *b;
    wc_conn *ca, *cb;
    static const char *const texts[] = {"one", "two", "three", "four", "five"};
    uint64_t seqs[5];

    (void)state;
    ph_test_begin();
    a = wo_new_user(srv->port, srv->cert_path, "oa", NULL);
    b = wo_new_user(srv->port, srv->cert_path, "ob", NULL);
    ca = wo_login(srv->port, srv->cert_path, a, &a->devices[0]);
    for (int i = 0; i < 5; i++)
        EXPECT(wo_send_text(ca, a, 1, b, texts[i], NULL, NULL), ST(OK));

    /* Delivered on authentication, in order, then QueueEmpty. */
    cb = wo_login(srv->port, srv->cert_path, b, &b->devices[0]);
    for (int i = 0; i < 5; i++) {
        seqs[i] = expect_envelope(cb, a, 1, texts[i]);
        if (i > 0)
            assert_true(seqs[i] > seqs[i - 1]);
    }
    EXPECT(wo_expect_queue_empty(cb, WC_TIMEOUT_MS), WC_OK);
    /* Ack the first three (and an unknown seq, which is ignored). */
    {
        uint64_t acks[4] = {seqs[0], seqs[1], seqs[2], seqs[4] + 1000};

        EXPECT(wo_ack(cb, acks, 4), ST(OK));
    }
    wc_close(cb);

    /* Reconnect: only the unacknowledged ones, with their seqs. */
    cb = wo_login(srv->port, srv->cert_path, b, &b->devices[0]);
    assert_int_equal(expect_envelope(cb, a, 1, "four"), seqs[3]);
    assert_int_equal(expect_envelope(cb, a, 1, "five"), seqs[4]);
    EXPECT(wo_expect_queue_empty(cb, WC_TIMEOUT_MS), WC_OK);
    EXPECT(wo_ack(cb, &seqs[3], 2), ST(OK));
    /* New envelopes get higher seqs (never reused). */
    EXPECT(wo_send_text(ca, a, 1, b, "six", NULL, NULL), ST(OK));
    assert_true(expect_envelope(cb, a, 1, "six") > seqs[4]);
    wc_close(cb);
    wc_close(ca);
    wi_account_free(a);
    wi_account_free(b);
    ph_test_end();
}

static void test_sender_other_devices_get_copy(void **state)
{
    wi_account *a, *b;
    wc_conn *ca1, *ca2, *ca3;

    (void)state;
    ph_test_begin();
    a = wo_new_user(srv->port, srv->cert_path, "multi", &ca1);
    b = wo_new_user(srv->port, srv->cert_path, "single", NULL);
    EXPECT(wo_add_device(ca1, a->username, wi_device_new(a, 2)->record), ST(OK));
    EXPECT(wo_add_device(ca1, a->username, wi_device_new(a, 3)->record), ST(OK));
    EXPECT(wo_auth(ca1, a, wi_device_get(a, 1)), ST(OK));
    EXPECT(wo_expect_queue_empty(ca1, WC_TIMEOUT_MS), WC_OK);
    ca2 = wo_login(srv->port, srv->cert_path, a, wi_device_get(a, 2)); /* online */
    EXPECT(wo_expect_queue_empty(ca2, WC_TIMEOUT_MS), WC_OK);
    EXPECT(wo_send_text(ca1, a, 1, b, "copy", NULL, NULL), ST(OK));
    expect_envelope(ca2, a, 1, "copy");
    /* Device 3 was offline. */
    ca3 = wo_login(srv->port, srv->cert_path, a, wi_device_get(a, 3));
    expect_envelope(ca3, a, 1, "copy");
    EXPECT(wo_expect_queue_empty(ca3, WC_TIMEOUT_MS), WC_OK);
    /* The sending device gets no copy. */
    EXPECT(wo_ping(ca1), ST(OK));
    assert_int_equal(wc_pushes_queued(ca1), 0);
    /* The recipient got one. */
    {
        wc_conn *cb = wo_login(srv->port, srv->cert_path, b, &b->devices[0]);

        expect_envelope(cb, a, 1, "copy");
        EXPECT(wo_expect_queue_empty(cb, WC_TIMEOUT_MS), WC_OK);
        wc_close(cb);
    }
    wc_close(ca1);
    wc_close(ca2);
    wc_close(ca3);
    wi_account_free(a);
    wi_account_free(b);
    ph_test_end();
}

/* Finds the MismatchedDevices entry for username in a refused Send, or NULL. */
static const Parley__MismatchedDevices *mismatch_for(const Parley__ServerFrame *f,
                                                     const char *username)
{
    const Parley__Status *s = f->response->status;

    for (size_t i = 0; i < s->n_mismatched; i++)
        if (strcmp(s->mismatched[i]->username, username) == 0)
            return s->mismatched[i];
    return NULL;
}

static void assert_ids(const uint32_t *got, size_t n_got, const uint32_t *want, size_t n_want,
                       const char *what)
{
    if (n_got != n_want)
        fail_msg("%s: %zu ids, expected %zu", what, n_got, n_want);
    for (size_t i = 0; i < n_want; i++)
        if (got[i] != want[i])
            fail_msg("%s[%zu] = %u, expected %u", what, i, got[i], want[i]);
}

static void test_mismatched_devices(void **state)
{
    wi_account *a, *b;
    wc_conn *ca;
    Parley__ServerFrame *f = NULL;
    const Parley__MismatchedDevices *m;
    uint8_t id[16], wrong_key[PL_PUBKEY_BYTES];
    const uint8_t *txt = (const uint8_t *)"m";
    wo_ct r[4], s[4];

    (void)state;
    ph_test_begin();
    a = wo_new_user(srv->port, srv->cert_path, "mma", &ca);
    b = wo_new_user(srv->port, srv->cert_path, "mmb", NULL);
    EXPECT(wo_add_device(ca, a->username, wi_device_new(a, 2)->record), ST(OK));
    EXPECT(wo_add_device(ca, b->username, wi_device_new(b, 2)->record), ST(OK));
    EXPECT(wo_auth(ca, a, &a->devices[0]), ST(OK));
    randombytes_buf(id, sizeof id);
    memcpy(wrong_key, wi_device_get(a, 2)->identity_key, sizeof wrong_key);
    s[0] = (wo_ct){2, wi_device_get(a, 2)->identity_key, txt, 1};

    /* Missing: b's device 2. */
    r[0] = (wo_ct){1, wi_device_get(b, 1)->identity_key, txt, 1};
    EXPECT(wo_send(ca, b->username, r, 1, s, 1, id, &f), ST(MISMATCHED_DEVICES));
    assert_non_null(m = mismatch_for(f, b->username));
    assert_ids(m->missing, m->n_missing, (const uint32_t[]){2}, 1, "missing");
    assert_int_equal(m->n_extra + m->n_stale, 0);
    assert_string_equal(f->response->status->mismatched[0]->username, b->username);
    pl_frame_server_free(f);

    /* Extra: a device 9 that b does not have. */
    r[1] = (wo_ct){2, wi_device_get(b, 2)->identity_key, txt, 1};
    r[2] = (wo_ct){9, wi_device_get(b, 2)->identity_key, txt, 1};
    EXPECT(wo_send(ca, b->username, r, 3, s, 1, id, &f), ST(MISMATCHED_DEVICES));
    assert_non_null(m = mismatch_for(f, b->username));
    assert_ids(m->extra, m->n_extra, (const uint32_t[]){9}, 1, "extra");
    assert_int_equal(m->n_missing + m->n_stale, 0);
    pl_frame_server_free(f);

    /* Stale: b's device 2 under a wrong identity key. */
    r[1] = (wo_ct){2, wrong_key, txt, 1};
    EXPECT(wo_send(ca, b->username, r, 2, s, 1, id, &f), ST(MISMATCHED_DEVICES));
    assert_non_null(m = mismatch_for(f, b->username));
    assert_ids(m->stale, m->n_stale, (const uint32_t[]){2}, 1, "stale");
    assert_int_equal(m->n_missing + m->n_extra, 0);
    pl_frame_server_free(f);
    r[1] = (wo_ct){2, wi_device_get(b, 2)->identity_key, txt, 1};

    /* The sender's own side: the sending device listed is extra; device 2 left out is missing. */
    s[1] = (wo_ct){1, wi_device_get(a, 1)->identity_key, txt, 1};
    EXPECT(wo_send(ca, b->username, r, 2, s, 2, id, &f), ST(MISMATCHED_DEVICES));
    m = mismatch_for(f, b->username);
    if (m && m->n_missing + m->n_extra + m->n_stale > 0)
        fail_msg("the recipient's correct set was reported as mismatched");
    assert_non_null(m = mismatch_for(f, a->username));
    assert_ids(m->extra, m->n_extra, (const uint32_t[]){1}, 1, "sender extra");
    pl_frame_server_free(f);
    EXPECT(wo_send(ca, b->username, r, 2, s, 0, id, &f), ST(MISMATCHED_DEVICES));
    assert_non_null(m = mismatch_for(f, a->username));
    assert_ids(m->missing, m->n_missing, (const uint32_t[]){2}, 1, "sender missing");
    pl_frame_server_free(f);

    /* Nothing was stored by any refusal. */
    expect_empty_mailbox(srv, b, wi_device_get(b, 1));
    expect_empty_mailbox(srv, b, wi_device_get(b, 2));
    expect_empty_mailbox(srv, a, wi_device_get(a, 2));

    /* The corrected Send, same message id, goes through. */
    EXPECT(wo_send(ca, b->username, r, 2, s, 1, id, NULL), ST(OK));
    wc_close(ca);
    wi_account_free(a);
    wi_account_free(b);
    ph_test_end();
}

static void test_removed_device_leaves_the_sets(void **state)
{
    wi_account *a, *b;
    wc_conn *ca, *cb;
    Parley__ServerFrame *f = NULL;
    const Parley__MismatchedDevices *m;
    uint8_t sig[64], id[16];
    wo_ct r[2];

    (void)state;
    ph_test_begin();
    a = wo_new_user(srv->port, srv->cert_path, "rma", NULL);
    b = wo_new_user(srv->port, srv->cert_path, "rmb", &cb);
    EXPECT(wo_add_device(cb, b->username, wi_device_new(b, 2)->record), ST(OK));
    ca = wo_login(srv->port, srv->cert_path, a, &a->devices[0]);
    EXPECT(wo_send_text(ca, a, 1, b, "to both", NULL, NULL), ST(OK));
    wi_removal_signature(b, 2, sig);
    EXPECT(wo_remove_device(cb, b->username, 2, sig), ST(OK));
    /* A Send that still names device 2 lists it as extra. */
    randombytes_buf(id, sizeof id);
    r[0] = (wo_ct){1, wi_device_get(b, 1)->identity_key, (const uint8_t *)"x", 1};
    r[1] = (wo_ct){2, wi_device_get(b, 2)->identity_key, (const uint8_t *)"x", 1};
    EXPECT(wo_send(ca, b->username, r, 2, NULL, 0, id, &f), ST(MISMATCHED_DEVICES));
    assert_non_null(m = mismatch_for(f, b->username));
    assert_int_equal(m->n_extra, 1);
    assert_int_equal(m->extra[0], 2);
    pl_frame_server_free(f);
    wi_device_get(b, 2)->removed = 1;
    EXPECT(wo_send_text(ca, a, 1, b, "to one", NULL, NULL), ST(OK));
    /* Device 1 has both messages. */
    EXPECT(wo_auth(cb, b, wi_device_get(b, 1)), ST(OK));
    expect_envelope(cb, a, 1, "to both");
    expect_envelope(cb, a, 1, "to one");
    EXPECT(wo_expect_queue_empty(cb, WC_TIMEOUT_MS), WC_OK);
    wc_close(cb);
    wc_close(ca);
    wi_account_free(a);
    wi_account_free(b);
    ph_test_end();
}

static void test_resend_same_message_id(void **state)
{
    wi_account *a, *b;
    wc_conn *ca, *cb;
    uint8_t id[16];

    (void)state;
    ph_test_begin();
    a = wo_new_user(srv->port, srv->cert_path, "ra", NULL);
    b = wo_new_user(srv->port, srv->cert_path, "rb", NULL);
    ca = wo_login(srv->port, srv->cert_path, a, &a->devices[0]);
    randombytes_buf(id, sizeof id);
    EXPECT(wo_send_text(ca, a, 1, b, "once", id, NULL), ST(OK));
    EXPECT(wo_send_text(ca, a, 1, b, "once", id, NULL), ST(OK));
    EXPECT(wo_send_text(ca, a, 1, b, "second", NULL, NULL), ST(OK));
    cb = wo_login(srv->port, srv->cert_path, b, &b->devices[0]);
    expect_envelope(cb, a, 1, "once");
    expect_envelope(cb, a, 1, "second");
    EXPECT(wo_expect_queue_empty(cb, WC_TIMEOUT_MS), WC_OK);
    wc_close(cb);
    wc_close(ca);
    wi_account_free(a);
    wi_account_free(b);
    ph_test_end();
}

static void test_envelope_too_large(void **state)
{
    wi_account *a, *b;
    wc_conn *ca, *cb;
    char *big = malloc(2050);

    (void)state;
    ph_test_begin();
    own = ph_start((const char *const[]){"server.max_envelope_bytes=2KiB", NULL});
    a = wo_new_user(own->port, own->cert_path, "la", NULL);
    b = wo_new_user(own->port, own->cert_path, "lb", NULL);
    ca = wo_login(own->port, own->cert_path, a, &a->devices[0]);
    memset(big, 'x', 2049);
    big[2049] = '\0';
    EXPECT(wo_send_text(ca, a, 1, b, big, NULL, NULL), ST(TOO_LARGE));
    big[2048] = '\0';
    EXPECT(wo_send_text(ca, a, 1, b, big, NULL, NULL), ST(OK));
    cb = wo_login(own->port, own->cert_path, b, &b->devices[0]);
    expect_envelope(cb, a, 1, big);
    EXPECT(wo_expect_queue_empty(cb, WC_TIMEOUT_MS), WC_OK);
    wc_close(cb);
    wc_close(ca);
    free(big);
    wi_account_free(a);
    wi_account_free(b);
    ph_stop(own);
    ph_test_end();
}

static void test_quota(void **state)
{
    wi_account *a, *b;
    wc_conn *ca, *cb;
    uint64_t seqs[5];
    char text[16];
    int r;

    (void)state;
    ph_test_begin();
    own = ph_start((const char *const[]){"mailbox.quota_envelopes=5", NULL});
    a = wo_new_user(own->port, own->cert_path, "qa", NULL);
    b = wo_new_user(own->port, own->cert_path, "qb", NULL);
    ca = wo_login(own->port, own->cert_path, a, &a->devices[0]);
    for (int i = 0; i < 5; i++) {
        snprintf(text, sizeof text, "q%d", i);
        EXPECT(wo_send_text(ca, a, 1, b, text, NULL, NULL), ST(OK));
    }
    r = wo_send_text(ca, a, 1, b, "over", NULL, NULL);
    EXPECT_REFUSED(r);
    EXPECT(r, ST(MAILBOX_FULL));
    /* Nothing stored: exactly the five. */
    cb = wo_login(own->port, own->cert_path, b, &b->devices[0]);
    for (int i = 0; i < 5; i++) {
        snprintf(text, sizeof text, "q%d", i);
        seqs[i] = expect_envelope(cb, a, 1, text);
    }
    EXPECT(wo_expect_queue_empty(cb, WC_TIMEOUT_MS), WC_OK);
    /* Acknowledged envelopes free the room. */
    EXPECT(wo_ack(cb, seqs, 5), ST(OK));
    EXPECT(wo_send_text(ca, a, 1, b, "again", NULL, NULL), ST(OK));
    expect_envelope(cb, a, 1, "again");
    wc_close(cb);
    wc_close(ca);
    wi_account_free(a);
    wi_account_free(b);
    ph_stop(own);
    ph_test_end();
}

static void test_retention(void **state)
{
    wi_account *a, *b;
    wc_conn *ca, *cb;
    uint64_t t0 = ph_now_ms();
    double before = 0, after = 0;
    Parley__ServerFrame *f = NULL;
    uint64_t deadline;

    (void)state;
    ph_test_begin();
    own =
        ph_start((const char *const[]){"mailbox.retention=1m", "mailbox.expire_interval=1s", NULL});
    ph_set_clock(own, t0);
    a = wo_new_user(own->port, own->cert_path, "ta", NULL);
    b = wo_new_user(own->port, own->cert_path, "tb", NULL);
    ca = wo_login(own->port, own->cert_path, a, &a->devices[0]);
    EXPECT(wo_send_text(ca, a, 1, b, "old1", NULL, &f), ST(OK));
    /* The injected clock is the server's time. */
    assert_int_equal(f->response->send->server_time_ms, t0);
    pl_frame_server_free(f);
    EXPECT(wo_send_text(ca, a, 1, b, "old2", NULL, NULL), ST(OK));
    if (ph_metric(own, "parleyd_envelopes_expired_total", &before) != 0)
        before = 0;
    /* Past the retention: the sweep (every second) deletes both. */
    ph_set_clock(own, t0 + 2 * 60 * 1000);
    deadline = ph_mono_ms() + 10000;
    while (ph_mono_ms() < deadline) {
        if (ph_metric(own, "parleyd_envelopes_expired_total", &after) == 0 && after >= before + 2)
            break;
        EXPECT(wo_ping(ca), ST(OK)); /* bounded polling, 20 ms apart */
        ph_sleep_ms(20);
    }
    if (after < before + 2)
        fail_msg("parleyd_envelopes_expired_total went from %g to %g, expected +2", before, after);
    /* A fresh one survives. */
    EXPECT(wo_send_text(ca, a, 1, b, "new", NULL, NULL), ST(OK));
    cb = wo_login(own->port, own->cert_path, b, &b->devices[0]);
    expect_envelope(cb, a, 1, "new");
    EXPECT(wo_expect_queue_empty(cb, WC_TIMEOUT_MS), WC_OK);
    wc_close(cb);
    wc_close(ca);
    wi_account_free(a);
    wi_account_free(b);
    ph_stop(own);
    ph_test_end();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_send_push_to_connected, teardown),
        cmocka_unit_test_teardown(test_offline_delivery_ack_and_redelivery, teardown),
        cmocka_unit_test_teardown(test_sender_other_devices_get_copy, teardown),
        cmocka_unit_test_teardown(test_mismatched_devices, teardown),
        cmocka_unit_test_teardown(test_removed_device_leaves_the_sets, teardown),
        cmocka_unit_test_teardown(test_resend_same_message_id, teardown),
        cmocka_unit_test_teardown(test_envelope_too_large, teardown),
        cmocka_unit_test_teardown(test_quota, teardown),
        cmocka_unit_test_teardown(test_retention, teardown),
    };

    if (pl_init() != PL_OK)
        return 1;
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
