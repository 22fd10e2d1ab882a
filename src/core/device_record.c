/*
 * device_record.c: the account-signed record that binds a device identity key to an account.
 *
 *   version u8 (1) | account key (33) | device id u32 | identity key (33) | created_at u64
 *   | Ed25519 signature by the account key over "parley/device-record/v1" || the above
 */
#include <string.h>

#include "buf.h"
#include "keys_internal.h"

int pl_account_sign_device(const pl_account *account, uint32_t device_id,
                           const uint8_t identity_key[PL_PUBKEY_BYTES], uint64_t created_at,
                           uint8_t out_record[PL_DEVICE_RECORD_BYTES])
{
    pl__writer w = pl__writer_init(out_record, PL_DEVICE_RECORD_BYTES);
    uint8_t account_key[PL_PUBKEY_BYTES];
    int r;

    memset(out_record, 0, PL_DEVICE_RECORD_BYTES);
    if ((r = pl__ed25519_key_decode(identity_key, NULL)) != PL_OK)
        return r;
    pl_account_public_key(account, account_key);
    pl__put_u8(&w, PL__DEVICE_RECORD_VERSION);
    pl__put_bytes(&w, account_key, PL_PUBKEY_BYTES);
    pl__put_u32(&w, device_id);
    pl__put_bytes(&w, identity_key, PL_PUBKEY_BYTES);
    pl__put_u64(&w, created_at);
    pl__sign_labeled(out_record + PL_DEVICE_RECORD_BODY_BYTES, PL__LABEL_DEVICE_RECORD, out_record,
                     PL_DEVICE_RECORD_BODY_BYTES, account->sk);
    return PL_OK;
}

int pl_device_record_verify(const uint8_t *record, size_t len, const uint8_t *account_key,
                            pl_device_record *out)
{
    pl__reader rd = pl__reader_init(record, len);
    pl_device_record rec;
    const uint8_t *sig;
    uint8_t version;
    int r;

    memset(out, 0, sizeof *out);
    memset(&rec, 0, sizeof rec);
    version = pl__get_u8(&rd);
    pl__get_copy(&rd, rec.account_key, PL_PUBKEY_BYTES);
    rec.device_id = pl__get_u32(&rd);
    pl__get_copy(&rd, rec.identity_key, PL_PUBKEY_BYTES);
    rec.created_at = pl__get_u64(&rd);
    sig = pl__get_bytes(&rd, PL_SIGNATURE_BYTES);
    if ((r = pl__reader_finish(&rd)) != PL_OK)
        return r;
    if (version != PL__DEVICE_RECORD_VERSION)
        return PL_E_VERSION;
    /* The account key is checked by the signature verification itself (libsodium rejects
     * non-canonical and small-order keys there). The identity key is only signed over, so it
     * gets the full check that X3DH will rely on: it must map to a usable X25519 key. */
    if ((r = pl__key_check_type(rec.account_key, PL_KEY_TYPE_ED25519)) != PL_OK)
        return r;
    if ((r = pl__ed25519_key_decode(rec.identity_key, NULL)) != PL_OK)
        return r;
    if (account_key && sodium_memcmp(account_key, rec.account_key, PL_PUBKEY_BYTES) != 0)
        return PL_E_IDENTITY_MISMATCH;
    r = pl__verify_labeled(sig, PL__LABEL_DEVICE_RECORD, record, PL_DEVICE_RECORD_BODY_BYTES,
                           rec.account_key + 1);
    if (r != PL_OK)
        return r;
    *out = rec;
    return PL_OK;
}
