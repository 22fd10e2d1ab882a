/*
 * test_cstore.c: the local store's tables: settings, secrets, contacts, devices, sessions,
 * messages (dedup, limit and order), seen seqs, transactions; and encryption at rest: sealed
 * values moved to another row or flipped fail to open, and no secret or body appears in the
 * raw database bytes.
 */
#include "cstore_fixture.h"
#include "testutil.h"

static void settings_round_trip(void **state)
{
    fixture *f = *state;
    char v[8], big[5000];

    cs_create(f, NULL);
    RC(pl_cstore_setting_get(f->s, "server", v, sizeof v), PL_CSTORE_E_NOT_FOUND);
    RC(pl_cstore_setting_set(f->s, "server", "a:1"), PL_CSTORE_OK);
    RC(pl_cstore_setting_set(f->s, "server", "b:2"), PL_CSTORE_OK);
    RC(pl_cstore_setting_get(f->s, "server", v, sizeof v), PL_CSTORE_OK);
    assert_string_equal(v, "b:2");
    RC(pl_cstore_setting_set(f->s, "empty", ""), PL_CSTORE_OK);
    RC(pl_cstore_setting_get(f->s, "empty", v, sizeof v), PL_CSTORE_OK);
    assert_string_equal(v, "");
    RC(pl_cstore_setting_set(f->s, "long", "12345678"), PL_CSTORE_OK);
    RC(pl_cstore_setting_get(f->s, "long", v, sizeof v), PL_CSTORE_E_INVALID_ARG);
    assert_string_equal(v, "");
    RC(pl_cstore_setting_set(f->s, "", "x"), PL_CSTORE_E_INVALID_ARG);
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    RC(pl_cstore_setting_set(f->s, "big", big), PL_CSTORE_E_INVALID_ARG);
    assert_true(strlen(pl_cstore_last_error(f->s)) > 0);
}

static void secrets_round_trip(void **state)
{
    fixture *f = *state;
    static const uint8_t key[] = {1, 2, 3, 4, 5};
    uint8_t *d = (uint8_t *)1;
    size_t n = 99;

    cs_create(f, NULL);
    RC(pl_cstore_secret_get(f->s, "account", &d, &n), PL_CSTORE_E_NOT_FOUND);
    assert_null(d);
    RC(pl_cstore_secret_put(f->s, "account", key, sizeof key), PL_CSTORE_OK);
    RC(pl_cstore_secret_put(f->s, "otk/42", NULL, 0), PL_CSTORE_OK);
    cs_reopen(f);
    RC(pl_cstore_secret_get(f->s, "account", &d, &n), PL_CSTORE_OK);
    assert_int_equal(n, sizeof key);
    assert_memory_equal(d, key, sizeof key);
    pl_cstore_free_secret(d, n);
    RC(pl_cstore_secret_get(f->s, "otk/42", &d, &n), PL_CSTORE_OK);
    assert_int_equal(n, 0);
    pl_cstore_free_secret(d, n);
    RC(pl_cstore_secret_delete(f->s, "otk/42"), PL_CSTORE_OK);
    RC(pl_cstore_secret_delete(f->s, "otk/42"), PL_CSTORE_E_NOT_FOUND);
    RC(pl_cstore_secret_get(f->s, "otk/42", &d, &n), PL_CSTORE_E_NOT_FOUND);
    pl_cstore_free_secret(NULL, 0);
}

static pl_cstore_contact contact(const char *name, uint8_t key_byte)
{
    pl_cstore_contact c;

    memset(&c, 0, sizeof c);
    snprintf(c.username, sizeof c.username, "%s", name);
    memset(c.account_key, key_byte, sizeof c.account_key);
    c.first_seen_ms = 1000;
    return c;
}

static int collect_contacts(void *ctx, const pl_cstore_contact *c)
{
    char *names = ctx;

    strcat(names, c->username);
    strcat(names, ",");
    return strcmp(c->username, "carol") == 0;
}

