/*
 * test_cstore_kt.c: the key-transparency tables of the client store (cstore_kt.c, schema
 * version 2): round trips of the pinned log, verified labels and alerts with evidence across
 * a reopen; out-of-range writes refused; damaged rows read as corrupt (the disk is hostile);
 * a version-1 store migrated in place.
 */
#include "cstore_fixture.h"
#include "testutil.h"

static void fill_log(pl_cstore_kt_log *l)
{
    memset(l, 0, sizeof *l);
    snprintf(l->origin, sizeof l->origin, "example.org/kt/v1/0123456789abcdef");
    snprintf(l->log_vkey, sizeof l->log_vkey, "%s+01020304+AQIDBA==", l->origin);
    for (int i = 0; i < 32; i++)
        l->vrf_key[i] = (uint8_t)(i + 1);
    snprintf(l->witness_vkeys[0], sizeof l->witness_vkeys[0], "w1+aabbccdd+BAAA");
    snprintf(l->witness_vkeys[1], sizeof l->witness_vkeys[1], "w2+11223344+BAAB");
    l->n_witnesses = 2;
    l->quorum = 1;
    l->max_ahead_ms = 120000;
    l->max_behind_ms = 600000;
    l->pinned_at_ms = 1700000000123ull;
}

static void kt_log_round_trip(void **state)
{
    fixture *f = *state;
    pl_cstore_kt_log a, b;

    cs_create(f, NULL);
    RC(pl_cstore_kt_log_get(f->s, &b), PL_CSTORE_E_NOT_FOUND);
    fill_log(&a);
    RC(pl_cstore_kt_log_put(f->s, &a), PL_CSTORE_OK);
    cs_reopen(f);
    RC(pl_cstore_kt_log_get(f->s, &b), PL_CSTORE_OK);
    assert_memory_equal(&a, &b, sizeof a);
    /* Then a checkpoint: the same row, replaced. */
    a.has_checkpoint = 1;
    a.size = 42;
    memset(a.root, 0xab, sizeof a.root);
    memcpy(a.note, "origin\n42\nroot\n\n- sig\n", 22);
    a.note_len = 22;
    a.checked_at_ms = 1700000001000ull;
    RC(pl_cstore_kt_log_put(f->s, &a), PL_CSTORE_OK);
    cs_reopen(f);
    RC(pl_cstore_kt_log_get(f->s, &b), PL_CSTORE_OK);
    assert_memory_equal(&a, &b, sizeof a);
    /* Out of range: refused, nothing written. */
    a.quorum = 3;
    RC(pl_cstore_kt_log_put(f->s, &a), PL_CSTORE_E_INVALID_ARG);
    a.quorum = 1;
    a.note_len = 0; /* a checkpoint without its note */
    RC(pl_cstore_kt_log_put(f->s, &a), PL_CSTORE_E_INVALID_ARG);
    RC(pl_cstore_kt_log_get(f->s, &b), PL_CSTORE_OK);
    assert_int_equal(b.size, 42);
}

static void kt_log_damaged_is_corrupt(void **state)
{
    fixture *f = *state;
    pl_cstore_kt_log a, b;

    cs_create(f, NULL);
    fill_log(&a);
    RC(pl_cstore_kt_log_put(f->s, &a), PL_CSTORE_OK);
    cs_raw_exec(f, "UPDATE kt_log SET quorum = 99");
    RC(pl_cstore_kt_log_get(f->s, &b), PL_CSTORE_E_CORRUPT);
    cs_raw_exec(f, "UPDATE kt_log SET quorum = 1, witness_vkeys = 'w1+aabbccdd+BAAA'");
    RC(pl_cstore_kt_log_get(f->s, &b), PL_CSTORE_E_CORRUPT); /* no final newline */
    cs_raw_exec(f, "UPDATE kt_log SET witness_vkeys = '', vrf_key = x'0102'");
    RC(pl_cstore_kt_log_get(f->s, &b), PL_CSTORE_E_CORRUPT);
    cs_raw_exec(f, "UPDATE kt_log SET vrf_key = zeroblob(32), has_checkpoint = 7");
    RC(pl_cstore_kt_log_get(f->s, &b), PL_CSTORE_E_CORRUPT);
    cs_raw_exec(f, "UPDATE kt_log SET has_checkpoint = 1"); /* a checkpoint with no note */
    RC(pl_cstore_kt_log_get(f->s, &b), PL_CSTORE_E_CORRUPT);
    cs_raw_exec(f, "UPDATE kt_log SET has_checkpoint = 0, quorum = 0");
    RC(pl_cstore_kt_log_get(f->s, &b), PL_CSTORE_OK);
}

