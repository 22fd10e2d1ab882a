/*
 * test_state.c: black-box tests of saved state (parley/keys.h "Saving and loading" and
 * pl_session_save/load): round trips, truncation, bit flips, foreign kinds and versions.
 *
 * Blob layout (PROTOCOL.md §9): 'P' 'L', kind byte, version byte, 4-byte big-endian body
 * length, body, 16-byte checksum = BLAKE2b-128 (crypto_generichash, no key) of every byte
 * before it. Tests that change a header byte recompute the checksum so that the check they
 * aim at is the one reached. The loader checks, in order: header present (TRUNCATED), magic
 * (CORRUPT), total length against the body length (TRUNCATED if shorter, MALFORMED if longer),
 * checksum (CORRUPT), kind (WRONG_KIND), version (VERSION), body.
 */
#include <sodium.h>

#include "fixture.h"

#define CHECKSUM_BYTES 16u
#define HEADER_BYTES 8u

enum { K_ACCOUNT, K_DEVICE, K_SIGNED_PREKEY, K_ONETIME_PREKEY, K_SESSION, K_COUNT };

typedef struct kind {
    const char *name;
    int (*load)(void **out, const uint8_t *in, size_t len);
    /* Saves the loaded object again; returns a malloc'd blob and its length. */
    uint8_t *(*save)(const void *obj, size_t *len);
    void (*release)(void *obj);
} kind;

static int load_account(void **out, const uint8_t *in, size_t len)
{
    pl_account *o = NULL;
    int r = pl_account_load(&o, in, len);

    *out = o;
    return r;
}

static uint8_t *save_account(const void *obj, size_t *len)
{
    uint8_t *b = fx_malloc(PL_ACCOUNT_SAVED_BYTES);

    pl_account_save(obj, b);
    *len = PL_ACCOUNT_SAVED_BYTES;
    return b;
}

static void release_account(void *obj)
{
    pl_account_free(obj);
}

static int load_device(void **out, const uint8_t *in, size_t len)
{
    pl_device *o = NULL;
    int r = pl_device_load(&o, in, len);

    *out = o;
    return r;
}

static uint8_t *save_device(const void *obj, size_t *len)
{
    uint8_t *b = fx_malloc(PL_DEVICE_SAVED_BYTES);

    pl_device_save(obj, b);
    *len = PL_DEVICE_SAVED_BYTES;
    return b;
}

static void release_device(void *obj)
{
    pl_device_free(obj);
}

static int load_spk(void **out, const uint8_t *in, size_t len)
{
    pl_signed_prekey *o = NULL;
    int r = pl_signed_prekey_load(&o, in, len);

    *out = o;
    return r;
}

static uint8_t *save_spk(const void *obj, size_t *len)
{
    uint8_t *b = fx_malloc(PL_SIGNED_PREKEY_SAVED_BYTES);

    pl_signed_prekey_save(obj, b);
    *len = PL_SIGNED_PREKEY_SAVED_BYTES;
    return b;
}

static void release_spk(void *obj)
{
    pl_signed_prekey_free(obj);
}

static int load_opk(void **out, const uint8_t *in, size_t len)
{
    pl_onetime_prekey *o = NULL;
    int r = pl_onetime_prekey_load(&o, in, len);

    *out = o;
    return r;
}

static uint8_t *save_opk(const void *obj, size_t *len)
{
    uint8_t *b = fx_malloc(PL_ONETIME_PREKEY_SAVED_BYTES);

    pl_onetime_prekey_save(obj, b);
    *len = PL_ONETIME_PREKEY_SAVED_BYTES;
    return b;
}

static void release_opk(void *obj)
{
    pl_onetime_prekey_free(obj);
}

static int load_session(void **out, const uint8_t *in, size_t len)
{
    pl_session *o = NULL;
    int r = pl_session_load(&o, in, len);

    *out = o;
    return r;
}

static uint8_t *save_session(const void *obj, size_t *len)
{
    fx_snapshot s = fx_snap(obj);

    *len = s.len;
    return s.bytes;
}