static void contacts_round_trip(void **state)
{
    fixture *f = *state;
    pl_cstore_contact c = contact("bob", 0xb0), got;
    char names[128] = "";

    cs_create(f, NULL);
    RC(pl_cstore_contact_get(f->s, "bob", &got), PL_CSTORE_E_NOT_FOUND);
    RC(pl_cstore_contact_put(f->s, &c), PL_CSTORE_OK);
    c.verified = 1;
    memcpy(c.verified_key, c.account_key, sizeof c.verified_key);
    c.key_changed_ms = UINT64_MAX;
    RC(pl_cstore_contact_put(f->s, &c), PL_CSTORE_OK);
    got = contact("x", 0);
    RC(pl_cstore_contact_get(f->s, "bob", &got), PL_CSTORE_OK);
    assert_memory_equal(&got, &c, sizeof c);
    c = contact("alice", 0xa1);
    RC(pl_cstore_contact_put(f->s, &c), PL_CSTORE_OK);
    c = contact("dave", 0xd0);
    RC(pl_cstore_contact_put(f->s, &c), PL_CSTORE_OK);
    c = contact("carol", 0xc0);
    RC(pl_cstore_contact_put(f->s, &c), PL_CSTORE_OK);
    RC(pl_cstore_contact_list(f->s, collect_contacts, names), PL_CSTORE_OK);
    assert_string_equal(names, "alice,bob,carol,"); /* username order, stopped at carol */
    memset(c.username, 'u', sizeof c.username);     /* not terminated */
    RC(pl_cstore_contact_put(f->s, &c), PL_CSTORE_E_INVALID_ARG);
}

static void devices_set_replaces_the_list(void **state)
{
    fixture *f = *state;
    pl_cstore_device devs[17], out[16];
    size_t i, n = 99;

    memset(devs, 0, sizeof devs);
    for (i = 0; i < 17; i++) {
        devs[i].device_id = (uint32_t)(100 - i);
        memset(devs[i].record, (int)i, sizeof devs[i].record);
        snprintf(devs[i].name, sizeof devs[i].name, "dev%zu", i);
    }
    cs_create(f, NULL);
    RC(pl_cstore_devices_get(f->s, "bob", out, &n), PL_CSTORE_OK);
    assert_int_equal(n, 0);
    RC(pl_cstore_devices_set(f->s, "bob", devs, 3), PL_CSTORE_OK);
    RC(pl_cstore_devices_set(f->s, "carol", devs, 16), PL_CSTORE_OK);
    RC(pl_cstore_devices_get(f->s, "bob", out, &n), PL_CSTORE_OK);
    assert_int_equal(n, 3);
    for (i = 0; i < 3; i++) /* id order: 98, 99, 100 */
        assert_memory_equal(&out[i], &devs[2 - i], sizeof out[i]);
    RC(pl_cstore_devices_set(f->s, "bob", devs + 5, 1), PL_CSTORE_OK);
    RC(pl_cstore_devices_get(f->s, "bob", out, &n), PL_CSTORE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].device_id, 95);
    assert_string_equal(out[0].name, "dev5");
    RC(pl_cstore_devices_set(f->s, "bob", devs, 17), PL_CSTORE_E_INVALID_ARG);
    devs[1].device_id = devs[0].device_id; /* a duplicate: nothing changes */
    RC(pl_cstore_devices_set(f->s, "bob", devs, 2), PL_CSTORE_E_INVALID_ARG);
    RC(pl_cstore_devices_get(f->s, "bob", out, &n), PL_CSTORE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].device_id, 95);
    RC(pl_cstore_devices_set(f->s, "bob", NULL, 0), PL_CSTORE_OK);
    RC(pl_cstore_devices_get(f->s, "bob", out, &n), PL_CSTORE_OK);
    assert_int_equal(n, 0);
    RC(pl_cstore_devices_get(f->s, "carol", out, &n), PL_CSTORE_OK);
    assert_int_equal(n, 16);
}

