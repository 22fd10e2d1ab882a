/*
 * test_store_sqlite_payloads.c: the SQLite backend of store.h, part 3: schema v5's shared
 * payloads (one stored ciphertext per GroupSend fan-out, PROTOCOL.md §31.4) and the group
 * flag's own column: what shares a payload and what does not; the payload's lifetime
 * (partially acknowledged: kept; acknowledged by all, expired, or its devices removed:
 * gone, in the same transaction); across a restart; per-device quota accounting; store
 * groups and batches rolled back; a damaged database; and the in-place migration of a version 4
 * database (group flag in bit 32 of sender_device) to version 5.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */

#include <sqlite3.h>

#include "store_fixture.h"

/* Runs sql on the file directly (no parleyd handle may be open on it). */
static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* Runs sql (one row, one integer column) on the file directly and returns the value. */
static int64_t raw_count(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    return v;
}

static int64_t payloads(fixture *f)
{
    return raw_count(f->path, "SELECT count(*) FROM group_payloads");
}

/* Bytes of ciphertext held in envelope rows themselves (not in shared payloads). */
static int64_t inline_bytes(fixture *f)
{
    return raw_count(f->path, "SELECT coalesce(sum(length(ciphertext)), 0) FROM envelopes");
}

/* Three devices: alice 1 and 2, bob 7. */
static void three_devices(fixture *f, const pl_store_options *o)
{
    open_store(f, o);
    add_account(f->s, "alice");
    add_device(f->s, "alice", 1);
    add_device(f->s, "alice", 2);
    add_account(f->s, "bob");
    add_device(f->s, "bob", 7);
}

/* One group envelope per device of three_devices, all pointing at the same ciphertext (as
 * handle_group_send.c builds them), at time ts. */
static void fanout(pl_store_envelope e[3], uint64_t ts, unsigned tag)
{
    e[0] = make_env("alice", 1, ts, tag);
    e[1] = make_env("alice", 2, ts, tag);
    e[2] = make_env("bob", 7, ts, tag);
    for (int i = 0; i < 3; i++)
        e[i].group = 1;
}

/* Checks that the device's only pending envelope is the fan-out of tag, whole. */
static void expect_one(fixture *f, const char *name, uint32_t dev, unsigned tag, uint64_t seq)
{
    pl_store_envelope want = make_env(name, dev, 0, tag);
    collected c;

    memset(&c, 0, sizeof c);
    RC(pl_store_mailbox_fetch(f->s, name, dev, 0, 10, collect_cb, &c, NULL), PL_STORE_OK);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.seq[0], seq);
    assert_int_equal(c.len[0], want.ciphertext_len);
    assert_int_equal(c.first_byte[0], want.ciphertext[0]);
}

/* Fetches every byte of a shared envelope and its group flag. */
typedef struct whole {
    uint8_t ct[300];
    size_t len;
    int group;
    size_t n;
} whole;

static int whole_cb(void *ctx, const pl_store_envelope *e)
{
    whole *w = ctx;

    w->n++;
    w->len = e->ciphertext_len;
    w->group = e->group;
    if (e->ciphertext_len <= sizeof w->ct)
        memcpy(w->ct, e->ciphertext, e->ciphertext_len);
    return 0;
}

static void a_fanout_stores_its_ciphertext_once(void **state)
{
    fixture *f = *state;
    pl_store_envelope e[8], want = make_env("x", 1, 0, 5);
    whole w;
    size_t failed;

    three_devices(f, NULL);
    fanout(e, 100, 5);
    RC(pl_store_mailbox_append(f->s, e, 3, &failed), PL_STORE_OK);
    assert_int_equal(payloads(f), 1);
    assert_int_equal(inline_bytes(f), 0);
    assert_int_equal(raw_count(f->path, "SELECT count(*) FROM envelopes WHERE payload_id IS NULL"),
                     0);
    /* Each device reads the whole ciphertext, flagged group. */
    for (int i = 0; i < 3; i++) {
        memset(&w, 0, sizeof w);
        RC(pl_store_mailbox_fetch(f->s, e[i].recipient, e[i].recipient_device, 0, 10, whole_cb, &w,
                                  NULL),
           PL_STORE_OK);
        assert_int_equal(w.n, 1);
        assert_int_equal(w.len, 300);
        assert_true(w.group);
        assert_memory_equal(w.ct, want.ciphertext, 300);
    }

    /* Not shared: group envelopes with different ciphertexts, and non-group envelopes with
     * the same pointer (a Send never passes one). */
    e[0] = make_env("alice", 1, 200, 6);
    e[0].group = 1;
    e[1] = make_env("bob", 7, 200, 7);
    e[1].group = 1;
    e[2] = make_env("alice", 2, 200, 8);
    e[3] = make_env("bob", 7, 200, 8);
    RC(pl_store_mailbox_append(f->s, e, 4, &failed), PL_STORE_OK);
    assert_int_equal(payloads(f), 1);
    assert_int_equal(inline_bytes(f), 4 * 300);

    /* Two fan-outs in one call: two payloads. */
    fanout(e, 300, 9);
    fanout(e + 3, 300, 10);
    RC(pl_store_mailbox_append(f->s, e, 6, &failed), PL_STORE_OK);
    assert_int_equal(payloads(f), 3);
    assert_int_equal(inline_bytes(f), 4 * 300);
    assert_int_equal(mailbox_count(f->s, "bob", 7), 5);
}

