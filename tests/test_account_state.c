/*
 * test_account_state.c: the key transparency account state (PROTOCOL.md §19).
 *
 * An independent encoder written from §19 (craft(), with the account's Ed25519 key taken
 * from its saved form) must produce byte for byte what pl_account_state_sign does, and builds
 * the hostile states the library would never sign: ghost devices, unsorted and duplicate ids,
 * wrong counts, a broken chain, bad records under a good state signature. Then round trips
 * with 1..16 devices, every truncation and extension, every flipped bit, and the owner's
 * chain rule (pl_account_state_extends).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "parley/parley.h"
#include "blob.h"
#include "fixture.h"
#include "testutil.h"

#define N_DEV PL_ACCOUNT_STATE_MAX_DEVICES
#define T_CREATED_MS UINT64_C(1700000000123)
#define LABEL "parley/account-state/v1"

/* Device i has id 10 * i + 3, so ids ascend with i. */
static uint32_t dev_id(size_t i)
{
    return (uint32_t)(10u * i + 3u);
}

typedef struct world {
    pl_rng_deterministic rng_state;
    pl_rng rng;
    pl_account *alice, *mallory;
    uint8_t alice_key[PL_PUBKEY_BYTES], mallory_key[PL_PUBKEY_BYTES];
    uint8_t alice_sk[crypto_sign_SECRETKEYBYTES], mallory_sk[crypto_sign_SECRETKEYBYTES];
    uint8_t records[N_DEV][PL_DEVICE_RECORD_BYTES]; /* by alice, ids dev_id(i) */
    uint8_t ghost[PL_DEVICE_RECORD_BYTES];          /* by mallory, id dev_id(1) */
} world;

static world w;

/* The Ed25519 secret key behind an account, from its saved form (seed after the header). */
static void account_sk(const pl_account *a, uint8_t sk[crypto_sign_SECRETKEYBYTES])
{
    uint8_t saved[PL_ACCOUNT_SAVED_BYTES], pk[crypto_sign_PUBLICKEYBYTES];

    pl_account_save(a, saved);
    assert_int_equal(crypto_sign_seed_keypair(pk, sk, saved + PL__BLOB_HEADER_BYTES), 0);
}