static void sessions_round_trip(void **state)
{
    fixture *f = *state;
    uint8_t *st = NULL;
    size_t n = 0;

    cs_create(f, NULL);
    RC(pl_cstore_session_get(f->s, "bob", 1, &st, &n), PL_CSTORE_E_NOT_FOUND);
    RC(pl_cstore_session_put(f->s, "bob", 1, (const uint8_t *)"one", 3), PL_CSTORE_OK);
    RC(pl_cstore_session_put(f->s, "bob", 2, (const uint8_t *)"two", 3), PL_CSTORE_OK);
    RC(pl_cstore_session_put(f->s, "bob", 1, (const uint8_t *)"uno!", 4), PL_CSTORE_OK);
    RC(pl_cstore_session_get(f->s, "bob", 1, &st, &n), PL_CSTORE_OK);
    assert_int_equal(n, 4);
    assert_memory_equal(st, "uno!", 4);
    pl_cstore_free_secret(st, n);
    RC(pl_cstore_session_delete(f->s, "bob", 1), PL_CSTORE_OK);
    RC(pl_cstore_session_delete(f->s, "bob", 1), PL_CSTORE_E_NOT_FOUND);
    RC(pl_cstore_session_get(f->s, "bob", 1, &st, &n), PL_CSTORE_E_NOT_FOUND);
    RC(pl_cstore_session_get(f->s, "bob", 2, &st, &n), PL_CSTORE_OK);
    assert_memory_equal(st, "two", 3);
    pl_cstore_free_secret(st, n);
    RC(pl_cstore_session_put(f->s, "", 2, (const uint8_t *)"x", 1), PL_CSTORE_E_INVALID_ARG);
}

static pl_cstore_message message(const char *peer, int kind, uint8_t id, const char *body)
{
    pl_cstore_message m;

    memset(&m, 0, sizeof m);
    snprintf(m.peer, sizeof m.peer, "%s", peer);
    memset(m.id, id, sizeof m.id);
    m.kind = kind;
    m.device_id = 7;
    m.sent_at_ms = 1000u + id;
    m.received_at_ms = 2000u + id;
    m.body = (uint8_t *)body;
    m.body_len = strlen(body);
    return m;
}

typedef struct seen_msgs {
    char bodies[256];
    int64_t last_rowid;
    int stop_after;
} seen_msgs;

static int collect_messages(void *ctx, const pl_cstore_message *m)
{
    seen_msgs *c = ctx;

    assert_true(m->rowid > c->last_rowid);
    c->last_rowid = m->rowid;
    strncat(c->bodies, (const char *)m->body, m->body_len);
    strcat(c->bodies, ",");
    return --c->stop_after == 0;
}

static void list(fixture *f, const char *peer, size_t limit, int stop_after, const char *want)
{
    seen_msgs c;

    memset(&c, 0, sizeof c);
    c.stop_after = stop_after;
    RC(pl_cstore_message_list(f->s, peer, limit, collect_messages, &c), PL_CSTORE_OK);
    assert_string_equal(c.bodies, want);
}

static void messages_dedup_limit_and_order(void **state)
{
    fixture *f = *state;
    pl_cstore_message m;

    cs_create(f, NULL);
    m = message("bob", PL_CSTORE_MSG_IN, 1, "b1");
    RC(pl_cstore_message_add(f->s, &m), PL_CSTORE_OK);
    m = message("alice", PL_CSTORE_MSG_IN, 1, "a1");
    RC(pl_cstore_message_add(f->s, &m), PL_CSTORE_OK);
    m = message("bob", PL_CSTORE_MSG_OUT, 1, "b2"); /* same id, other kind */
    RC(pl_cstore_message_add(f->s, &m), PL_CSTORE_OK);
    m = message("bob", PL_CSTORE_MSG_IN, 1, "dup");
    RC(pl_cstore_message_add(f->s, &m), PL_CSTORE_E_EXISTS);
    m = message("bob", PL_CSTORE_MSG_IN, 3, "b3");
    RC(pl_cstore_message_add(f->s, &m), PL_CSTORE_OK);
    m = message("bob", PL_CSTORE_MSG_NOTICE, 4, "");
    RC(pl_cstore_message_add(f->s, &m), PL_CSTORE_OK);
    m = message("bob", 3, 5, "bad kind");
    RC(pl_cstore_message_add(f->s, &m), PL_CSTORE_E_INVALID_ARG);

    list(f, "bob", 0, -1, "b1,b2,b3,,");
    list(f, "bob", 2, -1, "b3,,");
    list(f, "bob", 100, -1, "b1,b2,b3,,");
    list(f, "bob", 0, 2, "b1,b2,");
    list(f, NULL, 0, -1, "b1,a1,b2,b3,,");
    list(f, NULL, 3, -1, "b2,b3,,");
    list(f, "carol", 0, -1, "");
    cs_reopen(f);
    list(f, "alice", 1, -1, "a1,");
}

