/*
 * test_keys.c: black-box tests of parley/keys.h: device records, signed and one-time
 * prekeys, prekey bundles and the deterministic RNG's keys.
 *
 * Byte offsets used below come from the layouts documented in parley/defs.h:
 *   device record: version(1) account key(33) device id(4) identity key(33) time(8) sig(64)
 *   signed prekey: id(4) key(33) time(8) sig(64)
 *   one-time prekey: id(4) key(33)
 *   bundle: version(1) flags(1) record signed-prekey [one-time prekey]
 * Each test that depends on an offset first checks that the bytes there are what the layout
 * says, so a layout change fails loudly instead of testing the wrong byte.
 */
#include <sodium.h>

#include "fixture.h"

/* Device record field offsets. */
enum {
    REC_VERSION = 0,
    REC_ACCOUNT = 1,
    REC_DEVICE_ID = REC_ACCOUNT + PL_PUBKEY_BYTES,
    REC_IDENTITY = REC_DEVICE_ID + 4,
    REC_TIME = REC_IDENTITY + PL_PUBKEY_BYTES,
    REC_SIG = REC_TIME + 8,
};
/* Signed prekey public part offsets. */
enum {
    SPK_ID = 0,
    SPK_KEY = 4,
    SPK_TIME = SPK_KEY + PL_PUBKEY_BYTES,
    SPK_SIG = SPK_TIME + 8,
};
/* Bundle offsets. */
enum {
    BUN_RECORD = 2,
    BUN_SPK = BUN_RECORD + PL_DEVICE_RECORD_BYTES,
    BUN_OPK = BUN_SPK + PL_SIGNED_PREKEY_PUBLIC_BYTES,
};

static const uint8_t flip_masks[] = {0x01, 0x80};

static void check_layout_of_record(const fx_party *p, const uint8_t *rec)
{
    assert_memory_equal(rec + REC_ACCOUNT, p->account_key, PL_PUBKEY_BYTES);
    assert_memory_equal(rec + REC_IDENTITY, p->identity_key, PL_PUBKEY_BYTES);
    assert_int_equal(REC_SIG + PL_SIGNATURE_BYTES, PL_DEVICE_RECORD_BYTES);
}

/* An encoded Ed25519 key whose 32 bytes are not a point on the curve. */
static void off_curve_ed25519_key(uint8_t key[PL_PUBKEY_BYTES])
{
    memset(key, 0, PL_PUBKEY_BYTES);
    key[0] = PL_KEY_TYPE_ED25519;
    for (uint8_t y = 2; y < 255; y++) {
        key[1] = y;
        if (crypto_core_ed25519_is_valid_point(key + 1) == 0)
            return;
    }
    fail_msg("%s", "no off-curve y found");
}

/* ---- Device records -------------------------------------------------------------------------- */

static void device_record_verifies_under_its_account_key(void **state)
{
    fx_party a;
    pl_device_record out;

    (void)state;
    fx_party_init(&a, 1);
    check_layout_of_record(&a, a.record);
    memset(&out, 0xEE, sizeof out);
    FX_RC(pl_device_record_verify(a.record, sizeof a.record, a.account_key, &out), PL_OK);
    assert_memory_equal(out.account_key, a.account_key, PL_PUBKEY_BYTES);
    assert_int_equal(out.device_id, 1);
    assert_memory_equal(out.identity_key, a.identity_key, PL_PUBKEY_BYTES);
    assert_int_equal(out.created_at, FX_CREATED_AT);
    fx_party_free(&a);
}

static void device_record_verifies_with_null_account_key_against_named_key(void **state)
{
    fx_party a;
    pl_device_record out;

    (void)state;
    fx_party_init(&a, 2);
    memset(&out, 0xEE, sizeof out);
    FX_RC(pl_device_record_verify(a.record, sizeof a.record, NULL, &out), PL_OK);
    assert_memory_equal(out.account_key, a.account_key, PL_PUBKEY_BYTES);
    assert_int_equal(out.device_id, 2);
    assert_memory_equal(out.identity_key, a.identity_key, PL_PUBKEY_BYTES);
    assert_int_equal(out.created_at, FX_CREATED_AT);
    fx_party_free(&a);
}

static void device_record_of_another_account_is_identity_mismatch(void **state)
{
    fx_party a, b;
    pl_device_record out;

    (void)state;
    fx_party_init(&a, 3);
    fx_party_init(&b, 4);
    memset(&out, 0xEE, sizeof out);
    FX_RC(pl_device_record_verify(a.record, sizeof a.record, b.account_key, &out),
          PL_E_IDENTITY_MISMATCH);
    FX_ZEROED(&out, sizeof out);
    fx_party_free(&a);
    fx_party_free(&b);
}

/* A record that names account A but carries account B's signature: the record claims A, so
 * the check is A's signature, which it does not have. */
