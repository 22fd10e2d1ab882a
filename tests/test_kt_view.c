/*
 * test_kt_view.c: parley/kt_view.h: a client's view of the key-transparency log.
 *
 * A fixed-seed log key signs checkpoints of a tree of 64 leaf hashes, three fixed-seed
 * witnesses cosign them, and the consistency proofs come from pl_merkle_consistency_proof().
 * The honest sequence 1 -> 5 -> 13 is accepted; every attack is refused with its reason, its
 * evidence, and the view byte for byte as it was.
 */
#include <sodium.h>

#include "fixture.h"

#define ORIGIN "parley.example/kt/v1/0123456789abcdef"
#define LOG_NAME "parley.example/kt/v1/0123456789abcdef"
#define NOW_MS UINT64_C(1700000000000)
#define NOW_S UINT64_C(1700000000)
#define AHEAD_MS UINT64_C(120000)  /* 2 min */
#define BEHIND_MS UINT64_C(600000) /* 10 min */
#define LEAVES 64u
#define NOTE_CAP (PL_NOTE_MAX_BYTES + 1u)
#define NO_COSIGN UINT64_MAX

typedef struct key {
    uint8_t pk[crypto_sign_PUBLICKEYBYTES];
    uint8_t sk[crypto_sign_SECRETKEYBYTES];
    const char *name;
} key;

static key log_key, other_log_key, wit[4]; /* wit[3] is not pinned */
static pl_note_verifier log_v, other_log_v, wit_v[4];
static uint8_t leaves[LEAVES][PL_MERKLE_HASH_BYTES], other_leaves[LEAVES][PL_MERKLE_HASH_BYTES];
static const char *const wit_names[4] = {"witness.example/w1", "witness.example/w2",
                                         "witness.example/w3", "stranger.example/w"};

static key key_make(uint8_t seed_byte, const char *name)
{
    uint8_t seed[crypto_sign_SEEDBYTES];
    key k;

    memset(seed, seed_byte, sizeof seed);
    crypto_sign_seed_keypair(k.pk, k.sk, seed);
    k.name = name;
    return k;
}

static int setup(void **state)
{
    (void)state;
    if (pl_init() != PL_OK)
        return -1;
    log_key = key_make(0x11, LOG_NAME);
    other_log_key = key_make(0x22, LOG_NAME);
    FX_RC(
        pl_note_verifier_init(LOG_NAME, strlen(LOG_NAME), PL_NOTE_TYPE_ED25519, log_key.pk, &log_v),
        PL_OK);
    FX_RC(pl_note_verifier_init(LOG_NAME, strlen(LOG_NAME), PL_NOTE_TYPE_ED25519, other_log_key.pk,
                                &other_log_v),
          PL_OK);
    for (unsigned i = 0; i < 4; i++) {
        wit[i] = key_make((uint8_t)(0x44 + i), wit_names[i]);
        FX_RC(pl_note_verifier_init(wit_names[i], strlen(wit_names[i]), PL_NOTE_TYPE_COSIGNATURE_V1,
                                    wit[i].pk, &wit_v[i]),
              PL_OK);
    }
    for (unsigned i = 0; i < LEAVES; i++) {
        uint8_t entry[2] = {(uint8_t)i, 0};

        pl_merkle_leaf_hash(entry, sizeof entry, leaves[i]);
        entry[1] = 1;
        pl_merkle_leaf_hash(entry, sizeof entry, other_leaves[i]);
    }
    return 0;
}

/* A note of the checkpoint (origin, size, root of d[0..size)) signed by signer and cosigned by
 * wit[i] at times[i] seconds (NO_COSIGN: not at all). Returns a static buffer. */
