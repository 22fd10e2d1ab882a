/*
 * device.c: a device's identity key. It is Ed25519, so it can sign the device's signed
 * prekeys (and, later, server challenges); X3DH uses its X25519 form, obtained with
 * libsodium's birational map (PROTOCOL.md §3.2 says why this stands in for XEdDSA).
 */
#include <string.h>

#include "blob.h"
#include "keys_internal.h"

static pl_device *device_from_seed(uint32_t id, const uint8_t seed[crypto_sign_SEEDBYTES])
{
    pl_device *d = pl__secure_alloc(sizeof *d);

    if (!d)
        return NULL;
    d->id = id;
    memcpy(d->seed, seed, sizeof d->seed);
    crypto_sign_seed_keypair(d->sign_pk, d->sign_sk, d->seed);
    /* Cannot fail for a key pair libsodium just derived from a seed. */
    if (crypto_sign_ed25519_pk_to_curve25519(d->dh_pk, d->sign_pk) != 0 ||
        crypto_sign_ed25519_sk_to_curve25519(d->dh_sk, d->sign_sk) != 0)
        sodium_misuse();
    return d;
}

int pl_device_generate(pl_device **out, const pl_rng *rng, uint32_t device_id)
{
    uint8_t seed[crypto_sign_SEEDBYTES];

    pl_random_fill(rng, seed, sizeof seed);
    *out = device_from_seed(device_id, seed);
    sodium_memzero(seed, sizeof seed);
    return *out ? PL_OK : PL_E_NOMEM;
}

void pl_device_free(pl_device *device)
{
    pl__secure_free(device);
}

uint32_t pl_device_id(const pl_device *device)
{
    return device->id;
}

void pl_device_identity_key(const pl_device *device, uint8_t out[PL_PUBKEY_BYTES])
{
    pl__key_encode(out, PL_KEY_TYPE_ED25519, device->sign_pk);
}

void pl_device_save(const pl_device *device, uint8_t out[PL_DEVICE_SAVED_BYTES])
{
    pl__writer w = pl__writer_init(out, PL_DEVICE_SAVED_BYTES);

    pl__blob_begin(&w, PL__BLOB_DEVICE, 4 + crypto_sign_SEEDBYTES);
    pl__put_u32(&w, device->id);
    pl__put_bytes(&w, device->seed, sizeof device->seed);
    pl__blob_end(&w);
}

int pl_device_load(pl_device **out, const uint8_t *in, size_t len)
{
    pl__reader body;
    uint8_t version;
    uint32_t id;
    const uint8_t *seed;
    int r;

    *out = NULL;
    if ((r = pl__blob_open(in, len, PL__BLOB_DEVICE, &body, &version)) != PL_OK)
        return r;
    id = pl__get_u32(&body);
    seed = pl__get_bytes(&body, crypto_sign_SEEDBYTES);
    if ((r = pl__reader_finish(&body)) != PL_OK)
        return r == PL_E_TRUNCATED ? PL_E_MALFORMED : r;
    *out = device_from_seed(id, seed);
    return *out ? PL_OK : PL_E_NOMEM;
}