static void device_record_signed_by_another_account_is_bad_signature(void **state)
{
    fx_party a, b;
    uint8_t rec[PL_DEVICE_RECORD_BYTES];
    pl_device_record out;

    (void)state;
    fx_party_init(&a, 5);
    fx_party_init(&b, 6);
    FX_RC(pl_account_sign_device(b.account, 5, a.identity_key, FX_CREATED_AT, rec), PL_OK);
    assert_memory_equal(rec + REC_ACCOUNT, b.account_key, PL_PUBKEY_BYTES);
    memcpy(rec + REC_ACCOUNT, a.account_key, PL_PUBKEY_BYTES);

    memset(&out, 0xEE, sizeof out);
    FX_RC(pl_device_record_verify(rec, sizeof rec, a.account_key, &out), PL_E_BAD_SIGNATURE);
    FX_ZEROED(&out, sizeof out);
    memset(&out, 0xEE, sizeof out);
    FX_RC(pl_device_record_verify(rec, sizeof rec, NULL, &out), PL_E_BAD_SIGNATURE);
    FX_ZEROED(&out, sizeof out);
    fx_party_free(&a);
    fx_party_free(&b);
}

/* Every byte of the record is bound: changing any bit of any field is rejected, with the
 * error that field calls for. */
static void device_record_every_byte_is_bound_by_the_signature(void **state)
{
    fx_party a;
    uint8_t rec[PL_DEVICE_RECORD_BYTES];
    pl_device_record out;

    (void)state;
    fx_party_init(&a, 7);
    check_layout_of_record(&a, a.record);
    for (size_t i = 0; i < sizeof rec; i++) {
        for (size_t m = 0; m < sizeof flip_masks; m++) {
            memcpy(rec, a.record, sizeof rec);
            rec[i] ^= flip_masks[m];
            for (int with_key = 0; with_key < 2; with_key++) {
                int r;

                memset(&out, 0xEE, sizeof out);
                r = pl_device_record_verify(rec, sizeof rec, with_key ? a.account_key : NULL, &out);
                if (r == PL_OK)
                    fail_msg("flipping record byte %zu by 0x%02x was accepted (key %d)", i,
                             flip_masks[m], with_key);
                FX_ZEROED(&out, sizeof out);
                if (i == REC_VERSION)
                    FX_RC_IN(r, PL_E_VERSION, PL_E_MALFORMED);
                else if (i == REC_ACCOUNT)
                    FX_RC_IN(r, PL_E_KEY_TYPE, PL_E_IDENTITY_MISMATCH);
                else if (i < REC_DEVICE_ID && with_key)
                    /* PROTOCOL.md §3.3: key validity is checked before the comparison. */
                    FX_RC_IN(r, PL_E_IDENTITY_MISMATCH, PL_E_BAD_KEY);
                else if (i < REC_DEVICE_ID)
                    FX_RC_IN(r, PL_E_BAD_SIGNATURE, PL_E_BAD_KEY);
                else if (i < REC_IDENTITY)
                    FX_RC(r, PL_E_BAD_SIGNATURE);
                else if (i == REC_IDENTITY)
                    FX_RC(r, PL_E_KEY_TYPE);
                else if (i < REC_TIME)
                    FX_RC_IN(r, PL_E_BAD_SIGNATURE, PL_E_BAD_KEY);
                else
                    FX_RC(r, PL_E_BAD_SIGNATURE);
            }
        }
    }
    fx_party_free(&a);
}

static void device_record_truncated_or_overlong_is_rejected(void **state)
{
    fx_party a;
    uint8_t rec[PL_DEVICE_RECORD_BYTES + 1];
    pl_device_record out;

    (void)state;
    fx_party_init(&a, 8);
    memcpy(rec, a.record, PL_DEVICE_RECORD_BYTES);
    rec[PL_DEVICE_RECORD_BYTES] = 0;
    for (size_t len = 0; len < PL_DEVICE_RECORD_BYTES; len++) {
        memset(&out, 0xEE, sizeof out);
        FX_RC(pl_device_record_verify(rec, len, NULL, &out), PL_E_TRUNCATED);
        FX_ZEROED(&out, sizeof out);
    }
    memset(&out, 0xEE, sizeof out);
    FX_RC_IN(pl_device_record_verify(rec, sizeof rec, NULL, &out), PL_E_MALFORMED, PL_E_TOO_LARGE);
    FX_ZEROED(&out, sizeof out);
    fx_party_free(&a);
}

static void sign_device_rejects_a_non_ed25519_identity_key(void **state)
{
    fx_party a;
    uint8_t key[PL_PUBKEY_BYTES];
    uint8_t rec[PL_DEVICE_RECORD_BYTES];

    (void)state;
    fx_party_init(&a, 9);
    memcpy(key, a.identity_key, sizeof key);
    key[0] = PL_KEY_TYPE_X25519;
    FX_RC(pl_account_sign_device(a.account, 9, key, FX_CREATED_AT, rec), PL_E_KEY_TYPE);
    key[0] = PL_KEY_TYPE_MLKEM768;
    FX_RC(pl_account_sign_device(a.account, 9, key, FX_CREATED_AT, rec), PL_E_KEY_TYPE);
    key[0] = 0;
    FX_RC(pl_account_sign_device(a.account, 9, key, FX_CREATED_AT, rec), PL_E_KEY_TYPE);
    off_curve_ed25519_key(key);
    FX_RC(pl_account_sign_device(a.account, 9, key, FX_CREATED_AT, rec), PL_E_BAD_KEY);
    fx_party_free(&a);
}

