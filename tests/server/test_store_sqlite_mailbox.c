/*
 * test_store_sqlite_mailbox.c: the SQLite backend of store.h, part 2: mailboxes: group-commit
 * append (sequence numbers, all-or-nothing batches under quota), ordered and bounded fetch,
 * idempotent acks, retention expiry with an injected clock, and envelopes pending across a
 * close and reopen (a server restart).
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */

#include "store_fixture.h"

/* ---- Mailboxes -------------------------------------------------------------------------- */

static void mailbox_batch_assigns_increasing_seqs_per_device(void **state)
{
    fixture *f = *state;
    pl_store_envelope e[6];
    size_t failed = 99;

    open_store(f, NULL);
    add_account(f->s, "alice");
    add_device(f->s, "alice", 1);
    add_device(f->s, "alice", 2);
    add_account(f->s, "bob");
    add_device(f->s, "bob", 7);
    e[0] = make_env("alice", 1, 10, 0);
    e[1] = make_env("alice", 2, 10, 1);
    e[2] = make_env("alice", 1, 11, 2);
    e[3] = make_env("bob", 7, 11, 3);
    e[4] = make_env("alice", 1, 12, 4);
    e[5] = make_env("alice", 2, 12, 5);
    RC(pl_store_mailbox_append(f->s, e, 6, &failed), PL_STORE_OK);
    assert_int_equal(failed, 6);
    assert_int_equal(e[0].seq, 1);
    assert_int_equal(e[1].seq, 1);
    assert_int_equal(e[2].seq, 2);
    assert_int_equal(e[3].seq, 1);
    assert_int_equal(e[4].seq, 3);
    assert_int_equal(e[5].seq, 2);
    assert_int_equal(mailbox_count(f->s, "alice", 1), 3);
    assert_int_equal(mailbox_count(f->s, "alice", 2), 2);
    assert_int_equal(mailbox_count(f->s, "bob", 7), 1);
    RC(pl_store_mailbox_append(f->s, e, 0, &failed), PL_STORE_OK);
    RC(pl_store_mailbox_count(f->s, "bob", 8, &(uint64_t){0}), PL_STORE_E_NOT_FOUND);
}

static void mailbox_fetch_is_in_order_after_seq_and_bounded(void **state)
{
    fixture *f = *state;
    pl_store_envelope e[5];
    collected c;
    size_t failed, n = 99, i;

    open_store(f, NULL);
    add_account(f->s, "alice");
    add_device(f->s, "alice", 1);
    for (i = 0; i < 5; i++)
        e[i] = make_env("alice", 1, 100 + i, (unsigned)(10 + i));
    e[2].sender = "carol";
    e[2].sender_device = 4;
    e[3].ciphertext_len = 0; /* empty ciphertexts survive as empty */
    e[3].ciphertext = NULL;
    RC(pl_store_mailbox_append(f->s, e, 5, &failed), PL_STORE_OK);

    memset(&c, 0, sizeof c);
    RC(pl_store_mailbox_fetch(f->s, "alice", 1, 0, 100, collect_cb, &c, &n), PL_STORE_OK);
    assert_int_equal(n, 5);
    assert_int_equal(c.n, 5);
    for (i = 0; i < 5; i++) {
        assert_int_equal(c.seq[i], i + 1);
        assert_int_equal(c.ts[i], 100 + i);
    }
    assert_string_equal(c.sender[0], "sender");
    assert_int_equal(c.sender_device[0], 9);
    assert_string_equal(c.sender[2], "carol");
    assert_int_equal(c.sender_device[2], 4);
    assert_int_equal(c.len[0], 300);
    assert_int_equal(c.first_byte[1], 11);
    assert_int_equal(c.len[3], 0);

    memset(&c, 0, sizeof c);
    RC(pl_store_mailbox_fetch(f->s, "alice", 1, 2, 2, collect_cb, &c, &n), PL_STORE_OK);
    assert_int_equal(n, 2);
    assert_int_equal(c.seq[0], 3);
    assert_int_equal(c.seq[1], 4);

    memset(&c, 0, sizeof c);
    c.stop_after = 1;
    RC(pl_store_mailbox_fetch(f->s, "alice", 1, 0, 100, collect_cb, &c, &n), PL_STORE_OK);
    assert_int_equal(n, 1);

    memset(&c, 0, sizeof c);
    RC(pl_store_mailbox_fetch(f->s, "alice", 1, 5, 100, collect_cb, &c, &n), PL_STORE_OK);
    assert_int_equal(n, 0);
    RC(pl_store_mailbox_fetch(f->s, "alice", 2, 0, 100, collect_cb, &c, &n), PL_STORE_E_NOT_FOUND);
}

