/*
 * prekey.c: signed prekeys and one-time prekeys (X25519), the responder's half of X3DH.
 *
 * Signed prekey, public part:
 *   id u32 | key (33, X25519) | created_at u64 | signature (64)
 * where the signature is the device identity key's Ed25519 signature over
 *   "parley/signed-prekey/v1" || id || key || created_at.
 * One-time prekey, public part:  id u32 | key (33, X25519)
 */
#include <string.h>

#include "blob.h"
#include "keys_internal.h"

#define SIGNED_PREKEY_TBS_BYTES (4u + PL_PUBKEY_BYTES + 8u)

static void signed_prekey_tbs(uint8_t out[SIGNED_PREKEY_TBS_BYTES], uint32_t id,
                              const uint8_t pk[32], uint64_t created_at)
{
    pl__writer w = pl__writer_init(out, SIGNED_PREKEY_TBS_BYTES);
    uint8_t key[PL_PUBKEY_BYTES];

    pl__key_encode(key, PL_KEY_TYPE_X25519, pk);
    pl__put_u32(&w, id);
    pl__put_bytes(&w, key, sizeof key);
    pl__put_u64(&w, created_at);
}

int pl_signed_prekey_generate(pl_signed_prekey **out, const pl_rng *rng, const pl_device *device,
                              uint32_t id, uint64_t created_at)
{
    uint8_t tbs[SIGNED_PREKEY_TBS_BYTES];
    pl_signed_prekey *p = pl__secure_alloc(sizeof *p);

    *out = NULL;
    if (!p)
        return PL_E_NOMEM;
    p->id = id;
    p->created_at = created_at;
    pl__x25519_generate(rng, p->sk, p->pk);
    signed_prekey_tbs(tbs, id, p->pk, created_at);
    pl__sign_labeled(p->signature, PL__LABEL_SIGNED_PREKEY, tbs, sizeof tbs, device->sign_sk);
    *out = p;
    return PL_OK;
}

void pl_signed_prekey_free(pl_signed_prekey *prekey)
{
    pl__secure_free(prekey);
}

uint32_t pl_signed_prekey_id(const pl_signed_prekey *prekey)
{
    return prekey->id;
}

void pl_signed_prekey_public(const pl_signed_prekey *prekey,
                             uint8_t out[PL_SIGNED_PREKEY_PUBLIC_BYTES])
{
    signed_prekey_tbs(out, prekey->id, prekey->pk, prekey->created_at);
    memcpy(out + SIGNED_PREKEY_TBS_BYTES, prekey->signature, PL_SIGNATURE_BYTES);
}

int pl_signed_prekey_verify(const uint8_t *in, size_t len,
                            const uint8_t identity_key[PL_PUBKEY_BYTES], pl_signed_prekey_info *out)
{
    pl__reader rd = pl__reader_init(in, len);
    pl_signed_prekey_info info;
    uint8_t identity_raw[32];
    const uint8_t *sig;
    int r;

    memset(out, 0, sizeof *out);
    info.id = pl__get_u32(&rd);
    pl__get_copy(&rd, info.key, PL_PUBKEY_BYTES);
    info.created_at = pl__get_u64(&rd);
    sig = pl__get_bytes(&rd, PL_SIGNATURE_BYTES);
    if ((r = pl__reader_finish(&rd)) != PL_OK)
        return r;
    if ((r = pl__x25519_key_check(info.key)) != PL_OK)
        return r;
    /* Signature verification rejects an invalid identity key; only its type is checked here. */
    if ((r = pl__key_check_type(identity_key, PL_KEY_TYPE_ED25519)) != PL_OK)
        return r;
    memcpy(identity_raw, identity_key + 1, 32);
    r = pl__verify_labeled(sig, PL__LABEL_SIGNED_PREKEY, in, SIGNED_PREKEY_TBS_BYTES, identity_raw);
    if (r != PL_OK)
        return r;
    *out = info;
    return PL_OK;
}

void pl_signed_prekey_save(const pl_signed_prekey *prekey,
                           uint8_t out[PL_SIGNED_PREKEY_SAVED_BYTES])
{
    pl__writer w = pl__writer_init(out, PL_SIGNED_PREKEY_SAVED_BYTES);

    pl__blob_begin(&w, PL__BLOB_SIGNED_PREKEY, 4 + 32 + 8 + PL_SIGNATURE_BYTES);
    pl__put_u32(&w, prekey->id);
    pl__put_bytes(&w, prekey->sk, sizeof prekey->sk);
    pl__put_u64(&w, prekey->created_at);
    pl__put_bytes(&w, prekey->signature, sizeof prekey->signature);
    pl__blob_end(&w);
}