static void device_record_binds_device_id_and_time(void **state)
{
    fx_party a;
    uint8_t rec[PL_DEVICE_RECORD_BYTES];
    pl_device_record out;

    (void)state;
    fx_party_init(&a, 10);
    FX_RC(pl_account_sign_device(a.account, 0xDEADBEEFu, a.identity_key,
                                 UINT64_C(0x0102030405060708), rec),
          PL_OK);
    FX_RC(pl_device_record_verify(rec, sizeof rec, a.account_key, &out), PL_OK);
    assert_int_equal(out.device_id, 0xDEADBEEFu);
    assert_int_equal(out.created_at, UINT64_C(0x0102030405060708));
    /* Big-endian on the wire (defs.h: all integers big-endian). */
    assert_int_equal(rec[REC_DEVICE_ID], 0xDE);
    assert_int_equal(rec[REC_TIME], 0x01);
    assert_int_equal(rec[REC_TIME + 7], 0x08);
    fx_party_free(&a);
}

/* ---- Signed prekeys -------------------------------------------------------------------------- */

static void signed_prekey_verifies_under_its_device_identity_key(void **state)
{
    fx_party a;
    pl_signed_prekey_info info;

    (void)state;
    fx_party_init(&a, 11);
    memset(&info, 0xEE, sizeof info);
    FX_RC(pl_signed_prekey_verify(a.spk_public, sizeof a.spk_public, a.identity_key, &info), PL_OK);
    assert_int_equal(info.id, 111);
    assert_int_equal(pl_signed_prekey_id(a.spk), 111);
    assert_int_equal(info.key[0], PL_KEY_TYPE_X25519);
    assert_memory_equal(info.key, a.spk_public + SPK_KEY, PL_PUBKEY_BYTES);
    assert_int_equal(info.created_at, FX_CREATED_AT);
    fx_party_free(&a);
}

static void signed_prekey_under_another_identity_is_bad_signature(void **state)
{
    fx_party a, b;
    pl_signed_prekey_info info;

    (void)state;
    fx_party_init(&a, 12);
    fx_party_init(&b, 13);
    memset(&info, 0xEE, sizeof info);
    FX_RC(pl_signed_prekey_verify(a.spk_public, sizeof a.spk_public, b.identity_key, &info),
          PL_E_BAD_SIGNATURE);
    FX_ZEROED(&info, sizeof info);
    fx_party_free(&a);
    fx_party_free(&b);
}

/* The signature covers the id, the key and the creation time: a server must not be able to
 * relabel or re-date a prekey. */
static void signed_prekey_every_byte_is_bound_by_the_signature(void **state)
{
    fx_party a;
    uint8_t spk[PL_SIGNED_PREKEY_PUBLIC_BYTES];
    pl_signed_prekey_info info;

    (void)state;
    fx_party_init(&a, 14);
    assert_int_equal(a.spk_public[SPK_KEY], PL_KEY_TYPE_X25519);
    assert_int_equal(SPK_SIG + PL_SIGNATURE_BYTES, PL_SIGNED_PREKEY_PUBLIC_BYTES);
    for (size_t i = 0; i < sizeof spk; i++) {
        for (size_t m = 0; m < sizeof flip_masks; m++) {
            int r;

            memcpy(spk, a.spk_public, sizeof spk);
            spk[i] ^= flip_masks[m];
            memset(&info, 0xEE, sizeof info);
            r = pl_signed_prekey_verify(spk, sizeof spk, a.identity_key, &info);
            if (r == PL_OK)
                fail_msg("flipping signed prekey byte %zu by 0x%02x was accepted", i,
                         flip_masks[m]);
            FX_ZEROED(&info, sizeof info);
            if (i == SPK_KEY)
                FX_RC(r, PL_E_KEY_TYPE);
            else if (i > SPK_KEY && i < SPK_TIME)
                FX_RC_IN(r, PL_E_BAD_SIGNATURE, PL_E_BAD_KEY);
            else
                FX_RC(r, PL_E_BAD_SIGNATURE);
        }
    }
    fx_party_free(&a);
}

static void signed_prekey_truncated_or_overlong_is_rejected(void **state)
{
    fx_party a;
    uint8_t spk[PL_SIGNED_PREKEY_PUBLIC_BYTES + 1];
    pl_signed_prekey_info info;

    (void)state;
    fx_party_init(&a, 15);
    memcpy(spk, a.spk_public, PL_SIGNED_PREKEY_PUBLIC_BYTES);
    spk[PL_SIGNED_PREKEY_PUBLIC_BYTES] = 0;
    for (size_t len = 0; len < PL_SIGNED_PREKEY_PUBLIC_BYTES; len++) {
        memset(&info, 0xEE, sizeof info);
        FX_RC(pl_signed_prekey_verify(spk, len, a.identity_key, &info), PL_E_TRUNCATED);
        FX_ZEROED(&info, sizeof info);
    }
    memset(&info, 0xEE, sizeof info);
    FX_RC(pl_signed_prekey_verify(spk, sizeof spk, a.identity_key, &info), PL_E_MALFORMED);
    FX_ZEROED(&info, sizeof info);
    fx_party_free(&a);
}

