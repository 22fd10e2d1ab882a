/*
 * fuzz_bundle.c: pl_bundle_verify() on hostile bytes under Bob's account key.
 *
 * Invariants: on error the output is zeroed. What verifies is Bob's, and is exactly what
 * pl_bundle_encode() makes of its parts (version and flags, device record, signed prekey,
 * optional one-time prekey: keys.h); each part on its own verifies or parses to the same
 * fields. Nothing verifies under Alice's account key.
 */
#include <string.h>

#include "fuzz.h"

static int bundle_is_zero(const pl_bundle *b)
{
    return fz_is_zero(b->device.account_key, sizeof b->device.account_key) &&
           b->device.device_id == 0 &&
           fz_is_zero(b->device.identity_key, sizeof b->device.identity_key) &&
           b->device.created_at == 0 && b->signed_prekey.id == 0 &&
           fz_is_zero(b->signed_prekey.key, sizeof b->signed_prekey.key) &&
           b->signed_prekey.created_at == 0 && b->has_onetime_prekey == 0 &&
           b->onetime_prekey_id == 0 && fz_is_zero(b->onetime_prekey, sizeof b->onetime_prekey);
}

static void check_parts(const pl_bundle *b, const uint8_t *data, size_t size)
{
    const fz_fixtures *f = fz_fixtures_get();
    const uint8_t *record = data + 2;
    const uint8_t *spk = record + PL_DEVICE_RECORD_BYTES;
    const uint8_t *opk = spk + PL_SIGNED_PREKEY_PUBLIC_BYTES;
    size_t expect = 2 + PL_DEVICE_RECORD_BYTES + PL_SIGNED_PREKEY_PUBLIC_BYTES +
                    (b->has_onetime_prekey ? PL_ONETIME_PREKEY_PUBLIC_BYTES : 0);
    uint8_t again[PL_BUNDLE_MAX_BYTES], opk_key[PL_PUBKEY_BYTES];
    size_t again_len = 0;
    pl_device_record r;
    pl_signed_prekey_info s;
    uint32_t opk_id = 0;

    FZ_CHECK(size == expect);
    FZ_CHECK(pl_device_record_verify(record, PL_DEVICE_RECORD_BYTES, f->bob_account_key, &r) ==
             PL_OK);
    FZ_CHECK(memcmp(r.account_key, b->device.account_key, sizeof r.account_key) == 0 &&
             r.device_id == b->device.device_id &&
             memcmp(r.identity_key, b->device.identity_key, sizeof r.identity_key) == 0 &&
             r.created_at == b->device.created_at);
    FZ_CHECK(pl_signed_prekey_verify(spk, PL_SIGNED_PREKEY_PUBLIC_BYTES, r.identity_key, &s) ==
             PL_OK);
    FZ_CHECK(s.id == b->signed_prekey.id &&
             memcmp(s.key, b->signed_prekey.key, sizeof s.key) == 0 &&
             s.created_at == b->signed_prekey.created_at);
    if (b->has_onetime_prekey) {
        FZ_CHECK(pl_onetime_prekey_parse(opk, PL_ONETIME_PREKEY_PUBLIC_BYTES, &opk_id, opk_key) ==
                 PL_OK);
        FZ_CHECK(opk_id == b->onetime_prekey_id &&
                 memcmp(opk_key, b->onetime_prekey, sizeof opk_key) == 0);
    }
    FZ_CHECK(pl_bundle_encode(record, spk, b->has_onetime_prekey ? opk : NULL, again, sizeof again,
                              &again_len) == PL_OK);
    FZ_CHECK(again_len == size && memcmp(again, data, size) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const fz_fixtures *f = fz_fixtures_get();
    pl_bundle b;
    int rc;

    memset(&b, 0xA5, sizeof b);
    rc = pl_bundle_verify(data, size, f->bob_account_key, &b);
    FZ_CHECK_RC(rc);
    if (rc != PL_OK) {
        FZ_CHECK(bundle_is_zero(&b));
    } else {
        FZ_CHECK(b.has_onetime_prekey == 0 || b.has_onetime_prekey == 1);
        FZ_CHECK(memcmp(b.device.account_key, f->bob_account_key, PL_PUBKEY_BYTES) == 0);
        check_parts(&b, data, size);
    }

    memset(&b, 0xA5, sizeof b);
    rc = pl_bundle_verify(data, size, f->alice_account_key, &b);
    FZ_CHECK_RC(rc);
    FZ_CHECK(rc != PL_OK && bundle_is_zero(&b));
    return 0;
}