/* Collects (sender_device, group) of fetched envelopes. */
typedef struct group_seen {
    uint32_t sender_device[8];
    int group[8];
    size_t n;
} group_seen;

static int group_cb(void *ctx, const pl_store_envelope *e)
{
    group_seen *g = ctx;

    if (g->n < 8) {
        g->sender_device[g->n] = e->sender_device;
        g->group[g->n] = e->group;
        g->n++;
    }
    return 0;
}

/* The GroupSend flag (PROTOCOL.md §31.4) is kept per envelope, beside any sender device id,
 * even the largest, and across a reopen. */
static void mailbox_keeps_the_group_flag(void **state)
{
    fixture *f = *state;
    pl_store_envelope e[4];
    group_seen g;
    size_t failed, n;

    open_store(f, NULL);
    add_account(f->s, "alice");
    add_device(f->s, "alice", 1);
    for (unsigned i = 0; i < 4; i++)
        e[i] = make_env("alice", 1, 100 + i, i);
    e[0].group = 1;
    e[1].sender_device = UINT32_MAX;
    e[2].sender_device = UINT32_MAX;
    e[2].group = 1;
    RC(pl_store_mailbox_append(f->s, e, 4, &failed), PL_STORE_OK);
    open_store(f, NULL);
    memset(&g, 0, sizeof g);
    RC(pl_store_mailbox_fetch(f->s, "alice", 1, 0, 100, group_cb, &g, &n), PL_STORE_OK);
    assert_int_equal(n, 4);
    assert_int_equal(g.sender_device[0], 9);
    assert_int_equal(g.group[0], 1);
    assert_int_equal(g.sender_device[1], UINT32_MAX);
    assert_int_equal(g.group[1], 0);
    assert_int_equal(g.sender_device[2], UINT32_MAX);
    assert_int_equal(g.group[2], 1);
    assert_int_equal(g.sender_device[3], 9);
    assert_int_equal(g.group[3], 0);
}

static void mailbox_ack_is_idempotent_and_seqs_are_never_reused(void **state)
{
    fixture *f = *state;
    pl_store_envelope e[5];
    const uint64_t first[] = {1, 2, 2, 99, UINT64_MAX};
    const uint64_t rest[] = {3, 4, 5};
    collected c;
    size_t failed, deleted = 99, i;

    open_store(f, NULL);
    add_account(f->s, "alice");
    add_device(f->s, "alice", 1);
    for (i = 0; i < 5; i++)
        e[i] = make_env("alice", 1, 100, (unsigned)i);
    RC(pl_store_mailbox_append(f->s, e, 5, &failed), PL_STORE_OK);
    RC(pl_store_mailbox_ack(f->s, "alice", 1, first, 5, &deleted), PL_STORE_OK);
    assert_int_equal(deleted, 2);
    RC(pl_store_mailbox_ack(f->s, "alice", 1, first, 5, &deleted), PL_STORE_OK);
    assert_int_equal(deleted, 0);
    assert_int_equal(mailbox_count(f->s, "alice", 1), 3);
    memset(&c, 0, sizeof c);
    RC(pl_store_mailbox_fetch(f->s, "alice", 1, 0, 100, collect_cb, &c, NULL), PL_STORE_OK);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.seq[0], 3);

    RC(pl_store_mailbox_ack(f->s, "alice", 1, rest, 3, &deleted), PL_STORE_OK);
    assert_int_equal(deleted, 3);
    assert_int_equal(mailbox_count(f->s, "alice", 1), 0);
    /* Empty mailbox, yet the next envelope continues the sequence. */
    RC(pl_store_mailbox_append(f->s, e, 1, &failed), PL_STORE_OK);
    assert_int_equal(e[0].seq, 6);
    RC(pl_store_mailbox_ack(f->s, "alice", 2, rest, 3, NULL), PL_STORE_E_NOT_FOUND);
    RC(pl_store_mailbox_ack(f->s, "alice", 1, rest, 0, NULL), PL_STORE_OK);
}