static const char *make_note(const char *origin, uint64_t size,
                             const uint8_t (*d)[PL_MERKLE_HASH_BYTES], const key *signer,
                             const uint64_t times[4], size_t *len)
{
    static char note[NOTE_CAP];
    char text[512], line[256];
    size_t text_len, line_len;
    pl_checkpoint cp;

    memset(&cp, 0, sizeof cp);
    memcpy(cp.origin, origin, strlen(origin));
    cp.origin_len = strlen(origin);
    cp.size = size;
    FX_RC(pl_merkle_root(d, size, cp.root), PL_OK);
    FX_RC(pl_checkpoint_format(&cp, text, sizeof text, &text_len), PL_OK);
    FX_RC(pl_note_sign(text, text_len, signer->name, strlen(signer->name), signer->sk, note,
                       sizeof note, len),
          PL_OK);
    for (unsigned i = 0; i < 4; i++) {
        if (times[i] == NO_COSIGN)
            continue;
        FX_RC(pl_cosignature_sign(text, text_len, wit[i].name, strlen(wit[i].name), wit[i].sk,
                                  times[i], line, sizeof line, &line_len),
              PL_OK);
        assert_true(*len + line_len <= sizeof note);
        memcpy(note + *len, line, line_len);
        *len += line_len;
    }
    return note;
}

static const uint64_t two_now[4] = {NOW_S, NOW_S, NO_COSIGN, NO_COSIGN};

static const char *honest(uint64_t size, size_t *len)
{
    return make_note(ORIGIN, size, leaves, &log_key, two_now, len);
}

static void view_init(pl_kt_view *v)
{
    FX_RC(pl_kt_view_init(v, ORIGIN, strlen(ORIGIN), &log_v, wit_v, 3, 2, AHEAD_MS, BEHIND_MS),
          PL_OK);
}

static int update(pl_kt_view *v, const char *note, size_t len, uint64_t size2,
                  pl_kt_view_evidence *ev)
{
    uint8_t proof[PL_MERKLE_MAX_PROOF][PL_MERKLE_HASH_BYTES];
    size_t n = 0;

    if (v->has_checkpoint && v->size > 0 && size2 > v->size)
        FX_RC(pl_merkle_consistency_proof(leaves, v->size, size2, proof, &n), PL_OK);
    return pl_kt_view_update(v, note, len, NOW_MS, (const uint8_t(*)[32])proof, n, ev);
}

/* A view that has verified the honest checkpoint of size 5. */
static pl_kt_view *view_at_5(void)
{
    pl_kt_view *v = fx_malloc(sizeof *v);
    pl_kt_view_evidence ev;
    const char *note;
    size_t len;

    view_init(v);
    note = honest(5, &len);
    FX_RC(update(v, note, len, 5, &ev), PL_OK);
    return v;
}

/* Offers note to a view at 5 and checks the refusal: rc, reason, view unchanged. */
static void refused(const char *note, size_t len, const uint8_t (*proof)[32], size_t n, int rc,
                    pl_kt_view_reason reason, pl_kt_view_evidence *ev)
{
    char *copy = fx_malloc(len + 1); /* view_at_5() reuses make_note()'s buffer */
    pl_kt_view *v, *before;

    memcpy(copy, note, len);
    v = view_at_5();
    before = fx_malloc(sizeof *v);
    memcpy(before, v, sizeof *v);
    FX_RC(pl_kt_view_update(v, copy, len, NOW_MS, proof, n, ev), rc);
    assert_int_equal(ev->reason, reason);
    assert_memory_equal(v, before, sizeof *v);
    assert_true(ev->has_old && ev->old_size == 5);
    assert_ptr_equal(ev->old_note, v->note);
    assert_true(!ev->has_new || ev->new_note == copy);
    ev->old_note = NULL; /* v and copy are freed */
    ev->new_note = NULL;
    free(v);
    free(before);
    free(copy);
}

static void honest_sequence_is_accepted(void **state)
{
    pl_kt_view *v = fx_malloc(sizeof *v);
    pl_kt_view_evidence ev;
    uint8_t root[32];
    const char *note;
    size_t len;

    (void)state;
    view_init(v);
    assert_int_equal(v->has_checkpoint, 0);
    static const uint64_t sizes[3] = {1, 5, 13};
    for (unsigned i = 0; i < 3; i++) {
        note = honest(sizes[i], &len);
        FX_RC(update(v, note, len, sizes[i], &ev), PL_OK);
        assert_int_equal(ev.reason, PL_KT_VIEW_NONE);
        assert_int_equal(ev.has_old, i > 0);
        assert_true(ev.has_new && ev.new_size == sizes[i]);
        assert_int_equal(v->size, sizes[i]);
        FX_RC(pl_merkle_root(leaves, sizes[i], root), PL_OK);
        assert_memory_equal(v->root, root, 32);
        assert_int_equal(v->note_len, len);
        assert_memory_equal(v->note, note, len);
    }
    /* the same size again, with fresh cosignatures from other witnesses: accepted */
    static const uint64_t later[4] = {NO_COSIGN, NOW_S + 60, NOW_S + 61, NO_COSIGN};
    note = make_note(ORIGIN, 13, leaves, &log_key, later, &len);
    FX_RC(pl_kt_view_update(v, note, len, NOW_MS + 60000, NULL, 0, &ev), PL_OK);
    assert_memory_equal(v->note, note, len);
    free(v);
}

