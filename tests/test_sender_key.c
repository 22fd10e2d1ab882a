/*
 * test_sender_key.c: group sender keys (PROTOCOL.md §29).
 *
 * A receiver written from §29 with libsodium alone (independent_open) must read what
 * pl_sender_key_encrypt writes. Then: in-order and out-of-order delivery, the skip window
 * and the bounded skipped-key store, replays, every refusal (bad signature, another sender's
 * signature, wrong group or key id, truncation, trailing bytes, versions, key types), the
 * late joiner, rotation, and saved state of both chains (round trips and hostile blobs).
 */
#include "blob.h"
#include "fixture.h"

#include <sodium.h>

#define PT "hello, group"

typedef struct party {
    pl_rng_deterministic rng_state;
    pl_rng rng;
    pl_device *device;
    pl_sender_key *key;
} party;

static const uint8_t GROUP[PL_GROUP_ID_BYTES] = {1, 2,  3,  4,  5,  6,  7,  8,
                                                 9, 10, 11, 12, 13, 14, 15, 16};

static void party_init(party *p, uint8_t seed, uint32_t device_id)
{
    p->rng = tu_rng(&p->rng_state, seed);
    FX_RC(pl_device_generate(&p->device, &p->rng, device_id), PL_OK);
    FX_RC(pl_sender_key_generate(&p->key, &p->rng, GROUP, p->device), PL_OK);
}

static void party_free(party *p)
{
    pl_sender_key_free(p->key);
    pl_device_free(p->device);
}

static pl_sender_key_receiver *receiver_of(const pl_sender_key *key)
{
    uint8_t dist[PL_SENDER_KEY_DISTRIBUTION_BYTES];
    pl_sender_key_receiver *r = NULL;

    pl_sender_key_distribution(key, dist);
    FX_RC(pl_sender_key_receiver_create(&r, dist, sizeof dist), PL_OK);
    return r;
}

/* Encrypts PT || i as message i of key. */
static size_t send_msg(pl_sender_key *key, uint8_t *out, size_t cap)
{
    size_t len = 0;

    FX_RC(pl_sender_key_encrypt(key, (const uint8_t *)PT, sizeof PT - 1, out, cap, &len), PL_OK);
    assert_int_equal(len, PL_GROUP_MESSAGE_BYTES(sizeof PT - 1));
    return len;
}

static void expect_ok(pl_sender_key_receiver *r, const uint8_t *m, size_t len)
{
    uint8_t pt[64];
    size_t pt_len = 0;

    FX_RC(pl_sender_key_receiver_decrypt(r, m, len, pt, sizeof pt, &pt_len), PL_OK);
    assert_int_equal(pt_len, sizeof PT - 1);
    assert_memory_equal(pt, PT, pt_len);
}

static void expect_fail(pl_sender_key_receiver *r, const uint8_t *m, size_t len, int want)
{
    uint8_t pt[64];
    size_t pt_len = 99;

    memset(pt, 0xAA, sizeof pt);
    FX_RC(pl_sender_key_receiver_decrypt(r, m, len, pt, sizeof pt, &pt_len), want);
    assert_int_equal(pt_len, 0);
    FX_ZEROED(pt, sizeof pt);
}

/* §29 from libsodium alone: message key i of chain key ck, HKDF to key and nonce, AEAD
 * with the header as AD, signature over the label, header and ciphertext. */