int pl_signed_prekey_load(pl_signed_prekey **out, const uint8_t *in, size_t len)
{
    pl__reader body;
    uint8_t version;
    pl_signed_prekey *p;
    int r;

    *out = NULL;
    if ((r = pl__blob_open(in, len, PL__BLOB_SIGNED_PREKEY, &body, &version)) != PL_OK)
        return r;
    if (!(p = pl__secure_alloc(sizeof *p)))
        return PL_E_NOMEM;
    p->id = pl__get_u32(&body);
    pl__get_copy(&body, p->sk, sizeof p->sk);
    p->created_at = pl__get_u64(&body);
    pl__get_copy(&body, p->signature, sizeof p->signature);
    if ((r = pl__reader_finish(&body)) != PL_OK) {
        pl__secure_free(p);
        return r == PL_E_TRUNCATED ? PL_E_MALFORMED : r;
    }
    crypto_scalarmult_base(p->pk, p->sk);
    *out = p;
    return PL_OK;
}

int pl_onetime_prekey_generate(pl_onetime_prekey **out, const pl_rng *rng, uint32_t id)
{
    pl_onetime_prekey *p = pl__secure_alloc(sizeof *p);

    *out = NULL;
    if (!p)
        return PL_E_NOMEM;
    p->id = id;
    pl__x25519_generate(rng, p->sk, p->pk);
    *out = p;
    return PL_OK;
}

void pl_onetime_prekey_free(pl_onetime_prekey *prekey)
{
    pl__secure_free(prekey);
}

uint32_t pl_onetime_prekey_id(const pl_onetime_prekey *prekey)
{
    return prekey->id;
}

void pl_onetime_prekey_public(const pl_onetime_prekey *prekey,
                              uint8_t out[PL_ONETIME_PREKEY_PUBLIC_BYTES])
{
    pl__writer w = pl__writer_init(out, PL_ONETIME_PREKEY_PUBLIC_BYTES);
    uint8_t key[PL_PUBKEY_BYTES];

    pl__key_encode(key, PL_KEY_TYPE_X25519, prekey->pk);
    pl__put_u32(&w, prekey->id);
    pl__put_bytes(&w, key, sizeof key);
}

int pl_onetime_prekey_parse(const uint8_t *in, size_t len, uint32_t *id,
                            uint8_t key[PL_PUBKEY_BYTES])
{
    pl__reader rd = pl__reader_init(in, len);
    uint32_t got_id;
    uint8_t got_key[PL_PUBKEY_BYTES];
    int r;

    *id = 0;
    memset(key, 0, PL_PUBKEY_BYTES);
    got_id = pl__get_u32(&rd);
    pl__get_copy(&rd, got_key, sizeof got_key);
    if ((r = pl__reader_finish(&rd)) != PL_OK)
        return r;
    if ((r = pl__x25519_key_check(got_key)) != PL_OK)
        return r;
    *id = got_id;
    memcpy(key, got_key, PL_PUBKEY_BYTES);
    return PL_OK;
}

void pl_onetime_prekey_save(const pl_onetime_prekey *prekey,
                            uint8_t out[PL_ONETIME_PREKEY_SAVED_BYTES])
{
    pl__writer w = pl__writer_init(out, PL_ONETIME_PREKEY_SAVED_BYTES);

    pl__blob_begin(&w, PL__BLOB_ONETIME_PREKEY, 4 + 32);
    pl__put_u32(&w, prekey->id);
    pl__put_bytes(&w, prekey->sk, sizeof prekey->sk);
    pl__blob_end(&w);
}

int pl_onetime_prekey_load(pl_onetime_prekey **out, const uint8_t *in, size_t len)
{
    pl__reader body;
    uint8_t version;
    pl_onetime_prekey *p;
    int r;

    *out = NULL;
    if ((r = pl__blob_open(in, len, PL__BLOB_ONETIME_PREKEY, &body, &version)) != PL_OK)
        return r;
    if (!(p = pl__secure_alloc(sizeof *p)))
        return PL_E_NOMEM;
    p->id = pl__get_u32(&body);
    pl__get_copy(&body, p->sk, sizeof p->sk);
    if ((r = pl__reader_finish(&body)) != PL_OK) {
        pl__secure_free(p);
        return r == PL_E_TRUNCATED ? PL_E_MALFORMED : r;
    }
    crypto_scalarmult_base(p->pk, p->sk);
    *out = p;
    return PL_OK;
}