static int setup(void **state)
{
    pl_device *d = NULL;
    uint8_t ik[PL_PUBKEY_BYTES];

    (void)state;
    if (pl_init() != PL_OK)
        return -1;
    w.rng = tu_rng(&w.rng_state, 0x51);
    if (pl_account_generate(&w.alice, &w.rng) != PL_OK ||
        pl_account_generate(&w.mallory, &w.rng) != PL_OK)
        return -1;
    pl_account_public_key(w.alice, w.alice_key);
    pl_account_public_key(w.mallory, w.mallory_key);
    account_sk(w.alice, w.alice_sk);
    account_sk(w.mallory, w.mallory_sk);
    for (size_t i = 0; i < N_DEV; i++) {
        if (pl_device_generate(&d, &w.rng, dev_id(i)) != PL_OK)
            return -1;
        pl_device_identity_key(d, ik);
        pl_device_free(d);
        if (pl_account_sign_device(w.alice, dev_id(i), ik, FX_CREATED_AT + i, w.records[i]) !=
            PL_OK)
            return -1;
        if (i == 1 &&
            pl_account_sign_device(w.mallory, dev_id(i), ik, FX_CREATED_AT, w.ghost) != PL_OK)
            return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    pl_account_free(w.alice);
    pl_account_free(w.mallory);
    sodium_memzero(&w, sizeof w);
    return 0;
}

/* ---- An independent encoder, from PROTOCOL.md §19 ---------------------------------------- */

typedef struct fields {
    uint8_t version, suite;
    const uint8_t *key;
    uint32_t seq;
    uint8_t prev[32];
    uint64_t created_at_ms;
    uint32_t publisher;
    uint8_t n_field;
    const uint8_t *records[N_DEV + 2];
    size_t n_records;
} fields;

static fields alice_fields(size_t n)
{
    fields f;

    memset(&f, 0, sizeof f);
    f.version = 1;
    f.suite = 1;
    f.key = w.alice_key;
    f.created_at_ms = T_CREATED_MS;
    f.publisher = dev_id(0);
    f.n_field = (uint8_t)n;
    for (size_t i = 0; i < n; i++)
        f.records[i] = w.records[i];
    f.n_records = n;
    return f;
}

static void put_be(uint8_t *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* Encodes f and signs it with sk over LABEL || body. Returns the length. */
static size_t craft(const fields *f, const uint8_t *sk, uint8_t *out)
{
    uint8_t msg[sizeof LABEL - 1 + PL_ACCOUNT_STATE_BYTES(N_DEV + 2)];
    size_t n = 0;

    out[n++] = f->version;
    out[n++] = f->suite;
    memcpy(out + n, f->key, 33);
    n += 33;
    put_be(out + n, f->seq, 4);
    n += 4;
    memcpy(out + n, f->prev, 32);
    n += 32;
    put_be(out + n, f->created_at_ms, 8);
    n += 8;
    put_be(out + n, f->publisher, 4);
    n += 4;
    out[n++] = f->n_field;
    for (size_t i = 0; i < f->n_records; i++) {
        memcpy(out + n, f->records[i], 143);
        n += 143;
    }
    memcpy(msg, LABEL, sizeof LABEL - 1);
    memcpy(msg + sizeof LABEL - 1, out, n);
    crypto_sign_detached(out + n, NULL, msg, sizeof LABEL - 1 + n, sk);
    return n + 64;
}

/* A buffer big enough for any crafted state. */
typedef struct sbuf {
    uint8_t b[PL_ACCOUNT_STATE_BYTES(N_DEV + 2)];
    size_t len;
} sbuf;

static void sign_n(size_t n, uint32_t seq, const uint8_t *prev, sbuf *s)
{
    FX_RC(pl_account_state_sign(w.alice, seq, prev, T_CREATED_MS, dev_id(0),
                                (const uint8_t(*)[PL_DEVICE_RECORD_BYTES])w.records, n, s->b,
                                sizeof s->b, &s->len),
          PL_OK);
}

/* Verifies in[0..len) expecting `want`; on failure the output must be zeroed. */
static void expect_verify(const uint8_t *in, size_t len, int want)
{
    pl_account_state st;

    memset(&st, 0xA5, sizeof st);
    FX_RC(pl_account_state_verify(in, len, &st), want);
    if (want != PL_OK)
        FX_ZEROED(&st, sizeof st);
}

/* ---- Round trips -------------------------------------------------------------------------- */

static void test_account_state_sign_matches_independent_encoding_1_to_16_devices(void **state)
{
    (void)state;
    for (size_t n = 1; n <= N_DEV; n++) {
        fields f = alice_fields(n);
        sbuf lib, ref;

        sign_n(n, 0, NULL, &lib);
        ref.len = craft(&f, w.alice_sk, ref.b);
        assert_int_equal(lib.len, PL_ACCOUNT_STATE_BYTES(n));
        assert_int_equal(lib.len, ref.len);
        assert_memory_equal(lib.b, ref.b, lib.len);
    }
}

static void test_account_state_round_trip_1_to_16_devices(void **state)
{
    uint8_t prev[32];

    (void)state;
    memset(prev, 0x77, sizeof prev);
    for (size_t n = 1; n <= N_DEV; n++) {
        pl_account_state st;
        sbuf s;

        sign_n(n, (uint32_t)n, prev, &s);
        FX_RC(pl_account_state_verify(s.b, s.len, &st), PL_OK);
        assert_memory_equal(st.account_key, w.alice_key, PL_PUBKEY_BYTES);
        assert_int_equal(st.seq, n);
        assert_memory_equal(st.prev_state_hash, prev, 32);
        assert_true(st.created_at_ms == T_CREATED_MS);
        assert_int_equal(st.publisher_device_id, dev_id(0));
        assert_int_equal(st.n_devices, n);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(st.devices[i].device_id, dev_id(i));
            assert_memory_equal(st.devices[i].account_key, w.alice_key, PL_PUBKEY_BYTES);
            assert_true(st.devices[i].created_at == FX_CREATED_AT + i);
            assert_memory_equal(st.device_records[i], w.records[i], PL_DEVICE_RECORD_BYTES);
        }
    }
}

static void test_account_state_max_size_is_2436_bytes(void **state)
{
    (void)state;
    assert_int_equal(PL_ACCOUNT_STATE_HEADER_BYTES, 84);
    assert_int_equal(PL_ACCOUNT_STATE_BYTES(3), 84 + 3 * 143 + 64);
    assert_int_equal(PL_ACCOUNT_STATE_MAX_BYTES, 2436);
}

/* ---- Signing refuses what it would not verify ---------------------------------------------- */

static void test_account_state_sign_refuses_bad_arguments(void **state)
{
    uint8_t recs[3][PL_DEVICE_RECORD_BYTES], prev[32] = {0}, out[PL_ACCOUNT_STATE_MAX_BYTES];
    size_t len = 99;

    (void)state;
#define SIGN(seq, prv, r, n, cap)                                                                  \
    pl_account_state_sign(w.alice, (seq), (prv), T_CREATED_MS, 0,                                  \
                          (const uint8_t(*)[PL_DEVICE_RECORD_BYTES])(r), (n), out, (cap), &len)
    /* Counts: 0 and 17. */
    FX_RC(SIGN(0, NULL, w.records, 0, sizeof out), PL_E_INVALID_ARG);
    FX_RC(SIGN(0, NULL, w.records, N_DEV + 1, sizeof out), PL_E_INVALID_ARG);
    /* Unsorted, duplicate. */
    memcpy(recs[0], w.records[1], sizeof recs[0]);
    memcpy(recs[1], w.records[0], sizeof recs[0]);
    FX_RC(SIGN(0, NULL, recs, 2, sizeof out), PL_E_INVALID_ARG);
    memcpy(recs[1], w.records[1], sizeof recs[0]);
    FX_RC(SIGN(0, NULL, recs, 2, sizeof out), PL_E_INVALID_ARG);
    /* A ghost device: another account's record. */
    memcpy(recs[0], w.records[0], sizeof recs[0]);
    memcpy(recs[1], w.ghost, sizeof recs[0]);
    FX_RC(SIGN(0, NULL, recs, 2, sizeof out), PL_E_IDENTITY_MISMATCH);
    /* A record with a broken signature. */
    memcpy(recs[1], w.records[1], sizeof recs[0]);
    recs[1][PL_DEVICE_RECORD_BYTES - 1] ^= 1;
    FX_RC(SIGN(0, NULL, recs, 2, sizeof out), PL_E_BAD_SIGNATURE);
    /* The chain rule: zeros exactly at seq 0. */
    prev[5] = 1;
    FX_RC(SIGN(0, prev, w.records, 1, sizeof out), PL_E_INVALID_ARG);
    FX_RC(SIGN(1, NULL, w.records, 1, sizeof out), PL_E_INVALID_ARG);
    prev[5] = 0;
    FX_RC(SIGN(1, prev, w.records, 1, sizeof out), PL_E_INVALID_ARG);
    FX_RC(SIGN(0, prev, w.records, 1, sizeof out), PL_OK); /* explicit zeros are fine */
    /* Capacity: one byte short, then exact. */
    FX_RC(SIGN(0, NULL, w.records, 2, PL_ACCOUNT_STATE_BYTES(2) - 1), PL_E_BUFFER_TOO_SMALL);
    assert_int_equal(len, 0);
    FX_ZEROED(out, PL_ACCOUNT_STATE_BYTES(2) - 1);
    FX_RC(SIGN(0, NULL, w.records, 2, PL_ACCOUNT_STATE_BYTES(2)), PL_OK);
    assert_int_equal(len, PL_ACCOUNT_STATE_BYTES(2));
#undef SIGN
}

/* ---- Verification refuses hostile states --------------------------------------------------- */

static void test_account_state_verify_refuses_ghost_device(void **state)
{
    fields f = alice_fields(3);
    sbuf s;

    (void)state;
    f.records[1] = w.ghost; /* same id as alice's device 1, signed by mallory */
    s.len = craft(&f, w.alice_sk, s.b);
    expect_verify(s.b, s.len, PL_E_IDENTITY_MISMATCH);
}

static void test_account_state_verify_refuses_unsorted_and_duplicate_ids(void **state)
{
    fields f = alice_fields(3);
    sbuf s;

    (void)state;
    f.records[1] = w.records[2];
    f.records[2] = w.records[1];
    s.len = craft(&f, w.alice_sk, s.b);
    expect_verify(s.b, s.len, PL_E_MALFORMED);
    f.records[2] = w.records[2];
    s.len = craft(&f, w.alice_sk, s.b);
    expect_verify(s.b, s.len, PL_E_MALFORMED);
    f.records[0] = w.records[0];
    f.records[1] = w.records[0];
    f.records[2] = w.records[1];
    s.len = craft(&f, w.alice_sk, s.b);
    expect_verify(s.b, s.len, PL_E_MALFORMED);
}

/* Numbered table: the count field against the records present. */
static void test_account_state_verify_refuses_wrong_counts(void **state)
{
    static const struct {
        uint8_t n_field;
        size_t n_records;
        int want;
    } cases[] = {
        /* 0 */ {0, 0, PL_E_MALFORMED},
        /* 1 */ {0, 1, PL_E_MALFORMED},
        /* 2 */ {17, 17, PL_E_MALFORMED},
        /* 3 */ {255, 2, PL_E_MALFORMED},
        /* 4 */ {3, 2, PL_E_TRUNCATED},
        /* 5 */ {2, 3, PL_E_MALFORMED},
        /* 6 */ {16, 16, PL_OK},
        /* 7 */ {1, 1, PL_OK},
    };

    (void)state;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        fields f = alice_fields(0);
        sbuf s;

        f.n_field = cases[c].n_field;
        for (size_t i = 0; i < cases[c].n_records; i++)
            f.records[i] = i < N_DEV ? w.records[i] : w.records[N_DEV - 1];
        f.n_records = cases[c].n_records;
        s.len = craft(&f, w.alice_sk, s.b);
        print_message("case %zu\n", c);
        expect_verify(s.b, s.len, cases[c].want);
    }
}