static void release_session(void *obj)
{
    pl_session_free(obj);
}

static const kind kinds[K_COUNT] = {
    {"account", load_account, save_account, release_account},
    {"device", load_device, save_device, release_device},
    {"signed prekey", load_spk, save_spk, release_spk},
    {"one-time prekey", load_opk, save_opk, release_opk},
    {"session", load_session, save_session, release_session},
};

/* One saved blob of every kind; the session one holds skipped keys. */
typedef struct blobs {
    uint8_t *bytes[K_COUNT];
    size_t len[K_COUNT];
} blobs;

static void make_blobs(blobs *b)
{
    fx_pair x;
    fx_msg m[4];

    fx_pair_establish(&x, 1);
    /* Leave two skipped keys pending in Bob's session. */
    for (unsigned i = 0; i < 4; i++)
        fx_msg_make(&m[i], x.a, "pending", i);
    fx_decrypt_expect(x.b, &x.bob.rng, m[3].bytes, m[3].len, m[3].text, m[3].text_len);
    fx_decrypt_expect(x.b, &x.bob.rng, m[1].bytes, m[1].len, m[1].text, m[1].text_len);
    assert_int_equal(pl_session_skipped_keys(x.b), 2);

    b->bytes[K_ACCOUNT] = save_account(x.bob.account, &b->len[K_ACCOUNT]);
    b->bytes[K_DEVICE] = save_device(x.bob.device, &b->len[K_DEVICE]);
    b->bytes[K_SIGNED_PREKEY] = save_spk(x.bob.spk, &b->len[K_SIGNED_PREKEY]);
    b->bytes[K_ONETIME_PREKEY] = save_opk(x.bob.opk, &b->len[K_ONETIME_PREKEY]);
    b->bytes[K_SESSION] = save_session(x.b, &b->len[K_SESSION]);
    for (unsigned i = 0; i < 4; i++)
        fx_msg_free(&m[i]);
    fx_pair_free(&x);
}

static void free_blobs(blobs *b)
{
    for (int k = 0; k < K_COUNT; k++)
        free(b->bytes[k]);
}

static void set_checksum(uint8_t *blob, size_t len)
{
    assert_true(len >= HEADER_BYTES + CHECKSUM_BYTES);
    assert_int_equal(crypto_generichash(blob + len - CHECKSUM_BYTES, CHECKSUM_BYTES, blob,
                                        len - CHECKSUM_BYTES, NULL, 0),
                     0);
}

/* Loads in as kind k, which must fail with one of `set`, allocating nothing. */
static int load_fails(int k, const uint8_t *in, size_t len)
{
    void *obj = NULL;
    int r = kinds[k].load(&obj, in, len);

    if (r == PL_OK) {
        kinds[k].release(obj);
        fail_msg("%s: a damaged blob of %zu bytes loaded", kinds[k].name, len);
    }
    assert_null(obj);
    return r;
}

/* ---- Round trips ------------------------------------------------------------------------------
 */

static void every_kind_round_trips_to_identical_bytes(void **state)
{
    blobs b;

    (void)state;
    make_blobs(&b);
    for (int k = 0; k < K_COUNT; k++) {
        void *obj = NULL;
        uint8_t *again;
        size_t len = 0;

        FX_RC(kinds[k].load(&obj, b.bytes[k], b.len[k]), PL_OK);
        assert_non_null(obj);
        again = kinds[k].save(obj, &len);
        assert_int_equal(len, b.len[k]);
        assert_memory_equal(again, b.bytes[k], len);
        free(again);
        kinds[k].release(obj);
    }
    free_blobs(&b);
}

