/*
 * test_store_sqlite_send.c: the SQLite backend of store.h, part 3: client message ids on
 * envelopes and send deduplication (pl_store_send_record): duplicates found with the time
 * of the first record, devices and ids independent, pruning after PL_STORE_SEND_DEDUP_MS by
 * pl_store_mailbox_expire with an injected clock, and records going with their device.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */

#include "store_fixture.h"

#define DAY PL_STORE_SEND_DEDUP_MS

static void client_message_ids_round_trip_through_the_mailbox(void **state)
{
    fixture *f = *state;
    static const uint8_t zero[PL_STORE_CLIENT_MESSAGE_ID_BYTES];
    uint8_t id[3][PL_STORE_CLIENT_MESSAGE_ID_BYTES];
    pl_store_envelope e[3];
    collected c;
    size_t failed, i;

    open_store(f, NULL);
    add_account(f->s, "alice");
    add_device(f->s, "alice", 1);
    for (i = 0; i < 3; i++) {
        make_cmid(id[i], (uint8_t)i);
        e[i] = make_env("alice", 1, 100 + i, (unsigned)i);
        e[i].client_message_id = id[i];
    }
    e[1].client_message_id = NULL; /* stored as zeros */
    RC(pl_store_mailbox_append(f->s, e, 3, &failed), PL_STORE_OK);

    open_store(f, NULL);
    memset(&c, 0, sizeof c);
    RC(pl_store_mailbox_fetch(f->s, "alice", 1, 0, 10, collect_cb, &c, NULL), PL_STORE_OK);
    assert_int_equal(c.n, 3);
    assert_memory_equal(c.cmid[0], id[0], sizeof id[0]);
    assert_memory_equal(c.cmid[1], zero, sizeof zero);
    assert_memory_equal(c.cmid[2], id[2], sizeof id[2]);
}

static void a_second_send_record_is_a_duplicate_with_the_first_time(void **state)
{
    fixture *f = *state;
    uint8_t id[PL_STORE_CLIENT_MESSAGE_ID_BYTES];
    uint64_t first = 99;

    open_store(f, NULL);
    add_account(f->s, "alice");
    add_device(f->s, "alice", 1);
    make_cmid(id, 1);
    RC(pl_store_send_record(f->s, "alice", 1, id, 1000, &first), PL_STORE_OK);
    assert_int_equal(first, 1000);
    RC(pl_store_send_record(f->s, "alice", 1, id, 2000, &first), PL_STORE_E_EXISTS);
    assert_int_equal(first, 1000);
    RC(pl_store_send_record(f->s, "alice", 1, id, 3000, NULL), PL_STORE_E_EXISTS);

    /* The record is durable: a reopened store still knows it, with its first time. */
    open_store(f, NULL);
    RC(pl_store_send_record(f->s, "alice", 1, id, 4000, &first), PL_STORE_E_EXISTS);
    assert_int_equal(first, 1000);
}

static void send_records_of_other_devices_and_ids_are_independent(void **state)
{
    fixture *f = *state;
    uint8_t a[PL_STORE_CLIENT_MESSAGE_ID_BYTES], b[PL_STORE_CLIENT_MESSAGE_ID_BYTES];
    uint64_t first = 0;

    open_store(f, NULL);
    add_account(f->s, "alice");
    add_account(f->s, "bob");
    add_device(f->s, "alice", 1);
    add_device(f->s, "alice", 2);
    add_device(f->s, "bob", 1);
    make_cmid(a, 1);
    make_cmid(b, 2);
    RC(pl_store_send_record(f->s, "alice", 1, a, 10, &first), PL_STORE_OK);
    RC(pl_store_send_record(f->s, "alice", 2, a, 20, &first), PL_STORE_OK); /* other device */
    assert_int_equal(first, 20);
    RC(pl_store_send_record(f->s, "bob", 1, a, 30, &first), PL_STORE_OK);   /* other account */
    RC(pl_store_send_record(f->s, "alice", 1, b, 40, &first), PL_STORE_OK); /* other id */
    a[PL_STORE_CLIENT_MESSAGE_ID_BYTES - 1] ^= 1;                           /* one bit off */
    RC(pl_store_send_record(f->s, "alice", 1, a, 50, &first), PL_STORE_OK);
    a[PL_STORE_CLIENT_MESSAGE_ID_BYTES - 1] ^= 1;
    RC(pl_store_send_record(f->s, "alice", 2, a, 60, &first), PL_STORE_E_EXISTS);
    assert_int_equal(first, 20);
}

static void send_record_refuses_bad_input_and_unknown_devices(void **state)
{
    fixture *f = *state;
    uint8_t id[PL_STORE_CLIENT_MESSAGE_ID_BYTES];
    char longname[PL_STORE_USERNAME_MAX + 2];
    uint64_t first = 7;

    open_store(f, NULL);
    add_account(f->s, "alice");
    add_device(f->s, "alice", 1);
    make_cmid(id, 1);
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    RC(pl_store_send_record(f->s, "alice", 2, id, 10, &first), PL_STORE_E_NOT_FOUND);
    assert_int_equal(first, 0);
    RC(pl_store_send_record(f->s, "carol", 1, id, 10, &first), PL_STORE_E_NOT_FOUND);
    RC(pl_store_send_record(f->s, "", 1, id, 10, &first), PL_STORE_E_INVALID_ARG);
    RC(pl_store_send_record(f->s, NULL, 1, id, 10, &first), PL_STORE_E_INVALID_ARG);
    RC(pl_store_send_record(f->s, longname, 1, id, 10, &first), PL_STORE_E_INVALID_ARG);
    RC(pl_store_send_record(f->s, "alice", 1, NULL, 10, &first), PL_STORE_E_INVALID_ARG);
    RC(pl_store_send_record(f->s, "alice", 1, id, UINT64_MAX, &first), PL_STORE_E_INVALID_ARG);
    assert_int_equal(first, 0);
    assert_true(strlen(pl_store_last_error(f->s)) > 0);
    /* None of the refusals recorded anything. */
    RC(pl_store_send_record(f->s, "alice", 1, id, 10, &first), PL_STORE_OK);
}

