/*
 * test_parleyd_accounts.c: integration tests of accounts and devices against a running
 * parleyd (PROTOCOL.md §11.3): RegisterAccount, AddDevice, RemoveDevice, ListDevices, and the
 * per-address registration limit.
 */
#include "parleyd_test.h"

static ph_server *srv; /* shared by the tests that need no special configuration */
static ph_server *own; /* a test's own server, freed by the teardown */

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

static wc_conn *connect_srv(void)
{
    wc_conn *c = NULL;

    EXPECT(wc_connect(&c, srv->port, srv->cert_path), WC_OK);
    return c;
}

/* Lists a's devices over an authenticated connection and checks ids and records. */
static void assert_device_list(wc_conn *c, const wi_account *a, const uint32_t *ids, size_t n)
{
    Parley__ServerFrame *f = NULL;
    Parley__DeviceList *dl;

    EXPECT(wo_list_devices(c, a->username, &f), ST(OK));
    dl = f->response->list_devices;
    assert_int_equal(dl->account_key.len, PL_PUBKEY_BYTES);
    assert_memory_equal(dl->account_key.data, a->account_key, PL_PUBKEY_BYTES);
    assert_int_equal(dl->n_device_records, n);
    for (size_t i = 0; i < n; i++) {
        const wi_device *d = wi_device_get((wi_account *)a, ids[i]);
        pl_device_record rec;

        assert_non_null(d);
        assert_int_equal(pl_device_record_verify(dl->device_records[i].data,
                                                 dl->device_records[i].len, a->account_key, &rec),
                         PL_OK);
        assert_int_equal(rec.device_id, ids[i]);
        assert_memory_equal(dl->device_records[i].data, d->record, PL_DEVICE_RECORD_BYTES);
    }
    pl_frame_server_free(f);
}

static void test_register_ok_and_list(void **state)
{
    char name[WI_NAME_MAX];
    wi_account *a;
    wc_conn *c;
    const uint32_t ids[] = {1};

    (void)state;
    ph_test_begin();
    wi_unique_name(name, sizeof name, "reg");
    a = wi_account_new(name);
    c = connect_srv();
    EXPECT(wo_register_account(c, a), ST(OK));
    EXPECT(wo_list_devices(c, a->username, NULL), ST(NOT_AUTHENTICATED));
    EXPECT(wo_auth(c, a, &a->devices[0]), ST(OK));
    assert_device_list(c, a, ids, 1);
    EXPECT(wo_list_devices(c, "nosuchuser42", NULL), ST(NOT_FOUND));
    wc_close(c);
    wi_account_free(a);
    ph_test_end();
}

static void test_register_username_taken(void **state)
{
    wi_account *a, *b;
    wc_conn *c;

    (void)state;
    ph_test_begin();
    a = wo_new_user(srv->port, srv->cert_path, "taken", NULL);
    b = wi_account_new(a->username); /* another account key, the same name */
    c = connect_srv();
    EXPECT(wo_register_account(c, b), ST(USERNAME_TAKEN));
    EXPECT(wo_register_account(c, a), ST(USERNAME_TAKEN)); /* even the same keys again */
    wc_close(c);
    wi_account_free(a);
    wi_account_free(b);
    ph_test_end();
}

static void test_register_bad_usernames(void **state)
{
    static const char *const bad[] = {
        "ab",         "Bad!",        "abcdefghijklmnopqrstuvwxyz0123456", /* 33 */
        "-rf",        "a..b",        "bob.",
        "with space", "caf\xc3\xa9",
    };
    char ok32[] = "abcdefghijklmnopqrstuvwxyz01234x"; /* 32 */
    wc_conn *c;

    (void)state;
    ph_test_begin();
    c = connect_srv();
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        wi_account *a = wi_account_new(bad[i]);

        if (wo_register_account(c, a) != ST(BAD_USERNAME))
            fail_msg("username \"%s\" was not refused with STATUS_BAD_USERNAME", bad[i]);
        wi_account_free(a);
    }
    {
        wi_account *a;

        ok32[0] = (char)('a' + (ph_now_ms() % 26)); /* avoid clashes between runs: fresh dir */
        a = wi_account_new(ok32);
        EXPECT(wo_register_account(c, a), ST(OK));
        wi_account_free(a);
    }
    wc_close(c);
    ph_test_end();
}