static void signed_prekey_verify_with_non_ed25519_identity_is_key_type(void **state)
{
    fx_party a;
    uint8_t key[PL_PUBKEY_BYTES];
    pl_signed_prekey_info info;

    (void)state;
    fx_party_init(&a, 16);
    memcpy(key, a.identity_key, sizeof key);
    key[0] = PL_KEY_TYPE_X25519;
    FX_RC(pl_signed_prekey_verify(a.spk_public, sizeof a.spk_public, key, &info), PL_E_KEY_TYPE);
    FX_ZEROED(&info, sizeof info);
    key[0] = PL_KEY_TYPE_MLKEM768;
    FX_RC(pl_signed_prekey_verify(a.spk_public, sizeof a.spk_public, key, &info), PL_E_KEY_TYPE);
    fx_party_free(&a);
}

/* ---- One-time prekeys ------------------------------------------------------------------------ */

static void onetime_prekey_public_part_parses_back(void **state)
{
    fx_party a;
    uint32_t id = 0;
    uint8_t key[PL_PUBKEY_BYTES];

    (void)state;
    fx_party_init(&a, 17);
    FX_RC(pl_onetime_prekey_parse(a.opk_public, sizeof a.opk_public, &id, key), PL_OK);
    assert_int_equal(id, 1017);
    assert_int_equal(pl_onetime_prekey_id(a.opk), 1017);
    assert_int_equal(key[0], PL_KEY_TYPE_X25519);
    assert_memory_equal(key, a.opk_public + 4, PL_PUBKEY_BYTES);
    /* id is big-endian on the wire */
    assert_int_equal(a.opk_public[0], 0);
    assert_int_equal(a.opk_public[2], 1017 >> 8);
    assert_int_equal(a.opk_public[3], 1017 & 0xFF);
    fx_party_free(&a);
}

static void onetime_prekey_parse_rejects_wrong_type_and_length(void **state)
{
    fx_party a;
    uint8_t opk[PL_ONETIME_PREKEY_PUBLIC_BYTES + 1];
    uint32_t id;
    uint8_t key[PL_PUBKEY_BYTES];

    (void)state;
    fx_party_init(&a, 18);
    memcpy(opk, a.opk_public, PL_ONETIME_PREKEY_PUBLIC_BYTES);
    opk[PL_ONETIME_PREKEY_PUBLIC_BYTES] = 0;
    for (size_t len = 0; len < PL_ONETIME_PREKEY_PUBLIC_BYTES; len++)
        FX_RC(pl_onetime_prekey_parse(opk, len, &id, key), PL_E_TRUNCATED);
    FX_RC(pl_onetime_prekey_parse(opk, sizeof opk, &id, key), PL_E_MALFORMED);

    opk[4] = PL_KEY_TYPE_ED25519;
    FX_RC(pl_onetime_prekey_parse(opk, PL_ONETIME_PREKEY_PUBLIC_BYTES, &id, key), PL_E_KEY_TYPE);
    opk[4] = PL_KEY_TYPE_MLKEM768;
    FX_RC(pl_onetime_prekey_parse(opk, PL_ONETIME_PREKEY_PUBLIC_BYTES, &id, key), PL_E_KEY_TYPE);
    opk[4] = 0;
    FX_RC(pl_onetime_prekey_parse(opk, PL_ONETIME_PREKEY_PUBLIC_BYTES, &id, key), PL_E_KEY_TYPE);
    fx_party_free(&a);
}

/* ---- Bundles --------------------------------------------------------------------------------- */

static void bundle_with_onetime_prekey_encodes_and_verifies(void **state)
{
    fx_party a;
    uint8_t bytes[PL_BUNDLE_MAX_BYTES];
    size_t len = 0;
    pl_bundle b;

    (void)state;
    fx_party_init(&a, 19);
    FX_RC(pl_bundle_encode(a.record, a.spk_public, a.opk_public, bytes, sizeof bytes, &len), PL_OK);
    assert_int_equal(len, PL_BUNDLE_MAX_BYTES);
    assert_memory_equal(bytes + BUN_RECORD, a.record, PL_DEVICE_RECORD_BYTES);
    assert_memory_equal(bytes + BUN_SPK, a.spk_public, PL_SIGNED_PREKEY_PUBLIC_BYTES);
    assert_memory_equal(bytes + BUN_OPK, a.opk_public, PL_ONETIME_PREKEY_PUBLIC_BYTES);
    memset(&b, 0xEE, sizeof b);
    FX_RC(pl_bundle_verify(bytes, len, a.account_key, &b), PL_OK);
    assert_memory_equal(b.device.account_key, a.account_key, PL_PUBKEY_BYTES);
    assert_int_equal(b.device.device_id, 19);
    assert_memory_equal(b.device.identity_key, a.identity_key, PL_PUBKEY_BYTES);
    assert_int_equal(b.device.created_at, FX_CREATED_AT);
    assert_int_equal(b.signed_prekey.id, 119);
    assert_memory_equal(b.signed_prekey.key, a.spk_public + SPK_KEY, PL_PUBKEY_BYTES);
    assert_int_equal(b.signed_prekey.created_at, FX_CREATED_AT);
    assert_true(b.has_onetime_prekey);
    assert_int_equal(b.onetime_prekey_id, 1019);
    assert_memory_equal(b.onetime_prekey, a.opk_public + 4, PL_PUBKEY_BYTES);
    fx_party_free(&a);
}

