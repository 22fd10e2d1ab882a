/*
 * test_fingerprint.c: black-box tests of parley/fingerprint.h: safety numbers, account
 * fingerprints and key fingerprints.
 */
#include <ctype.h>
#include <stdio.h>

#include <sodium.h>

#include "fixture.h"

/* Two accounts' public keys from the deterministic RNG. */
static void two_account_keys(uint8_t ka[PL_PUBKEY_BYTES], uint8_t kb[PL_PUBKEY_BYTES])
{
    pl_rng_deterministic st;
    pl_rng rng = tu_rng(&st, 0x5A);
    pl_account *a = NULL, *b = NULL;

    FX_RC(pl_account_generate(&a, &rng), PL_OK);
    FX_RC(pl_account_generate(&b, &rng), PL_OK);
    pl_account_public_key(a, ka);
    pl_account_public_key(b, kb);
    pl_account_free(a);
    pl_account_free(b);
}

static void safety(const uint8_t *k1, const char *n1, const uint8_t *k2, const char *n2,
                   char out[PL_SAFETY_NUMBER_DIGITS + 1])
{
    memset(out, 'x', PL_SAFETY_NUMBER_DIGITS + 1);
    FX_RC(pl_safety_number(k1, n1, strlen(n1), k2, n2, strlen(n2), out), PL_OK);
}

static void assert_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            fail_msg("character %zu of \"%.*s\" is not a digit", i, (int)n, s);
    assert_int_equal(s[n], '\0');
}

static void safety_number_is_60_digits(void **state)
{
    uint8_t ka[PL_PUBKEY_BYTES], kb[PL_PUBKEY_BYTES];
    char sn[PL_SAFETY_NUMBER_DIGITS + 1];

    (void)state;
    assert_int_equal(PL_SAFETY_NUMBER_DIGITS, 60);
    two_account_keys(ka, kb);
    safety(ka, "alice", kb, "bob", sn);
    assert_digits(sn, 60);
    assert_int_equal(strlen(sn), 60);
}

static void safety_number_is_symmetric(void **state)
{
    uint8_t ka[PL_PUBKEY_BYTES], kb[PL_PUBKEY_BYTES];
    char ab[PL_SAFETY_NUMBER_DIGITS + 1], ba[PL_SAFETY_NUMBER_DIGITS + 1];

    (void)state;
    two_account_keys(ka, kb);
    safety(ka, "alice", kb, "bob", ab);
    safety(kb, "bob", ka, "alice", ba);
    assert_string_equal(ab, ba);
}

static void safety_number_is_stable(void **state)
{
    uint8_t ka[PL_PUBKEY_BYTES], kb[PL_PUBKEY_BYTES];
    char s1[PL_SAFETY_NUMBER_DIGITS + 1], s2[PL_SAFETY_NUMBER_DIGITS + 1];

    (void)state;
    two_account_keys(ka, kb);
    safety(ka, "alice", kb, "bob", s1);
    safety(ka, "alice", kb, "bob", s2);
    assert_string_equal(s1, s2);
}

static void safety_number_changes_with_either_key_or_name(void **state)
{
    uint8_t ka[PL_PUBKEY_BYTES], kb[PL_PUBKEY_BYTES], k2[PL_PUBKEY_BYTES];
    char base[PL_SAFETY_NUMBER_DIGITS + 1], other[PL_SAFETY_NUMBER_DIGITS + 1];

    (void)state;
    two_account_keys(ka, kb);
    safety(ka, "alice", kb, "bob", base);

    memcpy(k2, ka, sizeof k2);
    k2[PL_PUBKEY_BYTES - 1] ^= 0x01;
    safety(k2, "alice", kb, "bob", other);
    assert_string_not_equal(base, other);

    memcpy(k2, kb, sizeof k2);
    k2[1] ^= 0x80;
    safety(ka, "alice", k2, "bob", other);
    assert_string_not_equal(base, other);

    safety(ka, "alicf", kb, "bob", other);
    assert_string_not_equal(base, other);
    safety(ka, "alice", kb, "bob2", other);
    assert_string_not_equal(base, other);
    /* Each name is bound to its own key: swapping the names alone changes the number. */
    safety(ka, "bob", kb, "alice", other);
    assert_string_not_equal(base, other);
}