static void kt_label_round_trip(void **state)
{
    fixture *f = *state;
    pl_cstore_kt_label *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);

    assert_non_null(a);
    assert_non_null(b);
    cs_create(f, NULL);
    RC(pl_cstore_kt_label_get(f->s, "bob", b), PL_CSTORE_E_NOT_FOUND);
    snprintf(a->label, sizeof a->label, "bob");
    a->version = 7;
    a->state_len = 291;
    memset(a->state, 0x5a, a->state_len);
    a->n_vrf_cache = 3;
    for (size_t i = 0; i < 3; i++) {
        a->vrf_cache[i].version = (uint32_t)(0x01020300u + i);
        memset(a->vrf_cache[i].vrf_out, (int)(0x10 + i), 32);
    }
    a->tree_size = 99;
    a->entry_time_ms = 1700000000999ull;
    a->verified_at_ms = 1700000001999ull;
    RC(pl_cstore_kt_label_put(f->s, a), PL_CSTORE_OK);
    cs_reopen(f);
    RC(pl_cstore_kt_label_get(f->s, "bob", b), PL_CSTORE_OK);
    assert_memory_equal(a, b, sizeof *a);
    /* Refused: an empty state, too large a cache, a bad label. */
    a->state_len = 0;
    RC(pl_cstore_kt_label_put(f->s, a), PL_CSTORE_E_INVALID_ARG);
    a->state_len = 10;
    a->n_vrf_cache = PL_CSTORE_KT_VRF_CACHE_MAX + 1;
    RC(pl_cstore_kt_label_put(f->s, a), PL_CSTORE_E_INVALID_ARG);
    RC(pl_cstore_kt_label_get(f->s, "", b), PL_CSTORE_E_INVALID_ARG);
    /* Damaged on disk. */
    cs_raw_exec(f, "UPDATE kt_labels SET vrf_cache = x'010203'");
    RC(pl_cstore_kt_label_get(f->s, "bob", b), PL_CSTORE_E_CORRUPT);
    cs_raw_exec(f, "UPDATE kt_labels SET vrf_cache = x'', version = -1");
    RC(pl_cstore_kt_label_get(f->s, "bob", b), PL_CSTORE_E_CORRUPT);
    cs_raw_exec(f, "UPDATE kt_labels SET version = 1, state = zeroblob(3000)");
    RC(pl_cstore_kt_label_get(f->s, "bob", b), PL_CSTORE_E_CORRUPT);
    free(a);
    free(b);
}

typedef struct seen {
    int64_t ids[8];
    char kinds[8][32];
    int high[8];
    size_t n_evidence[8];
    size_t n;
} seen;

static int collect_alert(void *ctx, const pl_cstore_kt_alert *a)
{
    seen *s = ctx;

    s->ids[s->n] = a->id;
    snprintf(s->kinds[s->n], sizeof s->kinds[0], "%s", a->kind);
    s->high[s->n] = a->high;
    s->n_evidence[s->n] = a->n_evidence;
    s->n++;
    return 0;
}

typedef struct pieces {
    char names[8][64];
    size_t lens[8];
    uint8_t first[8];
    size_t n;
} pieces;

static int collect_piece(void *ctx, const pl_cstore_kt_evidence *e)
{
    pieces *p = ctx;

    snprintf(p->names[p->n], sizeof p->names[0], "%s", e->name);
    p->lens[p->n] = e->len;
    p->first[p->n] = e->len ? e->data[0] : 0;
    p->n++;
    return 0;
}

