/*
 * fuzz_device_record.c: pl_device_record_verify() on hostile bytes, with no expected account
 * (the record's own key) and with Bob's account key.
 *
 * Invariants: on error the output is zeroed; the two modes agree; a record that verifies
 * under a fixture account re-signs to exactly the input bytes (Ed25519 signing is
 * deterministic and nobody else holds the key), so accepted encodings are canonical.
 */
#include <string.h>

#include "fuzz.h"

static int record_is_zero(const pl_device_record *r)
{
    return fz_is_zero(r->account_key, sizeof r->account_key) && r->device_id == 0 &&
           fz_is_zero(r->identity_key, sizeof r->identity_key) && r->created_at == 0;
}

static int records_equal(const pl_device_record *a, const pl_device_record *b)
{
    return memcmp(a->account_key, b->account_key, sizeof a->account_key) == 0 &&
           a->device_id == b->device_id &&
           memcmp(a->identity_key, b->identity_key, sizeof a->identity_key) == 0 &&
           a->created_at == b->created_at;
}

/* A record that verifies under `account` must be the one `account` signs for its fields. */
static void check_resigns(const pl_account *account, const pl_device_record *r, const uint8_t *data,
                          size_t size)
{
    uint8_t again[PL_DEVICE_RECORD_BYTES];

    FZ_CHECK(pl_account_sign_device(account, r->device_id, r->identity_key, r->created_at, again) ==
             PL_OK);
    FZ_CHECK(size == sizeof again && memcmp(again, data, size) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const fz_fixtures *f = fz_fixtures_get();
    pl_device_record any, bobs;
    int rc_any, rc_bob;

    memset(&any, 0xA5, sizeof any);
    memset(&bobs, 0xA5, sizeof bobs);
    rc_any = pl_device_record_verify(data, size, NULL, &any);
    FZ_CHECK_RC(rc_any);
    rc_bob = pl_device_record_verify(data, size, f->bob_account_key, &bobs);
    FZ_CHECK_RC(rc_bob);

    if (rc_any != PL_OK)
        FZ_CHECK(record_is_zero(&any));
    if (rc_bob != PL_OK)
        FZ_CHECK(record_is_zero(&bobs));

    if (rc_bob == PL_OK) {
        FZ_CHECK(rc_any == PL_OK && records_equal(&any, &bobs));
        FZ_CHECK(memcmp(bobs.account_key, f->bob_account_key, PL_PUBKEY_BYTES) == 0);
        check_resigns(f->bob_account, &bobs, data, size);
    }
    if (rc_any == PL_OK) {
        /* Verified under the key it names: asking for that key must agree, asking for
         * another must say whose it is not. */
        if (memcmp(any.account_key, f->bob_account_key, PL_PUBKEY_BYTES) == 0) {
            FZ_CHECK(rc_bob == PL_OK);
        } else {
            FZ_CHECK(rc_bob == PL_E_IDENTITY_MISMATCH);
        }
        if (memcmp(any.account_key, f->alice_account_key, PL_PUBKEY_BYTES) == 0)
            check_resigns(f->alice_account, &any, data, size);
    }
    return 0;
}