static void independent_open(const uint8_t dist[PL_SENDER_KEY_DISTRIBUTION_BYTES], const uint8_t *m,
                             size_t len, uint8_t *pt)
{
    const size_t h = PL_GROUP_MESSAGE_HEADER_BYTES;
    const uint8_t *ck0 = dist + 1 + 16 + 4 + 4 + 33 + 4;
    const uint8_t *spk = ck0 + 32 + 1;
    uint32_t iter = (uint32_t)m[21] << 24 | (uint32_t)m[22] << 16 | (uint32_t)m[23] << 8 | m[24];
    uint8_t ck[32], mk[32], prk[32], t1[32], t2[32], zero[32] = {0}, one = 1;
    uint8_t key[32], nonce[12], *signed_msg;
    const char *label = "parley/group-message/v1", *info = "parley/group-message-keys/v1";
    crypto_auth_hmacsha256_state st;

    assert_int_equal(m[0], 1);
    assert_memory_equal(m + 1, dist + 1, 16 + 4); /* group id and key id */
    memcpy(ck, ck0, 32);
    for (uint32_t i = 0;; i++) {
        uint8_t b1 = 1, b2 = 2;

        crypto_auth_hmacsha256(mk, &b1, 1, ck);
        crypto_auth_hmacsha256(ck, &b2, 1, ck);
        if (i == iter)
            break;
    }
    crypto_auth_hmacsha256_init(&st, zero, 32); /* HKDF-Extract, salt absent */
    crypto_auth_hmacsha256_update(&st, mk, 32);
    crypto_auth_hmacsha256_final(&st, prk);
    crypto_auth_hmacsha256_init(&st, prk, 32);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)info, strlen(info));
    crypto_auth_hmacsha256_update(&st, &one, 1);
    crypto_auth_hmacsha256_final(&st, t1);
    one = 2;
    crypto_auth_hmacsha256_init(&st, prk, 32);
    crypto_auth_hmacsha256_update(&st, t1, 32);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)info, strlen(info));
    crypto_auth_hmacsha256_update(&st, &one, 1);
    crypto_auth_hmacsha256_final(&st, t2);
    memcpy(key, t1, 32);
    memcpy(nonce, t2, 12);

    signed_msg = malloc(strlen(label) + len - 64);
    memcpy(signed_msg, label, strlen(label));
    memcpy(signed_msg + strlen(label), m, len - 64);
    assert_int_equal(
        crypto_sign_verify_detached(m + len - 64, signed_msg, strlen(label) + len - 64, spk), 0);
    free(signed_msg);
    assert_int_equal(crypto_aead_chacha20poly1305_ietf_decrypt(pt, NULL, NULL, m + h, len - h - 64,
                                                               m, h, nonce, key),
                     0);
}

static void test_sender_key_matches_independent_receiver(void **st)
{
    party a;
    uint8_t dist[PL_SENDER_KEY_DISTRIBUTION_BYTES], m[256], pt[64];
    size_t len;

    (void)st;
    party_init(&a, 0x11, 3);
    pl_sender_key_distribution(a.key, dist);
    for (int i = 0; i < 3; i++) {
        len = send_msg(a.key, m, sizeof m);
        independent_open(dist, m, len, pt);
        assert_memory_equal(pt, PT, sizeof PT - 1);
    }
    party_free(&a);
}

static void test_sender_key_in_order_and_info(void **st)
{
    party a;
    pl_sender_key_receiver *r;
    pl_sender_key_info si, ri;
    uint8_t m[256], idk[PL_PUBKEY_BYTES];

    (void)st;
    party_init(&a, 0x12, 9);
    r = receiver_of(a.key);
    pl_sender_key_get_info(a.key, &si);
    pl_sender_key_receiver_get_info(r, &ri);
    assert_memory_equal(&si, &ri, sizeof si);
    pl_device_identity_key(a.device, idk);
    assert_memory_equal(ri.identity_key, idk, sizeof idk);
    assert_int_equal(ri.device_id, 9);
    assert_memory_equal(ri.group_id, GROUP, sizeof GROUP);
    for (int i = 0; i < 50; i++)
        expect_ok(r, m, send_msg(a.key, m, sizeof m));
    pl_sender_key_receiver_get_info(r, &ri);
    assert_int_equal(ri.iteration, 50);
    pl_sender_key_receiver_free(r);
    party_free(&a);
}

static void test_sender_key_out_of_order_and_replay(void **st)
{
    party a;
    pl_sender_key_receiver *r;
    uint8_t m[10][128];
    size_t len[10];
    const int order[10] = {9, 3, 0, 5, 1, 8, 2, 7, 4, 6};

    (void)st;
    party_init(&a, 0x13, 1);
    r = receiver_of(a.key);
    for (int i = 0; i < 10; i++)
        len[i] = send_msg(a.key, m[i], sizeof m[i]);
    for (int i = 0; i < 10; i++) {
        expect_ok(r, m[order[i]], len[order[i]]);
        expect_fail(r, m[order[i]], len[order[i]], PL_E_REPLAY);
    }
    for (int i = 0; i < 10; i++)
        expect_fail(r, m[i], len[i], PL_E_REPLAY);
    pl_sender_key_receiver_free(r);
    party_free(&a);
}

