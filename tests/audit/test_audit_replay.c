/*
 * test_audit_replay.c: the auditor's pure checks (src/audit/replay.c, log_frontier.c,
 * wire_kt.c): an honest log replays and its log root matches RFC 9162's; each way an entry
 * can lie is refused with its reason and leaves the replay as it was (or marks it poisoned
 * when leaves already went into the tree).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "parley/parley.h"
#include "parley/kt_lookup.h"

#include "log_frontier.h"
#include "replay.h"
#include "wire_kt.h"

#define HB 32u

/* Leaf i: vrf_out = SHA-256("vrf" || i), commitment = SHA-256("com" || i). */
static void make_leaf(unsigned i, uint8_t out[PL_AUDIT_LEAF_BYTES])
{
    uint8_t buf[8] = {
        'v', 'r', 'f', (uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i, 0};

    crypto_hash_sha256(out, buf, sizeof buf);
    memcpy(buf, "com", 3);
    crypto_hash_sha256(out + 32, buf, sizeof buf);
}

static int cmp_leaf(const void *a, const void *b)
{
    return memcmp(a, b, PL_PREFIX_KEY_BYTES);
}

/* A log built alongside with libparley's own tree, as an honest server would. */
typedef struct honest_log {
    pl_prefix_tree *tree;
    uint8_t (*log_leaves)[HB];
    uint64_t size;
    uint64_t ts;
    unsigned next_leaf;
} honest_log;

typedef struct built_entry {
    pl_audit_entry e;
    uint8_t leaves[64][PL_AUDIT_LEAF_BYTES];
} built_entry;

static void honest_init(honest_log *h)
{
    memset(h, 0, sizeof *h);
    assert_int_equal(pl_prefix_tree_new(&h->tree), PL_OK);
    h->log_leaves = calloc(1024, HB);
    assert_non_null(h->log_leaves);
    h->ts = 1700000000000u;
}

static void honest_free(honest_log *h)
{
    pl_prefix_tree_free(h->tree);
    free(h->log_leaves);
}

/* Makes the next honest entry with n fresh leaves (sorted), adding it to h. */
static void honest_next(honest_log *h, size_t n, built_entry *b)
{
    uint8_t entry[PL_KT_LOG_ENTRY_BYTES];

    memset(b, 0, sizeof *b);
    assert_true(n <= 64);
    for (size_t i = 0; i < n; i++)
        make_leaf(h->next_leaf++, b->leaves[i]);
    qsort(b->leaves, n, PL_AUDIT_LEAF_BYTES, cmp_leaf);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(pl_prefix_tree_insert(h->tree, b->leaves[i], b->leaves[i] + 32), PL_OK);
    b->e.position = h->size;
    b->e.timestamp_ms = h->ts;
    h->ts += 1000;
    pl_prefix_tree_root(h->tree, b->e.prefix_root);
    b->e.leaves = (const uint8_t(*)[PL_AUDIT_LEAF_BYTES])b->leaves;
    b->e.n_leaves = n;
    pl_kt_log_entry(b->e.timestamp_ms, b->e.prefix_root, entry);
    pl_merkle_leaf_hash(entry, sizeof entry, h->log_leaves[h->size]);
    h->size++;
}

static void honest_root(const honest_log *h, uint8_t root[HB])
{
    assert_int_equal(pl_merkle_root((const uint8_t(*)[HB])h->log_leaves, h->size, root), PL_OK);
}

/* A snapshot of what a refusal must not change. */
typedef struct snapshot {
    uint64_t size, leaves, ts;
    uint8_t prefix_root[HB], log_root[HB];
} snapshot;

static void snap(const pl_audit_replay *r, snapshot *s)
{
    s->size = pl_audit_replay_size(r);
    s->leaves = pl_audit_replay_leaves(r);
    s->ts = pl_audit_replay_last_timestamp(r);
    pl_audit_replay_prefix_root(r, s->prefix_root);
    pl_audit_replay_log_root(r, s->log_root);
}

static void assert_unchanged(const pl_audit_replay *r, const snapshot *before)
{
    snapshot now;

    snap(r, &now);
    assert_int_equal(pl_audit_replay_poisoned(r), 0);
    assert_memory_equal(&now, before, sizeof now);
}

/* A replay holding the first `entries` honest entries of h (fresh leaves counts 2, 0, 3...). */
static pl_audit_replay *replay_of(honest_log *h, size_t entries)
{
    static const size_t counts[] = {2, 0, 3, 1, 5, 4, 0, 7};
    pl_audit_replay *r;
    built_entry *b = malloc(sizeof *b);

    assert_non_null(b);
    assert_int_equal(pl_audit_replay_new(&r), PL_OK);
    for (size_t i = 0; i < entries; i++) {
        pl_audit_failure why = PL_AUDIT_LOG_ROOT;

        honest_next(h, counts[i % 8], b);
        assert_int_equal(pl_audit_replay_entry(r, &b->e, &why), PL_OK);
        assert_int_equal(why, PL_AUDIT_OK);
    }
    free(b);
    return r;
}

static void test_replay_honest_log_matches_rfc9162_root(void **state)
{
    honest_log h;
    pl_audit_replay *r;
    uint8_t root[HB], mine[HB], prefix[HB];
    pl_audit_failure why = PL_AUDIT_PREFIX_ROOT;

    (void)state;
    honest_init(&h);
    r = replay_of(&h, 40);
    assert_int_equal(pl_audit_replay_size(r), 40);
    assert_int_equal(pl_audit_replay_leaves(r), pl_prefix_tree_size(h.tree));
    honest_root(&h, root);
    pl_audit_replay_log_root(r, mine);
    assert_memory_equal(root, mine, HB);
    assert_int_equal(pl_audit_replay_check_root(r, 40, root, &why), PL_OK);
    assert_int_equal(why, PL_AUDIT_OK);
    pl_prefix_tree_root(h.tree, root);
    pl_audit_replay_prefix_root(r, prefix);
    assert_memory_equal(root, prefix, HB);
    pl_audit_replay_free(r);
    honest_free(&h);
}

static void test_replay_refuses_leaf_already_present(void **state)
{
    honest_log h;
    pl_audit_replay *r;
    built_entry *b = malloc(sizeof *b), *again = malloc(sizeof *again);
    pl_audit_failure why = PL_AUDIT_OK;
    snapshot before;

    (void)state;
    assert_non_null(b);
    assert_non_null(again);
    honest_init(&h);
    r = replay_of(&h, 3); /* holds leaves 0..4 */
    snap(r, &before);
    /* a server that logs leaf 1 (already in the tree) a second time, alongside a new one */
    memset(again, 0, sizeof *again);
    make_leaf(1, again->leaves[0]);
    make_leaf(900, again->leaves[1]);
    qsort(again->leaves, 2, PL_AUDIT_LEAF_BYTES, cmp_leaf);
    again->e.position = 3;
    again->e.timestamp_ms = h.ts;
    again->e.leaves = (const uint8_t(*)[PL_AUDIT_LEAF_BYTES])again->leaves;
    again->e.n_leaves = 2;
    pl_prefix_tree_root(h.tree, again->e.prefix_root);
    assert_int_equal(pl_audit_replay_entry(r, &again->e, &why), PL_E_BAD_PROOF);
    assert_int_equal(why, PL_AUDIT_LEAF_PRESENT);
    assert_unchanged(r, &before);
    /* the same leaf with another commitment is the same key: still refused */
    again->leaves[0][40] ^= 1;
    again->leaves[1][40] ^= 1;
    assert_int_equal(pl_audit_replay_entry(r, &again->e, &why), PL_E_BAD_PROOF);
    assert_int_equal(why, PL_AUDIT_LEAF_PRESENT);
    assert_unchanged(r, &before);
    /* and the honest next entry still goes through */
    honest_next(&h, 2, b);
    assert_int_equal(pl_audit_replay_entry(r, &b->e, &why), PL_OK);
    pl_audit_replay_free(r);
    honest_free(&h);
    free(b);
    free(again);
}

static void test_replay_refuses_unsorted_and_duplicate_leaves(void **state)
{
    honest_log h;
    pl_audit_replay *r;
    built_entry *b = malloc(sizeof *b);
    uint8_t tmp[PL_AUDIT_LEAF_BYTES];
    pl_audit_failure why = PL_AUDIT_OK;
    snapshot before;

    (void)state;
    assert_non_null(b);
    honest_init(&h);
    r = replay_of(&h, 2);
    snap(r, &before);
    honest_next(&h, 3, b); /* honest, sorted: swap two to unsort it */
    memcpy(tmp, b->leaves[0], sizeof tmp);
    memcpy(b->leaves[0], b->leaves[2], sizeof tmp);
    memcpy(b->leaves[2], tmp, sizeof tmp);
    assert_int_equal(pl_audit_replay_entry(r, &b->e, &why), PL_E_BAD_PROOF);
    assert_int_equal(why, PL_AUDIT_LEAVES_UNSORTED);
    assert_unchanged(r, &before);
    /* a key twice in one entry is not strictly ascending either */
    memcpy(b->leaves[2], b->leaves[0], sizeof tmp);
    qsort(b->leaves, 3, PL_AUDIT_LEAF_BYTES, cmp_leaf);
    assert_int_equal(pl_audit_replay_entry(r, &b->e, &why), PL_E_BAD_PROOF);
    assert_int_equal(why, PL_AUDIT_LEAVES_UNSORTED);
    assert_unchanged(r, &before);
    pl_audit_replay_free(r);
    honest_free(&h);
    free(b);
}

static void test_replay_refuses_wrong_prefix_root(void **state)
{
    honest_log h;
    pl_audit_replay *r;
    built_entry *b = malloc(sizeof *b);
    pl_audit_failure why = PL_AUDIT_OK;
    snapshot before;

    (void)state;
    assert_non_null(b);
    honest_init(&h);
    r = replay_of(&h, 2);
    snap(r, &before);
    /* an empty entry (a heartbeat) that claims another root: refused, nothing inserted */
    honest_next(&h, 0, b);
    b->e.prefix_root[0] ^= 1;
    assert_int_equal(pl_audit_replay_entry(r, &b->e, &why), PL_E_BAD_PROOF);
    assert_int_equal(why, PL_AUDIT_PREFIX_ROOT);
    assert_unchanged(r, &before);
    /* an entry whose root omits one of its leaves: refused after insertion, so poisoned */
    b->e.prefix_root[0] ^= 1;
    assert_int_equal(pl_audit_replay_entry(r, &b->e, &why), PL_OK);
    honest_next(&h, 4, b);
    b->e.n_leaves = 3; /* the root covers 4 leaves */
    assert_int_equal(pl_audit_replay_entry(r, &b->e, &why), PL_E_BAD_PROOF);
    assert_int_equal(why, PL_AUDIT_PREFIX_ROOT);
    assert_int_equal(pl_audit_replay_poisoned(r), 1);
    assert_int_equal(pl_audit_replay_size(r), 3); /* the log did not advance */
    pl_audit_replay_free(r);
    honest_free(&h);
    free(b);
}

static void test_replay_refuses_timestamp_going_back(void **state)
{
    honest_log h;
    pl_audit_replay *r;
    built_entry *b = malloc(sizeof *b);
    pl_audit_failure why = PL_AUDIT_OK;
    snapshot before;

    (void)state;
    assert_non_null(b);
    honest_init(&h);
    r = replay_of(&h, 4);
    snap(r, &before);
    honest_next(&h, 1, b);
    b->e.timestamp_ms = before.ts - 1;
    assert_int_equal(pl_audit_replay_entry(r, &b->e, &why), PL_E_BAD_PROOF);
    assert_int_equal(why, PL_AUDIT_TIME_BACKWARDS);
    assert_unchanged(r, &before);
    /* the same millisecond is not going back */
    b->e.timestamp_ms = before.ts;
    assert_int_equal(pl_audit_replay_entry(r, &b->e, &why), PL_OK);
    assert_int_equal(pl_audit_replay_last_timestamp(r), before.ts);
    pl_audit_replay_free(r);
    honest_free(&h);
    free(b);
}

static void test_replay_refuses_wrong_position(void **state)
{
    honest_log h;
    pl_audit_replay *r;
    built_entry *b = malloc(sizeof *b);
    pl_audit_failure why = PL_AUDIT_OK;
    snapshot before;

    (void)state;
    assert_non_null(b);
    honest_init(&h);
    r = replay_of(&h, 3);
    snap(r, &before);
    honest_next(&h, 1, b);
    b->e.position = 2; /* a replayed entry */
    assert_int_equal(pl_audit_replay_entry(r, &b->e, &why), PL_E_BAD_PROOF);
    assert_int_equal(why, PL_AUDIT_WRONG_POSITION);
    b->e.position = 4; /* a skipped entry */
    assert_int_equal(pl_audit_replay_entry(r, &b->e, &why), PL_E_BAD_PROOF);
    assert_int_equal(why, PL_AUDIT_WRONG_POSITION);
    assert_unchanged(r, &before);
    pl_audit_replay_free(r);
    honest_free(&h);
    free(b);
}

static void test_replay_log_root_mismatch(void **state)
{
    honest_log h;
    pl_audit_replay *r;
    uint8_t root[HB];
    pl_audit_failure why = PL_AUDIT_OK;

    (void)state;
    honest_init(&h);
    r = replay_of(&h, 9);
    honest_root(&h, root);
    assert_int_equal(pl_audit_replay_check_root(r, 9, root, &why), PL_OK);
    root[31] ^= 0x80;
    assert_int_equal(pl_audit_replay_check_root(r, 9, root, &why), PL_E_BAD_PROOF);
    assert_int_equal(why, PL_AUDIT_LOG_ROOT);
    /* a checkpoint of another size is the caller's mistake, not the log's */
    root[31] ^= 0x80;
    assert_int_equal(pl_audit_replay_check_root(r, 8, root, &why), PL_E_INVALID_ARG);
    assert_int_equal(pl_audit_replay_check_root(r, 10, root, &why), PL_E_INVALID_ARG);
    /* the root of the first 8 entries is not the root of 9 */
    assert_int_equal(pl_merkle_root((const uint8_t(*)[HB])h.log_leaves, 8, root), PL_OK);
    assert_int_equal(pl_audit_replay_check_root(r, 9, root, &why), PL_E_BAD_PROOF);
    assert_int_equal(why, PL_AUDIT_LOG_ROOT);
    pl_audit_replay_free(r);
    honest_free(&h);
}

static void test_replay_empty_log(void **state)
{
    pl_audit_replay *r;
    uint8_t empty[HB], zero[HB] = {0}, got[HB];

    (void)state;
    assert_int_equal(pl_audit_replay_new(&r), PL_OK);
    crypto_hash_sha256(empty, NULL, 0);
    assert_int_equal(pl_audit_replay_check_root(r, 0, empty, NULL), PL_OK);
    assert_int_equal(pl_audit_replay_check_root(r, 0, zero, NULL), PL_E_BAD_PROOF);
    pl_audit_replay_prefix_root(r, got);
    assert_memory_equal(got, zero, HB);
    pl_audit_replay_free(r);
}

/* The frontier's root equals pl_merkle_root over the same leaves at every size to 300. */
static void test_frontier_matches_merkle_root(void **state)
{
    uint8_t(*leaves)[HB] = calloc(300, HB), want[HB], got[HB];
    pl_audit_frontier f;

    (void)state;
    assert_non_null(leaves);
    pl_audit_frontier_init(&f);
    for (unsigned n = 0; n <= 300; n++) {
        assert_int_equal(pl_merkle_root((const uint8_t(*)[HB])leaves, n, want), PL_OK);
        pl_audit_frontier_root(&f, got);
        assert_memory_equal(want, got, HB);
        assert_int_equal(f.n_subtrees, __builtin_popcountll(n));
        if (n == 300)
            break;
        crypto_hash_sha256(leaves[n], (const uint8_t *)&n, sizeof n);
        assert_int_equal(pl_audit_frontier_append(&f, leaves[n]), PL_OK);
    }
    free(leaves);
}

static void test_frontier_refuses_past_2_63(void **state)
{
    pl_audit_frontier f;
    uint8_t h[HB] = {1};

    (void)state;
    pl_audit_frontier_init(&f);
    f.size = UINT64_C(1) << 63; /* as if it held that many: 1 subtree */
    f.n_subtrees = 1;
    assert_int_equal(pl_audit_frontier_append(&f, h), PL_E_TOO_LARGE);
    assert_int_equal(f.size, UINT64_C(1) << 63);
}

static void test_wire_entry_lengths(void **state)
{
    Parley__KtAuditEntry w = PARLEY__KT_AUDIT_ENTRY__INIT;
    ProtobufCBinaryData leaves[2];
    uint8_t root[32] = {7}, leaf[65] = {1}, (*copy)[PL_AUDIT_LEAF_BYTES];
    pl_audit_entry e;
    const char *why;

    (void)state;
    w.position = 5;
    w.timestamp_ms = 77;
    w.prefix_root.data = root;
    w.prefix_root.len = 31;
    assert_int_equal(pl_audit_entry_from_wire(&w, &e, &copy, &why), PL_E_MALFORMED);
    assert_null(copy);
    w.prefix_root.len = 32;
    leaves[0].data = leaf;
    leaves[0].len = 64;
    leaves[1].data = leaf;
    leaves[1].len = 65;
    w.leaves = leaves;
    w.n_leaves = 2;
    assert_int_equal(pl_audit_entry_from_wire(&w, &e, &copy, &why), PL_E_MALFORMED);
    assert_null(copy);
    leaves[1].len = 63;
    assert_int_equal(pl_audit_entry_from_wire(&w, &e, &copy, &why), PL_E_MALFORMED);
    leaves[1].len = 64;
    assert_int_equal(pl_audit_entry_from_wire(&w, &e, &copy, &why), PL_OK);
    assert_int_equal(e.position, 5);
    assert_int_equal(e.timestamp_ms, 77);
    assert_int_equal(e.n_leaves, 2);
    assert_memory_equal(e.prefix_root, root, 32);
    assert_memory_equal(e.leaves[1], leaf, 64);
    free(copy);
}

static void test_wire_checkpoint_lengths(void **state)
{
    Parley__KtCheckpoint w = PARLEY__KT_CHECKPOINT__INIT;
    ProtobufCBinaryData proof[65];
    uint8_t h[33] = {3};
    pl_audit_checkpoint_msg *m = malloc(sizeof *m);
    const char *why;

    (void)state;
    assert_non_null(m);
    assert_int_equal(pl_audit_checkpoint_from_wire(&w, m, &why), PL_E_MALFORMED); /* no note */
    w.note = "origin\n1\nAAAA\n\n";
    for (size_t i = 0; i < 65; i++) {
        proof[i].data = h;
        proof[i].len = 32;
    }
    w.consistency = proof;
    w.n_consistency = 65;
    assert_int_equal(pl_audit_checkpoint_from_wire(&w, m, &why), PL_E_TOO_LARGE);
    w.n_consistency = 64;
    proof[63].len = 33;
    assert_int_equal(pl_audit_checkpoint_from_wire(&w, m, &why), PL_E_MALFORMED);
    assert_null(m->note);
    proof[63].len = 32;
    assert_int_equal(pl_audit_checkpoint_from_wire(&w, m, &why), PL_OK);
    assert_int_equal(m->n_consistency, 64);
    assert_memory_equal(m->consistency[63], h, 32);
    free(m);
}

static void test_failure_names_are_distinct(void **state)
{
    (void)state;
    for (int i = PL_AUDIT_OK; i <= PL_AUDIT_LOG_ROOT; i++)
        for (int j = i + 1; j <= PL_AUDIT_LOG_ROOT; j++) {
            assert_string_not_equal(pl_audit_failure_name(i), pl_audit_failure_name(j));
            assert_string_not_equal(pl_audit_failure_str(i), pl_audit_failure_str(j));
        }
    assert_string_equal(pl_audit_failure_name(PL_AUDIT_LEAF_PRESENT), "leaf_present");
    assert_string_equal(pl_audit_failure_name((pl_audit_failure)99), "unknown");
}

static int setup(void **state)
{
    (void)state;
    return pl_init() == PL_OK ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_honest_log_matches_rfc9162_root),
        cmocka_unit_test(test_replay_refuses_leaf_already_present),
        cmocka_unit_test(test_replay_refuses_unsorted_and_duplicate_leaves),
        cmocka_unit_test(test_replay_refuses_wrong_prefix_root),
        cmocka_unit_test(test_replay_refuses_timestamp_going_back),
        cmocka_unit_test(test_replay_refuses_wrong_position),
        cmocka_unit_test(test_replay_log_root_mismatch),
        cmocka_unit_test(test_replay_empty_log),
        cmocka_unit_test(test_frontier_matches_merkle_root),
        cmocka_unit_test(test_frontier_refuses_past_2_63),
        cmocka_unit_test(test_wire_entry_lengths),
        cmocka_unit_test(test_wire_checkpoint_lengths),
        cmocka_unit_test(test_failure_names_are_distinct),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
