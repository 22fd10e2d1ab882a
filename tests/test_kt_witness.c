/*
 * test_kt_witness.c: parley/kt_witness.h, the witness's add-checkpoint decision.
 *
 * A log of 9 entries signs checkpoints of sizes 1, 4 and 9 with a fixed-seed key; a second
 * log, of other entries, makes the forks. Every refusal must leave *next equal to *cur and
 * write no cosignature; every acceptance must give a line pl_cosignature_verify accepts.
 */
#include <sodium.h>

#include "fixture.h"

#define LOG_NAME "parley.example/kt/v1/0123456789abcdef"
#define WITNESS_NAME "witness.example/w1"
#define HB PL_MERKLE_HASH_BYTES
#define NOTE_CAP 1024u
#define LINE_CAP 256u
#define NOW UINT64_C(1700000000)
#define LEAVES 9u

typedef struct key {
    uint8_t pk[crypto_sign_PUBLICKEYBYTES];
    uint8_t sk[crypto_sign_SECRETKEYBYTES];
} key;

static key key_make(uint8_t seed_byte)
{
    uint8_t seed[crypto_sign_SEEDBYTES];
    key k;

    memset(seed, seed_byte, sizeof seed);
    crypto_sign_seed_keypair(k.pk, k.sk, seed);
    return k;
}

/* The leaf hashes of a log whose entries are the bytes tag, tag+1, ... */
static void leaves_make(uint8_t (*d)[HB], uint8_t tag)
{
    for (unsigned i = 0; i < LEAVES; i++) {
        uint8_t e = (uint8_t)(tag + i);

        pl_merkle_leaf_hash(&e, 1, d[i]);
    }
}

/* Signs the checkpoint (origin, size, MTH(d[0:size])) with k under name into note. */
static size_t checkpoint_note(const char *origin, const uint8_t (*d)[HB], uint64_t size,
                              const char *name, const key *k, char note[NOTE_CAP])
{
    pl_checkpoint cp;
    char text[512];
    size_t text_len, len;

    memset(&cp, 0, sizeof cp);
    cp.origin_len = strlen(origin);
    memcpy(cp.origin, origin, cp.origin_len);
    cp.size = size;
    FX_RC(pl_merkle_root(d, size, cp.root), PL_OK);
    FX_RC(pl_checkpoint_format(&cp, text, sizeof text, &text_len), PL_OK);
    FX_RC(pl_note_sign(text, text_len, name, strlen(name), k->sk, note, NOTE_CAP, &len), PL_OK);
    return len;
}

typedef struct world {
    key log, witness, other;
    pl_note_verifier log_v, witness_v;
    uint8_t d[LEAVES][HB];    /* the honest log */
    uint8_t fork[LEAVES][HB]; /* another log under the same key */
    pl_kt_witness_state empty;
} world;

static void world_make(world *w)
{
    memset(w, 0, sizeof *w);
    w->log = key_make(0x11);
    w->witness = key_make(0x44);
    w->other = key_make(0x22);
    FX_RC(pl_note_verifier_init(LOG_NAME, strlen(LOG_NAME), PL_NOTE_TYPE_ED25519, w->log.pk,
                                &w->log_v),
          PL_OK);
    FX_RC(pl_note_verifier_init(WITNESS_NAME, strlen(WITNESS_NAME), PL_NOTE_TYPE_COSIGNATURE_V1,
                                w->witness.pk, &w->witness_v),
          PL_OK);
    leaves_make(w->d, 0);
    leaves_make(w->fork, 0);
    /* the fork shares the first 3 entries: it diverges at entry 3 */
    for (unsigned i = 3; i < LEAVES; i++) {
        uint8_t e = (uint8_t)(0x80 + i);

        pl_merkle_leaf_hash(&e, 1, w->fork[i]);
    }
    FX_RC(pl_kt_witness_state_init(LOG_NAME, strlen(LOG_NAME), &w->log_v, &w->empty), PL_OK);
}

typedef struct result {
    int rc;
    pl_kt_witness_state next;
    char line[LINE_CAP];
    size_t line_len;
    uint64_t conflict;
} result;