static void saved_blobs_have_the_documented_header(void **state)
{
    blobs b;

    (void)state;
    make_blobs(&b);
    assert_int_equal(b.len[K_ACCOUNT], PL_ACCOUNT_SAVED_BYTES);
    assert_int_equal(b.len[K_DEVICE], PL_DEVICE_SAVED_BYTES);
    assert_int_equal(b.len[K_SIGNED_PREKEY], PL_SIGNED_PREKEY_SAVED_BYTES);
    assert_int_equal(b.len[K_ONETIME_PREKEY], PL_ONETIME_PREKEY_SAVED_BYTES);
    for (int k = 0; k < K_COUNT; k++) {
        const uint8_t *p = b.bytes[k];
        uint8_t sum[CHECKSUM_BYTES];
        size_t body = ((size_t)p[4] << 24) | ((size_t)p[5] << 16) | ((size_t)p[6] << 8) | p[7];

        assert_int_equal(p[0], 'P');
        assert_int_equal(p[1], 'L');
        assert_int_equal(body, b.len[k] - HEADER_BYTES - CHECKSUM_BYTES);
        assert_int_equal(crypto_generichash(sum, sizeof sum, p, b.len[k] - CHECKSUM_BYTES, NULL, 0),
                         0);
        assert_memory_equal(sum, p + b.len[k] - CHECKSUM_BYTES, CHECKSUM_BYTES);
        for (int j = 0; j < k; j++)
            if (b.bytes[j][2] == p[2])
                fail_msg("%s and %s share kind byte 0x%02x", kinds[j].name, kinds[k].name, p[2]);
    }
    free_blobs(&b);
}

/* Loaded keys behave as the originals: a session set up from loaded prekeys and device works,
 * and a loaded account signs records its original public key verifies. */
static void loaded_keys_still_work(void **state)
{
    fx_pair x;
    uint8_t acc_blob[PL_ACCOUNT_SAVED_BYTES], dev_blob[PL_DEVICE_SAVED_BYTES];
    uint8_t spk_blob[PL_SIGNED_PREKEY_SAVED_BYTES], opk_blob[PL_ONETIME_PREKEY_SAVED_BYTES];
    uint8_t key[PL_PUBKEY_BYTES], rec[PL_DEVICE_RECORD_BYTES];
    uint8_t spk_pub[PL_SIGNED_PREKEY_PUBLIC_BYTES], opk_pub[PL_ONETIME_PREKEY_PUBLIC_BYTES];
    pl_device_record dr;
    uint8_t *m;
    size_t len;

    (void)state;
    fx_pair_initiate(&x, 1);
    pl_account_save(x.bob.account, acc_blob);
    pl_device_save(x.bob.device, dev_blob);
    pl_signed_prekey_save(x.bob.spk, spk_blob);
    pl_onetime_prekey_save(x.bob.opk, opk_blob);
    pl_account_free(x.bob.account);
    pl_device_free(x.bob.device);
    pl_signed_prekey_free(x.bob.spk);
    pl_onetime_prekey_free(x.bob.opk);
    x.bob.account = NULL;
    x.bob.device = NULL;
    x.bob.spk = NULL;
    x.bob.opk = NULL;
    FX_RC(pl_account_load(&x.bob.account, acc_blob, sizeof acc_blob), PL_OK);
    FX_RC(pl_device_load(&x.bob.device, dev_blob, sizeof dev_blob), PL_OK);
    FX_RC(pl_signed_prekey_load(&x.bob.spk, spk_blob, sizeof spk_blob), PL_OK);
    FX_RC(pl_onetime_prekey_load(&x.bob.opk, opk_blob, sizeof opk_blob), PL_OK);

    pl_account_public_key(x.bob.account, key);
    assert_memory_equal(key, x.bob.account_key, PL_PUBKEY_BYTES);
    pl_device_identity_key(x.bob.device, key);
    assert_memory_equal(key, x.bob.identity_key, PL_PUBKEY_BYTES);
    assert_int_equal(pl_device_id(x.bob.device), 0xB0);
    pl_signed_prekey_public(x.bob.spk, spk_pub);
    assert_memory_equal(spk_pub, x.bob.spk_public, sizeof spk_pub);
    pl_onetime_prekey_public(x.bob.opk, opk_pub);
    assert_memory_equal(opk_pub, x.bob.opk_public, sizeof opk_pub);

    FX_RC(pl_account_sign_device(x.bob.account, 2, x.alice.identity_key, FX_CREATED_AT, rec),
          PL_OK);
    FX_RC(pl_device_record_verify(rec, sizeof rec, x.bob.account_key, &dr), PL_OK);

    m = fx_encrypt_str(x.a, "to loaded keys", &len);
    x.b = fx_accept(&x.bob, m, len, "to loaded keys", 14);
    free(m);
    m = fx_encrypt_str(x.b, "from loaded keys", &len);
    fx_decrypt_str(x.a, &x.alice.rng, m, len, "from loaded keys");
    free(m);
    fx_pair_free(&x);
}

