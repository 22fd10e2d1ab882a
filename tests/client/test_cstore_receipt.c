/*
 * test_cstore_receipt.c: the receipts table of the client store (cstore_receipt.c, schema
 * version 3): a status is kept only for a stored message, only goes up, is per (peer, kind,
 * id); unreported received messages are listed oldest first; a version-2 store is migrated.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cstore_fixture.h"
#include "testutil.h"

static void add_message(fixture *f, const char *peer, int kind, uint8_t id_byte)
{
    pl_cstore_message m;

    memset(&m, 0, sizeof m);
    memset(m.id, id_byte, sizeof m.id);
    strcpy(m.peer, peer);
    m.kind = kind;
    m.body = (uint8_t *)"hi";
    m.body_len = 2;
    RC(pl_cstore_message_add(f->s, &m), PL_CSTORE_OK);
}

static void status_only_rises_and_only_for_stored_messages(void **state)
{
    fixture *f = *state;
    uint8_t id[16], other[16];
    int st = -1, changed = -1;

    cs_create(f, NULL);
    memset(id, 1, sizeof id);
    memset(other, 9, sizeof other);
    add_message(f, "bob", PL_CSTORE_MSG_OUT, 1);
    RC(pl_cstore_receipt_get(f->s, "bob", PL_CSTORE_MSG_OUT, id, &st), PL_CSTORE_OK);
    assert_int_equal(st, PL_CSTORE_STATUS_SENT);
    /* An id never sent to bob, or sent but to someone else, changes nothing. */
    RC(pl_cstore_receipt_raise(f->s, "bob", PL_CSTORE_MSG_OUT, other, PL_CSTORE_STATUS_READ, 5,
                               &changed),
       PL_CSTORE_OK);
    assert_int_equal(changed, 0);
    RC(pl_cstore_receipt_raise(f->s, "carol", PL_CSTORE_MSG_OUT, id, PL_CSTORE_STATUS_READ, 5,
                               &changed),
       PL_CSTORE_OK);
    assert_int_equal(changed, 0);
    RC(pl_cstore_receipt_raise(f->s, "bob", PL_CSTORE_MSG_IN, id, PL_CSTORE_STATUS_READ, 5,
                               &changed),
       PL_CSTORE_OK);
    assert_int_equal(changed, 0);
    RC(pl_cstore_receipt_get(f->s, "bob", PL_CSTORE_MSG_OUT, id, &st), PL_CSTORE_OK);
    assert_int_equal(st, PL_CSTORE_STATUS_SENT);
    /* delivered, then read; a late delivered does not take it back. */
    RC(pl_cstore_receipt_raise(f->s, "bob", PL_CSTORE_MSG_OUT, id, PL_CSTORE_STATUS_DELIVERED, 6,
                               &changed),
       PL_CSTORE_OK);
    assert_int_equal(changed, 1);
    RC(pl_cstore_receipt_raise(f->s, "bob", PL_CSTORE_MSG_OUT, id, PL_CSTORE_STATUS_READ, 7,
                               &changed),
       PL_CSTORE_OK);
    assert_int_equal(changed, 1);
    RC(pl_cstore_receipt_raise(f->s, "bob", PL_CSTORE_MSG_OUT, id, PL_CSTORE_STATUS_DELIVERED, 8,
                               &changed),
       PL_CSTORE_OK);
    assert_int_equal(changed, 0);
    RC(pl_cstore_receipt_get(f->s, "bob", PL_CSTORE_MSG_OUT, id, &st), PL_CSTORE_OK);
    assert_int_equal(st, PL_CSTORE_STATUS_READ);
    /* Bad arguments are refused. */
    RC(pl_cstore_receipt_raise(f->s, "bob", PL_CSTORE_MSG_NOTICE, id, 1, 0, NULL),
       PL_CSTORE_E_INVALID_ARG);
    RC(pl_cstore_receipt_raise(f->s, "bob", PL_CSTORE_MSG_OUT, id, 3, 0, NULL),
       PL_CSTORE_E_INVALID_ARG);
    RC(pl_cstore_receipt_raise(f->s, "", PL_CSTORE_MSG_OUT, id, 1, 0, NULL),
       PL_CSTORE_E_INVALID_ARG);
}