/* A safety number is computed from the two account keys and names only: the function takes
 * no device key at all, so adding, removing or replacing devices (each signed by the account
 * key) cannot change it. Shown here by deriving it from the account key that two different
 * device records of each account carry: the records differ, the numbers do not. */
static void safety_number_does_not_depend_on_devices(void **state)
{
    pl_rng_deterministic st;
    pl_rng rng = tu_rng(&st, 0x77);
    pl_account *acc[2] = {NULL, NULL};
    pl_device *dev[4] = {NULL, NULL, NULL, NULL};
    uint8_t rec[4][PL_DEVICE_RECORD_BYTES];
    pl_device_record parsed[4];
    char sn1[PL_SAFETY_NUMBER_DIGITS + 1], sn2[PL_SAFETY_NUMBER_DIGITS + 1];

    (void)state;
    FX_RC(pl_account_generate(&acc[0], &rng), PL_OK);
    FX_RC(pl_account_generate(&acc[1], &rng), PL_OK);
    for (int i = 0; i < 4; i++) {
        uint8_t ik[PL_PUBKEY_BYTES];

        FX_RC(pl_device_generate(&dev[i], &rng, (uint32_t)i + 1), PL_OK);
        pl_device_identity_key(dev[i], ik);
        FX_RC(pl_account_sign_device(acc[i / 2], (uint32_t)i + 1, ik, FX_CREATED_AT + (uint64_t)i,
                                     rec[i]),
              PL_OK);
        FX_RC(pl_device_record_verify(rec[i], sizeof rec[i], NULL, &parsed[i]), PL_OK);
    }
    assert_memory_not_equal(parsed[0].identity_key, parsed[1].identity_key, PL_PUBKEY_BYTES);
    assert_memory_not_equal(parsed[2].identity_key, parsed[3].identity_key, PL_PUBKEY_BYTES);
    safety(parsed[0].account_key, "alice", parsed[2].account_key, "bob", sn1);
    safety(parsed[1].account_key, "alice", parsed[3].account_key, "bob", sn2);
    assert_string_equal(sn1, sn2);
    for (int i = 0; i < 4; i++)
        pl_device_free(dev[i]);
    pl_account_free(acc[0]);
    pl_account_free(acc[1]);
}

static void account_fingerprint_is_30_digits_and_one_half_of_the_safety_number(void **state)
{
    uint8_t ka[PL_PUBKEY_BYTES], kb[PL_PUBKEY_BYTES];
    char fa[PL_ACCOUNT_FINGERPRINT_DIGITS + 1], fb[PL_ACCOUNT_FINGERPRINT_DIGITS + 1];
    char sn[PL_SAFETY_NUMBER_DIGITS + 1], ab[PL_SAFETY_NUMBER_DIGITS + 1];
    char ba[PL_SAFETY_NUMBER_DIGITS + 1];

    (void)state;
    assert_int_equal(PL_ACCOUNT_FINGERPRINT_DIGITS, 30);
    two_account_keys(ka, kb);
    memset(fa, 'x', sizeof fa);
    memset(fb, 'x', sizeof fb);
    FX_RC(pl_account_fingerprint(ka, "alice", 5, fa), PL_OK);
    FX_RC(pl_account_fingerprint(kb, "bob", 3, fb), PL_OK);
    assert_digits(fa, 30);
    assert_digits(fb, 30);
    assert_string_not_equal(fa, fb);
    safety(ka, "alice", kb, "bob", sn);
    snprintf(ab, sizeof ab, "%s%s", fa, fb);
    snprintf(ba, sizeof ba, "%s%s", fb, fa);
    /* PROTOCOL.md §8.2: the lexicographically smaller half first. */
    assert_string_equal(sn, strcmp(fa, fb) <= 0 ? ab : ba);
}