/* A loaded session encrypts exactly what the original would have (encryption draws no
 * randomness), for both the initiator before any reply and an established session. */
static void loaded_session_encrypts_identically(void **state)
{
    fx_pair x;
    pl_session *copy = NULL;
    fx_snapshot snap;
    uint8_t *m1, *m2;
    size_t l1, l2;

    (void)state;
    fx_pair_initiate(&x, 1);
    for (int phase = 0; phase < 2; phase++) {
        if (phase == 1) {
            uint8_t *hello = fx_encrypt_str(x.a, "hi", &l1);

            x.b = fx_accept(&x.bob, hello, l1, "hi", 2);
            free(hello);
            hello = fx_encrypt_str(x.b, "yo", &l1);
            fx_decrypt_str(x.a, &x.alice.rng, hello, l1, "yo");
            free(hello);
        }
        snap = fx_snap(x.a);
        FX_RC(pl_session_load(&copy, snap.bytes, snap.len), PL_OK);
        m1 = fx_encrypt_str(x.a, "same bytes", &l1);
        m2 = fx_encrypt_str(copy, "same bytes", &l2);
        assert_int_equal(l1, l2);
        assert_memory_equal(m1, m2, l1);
        assert_int_equal(pl_message_kind(m1, l1), phase == 0 ? PL_MSG_PREKEY : PL_MSG_RATCHET);
        free(m1);
        free(m2);
        pl_session_free(copy);
        copy = NULL;
        fx_snap_free(&snap);
    }
    fx_pair_free(&x);
}

static void session_save_into_a_small_buffer_is_buffer_too_small(void **state)
{
    fx_pair x;
    size_t need, len = 0;
    uint8_t *buf;

    (void)state;
    fx_pair_establish(&x, 0);
    need = pl_session_saved_size(x.a);
    buf = fx_malloc(need);
    FX_RC(pl_session_save(x.a, buf, need - 1, &len), PL_E_BUFFER_TOO_SMALL);
    FX_RC(pl_session_save(x.a, buf, 0, &len), PL_E_BUFFER_TOO_SMALL);
    FX_RC(pl_session_save(x.a, buf, need, &len), PL_OK);
    assert_int_equal(len, need);
    free(buf);
    fx_pair_free(&x);
}

/* ---- Damaged and foreign blobs ------------------------------------------------------------ */

static void every_truncation_is_rejected(void **state)
{
    blobs b;

    (void)state;
    make_blobs(&b);
    for (int k = 0; k < K_COUNT; k++) {
        for (size_t len = 0; len < b.len[k]; len++) {
            /* A copy of exactly len bytes, so ASan catches a read past the end. */
            uint8_t *cut = fx_malloc(len);

            memcpy(cut, b.bytes[k], len);
            FX_RC(load_fails(k, cut, len), PL_E_TRUNCATED);
            free(cut);
        }
    }
    free_blobs(&b);
}

static void trailing_bytes_are_rejected(void **state)
{
    blobs b;

    (void)state;
    make_blobs(&b);
    for (int k = 0; k < K_COUNT; k++) {
        uint8_t *longer = fx_malloc(b.len[k] + 1);

        memcpy(longer, b.bytes[k], b.len[k]);
        longer[b.len[k]] = 0;
        FX_RC(load_fails(k, longer, b.len[k] + 1), PL_E_MALFORMED);
        free(longer);
    }
    free_blobs(&b);
}