static void unreported_received_messages_are_listed_oldest_first(void **state)
{
    fixture *f = *state;
    uint8_t ids[4][16];
    size_t n = 99;

    cs_create(f, NULL);
    add_message(f, "bob", PL_CSTORE_MSG_IN, 3);
    add_message(f, "bob", PL_CSTORE_MSG_OUT, 4); /* ours: never listed */
    add_message(f, "bob", PL_CSTORE_MSG_IN, 5);
    add_message(f, "carol", PL_CSTORE_MSG_IN, 6);
    add_message(f, "bob", PL_CSTORE_MSG_IN, 7);
    RC(pl_cstore_receipt_below(f->s, "bob", PL_CSTORE_STATUS_READ, ids, 4, &n), PL_CSTORE_OK);
    assert_int_equal(n, 3);
    assert_int_equal(ids[0][0], 3);
    assert_int_equal(ids[1][0], 5);
    assert_int_equal(ids[2][0], 7);
    RC(pl_cstore_receipt_below(f->s, "bob", PL_CSTORE_STATUS_READ, ids, 2, &n), PL_CSTORE_OK);
    assert_int_equal(n, 2);
    RC(pl_cstore_receipt_raise(f->s, "bob", PL_CSTORE_MSG_IN, ids[0], PL_CSTORE_STATUS_READ, 1,
                               NULL),
       PL_CSTORE_OK);
    RC(pl_cstore_receipt_raise(f->s, "bob", PL_CSTORE_MSG_IN, ids[1], PL_CSTORE_STATUS_DELIVERED, 1,
                               NULL),
       PL_CSTORE_OK);
    /* Below READ: the delivered one and the last; below DELIVERED: only the last. */
    RC(pl_cstore_receipt_below(f->s, "bob", PL_CSTORE_STATUS_READ, ids, 4, &n), PL_CSTORE_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ids[0][0], 5);
    assert_int_equal(ids[1][0], 7);
    RC(pl_cstore_receipt_below(f->s, "bob", PL_CSTORE_STATUS_DELIVERED, ids, 4, &n), PL_CSTORE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0][0], 7);
}

static void version_2_store_is_migrated(void **state)
{
    fixture *f = *state;
    uint8_t id[16];
    int st = -1, changed = 0;

    cs_create(f, NULL);
    add_message(f, "bob", PL_CSTORE_MSG_OUT, 2);
    pl_cstore_close(f->s);
    f->s = NULL;
    cs_raw_exec(f, "DROP TABLE groups; DROP TABLE receipts; UPDATE schema_version SET version = 2");
    cs_reopen(f);
    memset(id, 2, sizeof id);
    RC(pl_cstore_receipt_get(f->s, "bob", PL_CSTORE_MSG_OUT, id, &st), PL_CSTORE_OK);
    assert_int_equal(st, PL_CSTORE_STATUS_SENT);
    RC(pl_cstore_receipt_raise(f->s, "bob", PL_CSTORE_MSG_OUT, id, PL_CSTORE_STATUS_READ, 1,
                               &changed),
       PL_CSTORE_OK);
    assert_int_equal(changed, 1);
}

static void a_damaged_status_is_corrupt(void **state)
{
    fixture *f = *state;
    uint8_t id[16];
    int st = -1;

    cs_create(f, NULL);
    add_message(f, "bob", PL_CSTORE_MSG_OUT, 2);
    memset(id, 2, sizeof id);
    RC(pl_cstore_receipt_raise(f->s, "bob", PL_CSTORE_MSG_OUT, id, 1, 1, NULL), PL_CSTORE_OK);
    pl_cstore_close(f->s);
    f->s = NULL;
    cs_raw_exec(f, "UPDATE receipts SET status = 7");
    cs_reopen(f);
    RC(pl_cstore_receipt_get(f->s, "bob", PL_CSTORE_MSG_OUT, id, &st), PL_CSTORE_E_CORRUPT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(status_only_rises_and_only_for_stored_messages, cs_setup,
                                        cs_teardown),
        cmocka_unit_test_setup_teardown(unreported_received_messages_are_listed_oldest_first,
                                        cs_setup, cs_teardown),
        cmocka_unit_test_setup_teardown(version_2_store_is_migrated, cs_setup, cs_teardown),
        cmocka_unit_test_setup_teardown(a_damaged_status_is_corrupt, cs_setup, cs_teardown),
    };

    if (setenv("PARLEY_TEST_FAST_KDF", "1", 1) != 0 || sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
