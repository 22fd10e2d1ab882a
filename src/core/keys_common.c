/*
 * keys_common.c: key encodings, X25519 and labelled Ed25519 signatures shared by the key
 * objects, and the guarded allocator for private keys.
 */
#include <string.h>

#include "keys_internal.h"

#define PL__LABELED_MAX 512u

void *pl__secure_alloc(size_t size)
{
    void *p = sodium_malloc(size);

    if (p)
        sodium_memzero(p, size);
    return p;
}

void pl__secure_free(void *p)
{
    sodium_free(p); /* wipes before unmapping; NULL is a no-op */
}

void pl__key_encode(uint8_t out[PL_PUBKEY_BYTES], uint8_t type, const uint8_t raw[32])
{
    out[0] = type;
    memcpy(out + 1, raw, 32);
}

int pl__key_check_type(const uint8_t in[PL_PUBKEY_BYTES], uint8_t type)
{
    return in[0] == type ? PL_OK : PL_E_KEY_TYPE;
}

int pl__x25519_is_canonical(const uint8_t raw[32])
{
    /* p = 2^255 - 19: little-endian ed ff .. ff 7f. A value is >= p iff bytes 1..30 are
     * 0xff, byte 31 is 0x7f and byte 0 >= 0xed; bit 255 must be clear. */
    if (raw[31] & 0x80)
        return 0;
    if (raw[31] != 0x7f || raw[0] < 0xed)
        return 1;
    for (int i = 1; i < 31; i++)
        if (raw[i] != 0xff)
            return 1;
    return 0;
}

int pl__x25519_key_check(const uint8_t in[PL_PUBKEY_BYTES])
{
    int r = pl__key_check_type(in, PL_KEY_TYPE_X25519);

    if (r != PL_OK)
        return r;
    return pl__x25519_is_canonical(in + 1) ? PL_OK : PL_E_BAD_KEY;
}

int pl__ed25519_key_decode(const uint8_t in[PL_PUBKEY_BYTES], uint8_t x25519[32])
{
    uint8_t x[32];
    int r = pl__key_check_type(in, PL_KEY_TYPE_ED25519);

    if (r != PL_OK)
        return r;
    /* Rejects non-canonical encodings and points of small order. */
    if (crypto_sign_ed25519_pk_to_curve25519(x, in + 1) != 0)
        return PL_E_BAD_KEY;
    if (x25519)
        memcpy(x25519, x, 32);
    return PL_OK;
}

void pl__x25519_generate(const pl_rng *rng, uint8_t sk[32], uint8_t pk[32])
{
    pl_random_fill(rng, sk, 32);
    crypto_scalarmult_base(pk, sk);
}

int pl__x25519(uint8_t out[32], const uint8_t sk[32], const uint8_t pk[32])
{
    if (crypto_scalarmult(out, sk, pk) != 0) {
        sodium_memzero(out, 32);
        return PL_E_BAD_KEY;
    }
    return PL_OK;
}

static size_t labeled_message(uint8_t buf[PL__LABELED_MAX + 64], const char *label,
                              const uint8_t *msg, size_t msg_len)
{
    size_t label_len = strlen(label);

    if (label_len > 64 || msg_len > PL__LABELED_MAX)
        sodium_misuse();
    memcpy(buf, label, label_len);
    memcpy(buf + label_len, msg, msg_len);
    return label_len + msg_len;
}

int pl__verify_labeled(const uint8_t sig[64], const char *label, const uint8_t *msg, size_t msg_len,
                       const uint8_t pk[32])
{
    uint8_t buf[PL__LABELED_MAX + 64];
    size_t n = labeled_message(buf, label, msg, msg_len);

    return crypto_sign_verify_detached(sig, buf, n, pk) == 0 ? PL_OK : PL_E_BAD_SIGNATURE;
}

void pl__sign_labeled(uint8_t sig[64], const char *label, const uint8_t *msg, size_t msg_len,
                      const uint8_t sk[64])
{
    uint8_t buf[PL__LABELED_MAX + 64];
    size_t n = labeled_message(buf, label, msg, msg_len);

    crypto_sign_detached(sig, NULL, buf, n, sk);
}