static void test_register_case_folding(void **state)
{
    char name[WI_NAME_MAX], upper[WI_NAME_MAX];
    wi_account *a, *b;
    wc_conn *c;
    const uint32_t ids[] = {1};

    (void)state;
    ph_test_begin();
    wi_unique_name(name, sizeof name, "fold");
    snprintf(upper, sizeof upper, "Fold%s", name + 4);
    a = wi_account_new(upper); /* "Fold7" registers "fold7" */
    c = connect_srv();
    EXPECT(wo_register_account(c, a), ST(OK));
    b = wi_account_new(name);
    EXPECT(wo_register_account(c, b), ST(USERNAME_TAKEN));
    /* The account is known under its canonical name. */
    snprintf(a->username, sizeof a->username, "%s", name);
    EXPECT(wo_auth(c, a, &a->devices[0]), ST(OK));
    assert_device_list(c, a, ids, 1);
    snprintf(a->username, sizeof a->username, "FOLD%s", name + 4);
    assert_device_list(c, a, ids, 1);
    wc_close(c);
    wi_account_free(a);
    wi_account_free(b);
    ph_test_end();
}

static void test_register_bad_record_signature(void **state)
{
    char name[WI_NAME_MAX];
    wi_account *a, *other;
    wc_conn *c;
    uint8_t rec[PL_DEVICE_RECORD_BYTES];

    (void)state;
    ph_test_begin();
    wi_unique_name(name, sizeof name, "badsig");
    a = wi_account_new(name);
    other = wi_account_new("other");
    c = connect_srv();
    memcpy(rec, a->devices[0].record, sizeof rec);
    rec[sizeof rec - 1] ^= 0x01; /* the signature's last byte */
    EXPECT(wo_register(c, a->username, a->account_key, rec), ST(BAD_SIGNATURE));
    /* A record of another account under a's key. */
    EXPECT_REFUSED(wo_register(c, a->username, a->account_key, other->devices[0].record));
    /* Nothing was stored: the name is still free. */
    EXPECT(wo_register_account(c, a), ST(OK));
    wc_close(c);
    wi_account_free(a);
    wi_account_free(other);
    ph_test_end();
}

static void test_add_device_ok(void **state)
{
    wi_account *a;
    wc_conn *c, *c2;
    const uint32_t ids[] = {1, 2, 5};

    (void)state;
    ph_test_begin();
    a = wo_new_user(srv->port, srv->cert_path, "add", &c);
    /* Added out of order; listed ascending. */
    EXPECT(wo_add_device(c, a->username, wi_device_new(a, 5)->record), ST(OK));
    EXPECT(wo_add_device(c, a->username, wi_device_new(a, 2)->record), ST(OK));
    EXPECT(wo_auth(c, a, &a->devices[0]), ST(OK));
    assert_device_list(c, a, ids, 3);
    c2 = wo_login(srv->port, srv->cert_path, a, wi_device_get(a, 5));
    assert_device_list(c2, a, ids, 3);
    wc_close(c2);
    wc_close(c);
    wi_account_free(a);
    ph_test_end();
}

static void test_add_device_refusals(void **state)
{
    wi_account *a, *other;
    wc_conn *c;
    uint8_t rec[PL_DEVICE_RECORD_BYTES];
    wi_device *d;
    const uint32_t ids[] = {1};

    (void)state;
    ph_test_begin();
    a = wo_new_user(srv->port, srv->cert_path, "addbad", &c);
    other = wi_account_new("other");
    /* Bad signature. */
    d = wi_device_new(a, 3);
    memcpy(rec, d->record, sizeof rec);
    rec[sizeof rec - 10] ^= 0x40;
    EXPECT(wo_add_device(c, a->username, rec), ST(BAD_SIGNATURE));
    /* A record signed by another account key. */
    EXPECT_REFUSED(wo_add_device(c, a->username, wi_device_new(other, 4)->record));
    /* Id in use: a new key for device 1, signed by a's own account key. */
    {
        wi_device *dup = wi_device_new(a, 1);

        EXPECT(wo_add_device(c, a->username, dup->record), ST(DEVICE_EXISTS));
        dup->removed = 1; /* not a real device of the account */
    }
    /* Unknown user. */
    EXPECT(wo_add_device(c, "nosuchuser43", d->record), ST(NOT_FOUND));
    d->removed = 1;
    EXPECT(wo_auth(c, a, &a->devices[0]), ST(OK));
    assert_device_list(c, a, ids, 1);
    wc_close(c);
    wi_account_free(a);
    wi_account_free(other);
    ph_test_end();
}

static void test_max_devices(void **state)
{
    wi_account *a;
    wc_conn *c;
    const uint32_t ids[] = {1, 2, 3};

    (void)state;
    ph_test_begin();
    own = ph_start((const char *const[]){"accounts.max_devices=3", NULL});
    a = wo_new_user(own->port, own->cert_path, "max", &c);
    EXPECT(wo_add_device(c, a->username, wi_device_new(a, 2)->record), ST(OK));
    EXPECT(wo_add_device(c, a->username, wi_device_new(a, 3)->record), ST(OK));
    EXPECT(wo_add_device(c, a->username, wi_device_new(a, 4)->record), ST(TOO_MANY_DEVICES));
    wi_device_get(a, 4)->removed = 1;
    EXPECT(wo_auth(c, a, &a->devices[0]), ST(OK));
    assert_device_list(c, a, ids, 3);
    wc_close(c);
    wi_account_free(a);
    ph_stop(own);
    ph_test_end();
}