static void a_payload_lives_until_its_last_envelope_is_acknowledged(void **state)
{
    fixture *f = *state;
    pl_store_envelope e[3];
    uint64_t seq = 1;
    size_t failed, deleted;

    three_devices(f, NULL);
    fanout(e, 100, 5);
    RC(pl_store_mailbox_append(f->s, e, 3, &failed), PL_STORE_OK);
    RC(pl_store_mailbox_ack(f->s, "alice", 1, &seq, 1, &deleted), PL_STORE_OK);
    assert_int_equal(deleted, 1);
    RC(pl_store_mailbox_ack(f->s, "alice", 2, &seq, 1, &deleted), PL_STORE_OK);
    assert_int_equal(payloads(f), 1); /* bob has not acknowledged */
    expect_one(f, "bob", 7, 5, 1);
    RC(pl_store_mailbox_ack(f->s, "alice", 2, &seq, 1, &deleted), PL_STORE_OK);
    assert_int_equal(deleted, 0);
    assert_int_equal(payloads(f), 1);
    RC(pl_store_mailbox_ack(f->s, "bob", 7, &seq, 1, &deleted), PL_STORE_OK);
    assert_int_equal(deleted, 1);
    assert_int_equal(payloads(f), 0);
    assert_int_equal(mailbox_count(f->s, "bob", 7), 0);
}

static void a_payload_survives_a_restart_until_acknowledged(void **state)
{
    fixture *f = *state;
    pl_store_envelope e[3];
    uint64_t seq = 1;
    size_t failed;

    three_devices(f, NULL);
    fanout(e, 100, 5);
    RC(pl_store_mailbox_append(f->s, e, 3, &failed), PL_STORE_OK);
    RC(pl_store_mailbox_ack(f->s, "alice", 1, &seq, 1, NULL), PL_STORE_OK);
    open_store(f, NULL); /* close and reopen: a restart */
    assert_int_equal(payloads(f), 1);
    expect_one(f, "alice", 2, 5, 1);
    expect_one(f, "bob", 7, 5, 1);
    RC(pl_store_mailbox_ack(f->s, "alice", 2, &seq, 1, NULL), PL_STORE_OK);
    RC(pl_store_mailbox_ack(f->s, "bob", 7, &seq, 1, NULL), PL_STORE_OK);
    open_store(f, NULL);
    assert_int_equal(payloads(f), 0);
    assert_int_equal(raw_count(f->path, "SELECT count(*) FROM envelopes"), 0);
}

static void expiry_deletes_the_payload_with_its_envelopes(void **state)
{
    fixture *f = *state;
    pl_store_options o = {.retention_ms = 1000};
    pl_store_envelope e[6];
    uint64_t total = 0, seq = 1;
    size_t failed;

    three_devices(f, &o);
    fanout(e, 1000, 5);
    fanout(e + 3, 5000, 6);
    RC(pl_store_mailbox_append(f->s, e, 6, &failed), PL_STORE_OK);
    RC(pl_store_mailbox_ack(f->s, "bob", 7, &seq, 1, NULL), PL_STORE_OK); /* one acked first */
    assert_int_equal(payloads(f), 2);
    RC(pl_store_mailbox_expire(f->s, 2001, NULL, NULL, &total), PL_STORE_OK);
    assert_int_equal(total, 2);
    assert_int_equal(payloads(f), 1); /* the later fan-out's is kept */
    expect_one(f, "alice", 1, 6, 2);
    expect_one(f, "bob", 7, 6, 2);
    RC(pl_store_mailbox_expire(f->s, 6001, NULL, NULL, &total), PL_STORE_OK);
    assert_int_equal(total, 3);
    assert_int_equal(payloads(f), 0);
}

/* A device's removal deletes its envelopes by a foreign-key cascade, which no C code sees:
 * the payload still goes with the last of them. */