static void mailbox_batch_over_quota_stores_nothing(void **state)
{
    fixture *f = *state;
    pl_store_options o = {.mailbox_quota = 3};
    pl_store_envelope e[5];
    size_t failed = 99, i;

    open_store(f, &o);
    add_account(f->s, "alice");
    add_device(f->s, "alice", 1);
    add_account(f->s, "bob");
    add_device(f->s, "bob", 1);
    e[0] = make_env("alice", 1, 1, 0);
    e[1] = make_env("alice", 1, 1, 1);
    RC(pl_store_mailbox_append(f->s, e, 2, &failed), PL_STORE_OK);

    /* alice has 2 of 3: the batch's second envelope for her is one too many. */
    e[0] = make_env("bob", 1, 2, 2);
    e[1] = make_env("alice", 1, 2, 3);
    e[2] = make_env("bob", 1, 2, 4);
    e[3] = make_env("alice", 1, 2, 5);
    e[4] = make_env("bob", 1, 2, 6);
    RC(pl_store_mailbox_append(f->s, e, 5, &failed), PL_STORE_E_QUOTA);
    assert_int_equal(failed, 3);
    assert_true(strlen(pl_store_last_error(f->s)) > 0);
    for (i = 0; i < 5; i++)
        assert_int_equal(e[i].seq, 0);
    assert_int_equal(mailbox_count(f->s, "alice", 1), 2);
    assert_int_equal(mailbox_count(f->s, "bob", 1), 0);

    /* Without the offending envelope the batch goes through, and the refused attempt used up
     * no sequence numbers. */
    e[3] = e[4];
    RC(pl_store_mailbox_append(f->s, e, 4, &failed), PL_STORE_OK);
    assert_int_equal(e[0].seq, 1);
    assert_int_equal(e[1].seq, 3);
    assert_int_equal(e[2].seq, 2);
    assert_int_equal(e[3].seq, 3);
    assert_int_equal(mailbox_count(f->s, "alice", 1), 3);
    assert_int_equal(mailbox_count(f->s, "bob", 1), 3);
}

static void mailbox_default_quota_is_ten_thousand(void **state)
{
    fixture *f = *state;
    static pl_store_envelope e[256];
    size_t failed, i, done = 0;

    open_store(f, NULL);
    add_account(f->s, "alice");
    add_device(f->s, "alice", 1);
    for (i = 0; i < 256; i++) {
        e[i] = make_env("alice", 1, 1, (unsigned)i);
        e[i].ciphertext_len = 16;
    }
    while (done < PL_STORE_DEFAULT_MAILBOX_QUOTA) {
        size_t n = PL_STORE_DEFAULT_MAILBOX_QUOTA - done < 256
                       ? PL_STORE_DEFAULT_MAILBOX_QUOTA - done
                       : 256;
        RC(pl_store_mailbox_append(f->s, e, n, &failed), PL_STORE_OK);
        done += n;
    }
    RC(pl_store_mailbox_append(f->s, e, 1, &failed), PL_STORE_E_QUOTA);
    assert_int_equal(failed, 0);
    assert_int_equal(mailbox_count(f->s, "alice", 1), PL_STORE_DEFAULT_MAILBOX_QUOTA);
}