/* Asks the witness at cur to cosign note with proof; checks the refusal contract. */
static result add(const world *w, const pl_kt_witness_state *cur, uint64_t old_size,
                  const char *note, size_t note_len, const uint8_t (*proof)[HB], size_t n)
{
    result res;

    memset(&res, 0xA5, sizeof res);
    res.rc = pl_kt_witness_add_checkpoint(cur, old_size, note, note_len, proof, n, WITNESS_NAME,
                                          strlen(WITNESS_NAME), w->witness.sk, NOW, &res.next,
                                          res.line, sizeof res.line, &res.line_len, &res.conflict);
    if (res.rc != PL_OK) {
        assert_memory_equal(&res.next, cur, sizeof *cur);
        assert_int_equal(res.line_len, 0);
        for (size_t i = 0; i < sizeof res.line; i++)
            assert_int_equal(res.line[i], 0);
        if (res.rc != PL_E_WITNESS_CONFLICT)
            assert_int_equal(res.conflict, 0);
    }
    return res;
}

/* Accepts note of (size, MTH(d[0:size])) and checks the state and the cosignature. */
static pl_kt_witness_state accept(const world *w, const pl_kt_witness_state *cur,
                                  const uint8_t (*d)[HB], uint64_t size)
{
    uint8_t proof[PL_MERKLE_MAX_PROOF][HB], root[HB];
    char note[NOTE_CAP];
    size_t note_len, n = 0;
    pl_note_opened o;
    uint64_t t = 0;
    result res;

    note_len = checkpoint_note(LOG_NAME, d, size, LOG_NAME, &w->log, note);
    if (cur->has_state && cur->size > 0)
        FX_RC(pl_merkle_consistency_proof(d, cur->size, size, proof, &n), PL_OK);
    res = add(w, cur, cur->size, note, note_len, (const uint8_t(*)[HB])proof, n);
    FX_RC(res.rc, PL_OK);
    assert_int_equal(res.conflict, 0);
    assert_true(res.next.has_state);
    assert_int_equal(res.next.size, size);
    FX_RC(pl_merkle_root(d, size, root), PL_OK);
    assert_memory_equal(res.next.root, root, HB);
    assert_memory_equal(&res.next.log_key, &cur->log_key, sizeof cur->log_key);
    assert_string_equal(res.next.origin, LOG_NAME);

    FX_RC(pl_note_open(note, note_len, &w->log_v, 1, &o), PL_OK);
    FX_RC(pl_cosignature_verify(&w->witness_v, o.text, o.text_len, res.line, res.line_len, &t),
          PL_OK);
    assert_int_equal(t, NOW);
    return res.next;
}

static void first_checkpoint_and_honest_growth(void **state)
{
    world w;
    pl_kt_witness_state s1, s4, s9, again;

    (void)state;
    world_make(&w);
    assert_false(w.empty.has_state);
    s1 = accept(&w, &w.empty, (const uint8_t(*)[HB])w.d, 1);
    s4 = accept(&w, &s1, (const uint8_t(*)[HB])w.d, 4);
    s9 = accept(&w, &s4, (const uint8_t(*)[HB])w.d, 9);
    /* the same checkpoint again is cosigned again, and nothing moves */
    again = accept(&w, &s9, (const uint8_t(*)[HB])w.d, 9);
    assert_memory_equal(&again, &s9, sizeof s9);
    /* a witness may start at any size */
    (void)accept(&w, &w.empty, (const uint8_t(*)[HB])w.d, 9);
}

static void empty_tree(void **state)
{
    world w;
    pl_kt_witness_state s0;
    char note[NOTE_CAP];
    size_t note_len;
    uint8_t bogus[1][HB];

    (void)state;
    world_make(&w);
    s0 = accept(&w, &w.empty, (const uint8_t(*)[HB])w.d, 0);
    assert_true(s0.has_state);
    (void)accept(&w, &s0, (const uint8_t(*)[HB])w.d, 5);
    /* from nothing or the empty tree, a proof must be empty */
    memset(bogus, 0, sizeof bogus);
    note_len = checkpoint_note(LOG_NAME, (const uint8_t(*)[HB])w.d, 5, LOG_NAME, &w.log, note);
    FX_RC(add(&w, &s0, 0, note, note_len, (const uint8_t(*)[HB])bogus, 1).rc, PL_E_BAD_PROOF);
    FX_RC(add(&w, &w.empty, 0, note, note_len, (const uint8_t(*)[HB])bogus, 1).rc, PL_E_BAD_PROOF);
}

