/*
 * kt_commit.c: key transparency commitments and openings (PROTOCOL.md §19.4).
 *
 *   opening    = BLAKE2b-128(key = open_key, u8 len || label || u32 version)
 *   commitment = HMAC-SHA256(Kc, opening || u8 len || label || u32 version
 *                                || u32 value_len || value)
 *
 * Kc is the IETF draft's fixed key (draft-ietf-keytrans-protocol, cipher suites): the 16
 * bytes d821f8790d97709796b4d7903357c3f5. A fixed, public key lets HMAC be modelled as a
 * random oracle; hiding comes from the opening, binding from HMAC's collision resistance.
 */
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "parley/error.h"
#include "parley/kt_commit.h"

static const uint8_t kc[16] = {0xd8, 0x21, 0xf8, 0x79, 0x0d, 0x97, 0x70, 0x97,
                               0x96, 0xb4, 0xd7, 0x90, 0x33, 0x57, 0xc3, 0xf5};

/* Writes u8 len || label || u32 version into out; returns its length. */
static size_t label_version(uint8_t out[1 + PL_KT_LABEL_MAX_BYTES + 4], const uint8_t *label,
                            size_t label_len, uint32_t version)
{
    pl__writer w = pl__writer_init(out, 1 + PL_KT_LABEL_MAX_BYTES + 4);

    pl__put_u8(&w, (uint8_t)label_len);
    if (label_len > 0)
        pl__put_bytes(&w, label, label_len);
    pl__put_u32(&w, version);
    return w.off;
}

int pl_kt_opening(uint8_t out[PL_KT_OPENING_BYTES], const uint8_t open_key[PL_KT_OPEN_KEY_BYTES],
                  const uint8_t *label, size_t label_len, uint32_t version)
{
    uint8_t in[1 + PL_KT_LABEL_MAX_BYTES + 4];
    size_t n;

    memset(out, 0, PL_KT_OPENING_BYTES);
    if (label_len > PL_KT_LABEL_MAX_BYTES)
        return PL_E_TOO_LARGE;
    n = label_version(in, label, label_len, version);
    crypto_generichash(out, PL_KT_OPENING_BYTES, in, n, open_key, PL_KT_OPEN_KEY_BYTES);
    return PL_OK;
}

int pl_kt_commitment(uint8_t out[PL_KT_COMMITMENT_BYTES],
                     const uint8_t opening[PL_KT_OPENING_BYTES], const uint8_t *label,
                     size_t label_len, uint32_t version, const uint8_t *value, size_t value_len)
{
    crypto_auth_hmacsha256_state st;
    uint8_t in[1 + PL_KT_LABEL_MAX_BYTES + 4];
    uint8_t len_be[4];
    size_t n;

    memset(out, 0, PL_KT_COMMITMENT_BYTES);
    if (label_len > PL_KT_LABEL_MAX_BYTES || (uint64_t)value_len > UINT32_MAX)
        return PL_E_TOO_LARGE;
    n = label_version(in, label, label_len, version);
    len_be[0] = (uint8_t)(value_len >> 24);
    len_be[1] = (uint8_t)(value_len >> 16);
    len_be[2] = (uint8_t)(value_len >> 8);
    len_be[3] = (uint8_t)value_len;
    crypto_auth_hmacsha256_init(&st, kc, sizeof kc);
    crypto_auth_hmacsha256_update(&st, opening, PL_KT_OPENING_BYTES);
    crypto_auth_hmacsha256_update(&st, in, n);
    crypto_auth_hmacsha256_update(&st, len_be, sizeof len_be);
    if (value_len > 0)
        crypto_auth_hmacsha256_update(&st, value, value_len);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof st);
    return PL_OK;
}

int pl_kt_commitment_verify(const uint8_t commitment[PL_KT_COMMITMENT_BYTES],
                            const uint8_t opening[PL_KT_OPENING_BYTES], const uint8_t *label,
                            size_t label_len, uint32_t version, const uint8_t *value,
                            size_t value_len)
{
    uint8_t want[PL_KT_COMMITMENT_BYTES];
    int r;

    if ((r = pl_kt_commitment(want, opening, label, label_len, version, value, value_len)) != PL_OK)
        return r;
    r = crypto_verify_32(want, commitment) == 0 ? PL_OK : PL_E_BAD_PROOF;
    sodium_memzero(want, sizeof want);
    return r;
}