static int check_one_message(void *ctx, const pl_cstore_message *m)
{
    (void)ctx;
    assert_string_equal(m->peer, "bob");
    assert_int_equal(m->kind, PL_CSTORE_MSG_OUT);
    assert_int_equal(m->device_id, 7);
    assert_int_equal(m->sent_at_ms, 1009);
    assert_int_equal(m->received_at_ms, 2009);
    assert_int_equal(m->id[0], 9);
    assert_int_equal(m->body_len, 5);
    assert_memory_equal(m->body, "hello", 5);
    return 0;
}

static void message_fields_round_trip(void **state)
{
    fixture *f = *state;
    pl_cstore_message m = message("bob", PL_CSTORE_MSG_OUT, 9, "hello");

    cs_create(f, NULL);
    RC(pl_cstore_message_add(f->s, &m), PL_CSTORE_OK);
    RC(pl_cstore_message_list(f->s, "bob", 0, check_one_message, NULL), PL_CSTORE_OK);
}

static void seen_add_has_prune(void **state)
{
    fixture *f = *state;

    cs_create(f, NULL);
    assert_int_equal(pl_cstore_seen_has(f->s, 5), 0);
    RC(pl_cstore_seen_add(f->s, 5), PL_CSTORE_OK);
    RC(pl_cstore_seen_add(f->s, 5), PL_CSTORE_OK);
    RC(pl_cstore_seen_add(f->s, 9), PL_CSTORE_OK);
    RC(pl_cstore_seen_add(f->s, 12), PL_CSTORE_OK);
    assert_int_equal(pl_cstore_seen_has(f->s, 5), 1);
    assert_int_equal(pl_cstore_seen_has(f->s, 6), 0);
    RC(pl_cstore_seen_prune(f->s, 9), PL_CSTORE_OK);
    assert_int_equal(pl_cstore_seen_has(f->s, 5), 0);
    assert_int_equal(pl_cstore_seen_has(f->s, 9), 0);
    assert_int_equal(pl_cstore_seen_has(f->s, 12), 1);
    RC(pl_cstore_seen_add(f->s, UINT64_MAX), PL_CSTORE_E_INVALID_ARG);
    RC(pl_cstore_seen_prune(f->s, UINT64_MAX), PL_CSTORE_OK);
    assert_int_equal(pl_cstore_seen_has(f->s, 12), 0);
}

static void transactions_commit_and_roll_back(void **state)
{
    fixture *f = *state;
    pl_cstore_device dev;
    pl_cstore_device out[16];
    pl_cstore_message m = message("bob", PL_CSTORE_MSG_IN, 1, "hi");
    uint8_t *d = NULL;
    size_t n = 0;

    memset(&dev, 0, sizeof dev);
    dev.device_id = 3;
    cs_create(f, NULL);
    RC(pl_cstore_commit(f->s), PL_CSTORE_E_INVALID_ARG);
    pl_cstore_rollback(f->s); /* nothing open: harmless */

    RC(pl_cstore_begin(f->s), PL_CSTORE_OK);
    RC(pl_cstore_begin(f->s), PL_CSTORE_E_INVALID_ARG);
    RC(pl_cstore_session_put(f->s, "bob", 1, (const uint8_t *)"s", 1), PL_CSTORE_OK);
    RC(pl_cstore_message_add(f->s, &m), PL_CSTORE_OK);
    RC(pl_cstore_devices_set(f->s, "bob", &dev, 1), PL_CSTORE_OK);
    pl_cstore_rollback(f->s);
    RC(pl_cstore_session_get(f->s, "bob", 1, &d, &n), PL_CSTORE_E_NOT_FOUND);
    list(f, NULL, 0, -1, "");
    RC(pl_cstore_devices_get(f->s, "bob", out, &n), PL_CSTORE_OK);
    assert_int_equal(n, 0);

    RC(pl_cstore_begin(f->s), PL_CSTORE_OK);
    RC(pl_cstore_session_put(f->s, "bob", 1, (const uint8_t *)"s", 1), PL_CSTORE_OK);
    RC(pl_cstore_message_add(f->s, &m), PL_CSTORE_OK);
    RC(pl_cstore_message_add(f->s, &m), PL_CSTORE_E_EXISTS); /* the transaction survives */
    RC(pl_cstore_devices_set(f->s, "bob", &dev, 1), PL_CSTORE_OK);
    RC(pl_cstore_commit(f->s), PL_CSTORE_OK);
    cs_reopen(f);
    RC(pl_cstore_session_get(f->s, "bob", 1, &d, &n), PL_CSTORE_OK);
    pl_cstore_free_secret(d, n);
    list(f, NULL, 0, -1, "hi,");
    RC(pl_cstore_devices_get(f->s, "bob", out, &n), PL_CSTORE_OK);
    assert_int_equal(n, 1);
}

