/*
 * test_store_sqlite_batch.c: the SQLite backend of store.h, part 4: batches
 * (pl_store_batch_begin / _commit / _rollback): operations of different kinds in one
 * transaction, invisible to another handle until the commit and gone after a rollback; a
 * failing operation inside a batch undoes only itself; misuse refused.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */

#include "store_fixture.h"

/* alice (device 1) with three envelopes (seqs 1..3), and bob (device 1). */
static void prepare(fixture *f)
{
    pl_store_envelope e[3];
    size_t failed, i;

    open_store(f, NULL);
    add_account(f->s, "alice");
    add_account(f->s, "bob");
    add_device(f->s, "alice", 1);
    add_device(f->s, "bob", 1);
    for (i = 0; i < 3; i++)
        e[i] = make_env("alice", 1, 100 + i, (unsigned)i);
    RC(pl_store_mailbox_append(f->s, e, 3, &failed), PL_STORE_OK);
}

static pl_store *open_other(fixture *f)
{
    pl_store *other = NULL;
    char err[256];

    RC(pl_store_open_sqlite(f->path, NULL, &other, err, sizeof err), PL_STORE_OK);
    return other;
}

/* Two appends, an ack and a send record, as the writer thread would batch them. */
static void run_mixed_batch(fixture *f)
{
    pl_store_envelope to_bob = make_env("bob", 1, 200, 7);
    pl_store_envelope to_alice = make_env("alice", 1, 201, 8);
    const uint64_t ack = 2;
    uint8_t id[PL_STORE_CLIENT_MESSAGE_ID_BYTES];
    size_t failed, deleted = 0;

    make_cmid(id, 1);
    RC(pl_store_batch_begin(f->s), PL_STORE_OK);
    RC(pl_store_mailbox_append(f->s, &to_bob, 1, &failed), PL_STORE_OK);
    assert_int_equal(to_bob.seq, 1);
    RC(pl_store_mailbox_append(f->s, &to_alice, 1, &failed), PL_STORE_OK);
    assert_int_equal(to_alice.seq, 4);
    RC(pl_store_mailbox_ack(f->s, "alice", 1, &ack, 1, &deleted), PL_STORE_OK);
    assert_int_equal(deleted, 1);
    RC(pl_store_send_record(f->s, "alice", 1, id, 300, NULL), PL_STORE_OK);
    /* Reads inside the batch see its own writes. */
    assert_int_equal(mailbox_count(f->s, "alice", 1), 3);
    assert_int_equal(mailbox_count(f->s, "bob", 1), 1);
}

static void a_rolled_back_batch_leaves_nothing(void **state)
{
    fixture *f = *state;
    uint8_t id[PL_STORE_CLIENT_MESSAGE_ID_BYTES];
    pl_store *other;
    collected c;

    prepare(f);
    other = open_other(f);
    run_mixed_batch(f);
    pl_store_batch_rollback(f->s);

    make_cmid(id, 1);
    assert_int_equal(mailbox_count(other, "alice", 1), 3);
    assert_int_equal(mailbox_count(other, "bob", 1), 0);
    memset(&c, 0, sizeof c);
    RC(pl_store_mailbox_fetch(other, "alice", 1, 0, 10, collect_cb, &c, NULL), PL_STORE_OK);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.seq[1], 2); /* the ack was undone */
    RC(pl_store_send_record(other, "alice", 1, id, 400, NULL), PL_STORE_OK);
    pl_store_close(other);

    /* The handle is usable after the rollback, outside any batch. */
    assert_int_equal(mailbox_count(f->s, "bob", 1), 0);
    RC(pl_store_batch_commit(f->s), PL_STORE_E_INVALID_ARG);
    pl_store_batch_rollback(f->s); /* no batch: nothing to do */
}

static void a_committed_batch_is_visible_and_durable(void **state)
{
    fixture *f = *state;
    uint8_t id[PL_STORE_CLIENT_MESSAGE_ID_BYTES];
    uint64_t first = 0;
    pl_store *other;
    collected c;

    prepare(f);
    other = open_other(f);
    run_mixed_batch(f);
    RC(pl_store_batch_commit(f->s), PL_STORE_OK);

    make_cmid(id, 1);
    assert_int_equal(mailbox_count(other, "alice", 1), 3);
    assert_int_equal(mailbox_count(other, "bob", 1), 1);
    memset(&c, 0, sizeof c);
    RC(pl_store_mailbox_fetch(other, "alice", 1, 0, 10, collect_cb, &c, NULL), PL_STORE_OK);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.seq[0], 1);
    assert_int_equal(c.seq[1], 3);
    assert_int_equal(c.seq[2], 4);
    assert_int_equal(c.first_byte[2], 8);
    RC(pl_store_send_record(other, "alice", 1, id, 400, &first), PL_STORE_E_EXISTS);
    assert_int_equal(first, 300);
    pl_store_close(other);

    open_store(f, NULL); /* a restart */
    assert_int_equal(mailbox_count(f->s, "bob", 1), 1);
}