static void mailbox_batch_with_an_unknown_or_bad_envelope_stores_nothing(void **state)
{
    fixture *f = *state;
    pl_store_envelope e[3];
    size_t failed = 99;

    open_store(f, NULL);
    add_account(f->s, "alice");
    add_device(f->s, "alice", 1);
    e[0] = make_env("alice", 1, 1, 0);
    e[1] = make_env("alice", 1, 1, 1);
    e[2] = make_env("alice", 2, 1, 2);
    RC(pl_store_mailbox_append(f->s, e, 3, &failed), PL_STORE_E_NOT_FOUND);
    assert_int_equal(failed, 2);
    assert_int_equal(mailbox_count(f->s, "alice", 1), 0);

    e[2] = make_env("alice", 1, 1, 2);
    e[1].ciphertext_len = PL_STORE_CIPHERTEXT_MAX + 1;
    RC(pl_store_mailbox_append(f->s, e, 3, &failed), PL_STORE_E_INVALID_ARG);
    assert_int_equal(failed, 1);
    e[1] = make_env("alice", 1, 1, 1);
    e[1].sender = "";
    RC(pl_store_mailbox_append(f->s, e, 3, &failed), PL_STORE_E_INVALID_ARG);
    assert_int_equal(failed, 1);
    assert_int_equal(mailbox_count(f->s, "alice", 1), 0);
    e[1].sender = "sender";
    RC(pl_store_mailbox_append(f->s, e, 3, &failed), PL_STORE_OK);
    assert_int_equal(e[0].seq, 1); /* the refused batches took no sequence numbers */
    assert_int_equal(e[2].seq, 3);
}

typedef struct expiry_log {
    size_t calls;
    char name[8][PL_STORE_USERNAME_MAX + 1];
    uint32_t device[8];
    uint64_t count[8];
} expiry_log;

static void log_expiry(void *ctx, const char *username, uint32_t device_id, uint64_t expired)
{
    expiry_log *l = ctx;

    if (l->calls < 8) {
        snprintf(l->name[l->calls], sizeof l->name[0], "%s", username);
        l->device[l->calls] = device_id;
        l->count[l->calls] = expired;
    }
    l->calls++;
}

static void mailbox_expiry_follows_the_injected_clock(void **state)
{
    fixture *f = *state;
    pl_store_options o = {.retention_ms = 1000};
    pl_store_envelope e[4];
    expiry_log log;
    collected c;
    uint64_t total = 99;
    size_t failed;

    open_store(f, &o);
    add_account(f->s, "alice");
    add_device(f->s, "alice", 1);
    add_account(f->s, "bob");
    add_device(f->s, "bob", 2);
    e[0] = make_env("alice", 1, 1000, 0);
    e[1] = make_env("alice", 1, 1500, 1);
    e[2] = make_env("alice", 1, 2000, 2);
    e[3] = make_env("bob", 2, 1200, 3);
    RC(pl_store_mailbox_append(f->s, e, 4, &failed), PL_STORE_OK);

    /* Before the retention has passed for anything: nothing. */
    memset(&log, 0, sizeof log);
    RC(pl_store_mailbox_expire(f->s, 500, log_expiry, &log, &total), PL_STORE_OK);
    assert_int_equal(total, 0);
    RC(pl_store_mailbox_expire(f->s, 2000, log_expiry, &log, &total), PL_STORE_OK);
    assert_int_equal(total, 0); /* 1000 is not older than the cutoff 1000 */
    assert_int_equal(log.calls, 0);

    RC(pl_store_mailbox_expire(f->s, 2100, log_expiry, &log, &total), PL_STORE_OK);
    assert_int_equal(total, 1);
    assert_int_equal(log.calls, 1);
    assert_string_equal(log.name[0], "alice");
    assert_int_equal(log.device[0], 1);
    assert_int_equal(log.count[0], 1);

    memset(&log, 0, sizeof log);
    RC(pl_store_mailbox_expire(f->s, 2600, log_expiry, &log, &total), PL_STORE_OK);
    assert_int_equal(total, 2);
    assert_int_equal(log.calls, 2);
    assert_int_equal(mailbox_count(f->s, "alice", 1), 1);
    assert_int_equal(mailbox_count(f->s, "bob", 2), 0);
    memset(&c, 0, sizeof c);
    RC(pl_store_mailbox_fetch(f->s, "alice", 1, 0, 10, collect_cb, &c, NULL), PL_STORE_OK);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.seq[0], 3);

    /* Expiry freed quota and used no sequence numbers. */
    RC(pl_store_mailbox_append(f->s, e, 1, &failed), PL_STORE_OK);
    assert_int_equal(e[0].seq, 4);
    RC(pl_store_mailbox_expire(f->s, 2600, NULL, NULL, NULL), PL_STORE_OK);
}

