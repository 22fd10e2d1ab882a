/*
 * test_statement.c: black-box tests of parley/statement.h: the device authentication and
 * device removal statements, including a check of the exact bytes that are signed.
 */
#include <sodium.h>

#include "fixture.h"

typedef struct keys {
    pl_account *account;
    pl_device *device;
    uint8_t account_key[PL_PUBKEY_BYTES];
    uint8_t identity_key[PL_PUBKEY_BYTES];
} keys;

static const uint8_t challenge[32] = {1, 2, 3};
static const uint8_t exporter[32] = {9, 8, 7};

static void keys_make(keys *k)
{
    pl_rng_deterministic st;
    pl_rng rng = tu_rng(&st, 0x33);

    FX_RC(pl_account_generate(&k->account, &rng), PL_OK);
    FX_RC(pl_device_generate(&k->device, &rng, 7), PL_OK);
    pl_account_public_key(k->account, k->account_key);
    pl_device_identity_key(k->device, k->identity_key);
}

static void keys_free(keys *k)
{
    pl_account_free(k->account);
    pl_device_free(k->device);
}

static void auth_round_trip_and_every_field_is_bound(void **state)
{
    keys k;
    uint8_t sig[64], other[32] = {0};

    (void)state;
    keys_make(&k);
    FX_RC(pl_auth_sign(k.device, challenge, exporter, "alice", 5, 7, sig), PL_OK);
    FX_RC(pl_auth_verify(k.identity_key, challenge, exporter, "alice", 5, 7, sig), PL_OK);
    FX_RC(pl_auth_verify(k.identity_key, other, exporter, "alice", 5, 7, sig), PL_E_BAD_SIGNATURE);
    FX_RC(pl_auth_verify(k.identity_key, challenge, other, "alice", 5, 7, sig), PL_E_BAD_SIGNATURE);
    FX_RC(pl_auth_verify(k.identity_key, challenge, exporter, "alicf", 5, 7, sig),
          PL_E_BAD_SIGNATURE);
    FX_RC(pl_auth_verify(k.identity_key, challenge, exporter, "alice", 5, 8, sig),
          PL_E_BAD_SIGNATURE);
    FX_RC(pl_auth_verify(k.account_key, challenge, exporter, "alice", 5, 7, sig),
          PL_E_BAD_SIGNATURE);
    sig[0] ^= 1;
    FX_RC(pl_auth_verify(k.identity_key, challenge, exporter, "alice", 5, 7, sig),
          PL_E_BAD_SIGNATURE);
    keys_free(&k);
}

static void auth_signs_the_specified_bytes(void **state)
{
    keys k;
    uint8_t sig[64], pk[32], msg[14 + 32 + 32 + 5 + 4];

    (void)state;
    keys_make(&k);
    FX_RC(pl_auth_sign(k.device, challenge, exporter, "alice", 5, 0x01020304u, sig), PL_OK);
    memcpy(msg, "parley/auth/v1", 14);
    memcpy(msg + 14, challenge, 32);
    memcpy(msg + 46, exporter, 32);
    memcpy(msg + 78, "alice", 5);
    msg[83] = 1, msg[84] = 2, msg[85] = 3, msg[86] = 4;
    memcpy(pk, k.identity_key + 1, 32);
    assert_int_equal(crypto_sign_verify_detached(sig, msg, sizeof msg, pk), 0);
    keys_free(&k);
}

static void auth_username_length_is_checked(void **state)
{
    keys k;
    uint8_t sig[64];
    char name[257];

    (void)state;
    keys_make(&k);
    memset(name, 'a', sizeof name);
    FX_RC(pl_auth_sign(k.device, challenge, exporter, name, 0, 7, sig), PL_E_INVALID_ARG);
    FX_RC(pl_auth_sign(k.device, challenge, exporter, name, 256, 7, sig), PL_E_INVALID_ARG);
    FX_RC(pl_auth_sign(k.device, challenge, exporter, name, 255, 7, sig), PL_OK);
    FX_RC(pl_auth_verify(k.identity_key, challenge, exporter, name, 255, 7, sig), PL_OK);
    FX_RC(pl_auth_verify(k.identity_key, challenge, exporter, name, 256, 7, sig), PL_E_INVALID_ARG);
    keys_free(&k);
}

static void removal_round_trip_and_binding(void **state)
{
    keys k;
    uint8_t sig[64], pk[32], msg[23 + 33 + 4];

    (void)state;
    keys_make(&k);
    pl_removal_sign(k.account, 3, sig);
    FX_RC(pl_removal_verify(k.account_key, 3, sig), PL_OK);
    FX_RC(pl_removal_verify(k.account_key, 4, sig), PL_E_BAD_SIGNATURE);
    FX_RC(pl_removal_verify(k.identity_key, 3, sig), PL_E_BAD_SIGNATURE);
    memcpy(msg, "parley/remove-device/v1", 23);
    memcpy(msg + 23, k.account_key, 33);
    msg[56] = 0, msg[57] = 0, msg[58] = 0, msg[59] = 3;
    memcpy(pk, k.account_key + 1, 32);
    assert_int_equal(crypto_sign_verify_detached(sig, msg, sizeof msg, pk), 0);
    keys_free(&k);
}

static void wrong_key_type_is_refused(void **state)
{
    keys k;
    uint8_t sig[64] = {0}, key[PL_PUBKEY_BYTES];

    (void)state;
    keys_make(&k);
    memcpy(key, k.account_key, sizeof key);
    key[0] = 0x02;
    FX_RC(pl_removal_verify(key, 3, sig), PL_E_KEY_TYPE);
    FX_RC(pl_auth_verify(key, challenge, exporter, "alice", 5, 7, sig), PL_E_KEY_TYPE);
    keys_free(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(auth_round_trip_and_every_field_is_bound),
        cmocka_unit_test(auth_signs_the_specified_bytes),
        cmocka_unit_test(auth_username_length_is_checked),
        cmocka_unit_test(removal_round_trip_and_binding),
        cmocka_unit_test(wrong_key_type_is_refused),
    };

    if (pl_init() != PL_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
