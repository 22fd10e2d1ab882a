/*
 * fuzz_key_load.c: the key loaders on hostile bytes. The first byte picks the loader (its low
 * two bits: account, device, signed prekey, one-time prekey), the rest is the saved blob,
 * tried as it is and with the frame's checksum recomputed so that mutations reach the body.
 *
 * Invariants: a failed load creates nothing; a loaded key saves to exactly the input, and
 * its private and public halves belong together: what it signs verifies under its public
 * key, and its public part parses.
 */
#include <string.h>

#include "fuzz.h"

static void load_account(const uint8_t *in, size_t len)
{
    const fz_fixtures *f = fz_fixtures_get();
    pl_account *account = NULL;
    uint8_t again[PL_ACCOUNT_SAVED_BYTES], key[PL_PUBKEY_BYTES];
    uint8_t record[PL_DEVICE_RECORD_BYTES];
    pl_device_record r;
    int rc = pl_account_load(&account, in, len);

    FZ_CHECK_RC(rc);
    if (rc != PL_OK) {
        FZ_CHECK(account == NULL);
        return;
    }
    pl_account_save(account, again);
    FZ_CHECK(len == sizeof again && memcmp(again, in, len) == 0);
    pl_account_public_key(account, key);
    FZ_CHECK(pl_account_sign_device(account, 7, f->bob_identity_key, FZ_CREATED_AT, record) ==
             PL_OK);
    FZ_CHECK(pl_device_record_verify(record, sizeof record, key, &r) == PL_OK);
    pl_account_free(account);
}

static void load_device(const uint8_t *in, size_t len)
{
    pl_rng_deterministic state;
    pl_rng rng = fz_rng(&state, "fuzz_key_load");
    pl_device *device = NULL;
    pl_signed_prekey *spk = NULL;
    uint8_t again[PL_DEVICE_SAVED_BYTES], key[PL_PUBKEY_BYTES];
    uint8_t spk_public[PL_SIGNED_PREKEY_PUBLIC_BYTES];
    pl_signed_prekey_info info;
    int rc = pl_device_load(&device, in, len);

    FZ_CHECK_RC(rc);
    if (rc != PL_OK) {
        FZ_CHECK(device == NULL);
        return;
    }
    pl_device_save(device, again);
    FZ_CHECK(len == sizeof again && memcmp(again, in, len) == 0);
    pl_device_identity_key(device, key);
    FZ_CHECK(pl_signed_prekey_generate(&spk, &rng, device, 5, FZ_CREATED_AT) == PL_OK);
    pl_signed_prekey_public(spk, spk_public);
    FZ_CHECK(pl_signed_prekey_verify(spk_public, sizeof spk_public, key, &info) == PL_OK);
    FZ_CHECK(info.id == 5 && info.created_at == FZ_CREATED_AT);
    pl_signed_prekey_free(spk);
    pl_device_free(device);
}

static void load_signed_prekey(const uint8_t *in, size_t len)
{
    const fz_fixtures *f = fz_fixtures_get();
    pl_signed_prekey *spk = NULL;
    uint8_t again[PL_SIGNED_PREKEY_SAVED_BYTES];
    uint8_t spk_public[PL_SIGNED_PREKEY_PUBLIC_BYTES];
    pl_signed_prekey_info info;
    int rc = pl_signed_prekey_load(&spk, in, len);

    FZ_CHECK_RC(rc);
    if (rc != PL_OK) {
        FZ_CHECK(spk == NULL);
        return;
    }
    pl_signed_prekey_save(spk, again);
    FZ_CHECK(len == sizeof again && memcmp(again, in, len) == 0);
    pl_signed_prekey_public(spk, spk_public);
    FZ_CHECK(pl_signed_prekey_id(spk) == fz_be32(spk_public));
    /* Its signature is whoever's it is; under Bob's key it verifies only if it is Bob's. */
    rc = pl_signed_prekey_verify(spk_public, sizeof spk_public, f->bob_identity_key, &info);
    FZ_CHECK_RC(rc);
    FZ_CHECK(rc != PL_OK || memcmp(spk_public, f->bob_spk_public, sizeof spk_public) == 0);
    pl_signed_prekey_free(spk);
}

static void load_onetime_prekey(const uint8_t *in, size_t len)
{
    pl_onetime_prekey *opk = NULL;
    uint8_t again[PL_ONETIME_PREKEY_SAVED_BYTES];
    uint8_t opk_public[PL_ONETIME_PREKEY_PUBLIC_BYTES], key[PL_PUBKEY_BYTES];
    uint32_t id = 0;
    int rc = pl_onetime_prekey_load(&opk, in, len);

    FZ_CHECK_RC(rc);
    if (rc != PL_OK) {
        FZ_CHECK(opk == NULL);
        return;
    }
    pl_onetime_prekey_save(opk, again);
    FZ_CHECK(len == sizeof again && memcmp(again, in, len) == 0);
    pl_onetime_prekey_public(opk, opk_public);
    FZ_CHECK(pl_onetime_prekey_parse(opk_public, sizeof opk_public, &id, key) == PL_OK);
    FZ_CHECK(id == pl_onetime_prekey_id(opk));
    pl_onetime_prekey_free(opk);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static void (*const loaders[4])(const uint8_t *, size_t) = {
        load_account, load_device, load_signed_prekey, load_onetime_prekey};
    void (*load)(const uint8_t *, size_t);
    uint8_t *fixed;

    if (size == 0)
        return 0;
    (void)fz_fixtures_get();
    load = loaders[data[0] & 3];
    data++;
    size--;
    load(data, size);
    fixed = fz_fix_checksum(data, size);
    if (size && memcmp(fixed, data, size) != 0)
        load(fixed, size);
    free(fixed);
    return 0;
}