static void every_consistency_step_up_to_40_is_accepted(void **state)
{
    uint8_t proof[PL_MERKLE_MAX_PROOF + 1][PL_MERKLE_HASH_BYTES];
    pl_kt_view *v = fx_malloc(sizeof *v);
    pl_kt_view_evidence ev;
    const char *note;
    size_t len, n;

    (void)state;
    for (uint64_t m = 1; m <= 40; m++) {
        for (uint64_t s = m + 1; s <= 40; s++) {
            view_init(v);
            note = honest(m, &len);
            FX_RC(pl_kt_view_update(v, note, len, NOW_MS, NULL, 0, &ev), PL_OK);
            FX_RC(pl_merkle_consistency_proof(leaves, m, s, proof, &n), PL_OK);
            note = honest(s, &len);
            /* one hash short or one too many: the wrong shape for these sizes */
            if (n > 0)
                FX_RC(pl_kt_view_update(v, note, len, NOW_MS, (const uint8_t(*)[32])proof, n - 1,
                                        &ev),
                      PL_E_BAD_PROOF);
            assert_int_equal(ev.reason, n > 0 ? PL_KT_VIEW_BAD_CONSISTENCY : PL_KT_VIEW_NONE);
            FX_RC(pl_kt_view_update(v, note, len, NOW_MS, (const uint8_t(*)[32])proof, n + 1, &ev),
                  PL_E_BAD_PROOF);
            assert_int_equal(ev.reason, PL_KT_VIEW_BAD_CONSISTENCY);
            assert_int_equal(v->size, m);
            FX_RC(pl_kt_view_update(v, note, len, NOW_MS, (const uint8_t(*)[32])proof, n, &ev),
                  PL_OK);
            assert_int_equal(v->size, s);
        }
    }
    free(v);
}

static void rollback_is_refused(void **state)
{
    pl_kt_view_evidence ev;
    const char *note;
    size_t len;

    (void)state;
    note = honest(1, &len);
    refused(note, len, NULL, 0, PL_E_KT_VIEW, PL_KT_VIEW_ROLLBACK, &ev);
    assert_true(ev.has_new && ev.new_size == 1);
}

static void fork_of_the_same_size_is_refused(void **state)
{
    pl_kt_view_evidence ev;
    uint8_t root[32], other[32];
    const char *note;
    size_t len;

    (void)state;
    /* a split view: the client saw A of size 5, now B of size 5 with another root */
    note = make_note(ORIGIN, 5, other_leaves, &log_key, two_now, &len);
    refused(note, len, NULL, 0, PL_E_KT_VIEW, PL_KT_VIEW_FORK, &ev);
    FX_RC(pl_merkle_root(leaves, 5, root), PL_OK);
    FX_RC(pl_merkle_root(other_leaves, 5, other), PL_OK);
    assert_true(ev.has_old && ev.old_size == 5);
    assert_memory_equal(ev.old_root, root, 32);
    assert_true(ev.has_new && ev.new_size == 5);
    assert_memory_equal(ev.new_root, other, 32);
    assert_int_equal(ev.new_note_len, len);
}