static void bundle_without_onetime_prekey_encodes_and_verifies(void **state)
{
    fx_party a;
    uint8_t bytes[PL_BUNDLE_MAX_BYTES];
    size_t len = 0;
    pl_bundle b;

    (void)state;
    fx_party_init(&a, 20);
    FX_RC(pl_bundle_encode(a.record, a.spk_public, NULL, bytes, sizeof bytes, &len), PL_OK);
    assert_int_equal(len, PL_BUNDLE_MAX_BYTES - PL_ONETIME_PREKEY_PUBLIC_BYTES);
    memset(&b, 0xEE, sizeof b);
    FX_RC(pl_bundle_verify(bytes, len, a.account_key, &b), PL_OK);
    assert_int_equal(b.device.device_id, 20);
    assert_memory_equal(b.device.identity_key, a.identity_key, PL_PUBKEY_BYTES);
    assert_int_equal(b.signed_prekey.id, 120);
    assert_false(b.has_onetime_prekey);
    fx_party_free(&a);
}

static void bundle_encode_into_a_small_buffer_is_buffer_too_small(void **state)
{
    fx_party a;
    uint8_t bytes[PL_BUNDLE_MAX_BYTES];
    size_t len;

    (void)state;
    fx_party_init(&a, 21);
    len = 12345;
    FX_RC(pl_bundle_encode(a.record, a.spk_public, a.opk_public, bytes, PL_BUNDLE_MAX_BYTES - 1,
                           &len),
          PL_E_BUFFER_TOO_SMALL);
    FX_RC(pl_bundle_encode(a.record, a.spk_public, NULL, bytes,
                           PL_BUNDLE_MAX_BYTES - PL_ONETIME_PREKEY_PUBLIC_BYTES - 1, &len),
          PL_E_BUFFER_TOO_SMALL);
    FX_RC(pl_bundle_encode(a.record, a.spk_public, NULL, bytes, 0, &len), PL_E_BUFFER_TOO_SMALL);
    fx_party_free(&a);
}

static void bundle_with_bad_signed_prekey_signature_is_bad_signature(void **state)
{
    fx_party a, other;
    uint8_t spk[PL_SIGNED_PREKEY_PUBLIC_BYTES];
    uint8_t bytes[PL_BUNDLE_MAX_BYTES];
    size_t len;
    pl_bundle b;

    (void)state;
    fx_party_init(&a, 22);
    fx_party_init(&other, 23);
    /* A signature byte flipped. */
    memcpy(spk, a.spk_public, sizeof spk);
    spk[SPK_SIG + 10] ^= 0x04;
    FX_RC(pl_bundle_encode(a.record, spk, a.opk_public, bytes, sizeof bytes, &len), PL_OK);
    memset(&b, 0xEE, sizeof b);
    FX_RC(pl_bundle_verify(bytes, len, a.account_key, &b), PL_E_BAD_SIGNATURE);
    FX_ZEROED(&b, sizeof b);
    /* A signed prekey signed by another device's identity key. */
    FX_RC(pl_bundle_encode(a.record, other.spk_public, NULL, bytes, sizeof bytes, &len), PL_OK);
    memset(&b, 0xEE, sizeof b);
    FX_RC(pl_bundle_verify(bytes, len, a.account_key, &b), PL_E_BAD_SIGNATURE);
    FX_ZEROED(&b, sizeof b);
    fx_party_free(&a);
    fx_party_free(&other);
}

static void bundle_for_another_account_is_identity_mismatch(void **state)
{
    fx_party a, b;
    uint8_t bytes[PL_BUNDLE_MAX_BYTES];
    size_t len;
    pl_bundle out;

    (void)state;
    fx_party_init(&a, 24);
    fx_party_init(&b, 25);
    len = fx_bundle_bytes(&a, 1, bytes);
    memset(&out, 0xEE, sizeof out);
    FX_RC(pl_bundle_verify(bytes, len, b.account_key, &out), PL_E_IDENTITY_MISMATCH);
    FX_ZEROED(&out, sizeof out);
    fx_party_free(&a);
    fx_party_free(&b);
}