static void a_failing_operation_in_a_batch_undoes_only_itself(void **state)
{
    fixture *f = *state;
    pl_store_options o = {.mailbox_quota = 4};
    pl_store_envelope ok = make_env("bob", 1, 200, 7);
    pl_store_envelope pair[2] = {make_env("bob", 1, 201, 8), make_env("alice", 1, 202, 9)};
    pl_store_envelope full[2] = {make_env("alice", 1, 203, 10), make_env("alice", 1, 204, 11)};
    pl_store_device d = make_device(2);
    pl_store_onetime_prekey k = make_otk(5), got;
    uint8_t id[PL_STORE_CLIENT_MESSAGE_ID_BYTES];
    const uint64_t ack = 1;
    pl_store *other;
    size_t failed = 0;

    prepare(f);
    open_store(f, &o);
    other = open_other(f);
    make_cmid(id, 1);
    RC(pl_store_onetime_prekeys_add(f->s, "bob", 1, &k, 1), PL_STORE_OK);

    RC(pl_store_batch_begin(f->s), PL_STORE_OK);
    RC(pl_store_batch_begin(f->s), PL_STORE_E_INVALID_ARG); /* no nesting; batch goes on */
    RC(pl_store_mailbox_append(f->s, &ok, 1, &failed), PL_STORE_OK);
    RC(pl_store_mailbox_append(f->s, pair, 2, &failed), PL_STORE_OK); /* alice: 4 of 4 */
    /* alice is full: this append fails whole, even its first envelope stays out... */
    RC(pl_store_mailbox_append(f->s, full, 2, &failed), PL_STORE_E_QUOTA);
    assert_int_equal(failed, 0);
    assert_int_equal(full[0].seq, 0);
    /* ...and every other kind of operation goes on around it. */
    RC(pl_store_send_record(f->s, "alice", 1, id, 300, NULL), PL_STORE_OK);
    RC(pl_store_send_record(f->s, "alice", 1, id, 301, NULL), PL_STORE_E_EXISTS);
    RC(pl_store_device_add(f->s, "alice", &d), PL_STORE_OK);
    RC(pl_store_device_add(f->s, "alice", &d), PL_STORE_E_EXISTS);
    RC(pl_store_onetime_prekey_claim(f->s, "bob", 1, &got, NULL), PL_STORE_OK);
    RC(pl_store_onetime_prekey_claim(f->s, "bob", 1, &got, NULL), PL_STORE_E_EMPTY);
    RC(pl_store_account_create(f->s, "bob", got.public_part, 1), PL_STORE_E_EXISTS);
    RC(pl_store_mailbox_ack(f->s, "alice", 1, &ack, 1, NULL), PL_STORE_OK);
    RC(pl_store_mailbox_expire(f->s, UINT64_MAX / 2, NULL, NULL, NULL), PL_STORE_E_INVALID_ARG);
    RC(pl_store_batch_commit(f->s), PL_STORE_OK);

    /* Alice: 3 + 1 - 1 acked; the expiry refused inside the batch did not run. */
    assert_int_equal(mailbox_count(other, "alice", 1), 3);
    assert_int_equal(mailbox_count(other, "bob", 1), 2);
    RC(pl_store_device_get(other, "alice", 2, &d), PL_STORE_OK);
    RC(pl_store_send_record(other, "alice", 1, id, 302, NULL), PL_STORE_E_EXISTS);
    RC(pl_store_onetime_prekey_count(other, "bob", 1, &failed), PL_STORE_OK);
    assert_int_equal(failed, 0);
    pl_store_close(other);
}

/* WAL: readers on another handle keep seeing the last commit while a batch is open. */
static void another_handle_reads_the_state_before_an_open_batch(void **state)
{
    fixture *f = *state;
    pl_store_envelope e = make_env("bob", 1, 200, 7);
    pl_store *other;
    collected c;
    size_t failed;

    prepare(f);
    other = open_other(f);
    RC(pl_store_batch_begin(f->s), PL_STORE_OK);
    RC(pl_store_mailbox_append(f->s, &e, 1, &failed), PL_STORE_OK);
    RC(pl_store_device_remove(f->s, "alice", 1), PL_STORE_OK);

    assert_int_equal(mailbox_count(other, "bob", 1), 0);
    assert_int_equal(mailbox_count(other, "alice", 1), 3);
    memset(&c, 0, sizeof c);
    RC(pl_store_mailbox_fetch(other, "alice", 1, 0, 10, collect_cb, &c, NULL), PL_STORE_OK);
    assert_int_equal(c.n, 3);

    RC(pl_store_batch_commit(f->s), PL_STORE_OK);
    assert_int_equal(mailbox_count(other, "bob", 1), 1);
    RC(pl_store_mailbox_count(other, "alice", 1, &(uint64_t){0}), PL_STORE_E_NOT_FOUND);
    pl_store_close(other);
}

