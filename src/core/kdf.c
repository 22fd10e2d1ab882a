/*
 * kdf.c: HMAC-SHA256 and HKDF-SHA256 (RFC 5869).
 */
#include <string.h>

#include <sodium.h>

#include "kdf.h"

void pl__hmac_sha256_2(uint8_t out[PL__HMAC_BYTES], const uint8_t *key, size_t key_len,
                       const uint8_t *part1, size_t len1, const uint8_t *part2, size_t len2)
{
    crypto_auth_hmacsha256_state st;

    crypto_auth_hmacsha256_init(&st, key, key_len);
    crypto_auth_hmacsha256_update(&st, part1, len1);
    if (len2)
        crypto_auth_hmacsha256_update(&st, part2, len2);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof st);
}

void pl__hmac_sha256(uint8_t out[PL__HMAC_BYTES], const uint8_t *key, size_t key_len,
                     const uint8_t *msg, size_t msg_len)
{
    pl__hmac_sha256_2(out, key, key_len, msg, msg_len, NULL, 0);
}

int pl__hkdf_sha256(uint8_t *out, size_t out_len, const uint8_t *salt, size_t salt_len,
                    const uint8_t *ikm, size_t ikm_len, const uint8_t *info, size_t info_len)
{
    static const uint8_t zero_salt[PL__HMAC_BYTES];
    uint8_t prk[PL__HMAC_BYTES];
    uint8_t t[PL__HMAC_BYTES];
    crypto_auth_hmacsha256_state keyed, st;
    size_t done = 0;
    uint8_t counter = 0;

    if (out_len > PL__HKDF_MAX_OUTPUT)
        return -1;
    if (salt == NULL) {
        salt = zero_salt;
        salt_len = sizeof zero_salt;
    }

    /* HKDF-Extract: PRK = HMAC-Hash(salt, IKM) */
    pl__hmac_sha256(prk, salt, salt_len, ikm, ikm_len);

    /* HKDF-Expand: T(i) = HMAC-Hash(PRK, T(i-1) || info || i). The HMAC state keyed with PRK
     * is computed once and copied for each block (same output, half the key set-up). */
    crypto_auth_hmacsha256_init(&keyed, prk, sizeof prk);
    while (done < out_len) {
        size_t take = out_len - done < sizeof t ? out_len - done : sizeof t;

        counter++;
        st = keyed;
        if (counter > 1)
            crypto_auth_hmacsha256_update(&st, t, sizeof t);
        if (info_len)
            crypto_auth_hmacsha256_update(&st, info, info_len);
        crypto_auth_hmacsha256_update(&st, &counter, 1);
        crypto_auth_hmacsha256_final(&st, t);
        memcpy(out + done, t, take);
        done += take;
    }

    sodium_memzero(prk, sizeof prk);
    sodium_memzero(t, sizeof t);
    sodium_memzero(&st, sizeof st);
    sodium_memzero(&keyed, sizeof keyed);
    return 0;
}

void pl__hmac_sha256_pair(uint8_t out1[PL__HMAC_BYTES], uint8_t out2[PL__HMAC_BYTES],
                          const uint8_t key[32], uint8_t msg1, uint8_t msg2)
{
    crypto_auth_hmacsha256_state keyed, st;

    crypto_auth_hmacsha256_init(&keyed, key, 32);
    st = keyed;
    crypto_auth_hmacsha256_update(&st, &msg1, 1);
    crypto_auth_hmacsha256_final(&st, out1);
    crypto_auth_hmacsha256_update(&keyed, &msg2, 1);
    crypto_auth_hmacsha256_final(&keyed, out2);
    sodium_memzero(&st, sizeof st);
    sodium_memzero(&keyed, sizeof keyed);
}