/* An independent implementation of PROTOCOL.md §8.1 on libsodium's SHA-512. */
static void reference_account_fingerprint(const uint8_t key[PL_PUBKEY_BYTES], const char *name,
                                          char out[PL_ACCOUNT_FINGERPRINT_DIGITS + 1])
{
    uint8_t h[crypto_hash_sha512_BYTES];
    crypto_hash_sha512_state st;
    const uint8_t version[2] = {0, 0};

    crypto_hash_sha512_init(&st);
    crypto_hash_sha512_update(&st, version, sizeof version);
    crypto_hash_sha512_update(&st, key, PL_PUBKEY_BYTES);
    crypto_hash_sha512_update(&st, (const uint8_t *)name, strlen(name));
    crypto_hash_sha512_final(&st, h);
    for (unsigned i = 0; i < PL_FINGERPRINT_ITERATIONS; i++) {
        crypto_hash_sha512_init(&st);
        crypto_hash_sha512_update(&st, h, sizeof h);
        crypto_hash_sha512_update(&st, key, PL_PUBKEY_BYTES);
        crypto_hash_sha512_final(&st, h);
    }
    for (unsigned i = 0; i < 6; i++) {
        uint64_t c = 0;

        for (unsigned j = 0; j < 5; j++)
            c = c << 8 | h[5 * i + j];
        snprintf(out + 5 * i, 6, "%05u", (unsigned)(c % 100000));
    }
}

static void account_fingerprint_matches_the_specified_computation(void **state)
{
    uint8_t ka[PL_PUBKEY_BYTES], kb[PL_PUBKEY_BYTES];
    char got[PL_ACCOUNT_FINGERPRINT_DIGITS + 1], want[PL_ACCOUNT_FINGERPRINT_DIGITS + 1];

    (void)state;
    two_account_keys(ka, kb);
    reference_account_fingerprint(ka, "alice", want);
    FX_RC(pl_account_fingerprint(ka, "alice", 5, got), PL_OK);
    assert_string_equal(got, want);
    reference_account_fingerprint(kb, "", want);
    FX_RC(pl_account_fingerprint(kb, "", 0, got), PL_OK);
    assert_string_equal(got, want);
}

static void account_fingerprint_depends_on_key_and_name(void **state)
{
    uint8_t ka[PL_PUBKEY_BYTES], kb[PL_PUBKEY_BYTES];
    char f1[PL_ACCOUNT_FINGERPRINT_DIGITS + 1], f2[PL_ACCOUNT_FINGERPRINT_DIGITS + 1];

    (void)state;
    two_account_keys(ka, kb);
    FX_RC(pl_account_fingerprint(ka, "alice", 5, f1), PL_OK);
    FX_RC(pl_account_fingerprint(ka, "alice", 5, f2), PL_OK);
    assert_string_equal(f1, f2);
    FX_RC(pl_account_fingerprint(kb, "alice", 5, f2), PL_OK);
    assert_string_not_equal(f1, f2);
    FX_RC(pl_account_fingerprint(ka, "alicf", 5, f2), PL_OK);
    assert_string_not_equal(f1, f2);
    /* name_len counts: a prefix of the name is another name. */
    FX_RC(pl_account_fingerprint(ka, "alice", 4, f2), PL_OK);
    assert_string_not_equal(f1, f2);
}

static void name_longer_than_max_is_too_large(void **state)
{
    uint8_t ka[PL_PUBKEY_BYTES], kb[PL_PUBKEY_BYTES];
    char name[PL_NAME_MAX_BYTES + 2];
    char fp[PL_ACCOUNT_FINGERPRINT_DIGITS + 1], sn[PL_SAFETY_NUMBER_DIGITS + 1];

    (void)state;
    two_account_keys(ka, kb);
    memset(name, 'n', sizeof name);
    name[sizeof name - 1] = '\0';

    FX_RC(pl_account_fingerprint(ka, name, PL_NAME_MAX_BYTES, fp), PL_OK);
    FX_RC(pl_account_fingerprint(ka, name, PL_NAME_MAX_BYTES + 1, fp), PL_E_TOO_LARGE);
    FX_RC(pl_safety_number(ka, name, PL_NAME_MAX_BYTES, kb, "bob", 3, sn), PL_OK);
    FX_RC(pl_safety_number(ka, "alice", 5, kb, name, PL_NAME_MAX_BYTES, sn), PL_OK);
    FX_RC(pl_safety_number(ka, name, PL_NAME_MAX_BYTES + 1, kb, "bob", 3, sn), PL_E_TOO_LARGE);
    FX_RC(pl_safety_number(ka, "alice", 5, kb, name, PL_NAME_MAX_BYTES + 1, sn), PL_E_TOO_LARGE);
}