static void refusals_leave_the_state(void **state)
{
    world w;
    pl_kt_witness_state s4, s9;
    uint8_t proof[PL_MERKLE_MAX_PROOF][HB];
    char note[NOTE_CAP];
    size_t note_len, n;
    result res;

    (void)state;
    world_make(&w);
    s4 = accept(&w, &w.empty, (const uint8_t(*)[HB])w.d, 4);
    s9 = accept(&w, &s4, (const uint8_t(*)[HB])w.d, 9);

    /* rollback: a smaller tree, honestly signed, old size right */
    note_len = checkpoint_note(LOG_NAME, (const uint8_t(*)[HB])w.d, 4, LOG_NAME, &w.log, note);
    FX_RC(add(&w, &s9, 9, note, note_len, NULL, 0).rc, PL_E_ROLLBACK);

    /* fork at the same size: another root of 9 entries */
    note_len = checkpoint_note(LOG_NAME, (const uint8_t(*)[HB])w.fork, 9, LOG_NAME, &w.log, note);
    FX_RC(add(&w, &s9, 9, note, note_len, NULL, 0).rc, PL_E_BAD_PROOF);

    /* fork that grows: the fork's own proof from 4 does not start at the witness's root */
    FX_RC(pl_merkle_consistency_proof((const uint8_t(*)[HB])w.fork, 4, 9, proof, &n), PL_OK);
    FX_RC(add(&w, &s4, 4, note, note_len, (const uint8_t(*)[HB])proof, n).rc, PL_E_BAD_PROOF);
    /* nor does the honest proof lead to the fork's root */
    FX_RC(pl_merkle_consistency_proof((const uint8_t(*)[HB])w.d, 4, 9, proof, &n), PL_OK);
    FX_RC(add(&w, &s4, 4, note, note_len, (const uint8_t(*)[HB])proof, n).rc, PL_E_BAD_PROOF);
    /* the honest checkpoint with a damaged or missing proof */
    note_len = checkpoint_note(LOG_NAME, (const uint8_t(*)[HB])w.d, 9, LOG_NAME, &w.log, note);
    proof[0][0] ^= 1;
    FX_RC(add(&w, &s4, 4, note, note_len, (const uint8_t(*)[HB])proof, n).rc, PL_E_BAD_PROOF);
    proof[0][0] ^= 1;
    FX_RC(add(&w, &s4, 4, note, note_len, (const uint8_t(*)[HB])proof, n - 1).rc, PL_E_BAD_PROOF);
    FX_RC(add(&w, &s4, 4, note, note_len, NULL, 0).rc, PL_E_BAD_PROOF);

    /* stale old size: the log thinks the witness is at 1 */
    FX_RC(pl_merkle_consistency_proof((const uint8_t(*)[HB])w.d, 1, 9, proof, &n), PL_OK);
    res = add(&w, &s4, 1, note, note_len, (const uint8_t(*)[HB])proof, n);
    FX_RC(res.rc, PL_E_WITNESS_CONFLICT);
    assert_int_equal(res.conflict, 4);
    res = add(&w, &w.empty, 4, note, note_len, (const uint8_t(*)[HB])proof, n);
    FX_RC(res.rc, PL_E_WITNESS_CONFLICT);
    assert_int_equal(res.conflict, 0);

    /* another log key, under the same name and under another name */
    note_len = checkpoint_note(LOG_NAME, (const uint8_t(*)[HB])w.d, 9, LOG_NAME, &w.other, note);
    FX_RC(add(&w, &s4, 4, note, note_len, NULL, 0).rc, PL_E_BAD_SIGNATURE);
    note_len =
        checkpoint_note(LOG_NAME, (const uint8_t(*)[HB])w.d, 9, "other.example/log", &w.log, note);
    FX_RC(add(&w, &s4, 4, note, note_len, NULL, 0).rc, PL_E_BAD_SIGNATURE);
    /* the right key, but a checkpoint of another origin */
    note_len =
        checkpoint_note("other.example/log", (const uint8_t(*)[HB])w.d, 9, LOG_NAME, &w.log, note);
    FX_RC(pl_merkle_consistency_proof((const uint8_t(*)[HB])w.d, 4, 9, proof, &n), PL_OK);
    FX_RC(add(&w, &s4, 4, note, note_len, (const uint8_t(*)[HB])proof, n).rc,
          PL_E_IDENTITY_MISMATCH);

    /* a tampered note: the size digit changed, and the note cut short */
    note_len = checkpoint_note(LOG_NAME, (const uint8_t(*)[HB])w.d, 9, LOG_NAME, &w.log, note);
    note[strlen(LOG_NAME) + 1] = '8';
    FX_RC(add(&w, &s4, 4, note, note_len, (const uint8_t(*)[HB])proof, n).rc, PL_E_BAD_SIGNATURE);
    note[strlen(LOG_NAME) + 1] = '9';
    FX_RC(add(&w, &s4, 4, note, note_len - 1, (const uint8_t(*)[HB])proof, n).rc, PL_E_MALFORMED);
    /* and the untampered request still goes through */
    FX_RC(add(&w, &s4, 4, note, note_len, (const uint8_t(*)[HB])proof, n).rc, PL_OK);
}