/* Numbered table of skips: how far ahead a message is, and what the receiver says. */
static void test_sender_key_skip_window_table(void **st)
{
    static const struct {
        uint32_t ahead;
        int want;
    } table[] = {
        {0, PL_OK},
        {1, PL_OK},
        {PL_SENDER_KEY_MAX_SKIP - 1, PL_OK},
        {PL_SENDER_KEY_MAX_SKIP, PL_OK},
        {PL_SENDER_KEY_MAX_SKIP + 1, PL_E_TOO_MANY_SKIPPED},
        {PL_SENDER_KEY_MAX_SKIP + 100, PL_E_TOO_MANY_SKIPPED},
    };

    (void)st;
    for (size_t t = 0; t < sizeof table / sizeof table[0]; t++) {
        party a;
        pl_sender_key_receiver *r;
        uint8_t m[128], first[128];
        size_t len = 0, first_len;

        party_init(&a, 0x14, 1);
        r = receiver_of(a.key);
        first_len = send_msg(a.key, first, sizeof first);
        for (uint32_t i = 1; i <= table[t].ahead; i++)
            len = send_msg(a.key, m, sizeof m);
        if (table[t].ahead == 0) {
            memcpy(m, first, first_len);
            len = first_len;
        }
        if (table[t].want == PL_OK) {
            expect_ok(r, m, len);
            if (table[t].ahead > 0)
                expect_ok(r, first, first_len); /* its key was kept */
        } else {
            expect_fail(r, m, len, table[t].want);
            expect_ok(r, first, first_len); /* nothing changed */
        }
        pl_sender_key_receiver_free(r);
        party_free(&a);
    }
}

static void test_sender_key_skipped_store_is_bounded(void **st)
{
    party a;
    pl_sender_key_receiver *r;
    uint8_t m0[128], m[128];
    size_t len0, len = 0;

    (void)st;
    party_init(&a, 0x15, 1);
    r = receiver_of(a.key);
    len0 = send_msg(a.key, m0, sizeof m0);
    /* Two full windows: the key of message 0 is evicted by the second. */
    for (int w = 0; w < 2; w++) {
        for (uint32_t i = 0; i < PL_SENDER_KEY_MAX_SKIP; i++)
            len = send_msg(a.key, m, sizeof m);
        expect_ok(r, m, len);
        assert_true(pl_sender_key_receiver_saved_size(r) <=
                    PL__BLOB_OVERHEAD + 200 + PL_SENDER_KEY_MAX_SKIPPED_KEYS * 36u);
    }
    expect_fail(r, m0, len0, PL_E_REPLAY);
    pl_sender_key_receiver_free(r);
    party_free(&a);
}

static void test_sender_key_refuses_tampering(void **st)
{
    party a;
    pl_sender_key_receiver *r;
    uint8_t m[128], bad[128];
    size_t len;

    (void)st;
    party_init(&a, 0x16, 1);
    r = receiver_of(a.key);
    len = send_msg(a.key, m, sizeof m);
    /* Every byte: the header's group and key id are checked first, the rest by signature. */
    for (size_t i = 0; i < len; i++) {
        memcpy(bad, m, len);
        bad[i] ^= 0x01;
        if (i == 0)
            expect_fail(r, bad, len, PL_E_VERSION);
        else if (i < 1 + 16 + 4)
            expect_fail(r, bad, len, PL_E_SESSION_MISMATCH);
        else
            expect_fail(r, bad, len, PL_E_BAD_SIGNATURE);
    }
    for (size_t n = 0; n < PL_GROUP_MESSAGE_OVERHEAD; n++)
        expect_fail(r, m, n, PL_E_TRUNCATED);
    /* Cut or extended: the signature no longer matches. */
    expect_fail(r, m, len - 1, PL_E_BAD_SIGNATURE);
    memcpy(bad, m, len);
    bad[len] = 0;
    expect_fail(r, bad, len + 1, PL_E_BAD_SIGNATURE);
    expect_ok(r, m, len); /* none of it changed the chain */
    pl_sender_key_receiver_free(r);
    party_free(&a);
}