static void every_single_bit_flip_is_rejected(void **state)
{
    blobs b;

    (void)state;
    make_blobs(&b);
    for (int k = 0; k < K_COUNT; k++) {
        uint8_t *copy = fx_malloc(b.len[k]);

        for (size_t bit = 0; bit < 8 * b.len[k]; bit++) {
            memcpy(copy, b.bytes[k], b.len[k]);
            copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            int r = load_fails(k, copy, b.len[k]);

            /* Only a changed body length is caught before the checksum. */
            if (bit / 8 >= 4 && bit / 8 < HEADER_BYTES)
                FX_RC_IN(r, PL_E_TRUNCATED, PL_E_MALFORMED);
            else
                FX_RC(r, PL_E_CORRUPT);
        }
        free(copy);
    }
    free_blobs(&b);
}

static void loading_one_kind_as_another_is_wrong_kind(void **state)
{
    blobs b;

    (void)state;
    make_blobs(&b);
    for (int blob = 0; blob < K_COUNT; blob++) {
        for (int as = 0; as < K_COUNT; as++) {
            int r;

            if (as == blob)
                continue;
            r = load_fails(as, b.bytes[blob], b.len[blob]);
            if (r != PL_E_WRONG_KIND)
                fail_msg("loading a %s blob as a %s: got %s, want PL_E_WRONG_KIND",
                         kinds[blob].name, kinds[as].name, pl_errname(r));
        }
    }
    free_blobs(&b);
}

static void future_or_zero_version_is_version_error(void **state)
{
    static const uint8_t bumps[] = {1, 2, 0x80};
    blobs b;

    (void)state;
    make_blobs(&b);
    for (int k = 0; k < K_COUNT; k++) {
        uint8_t *copy = fx_malloc(b.len[k]);
        void *obj = NULL;

        /* Control: recomputing the checksum of an unchanged blob gives the same bytes, and a
         * blob re-checksummed this way loads. */
        memcpy(copy, b.bytes[k], b.len[k]);
        set_checksum(copy, b.len[k]);
        assert_memory_equal(copy, b.bytes[k], b.len[k]);
        FX_RC(kinds[k].load(&obj, copy, b.len[k]), PL_OK);
        kinds[k].release(obj);

        assert_int_equal(copy[3], 1);
        for (size_t i = 0; i < sizeof bumps; i++) {
            memcpy(copy, b.bytes[k], b.len[k]);
            copy[3] = (uint8_t)(copy[3] + bumps[i]);
            set_checksum(copy, b.len[k]);
            FX_RC(load_fails(k, copy, b.len[k]), PL_E_VERSION);
        }
        /* Version 0 never existed. */
        memcpy(copy, b.bytes[k], b.len[k]);
        copy[3] = 0;
        set_checksum(copy, b.len[k]);
        FX_RC(load_fails(k, copy, b.len[k]), PL_E_VERSION);
        /* Without the recomputed checksum, the change is plain corruption. */
        memcpy(copy, b.bytes[k], b.len[k]);
        copy[3]++;
        FX_RC(load_fails(k, copy, b.len[k]), PL_E_CORRUPT);
        free(copy);
    }
    free_blobs(&b);
}

static void bad_magic_with_valid_checksum_is_corrupt(void **state)
{
    blobs b;

    (void)state;
    make_blobs(&b);
    for (int k = 0; k < K_COUNT; k++) {
        uint8_t *copy = fx_malloc(b.len[k]);

        for (int i = 0; i < 2; i++) {
            memcpy(copy, b.bytes[k], b.len[k]);
            copy[i] ^= 0x20; /* 'p' or 'l' */
            set_checksum(copy, b.len[k]);
            FX_RC(load_fails(k, copy, b.len[k]), PL_E_CORRUPT);
        }
        free(copy);
    }
    free_blobs(&b);
}