static void wrong_key_type_is_key_type(void **state)
{
    static const uint8_t bad_types[] = {0x00, PL_KEY_TYPE_X25519, PL_KEY_TYPE_MLKEM768, 0xFF};
    uint8_t ka[PL_PUBKEY_BYTES], kb[PL_PUBKEY_BYTES], bad[PL_PUBKEY_BYTES];
    char fp[PL_ACCOUNT_FINGERPRINT_DIGITS + 1], sn[PL_SAFETY_NUMBER_DIGITS + 1];

    (void)state;
    two_account_keys(ka, kb);
    for (size_t t = 0; t < sizeof bad_types; t++) {
        memcpy(bad, ka, sizeof bad);
        bad[0] = bad_types[t];
        FX_RC(pl_account_fingerprint(bad, "alice", 5, fp), PL_E_KEY_TYPE);
        FX_RC(pl_safety_number(bad, "alice", 5, kb, "bob", 3, sn), PL_E_KEY_TYPE);
        FX_RC(pl_safety_number(kb, "bob", 3, bad, "alice", 5, sn), PL_E_KEY_TYPE);
    }
}

/* PROTOCOL.md §8.3: the first 16 bytes of SHA-256(encoded key) as lowercase hex in 8 groups
 * of 4, one space between groups. Checked against libsodium's SHA-256. */
static void key_fingerprint_is_grouped_sha256_of_the_encoded_key(void **state)
{
    uint8_t ka[PL_PUBKEY_BYTES], kb[PL_PUBKEY_BYTES];
    uint8_t hash[crypto_hash_sha256_BYTES];
    char hex[2 * crypto_hash_sha256_BYTES + 1];
    char fp[PL_KEY_FINGERPRINT_CHARS + 1], fp2[PL_KEY_FINGERPRINT_CHARS + 1];
    char want[PL_KEY_FINGERPRINT_CHARS + 1];

    (void)state;
    assert_int_equal(PL_KEY_FINGERPRINT_CHARS, 39);
    two_account_keys(ka, kb);
    memset(fp, 'x', sizeof fp);
    pl_key_fingerprint(ka, fp);
    assert_int_equal(fp[PL_KEY_FINGERPRINT_CHARS], '\0');
    assert_int_equal(strlen(fp), PL_KEY_FINGERPRINT_CHARS);
    crypto_hash_sha256(hash, ka, PL_PUBKEY_BYTES);
    tu_hex(hash, sizeof hash, hex);
    /* Character i is a space after every fourth digit, else digit i - i/5 of the hash. */
    for (size_t i = 0; i < PL_KEY_FINGERPRINT_CHARS; i++)
        want[i] = i % 5 == 4 ? ' ' : hex[i - i / 5];
    want[PL_KEY_FINGERPRINT_CHARS] = '\0';
    assert_string_equal(fp, want);
    pl_key_fingerprint(ka, fp2);
    assert_string_equal(fp, fp2);
    pl_key_fingerprint(kb, fp2);
    assert_string_not_equal(fp, fp2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(safety_number_is_60_digits),
        cmocka_unit_test(safety_number_is_symmetric),
        cmocka_unit_test(safety_number_is_stable),
        cmocka_unit_test(safety_number_changes_with_either_key_or_name),
        cmocka_unit_test(safety_number_does_not_depend_on_devices),
        cmocka_unit_test(account_fingerprint_is_30_digits_and_one_half_of_the_safety_number),
        cmocka_unit_test(account_fingerprint_matches_the_specified_computation),
        cmocka_unit_test(account_fingerprint_depends_on_key_and_name),
        cmocka_unit_test(name_longer_than_max_is_too_large),
        cmocka_unit_test(wrong_key_type_is_key_type),
        cmocka_unit_test(key_fingerprint_is_grouped_sha256_of_the_encoded_key),
    };

    if (pl_init() != PL_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