/* A member who knows the chain key (every member does) still cannot sign as its owner. */
static void test_sender_key_refuses_other_members_signature(void **st)
{
    party a, mallory;
    pl_sender_key_receiver *r;
    pl_sender_key_info ai;
    uint8_t dist[PL_SENDER_KEY_DISTRIBUTION_BYTES], saved[PL_SENDER_KEY_SAVED_BYTES];
    uint8_t m[128];
    size_t len;
    pl_sender_key *forger = NULL;

    (void)st;
    party_init(&a, 0x17, 1);
    party_init(&mallory, 0x18, 2);
    r = receiver_of(a.key);
    /* Mallory's saved chain with Alice's key id and chain key, her own signing key. */
    pl_sender_key_get_info(a.key, &ai);
    pl_sender_key_distribution(a.key, dist);
    pl_sender_key_save(mallory.key, saved);
    saved[8 + 16 + 0] = (uint8_t)(ai.key_id >> 24);
    saved[8 + 16 + 1] = (uint8_t)(ai.key_id >> 16);
    saved[8 + 16 + 2] = (uint8_t)(ai.key_id >> 8);
    saved[8 + 16 + 3] = (uint8_t)ai.key_id;
    memcpy(saved + 8 + 16 + 4 + 4 + 33 + 4, dist + 1 + 16 + 4 + 4 + 33 + 4, 32);
    crypto_generichash(saved + sizeof saved - 16, 16, saved, sizeof saved - 16, NULL, 0);
    FX_RC(pl_sender_key_load(&forger, saved, sizeof saved), PL_OK);
    len = send_msg(forger, m, sizeof m);
    expect_fail(r, m, len, PL_E_BAD_SIGNATURE);
    pl_sender_key_free(forger);
    pl_sender_key_receiver_free(r);
    party_free(&a);
    party_free(&mallory);
}

static void test_sender_key_late_joiner_and_rotation(void **st)
{
    party a;
    pl_sender_key_receiver *early, *late;
    pl_sender_key *rotated = NULL;
    uint8_t m[3][128], n[128];
    size_t len[3], nlen;

    (void)st;
    party_init(&a, 0x19, 1);
    early = receiver_of(a.key);
    for (int i = 0; i < 3; i++)
        len[i] = send_msg(a.key, m[i], sizeof m[i]);
    late = receiver_of(a.key); /* joined after three messages */
    for (int i = 0; i < 3; i++) {
        expect_ok(early, m[i], len[i]);
        expect_fail(late, m[i], len[i], PL_E_REPLAY);
    }
    /* A member leaves: Alice rotates; the old chain cannot read the new one. */
    FX_RC(pl_sender_key_generate(&rotated, &a.rng, GROUP, a.device), PL_OK);
    {
        pl_sender_key_receiver *fresh = receiver_of(rotated); /* a remaining member's */

        nlen = send_msg(rotated, n, sizeof n);
        expect_fail(early, n, nlen, PL_E_SESSION_MISMATCH);
        expect_ok(fresh, n, nlen);
        pl_sender_key_receiver_free(fresh);
    }
    pl_sender_key_free(rotated);
    pl_sender_key_receiver_free(early);
    pl_sender_key_receiver_free(late);
    party_free(&a);
}

static void test_sender_key_encrypt_refusals(void **st)
{
    party a;
    uint8_t *big = calloc(1, PL_GROUP_MESSAGE_BYTES(PL_MAX_PLAINTEXT_BYTES + 1));
    uint8_t small[PL_GROUP_MESSAGE_OVERHEAD + 3];
    size_t len = 7;
    pl_sender_key_info before, after;

    (void)st;
    party_init(&a, 0x1a, 1);
    pl_sender_key_get_info(a.key, &before);
    FX_RC(pl_sender_key_encrypt(a.key, big, PL_MAX_PLAINTEXT_BYTES + 1, big,
                                PL_GROUP_MESSAGE_BYTES(PL_MAX_PLAINTEXT_BYTES + 1), &len),
          PL_E_TOO_LARGE);
    assert_int_equal(len, 0);
    FX_RC(pl_sender_key_encrypt(a.key, (const uint8_t *)"abcd", 4, small, sizeof small, &len),
          PL_E_BUFFER_TOO_SMALL);
    pl_sender_key_get_info(a.key, &after);
    assert_int_equal(before.iteration, after.iteration);
    /* The largest message goes through. */
    FX_RC(pl_sender_key_encrypt(a.key, big, PL_MAX_PLAINTEXT_BYTES, big,
                                PL_GROUP_MESSAGE_BYTES(PL_MAX_PLAINTEXT_BYTES + 1), &len),
          PL_OK);
    free(big);
    party_free(&a);
}