static void a_sealed_value_moved_or_flipped_does_not_open(void **state)
{
    fixture *f = *state;
    pl_cstore_message m1 = message("bob", PL_CSTORE_MSG_IN, 1, "first");
    pl_cstore_message m2 = message("bob", PL_CSTORE_MSG_IN, 2, "second");
    uint8_t *d = NULL;
    size_t n = 0;

    cs_create(f, NULL);
    RC(pl_cstore_secret_put(f->s, "a", (const uint8_t *)"aaaa", 4), PL_CSTORE_OK);
    RC(pl_cstore_secret_put(f->s, "b", (const uint8_t *)"bbbb", 4), PL_CSTORE_OK);
    RC(pl_cstore_session_put(f->s, "bob", 1, (const uint8_t *)"s1", 2), PL_CSTORE_OK);
    RC(pl_cstore_session_put(f->s, "bob", 2, (const uint8_t *)"s2", 2), PL_CSTORE_OK);
    RC(pl_cstore_message_add(f->s, &m1), PL_CSTORE_OK);
    RC(pl_cstore_message_add(f->s, &m2), PL_CSTORE_OK);
    pl_cstore_close(f->s);
    f->s = NULL;
    cs_raw_exec(f, "UPDATE secrets SET value = (SELECT value FROM secrets WHERE name = 'a')"
                   " WHERE name = 'b';"
                   "UPDATE sessions SET state = (SELECT state FROM sessions WHERE device_id = 1)"
                   " WHERE device_id = 2;"
                   "UPDATE messages SET body = (SELECT body FROM messages WHERE sent_at = 1001)"
                   " WHERE sent_at = 1002;"
                   "UPDATE secrets SET name = 'c' WHERE name = 'a';");
    cs_reopen(f);
    RC(pl_cstore_secret_get(f->s, "b", &d, &n), PL_CSTORE_E_CORRUPT);
    assert_null(d);
    RC(pl_cstore_secret_get(f->s, "c", &d, &n), PL_CSTORE_E_CORRUPT); /* renamed row */
    RC(pl_cstore_session_get(f->s, "bob", 2, &d, &n), PL_CSTORE_E_CORRUPT);
    RC(pl_cstore_session_get(f->s, "bob", 1, &d, &n), PL_CSTORE_OK);
    pl_cstore_free_secret(d, n);
    {
        seen_msgs c;

        memset(&c, 0, sizeof c);
        c.stop_after = -1;
        RC(pl_cstore_message_list(f->s, "bob", 0, collect_messages, &c), PL_CSTORE_E_CORRUPT);
        assert_string_equal(c.bodies, "first,");
    }
    pl_cstore_close(f->s);
    f->s = NULL;
    /* one changed byte, and a value too short to hold a nonce and a tag */
    cs_raw_exec(f, "UPDATE sessions SET state = CAST(substr(state, 1, 30) ||"
                   " CASE WHEN substr(state, 31, 1) = x'ff' THEN x'00' ELSE x'ff' END ||"
                   " substr(state, 32) AS BLOB) WHERE device_id = 1;"
                   "UPDATE secrets SET value = x'0102' WHERE name = 'b';");
    cs_reopen(f);
    RC(pl_cstore_session_get(f->s, "bob", 1, &d, &n), PL_CSTORE_E_CORRUPT);
    RC(pl_cstore_secret_get(f->s, "b", &d, &n), PL_CSTORE_E_CORRUPT);
}