static void test_account_state_verify_refuses_header_fields(void **state)
{
    fields f;
    sbuf s;

    (void)state;
    f = alice_fields(2);
    f.version = 2;
    s.len = craft(&f, w.alice_sk, s.b);
    expect_verify(s.b, s.len, PL_E_VERSION);
    f = alice_fields(2);
    f.suite = 2;
    s.len = craft(&f, w.alice_sk, s.b);
    expect_verify(s.b, s.len, PL_E_UNSUPPORTED);
    {
        uint8_t x_key[PL_PUBKEY_BYTES];

        memcpy(x_key, w.alice_key, sizeof x_key);
        x_key[0] = PL_KEY_TYPE_X25519;
        f = alice_fields(2);
        f.key = x_key;
        s.len = craft(&f, w.alice_sk, s.b);
        expect_verify(s.b, s.len, PL_E_KEY_TYPE);
    }
    /* seq 0 with a previous hash; seq 1 without one. */
    f = alice_fields(2);
    f.prev[31] = 1;
    s.len = craft(&f, w.alice_sk, s.b);
    expect_verify(s.b, s.len, PL_E_MALFORMED);
    f = alice_fields(2);
    f.seq = 1;
    s.len = craft(&f, w.alice_sk, s.b);
    expect_verify(s.b, s.len, PL_E_MALFORMED);
    f.prev[0] = 9;
    s.len = craft(&f, w.alice_sk, s.b);
    expect_verify(s.b, s.len, PL_OK);
}