static void split_view_keeps_both_signed_notes(void **state)
{
    pl_kt_view *v = view_at_5(), *before = fx_malloc(sizeof *v);
    pl_kt_view_evidence ev;
    char a[NOTE_CAP];
    const char *b;
    size_t a_len, b_len;

    (void)state;
    b = honest(5, &a_len);
    memcpy(a, b, a_len);
    memcpy(before, v, sizeof *v);
    b = make_note(ORIGIN, 5, other_leaves, &log_key, two_now, &b_len);
    FX_RC(pl_kt_view_update(v, b, b_len, NOW_MS, NULL, 0, &ev), PL_E_KT_VIEW);
    assert_int_equal(ev.reason, PL_KT_VIEW_FORK);
    assert_memory_equal(v, before, sizeof *v);
    /* both notes are signed by the log: an auditor can check them without the client */
    assert_int_equal(ev.old_note_len, a_len);
    assert_memory_equal(ev.old_note, a, a_len);
    {
        pl_note_opened o;

        FX_RC(pl_note_open(ev.old_note, ev.old_note_len, &log_v, 1, &o), PL_OK);
        FX_RC(pl_note_open(ev.new_note, ev.new_note_len, &log_v, 1, &o), PL_OK);
    }
    free(v);
    free(before);
}

static void fork_of_a_larger_size_is_refused(void **state)
{
    uint8_t proof[PL_MERKLE_MAX_PROOF][PL_MERKLE_HASH_BYTES], other[32];
    pl_kt_view_evidence ev;
    const char *note;
    size_t len, n;

    (void)state;
    /* 13 leaves that do not start with the 5 the client saw: the honest proof fails */
    FX_RC(pl_merkle_consistency_proof(leaves, 5, 13, proof, &n), PL_OK);
    note = make_note(ORIGIN, 13, other_leaves, &log_key, two_now, &len);
    refused(note, len, (const uint8_t(*)[32])proof, n, PL_E_KT_VIEW, PL_KT_VIEW_FORK, &ev);
    FX_RC(pl_merkle_root(other_leaves, 13, other), PL_OK);
    assert_true(ev.has_new && ev.new_size == 13);
    assert_memory_equal(ev.new_root, other, 32);
    /* nor does that tree's own proof */
    note = make_note(ORIGIN, 13, other_leaves, &log_key, two_now, &len);
    FX_RC(pl_merkle_consistency_proof(other_leaves, 5, 13, proof, &n), PL_OK);
    refused(note, len, (const uint8_t(*)[32])proof, n, PL_E_KT_VIEW, PL_KT_VIEW_FORK, &ev);
    /* the honest checkpoint with a flipped proof hash */
    note = honest(13, &len);
    FX_RC(pl_merkle_consistency_proof(leaves, 5, 13, proof, &n), PL_OK);
    proof[n - 1][7] ^= 1;
    refused(note, len, (const uint8_t(*)[32])proof, n, PL_E_KT_VIEW, PL_KT_VIEW_FORK, &ev);
    /* no proof at all */
    note = honest(13, &len);
    refused(note, len, NULL, 0, PL_E_BAD_PROOF, PL_KT_VIEW_BAD_CONSISTENCY, &ev);
}

static void missing_cosignatures_are_refused(void **state)
{
    static const uint64_t one[4] = {NOW_S, NO_COSIGN, NO_COSIGN, NO_COSIGN};
    static const uint64_t stranger[4] = {NO_COSIGN, NOW_S, NO_COSIGN, NOW_S};
    static const uint64_t none[4] = {NO_COSIGN, NO_COSIGN, NO_COSIGN, NO_COSIGN};
    pl_kt_view_evidence ev;
    const char *note;
    size_t len;

    (void)state;
    note = make_note(ORIGIN, 13, leaves, &log_key, one, &len);
    refused(note, len, NULL, 0, PL_E_KT_VIEW, PL_KT_VIEW_NO_QUORUM, &ev);
    /* a witness not in the pinned set does not count */
    note = make_note(ORIGIN, 13, leaves, &log_key, stranger, &len);
    refused(note, len, NULL, 0, PL_E_KT_VIEW, PL_KT_VIEW_NO_QUORUM, &ev);
    note = make_note(ORIGIN, 13, leaves, &log_key, none, &len);
    refused(note, len, NULL, 0, PL_E_KT_VIEW, PL_KT_VIEW_NO_QUORUM, &ev);
}

