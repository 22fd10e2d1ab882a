/*
 * fuzz_signed_prekey.c: pl_signed_prekey_verify() on hostile bytes under Bob's device
 * identity key.
 *
 * Invariants: on error the output is zeroed. Bob's device signed exactly one prekey, so
 * whatever verifies must be that prekey's public part, byte for byte: a signature that
 * does not cover every field, or a parser that accepts trailing bytes, breaks this. Alice's
 * identity never signed a prekey, so nothing may verify under it.
 */
#include <string.h>

#include "fuzz.h"

static int info_is_zero(const pl_signed_prekey_info *info)
{
    return info->id == 0 && fz_is_zero(info->key, sizeof info->key) && info->created_at == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const fz_fixtures *f = fz_fixtures_get();
    pl_signed_prekey_info info;
    int rc;

    memset(&info, 0xA5, sizeof info);
    rc = pl_signed_prekey_verify(data, size, f->bob_identity_key, &info);
    FZ_CHECK_RC(rc);
    if (rc != PL_OK) {
        FZ_CHECK(info_is_zero(&info));
    } else {
        FZ_CHECK(size == PL_SIGNED_PREKEY_PUBLIC_BYTES);
        FZ_CHECK(memcmp(data, f->bob_spk_public, size) == 0);
        FZ_CHECK(info.id == pl_signed_prekey_id(f->bob_spk));
        FZ_CHECK(info.created_at == FZ_CREATED_AT);
        FZ_CHECK(info.key[0] == PL_KEY_TYPE_X25519);
    }

    memset(&info, 0xA5, sizeof info);
    rc = pl_signed_prekey_verify(data, size, f->alice_identity_key, &info);
    FZ_CHECK_RC(rc);
    FZ_CHECK(rc != PL_OK && info_is_zero(&info));
    return 0;
}