static void kt_alerts_with_evidence(void **state)
{
    fixture *f = *state;
    static const uint8_t note[] = "old checkpoint\n", proof[] = {9, 8, 7};
    pl_cstore_kt_evidence ev[2] = {{"old-checkpoint.note", note, sizeof note - 1},
                                   {"proof.bin", proof, sizeof proof}};
    pl_cstore_kt_evidence bad = {"../escape", proof, sizeof proof};
    pl_cstore_kt_alert a;
    int64_t id1 = 0, id2 = 0;
    seen s;
    pieces p;

    cs_create(f, NULL);
    memset(&a, 0, sizeof a);
    snprintf(a.kind, sizeof a.kind, "view");
    snprintf(a.reason, sizeof a.reason, "fork");
    a.high = 1;
    a.created_at_ms = 5;
    RC(pl_cstore_kt_alert_add(f->s, &a, ev, 2, &id1), PL_CSTORE_OK);
    snprintf(a.label, sizeof a.label, "bob");
    snprintf(a.kind, sizeof a.kind, "lookup");
    a.high = 0;
    RC(pl_cstore_kt_alert_add(f->s, &a, NULL, 0, &id2), PL_CSTORE_OK);
    assert_true(id1 > 0 && id2 > id1);
    /* A piece of evidence whose name would leave the export directory: nothing stored. */
    RC(pl_cstore_kt_alert_add(f->s, &a, &bad, 1, NULL), PL_CSTORE_E_INVALID_ARG);
    cs_reopen(f);
    memset(&s, 0, sizeof s);
    RC(pl_cstore_kt_alert_list(f->s, 0, collect_alert, &s), PL_CSTORE_OK);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.kinds[0], "view");
    assert_int_equal(s.high[0], 1);
    assert_int_equal(s.n_evidence[0], 2);
    assert_int_equal(s.n_evidence[1], 0);
    RC(pl_cstore_kt_alert_ack(f->s, id1), PL_CSTORE_OK);
    RC(pl_cstore_kt_alert_ack(f->s, id2 + 100), PL_CSTORE_E_NOT_FOUND);
    memset(&s, 0, sizeof s);
    RC(pl_cstore_kt_alert_list(f->s, 0, collect_alert, &s), PL_CSTORE_OK);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.ids[0], id2);
    memset(&s, 0, sizeof s);
    RC(pl_cstore_kt_alert_list(f->s, 1, collect_alert, &s), PL_CSTORE_OK);
    assert_int_equal(s.n, 2);
    memset(&p, 0, sizeof p);
    RC(pl_cstore_kt_evidence_list(f->s, id1, collect_piece, &p), PL_CSTORE_OK);
    assert_int_equal(p.n, 2);
    assert_string_equal(p.names[0], "old-checkpoint.note");
    assert_int_equal(p.lens[0], sizeof note - 1);
    assert_string_equal(p.names[1], "proof.bin");
    assert_int_equal(p.first[1], 9);
    /* A name damaged on disk is never handed out as a file name. */
    cs_raw_exec(f, "UPDATE kt_evidence SET name = '../../etc/x' WHERE seq = 1");
    memset(&p, 0, sizeof p);
    RC(pl_cstore_kt_evidence_list(f->s, id1, collect_piece, &p), PL_CSTORE_E_CORRUPT);
}

static void version_1_store_is_migrated(void **state)
{
    fixture *f = *state;
    pl_cstore_kt_log l;

    cs_create(f, NULL);
    cs_raw_exec(
        f, "DROP TABLE groups; DROP TABLE receipts; DROP TABLE kt_evidence; DROP TABLE kt_alerts;"
           " DROP TABLE kt_labels;"
           " DROP TABLE kt_log; UPDATE schema_version SET version = 1");
    cs_reopen(f);
    RC(pl_cstore_kt_log_get(f->s, &l), PL_CSTORE_E_NOT_FOUND);
    fill_log(&l);
    RC(pl_cstore_kt_log_put(f->s, &l), PL_CSTORE_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(kt_log_round_trip, cs_setup, cs_teardown),
        cmocka_unit_test_setup_teardown(kt_log_damaged_is_corrupt, cs_setup, cs_teardown),
        cmocka_unit_test_setup_teardown(kt_label_round_trip, cs_setup, cs_teardown),
        cmocka_unit_test_setup_teardown(kt_alerts_with_evidence, cs_setup, cs_teardown),
        cmocka_unit_test_setup_teardown(version_1_store_is_migrated, cs_setup, cs_teardown),
    };

    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