static void cosignature_times_are_checked(void **state)
{
    uint64_t t[4] = {NOW_S, NOW_S, NO_COSIGN, NO_COSIGN};
    pl_kt_view_evidence ev;
    const char *note;
    size_t len;

    (void)state;
    /* too old: one second before the window, with the 999 ms the witness dropped */
    t[1] = (NOW_MS - BEHIND_MS) / 1000 - 1;
    note = make_note(ORIGIN, 5, leaves, &log_key, t, &len);
    refused(note, len, NULL, 0, PL_E_KT_VIEW, PL_KT_VIEW_STALE, &ev);
    /* too new: one second past now + max_ahead */
    t[1] = (NOW_MS + AHEAD_MS) / 1000 + 1;
    note = make_note(ORIGIN, 5, leaves, &log_key, t, &len);
    refused(note, len, NULL, 0, PL_E_KT_VIEW, PL_KT_VIEW_FROM_THE_FUTURE, &ev);
    /* the largest time a cosignature may carry does not overflow the milliseconds */
    t[1] = PL_COSIGNATURE_MAX_TIME;
    note = make_note(ORIGIN, 5, leaves, &log_key, t, &len);
    refused(note, len, NULL, 0, PL_E_KT_VIEW, PL_KT_VIEW_FROM_THE_FUTURE, &ev);
    t[0] = t[1] = 0;
    note = make_note(ORIGIN, 5, leaves, &log_key, t, &len);
    refused(note, len, NULL, 0, PL_E_KT_VIEW, PL_KT_VIEW_STALE, &ev);
    /* both edges of the window are inside it */
    {
        pl_kt_view *v = view_at_5();

        t[0] = (NOW_MS - BEHIND_MS) / 1000;
        t[1] = (NOW_MS + AHEAD_MS) / 1000;
        note = make_note(ORIGIN, 5, leaves, &log_key, t, &len);
        FX_RC(pl_kt_view_update(v, note, len, NOW_MS, NULL, 0, &ev), PL_OK);
        /* a stale third cosignature does not matter when two are on time */
        t[0] = t[1] = NOW_S;
        t[2] = 0;
        note = make_note(ORIGIN, 5, leaves, &log_key, t, &len);
        FX_RC(pl_kt_view_update(v, note, len, NOW_MS, NULL, 0, &ev), PL_OK);
        /* now near 0 and near UINT64_MAX do not wrap */
        FX_RC(pl_kt_view_update(v, note, len, 5, NULL, 0, &ev), PL_E_KT_VIEW);
        assert_int_equal(ev.reason, PL_KT_VIEW_FROM_THE_FUTURE);
        FX_RC(pl_kt_view_update(v, note, len, UINT64_MAX, NULL, 0, &ev), PL_E_KT_VIEW);
        assert_int_equal(ev.reason, PL_KT_VIEW_STALE);
        free(v);
    }
}

static void other_log_key_wrong_origin_and_tampering_are_refused(void **state)
{
    pl_kt_view_evidence ev;
    char copy[NOTE_CAP];
    const char *note;
    size_t len;

    (void)state;
    note = make_note(ORIGIN, 13, leaves, &other_log_key, two_now, &len);
    refused(note, len, NULL, 0, PL_E_BAD_SIGNATURE, PL_KT_VIEW_BAD_SIGNATURE, &ev);
    assert_int_equal(ev.has_new, 0);
    note = make_note("evil.example/kt/v1/0123456789abcdef", 13, leaves, &log_key, two_now, &len);
    refused(note, len, NULL, 0, PL_E_KT_VIEW, PL_KT_VIEW_WRONG_ORIGIN, &ev);
    assert_true(ev.has_new && ev.new_size == 13);
    /* tampered: a size of 6 in the text the log signed for 5 */
    note = honest(5, &len);
    memcpy(copy, note, len);
    copy[strlen(ORIGIN) + 1] = '6';
    refused(copy, len, NULL, 0, PL_E_BAD_SIGNATURE, PL_KT_VIEW_BAD_SIGNATURE, &ev);
    /* a tampered cosignature refuses the whole note */
    memcpy(copy, note, len);
    copy[len - 10] = copy[len - 10] == 'A' ? 'B' : 'A';
    refused(copy, len, NULL, 0, PL_E_BAD_SIGNATURE, PL_KT_VIEW_BAD_SIGNATURE, &ev);
    /* not a note at all; not a checkpoint */
    refused("hello\n", 6, NULL, 0, PL_E_MALFORMED, PL_KT_VIEW_MALFORMED, &ev);
    {
        size_t n;

        FX_RC(pl_note_sign("hello\n", 6, LOG_NAME, strlen(LOG_NAME), log_key.sk, copy, sizeof copy,
                           &n),
              PL_OK);
        refused(copy, n, NULL, 0, PL_E_MALFORMED, PL_KT_VIEW_MALFORMED, &ev);
    }
}