/* Account B signs a record for A's device, relabelled as A's: the record is not A's. */
static void bundle_with_device_record_signed_by_another_account_is_bad_signature(void **state)
{
    fx_party a, b;
    uint8_t rec[PL_DEVICE_RECORD_BYTES];
    uint8_t bytes[PL_BUNDLE_MAX_BYTES];
    size_t len;
    pl_bundle out;

    (void)state;
    fx_party_init(&a, 26);
    fx_party_init(&b, 27);
    FX_RC(pl_account_sign_device(b.account, 26, a.identity_key, FX_CREATED_AT, rec), PL_OK);
    /* Unchanged, it is B's record: not A's. */
    FX_RC(pl_bundle_encode(rec, a.spk_public, a.opk_public, bytes, sizeof bytes, &len), PL_OK);
    FX_RC(pl_bundle_verify(bytes, len, a.account_key, &out), PL_E_IDENTITY_MISMATCH);
    FX_ZEROED(&out, sizeof out);
    /* Relabelled as A's, B's signature does not verify under A's key. */
    memcpy(rec + REC_ACCOUNT, a.account_key, PL_PUBKEY_BYTES);
    FX_RC(pl_bundle_encode(rec, a.spk_public, a.opk_public, bytes, sizeof bytes, &len), PL_OK);
    memset(&out, 0xEE, sizeof out);
    FX_RC(pl_bundle_verify(bytes, len, a.account_key, &out), PL_E_BAD_SIGNATURE);
    FX_ZEROED(&out, sizeof out);
    fx_party_free(&a);
    fx_party_free(&b);
}

static void bundle_wrong_key_type_bytes_are_key_type(void **state)
{
    /* Offsets of the type byte of each key in a bundle with a one-time prekey. */
    static const size_t at[] = {BUN_RECORD + REC_IDENTITY, BUN_SPK + SPK_KEY, BUN_OPK + 4};
    static const uint8_t bad_types[] = {0x00, PL_KEY_TYPE_ED25519, PL_KEY_TYPE_X25519,
                                        PL_KEY_TYPE_MLKEM768, 0xFF};
    fx_party a;
    uint8_t good[PL_BUNDLE_MAX_BYTES], bytes[PL_BUNDLE_MAX_BYTES];
    size_t len;
    pl_bundle out;

    (void)state;
    fx_party_init(&a, 28);
    len = fx_bundle_bytes(&a, 1, good);
    assert_int_equal(good[BUN_RECORD + REC_ACCOUNT], PL_KEY_TYPE_ED25519);
    assert_int_equal(good[at[0]], PL_KEY_TYPE_ED25519);
    assert_int_equal(good[at[1]], PL_KEY_TYPE_X25519);
    assert_int_equal(good[at[2]], PL_KEY_TYPE_X25519);
    for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
        for (size_t t = 0; t < sizeof bad_types; t++) {
            if (bad_types[t] == good[at[k]])
                continue;
            memcpy(bytes, good, len);
            bytes[at[k]] = bad_types[t];
            memset(&out, 0xEE, sizeof out);
            FX_RC(pl_bundle_verify(bytes, len, a.account_key, &out), PL_E_KEY_TYPE);
            FX_ZEROED(&out, sizeof out);
        }
    }
    /* The account key's type: the record no longer names the expected account either. */
    memcpy(bytes, good, len);
    bytes[BUN_RECORD + REC_ACCOUNT] = PL_KEY_TYPE_X25519;
    FX_RC_IN(pl_bundle_verify(bytes, len, a.account_key, &out), PL_E_KEY_TYPE,
             PL_E_IDENTITY_MISMATCH);
    /* And the account key passed in by the caller: it is not the key the record names. */
    memcpy(bytes, a.account_key, PL_PUBKEY_BYTES);
    bytes[0] = PL_KEY_TYPE_X25519;
    FX_RC_IN(pl_bundle_verify(good, len, bytes, &out), PL_E_KEY_TYPE, PL_E_IDENTITY_MISMATCH);
    fx_party_free(&a);
}

static void bundle_truncated_or_overlong_is_rejected(void **state)
{
    fx_party a;
    uint8_t bytes[PL_BUNDLE_MAX_BYTES + 1];
    pl_bundle out;

    (void)state;
    fx_party_init(&a, 29);
    for (int with_opk = 0; with_opk < 2; with_opk++) {
        size_t len = fx_bundle_bytes(&a, with_opk, bytes);

        bytes[len] = 0;
        for (size_t cut = 0; cut < len; cut++) {
            int r;

            memset(&out, 0xEE, sizeof out);
            r = pl_bundle_verify(bytes, cut, a.account_key, &out);
            if (r == PL_OK)
                fail_msg("bundle (opk %d) truncated to %zu bytes was accepted", with_opk, cut);
            FX_RC_IN(r, PL_E_TRUNCATED, PL_E_MALFORMED);
            FX_ZEROED(&out, sizeof out);
        }
        memset(&out, 0xEE, sizeof out);
        FX_RC(pl_bundle_verify(bytes, len + 1, a.account_key, &out), PL_E_MALFORMED);
        FX_ZEROED(&out, sizeof out);
    }
    fx_party_free(&a);
}

/* Every byte of the signed parts (header, device record, signed prekey) matters. The one-time
 * prekey is unsigned by design (X3DH), so only its type byte is checked (above). */