static void send_records_are_pruned_after_a_day_by_expiry(void **state)
{
    fixture *f = *state;
    uint8_t a[PL_STORE_CLIENT_MESSAGE_ID_BYTES], b[PL_STORE_CLIENT_MESSAGE_ID_BYTES];
    pl_store_envelope e = make_env("alice", 1, 1000, 1);
    uint64_t first = 0, expired = 9;
    const uint64_t t0 = 1700000000000ull;
    size_t failed;

    open_store(f, NULL);
    add_account(f->s, "alice");
    add_device(f->s, "alice", 1);
    make_cmid(a, 1);
    make_cmid(b, 2);
    e.server_ts_ms = t0;
    RC(pl_store_mailbox_append(f->s, &e, 1, &failed), PL_STORE_OK);
    RC(pl_store_send_record(f->s, "alice", 1, a, t0, &first), PL_STORE_OK);
    RC(pl_store_send_record(f->s, "alice", 1, b, t0 + 1000, &first), PL_STORE_OK);

    /* Exactly a day old is not older than a day: both stay. */
    RC(pl_store_mailbox_expire(f->s, t0 + DAY, NULL, NULL, &expired), PL_STORE_OK);
    assert_int_equal(expired, 0);
    RC(pl_store_send_record(f->s, "alice", 1, a, t0 + DAY, &first), PL_STORE_E_EXISTS);
    assert_int_equal(first, t0);

    /* One millisecond later a goes, b (a second younger) stays; the envelope is untouched
     * and *expired counts envelopes only. */
    RC(pl_store_mailbox_expire(f->s, t0 + DAY + 1, NULL, NULL, &expired), PL_STORE_OK);
    assert_int_equal(expired, 0);
    assert_int_equal(mailbox_count(f->s, "alice", 1), 1);
    RC(pl_store_send_record(f->s, "alice", 1, b, t0 + DAY + 1, &first), PL_STORE_E_EXISTS);
    assert_int_equal(first, t0 + 1000);
    RC(pl_store_send_record(f->s, "alice", 1, a, t0 + DAY + 1, &first), PL_STORE_OK);
    assert_int_equal(first, t0 + DAY + 1);

    /* Until the expiry runs, an old record still counts as a duplicate. */
    RC(pl_store_send_record(f->s, "alice", 1, b, t0 + 5 * DAY, &first), PL_STORE_E_EXISTS);
    RC(pl_store_mailbox_expire(f->s, t0 + 5 * DAY, NULL, NULL, &expired), PL_STORE_OK);
    RC(pl_store_send_record(f->s, "alice", 1, b, t0 + 5 * DAY, &first), PL_STORE_OK);
}

static void send_record_pruning_covers_more_than_one_chunk(void **state)
{
    fixture *f = *state;
    uint8_t id[PL_STORE_CLIENT_MESSAGE_ID_BYTES];
    uint64_t first = 0;
    unsigned i;

    open_store(f, NULL);
    add_account(f->s, "alice");
    add_device(f->s, "alice", 1);
    RC(pl_store_batch_begin(f->s), PL_STORE_OK);
    for (i = 0; i < 2500; i++) {
        memset(id, 0, sizeof id);
        memcpy(id, &i, sizeof i);
        RC(pl_store_send_record(f->s, "alice", 1, id, 1000 + i, &first), PL_STORE_OK);
    }
    RC(pl_store_batch_commit(f->s), PL_STORE_OK);
    RC(pl_store_mailbox_expire(f->s, 1000 + 2500 + DAY, NULL, NULL, NULL), PL_STORE_OK);
    for (i = 0; i < 2500; i += 499) {
        memset(id, 0, sizeof id);
        memcpy(id, &i, sizeof i);
        RC(pl_store_send_record(f->s, "alice", 1, id, 1, &first), PL_STORE_OK);
    }
}

static void send_records_go_with_their_device(void **state)
{
    fixture *f = *state;
    uint8_t id[PL_STORE_CLIENT_MESSAGE_ID_BYTES];

    open_store(f, NULL);
    add_account(f->s, "alice");
    add_device(f->s, "alice", 1);
    make_cmid(id, 1);
    RC(pl_store_send_record(f->s, "alice", 1, id, 10, NULL), PL_STORE_OK);
    RC(pl_store_device_remove(f->s, "alice", 1), PL_STORE_OK);
    RC(pl_store_send_record(f->s, "alice", 1, id, 20, NULL), PL_STORE_E_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(client_message_ids_round_trip_through_the_mailbox),
        T(a_second_send_record_is_a_duplicate_with_the_first_time),
        T(send_records_of_other_devices_and_ids_are_independent),
        T(send_record_refuses_bad_input_and_unknown_devices),
        T(send_records_are_pruned_after_a_day_by_expiry),
        T(send_record_pruning_covers_more_than_one_chunk),
        T(send_records_go_with_their_device),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