/* A handle's batch holds the write lock: another handle's write waits, then gets _BUSY,
 * and changes nothing. */
static void a_batch_holds_off_other_writers(void **state)
{
    fixture *f = *state;
    pl_store_options o = {.busy_timeout_ms = 50};
    pl_store_envelope e = make_env("bob", 1, 200, 7);
    pl_store *other = NULL;
    char err[256];
    size_t failed;

    prepare(f);
    RC(pl_store_open_sqlite(f->path, &o, &other, err, sizeof err), PL_STORE_OK);
    RC(pl_store_batch_begin(f->s), PL_STORE_OK);
    RC(pl_store_mailbox_append(other, &e, 1, &failed), PL_STORE_E_BUSY);
    RC(pl_store_batch_begin(other), PL_STORE_E_BUSY);
    RC(pl_store_batch_commit(other), PL_STORE_E_INVALID_ARG); /* its begin failed: no batch */
    RC(pl_store_batch_commit(f->s), PL_STORE_OK);
    RC(pl_store_mailbox_append(other, &e, 1, &failed), PL_STORE_OK);
    assert_int_equal(e.seq, 1);
    pl_store_close(other);
}

/* Closing a handle with an open batch drops the batch. */
static void closing_with_an_open_batch_rolls_it_back(void **state)
{
    fixture *f = *state;
    pl_store_envelope e = make_env("bob", 1, 200, 7);
    size_t failed;

    prepare(f);
    RC(pl_store_batch_begin(f->s), PL_STORE_OK);
    RC(pl_store_mailbox_append(f->s, &e, 1, &failed), PL_STORE_OK);
    open_store(f, NULL);
    assert_int_equal(mailbox_count(f->s, "bob", 1), 0);
}

/* A group makes several operations one unit inside the batch: undone together, or kept. */
static void a_group_is_undone_or_kept_as_a_whole(void **state)
{
    fixture *f = *state;
    pl_store_envelope to_bob = make_env("bob", 1, 200, 7);
    uint8_t id[PL_STORE_CLIENT_MESSAGE_ID_BYTES];
    size_t failed;

    prepare(f);
    make_cmid(id, 5);
    RC(pl_store_group_begin(f->s), PL_STORE_E_INVALID_ARG); /* no batch */
    RC(pl_store_batch_begin(f->s), PL_STORE_OK);
    RC(pl_store_group_begin(f->s), PL_STORE_OK);
    RC(pl_store_group_begin(f->s), PL_STORE_E_INVALID_ARG); /* groups do not nest */
    RC(pl_store_send_record(f->s, "alice", 1, id, 300, NULL), PL_STORE_OK);
    RC(pl_store_mailbox_append(f->s, &to_bob, 1, &failed), PL_STORE_OK);
    RC(pl_store_group_end(f->s, 0), PL_STORE_OK);
    assert_int_equal(mailbox_count(f->s, "bob", 1), 0);
    RC(pl_store_group_begin(f->s), PL_STORE_OK);
    RC(pl_store_send_record(f->s, "alice", 1, id, 301, NULL), PL_STORE_OK); /* was undone */
    to_bob = make_env("bob", 1, 201, 8);
    RC(pl_store_mailbox_append(f->s, &to_bob, 1, &failed), PL_STORE_OK);
    RC(pl_store_group_end(f->s, 1), PL_STORE_OK);
    RC(pl_store_group_end(f->s, 1), PL_STORE_E_INVALID_ARG); /* none open */
    RC(pl_store_batch_commit(f->s), PL_STORE_OK);
    assert_int_equal(mailbox_count(f->s, "bob", 1), 1);
    RC(pl_store_send_record(f->s, "alice", 1, id, 302, NULL), PL_STORE_E_EXISTS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(a_rolled_back_batch_leaves_nothing),
        T(a_committed_batch_is_visible_and_durable),
        T(a_failing_operation_in_a_batch_undoes_only_itself),
        T(another_handle_reads_the_state_before_an_open_batch),
        T(a_batch_holds_off_other_writers),
        T(closing_with_an_open_batch_rolls_it_back),
        T(a_group_is_undone_or_kept_as_a_whole),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