static void bundle_every_signed_byte_flip_is_rejected(void **state)
{
    fx_party a;
    uint8_t good[PL_BUNDLE_MAX_BYTES], bytes[PL_BUNDLE_MAX_BYTES];
    size_t len;
    pl_bundle out;

    (void)state;
    fx_party_init(&a, 30);
    len = fx_bundle_bytes(&a, 1, good);
    for (size_t i = 0; i < BUN_OPK; i++) {
        int r;

        memcpy(bytes, good, len);
        bytes[i] ^= 0x01;
        memset(&out, 0xEE, sizeof out);
        r = pl_bundle_verify(bytes, len, a.account_key, &out);
        if (r == PL_OK)
            fail_msg("flipping bundle byte %zu was accepted", i);
        if (i == 0)
            FX_RC_IN(r, PL_E_VERSION, PL_E_MALFORMED);
        FX_ZEROED(&out, sizeof out);
    }
    fx_party_free(&a);
}

/* PROTOCOL.md §4.3: flags bit 0 says a one-time prekey follows, bit 1 is reserved for a
 * post-quantum prekey (unsupported in v1), bits 2-7 are zero. */
static void bundle_flags_must_match_the_contents(void **state)
{
    fx_party a;
    uint8_t with[PL_BUNDLE_MAX_BYTES], without[PL_BUNDLE_MAX_BYTES], bytes[PL_BUNDLE_MAX_BYTES];
    size_t with_len, without_len;
    pl_bundle out;

    (void)state;
    fx_party_init(&a, 33);
    with_len = fx_bundle_bytes(&a, 1, with);
    without_len = fx_bundle_bytes(&a, 0, without);
    assert_int_equal(with[1], 0x01);
    assert_int_equal(without[1], 0x00);

    memcpy(bytes, with, with_len);
    bytes[1] = 0x00; /* no one-time prekey, yet 37 bytes follow */
    FX_RC(pl_bundle_verify(bytes, with_len, a.account_key, &out), PL_E_MALFORMED);
    memcpy(bytes, without, without_len);
    bytes[1] = 0x01; /* a one-time prekey, yet none follows */
    FX_RC(pl_bundle_verify(bytes, without_len, a.account_key, &out), PL_E_TRUNCATED);
    memcpy(bytes, with, with_len);
    bytes[1] |= 0x02;
    FX_RC(pl_bundle_verify(bytes, with_len, a.account_key, &out), PL_E_UNSUPPORTED);
    FX_ZEROED(&out, sizeof out);
    for (unsigned bit = 2; bit < 8; bit++) {
        memcpy(bytes, with, with_len);
        bytes[1] |= (uint8_t)(1u << bit);
        memset(&out, 0xEE, sizeof out);
        FX_RC(pl_bundle_verify(bytes, with_len, a.account_key, &out), PL_E_MALFORMED);
        FX_ZEROED(&out, sizeof out);
    }
    fx_party_free(&a);
}

/* ---- Determinism ----------------------------------------------------------------------------- */

static void deterministic_rng_gives_deterministic_keys(void **state)
{
    fx_party *p1 = fx_malloc(sizeof *p1), *p2 = fx_malloc(sizeof *p2), *p3 = fx_malloc(sizeof *p3);
    uint8_t s1[PL_SIGNED_PREKEY_SAVED_BYTES], s2[PL_SIGNED_PREKEY_SAVED_BYTES];

    (void)state;
    fx_party_init(p1, 31);
    fx_party_init(p2, 31);
    fx_party_init(p3, 32);
    assert_memory_equal(p1->account_key, p2->account_key, PL_PUBKEY_BYTES);
    assert_memory_equal(p1->identity_key, p2->identity_key, PL_PUBKEY_BYTES);
    assert_memory_equal(p1->record, p2->record, PL_DEVICE_RECORD_BYTES);
    assert_memory_equal(p1->spk_public, p2->spk_public, PL_SIGNED_PREKEY_PUBLIC_BYTES);
    assert_memory_equal(p1->opk_public, p2->opk_public, PL_ONETIME_PREKEY_PUBLIC_BYTES);
    pl_signed_prekey_save(p1->spk, s1);
    pl_signed_prekey_save(p2->spk, s2);
    assert_memory_equal(s1, s2, sizeof s1);

    assert_memory_not_equal(p1->account_key, p3->account_key, PL_PUBKEY_BYTES);
    assert_memory_not_equal(p1->identity_key, p3->identity_key, PL_PUBKEY_BYTES);
    assert_memory_not_equal(p1->spk_public + SPK_KEY, p3->spk_public + SPK_KEY, PL_PUBKEY_BYTES);
    assert_memory_not_equal(p1->opk_public + 4, p3->opk_public + 4, PL_PUBKEY_BYTES);
    /* Within one party every key is fresh. */
    assert_memory_not_equal(p1->account_key + 1, p1->identity_key + 1, PL_RAW_KEY_BYTES);
    assert_memory_not_equal(p1->spk_public + SPK_KEY + 1, p1->opk_public + 5, PL_RAW_KEY_BYTES);
    fx_party_free(p1);
    fx_party_free(p2);
    fx_party_free(p3);
    free(p1);
    free(p2);
    free(p3);
}