static void bad_arguments(void **state)
{
    world w;
    pl_kt_witness_state s4, bad;
    uint8_t proof[PL_MERKLE_MAX_PROOF][HB];
    char note[NOTE_CAP], line[8];
    size_t note_len, n, line_len = 7;
    result res;

    (void)state;
    world_make(&w);
    s4 = accept(&w, &w.empty, (const uint8_t(*)[HB])w.d, 4);
    note_len = checkpoint_note(LOG_NAME, (const uint8_t(*)[HB])w.d, 9, LOG_NAME, &w.log, note);
    FX_RC(pl_merkle_consistency_proof((const uint8_t(*)[HB])w.d, 4, 9, proof, &n), PL_OK);
    FX_RC(add(&w, &s4, 4, note, note_len, NULL, n).rc, PL_E_INVALID_ARG);
    FX_RC(add(&w, &s4, 4, note, note_len, (const uint8_t(*)[HB])proof, PL_MERKLE_MAX_PROOF + 1).rc,
          PL_E_INVALID_ARG);
    bad = s4;
    bad.log_key.type = PL_NOTE_TYPE_COSIGNATURE_V1;
    FX_RC(add(&w, &bad, 4, note, note_len, (const uint8_t(*)[HB])proof, n).rc, PL_E_INVALID_ARG);
    bad = w.empty;
    bad.size = 4;
    FX_RC(add(&w, &bad, 4, note, note_len, (const uint8_t(*)[HB])proof, n).rc, PL_E_INVALID_ARG);
    /* a line buffer too small, a time too large, a bad witness name */
    memset(&res, 0, sizeof res);
    FX_RC(pl_kt_witness_add_checkpoint(&s4, 4, note, note_len, (const uint8_t(*)[HB])proof, n,
                                       WITNESS_NAME, strlen(WITNESS_NAME), w.witness.sk, NOW,
                                       &res.next, line, sizeof line, &line_len, NULL),
          PL_E_BUFFER_TOO_SMALL);
    assert_memory_equal(&res.next, &s4, sizeof s4);
    assert_int_equal(line_len, 0);
    FX_RC(pl_kt_witness_add_checkpoint(&s4, 4, note, note_len, (const uint8_t(*)[HB])proof, n,
                                       WITNESS_NAME, strlen(WITNESS_NAME), w.witness.sk,
                                       PL_COSIGNATURE_MAX_TIME + 1, &res.next, res.line,
                                       sizeof res.line, &line_len, NULL),
          PL_E_INVALID_ARG);
    FX_RC(pl_kt_witness_add_checkpoint(&s4, 4, note, note_len, (const uint8_t(*)[HB])proof, n,
                                       "bad name", 8, w.witness.sk, NOW, &res.next, res.line,
                                       sizeof res.line, &line_len, NULL),
          PL_E_INVALID_ARG);
    assert_memory_equal(&res.next, &s4, sizeof s4);
    /* state init */
    FX_RC(pl_kt_witness_state_init("", 0, &w.log_v, &bad), PL_E_INVALID_ARG);
    FX_RC(pl_kt_witness_state_init("a\nb", 3, &w.log_v, &bad), PL_E_INVALID_ARG);
    FX_RC(pl_kt_witness_state_init(LOG_NAME, strlen(LOG_NAME), &w.witness_v, &bad),
          PL_E_INVALID_ARG);
    assert_int_equal(pl_errname(PL_E_WITNESS_CONFLICT)[0], 'P');
    assert_string_equal(pl_errname(-24), "PL_E_WITNESS_CONFLICT");
    assert_string_equal(pl_errname(-25), "PL_E_ROLLBACK");
}