static void mailbox_expiry_covers_more_devices_than_one_chunk(void **state)
{
    fixture *f = *state;
    pl_store_options o = {.retention_ms = 10};
    static pl_store_envelope e[300];
    static char names[300][16];
    expiry_log log;
    uint64_t total = 0;
    size_t failed, i;

    open_store(f, &o);
    for (i = 0; i < 300; i++) {
        snprintf(names[i], sizeof names[i], "user%zu", i);
        add_account(f->s, names[i]);
        add_device(f->s, names[i], 1);
        e[i] = make_env(names[i], 1, 100, (unsigned)i);
    }
    RC(pl_store_mailbox_append(f->s, e, 256, &failed), PL_STORE_OK);
    RC(pl_store_mailbox_append(f->s, e + 256, 44, &failed), PL_STORE_OK);
    memset(&log, 0, sizeof log);
    RC(pl_store_mailbox_expire(f->s, 1000, log_expiry, &log, &total), PL_STORE_OK);
    assert_int_equal(total, 300);
    assert_int_equal(log.calls, 300);
    assert_int_equal(mailbox_count(f->s, "user299", 1), 0);
}

static void envelopes_pending_at_close_survive_a_reopen(void **state)
{
    fixture *f = *state;
    pl_store_envelope e[5];
    const uint64_t acks[] = {1, 3};
    collected c;
    size_t failed, i;

    open_store(f, NULL);
    add_account(f->s, "alice");
    add_device(f->s, "alice", 1);
    for (i = 0; i < 5; i++)
        e[i] = make_env("alice", 1, 100 + i, (unsigned)(20 + i));
    RC(pl_store_mailbox_append(f->s, e, 5, &failed), PL_STORE_OK);
    RC(pl_store_mailbox_ack(f->s, "alice", 1, acks, 2, NULL), PL_STORE_OK);

    open_store(f, NULL); /* a server restart */
    assert_int_equal(mailbox_count(f->s, "alice", 1), 3);
    memset(&c, 0, sizeof c);
    RC(pl_store_mailbox_fetch(f->s, "alice", 1, 0, 10, collect_cb, &c, NULL), PL_STORE_OK);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.seq[0], 2);
    assert_int_equal(c.seq[1], 4);
    assert_int_equal(c.seq[2], 5);
    assert_int_equal(c.first_byte[0], 21);
    assert_int_equal(c.first_byte[2], 24);
    assert_int_equal(c.ts[1], 103);
    RC(pl_store_mailbox_append(f->s, e, 1, &failed), PL_STORE_OK);
    assert_int_equal(e[0].seq, 6);
}

/* A second handle sees envelopes the first committed: the commit is in the file, not held
 * in the first connection. The first handle is not closed before the check. */
static void appended_envelopes_are_visible_to_another_handle(void **state)
{
    fixture *f = *state;
    pl_store *other = NULL;
    pl_store_envelope e = make_env("alice", 1, 1, 1);
    char err[256];
    size_t failed;
    uint64_t n = 0;

    open_store(f, NULL);
    add_account(f->s, "alice");
    add_device(f->s, "alice", 1);
    RC(pl_store_mailbox_append(f->s, &e, 1, &failed), PL_STORE_OK);
    RC(pl_store_open_sqlite(f->path, NULL, &other, err, sizeof err), PL_STORE_OK);
    RC(pl_store_mailbox_count(other, "alice", 1, &n), PL_STORE_OK);
    assert_int_equal(n, 1);
    pl_store_close(other);
    pl_store_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(mailbox_batch_assigns_increasing_seqs_per_device),
        T(mailbox_fetch_is_in_order_after_seq_and_bounded),
        T(mailbox_keeps_the_group_flag),
        T(mailbox_ack_is_idempotent_and_seqs_are_never_reused),
        T(mailbox_batch_over_quota_stores_nothing),
        T(mailbox_default_quota_is_ten_thousand),
        T(mailbox_batch_with_an_unknown_or_bad_envelope_stores_nothing),
        T(mailbox_expiry_follows_the_injected_clock),
        T(mailbox_expiry_covers_more_devices_than_one_chunk),
        T(envelopes_pending_at_close_survive_a_reopen),
        T(appended_envelopes_are_visible_to_another_handle),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