static void test_account_state_verify_refuses_state_signed_by_another_key(void **state)
{
    fields f = alice_fields(2);
    sbuf s;

    (void)state;
    s.len = craft(&f, w.mallory_sk, s.b);
    expect_verify(s.b, s.len, PL_E_BAD_SIGNATURE);
}

static void test_account_state_verify_refuses_bad_record_under_good_state_signature(void **state)
{
    uint8_t bad[PL_DEVICE_RECORD_BYTES];
    fields f = alice_fields(3);
    sbuf s;

    (void)state;
    memcpy(bad, w.records[2], sizeof bad);
    bad[PL_DEVICE_RECORD_BYTES - 10] ^= 0x40; /* the record's own signature */
    f.records[2] = bad;
    s.len = craft(&f, w.alice_sk, s.b);
    expect_verify(s.b, s.len, PL_E_BAD_SIGNATURE);
    memcpy(bad, w.records[2], sizeof bad);
    bad[0] = 2; /* the record's version */
    s.len = craft(&f, w.alice_sk, s.b);
    expect_verify(s.b, s.len, PL_E_VERSION);
}

static void test_account_state_verify_refuses_every_truncation_and_extension(void **state)
{
    sbuf s;

    (void)state;
    sign_n(3, 0, NULL, &s);
    for (size_t len = 0; len < s.len; len++)
        expect_verify(s.b, len, PL_E_TRUNCATED);
    s.b[s.len] = 0;
    expect_verify(s.b, s.len + 1, PL_E_MALFORMED);
    /* A whole extra record after the signature is trailing bytes too. */
    memcpy(s.b + s.len, w.records[5], PL_DEVICE_RECORD_BYTES);
    expect_verify(s.b, s.len + PL_DEVICE_RECORD_BYTES, PL_E_MALFORMED);
    expect_verify(s.b, s.len, PL_OK);
}