static void test_sender_key_distribution_refusals(void **st)
{
    party a;
    uint8_t dist[PL_SENDER_KEY_DISTRIBUTION_BYTES + 1], bad[PL_SENDER_KEY_DISTRIBUTION_BYTES];
    pl_sender_key_receiver *r = (pl_sender_key_receiver *)&r;
    const size_t id_at = 1 + 16 + 4 + 4, sk_at = id_at + 33 + 4 + 32;

    (void)st;
    party_init(&a, 0x1b, 1);
    pl_sender_key_distribution(a.key, dist);
    for (size_t n = 0; n < PL_SENDER_KEY_DISTRIBUTION_BYTES; n++) {
        FX_RC(pl_sender_key_receiver_create(&r, dist, n), PL_E_TRUNCATED);
        assert_null(r);
    }
    dist[PL_SENDER_KEY_DISTRIBUTION_BYTES] = 0;
    FX_RC(pl_sender_key_receiver_create(&r, dist, sizeof dist), PL_E_MALFORMED);
    memcpy(bad, dist, sizeof bad);
    bad[0] = 2;
    FX_RC(pl_sender_key_receiver_create(&r, bad, sizeof bad), PL_E_VERSION);
    memcpy(bad, dist, sizeof bad);
    bad[id_at] = PL_KEY_TYPE_X25519;
    FX_RC(pl_sender_key_receiver_create(&r, bad, sizeof bad), PL_E_KEY_TYPE);
    memcpy(bad, dist, sizeof bad);
    bad[sk_at] = PL_KEY_TYPE_X25519;
    FX_RC(pl_sender_key_receiver_create(&r, bad, sizeof bad), PL_E_KEY_TYPE);
    memcpy(bad, dist, sizeof bad);
    memset(bad + sk_at + 1, 0, 32); /* a small-order point */
    bad[sk_at + 1] = 1;
    FX_RC(pl_sender_key_receiver_create(&r, bad, sizeof bad), PL_E_BAD_KEY);
    assert_null(r);
    party_free(&a);
}

static void test_sender_key_saved_round_trip(void **st)
{
    party a;
    pl_sender_key_receiver *r, *r2 = NULL;
    pl_sender_key *k2 = NULL;
    uint8_t saved[PL_SENDER_KEY_SAVED_BYTES], again[PL_SENDER_KEY_SAVED_BYTES];
    uint8_t m[5][128], *rs, *rs2;
    size_t len[5], rlen, rlen2;

    (void)st;
    party_init(&a, 0x1c, 4);
    r = receiver_of(a.key);
    for (int i = 0; i < 5; i++)
        len[i] = send_msg(a.key, m[i], sizeof m[i]);
    expect_ok(r, m[4], len[4]); /* 0..3 skipped, kept */
    expect_ok(r, m[1], len[1]); /* and 1 used, deleted */

    pl_sender_key_save(a.key, saved);
    FX_RC(pl_sender_key_load(&k2, saved, sizeof saved), PL_OK);
    pl_sender_key_save(k2, again);
    assert_memory_equal(saved, again, sizeof saved);

    rlen = pl_sender_key_receiver_saved_size(r);
    assert_int_equal(rlen, PL__BLOB_OVERHEAD + 130 + 3 * 36);
    rs = malloc(rlen);
    rs2 = malloc(rlen);
    FX_RC(pl_sender_key_receiver_save(r, rs, rlen - 1, &rlen2), PL_E_BUFFER_TOO_SMALL);
    FX_RC(pl_sender_key_receiver_save(r, rs, rlen, &rlen2), PL_OK);
    FX_RC(pl_sender_key_receiver_load(&r2, rs, rlen), PL_OK);
    FX_RC(pl_sender_key_receiver_save(r2, rs2, rlen, &rlen2), PL_OK);
    assert_memory_equal(rs, rs2, rlen);
    /* The loaded copies carry on where the originals were. */
    expect_fail(r2, m[1], len[1], PL_E_REPLAY);
    expect_ok(r2, m[0], len[0]);
    expect_ok(r2, m[3], len[3]);
    expect_ok(r2, m[2], len[2]);
    len[0] = send_msg(k2, m[0], sizeof m[0]);
    expect_ok(r2, m[0], len[0]);
    expect_ok(r, m[0], len[0]);

    /* Hostile blobs: every cut, every flipped bit, the other kind. */
    for (size_t n = 0; n < rlen; n++) {
        pl_sender_key_receiver *x = NULL;

        FX_RC_IN(pl_sender_key_receiver_load(&x, rs, n), PL_E_TRUNCATED);
        assert_null(x);
        rs[n] ^= 0x20;
        FX_RC_IN(pl_sender_key_receiver_load(&x, rs, rlen), PL_E_CORRUPT, PL_E_TRUNCATED,
                 PL_E_MALFORMED);
        assert_null(x);
        rs[n] ^= 0x20;
    }
    pl_sender_key_free(k2);
    FX_RC(pl_sender_key_load(&k2, rs, rlen), PL_E_WRONG_KIND);
    assert_null(k2);
    FX_RC(pl_sender_key_load(&k2, saved, sizeof saved), PL_OK);
    {
        pl_sender_key_receiver *x = NULL;

        FX_RC(pl_sender_key_receiver_load(&x, saved, sizeof saved), PL_E_WRONG_KIND);
    }
    pl_sender_key_free(k2);
    free(rs);
    free(rs2);
    pl_sender_key_receiver_free(r);
    pl_sender_key_receiver_free(r2);
    party_free(&a);
}