static void removing_the_devices_releases_the_payload(void **state)
{
    fixture *f = *state;
    pl_store_envelope e[3];
    uint64_t seq = 1;
    size_t failed;

    three_devices(f, NULL);
    fanout(e, 100, 5);
    RC(pl_store_mailbox_append(f->s, e, 3, &failed), PL_STORE_OK);
    RC(pl_store_device_remove(f->s, "bob", 7), PL_STORE_OK);
    assert_int_equal(payloads(f), 1);
    expect_one(f, "alice", 1, 5, 1);
    RC(pl_store_mailbox_ack(f->s, "alice", 1, &seq, 1, NULL), PL_STORE_OK);
    assert_int_equal(payloads(f), 1);
    RC(pl_store_device_remove(f->s, "alice", 2), PL_STORE_OK);
    assert_int_equal(payloads(f), 0);
}

/* A shared envelope counts as one envelope against each recipient device's quota; a refused
 * fan-out stores neither envelopes nor its payload. */
static void each_recipient_pays_one_envelope_of_quota(void **state)
{
    fixture *f = *state;
    pl_store_options o = {.mailbox_quota = 2};
    pl_store_envelope e[3], one;
    size_t failed = 99;

    three_devices(f, &o);
    one = make_env("bob", 7, 50, 1);
    RC(pl_store_mailbox_append(f->s, &one, 1, &failed), PL_STORE_OK);
    fanout(e, 100, 5);
    RC(pl_store_mailbox_append(f->s, e, 3, &failed), PL_STORE_OK);
    assert_int_equal(mailbox_count(f->s, "alice", 1), 1);
    assert_int_equal(mailbox_count(f->s, "bob", 7), 2);
    fanout(e, 200, 6);
    RC(pl_store_mailbox_append(f->s, e, 3, &failed), PL_STORE_E_QUOTA);
    assert_int_equal(failed, 2); /* bob's */
    assert_int_equal(payloads(f), 1);
    assert_int_equal(mailbox_count(f->s, "alice", 1), 1);
    assert_int_equal(raw_count(f->path, "SELECT count(*) FROM envelopes"), 4);
}

/* An envelope whose payload row is gone (a damaged file) is reported, not read as empty. */
static void a_missing_payload_is_corruption(void **state)
{
    fixture *f = *state;
    pl_store_envelope e[3];
    collected c;
    size_t failed;

    three_devices(f, NULL);
    fanout(e, 100, 5);
    RC(pl_store_mailbox_append(f->s, e, 3, &failed), PL_STORE_OK);
    pl_store_close(f->s);
    f->s = NULL;
    raw_exec(f->path, "DELETE FROM group_payloads");
    open_store(f, NULL);
    memset(&c, 0, sizeof c);
    RC(pl_store_mailbox_fetch(f->s, "bob", 7, 0, 10, collect_cb, &c, NULL), PL_STORE_E_CORRUPT);
    assert_int_equal(c.n, 0);
}

/* Inside the store worker's batch: a fan-out whose store group is dropped (a refused
 * GroupSend) leaves no payload, one kept beside it does, and only the batch's commit makes
 * either visible. */
static void a_dropped_group_in_a_batch_leaves_no_payload(void **state)
{
    fixture *f = *state;
    pl_store_envelope e[3], k[3];
    size_t failed;

    three_devices(f, NULL);
    RC(pl_store_batch_begin(f->s), PL_STORE_OK);
    RC(pl_store_group_begin(f->s), PL_STORE_OK);
    fanout(e, 100, 5);
    RC(pl_store_mailbox_append(f->s, e, 3, &failed), PL_STORE_OK);
    RC(pl_store_group_end(f->s, 0), PL_STORE_OK);
    RC(pl_store_group_begin(f->s), PL_STORE_OK);
    fanout(k, 100, 6);
    RC(pl_store_mailbox_append(f->s, k, 3, &failed), PL_STORE_OK);
    RC(pl_store_group_end(f->s, 1), PL_STORE_OK);
    RC(pl_store_batch_commit(f->s), PL_STORE_OK);
    assert_int_equal(payloads(f), 1);
    expect_one(f, "alice", 2, 6, 1);
    expect_one(f, "bob", 7, 6, 1);
    /* A whole batch rolled back leaves nothing either. */
    RC(pl_store_batch_begin(f->s), PL_STORE_OK);
    fanout(e, 200, 7);
    RC(pl_store_mailbox_append(f->s, e, 3, &failed), PL_STORE_OK);
    pl_store_batch_rollback(f->s);
    assert_int_equal(payloads(f), 1);
    assert_int_equal(mailbox_count(f->s, "bob", 7), 1);
}

/* Collects (sender_device, group) of fetched envelopes. */
typedef struct flags_seen {
    uint32_t sender_device[8];
    int group[8];
    size_t n;
} flags_seen;