/* The deterministic RNG is the documented ChaCha20 stream (random.h): call i is the key
 * stream under key=seed, nonce=i little-endian, counter 0. */
static void deterministic_rng_is_the_documented_chacha20_stream(void **state)
{
    pl_rng_deterministic st;
    pl_rng rng = tu_rng(&st, 0x42);
    uint8_t seed[32], nonce[12] = {0}, got[100], want[100];

    (void)state;
    memset(seed, 0x42, sizeof seed);
    for (uint8_t call = 0; call < 3; call++) {
        pl_random_fill(&rng, got, sizeof got);
        nonce[0] = call;
        crypto_stream_chacha20_ietf(want, sizeof want, nonce, seed);
        assert_memory_equal(got, want, sizeof got);
    }
}

/* PROTOCOL.md §1: X25519 public keys are accepted only below p = 2^255 - 19, bit 255 clear.
 * Numbered table: the little-endian key as (byte 0, fill for bytes 1..30, byte 31). */
static void onetime_prekey_parse_accepts_only_canonical_x25519_keys(void **state)
{
    static const struct {
        uint8_t first, fill, last;
        int want;
    } table[] = {
        /* 0 */ {0x00, 0x00, 0x00, PL_OK},        /* zero: canonical (DH catches it later) */
        /* 1 */ {0x09, 0x00, 0x00, PL_OK},        /* the base point */
        /* 2 */ {0xec, 0xff, 0x7f, PL_OK},        /* p - 1, the largest canonical value */
        /* 3 */ {0xed, 0xff, 0x7f, PL_E_BAD_KEY}, /* p */
        /* 4 */ {0xee, 0xff, 0x7f, PL_E_BAD_KEY}, /* p + 1 */
        /* 5 */ {0xff, 0xff, 0x7f, PL_E_BAD_KEY}, /* 2^255 - 1 */
        /* 6 */ {0x09, 0x00, 0x80, PL_E_BAD_KEY}, /* the base point with bit 255 set */
        /* 7 */ {0xec, 0xfe, 0x7f, PL_OK},        /* below p - 1 in a middle byte */
    };
    uint8_t in[PL_ONETIME_PREKEY_PUBLIC_BYTES], key[PL_PUBKEY_BYTES];
    uint32_t id;

    (void)state;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        memset(in, 0, 4);
        in[4] = PL_KEY_TYPE_X25519;
        in[5] = table[i].first;
        memset(in + 6, table[i].fill, 30);
        in[36] = table[i].last;
        if (pl_onetime_prekey_parse(in, sizeof in, &id, key) != table[i].want)
            fail_msg("table row %zu: expected %s", i, pl_errname(table[i].want));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(device_record_verifies_under_its_account_key),
        cmocka_unit_test(device_record_verifies_with_null_account_key_against_named_key),
        cmocka_unit_test(device_record_of_another_account_is_identity_mismatch),
        cmocka_unit_test(device_record_signed_by_another_account_is_bad_signature),
        cmocka_unit_test(device_record_every_byte_is_bound_by_the_signature),
        cmocka_unit_test(device_record_truncated_or_overlong_is_rejected),
        cmocka_unit_test(sign_device_rejects_a_non_ed25519_identity_key),
        cmocka_unit_test(device_record_binds_device_id_and_time),
        cmocka_unit_test(signed_prekey_verifies_under_its_device_identity_key),
        cmocka_unit_test(signed_prekey_under_another_identity_is_bad_signature),
        cmocka_unit_test(signed_prekey_every_byte_is_bound_by_the_signature),
        cmocka_unit_test(signed_prekey_truncated_or_overlong_is_rejected),
        cmocka_unit_test(signed_prekey_verify_with_non_ed25519_identity_is_key_type),
        cmocka_unit_test(onetime_prekey_public_part_parses_back),
        cmocka_unit_test(onetime_prekey_parse_rejects_wrong_type_and_length),
        cmocka_unit_test(bundle_with_onetime_prekey_encodes_and_verifies),
        cmocka_unit_test(bundle_without_onetime_prekey_encodes_and_verifies),
        cmocka_unit_test(bundle_encode_into_a_small_buffer_is_buffer_too_small),
        cmocka_unit_test(bundle_with_bad_signed_prekey_signature_is_bad_signature),
        cmocka_unit_test(bundle_for_another_account_is_identity_mismatch),
        cmocka_unit_test(bundle_with_device_record_signed_by_another_account_is_bad_signature),
        cmocka_unit_test(bundle_wrong_key_type_bytes_are_key_type),
        cmocka_unit_test(bundle_truncated_or_overlong_is_rejected),
        cmocka_unit_test(bundle_every_signed_byte_flip_is_rejected),
        cmocka_unit_test(bundle_flags_must_match_the_contents),
        cmocka_unit_test(deterministic_rng_gives_deterministic_keys),
        cmocka_unit_test(deterministic_rng_is_the_documented_chacha20_stream),
        cmocka_unit_test(onetime_prekey_parse_accepts_only_canonical_x25519_keys),
    };

    if (pl_init() != PL_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