/* Re-checksums a receiver blob after an edit, so the body parser sees it. */
static void rechecksum(uint8_t *b, size_t len)
{
    crypto_generichash(b + len - 16, 16, b, len - 16, NULL, 0);
}

static void test_sender_key_receiver_load_refuses_non_canonical(void **st)
{
    party a;
    pl_sender_key_receiver *r, *x = NULL;
    uint8_t m[3][128], *rs, *bad;
    size_t len[3], rlen, got;
    const size_t count_at = 8 + 130 - 4, first_n = count_at + 4;

    (void)st;
    party_init(&a, 0x1d, 4);
    r = receiver_of(a.key);
    for (int i = 0; i < 3; i++)
        len[i] = send_msg(a.key, m[i], sizeof m[i]);
    expect_ok(r, m[2], len[2]); /* skipped: 0 and 1 */
    rlen = pl_sender_key_receiver_saved_size(r);
    rs = malloc(rlen);
    bad = malloc(rlen);
    FX_RC(pl_sender_key_receiver_save(r, rs, rlen, &got), PL_OK);

    /* A count that does not match the entries. */
    memcpy(bad, rs, rlen);
    bad[count_at + 3] = 3;
    rechecksum(bad, rlen);
    FX_RC(pl_sender_key_receiver_load(&x, bad, rlen), PL_E_MALFORMED);
    /* A count over the bound. */
    memcpy(bad, rs, rlen);
    bad[count_at + 2] = 0xff;
    rechecksum(bad, rlen);
    FX_RC(pl_sender_key_receiver_load(&x, bad, rlen), PL_E_MALFORMED);
    /* Entries out of order (swap 0 and 1). */
    memcpy(bad, rs, rlen);
    bad[first_n + 3] = 1;
    bad[first_n + 36 + 3] = 0;
    rechecksum(bad, rlen);
    FX_RC(pl_sender_key_receiver_load(&x, bad, rlen), PL_E_MALFORMED);
    /* An entry at or past the chain's next iteration. */
    memcpy(bad, rs, rlen);
    bad[first_n + 36 + 3] = 3;
    rechecksum(bad, rlen);
    FX_RC(pl_sender_key_receiver_load(&x, bad, rlen), PL_E_MALFORMED);
    /* A signing key of the wrong type. */
    memcpy(bad, rs, rlen);
    bad[count_at - 33] = PL_KEY_TYPE_X25519;
    rechecksum(bad, rlen);
    FX_RC(pl_sender_key_receiver_load(&x, bad, rlen), PL_E_KEY_TYPE);
    assert_null(x);
    free(rs);
    free(bad);
    pl_sender_key_receiver_free(r);
    party_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sender_key_matches_independent_receiver),
        cmocka_unit_test(test_sender_key_in_order_and_info),
        cmocka_unit_test(test_sender_key_out_of_order_and_replay),
        cmocka_unit_test(test_sender_key_skip_window_table),
        cmocka_unit_test(test_sender_key_skipped_store_is_bounded),
        cmocka_unit_test(test_sender_key_refuses_tampering),
        cmocka_unit_test(test_sender_key_refuses_other_members_signature),
        cmocka_unit_test(test_sender_key_late_joiner_and_rotation),
        cmocka_unit_test(test_sender_key_encrypt_refusals),
        cmocka_unit_test(test_sender_key_distribution_refusals),
        cmocka_unit_test(test_sender_key_saved_round_trip),
        cmocka_unit_test(test_sender_key_receiver_load_refuses_non_canonical),
    };

    if (pl_init() != PL_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