/* next may be cur itself: accepted, it moves; refused, it stays. */
static void next_aliases_cur(void **state)
{
    world w;
    pl_kt_witness_state s, before;
    uint8_t proof[PL_MERKLE_MAX_PROOF][HB];
    char note[NOTE_CAP], line[LINE_CAP];
    size_t note_len, n, line_len;

    (void)state;
    world_make(&w);
    s = accept(&w, &w.empty, (const uint8_t(*)[HB])w.d, 4);
    note_len = checkpoint_note(LOG_NAME, (const uint8_t(*)[HB])w.d, 9, LOG_NAME, &w.log, note);
    FX_RC(pl_merkle_consistency_proof((const uint8_t(*)[HB])w.d, 4, 9, proof, &n), PL_OK);
    before = s;
    FX_RC(pl_kt_witness_add_checkpoint(&s, 4, note, note_len, (const uint8_t(*)[HB])proof, n - 1,
                                       WITNESS_NAME, strlen(WITNESS_NAME), w.witness.sk, NOW, &s,
                                       line, sizeof line, &line_len, NULL),
          PL_E_BAD_PROOF);
    assert_memory_equal(&s, &before, sizeof s);
    FX_RC(pl_kt_witness_add_checkpoint(&s, 4, note, note_len, (const uint8_t(*)[HB])proof, n,
                                       WITNESS_NAME, strlen(WITNESS_NAME), w.witness.sk, NOW, &s,
                                       line, sizeof line, &line_len, NULL),
          PL_OK);
    assert_int_equal(s.size, 9);
}

/* The state is plain bytes: saved, and loaded by a restarted witness, it refuses the fork. */
static void fork_refused_across_restarts(void **state)
{
    world w;
    pl_kt_witness_state s9, loaded;
    unsigned char disk[sizeof(pl_kt_witness_state)];
    uint8_t proof[PL_MERKLE_MAX_PROOF][HB];
    char note[NOTE_CAP];
    size_t note_len, n;

    (void)state;
    world_make(&w);
    s9 = accept(&w, &w.empty, (const uint8_t(*)[HB])w.d, 4);
    s9 = accept(&w, &s9, (const uint8_t(*)[HB])w.d, 9);
    memcpy(disk, &s9, sizeof disk);
    memset(&s9, 0, sizeof s9); /* the process ends */
    memcpy(&loaded, disk, sizeof loaded);

    note_len = checkpoint_note(LOG_NAME, (const uint8_t(*)[HB])w.fork, 9, LOG_NAME, &w.log, note);
    FX_RC(add(&w, &loaded, 9, note, note_len, NULL, 0).rc, PL_E_BAD_PROOF);
    FX_RC(pl_merkle_consistency_proof((const uint8_t(*)[HB])w.fork, 4, 9, proof, &n), PL_OK);
    FX_RC(add(&w, &loaded, 4, note, note_len, (const uint8_t(*)[HB])proof, n).rc,
          PL_E_WITNESS_CONFLICT);
    note_len = checkpoint_note(LOG_NAME, (const uint8_t(*)[HB])w.fork, 3, LOG_NAME, &w.log, note);
    FX_RC(add(&w, &loaded, 9, note, note_len, NULL, 0).rc, PL_E_ROLLBACK);
    /* the honest log still gets its cosignature */
    (void)accept(&w, &loaded, (const uint8_t(*)[HB])w.d, 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(first_checkpoint_and_honest_growth),
        cmocka_unit_test(empty_tree),
        cmocka_unit_test(refusals_leave_the_state),
        cmocka_unit_test(bad_arguments),
        cmocka_unit_test(next_aliases_cur),
        cmocka_unit_test(fork_refused_across_restarts),
    };

    if (pl_init() != PL_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