static void test_account_state_verify_refuses_every_flipped_bit(void **state)
{
    sbuf s;

    (void)state;
    sign_n(2, 4, (const uint8_t *)"0123456789abcdef0123456789abcdef", &s);
    for (size_t bit = 0; bit < 8 * s.len; bit++) {
        pl_account_state st;
        int rc;

        s.b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        memset(&st, 0xA5, sizeof st);
        rc = pl_account_state_verify(s.b, s.len, &st);
        if (rc == PL_OK)
            print_error("bit %zu flipped and still verifies\n", bit);
        FX_RC_IN(rc, PL_E_TRUNCATED, PL_E_MALFORMED, PL_E_VERSION, PL_E_UNSUPPORTED, PL_E_KEY_TYPE,
                 PL_E_BAD_KEY, PL_E_IDENTITY_MISMATCH, PL_E_BAD_SIGNATURE);
        FX_ZEROED(&st, sizeof st);
        s.b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    expect_verify(s.b, s.len, PL_OK);
}

/* ---- Hash and the chain rule ---------------------------------------------------------------- */

static void test_account_state_hash_is_sha256_of_the_encoding(void **state)
{
    uint8_t got[32], want[32];
    sbuf s;

    (void)state;
    sign_n(2, 0, NULL, &s);
    pl_account_state_hash(s.b, s.len, got);
    crypto_hash_sha256(want, s.b, s.len);
    assert_memory_equal(got, want, 32);
}

/* Signs seq with prev and verifies it into st; h gets its hash. */
static void chain_state(pl_account *a, size_t n, uint32_t seq, const uint8_t *prev,
                        pl_account_state *st, uint8_t h[32])
{
    sbuf s;

    FX_RC(pl_account_state_sign(a, seq, prev, T_CREATED_MS + seq, 0,
                                (const uint8_t(*)[PL_DEVICE_RECORD_BYTES])w.records, n, s.b,
                                sizeof s.b, &s.len),
          PL_OK);
    FX_RC(pl_account_state_verify(s.b, s.len, st), PL_OK);
    pl_account_state_hash(s.b, s.len, h);
}

static void test_account_state_extends_chain_rules(void **state)
{
    pl_account_state s0, s1, s2, s1b, skip, m1;
    uint8_t h0[32], h1[32], h2[32], h1b[32], hs[32], hm[32], wrong[32];

    (void)state;
    chain_state(w.alice, 1, 0, NULL, &s0, h0);
    chain_state(w.alice, 2, 1, h0, &s1, h1);
    chain_state(w.alice, 3, 2, h1, &s2, h2);
    FX_RC(pl_account_state_extends(&s0, h0, &s1), PL_OK);
    FX_RC(pl_account_state_extends(&s1, h1, &s2), PL_OK);
    /* A gap, a replay, a rollback. */
    FX_RC(pl_account_state_extends(&s0, h0, &s2), PL_E_STATE_CHAIN);
    FX_RC(pl_account_state_extends(&s1, h1, &s1), PL_E_STATE_CHAIN);
    FX_RC(pl_account_state_extends(&s2, h2, &s1), PL_E_STATE_CHAIN);
    /* Right seq, wrong previous hash: a fork of seq 1 does not precede s2. */
    memset(wrong, 0x11, sizeof wrong);
    chain_state(w.alice, 3, 1, wrong, &s1b, h1b);
    FX_RC(pl_account_state_extends(&s0, h0, &s1b), PL_E_STATE_CHAIN);
    FX_RC(pl_account_state_extends(&s1b, h1b, &s2), PL_E_STATE_CHAIN);
    /* The caller's hash of prev must be the one next names. */
    FX_RC(pl_account_state_extends(&s0, h1, &s1), PL_E_STATE_CHAIN);
    /* A seq skip with a correct hash is still a gap. */
    chain_state(w.alice, 1, 3, h1, &skip, hs);
    FX_RC(pl_account_state_extends(&s1, h1, &skip), PL_E_STATE_CHAIN);
    /* A key change is never an extension, even with seq and hash right. Mallory signs a
     * state over her own (ghost) record. */
    {
        sbuf s;

        FX_RC(pl_account_state_sign(w.mallory, 1, h0, T_CREATED_MS, 0,
                                    (const uint8_t(*)[PL_DEVICE_RECORD_BYTES])w.ghost, 1, s.b,
                                    sizeof s.b, &s.len),
              PL_OK);
        FX_RC(pl_account_state_verify(s.b, s.len, &m1), PL_OK);
        pl_account_state_hash(s.b, s.len, hm);
        FX_RC(pl_account_state_extends(&s0, h0, &m1), PL_E_IDENTITY_MISMATCH);
    }
}

static void test_account_state_extends_refuses_seq_wrap(void **state)
{
    pl_account_state prev, next;
    uint8_t h[32];

    (void)state;
    memset(h, 0x22, sizeof h);
    chain_state(w.alice, 1, UINT32_MAX, h, &prev, h);
    next = prev;
    next.seq = 0;
    memcpy(next.prev_state_hash, h, sizeof h);
    FX_RC(pl_account_state_extends(&prev, h, &next), PL_E_STATE_CHAIN);
    next.seq = UINT32_MAX;
    FX_RC(pl_account_state_extends(&prev, h, &next), PL_E_STATE_CHAIN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_account_state_sign_matches_independent_encoding_1_to_16_devices),
        cmocka_unit_test(test_account_state_round_trip_1_to_16_devices),
        cmocka_unit_test(test_account_state_max_size_is_2436_bytes),
        cmocka_unit_test(test_account_state_sign_refuses_bad_arguments),
        cmocka_unit_test(test_account_state_verify_refuses_ghost_device),
        cmocka_unit_test(test_account_state_verify_refuses_unsorted_and_duplicate_ids),
        cmocka_unit_test(test_account_state_verify_refuses_wrong_counts),
        cmocka_unit_test(test_account_state_verify_refuses_header_fields),
        cmocka_unit_test(test_account_state_verify_refuses_state_signed_by_another_key),
        cmocka_unit_test(test_account_state_verify_refuses_bad_record_under_good_state_signature),
        cmocka_unit_test(test_account_state_verify_refuses_every_truncation_and_extension),
        cmocka_unit_test(test_account_state_verify_refuses_every_flipped_bit),
        cmocka_unit_test(test_account_state_hash_is_sha256_of_the_encoding),
        cmocka_unit_test(test_account_state_extends_chain_rules),
        cmocka_unit_test(test_account_state_extends_refuses_seq_wrap),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