static void bad_arguments_are_refused(void **state)
{
    pl_kt_view *v = fx_malloc(sizeof *v);
    pl_kt_view_evidence ev;
    pl_note_verifier dup[2] = {wit_v[0], wit_v[0]};
    const char *note;
    size_t len;

    (void)state;
    FX_RC(pl_kt_view_init(v, ORIGIN, strlen(ORIGIN), &log_v, wit_v, 3, 4, 0, 0), PL_E_INVALID_ARG);
    FX_ZEROED(v, sizeof *v);
    FX_RC(pl_kt_view_init(v, ORIGIN, 0, &log_v, wit_v, 3, 2, 0, 0), PL_E_INVALID_ARG);
    FX_RC(pl_kt_view_init(v, "a\nb", 3, &log_v, wit_v, 3, 2, 0, 0), PL_E_INVALID_ARG);
    FX_RC(pl_kt_view_init(v, ORIGIN, strlen(ORIGIN), &wit_v[0], wit_v, 3, 2, 0, 0),
          PL_E_INVALID_ARG);
    FX_RC(pl_kt_view_init(v, ORIGIN, strlen(ORIGIN), &log_v, &log_v, 1, 1, 0, 0), PL_E_INVALID_ARG);
    FX_RC(pl_kt_view_init(v, ORIGIN, strlen(ORIGIN), &log_v, dup, 2, 1, 0, 0), PL_E_INVALID_ARG);
    FX_RC(pl_kt_view_init(v, ORIGIN, strlen(ORIGIN), &log_v, NULL, 1, 0, 0, 0), PL_E_INVALID_ARG);
    FX_RC(pl_kt_view_init(v, ORIGIN, strlen(ORIGIN), &log_v, wit_v, PL_KT_VIEW_MAX_WITNESSES + 1, 1,
                          0, 0),
          PL_E_INVALID_ARG);
    /* quorum 0 (a test server) accepts the log's signature alone */
    FX_RC(pl_kt_view_init(v, ORIGIN, strlen(ORIGIN), &log_v, NULL, 0, 0, 0, 0), PL_OK);
    note = make_note(ORIGIN, 5, leaves, &log_key,
                     (const uint64_t[4]){NO_COSIGN, NO_COSIGN, NO_COSIGN, NO_COSIGN}, &len);
    FX_RC(pl_kt_view_update(v, note, len, NOW_MS, NULL, 0, NULL), PL_E_INVALID_ARG);
    FX_RC(pl_kt_view_update(v, NULL, len, NOW_MS, NULL, 0, &ev), PL_E_INVALID_ARG);
    FX_RC(pl_kt_view_update(v, note, len, NOW_MS, NULL, 1, &ev), PL_E_INVALID_ARG);
    FX_RC(pl_kt_view_update(NULL, note, len, NOW_MS, NULL, 0, &ev), PL_E_INVALID_ARG);
    FX_RC(pl_kt_view_update(v, note, len, NOW_MS, NULL, 0, &ev), PL_OK);
    assert_string_equal(pl_errname(PL_E_KT_VIEW), "PL_E_KT_VIEW");
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(honest_sequence_is_accepted),
        cmocka_unit_test(every_consistency_step_up_to_40_is_accepted),
        cmocka_unit_test(rollback_is_refused),
        cmocka_unit_test(fork_of_the_same_size_is_refused),
        cmocka_unit_test(split_view_keeps_both_signed_notes),
        cmocka_unit_test(fork_of_a_larger_size_is_refused),
        cmocka_unit_test(missing_cosignatures_are_refused),
        cmocka_unit_test(cosignature_times_are_checked),
        cmocka_unit_test(other_log_key_wrong_origin_and_tampering_are_refused),
        cmocka_unit_test(bad_arguments_are_refused),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