/* A body length that disagrees with the blob's size, checksum recomputed. */
static void lying_body_length_is_rejected(void **state)
{
    static const int deltas[] = {-1, 1, 16, -16, 0x1000000};
    blobs b;

    (void)state;
    make_blobs(&b);
    for (int k = 0; k < K_COUNT; k++) {
        uint8_t *copy = fx_malloc(b.len[k]);
        uint32_t body = (uint32_t)(b.len[k] - HEADER_BYTES - CHECKSUM_BYTES);

        for (size_t i = 0; i < sizeof deltas / sizeof deltas[0]; i++) {
            uint32_t lie = body + (uint32_t)deltas[i];

            memcpy(copy, b.bytes[k], b.len[k]);
            copy[4] = (uint8_t)(lie >> 24);
            copy[5] = (uint8_t)(lie >> 16);
            copy[6] = (uint8_t)(lie >> 8);
            copy[7] = (uint8_t)lie;
            set_checksum(copy, b.len[k]);
            /* Claiming more than is there is truncation; claiming less leaves trailing bytes. */
            FX_RC(load_fails(k, copy, b.len[k]), deltas[i] > 0 ? PL_E_TRUNCATED : PL_E_MALFORMED);
        }
        free(copy);
    }
    free_blobs(&b);
}

/* PROTOCOL.md §9.2: only the canonical session body loads. Each change below keeps the frame
 * and checksum valid and breaks one rule of the body. */
static void non_canonical_session_body_is_rejected(void **state)
{
    /* Body offsets: flags 0, local identity 1, remote identity 34. */
    enum { FLAGS = HEADER_BYTES, LOCAL = HEADER_BYTES + 1, REMOTE = HEADER_BYTES + 34 };
    static const uint8_t bad_flag_bits[] = {0x40, 0x80};
    blobs b;
    uint8_t *copy;
    size_t len;

    (void)state;
    make_blobs(&b);
    len = b.len[K_SESSION];
    copy = fx_malloc(len);
    for (size_t i = 0; i < sizeof bad_flag_bits; i++) {
        memcpy(copy, b.bytes[K_SESSION], len);
        copy[FLAGS] |= bad_flag_bits[i];
        set_checksum(copy, len);
        FX_RC(load_fails(K_SESSION, copy, len), PL_E_MALFORMED);
    }
    memcpy(copy, b.bytes[K_SESSION], len);
    assert_int_equal(copy[LOCAL], PL_KEY_TYPE_ED25519);
    assert_int_equal(copy[REMOTE], PL_KEY_TYPE_ED25519);
    copy[LOCAL] = PL_KEY_TYPE_X25519;
    set_checksum(copy, len);
    FX_RC_IN(load_fails(K_SESSION, copy, len), PL_E_KEY_TYPE, PL_E_MALFORMED);
    memcpy(copy, b.bytes[K_SESSION], len);
    copy[REMOTE] = 0;
    set_checksum(copy, len);
    FX_RC_IN(load_fails(K_SESSION, copy, len), PL_E_KEY_TYPE, PL_E_MALFORMED);
    free(copy);
    free_blobs(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_kind_round_trips_to_identical_bytes),
        cmocka_unit_test(saved_blobs_have_the_documented_header),
        cmocka_unit_test(loaded_keys_still_work),
        cmocka_unit_test(loaded_session_encrypts_identically),
        cmocka_unit_test(session_save_into_a_small_buffer_is_buffer_too_small),
        cmocka_unit_test(every_truncation_is_rejected),
        cmocka_unit_test(trailing_bytes_are_rejected),
        cmocka_unit_test(every_single_bit_flip_is_rejected),
        cmocka_unit_test(loading_one_kind_as_another_is_wrong_kind),
        cmocka_unit_test(future_or_zero_version_is_version_error),
        cmocka_unit_test(bad_magic_with_valid_checksum_is_corrupt),
        cmocka_unit_test(lying_body_length_is_rejected),
        cmocka_unit_test(non_canonical_session_body_is_rejected),
    };

    if (pl_init() != PL_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