static void test_max_devices_default(void **state)
{
    wi_account *a;
    wc_conn *c;

    (void)state;
    ph_test_begin();
    a = wo_new_user(srv->port, srv->cert_path, "six", &c);
    for (uint32_t id = 2; id <= 6; id++)
        EXPECT(wo_add_device(c, a->username, wi_device_new(a, id)->record), ST(OK));
    EXPECT(wo_add_device(c, a->username, wi_device_new(a, 7)->record), ST(TOO_MANY_DEVICES));
    wc_close(c);
    wi_account_free(a);
    ph_test_end();
}

static void test_remove_device(void **state)
{
    wi_account *a;
    wc_conn *c, *c2;
    uint8_t sig[64];
    const uint32_t before[] = {1, 2, 3}, after[] = {1, 3};
    wi_device *d2, *d2b;

    (void)state;
    ph_test_begin();
    a = wo_new_user(srv->port, srv->cert_path, "rm", &c);
    d2 = wi_device_new(a, 2);
    EXPECT(wo_add_device(c, a->username, d2->record), ST(OK));
    EXPECT(wo_add_device(c, a->username, wi_device_new(a, 3)->record), ST(OK));
    EXPECT(wo_auth(c, a, &a->devices[0]), ST(OK));
    assert_device_list(c, a, before, 3);

    /* Bad signatures: a flipped bit, a signature for another device id, another account. */
    wi_removal_signature(a, 2, sig);
    sig[5] ^= 0x01;
    EXPECT(wo_remove_device(c, a->username, 2, sig), ST(BAD_SIGNATURE));
    wi_removal_signature(a, 3, sig);
    EXPECT(wo_remove_device(c, a->username, 2, sig), ST(BAD_SIGNATURE));
    assert_device_list(c, a, before, 3);

    wi_removal_signature(a, 2, sig);
    EXPECT(wo_remove_device(c, "nosuchuser44", 2, sig), ST(NOT_FOUND));
    EXPECT(wo_remove_device(c, a->username, 2, sig), ST(OK));
    d2->removed = 1;
    assert_device_list(c, a, after, 2);

    /* The removed id is never accepted again, neither its old record nor a new key. */
    EXPECT(wo_add_device(c, a->username, d2->record), ST(DEVICE_EXISTS));
    d2b = wi_device_new(a, 2);
    EXPECT(wo_add_device(c, a->username, d2b->record), ST(DEVICE_EXISTS));
    d2b->removed = 1;
    assert_device_list(c, a, after, 2);

    /* The removed device cannot authenticate. */
    EXPECT(wc_connect(&c2, srv->port, srv->cert_path), WC_OK);
    EXPECT(wo_auth(c2, a, d2), ST(AUTH_FAILED));
    wc_close(c2);
    wc_close(c);
    wi_account_free(a);
    ph_test_end();
}

static void test_registrations_per_address_per_minute(void **state)
{
    wc_conn *c;

    (void)state;
    ph_test_begin();
    own = ph_start((const char *const[]){"accounts.registrations_per_address_per_minute=3", NULL});
    EXPECT(wc_connect(&c, own->port, own->cert_path), WC_OK);
    for (int i = 0; i < 4; i++) {
        char name[WI_NAME_MAX];
        wi_account *a;

        wi_unique_name(name, sizeof name, "rate");
        a = wi_account_new(name);
        EXPECT(wo_register_account(c, a), i < 3 ? ST(OK) : ST(RATE_LIMITED));
        wi_account_free(a);
    }
    /* A new connection from the same address is limited too. */
    {
        wc_conn *c2;
        wi_account *a = wi_account_new("ratenew");

        EXPECT(wc_connect(&c2, own->port, own->cert_path), WC_OK);
        EXPECT(wo_register_account(c2, a), ST(RATE_LIMITED));
        wc_close(c2);
        wi_account_free(a);
    }
    wc_close(c);
    ph_stop(own);
    ph_test_end();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_register_ok_and_list, teardown),
        cmocka_unit_test_teardown(test_register_username_taken, teardown),
        cmocka_unit_test_teardown(test_register_bad_usernames, teardown),
        cmocka_unit_test_teardown(test_register_case_folding, teardown),
        cmocka_unit_test_teardown(test_register_bad_record_signature, teardown),
        cmocka_unit_test_teardown(test_add_device_ok, teardown),
        cmocka_unit_test_teardown(test_add_device_refusals, teardown),
        cmocka_unit_test_teardown(test_max_devices, teardown),
        cmocka_unit_test_teardown(test_max_devices_default, teardown),
        cmocka_unit_test_teardown(test_remove_device, teardown),
        cmocka_unit_test_teardown(test_registrations_per_address_per_minute, teardown),
    };

    if (pl_init() != PL_OK)
        return 1;
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
