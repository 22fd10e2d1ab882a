/*
 * test_parleyd_prekeys.c: integration tests of prekeys against a running parleyd
 * (PROTOCOL.md §11.3): uploads, PrekeyStatus, the stock limit, bundles (one per device,
 * ascending, each one-time prekey handed out once, also under concurrent fetches), and the
 * PrekeysLow push.
 */
#include <pthread.h>

#include "parleyd_test.h"

static ph_server *srv;

static int group_setup(void **state)
{
    (void)state;
    srv = ph_start((const char *const[]){"prekeys.low_watermark=10", NULL});
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

/* Asserts a PrekeyCount body. */
static void assert_count(const Parley__ServerFrame *f, uint32_t otks, int has_spk)
{
    const Parley__PrekeyCount *pc = f->response->body_case == PARLEY__RESPONSE__BODY_PREKEY_STATUS
                                        ? f->response->prekey_status
                                        : f->response->upload_onetime_prekeys;

    assert_non_null(pc);
    assert_int_equal(pc->onetime_prekeys, otks);
    assert_int_equal(!!pc->has_signed_prekey, has_spk);
}

static void expect_status(wc_conn *c, uint32_t otks, int has_spk)
{
    Parley__ServerFrame *f = NULL;

    EXPECT(wo_prekey_status(c, &f), ST(OK));
    assert_count(f, otks, has_spk);
    pl_frame_server_free(f);
}

/* Uploads a signed prekey and n one-time prekeys (ids first_id..) for the logged-in device. */
static void stock(wc_conn *c, const wi_device *d, uint32_t first_id, size_t n)
{
    uint8_t spk[PL_SIGNED_PREKEY_PUBLIC_BYTES];

    wi_signed_prekey(d, 1, spk);
    EXPECT(wo_upload_signed_prekey(c, spk), ST(OK));
    if (n > 0)
        EXPECT(wo_upload_onetime_prekeys(c, first_id, n, NULL), ST(OK));
}

static void test_upload_and_status(void **state)
{
    wi_account *a;
    wc_conn *c;
    uint8_t spk[PL_SIGNED_PREKEY_PUBLIC_BYTES];
    Parley__ServerFrame *f = NULL;

    (void)state;
    ph_test_begin();
    a = wo_new_user(srv->port, srv->cert_path, "pk", NULL);
    c = wo_login(srv->port, srv->cert_path, a, &a->devices[0]);
    expect_status(c, 0, 0);
    wi_signed_prekey(&a->devices[0], 1, spk);
    EXPECT(wo_upload_signed_prekey(c, spk), ST(OK));
    expect_status(c, 0, 1);
    EXPECT(wo_upload_onetime_prekeys(c, 1, 30, &f), ST(OK));
    assert_count(f, 30, 1);
    pl_frame_server_free(f);
    EXPECT(wo_upload_onetime_prekeys(c, 31, 5, &f), ST(OK));
    assert_count(f, 35, 1);
    pl_frame_server_free(f);
    expect_status(c, 35, 1);
    /* A replacement signed prekey is accepted. */
    wi_signed_prekey(&a->devices[0], 2, spk);
    EXPECT(wo_upload_signed_prekey(c, spk), ST(OK));
    wc_close(c);

    /* AuthResult reports the stock. */
    {
        uint8_t challenge[32], exporter[32], sig[64];

        EXPECT(wc_connect(&c, srv->port, srv->cert_path), WC_OK);
        EXPECT(wo_challenge(c, challenge), ST(OK));
        EXPECT(wc_exporter(c, exporter), WC_OK);
        wi_auth_signature(&a->devices[0], challenge, exporter, a->username, sig);
        EXPECT(wo_proof(c, a->username, 1, sig, &f), ST(OK));
        assert_int_equal(f->response->auth_proof->onetime_prekeys, 35);
        assert_true(f->response->auth_proof->has_signed_prekey);
        pl_frame_server_free(f);
        wc_close(c);
    }
    wi_account_free(a);
    ph_test_end();
}

static void test_upload_refusals(void **state)
{
    wi_account *a, *b;
    wc_conn *c;
    uint8_t spk[PL_SIGNED_PREKEY_PUBLIC_BYTES];

    (void)state;
    ph_test_begin();
    a = wo_new_user(srv->port, srv->cert_path, "pkbad", NULL);
    b = wi_account_new("pkother");
    c = wo_login(srv->port, srv->cert_path, a, &a->devices[0]);
    wi_signed_prekey(&a->devices[0], 1, spk);
    spk[PL_SIGNED_PREKEY_PUBLIC_BYTES - 1] ^= 0x01;
    EXPECT(wo_upload_signed_prekey(c, spk), ST(BAD_SIGNATURE));
    wi_signed_prekey(&b->devices[0], 1, spk); /* signed by another identity key */
    EXPECT(wo_upload_signed_prekey(c, spk), ST(BAD_SIGNATURE));
    expect_status(c, 0, 0);
    /* The stock limit (100 by default): 100 fit, one more does not, nothing is added. */
    EXPECT(wo_upload_onetime_prekeys(c, 1, 60, NULL), ST(OK));
    EXPECT(wo_upload_onetime_prekeys(c, 61, 41, NULL), ST(TOO_MANY_PREKEYS));
    expect_status(c, 60, 0);
    EXPECT(wo_upload_onetime_prekeys(c, 61, 40, NULL), ST(OK));
    EXPECT(wo_upload_onetime_prekeys(c, 101, 1, NULL), ST(TOO_MANY_PREKEYS));
    expect_status(c, 100, 0);
    /* More than 100 in one upload is a malformed request. */
    EXPECT(wo_upload_onetime_prekeys(c, 200, 101, NULL), ST(BAD_REQUEST));
    EXPECT(wo_upload_onetime_prekeys(c, 200, 0, NULL), ST(BAD_REQUEST));
    wc_close(c);
    wi_account_free(a);
    wi_account_free(b);
    ph_test_end();
}

/* Fetches b's bundles and checks them: n bundles, ascending ids, valid under b's key. Writes
 * each bundle's one-time prekey id (0 if none) into otk_ids. */
static void fetch_and_check(wc_conn *c, const wi_account *b, const uint32_t *ids, size_t n,
                            uint32_t *otk_ids)
{
    Parley__ServerFrame *f = NULL;
    Parley__BundleList *bl;

    EXPECT(wo_fetch_bundles(c, b->username, &f), ST(OK));
    bl = f->response->fetch_bundles;
    assert_memory_equal(bl->account_key.data, b->account_key, PL_PUBKEY_BYTES);
    assert_int_equal(bl->n_bundles, n);
    for (size_t i = 0; i < n; i++) {
        pl_bundle bundle;

        assert_int_equal(
            pl_bundle_verify(bl->bundles[i].data, bl->bundles[i].len, b->account_key, &bundle),
            PL_OK);
        assert_int_equal(bundle.device.device_id, ids[i]);
        otk_ids[i] = bundle.has_onetime_prekey ? bundle.onetime_prekey_id : 0;
        if (bundle.has_onetime_prekey)
            assert_int_not_equal(bundle.onetime_prekey_id, 0);
    }
    pl_frame_server_free(f);
}

static void test_fetch_bundles(void **state)
{
    wi_account *a, *b;
    wc_conn *ca, *cb;
    const uint32_t ids[] = {1, 2, 3};
    uint32_t got[3];

    (void)state;
    ph_test_begin();
    a = wo_new_user(srv->port, srv->cert_path, "fetcher", NULL);
    b = wo_new_user(srv->port, srv->cert_path, "fetched", &cb);
    EXPECT(wo_add_device(cb, b->username, wi_device_new(b, 3)->record), ST(OK));
    EXPECT(wo_add_device(cb, b->username, wi_device_new(b, 2)->record), ST(OK));
    wc_close(cb);
    /* Device 1: 2 one-time prekeys (ids 11, 12); device 2: none; device 3: one (31). */
    cb = wo_login(srv->port, srv->cert_path, b, wi_device_get(b, 1));
    stock(cb, wi_device_get(b, 1), 11, 2);
    wc_close(cb);
    cb = wo_login(srv->port, srv->cert_path, b, wi_device_get(b, 2));
    stock(cb, wi_device_get(b, 2), 0, 0);
    wc_close(cb);
    cb = wo_login(srv->port, srv->cert_path, b, wi_device_get(b, 3));
    stock(cb, wi_device_get(b, 3), 31, 1);
    wc_close(cb);

    ca = wo_login(srv->port, srv->cert_path, a, &a->devices[0]);
    EXPECT(wo_fetch_bundles(ca, "nosuchuser45", NULL), ST(NOT_FOUND));
    fetch_and_check(ca, b, ids, 3, got);
    assert_true(got[0] == 11 || got[0] == 12);
    assert_int_equal(got[1], 0);
    assert_int_equal(got[2], 31);
    {
        uint32_t first = got[0];

        fetch_and_check(ca, b, ids, 3, got);
        assert_int_equal(got[0], first == 11 ? 12 : 11); /* the other one: each once */
        assert_int_equal(got[1], 0);
        assert_int_equal(got[2], 0);
    }
    fetch_and_check(ca, b, ids, 3, got);
    assert_int_equal(got[0], 0);
    assert_int_equal(got[2], 0);
    wc_close(ca);
    /* The stock went down. */
    cb = wo_login(srv->port, srv->cert_path, b, wi_device_get(b, 1));
    expect_status(cb, 0, 1);
    wc_close(cb);
    wi_account_free(a);
    wi_account_free(b);
    ph_test_end();
}

#define FETCHERS 8
#define FETCHES_EACH 5
#define STOCK 20

struct fetcher {
    pthread_t thread;
    wc_conn *c;
    const char *target;
    const uint8_t *account_key;
    uint32_t got[FETCHES_EACH];
    int error; /* 0, or the line of the first failure */
};

/* A thread: FETCHES_EACH fetches of target's only device, recording one-time prekey ids. No
 * cmocka asserts here (they are not thread-safe); the main thread checks. */
static void *fetch_thread(void *arg)
{
    struct fetcher *t = arg;

    for (int i = 0; i < FETCHES_EACH; i++) {
        Parley__ServerFrame *f = NULL;
        pl_bundle bundle;

        if (wo_fetch_bundles(t->c, t->target, &f) != ST(OK)) {
            t->error = __LINE__;
            return NULL;
        }
        if (f->response->fetch_bundles->n_bundles != 1 ||
            pl_bundle_verify(f->response->fetch_bundles->bundles[0].data,
                             f->response->fetch_bundles->bundles[0].len, t->account_key,
                             &bundle) != PL_OK) {
            t->error = __LINE__;
            pl_frame_server_free(f);
            return NULL;
        }
        t->got[i] = bundle.has_onetime_prekey ? bundle.onetime_prekey_id : 0;
        pl_frame_server_free(f);
    }
    return NULL;
}

static void test_concurrent_fetches(void **state)
{
    wi_account *b, *fetchers[FETCHERS];
    struct fetcher t[FETCHERS];
    wc_conn *cb;
    int seen[STOCK + 1] = {0};
    size_t handed = 0;

    (void)state;
    ph_test_begin();
    b = wo_new_user(srv->port, srv->cert_path, "popular", NULL);
    cb = wo_login(srv->port, srv->cert_path, b, &b->devices[0]);
    stock(cb, &b->devices[0], 1, STOCK);
    for (int i = 0; i < FETCHERS; i++) {
        fetchers[i] = wo_new_user(srv->port, srv->cert_path, "fan", NULL);
        memset(&t[i], 0, sizeof t[i]);
        t[i].c = wo_login(srv->port, srv->cert_path, fetchers[i], &fetchers[i]->devices[0]);
        t[i].target = b->username;
        t[i].account_key = b->account_key;
    }
    for (int i = 0; i < FETCHERS; i++)
        assert_int_equal(pthread_create(&t[i].thread, NULL, fetch_thread, &t[i]), 0);
    for (int i = 0; i < FETCHERS; i++)
        pthread_join(t[i].thread, NULL);
    for (int i = 0; i < FETCHERS; i++) {
        if (t[i].error)
            fail_msg("fetcher %d failed at line %d", i, t[i].error);
        for (int k = 0; k < FETCHES_EACH; k++) {
            uint32_t id = t[i].got[k];

            if (id == 0)
                continue;
            assert_in_range(id, 1, STOCK);
            if (seen[id]++)
                fail_msg("one-time prekey %u was handed out twice", id);
            handed++;
        }
        wc_close(t[i].c);
        wi_account_free(fetchers[i]);
    }
    assert_int_equal(handed, STOCK); /* 40 fetches, 20 prekeys: all handed out, once each */
    expect_status(cb, 0, 1);
    wc_close(cb);
    wi_account_free(b);
    ph_test_end();
}

/* Waits for a PrekeysLow push, skipping QueueEmpty; returns its remaining count. */
static uint32_t wait_prekeys_low(wc_conn *c)
{
    for (int i = 0; i < 10; i++) {
        Parley__ServerFrame *f = NULL;
        uint32_t remaining;

        EXPECT(wc_next_push(c, &f, WC_TIMEOUT_MS), WC_OK);
        if (f->push->kind_case == PARLEY__PUSH__KIND_QUEUE_EMPTY) {
            pl_frame_server_free(f);
            continue;
        }
        assert_int_equal(f->push->kind_case, PARLEY__PUSH__KIND_PREKEYS_LOW);
        assert_int_equal(f->push->prekeys_low->max, 100);
        remaining = f->push->prekeys_low->remaining;
        pl_frame_server_free(f);
        return remaining;
    }
    fail_msg("no PrekeysLow push");
    return 0;
}

static void test_prekeys_low_push(void **state)
{
    wi_account *a, *b;
    wc_conn *ca, *cb;

    (void)state;
    ph_test_begin();
    a = wo_new_user(srv->port, srv->cert_path, "lowa", NULL);
    b = wo_new_user(srv->port, srv->cert_path, "lowb", NULL);
    cb = wo_login(srv->port, srv->cert_path, b, &b->devices[0]);
    EXPECT(wo_expect_queue_empty(cb, WC_TIMEOUT_MS), WC_OK);
    stock(cb, &b->devices[0], 1, 12); /* low_watermark = 10 */
    ca = wo_login(srv->port, srv->cert_path, a, &a->devices[0]);
    EXPECT(wo_fetch_bundles(ca, b->username, NULL), ST(OK)); /* 11 */
    EXPECT(wo_fetch_bundles(ca, b->username, NULL), ST(OK)); /* 10 */
    EXPECT(wo_ping(cb), ST(OK));
    assert_int_equal(wc_pushes_queued(cb), 0);               /* not below the watermark yet */
    EXPECT(wo_fetch_bundles(ca, b->username, NULL), ST(OK)); /* 9: below */
    assert_int_equal(wait_prekeys_low(cb), 9);
    wc_close(cb);
    /* Offline: told when it next authenticates. */
    EXPECT(wo_fetch_bundles(ca, b->username, NULL), ST(OK)); /* 8 */
    cb = wo_login(srv->port, srv->cert_path, b, &b->devices[0]);
    assert_int_equal(wait_prekeys_low(cb), 8);
    wc_close(cb);
    wc_close(ca);
    wi_account_free(a);
    wi_account_free(b);
    ph_test_end();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_upload_and_status, teardown),
        cmocka_unit_test_teardown(test_upload_refusals, teardown),
        cmocka_unit_test_teardown(test_fetch_bundles, teardown),
        cmocka_unit_test_teardown(test_concurrent_fetches, teardown),
        cmocka_unit_test_teardown(test_prekeys_low_push, teardown),
    };

    if (pl_init() != PL_OK)
        return 1;
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