static int flags_cb(void *ctx, const pl_store_envelope *e)
{
    flags_seen *g = ctx;

    if (g->n < 8) {
        g->sender_device[g->n] = e->sender_device;
        g->group[g->n] = e->group;
        g->n++;
    }
    return 0;
}

/* Version 4 kept the group flag in bit 32 of envelopes.sender_device and a ciphertext per
 * envelope; opening such a file migrates it in place: the flag moves to is_group, the device
 * id is left alone, and the envelopes read back as before. */
static void a_version_4_database_is_migrated_to_version_5(void **state)
{
    fixture *f = *state;
    pl_store_envelope e[4];
    flags_seen g;
    size_t failed;
    uint64_t seqs[2] = {1, 2};

    open_store(f, NULL);
    add_account(f->s, "alice");
    add_device(f->s, "alice", 1);
    for (unsigned i = 0; i < 4; i++) {
        e[i] = make_env("alice", 1, 100 + i, i);
        e[i].group = i % 2; /* lone group envelopes: no shared payload, as v4 stored them */
    }
    e[2].sender_device = UINT32_MAX;
    e[3].sender_device = UINT32_MAX;
    RC(pl_store_mailbox_append(f->s, e, 4, &failed), PL_STORE_OK);
    pl_store_close(f->s);
    f->s = NULL;
    /* Undo migration 5 by hand: what version 4 left on disk. */
    raw_exec(f->path, "DROP TRIGGER envelopes_release_payload; DROP INDEX envelopes_by_payload;"
                      " UPDATE envelopes SET sender_device = sender_device | (is_group << 32);"
                      " ALTER TABLE envelopes DROP COLUMN payload_id;"
                      " ALTER TABLE envelopes DROP COLUMN is_group; DROP TABLE group_payloads;"
                      " UPDATE schema_version SET version = 4");
    assert_int_equal(raw_count(f->path, "SELECT max(sender_device) FROM envelopes"),
                     ((int64_t)1 << 32) | UINT32_MAX);

    open_store(f, NULL);
    assert_int_equal(raw_count(f->path, "SELECT version FROM schema_version"), 5);
    assert_int_equal(raw_count(f->path, "SELECT max(sender_device) FROM envelopes"), UINT32_MAX);
    assert_int_equal(raw_count(f->path, "SELECT sum(is_group) FROM envelopes"), 2);
    memset(&g, 0, sizeof g);
    RC(pl_store_mailbox_fetch(f->s, "alice", 1, 0, 10, flags_cb, &g, NULL), PL_STORE_OK);
    assert_int_equal(g.n, 4);
    assert_int_equal(g.sender_device[0], 9);
    assert_int_equal(g.group[0], 0);
    assert_int_equal(g.sender_device[1], 9);
    assert_int_equal(g.group[1], 1);
    assert_int_equal(g.sender_device[2], UINT32_MAX);
    assert_int_equal(g.group[2], 0);
    assert_int_equal(g.sender_device[3], UINT32_MAX);
    assert_int_equal(g.group[3], 1);
    /* The migrated file takes shared fan-outs and acks like a new one. */
    add_account(f->s, "bob");
    add_device(f->s, "bob", 7);
    e[0] = make_env("alice", 1, 200, 5);
    e[1] = make_env("bob", 7, 200, 5);
    e[0].group = e[1].group = 1;
    RC(pl_store_mailbox_append(f->s, e, 2, &failed), PL_STORE_OK);
    assert_int_equal(payloads(f), 1);
    RC(pl_store_mailbox_ack(f->s, "bob", 7, seqs, 1, NULL), PL_STORE_OK);
    RC(pl_store_mailbox_ack(f->s, "alice", 1, seqs, 2, NULL), PL_STORE_OK);
    assert_int_equal(mailbox_count(f->s, "alice", 1), 3);
    assert_int_equal(payloads(f), 1); /* alice's seq 5 still holds it */
    seqs[0] = 5;
    RC(pl_store_mailbox_ack(f->s, "alice", 1, seqs, 1, NULL), PL_STORE_OK);
    assert_int_equal(payloads(f), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(a_fanout_stores_its_ciphertext_once),
        T(a_payload_lives_until_its_last_envelope_is_acknowledged),
        T(a_payload_survives_a_restart_until_acknowledged),
        T(expiry_deletes_the_payload_with_its_envelopes),
        T(removing_the_devices_releases_the_payload),
        T(each_recipient_pays_one_envelope_of_quota),
        T(a_missing_payload_is_corruption),
        T(a_dropped_group_in_a_batch_leaves_no_payload),
        T(a_version_4_database_is_migrated_to_version_5),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