static void damaged_plain_columns_are_corrupt(void **state)
{
    fixture *f = *state;
    pl_cstore_contact c = contact("bob", 1), got;
    pl_cstore_device dev, out[16];
    size_t n = 0;

    memset(&dev, 0, sizeof dev);
    cs_create(f, NULL);
    RC(pl_cstore_contact_put(f->s, &c), PL_CSTORE_OK);
    RC(pl_cstore_devices_set(f->s, "bob", &dev, 1), PL_CSTORE_OK);
    RC(pl_cstore_setting_set(f->s, "x", "y"), PL_CSTORE_OK);
    pl_cstore_close(f->s);
    f->s = NULL;
    cs_raw_exec(f, "UPDATE contacts SET account_key = x'01';"
                   "UPDATE devices SET device_id = -1;"
                   "UPDATE settings SET value = 'a' || char(0) || 'b';");
    cs_reopen(f);
    RC(pl_cstore_contact_get(f->s, "bob", &got), PL_CSTORE_E_CORRUPT);
    RC(pl_cstore_devices_get(f->s, "bob", out, &n), PL_CSTORE_E_CORRUPT);
    assert_int_equal(n, 0);
    {
        char v[16];

        RC(pl_cstore_setting_get(f->s, "x", v, sizeof v), PL_CSTORE_E_CORRUPT);
    }
}

/* Whether marker appears in home/name (a missing file has nothing). */
static int file_contains(fixture *f, const char *name, const char *marker)
{
    char p[256];
    size_t n = 0, i, m = strlen(marker);
    uint8_t *data = tu_read_file(cs_path(f, name, p), &n);
    int found = 0;

    for (i = 0; data && i + m <= n && !found; i++)
        found = memcmp(data + i, marker, m) == 0;
    free(data);
    return found;
}

static void no_plaintext_secret_or_body_on_disk(void **state)
{
    fixture *f = *state;
    pl_cstore_message m = message("bob", PL_CSTORE_MSG_IN, 1, "BODY-MARKER-91c2e0");
    static const char *const files[] = {"parley.db", "parley.db-wal"};
    size_t i;
    int pass;

    cs_create(f, NULL);
    RC(pl_cstore_secret_put(f->s, "account", (const uint8_t *)"SECRET-MARKER-7f3a", 18),
       PL_CSTORE_OK);
    RC(pl_cstore_session_put(f->s, "bob", 1, (const uint8_t *)"STATE-MARKER-55aa", 17),
       PL_CSTORE_OK);
    RC(pl_cstore_message_add(f->s, &m), PL_CSTORE_OK);
    RC(pl_cstore_setting_set(f->s, "note", "PLAIN-MARKER-0d0d"), PL_CSTORE_OK);
    /* pass 0: in the WAL while open; pass 1: checkpointed into parley.db by close */
    for (pass = 0; pass < 2; pass++) {
        int plain_seen = 0;

        for (i = 0; i < sizeof files / sizeof files[0]; i++) {
            assert_false(file_contains(f, files[i], "SECRET-MARKER-7f3a"));
            assert_false(file_contains(f, files[i], "STATE-MARKER-55aa"));
            assert_false(file_contains(f, files[i], "BODY-MARKER-91c2e0"));
            plain_seen |= file_contains(f, files[i], "PLAIN-MARKER-0d0d");
        }
        assert_true(plain_seen); /* the search itself works */
        pl_cstore_close(f->s);
        f->s = NULL;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(settings_round_trip, cs_setup, cs_teardown),
        cmocka_unit_test_setup_teardown(secrets_round_trip, cs_setup, cs_teardown),
        cmocka_unit_test_setup_teardown(contacts_round_trip, cs_setup, cs_teardown),
        cmocka_unit_test_setup_teardown(devices_set_replaces_the_list, cs_setup, cs_teardown),
        cmocka_unit_test_setup_teardown(sessions_round_trip, cs_setup, cs_teardown),
        cmocka_unit_test_setup_teardown(messages_dedup_limit_and_order, cs_setup, cs_teardown),
        cmocka_unit_test_setup_teardown(message_fields_round_trip, cs_setup, cs_teardown),
        cmocka_unit_test_setup_teardown(seen_add_has_prune, cs_setup, cs_teardown),
        cmocka_unit_test_setup_teardown(transactions_commit_and_roll_back, cs_setup, cs_teardown),
        cmocka_unit_test_setup_teardown(a_sealed_value_moved_or_flipped_does_not_open, cs_setup,
                                        cs_teardown),
        cmocka_unit_test_setup_teardown(damaged_plain_columns_are_corrupt, cs_setup, cs_teardown),
        cmocka_unit_test_setup_teardown(no_plaintext_secret_or_body_on_disk, cs_setup, cs_teardown),
    };

    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
